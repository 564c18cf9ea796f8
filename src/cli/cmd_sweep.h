#ifndef LLMLOAD_CMD_SWEEP_H
#define LLMLOAD_CMD_SWEEP_H
/* The flags of `sweep` and `compare`: the run flags (cli_run.h) plus the
 * levels, --slo and the find-max search, parsed into sweep_opts (sweep.h). */
#include <stddef.h>
#include <stdio.h>
#include "cli_run.h"
#include "sweep.h"

/* Parses argv[1..argc) (argv[0] is the subcommand).  compare: also accepts
 * --target NAME=URL and leading result files.  Returns 0, or -1 with a
 * one-line err naming the flag, the value and what is wrong (the caller
 * exits 2).  The run flags go into rc, which o points to: rc must outlive o.
 * o must be sweep_opts_free()d either way, and rc->cfg.workload freed. */
int sweep_opts_parse(struct sweep_opts *o, struct run_cli *rc, int argc, char **argv, int compare,
                     char *err, size_t errcap);
/* The sweep flags' help lines (the run flags come from cli_run_help_flags). */
void sweep_help_flags(FILE *f, int compare);

/* sweep_opts_free, and the workload the command opened into rc. */
void sweep_cmd_free(struct sweep_opts *o, struct run_cli *rc);

#endif
