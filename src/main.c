/* llmload: subcommand dispatch only (the commands are cli/cli.c). */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "llmload %s: load generator and benchmarker for LLM inference servers\n\n"
               "usage: llmload <command> [options]\n\ncommands:\n", LLMLOAD_VERSION);
    for (const struct cli_command *c = cli_commands; c->spec; c++)
        fprintf(f, "  %-10s %s\n", c->spec->name, c->spec->summary);
    fprintf(f, "\n`llmload <command> --help` explains each command's options.\n"
               "With no command and no options, `llmload` is `llmload run`.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cmd_run(argc, argv);
    const char *c = argv[1];
    if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(c, "-V") || !strcmp(c, "--version") || !strcmp(c, "version")) {
        printf("llmload %s\n", LLMLOAD_VERSION);
        return EXIT_OK;
    }
    const struct cli_command *cmd = cli_command_find(c);
    if (cmd)
        return cmd->main(argc - 1, argv + 1);
    if (c[0] == '-')  /* flags with no command: `llmload -c 8 ...` means run */
        return cmd_run(argc, argv);
    fprintf(stderr, "llmload: unknown command '%s' (try llmload --help)\n", c);
    return EXIT_USAGE;
}
