#ifndef LLMLOAD_CONFIG_H
#define LLMLOAD_CONFIG_H
/* The effective settings of one `llmload run`.  Defaults are set in one
 * place (config_defaults, config.c); cli/cli_run.c fills it from flags; every field is
 * echoed in the JSON result's "config". */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "api.h"
#include "slo.h"
#include "tls.h"

struct workload;
struct headers;

/* When a content event happened: when the kernel received its bytes
 * (SO_TIMESTAMPNS, the default), or when the loop read them. */
enum rx_clock { RXCLOCK_KERNEL = 0, RXCLOCK_READ };

enum arrival { ARRIVAL_CLOSED = 0, ARRIVAL_POISSON, ARRIVAL_CONSTANT, ARRIVAL_GAMMA };

struct run_config {
    /* target */
    char url[512];              /* as given; "" = start the built-in simulator */
    enum api_kind api;
    char model[256];
    int stream;
    enum rx_clock rx_clock;     /* --timestamps */
    struct slo_spec slo;        /* per-request limits (--slo); slo.n == 0: none */
    const char *api_key;        /* never printed, never written */
    const struct headers *headers;  /* --header (headers.h); NULL none.  Values are
                                   secrets unless marked public */
    const char *proxy;          /* --proxy URL; NULL: from the environment
                                   (proxy.h), "": none (--no-proxy) */
    int proxy_tunnel;           /* --proxy-tunnel: CONNECT for http:// targets too */
    struct tls_opts tls;        /* https: --cacert, --insecure, --cert, --key */
    /* request content: the workload (workload.h) gives each request its
     * prompt or messages; prompt/system here are for reports */
    struct workload *workload;  /* opened by the CLI before the run; NULL: prompt as is */
    const char *workload_desc;  /* one line for reports */
    int multi_turn;             /* --turns > 1: replies are kept for the next turn */
    const char *prompt;
    const char *system;
    int64_t max_tokens;
    double temperature;         /* NaN: not sent */
    int64_t sampling_seed;      /* --sampling-seed: sent to the server, -1 none */
    /* load */
    uint32_t concurrency;
    uint64_t requests;          /* 0 with duration_ns: time-bound */
    uint64_t duration_ns;
    uint64_t warmup_requests;
    uint64_t warmup_ns;
    double rate;                /* open loop requests/s, 0 = closed loop */
    enum arrival arrival;
    double burstiness;
    uint64_t seed;              /* this run's seed: arrival schedule and workload
                                   (nonces, prompt choice, lengths); <= CONFIG_SEED_MAX */
    int seed_given;             /* --seed, or drawn at random */
    uint64_t ramp_up_ns;
    double stop_error_rate;     /* 0 = off */
    /* timeouts (0 = none) */
    uint64_t connect_timeout_ns;
    uint64_t ttft_timeout_ns;
    uint64_t idle_timeout_ns;
    uint64_t request_timeout_ns;
    uint64_t grace_ns;          /* first Ctrl-C: wait this long for in-flight */
    /* a response with more content events than this many times the
     * max_tokens it asked for is stopped as `overlong` (0 = never) */
    double overlong_factor;
    /* outputs */
    const char *json_path, *csv_path, *raw_path;
    int quiet;
    int progress;               /* resolved: stderr is a tty and !quiet */
    /* several processes or machines (docs/scale.md): this process runs
     * shard shard_index of shard_count (0: the whole run; config_shard_part),
     * beginning at the wall-clock start_at_ns (Unix ns, 0: at once);
     * workers is how many processes `run` forked (1: none) */
    uint32_t shard_index, shard_count;
    int64_t start_at_ns;
    uint32_t workers;
    /* The workers of one closed-loop run on one machine share its request
     * count (NULL: each runs its fixed part; struct run_share). */
    struct run_share *share;
    /* --local-addrs: connections bind these round-robin (none: the
     * kernel's choice) */
    const struct sockaddr_storage *local_addrs;
    uint32_t n_local_addrs;
    /* simulator started by `run` when url is empty */
    const char *mock_args;      /* extra flags for the child simulator */
};

/* What the workers of one closed-loop run share, in memory mapped shared
 * before they fork (scale_workers.c).  A fixed split of -n makes the run as
 * long as its slowest worker: a worker that shares its core with the server,
 * or with another program, finishes last while the others' cores idle.  So
 * each request is claimed when it is sent: a faster worker sends more, the
 * run sends exactly -n, and the record indices are those of one process:
 * 0 .. W - 1 for W warm-up requests, then W, W + 1, ... (so each request
 * gets the prompt one process would give it).  Shards on several machines,
 * open loops (their arrivals are dealt from one schedule) and a timed
 * warm-up (its count is known only after it) keep the fixed split. */
struct run_share {
    _Atomic uint64_t next_index;    /* warm-up records: 0 .. W - 1 */
    _Atomic uint64_t measured;      /* measured requests claimed: W + this */
    _Atomic int stop;               /* a worker stopped on --stop-error-rate */
};

/* Shard i's part of a total split over n shards: total / n, and one more
 * for the lowest total % n indices, so the parts add up to the total.  n
 * of 0 or 1 is the whole. */
uint64_t config_shard_part(uint64_t total, uint32_t i, uint32_t n);

/* The prompt of a run that names none. */
#define CONFIG_DEFAULT_PROMPT "Say 'hello, world!' in Korean."

/* Defaults; the seed is drawn at random (config_fresh_seed). */
void config_defaults(struct run_config *c);

/* Largest seed: 15 decimal digits, which every JSON writer keeps exactly
 * (cJSON prints 15 significant digits when they round-trip within an
 * epsilon, which 16-digit integers need not), so a seed read back from a
 * result repeats the run. */
#define CONFIG_SEED_MAX ((1ull << 48) - 1)

/* A random seed in [0, CONFIG_SEED_MAX]: runs without --seed differ. */
uint64_t config_fresh_seed(void);

/* The seed of run k (0-based) of a command that runs many (run --repeat,
 * the levels of sweep and compare): the base itself for k = 0, so that
 * `--seed S` repeats a run whose seed was S, and a distinct one derived
 * from it for the others, so no two runs send the same nonces. */
uint64_t config_run_seed(uint64_t base, uint64_t k);

#endif
