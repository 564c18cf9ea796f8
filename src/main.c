/* llmload: subcommand dispatch only. */
#include <stdio.h>
#include <string.h>
#include "cli.h"


struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct subcommand commands[] = {
    { "run",  cmd_run,  "benchmark a server (or the built-in simulator)" },
    { "mock", cmd_mock, "run the built-in streaming LLM simulator" },
    { "sweep", cmd_sweep, "one parameter over a list of levels; finds the knee" },
    { "compare", cmd_compare, "the same sweep against several servers, side by side" },
    { "check", cmd_check, "is a server up: protocol, version, models" },
    { "tokenize", cmd_tokenize, "print the token ids and count of a text" },
    { "report", cmd_report, "pictures and reports of saved results: HTML, PNG, SVG, PDF, text" },
};

static void usage(FILE *f)
{
    fprintf(f, "llmload %s: load generator and benchmarker for LLM inference servers\n\n"
               "usage: llmload <command> [options]\n\ncommands:\n", LLMLOAD_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
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
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(c, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    if (c[0] == '-')  /* flags with no command: `llmload -c 8 ...` means run */
        return cmd_run(argc, argv);
    fprintf(stderr, "llmload: unknown command '%s' (try llmload --help)\n", c);
    return EXIT_USAGE;
}
