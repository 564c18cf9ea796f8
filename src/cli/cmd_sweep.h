#ifndef LLMLOAD_CMD_SWEEP_H
#define LLMLOAD_CMD_SWEEP_H
/* The flags of `sweep` and `compare`: the run flags (cli_run.h) plus the
 * levels, --slo and the find-max search, parsed into sweep_opts (sweep.h). */
#include <stddef.h>
#include <stdio.h>
#include "cli_run.h"
#include "opt.h"
#include "sweep.h"

/* The flags only sweep and compare know, and the run flags they redefine:
 * level lists, the sweep's --json and --csv (user data: private to
 * sweep_opts_parse).  compare_opt_table adds --target and compare's own
 * --json and --csv.  sweep_omit: the run and gate flags neither accepts. */
extern const struct opt_table sweep_opt_table, compare_opt_table;
extern const struct opt_omit sweep_omit[];

/* Parses argv[1..argc) (argv[0] is the subcommand) against cli_sweep_cmd,
 * or cli_compare_cmd (--target NAME=URL and result files) when compare is
 * set.  Returns OPT_OK, OPT_HELP, or OPT_ERROR with a one-line err naming
 * the flag, the value and what is wrong (the caller exits 2).  The run
 * flags go into rc, which o points to: rc must outlive o.  o must be
 * sweep_opts_free()d either way, and rc->cfg.workload freed. */
int sweep_opts_parse(struct sweep_opts *o, struct run_cli *rc, int argc, char **argv, int compare,
                     char *err, size_t errcap);

/* sweep_opts_parse for the command: prints the help, or the error.
 * Returns -1 to go on, or the exit code to return (o and rc are freed). */
int sweep_cmd_parse(struct sweep_opts *o, struct run_cli *rc, int argc, char **argv, int compare);

/* sweep_opts_free, and the workload the command opened into rc. */
void sweep_cmd_free(struct sweep_opts *o, struct run_cli *rc);

#endif
