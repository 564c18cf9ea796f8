#ifndef LLMLOAD_CLI_H
#define LLMLOAD_CLI_H
/* Subcommand entry points.  Each parses its own flags (never exits from a
 * helper), and returns the process exit code (exitcode.h). */
#include "exitcode.h"

int cmd_run(int argc, char **argv);
int cmd_mock(int argc, char **argv);
int cmd_sweep(int argc, char **argv);     /* cmd_sweep.c */
int cmd_compare(int argc, char **argv);   /* cmd_compare.c */
int cmd_check(int argc, char **argv);     /* cmd_check.c */
int cmd_tokenize(int argc, char **argv);  /* cmd_tokenize.c */
int cmd_report(int argc, char **argv);    /* cmd_report.c */

#endif
