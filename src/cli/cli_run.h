#ifndef LLMLOAD_CLI_RUN_H
#define LLMLOAD_CLI_RUN_H
/* The flags of `llmload run`, shared by `sweep` and `compare`, and the
 * built-in simulator that they start when no --url is given.
 *
 * A command parses them as: cli_run_init, opt_parse with cli_run_table and
 * cli_auth_table among its tables (user data: the struct run_cli and its
 * auth), cli_run_finish. */
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "cli_obs.h"
#include "config.h"
#include "headers.h"
#include "opt.h"
#include "target.h"
#include "scale.h"
#include "workload.h"

#define CLI_MOCK_ARGS 64
#define CLI_KEY_MAX 512

/* --api-key and --api-key-file, --header, --header-public, the proxy and
 * the TLS flags (run, sweep, compare, check): how requests reach the
 * server. */
struct cli_auth {
    const char *key;            /* --api-key; NULL: not given, "": send none */
    const char *file;           /* --api-key-file */
    char buf[CLI_KEY_MAX];      /* the key read from the file */
    struct headers hdrs;        /* --header */
    const char *public_names[HEADERS_MAX];   /* --header-public */
    unsigned npublic;
    const char *proxy;          /* --proxy; "" for --no-proxy; NULL: the environment's */
    int proxy_tunnel;           /* --proxy-tunnel */
    struct tls_opts tls;        /* --cacert, --insecure, --cert, --key */
};

/* Their table (opt.h); the handler's user data is a struct cli_auth. */
extern const struct opt_table cli_auth_table;

/* The key to send: --api-key-file's, --api-key's, else $OPENAI_API_KEY's;
 * NULL for none.  It is registered as a secret (secret.h) before anything
 * can print it.  0, or -1 with err (both flags, an unreadable or empty
 * file; nothing of the file's content is quoted). */
int cli_auth_key(struct cli_auth *a, const char **key, char *err, size_t errcap);

/* All of it: the key (cli_auth_key; none when --header gives an
 * Authorization, and both given explicitly is an error), the headers
 * checked and their secret values registered, --proxy parsed (its
 * credentials registered), net->tls pointing at a->tls.  0, or -1 with err (a usage error). */
int cli_auth_net(struct cli_auth *a, struct target_net *net, char *err, size_t errcap);

struct run_cli {
    struct run_config cfg;
    const char *mock_args[CLI_MOCK_ARGS];   /* --mock-arg values, in order */
    int nmock;
    int model_given;
    /* Given on the command line: some defaults depend on them (-d alone is
     * time-bound; a sweep warms each level up unless --warmup says). */
    int duration_given, requests_given, warmup_given;
    uint64_t per_thread;                    /* --requests-per-thread: -n is this x -c */
    int port;                               /* --port: the port of a URL without one */
    struct workload_opts wopts;             /* prompt source flags (workload.h) */
    struct cli_auth auth;                   /* --api-key, --api-key-file */
    const char *html_path;                  /* --html FILE: the HTML report at the end */
    const char *plots_dir;                  /* --plots DIR: every figure as PNG and SVG */
    struct cli_obs obs;                     /* --prometheus, --push, --monitor ...: user data
                                               of obs_run_opt_table and obs_push_opt_table */
    struct scale_opts scale;                /* --workers, --shard, --start-at (run) */
};

/* Before the run: --html and --plots can be written (nothing is created).
 * 0, or -1 with err naming the flag. */
int cli_run_check_pictures(const struct run_cli *rc, char *err, size_t errcap);

/* After the run: renders docs[0..n) (render.h) into --html and --plots.
 * repeat: the docs are the runs of `run --repeat`.  0, or -1 after printing
 * one line per failure on stderr, prefixed by "llmload CMD: ". */
struct cJSON;
int cli_run_write_pictures(const struct run_cli *rc, const char *cmd,
                           const struct cJSON *const *docs, size_t n, int repeat);

/* The run flags (opt.h); the handler's user data is a struct run_cli. */
extern const struct opt_table cli_run_table;

/* Defaults, before any flag. */
void cli_run_init(struct run_cli *rc);

/* After the flags: settles what depends on several of them and checks that
 * they agree.  0, or -1 with a one-line err (the caller exits 2). */
int cli_run_finish(struct run_cli *rc, char *err, size_t errcap);

/* The shortest timeout or wait the flags take besides 0 (off): the event
 * loop's timers count whole milliseconds. */
#define CLI_TIMER_MIN_NS 1000000ull
/* The longest expected open-loop schedule of a request-bound run. */
#define CLI_SCHEDULE_MAX_S (30.0 * 86400)

/* An open-loop rate against the run's limits: -n requests must be
 * expected within CLI_SCHEDULE_MAX_S, and a --duration must expect at
 * least one arrival (ramp-up included).  rate <= 0 (closed loop) passes.
 * 0, or -1 with err naming the rate (a usage error). */
int cli_run_check_rate(const struct run_config *c, double rate, char *err, size_t errcap);

/* --slo LIMITS: comma-separated items; a per-request limit (slo.h) goes
 * into c->slo, an aggregate expression (gate.h grammar: p99(ttft)<=500ms,
 * error_rate<=1%) into agg when given (sweep, compare), else it is refused
 * (run, which has --assert).  0, or -1 with err naming the flag. */
struct gate_expr;
struct cli_slo_agg { struct gate_expr **e; size_t n, cap; };
int cli_slo_opt(struct run_config *c, struct cli_slo_agg *agg, const char *flag, const char *v,
                char *err, size_t cap);
/* --goodput: vLLM's KEY:MS limits into c->slo, or (with target, sweep) a
 * target attainment "95%" into *target.  0, or -1 with err. */
int cli_goodput_opt(struct run_config *c, double *target, const char *flag, const char *v,
                    char *err, size_t cap);

/* --api KIND into *api: 0, or -1 with err naming flag and value. */
int cli_parse_api(const char *flag, const char *v, enum api_kind *api, char *err, size_t cap);

/* Opens rc->wopts into rc->cfg.workload (loads files before any request).
 * 0, or -1 with err (a usage error). */
int cli_run_open_workload(struct run_cli *rc, char *err, size_t errcap);

/* Checks what needs the whole command line (a model for a real server:
 * sweep; run picks the first one listed, cli_run_resolve). */
int cli_run_validate(const struct run_cli *rc, char *err, size_t errcap);

/* Resolves --url and settles --api auto (probing the server once, with the
 * key), so the outputs name the API actually used; refuses --turns with an
 * API that sends no conversation; without a model, takes the first one the
 * server lists and says so on stderr.  0, or the exit code to return
 * (EXIT_USAGE for a bad URL, --turns on a prompt API, or no model known;
 * EXIT_RUN when the server cannot be reached or identified) with err set. */
int cli_run_resolve(struct run_cli *rc, char *err, size_t errcap);

/* With no --url: starts `llmload mock` on a free loopback port as a child
 * process, sets cfg.url (and the model when none was given).  Returns the
 * child's pid (> 0), 0 when a URL was given, or -1 with err set. */
pid_t cli_run_start_mock(struct run_cli *rc, char *err, size_t errcap);
/* Stops the child started above (SIGTERM, then waits). */
void cli_run_stop_mock(pid_t pid);

#endif
