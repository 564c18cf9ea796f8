#ifndef LLMLOAD_OBS_OPTS_H
#define LLMLOAD_OBS_OPTS_H
/* The observability flags (docs/observability.md), in the option format of
 * opt.h: the push flags, which `export` shares with the run commands, and
 * the flags of a live run (--prometheus, --push-interval, the monitor).
 * Both tables fill one struct obs_opts, the user data of each. */
#include <stdint.h>

#include "obs_push.h"
#include "opt.h"

/* The monitor's sources (--monitor, --monitor-off). */
enum obs_src {
    OBS_SRC_CLIENT = 1 << 0,            /* this process: CPU, RSS, fds, loop */
    OBS_SRC_SYSTEM = 1 << 1,            /* CPU by kind, memory, load */
    OBS_SRC_SERVER = 1 << 2,            /* the server process on this machine */
    OBS_SRC_GPU = 1 << 3,               /* nvidia-smi */
    OBS_SRC_SERVER_METRICS = 1 << 4,    /* the server's /metrics */
    OBS_SRC_ALL = (1 << 5) - 1,
};

/* "client", "system", "server", "gpu", "server-metrics"; NULL past the end. */
const char *obs_src_name(unsigned bit);

struct obs_opts {
    const char *prometheus;             /* --prometheus ADDR; NULL: no listener */
    int push;                           /* --push given: push_cfg.url is resolved */
    struct obs_push_cfg push_cfg;
    uint64_t push_interval_ns;          /* 0: only the final push */
    unsigned monitor;                   /* OBS_SRC_* bits to sample (default all) */
    long server_pid;                    /* --server-pid; 0: look for it */
    const char *server_metrics;         /* --server-metrics URL; NULL: the target's */
    int server_metrics_all;             /* keep the metrics llmload does not know */
};

void obs_opts_init(struct obs_opts *o);

/* --push, --push-job, --push-label, --push-replace */
extern const struct opt_table obs_push_opt_table;
/* --prometheus, --push-interval, --monitor, --monitor-off, --server-pid,
 * --server-metrics, --server-metrics-all */
extern const struct opt_table obs_run_opt_table;

/* The checks across flags, after parsing: the push flags need --push.
 * 0, or -1 with a one-line err. */
int obs_opts_check(const struct obs_opts *o, char *err, size_t errcap);

#endif
