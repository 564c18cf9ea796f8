#ifndef LLMLOAD_ENGINE_H
#define LLMLOAD_ENGINE_H
/* The benchmark engine: one libuv loop on one thread drives the requests of
 * one run (closed loop under an admission cap, or open loop on a schedule),
 * and measures them.  Re-entrant: each call makes and closes its own loop,
 * so `sweep` and `compare` call it once per level. */
#include <stddef.h>
#include "config.h"
#include "result.h"

/* Per-request sink: called once per finished request (warm-up included,
 * flagged), before its record is recycled.  The CSV and raw writers use it. */
typedef void (*engine_record_cb)(void *ud, const struct req_record *r, uint64_t t0_abs_ns);

/* A request in flight holds RESULT_EV_CHUNK event times: they are about
 * to leave memory (req_record_spill), the raw writer takes them now. */
typedef void (*engine_events_cb)(void *ud, struct req_record *r);

struct engine_hooks {
    engine_record_cb on_record; void *ud;
    engine_events_cb on_events;   /* NULL: nobody keeps every event time */
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

/* Set by the SIGINT handler; engine_run checks it.  A caller running many
 * levels stops when it is set. */
int engine_interrupted(void);

/* For commands that run the engine many times (sweep, compare): Ctrl-C or
 * SIGTERM between two runs also sets engine_interrupted() instead of
 * killing the process, so what was measured is still written. */
void engine_catch_signals(void);

#endif
