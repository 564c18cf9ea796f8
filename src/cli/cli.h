#ifndef LLMLOAD_CLI_H
#define LLMLOAD_CLI_H
/* Subcommands: one cmd_*.c each.  Each parses its own flags with opt.h
 * (never exits from a helper), and returns the process exit code
 * (exitcode.h). */
#include <stddef.h>
#include <stdio.h>
#include "exitcode.h"
#include "opt.h"

int cmd_run(int argc, char **argv);       /* cmd_run.c */
int cmd_mock(int argc, char **argv);      /* cmd_mock.c */
int cmd_sweep(int argc, char **argv);     /* cmd_sweep.c */
int cmd_compare(int argc, char **argv);   /* cmd_compare.c */
int cmd_check(int argc, char **argv);     /* cmd_check.c */
int cmd_tokenize(int argc, char **argv);  /* cmd_tokenize.c */
int cmd_report(int argc, char **argv);    /* cmd_report.c */
int cmd_export(int argc, char **argv);    /* cmd_export.c */
int cmd_merge(int argc, char **argv);     /* cmd_merge.c */
int cmd_serve(int argc, char **argv);     /* cmd_serve.c */

/* Each command's name, one-line summary, --help words and option tables
 * (the mock's is mock_cmd, mock.h). */
extern const struct opt_cmd cli_run_cmd, cli_sweep_cmd, cli_compare_cmd, cli_check_cmd, cli_report_cmd,
    cli_tokenize_cmd, cli_export_cmd, cli_merge_cmd, cli_serve_cmd;

/* Every subcommand, in the order `llmload --help` lists them, ended by
 * {NULL, NULL}.  A program that writes the man page or the shell
 * completions walks it: spec->tables holds every flag of the command. */
struct cli_command {
    const struct opt_cmd *spec;
    int (*main)(int argc, char **argv);     /* argv[0] is the command's name */
};
extern const struct cli_command cli_commands[];

/* The command named name, or NULL. */
const struct cli_command *cli_command_find(const char *name);

/* `llmload --version` and `llmload CMD --version`: one line, on f. */
void cli_version(FILE *f);

/* What a command's main does with the outcome r of its parse (OPT_*):
 * prints the help or the version (exit 0) or "llmload NAME: err" (exit 2).  Returns -1 to
 * go on, or the exit code to return. */
int cli_parse_result(const struct opt_cmd *cmd, int r, const char *err);

/* Puts "FLAG: " before the message in err (in place, truncating), so an
 * error about a file names the flag that gave it. */
void cli_flag_err(char *err, size_t errcap, const char *flag);

struct cJSON;
/* `llmload export --format vllm`: the result document doc as the result
 * JSON of `vllm bench serve` (its field names, milliseconds), null where
 * doc has no value.  NULL when out of memory. */
struct cJSON *export_vllm_doc(const struct cJSON *doc);

/* `llmload export --format csv-summary`: a header row and one row per
 * document (names[i] its file).  0, or -1 with err (a document that is no
 * run result, a write error). */
int export_csv_summary(FILE *out, const struct cJSON *const *docs, const char *const *names, size_t n,
                       char *err, size_t errcap);

struct run_cli;
struct gate_opts;
/* `llmload run`'s parse: defaults, argv[1..argc), the checks across flags.
 * OPT_OK, OPT_HELP, or OPT_ERROR with a one-line err. */
int cmd_run_parse(struct run_cli *rc, struct gate_opts *gate, int argc, char **argv,
                  char *err, size_t errcap);

#endif
