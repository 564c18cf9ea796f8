#ifndef LLMLOAD_ENGINE_H
#define LLMLOAD_ENGINE_H
/* The benchmark engine: one libuv loop on one thread drives the requests of
 * one run (closed loop under an admission cap, or open loop on a schedule),
 * and measures them.  Re-entrant: each call makes and closes its own loop,
 * so `sweep` and `compare` call it once per level. */
#include <stddef.h>
#include "config.h"
#include "obs_monitor.h"
#include "obs_push.h"
#include "result.h"

/* Per-request sink: called once per finished request (warm-up included,
 * flagged), before its record is recycled.  The CSV and raw writers use it. */
typedef void (*engine_record_cb)(void *ud, const struct req_record *r, uint64_t t0_abs_ns);

/* A request in flight holds RESULT_EV_CHUNK event times: they are about
 * to leave memory (req_record_spill), the raw writer takes them now. */
typedef void (*engine_events_cb)(void *ud, struct req_record *r);

/* What a run shows of itself while it goes (docs/observability.md): the
 * /metrics listener, the interval pushes and the resource monitor, all on
 * the run's loop.  Every field may be left zero. */
struct engine_hooks {
    engine_record_cb on_record; void *ud;
    engine_events_cb on_events;   /* NULL: nobody keeps every event time */
    const char *prometheus;                 /* --prometheus ADDR; NULL: no listener */
    const struct obs_push_cfg *push;        /* pushed every push_interval_ns when both set */
    uint64_t push_interval_ns;
    const struct obs_monitor_cfg *monitor;  /* NULL: no monitor */
    struct obs_monitor **monitor_out;       /* receives the monitor (the caller frees it);
                                               NULL: the engine frees it */
    /* The exposition's labels: target_label has its credentials removed
     * already (the engine does not know the report's redaction). */
    const char *target_label, *run_id;
    const char *sweep_param;                /* NULL: not a sweep level */
    double sweep_level;
    uint64_t sweep_index;
};

/* Runs the benchmark in cfg.  stats must be run_stats_init()ed; it is
 * filled in.  Returns LL_OK when the run took place (even if every
 * request failed: look at stats), or why it could not start (status.h),
 * with err saying so in one line: LL_EUSAGE (bad URL, URL or key too
 * long, a concurrency above the descriptor limit), LL_EUNAVAIL (name
 * resolution, connection or protocol detection failed), LL_ENOMEM.
 * LLMLOAD_NO_FAST_PATH=1 in the environment turns the shape fast path
 * off for the run (docs/decoders.md). */
int engine_run(const struct run_config *cfg, struct run_stats *stats,
               const struct engine_hooks *hooks, char *err, size_t errcap);

/* The exposition of a finished run (finished = 1), for the final push:
 * its labels and sweep fields from h, the monitor's latest sample from mon
 * (NULL: none).  The pointers into s stay valid as long as s does. */
struct obs_live;
void engine_live_final(const struct run_config *cfg, const struct run_stats *s,
                       const struct engine_hooks *h, const struct obs_monitor *mon,
                       struct obs_live *l);

/* Set by the SIGINT handler; engine_run checks it.  A caller running many
 * levels stops when it is set. */
int engine_interrupted(void);

/* For commands that run the engine many times (sweep, compare): Ctrl-C or
 * SIGTERM between two runs also sets engine_interrupted() instead of
 * killing the process, so what was measured is still written. */
void engine_catch_signals(void);

#endif
