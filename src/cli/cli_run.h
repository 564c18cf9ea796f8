#ifndef LLMLOAD_CLI_RUN_H
#define LLMLOAD_CLI_RUN_H
/* The flags of `llmload run`, shared by `sweep` and `compare`, and the
 * built-in simulator that `run` starts when no --url is given. */
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "config.h"
#include "workload.h"

/* Flags owned by another module (gate, workloads, sweep).  takes_value:
 * 1 the flag takes a value, 0 it does not, -1 not this module's flag.
 * opt: 1 consumed, 0 not ours, -1 bad value (err holds the message). */
struct cli_extra {
    int (*takes_value)(void *ud, const char *flag);
    int (*opt)(void *ud, const char *flag, const char *value, char *err, size_t errcap);
    void (*help)(void *ud, FILE *f);
    void *ud;
};

#define CLI_MOCK_ARGS 64

struct run_cli {
    struct run_config cfg;
    const char *mock_args[CLI_MOCK_ARGS];   /* --mock-arg values, in order */
    int nmock;
    int help;                               /* --help was given */
    int model_given;
    struct workload_opts wopts;             /* prompt source flags (workload.h) */
};

/* Opens rc->wopts into rc->cfg.workload (loads files before any request).
 * 0, or -1 with err (a usage error). */
int cli_run_open_workload(struct run_cli *rc, char *err, size_t errcap);

/* Defaults, then argv[first..argc).  Returns 0, or -1 with a one-line err
 * naming the flag and the value (the caller exits 2).  Never exits. */
int cli_run_parse(struct run_cli *rc, int argc, char **argv, int first,
                  const struct cli_extra *extras, size_t nextra, char *err, size_t errcap);

struct gate_opts;
/* The regression gate's flags (gate.h) as a cli_extra, for run, sweep and
 * compare. */
struct cli_extra cli_gate_extra(struct gate_opts *g);

/* Checks what needs the whole command line (a model for a real server). */
int cli_run_validate(const struct run_cli *rc, char *err, size_t errcap);

/* Resolves --url and settles --api auto (probing the server once), so the
 * outputs name the API actually used.  0, or the exit code to return
 * (EXIT_USAGE for a bad URL, EXIT_RUN when the server cannot be reached or
 * identified) with err set. */
int cli_run_resolve(struct run_cli *rc, char *err, size_t errcap);

/* The run flags' help text (not the usage line). */
void cli_run_help_flags(FILE *f);

/* With no --url: starts `llmload mock` on a free loopback port as a child
 * process, sets cfg.url (and the model when none was given).  Returns the
 * child's pid (> 0), 0 when a URL was given, or -1 with err set. */
pid_t cli_run_start_mock(struct run_cli *rc, char *err, size_t errcap);
/* Stops the child started above (SIGTERM, then waits). */
void cli_run_stop_mock(pid_t pid);

#endif
