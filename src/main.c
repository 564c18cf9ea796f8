/* llmload: subcommand dispatch only (the commands are cli/cli.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "llmload %s: load generator and benchmarker for LLM inference servers\n\n"
               "usage: llmload <command> [options]\n\ncommands:\n", LLMLOAD_VERSION);
    for (const struct cli_command *c = cli_commands; c->spec; c++)
        fprintf(f, "  %-10s %s\n", c->spec->name, c->spec->summary);
    fprintf(f, "\noptions of every command (also before its name):\n"
               "  --color WHEN    colour: auto (on a terminal, unless NO_COLOR is set), always, never\n"
               "  --config FILE   flags from a JSON file ({\"concurrency\": 8, ...})\n"
               "  -V, --version   print the version\n"
               "Any flag --foo-bar can also be set as LLMLOAD_FOO_BAR; flags outrank the\n"
               "environment, which outranks the config file (docs/cli.md).\n"
               "\n`llmload <command> --help` explains each command's options.\n"
               "With no command and no options, `llmload` is `llmload run`.\n");
}

/* Results on stdout that could not be written make the exit code 3 (a full
 * disk, an I/O error), unless stdout is a pipe or socket whose reader went
 * away (`llmload run ... | head`): that is a closed terminal, and the
 * files the command wrote are what counts. */
static int finish_stdout(int code)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return code;
    int e = errno;
    struct stat st;
    if (e == EPIPE || (fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))))
        return code;
    fprintf(stderr, "llmload: cannot write the results to standard output: %s\n", strerror(e));
    return code == EXIT_INTERRUPTED ? code : EXIT_RUN;
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv)
{
    /* A closed stdout or a server that went away is an error to report
     * (EPIPE), never a signal that kills the process before its files are
     * written. */
    signal(SIGPIPE, SIG_IGN);
    return finish_stdout(dispatch(argc, argv));
}

/* The flags every command takes that may also come before the command's
 * name (`llmload --color never run ...`): how many argv words they use
 * from argv[i], or 0 when argv[i] is not one. */
static int global_flag(int argc, char **argv, int i)
{
    static const char *const names[] = { "--color", "--config" };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t n = strlen(names[k]);
        if (!strncmp(argv[i], names[k], n)) {
            if (argv[i][n] == '=')
                return 1;
            if (!argv[i][n])
                return i + 1 < argc ? 2 : 1;
        }
    }
    return 0;
}

static int dispatch(int argc, char **argv)
{
    int p = 1;
    for (int n; p < argc && (n = global_flag(argc, argv, p)); p += n)
        ;
    /* With no command the flags are run's, the global ones among them. */
    if (p >= argc)
        return cmd_run(argc, argv);
    const char *c = argv[p];
    if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(c, "-V") || !strcmp(c, "--version") || !strcmp(c, "version")) {
        cli_version(stdout);
        return EXIT_OK;
    }
    const struct cli_command *cmd = cli_command_find(c);
    if (cmd) {
        /* The global flags go after the command's name, where its own
         * parser takes them. */
        char *name = argv[p];
        memmove(argv + 2, argv + 1, (size_t)(p - 1) * sizeof *argv);
        argv[1] = name;
        return cmd->main(argc - 1, argv + 1);
    }
    if (c[0] == '-')  /* flags with no command: `llmload -c 8 ...` means run */
        return cmd_run(argc, argv);
    fprintf(stderr, "llmload: unknown command '%s' (try llmload --help)\n", c);
    return EXIT_USAGE;
}
