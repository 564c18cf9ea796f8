/* The table of subcommands (cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mock.h"

const struct cli_command cli_commands[] = {
    { &cli_run_cmd, cmd_run },
    { &mock_cmd, cmd_mock },
    { &cli_sweep_cmd, cmd_sweep },
    { &cli_compare_cmd, cmd_compare },
    { &cli_check_cmd, cmd_check },
    { &cli_tokenize_cmd, cmd_tokenize },
    { &cli_report_cmd, cmd_report },
    { &cli_export_cmd, cmd_export },
    { &cli_merge_cmd, cmd_merge },
    { &cli_serve_cmd, cmd_serve },
    { NULL, NULL },
};

const struct cli_command *cli_command_find(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->spec; c++)
        if (!strcmp(name, c->spec->name))
            return c;
    return NULL;
}

void cli_version(FILE *f)
{
    fprintf(f, "llmload %s\n", LLMLOAD_VERSION);
}

int cli_parse_result(const struct opt_cmd *cmd, int r, const char *err)
{
    if (r == OPT_OK)
        return -1;
    if (r == OPT_HELP) {
        opt_help(stdout, cmd);
        return EXIT_OK;
    }
    if (r == OPT_VERSION) {
        cli_version(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "llmload %s: %s\n", cmd->name, err);
    return EXIT_USAGE;
}

void cli_flag_err(char *err, size_t errcap, const char *flag)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", err);
    snprintf(err, errcap, "%s: %s", flag, msg);
}
