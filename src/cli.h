#ifndef LLMLOAD_CLI_H
#define LLMLOAD_CLI_H
/* Subcommand entry points.  Each parses its own flags (never exits from a
 * helper), and returns the process exit code (docs/cli.md):
 *   0 ok, 1 a check failed, 2 usage error, 3 the run could not be done,
 *   4 interrupted. */
enum { EXIT_OK = 0, EXIT_CHECK = 1, EXIT_USAGE = 2, EXIT_RUN = 3, EXIT_INTERRUPTED = 4 };

int cmd_run(int argc, char **argv);
int cmd_mock(int argc, char **argv);
int cmd_sweep(int argc, char **argv);     /* sweep.c */
int cmd_compare(int argc, char **argv);   /* compare.c */
int cmd_check(int argc, char **argv);     /* compare.c */
int cmd_tokenize(int argc, char **argv);  /* cli_tokenize.c */

#endif
