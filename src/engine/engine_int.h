#ifndef LLMLOAD_ENGINE_INT_H
#define LLMLOAD_ENGINE_INT_H
/* Engine internals shared by engine.c and conn.c only. */
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "config.h"
#include "conn.h"
#include "engine.h"
#include "json.h"
#include "result.h"
#include "schedule.h"
#include "target.h"

#define ENGINE_READ_BUF (64 * 1024)
#define ENGINE_JSON_TOKENS 8192

enum engine_phase { PHASE_WARMUP = 0, PHASE_MEASURE, PHASE_DRAIN, PHASE_DONE };

struct engine {
    uv_loop_t loop;
    const struct run_config *cfg;
    struct run_stats *stats;
    const struct engine_hooks *hooks;
    struct target tgt;
    struct api_request req;      /* what every request shares; the workload fills the content */
    int collect_text;            /* keep generated text (tokenizer, multi-turn) */
    char *body; size_t body_cap; /* scratch for building request bodies */
    char hdr_fixed[1024];        /* request line and headers common to every request */
    size_t hdr_fixed_len;

    struct conn *conns;          /* `nconns` slots, allocated once */
    uint32_t nconns;
    struct conn *idle;           /* keep-alive pool, most recently used first */
    uint32_t *free_slots;        /* slots with no socket, a stack: O(1) to take one */
    uint32_t nfree;

    enum engine_phase phase;
    uint64_t t0;                 /* hrtime: start of the measured phase */
    uint64_t warmup_t0;
    uint64_t issued;             /* requests started in this phase */
    uint64_t inflight;
    uint64_t next_index;         /* record index over the whole run */
    int stopping;                /* no more admissions (duration, Ctrl-C, error rate) */
    int aborting;                /* second Ctrl-C */
    uint32_t cap;                /* current admission cap (ramp-up) */

    /* Open loop. */
    struct schedule sched;
    uint64_t next_arrival;       /* offset ns of the next scheduled arrival */
    uint64_t arrivals;           /* arrivals generated so far */
    uint64_t *backlog; size_t bl_head, bl_len, bl_cap;   /* late arrivals (sched offsets) */

    /* Sliding error window for --stop-on-error-rate. */
    uint8_t win[64]; uint32_t win_n, win_pos, win_err;

    uv_idle_t more;              /* continues a fill cut short by FILL_BATCH */
    uv_timer_t tick;             /* open-loop arrivals, ramp-up, duration end */
    uv_timer_t lag;              /* self-check: timer drift */
    uv_timer_t progress;
    uv_timer_t grace;
    uv_signal_t sigint, sigterm;
    uint64_t lag_expected;
    struct hist *lag_hist;
    uint64_t idle_base;          /* uv_metrics_idle_time at the start */
    uint64_t progress_last_n;
    int closing_handles;

    /* Event times (rxstamp.h): kernel receive stamps, else uv_hrtime()
     * at read.  Reads counted over the measured phase. */
    int rx_kernel;
    int rx_hold;                 /* rxstamp_hold() socket, or -1 */
    uint64_t reads, reads_stamped;

    char rbuf[ENGINE_READ_BUF];  /* one read buffer: read callbacks consume it at once */
    jsmntok_t toks[ENGINE_JSON_TOKENS];
    char err[256];
};

/* Called by conn.c when the request on c has finished (ok or failed). */
void engine_request_done(struct engine *e, struct conn *c);
/* Admits as many requests as the phase, the cap and the schedule allow. */
void engine_fill(struct engine *e);
/* Called by conn.c when a slot's socket has closed and the slot is FREE. */
void engine_conn_closed(struct engine *e, struct conn *c);
/* Called by conn.c when an idle pooled connection went away. */
void engine_idle_remove(struct engine *e, struct conn *c);

#endif
