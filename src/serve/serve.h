#ifndef LLMLOAD_SERVE_H
#define LLMLOAD_SERVE_H
/* `llmload serve`: the web dashboard (docs/dashboard.md).
 *
 * One libuv loop serves the page, the JSON API, the SSE stream of a run and
 * /metrics.  The benchmark itself never runs on that loop: each run is a
 * child process (`llmload compare ... --json FILE`) whose progress reaches
 * the server through a pipe, so the dashboard's work cannot disturb the
 * run's timing.  Only targets named on the command line can be loaded. */
#include <stddef.h>
#include <stdint.h>

#define SERVE_MAX_TARGETS 8
#define SERVE_MAX_SOURCES 16

struct serve_target {
    char name[64];
    char url[512];
    char model[129];                /* NAME=URL@MODEL; "" = the run's, or the first listed */
};

/* A prompt file or dataset the operator allows (--prompt-file, --dataset):
 * the page knows it by name only (its file's base name); the path never
 * leaves the server and no path from the browser is ever opened. */
struct serve_source {
    char name[64];
    const char *flag;               /* the child's flag: "--prompt-file" or "--dataset" */
    const char *path;
};

struct serve_opts {
    const char *listen;             /* HOST:PORT; default 127.0.0.1:8089 */
    char token[256];                /* "" = none (only allowed on loopback) */
    struct serve_target targets[SERVE_MAX_TARGETS];
    size_t ntargets;                /* 0: two built-in simulators */
    struct serve_source sources[SERVE_MAX_SOURCES];
    size_t nsources;
    const char *results_dir;        /* NULL: the state-dir default */
    unsigned max_concurrency;       /* the largest level a run may ask for */
    unsigned max_requests;          /* requests per level at most */
    uint64_t max_duration_ns;       /* a run longer than this is cancelled */
    uint64_t probe_interval_ns;     /* between two checks of each target */
};

/* Defaults of every field. */
void serve_opts_init(struct serve_opts *o);

/* Adds "NAME=URL" or "NAME=URL@MODEL" (a name of [A-Za-z0-9._-], unique;
 * an http(s) URL; the model split as compare splits it).  0, or -1 with a
 * one-line err. */
int serve_opts_add_target(struct serve_opts *o, const char *spec, char *err, size_t errcap);

/* Allows a prompt file (flag "--prompt-file") or a dataset ("--dataset"):
 * named by its base name, which must be unique and readable now.  path
 * must outlive o.  0, or -1 with a one-line err. */
int serve_opts_add_source(struct serve_opts *o, const char *flag, const char *path,
                          char *err, size_t errcap);

/* The checks across flags that make serve refuse to start (a usage error):
 * a bad listen address, a non-loopback one without a token.  0, or -1. */
int serve_opts_check(const struct serve_opts *o, char *err, size_t errcap);

/* Runs the dashboard until SIGINT or SIGTERM; prints "http://HOST:PORT/"
 * on stdout once it listens.  0, or -1 with err (nothing listened). */
int serve_main(const struct serve_opts *o, char *err, size_t errcap);

#endif
