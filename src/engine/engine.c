/* The engine: one libuv loop, an admission counter, a closed-loop or
 * open-loop scheduler, the run's phases (warm-up, measure, drain), signals,
 * and the loop's self-check.  Connections live in conn.c. */
#include "engine.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "obs_expo.h"
#include "obs_http.h"
#include "rxstamp.h"
#include "schedule.h"
#include "status.h"
#include "target.h"
#include "tokenizer.h"
#include "units.h"
#include "utf8.h"
#include "util.h"
#include "workload.h"


#define ENGINE_READ_BUF (64 * 1024)
#define ENGINE_JSON_TOKENS 8192

enum engine_phase { PHASE_WARMUP = 0, PHASE_MEASURE, PHASE_DRAIN, PHASE_DONE };

struct engine {
    uv_loop_t loop;
    const struct run_config *cfg;
    struct run_stats *stats;
    const struct engine_hooks *hooks;
    struct target tgt;
    struct tls_ctx *tls;         /* https: the run's one TLS context (tls.h) */
    struct api_request req;      /* what every request shares; the workload fills the content */
    char *body; size_t body_cap; /* scratch for building request bodies */
    char hdr_fixed[HEADERS_BYTES + 4096];   /* request line and headers common to every request */
    char tunnel_req[PROXY_URL_MAX * 2 + 600];   /* CONNECT, through a proxy's tunnel */
    size_t hdr_fixed_len;

    struct conn *conns;          /* `nconns` slots, allocated once */
    uint32_t nconns;
    struct conn_env env;         /* what the connections share with the engine (conn.h) */
    struct conn *idle;           /* keep-alive pool, most recently used first */
    uint32_t *free_slots;        /* slots with no socket, a stack: O(1) to take one */
    uint32_t nfree;

    enum engine_phase phase;
    uint64_t warmup_t0;          /* hrtime; env.t0 is the start of the measured phase */
    uint64_t issued;             /* requests started in this phase */
    uint64_t inflight;
    uint64_t next_index;         /* records started over the whole run */
    int claimed;                 /* holds claim (on cfg->share), not yet sent */
    uint64_t claim;              /* the claimed measured request's ordinal */
    int claims_over;             /* cfg->share's requests are all claimed */
    /* This process's part of the run (config_shard_part): shard i of n
     * takes its share of the concurrency and of a closed loop's requests,
     * and every n-th arrival of the open loop's one global schedule. */
    uint32_t shard_i, shard_n;
    uint32_t conc;
    uint64_t requests, warmup_requests;
    int stopping;                /* no more admissions (duration, Ctrl-C, error rate) */
    uint32_t cap;                /* current admission cap (ramp-up) */

    /* Open loop. */
    struct schedule sched;
    uint64_t next_arrival;       /* offset ns of the next scheduled arrival */
    uint64_t arrivals;           /* arrivals of the global schedule so far */
    uint64_t own_arrivals;       /* ...of which this shard's */
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

    /* Event times (rxstamp.h): kernel receive stamps (env.rx_kernel), else
     * uv_hrtime() at read; env counts the reads of the measured phase. */
    int rx_hold;                 /* rxstamp_hold() socket, or -1 */

    /* Observability (hooks): handles of their own on this loop, unref'd. */
    struct obs_http *http;
    struct obs_pusher *pusher;
    struct obs_monitor *mon;

    char rbuf[ENGINE_READ_BUF];  /* one read buffer: read callbacks consume it at once */
    jsmntok_t toks[ENGINE_JSON_TOKENS];
};

#define LAG_TICK_MS 10
/* Requests started per loop iteration at most.  Starting 10,000 streams in
 * one callback would keep the loop from reading for tens of milliseconds,
 * and first tokens arriving meanwhile would be timestamped late; in
 * batches, reads are served between them. */
#define FILL_BATCH 64
#define PROGRESS_MS 500
#define ERR_WINDOW 64          /* results in the --stop-on-error-rate window */
#define ERR_WINDOW_MIN 16      /* ...and how many it needs before it may stop a run */

static volatile sig_atomic_t g_interrupted;

int engine_interrupted(void)
{
    return g_interrupted != 0;
}

static volatile sig_atomic_t g_catch;

static void on_signal_between(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

void engine_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal_between;
    sigemptyset(&sa.sa_mask);
    g_catch = 1;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static uint64_t now_off(const struct engine *e)
{
    return uv_hrtime() - e->env.t0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */

/* The body of one request: the shared settings, with the content the
 * workload chose for this user and request (prompt set, dataset, nonce). */
static long engine_build_body(struct engine *e, const struct api_request *req)
{
    for (;;) {
        long n = api_build_body(e->tgt.api, req, e->body, e->body_cap);
        if (n >= 0)
            return n;
        size_t nc = e->body_cap * 2;
        char *p = realloc(e->body, nc);
        if (!p || nc > (64u << 20))
            return -1;
        e->body = p;
        e->body_cap = nc;
    }
}

/* What the request asks for, as the reports describe it: the characters
 * of its text (prompt or messages, and the system prompt) and its output
 * limits. */
static void engine_note_request(struct req_record *r, const struct api_request *req)
{
    size_t chars = req->system ? utf8_chars(req->system) : 0;
    if (req->nmessages)
        for (size_t i = 0; i < req->nmessages; i++)
            chars += req->messages[i].content ? utf8_chars(req->messages[i].content) : 0;
    else if (req->prompt)
        chars += utf8_chars(req->prompt);
    r->prompt_chars = (int64_t)chars;
    r->max_tokens = req->max_tokens >= 0 ? req->max_tokens : -1;
    r->exact_tokens = req->ignore_eos && req->min_tokens > 0 && req->min_tokens == req->max_tokens
                          ? req->max_tokens : -1;
}

static int engine_prepare_request(struct engine *e, struct conn *c)
{
    struct api_request req = e->req;
    if (e->cfg->workload && workload_next(e->cfg->workload, c->user, c->rec.index, &req) < 0)
        return -1;
    engine_note_request(&c->rec, &req);
    long blen = engine_build_body(e, &req);
    if (blen < 0)
        return -1;
    c->max_tokens = req.max_tokens;   /* what an overlong or implausible response is judged by */
    size_t need = e->hdr_fixed_len + 128 + (size_t)blen;
    if (c->wcap < need) {
        char *p = realloc(c->wbuf, need);
        if (!p)
            return -1;
        c->wbuf = p;
        c->wcap = need;
    }
    memcpy(c->wbuf, e->hdr_fixed, e->hdr_fixed_len);
    int n = snprintf(c->wbuf + e->hdr_fixed_len, 128,
                     "X-Request-Id: llmload-%llu\r\nContent-Length: %ld\r\n\r\n",
                     (unsigned long long)c->rec.index, blen);
    c->wlen = e->hdr_fixed_len + (size_t)n;
    memcpy(c->wbuf + c->wlen, e->body, (size_t)blen);
    c->wlen += (size_t)blen;
    return 0;
}

/* A slot for the next request: an idle keep-alive connection first (most
 * recently used, so the least likely to have been closed by the server),
 * else a free slot that will connect.  NULL when every slot is busy or
 * closing. */
static struct conn *engine_take_conn(struct engine *e)
{
    if (e->idle) {
        struct conn *c = e->idle;
        e->idle = c->next_idle;
        c->next_idle = NULL;
        return c;
    }
    while (e->nfree) {
        struct conn *c = &e->conns[e->free_slots[--e->nfree]];
        if (c->state == CONN_FREE)
            return c;
    }
    return NULL;
}

/* The keep-alive pool: a kept connection goes on top. */
static void engine_pool(struct engine *e, struct conn *c)
{
    assert(c->state == CONN_IDLE);
    c->next_idle = e->idle;
    e->idle = c;
}

static void engine_unpool(struct engine *e, struct conn *c)
{
    for (struct conn **pp = &e->idle; *pp; pp = &(*pp)->next_idle) {
        if (*pp == c) {
            *pp = c->next_idle;
            c->next_idle = NULL;
            return;
        }
    }
}

static void engine_request_done(struct engine *e, struct conn *c);
static void engine_fill(struct engine *e);

static void engine_start_on(struct engine *e, struct conn *c, uint64_t sched_off)
{
    req_record_reset(&c->rec);
    if (e->cfg->share && e->phase == PHASE_MEASURE) {
        /* Workers sharing -n number as one process does: the W warm-up
         * requests 0 .. W - 1, then each measured one by its claim (taken
         * in engine_fill, always before the request starts). */
        assert(e->claimed);
        c->rec.index = e->cfg->warmup_requests + e->claim;
        e->claimed = 0;
    } else if (e->cfg->share) {
        c->rec.index = atomic_fetch_add(&e->cfg->share->next_index, 1);
    } else {
        /* Shard i numbers its requests i, i + n, i + 2n ...: the records
         * of all shards have distinct indices, and in an open loop a
         * request's index is its arrival's in the global schedule. */
        c->rec.index = e->next_index++ * e->shard_n + e->shard_i;
    }
    c->rec.warmup = e->phase == PHASE_WARMUP;
    c->rec.sched_ns = sched_off;
    c->rec.run_id = e->stats->run_id;
    c->user = c->slot;
    e->issued++;
    e->inflight++;
    assert(e->inflight <= e->nconns);
    if (engine_prepare_request(e, c) < 0) {
        /* Only an absurd prompt can get here; fail the request, not the run. */
        if (c->state == CONN_IDLE)   /* back to the pool it came from */
            engine_pool(e, c);
        else   /* a free slot, taken off the free stack: back on it */
            e->free_slots[e->nfree++] = c->slot;
        c->rec.err = ERR_PROTOCOL;
        snprintf(c->rec.errmsg, sizeof c->rec.errmsg, "request body too large");
        c->rec.start_ns = c->rec.end_ns = now_off(e);
        engine_request_done(e, c);
        return;
    }
    conn_start(c);
}

/* ------------------------------------------------------------------ */
/* Admission                                                            */

/* Whether another request may start; claim: take the shared count's next
 * request for it (cfg->share) rather than only look whether one is left. */
static int engine_closed_loop_can_issue(struct engine *e, int claim)
{
    const struct run_config *cfg = e->cfg;
    if (e->stopping)
        return 0;
    if (e->phase == PHASE_WARMUP) {
        if (cfg->warmup_requests)
            return e->issued < e->warmup_requests;
        return uv_hrtime() - e->warmup_t0 < cfg->warmup_ns;
    }
    if (e->phase != PHASE_MEASURE)
        return 0;
    if (cfg->duration_ns && now_off(e) >= cfg->duration_ns)
        return 0;
    if (cfg->share && cfg->requests) {
        /* A worker that stopped on the error rate stops them all: the
         * others must not send the rest of its requests. */
        if (atomic_load(&cfg->share->stop))
            return 0;
        /* A claim is held until a connection sends it (engine_start_on):
         * asking again must not take a second one. */
        if (e->claimed)
            return 1;
        if (!claim)   /* a claim held while every connection is busy would idle */
            return !e->claims_over && atomic_load(&cfg->share->measured) < cfg->requests;
        if (e->claims_over || (e->claim = atomic_fetch_add(&cfg->share->measured, 1)) >= cfg->requests) {
            e->claims_over = 1;
            return 0;
        }
        e->claimed = 1;
        return 1;
    }
    /* cfg's -n, not this part's: a part of 0 requests sends none. */
    if (cfg->requests && e->issued >= e->requests)
        return 0;
    return 1;
}

static int engine_open_loop(const struct engine *e)
{
    return e->cfg->rate > 0 && e->phase == PHASE_MEASURE;
}

/* Open loop: no more arrivals will be generated. */
static int engine_arrivals_over(const struct engine *e)
{
    const struct run_config *cfg = e->cfg;
    if (e->stopping)
        return 1;
    if (cfg->requests && e->arrivals >= cfg->requests)
        return 1;
    if (cfg->duration_ns && e->next_arrival >= cfg->duration_ns)
        return 1;
    return 0;
}

static void backlog_push(struct engine *e, uint64_t sched)
{
    if (e->bl_len == e->bl_cap) {
        size_t nc = e->bl_cap ? e->bl_cap * 2 : 1024;
        uint64_t *p = malloc(nc * sizeof *p);
        if (!p)
            return;   /* counted as late already; the arrival is lost only on OOM */
        for (size_t i = 0; i < e->bl_len; i++)
            p[i] = e->backlog[(e->bl_head + i) % e->bl_cap];
        free(e->backlog);
        e->backlog = p;
        e->bl_cap = nc;
        e->bl_head = 0;
    }
    e->backlog[(e->bl_head + e->bl_len) % e->bl_cap] = sched;
    e->bl_len++;
}

static uint64_t backlog_pop(struct engine *e)
{
    uint64_t v = e->backlog[e->bl_head];
    e->bl_head = (e->bl_head + 1) % e->bl_cap;
    e->bl_len--;
    return v;
}

static void engine_begin_measure(struct engine *e);
static void engine_done(struct engine *e);

static void engine_check_phase(struct engine *e)
{
    if (e->phase == PHASE_WARMUP) {
        if (e->inflight == 0 && (e->stopping || !engine_closed_loop_can_issue(e, 0))) {
            if (e->stopping)
                engine_done(e);
            else
                engine_begin_measure(e);
        }
        return;
    }
    if (e->phase == PHASE_MEASURE) {
        /* A stopped open loop sends no more of its backlog (those are
         * unsent): waiting for it would wait for the server to close the
         * idle connections. */
        int more = engine_open_loop(e) ? (!engine_arrivals_over(e) || (e->bl_len > 0 && !e->stopping))
                                       : engine_closed_loop_can_issue(e, 0);
        if (!more) {
            e->phase = PHASE_DRAIN;
            /* The end of a timed run may be noticed here, by a completion,
             * before the tick timer fires. */
            if (e->cfg->duration_ns && !e->stats->stop_reason[0] && !e->stopping &&
                now_off(e) >= e->cfg->duration_ns)
                snprintf(e->stats->stop_reason, sizeof e->stats->stop_reason, "duration");
        }
    }
    if (e->phase == PHASE_DRAIN && e->inflight == 0)
        engine_done(e);
}

static void on_more(uv_idle_t *h)
{
    struct engine *e = h->data;
    uv_idle_stop(h);
    engine_fill(e);
}

/* Admits as many requests as the phase, the cap and the schedule allow. */
static void engine_fill(struct engine *e)
{
    if (e->phase == PHASE_DONE)
        return;
    unsigned started = 0;
    while (!e->env.aborting && e->inflight < e->cap) {
        if (started == FILL_BATCH) {
            uv_idle_start(&e->more, on_more);   /* the rest after this iteration's I/O */
            return;
        }
        uint64_t sched;
        if (engine_open_loop(e)) {
            if (e->bl_len == 0 || e->stopping)
                break;
            sched = e->backlog[e->bl_head];
        } else {
            if (!engine_closed_loop_can_issue(e, 1))
                break;
            sched = now_off(e);
        }
        struct conn *c = engine_take_conn(e);
        if (!c)
            break;   /* slots are closing; their close callback fills again */
        if (engine_open_loop(e)) {
            backlog_pop(e);
            e->stats->late++;   /* counted when sent: late <= sent */
        }
        engine_start_on(e, c, sched);
        started++;
        if (e->phase == PHASE_DONE)
            return;
    }
    engine_check_phase(e);
}

/* ------------------------------------------------------------------ */
/* Results                                                              */

static void engine_error_window(struct engine *e, int failed)
{
    const struct run_config *cfg = e->cfg;
    if (cfg->stop_error_rate <= 0)
        return;
    if (e->win_n == ERR_WINDOW)
        e->win_err -= e->win[e->win_pos];
    else
        e->win_n++;
    e->win[e->win_pos] = (uint8_t)failed;
    e->win_err += (uint32_t)failed;
    e->win_pos = (e->win_pos + 1) % ERR_WINDOW;
    if (e->win_n >= ERR_WINDOW_MIN && !e->stopping &&
        (double)e->win_err / e->win_n > cfg->stop_error_rate) {
        e->stopping = 1;
        if (cfg->share)
            atomic_store(&cfg->share->stop, 1);
        snprintf(e->stats->stop_reason, sizeof e->stats->stop_reason, "error-rate");
    }
}

/* A request has finished (or never started): its record goes to the
 * statistics and the per-request outputs, and it leaves the admission
 * count. */
static void engine_request_done(struct engine *e, struct conn *c)
{
    struct req_record *r = &c->rec;
    struct workload *w = e->cfg->workload;
    struct tokenizer *tok = w ? workload_tokenizer(w) : NULL;
    /* Output tokens: the server's count, else the tokenizer's, else the
     * number of content events (docs/metrics.md); --force-tokenizer puts
     * the tokenizer first. */
    if (tok && !c->text_overflow && r->err == ERR_NONE)
        r->local_tokens = tokenizer_count(tok, c->text ? c->text : "", c->text_len);
    if (r->local_tokens >= 0 && (r->server_tokens < 0 || workload_force_tokenizer(w))) {
        r->out_tokens = r->local_tokens;
        r->tok_src = TOK_TOKENIZER;
    } else if (r->server_tokens >= 0) {
        r->out_tokens = r->server_tokens;
        r->tok_src = TOK_SERVER;
    } else {
        r->out_tokens = (int64_t)r->events;
        r->tok_src = TOK_CHUNKS;
    }
    req_record_reasoning(r);
    if (w && r->in_tokens < 0)
        r->in_tokens = workload_prompt_tokens(w, c->user);
    if (!e->cfg->stream) {
        /* A body that arrives whole has no first token and no gaps: its one
         * event is the end, so TTFT, ITL and TPOT are absent, not E2E. */
        r->first_ns = r->last_ns = 0;
        r->t_first_reasoning = r->t_first_output = 0;
        r->ev_n = 0;
    }
    if (w && r->err == ERR_NONE && e->env.collect_text)
        workload_turn_done(w, c->user, c->text ? c->text : "", c->text_len);
    if (r->err == ERR_ABORTED) {
        /* Cut off by the user, not failed by the server: kept out of the
         * error rate, still written to the per-request outputs. */
        e->stats->errors[ERR_ABORTED]++;
        if (!r->warmup && e->stats->slo.n)
            e->stats->slo_tally.cut++;     /* cut off in flight: not judged */
    } else {
        run_stats_add(e->stats, r);
        if (!r->warmup) {
            e->stats->end_ns = uv_hrtime();
            engine_error_window(e, r->err != ERR_NONE);
        }
    }
    if (e->hooks && e->hooks->on_record)
        e->hooks->on_record(e->hooks->ud, r, e->env.t0);
    assert(e->inflight > 0);
    e->inflight--;
}

/* ---- what the connections report (struct conn_events) ---- */

static void on_conn_done(void *ud, struct conn *c, int keep)
{
    struct engine *e = ud;
    /* Record first: the next request may reuse this slot's record. */
    engine_request_done(e, c);
    if (keep)
        engine_pool(e, c);
    engine_fill(e);
}

static void on_conn_closed(void *ud, struct conn *c)
{
    struct engine *e = ud;
    /* Back on the free stack (it has room for every slot; a slot is on it
     * at most once because it is taken off before it connects). */
    assert(e->nfree < e->nconns);
    e->free_slots[e->nfree++] = c->slot;
    if (e->phase != PHASE_DONE)
        engine_fill(e);
}

static void on_conn_lost(void *ud, struct conn *c)
{
    engine_unpool(ud, c);
}

/* c's request holds as many event times as it may: the raw writer takes
 * them before they leave memory. */
static void on_conn_events(void *ud, struct conn *c)
{
    struct engine *e = ud;
    if (e->hooks && e->hooks->on_events)
        e->hooks->on_events(e->hooks->ud, &c->rec);
}

/* ------------------------------------------------------------------ */
/* Timers: open-loop arrivals, ramp-up, the end of a timed run.         */

static void on_tick(uv_timer_t *t);

static void engine_arm_tick(struct engine *e)
{
    const struct run_config *cfg = e->cfg;
    uint64_t now = now_off(e);
    uint64_t next = UINT64_MAX;
    if (engine_open_loop(e) && !engine_arrivals_over(e))
        next = e->next_arrival;
    if (!engine_open_loop(e) && cfg->ramp_up_ns && e->cap < e->conc) {
        uint64_t step = cfg->ramp_up_ns / e->conc;
        uint64_t at = step * e->cap;
        if (at < next)
            next = at;
    }
    if (cfg->duration_ns && !e->stopping && now < cfg->duration_ns && cfg->duration_ns < next)
        next = cfg->duration_ns;
    if (next == UINT64_MAX || e->phase != PHASE_MEASURE) {
        uv_timer_stop(&e->tick);
        return;
    }
    /* Round up: an arrival is never sent before its scheduled time. */
    uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 0;
    uv_timer_start(&e->tick, on_tick, ms, 0);
}

static void on_tick(uv_timer_t *t)
{
    struct engine *e = t->data;
    const struct run_config *cfg = e->cfg;
    if (e->phase != PHASE_MEASURE)
        return;
    uint64_t now = now_off(e);
    if (engine_open_loop(e)) {
        /* Every arrival that is due: sent now if the cap allows, else queued
         * and counted late.  None is dropped. */
        while (!engine_arrivals_over(e) && e->next_arrival <= now) {
            uint64_t sched = e->next_arrival;
            uint64_t k = e->arrivals++;
            e->next_arrival = schedule_next(&e->sched);
            if (k % e->shard_n != e->shard_i)
                continue;   /* another shard's */
            e->own_arrivals++;
            e->stats->arrival_last_ns = sched;
            struct conn *c = e->inflight < e->cap && e->bl_len == 0 ? engine_take_conn(e) : NULL;
            if (c) {
                engine_start_on(e, c, sched);
            } else {
                backlog_push(e, sched);
            }
        }
    } else if (cfg->ramp_up_ns && e->cap < e->conc) {
        uint64_t c = (uint64_t)ceil((double)e->conc * now / cfg->ramp_up_ns);
        e->cap = c >= e->conc ? e->conc : (c < 1 ? 1 : (uint32_t)c);
    }
    if (cfg->duration_ns && now >= cfg->duration_ns && !e->stopping) {
        e->stopping = 1;
        snprintf(e->stats->stop_reason, sizeof e->stats->stop_reason, "duration");
    }
    engine_fill(e);
    if (e->phase == PHASE_MEASURE)
        engine_arm_tick(e);
}

/* Self-check: how late a 10 ms timer fires is how long the loop was busy
 * elsewhere; the busy fraction comes from libuv's idle-time metric. */
static void on_lag(uv_timer_t *t)
{
    struct engine *e = t->data;
    uint64_t now = uv_hrtime();
    if (e->lag_expected && now > e->lag_expected)
        hist_record(e->lag_hist, now - e->lag_expected);
    else if (e->lag_expected)
        hist_record(e->lag_hist, 0);
    e->lag_expected = now + LAG_TICK_MS * 1000000ull;
}

/* Whole seconds for the progress line ("0 s", "42 s", "3m 05s"): a
 * countdown in milliseconds jumps between units ("1000 ms", "0 ns") every
 * half second.  The time left rounds up, so "0 s" means done. */
static const char *progress_secs(double s, int up, char *buf, size_t cap)
{
    double w = s <= 0 ? 0 : up ? ceil(s - 1e-9) : floor(s);
    if (w < 60)
        snprintf(buf, cap, "%.0f s", w);
    else
        snprintf(buf, cap, "%.0fm %02.0fs", floor(w / 60), fmod(w, 60));
    return buf;
}

static void on_progress(uv_timer_t *t)
{
    struct engine *e = t->data;
    const struct run_stats *s = e->stats;
    if (e->phase != PHASE_MEASURE && e->phase != PHASE_DRAIN) {
        fprintf(stderr, "\r\033[Kwarm-up: %llu requests done", (unsigned long long)s->warmup_requests);
        return;
    }
    double el = (uv_hrtime() - e->env.t0) / 1e9;
    double rate = el > 0 ? s->requests / el : 0;
    char eta[32] = "-", elb[32];
    const struct run_config *cfg = e->cfg;
    if (e->requests && rate > 0)
        progress_secs((e->requests - s->requests) / rate, 1, eta, sizeof eta);
    else if (cfg->duration_ns)
        progress_secs(cfg->duration_ns / 1e9 - el, 1, eta, sizeof eta);
    if (e->requests)
        fprintf(stderr, "\r\033[K%llu/%llu done  %.1f req/s  %s  ETA %s  errors %llu  in flight %llu",
                (unsigned long long)s->requests, (unsigned long long)e->requests, rate,
                progress_secs(el, 0, elb, sizeof elb), eta, (unsigned long long)s->failed,
                (unsigned long long)e->inflight);
    else
        fprintf(stderr, "\r\033[K%llu done  %.1f req/s  %s  left %s  errors %llu  in flight %llu",
                (unsigned long long)s->requests, rate, progress_secs(el, 0, elb, sizeof elb), eta,
                (unsigned long long)s->failed, (unsigned long long)e->inflight);
}

/* ------------------------------------------------------------------ */
/* Ctrl-C: the first stops admitting and gives in-flight requests a grace
 * period; the second (or the end of the grace) aborts them.  Either way
 * the outputs are written by the caller from what was measured.        */

static void engine_abort_all(struct engine *e)
{
    if (e->env.aborting)
        return;
    e->env.aborting = 1;
    for (uint32_t i = 0; i < e->nconns; i++)
        conn_abort(&e->conns[i]);
    engine_check_phase(e);
}

static void on_grace(uv_timer_t *t)
{
    engine_abort_all(t->data);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct engine *e = h->data;
    g_interrupted = 1;
    e->stats->interrupted = 1;
    snprintf(e->stats->stop_reason, sizeof e->stats->stop_reason, "interrupted");
    if (e->stopping && uv_is_active((uv_handle_t *)&e->grace)) {
        fprintf(stderr, "%s again: aborting requests in flight\n", signum == SIGINT ? "Ctrl-C" : "SIGTERM");
        engine_abort_all(e);
        return;
    }
    e->stopping = 1;
    e->bl_len = 0;
    {   /* said even with --quiet: the user needs to know a second Ctrl-C aborts */
        char g[32];
        fprintf(stderr, "%s%s: no new requests; waiting up to %s for %llu in flight "
                "(press Ctrl-C again to abort them)\n", e->cfg->progress ? "\n" : "", signum == SIGINT ? "interrupted" : "terminated",
                units_fmt_seconds(e->cfg->grace_ns / 1e9, g, sizeof g), (unsigned long long)e->inflight);
    }
    if (e->phase == PHASE_WARMUP)
        engine_abort_all(e);
    uv_timer_start(&e->grace, on_grace, e->cfg->grace_ns / 1000000, 0);
    if (e->phase == PHASE_MEASURE)
        e->phase = PHASE_DRAIN;
    engine_check_phase(e);
}

/* ------------------------------------------------------------------ */
/* Observability: what a scrape or a push shows, from the live counters.
 * A pass over the histograms' buckets, between two socket reads.       */

void engine_live_final(const struct run_config *cfg, const struct run_stats *s,
                       const struct engine_hooks *h, const struct obs_monitor *mon,
                       struct obs_live *l)
{
    obs_live_init(l);
    l->labels = (struct obs_labels){ h->target_label, cfg->model, api_name(cfg->api), h->run_id };
    obs_live_from_stats(l, s);
    l->concurrency = cfg->concurrency;
    l->start_unix_s = s->start_wall_ns / 1e9;
    l->finished = 1;
    l->elapsed_s = (s->end_ns - s->start_ns) / 1e9;
    l->loop_busy_frac = s->loop_busy_frac;
    l->loop_lag_max_s = s->loop_lag_max_ns / 1e9;
    l->loop_lag_p99_s = s->loop_lag_p99_ns / 1e9;
    l->sweep_param = h->sweep_param;
    l->sweep_level = h->sweep_level;
    l->sweep_index = h->sweep_index;
    l->monitor = mon;
}

/* While the run goes: the final values' fields, then what is still moving. */
static void engine_live(struct engine *e, struct obs_live *l)
{
    engine_live_final(e->cfg, e->stats, e->hooks, e->mon, l);
    if (e->phase == PHASE_DONE)
        return;
    l->finished = 0;
    l->in_flight = e->phase == PHASE_WARMUP ? 0 : e->inflight;
    l->queued = e->bl_len;
    l->elapsed_s = e->phase == PHASE_WARMUP ? 0 : (uv_hrtime() - e->env.t0) / 1e9;
    l->loop_busy_frac = NAN;
    l->loop_lag_max_s = l->loop_lag_p99_s = NAN;
    if (hist_count(e->lag_hist)) {
        l->loop_lag_max_s = hist_max(e->lag_hist) / 1e9;
        l->loop_lag_p99_s = hist_percentile(e->lag_hist, 99) / 1e9;
    }
}

static int engine_expo(void *ud, FILE *out, enum obs_format fmt)
{
    struct obs_live l;
    engine_live(ud, &l);
    return obs_expo_write(out, &l, fmt);
}

/* A push names the group by its grouping labels: the body must not repeat
 * them. */
static int engine_expo_push(void *ud, FILE *out, enum obs_format fmt)
{
    struct engine *e = ud;
    struct obs_live l;
    engine_live(e, &l);
    obs_push_strip_labels(e->hooks->push, &l.labels);
    return obs_expo_write(out, &l, fmt);
}

/* Before the run: the listener (a bind failure stops the run before any
 * request), the pusher and the monitor.  0, or an LL_ status with err. */
static int engine_observe_start(struct engine *e, char *err, size_t errcap)
{
    const struct engine_hooks *h = e->hooks;
    if (h->prometheus) {
        e->http = obs_http_start(&e->loop, h->prometheus, engine_expo, e, err, errcap);
        if (!e->http)
            return LL_EUNAVAIL;
    }
    if (h->push && h->push_interval_ns) {
        e->pusher = obs_pusher_start(&e->loop, h->push, h->push_interval_ns / 1000000,
                                     engine_expo_push, e);
        if (!e->pusher)
            goto oom;
    }
    if (h->monitor && h->monitor->sources) {
        e->mon = obs_monitor_new(&e->loop, h->monitor);
        if (!e->mon)
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errcap, "out of memory");
    return LL_ENOMEM;
}

/* Before the loop's handles are closed: theirs close in its last run. */
static void engine_observe_stop(struct engine *e)
{
    obs_http_stop(e->http);
    obs_pusher_stop(e->pusher);
    if (e->mon)
        obs_monitor_stop(e->mon);
    e->http = NULL;
    e->pusher = NULL;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */

static void engine_begin_measure(struct engine *e)
{
    const struct run_config *cfg = e->cfg;
    e->phase = PHASE_MEASURE;
    e->env.t0 = uv_hrtime();
    e->stats->start_ns = e->stats->end_ns = e->env.t0;
    e->stats->t0_wall_ns = util_wall_ns();
    e->issued = 0;
    e->cap = e->conc;
    e->idle_base = uv_metrics_idle_time(&e->loop);
    hist_reset(e->lag_hist);
    e->env.reads = e->env.reads_stamped = 0;
    if (e->mon)
        obs_monitor_start(e->mon);
    if (cfg->rate > 0) {
        schedule_init(&e->sched, cfg->arrival, cfg->rate, cfg->burstiness, cfg->seed, cfg->ramp_up_ns);
        e->next_arrival = schedule_next(&e->sched);
    } else if (cfg->ramp_up_ns) {
        e->cap = 1;
    }
    engine_arm_tick(e);
    if (engine_open_loop(e))
        on_tick(&e->tick);
    else
        engine_fill(e);
}

static void engine_done(struct engine *e)
{
    if (e->phase == PHASE_DONE)
        return;
    e->phase = PHASE_DONE;
    e->env.ended = 1;
    struct run_stats *s = e->stats;
    if (s->start_ns == 0)
        s->start_ns = s->end_ns = uv_hrtime();
    uint64_t elapsed = uv_hrtime() - s->start_ns;
    uint64_t idle = uv_metrics_idle_time(&e->loop) - e->idle_base;
    s->loop_busy_frac = elapsed ? 1.0 - (double)idle / (double)elapsed : 0;
    if (s->loop_busy_frac < 0)
        s->loop_busy_frac = 0;
    s->loop_lag_max_ns = hist_max(e->lag_hist);
    s->loop_lag_p99_ns = hist_percentile(e->lag_hist, 99);
    /* Open loop: what the backlog still held was never sent. */
    s->arrivals = e->own_arrivals;
    s->unsent = e->own_arrivals > e->issued ? e->own_arrivals - e->issued : 0;
    s->rx_kernel = e->env.rx_kernel;
    s->reads = e->env.reads;
    s->reads_stamped = e->env.reads_stamped;
    if (!s->stop_reason[0])
        snprintf(s->stop_reason, sizeof s->stop_reason, "completed");
    uv_stop(&e->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Raises the descriptor limit to what the concurrency needs, or says why
 * it cannot before anything starts. */
static int engine_raise_nofile(uint32_t conc, char *err, size_t errcap)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)conc + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        snprintf(err, errcap, "-c %u needs %llu file descriptors but the hard limit is %llu; "
                 "raise it (ulimit -Hn, /etc/security/limits.conf) or lower -c",
                 conc, (unsigned long long)need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        snprintf(err, errcap, "-c %u needs %llu file descriptors and the limit could not be raised: %s",
                 conc, (unsigned long long)need, strerror(errno));
        return -1;
    }
    return 0;
}

/* --start-at: every shard begins its first phase at the same wall-clock
 * instant.  Everything that can fail (resolving, the preflight connect)
 * is done before.  -1 when a signal (Ctrl-C) ended the wait: nothing is
 * started then. */
static int engine_wait_start(const struct run_config *cfg)
{
    struct timespec ts;
    if (cfg->start_at_ns <= 0)
        return 0;
    ts.tv_sec = (time_t)(cfg->start_at_ns / 1000000000);
    ts.tv_nsec = (long)(cfg->start_at_ns % 1000000000);
    return clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == 0 ? 0 : -1;
}

static void engine_request_setup(struct engine *e)
{
    const struct run_config *cfg = e->cfg;
    struct api_request *r = &e->req;
    memset(r, 0, sizeof *r);
    r->model = cfg->model;
    r->prompt = cfg->prompt;
    r->system = cfg->system;
    r->max_tokens = cfg->max_tokens;
    r->min_tokens = 0;
    r->temperature = cfg->temperature;
    r->seed = cfg->sampling_seed;
    r->stream = cfg->stream;
    r->include_usage = cfg->stream;
    e->env.collect_text = cfg->workload && (workload_tokenizer(cfg->workload) || cfg->multi_turn);
    const char *accept = cfg->stream ? api_accept(e->tgt.api) : "application/json";
    assert(accept);   /* target_resolve settled the API: it has a framing */
    int n = target_request_head(&e->tgt, "POST", e->tgt.path, accept, 1, e->hdr_fixed, sizeof e->hdr_fixed);
    e->hdr_fixed_len = n > 0 ? (size_t)n : 0;
}

/* LLMLOAD_NO_FAST_PATH=1 (any value but "" and "0") sends every event
 * through the full parse (docs/decoders.md): read once per run. */
static int engine_fast_path(void)
{
    const char *v = getenv("LLMLOAD_NO_FAST_PATH");
    return !v || !*v || strcmp(v, "0") == 0;
}

/* What the connections see of the engine (conn.h). */
static void engine_env_setup(struct engine *e)
{
    const struct run_config *cfg = e->cfg;
    struct conn_env *env = &e->env;

    env->loop = &e->loop;
    env->addr = (const struct sockaddr *)&e->tgt.addr;
    if (e->tgt.via) {
        env->proxy = &e->tgt.proxy;
        env->proxy_target = e->tgt.host;
    }
    if (e->tgt.via == PROXY_TUNNEL) {
        env->tunnel_req = e->tunnel_req;
        env->tunnel_len = proxy_connect_request(&e->tgt.proxy, e->tgt.host, e->tunnel_req, sizeof e->tunnel_req);
    }
    env->api = e->tgt.api;
    env->tls = e->tls;
    env->tls_host = e->tgt.hostname;
    env->connect_timeout_ns = cfg->connect_timeout_ns;
    env->ttft_timeout_ns = cfg->ttft_timeout_ns;
    env->idle_timeout_ns = cfg->idle_timeout_ns;
    env->request_timeout_ns = cfg->request_timeout_ns;
    env->fast_path = engine_fast_path();
    env->rbuf = e->rbuf;
    env->rbuf_len = sizeof e->rbuf;
    env->toks = e->toks;
    env->ntoks = ENGINE_JSON_TOKENS;
    env->overlong_factor = cfg->overlong_factor;
    env->local = cfg->local_addrs;
    env->nlocal = cfg->n_local_addrs;
    env->on = (struct conn_events){ .done = on_conn_done, .closed = on_conn_closed,
                                    .lost = on_conn_lost, .events = on_conn_events };
    env->ud = e;
}

int engine_run(const struct run_config *cfg, struct run_stats *stats,
               const struct engine_hooks *hooks, char *err, size_t errcap)
{
    int rc, loop_ok = 0;
    uint32_t shard_n = cfg->shard_count ? cfg->shard_count : 1;
    uint32_t conc = (uint32_t)config_shard_part(cfg->concurrency, cfg->shard_index, shard_n);
    if (conc == 0 || cfg->shard_index >= shard_n) {
        snprintf(err, errcap, "shard %u of %u has no connection: -c %u is less than the shards",
                 cfg->shard_index, shard_n, cfg->concurrency);
        return LL_EUSAGE;
    }
    if (engine_raise_nofile(conc, err, errcap) < 0)
        return LL_EUSAGE;
    struct engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errcap, "out of memory");
        return LL_ENOMEM;
    }
    e->shard_i = cfg->shard_index;
    e->shard_n = shard_n;
    e->conc = conc;
    e->requests = config_shard_part(cfg->requests, e->shard_i, shard_n);
    e->warmup_requests = config_shard_part(cfg->warmup_requests, e->shard_i, shard_n);
    e->cfg = cfg;
    e->stats = stats;
    stats->slo = cfg->slo;      /* each finished request is judged against it */
    e->hooks = hooks;
    /* Asked for first: the kernel switches stamping on a moment later,
     * and the preflight connect below gives it that moment. */
    e->rx_hold = -1;
    if (cfg->rx_clock == RXCLOCK_KERNEL && rxstamp_supported()) {
        e->env.rx_kernel = 1;
        e->rx_hold = rxstamp_hold();
    }
    /* target_resolve's -1 and -2 are LL_EUSAGE and LL_EUNAVAIL. */
    struct target_net net = { .api_key = cfg->api_key, .headers = cfg->headers, .proxy = cfg->proxy,
                              .proxy_tunnel = cfg->proxy_tunnel, .tls = &cfg->tls };
    rc = target_resolve_net(&e->tgt, cfg->url, cfg->api, &net, cfg->connect_timeout_ns, err, errcap);
    if (rc < 0)
        goto out;
    /* One context for the run: its trust store is read once, and every
     * slot's saved session belongs to it. */
    struct tls_opts topts = cfg->tls;
    topts.streams = conc;
    topts.fast_read = 1;   /* conn.c reads into tls_ctx_buf: big enough */
    if (e->tgt.https && !(e->tls = tls_ctx_new(&topts, err, errcap))) {
        rc = LL_EUSAGE;
        goto out;
    }
    /* A local address of the other family cannot reach the server: every
     * connection bound to it would fail. */
    for (uint32_t i = 0; i < cfg->n_local_addrs; i++)
        if (cfg->local_addrs[i].ss_family != e->tgt.addr.ss_family) {
            snprintf(err, errcap, "--local-addrs: local address %u is %s but the server's address is %s",
                     i + 1, cfg->local_addrs[i].ss_family == AF_INET6 ? "IPv6" : "IPv4",
                     e->tgt.addr.ss_family == AF_INET6 ? "IPv6" : "IPv4");
            rc = LL_EUSAGE;
            goto out;
        }
    if (strlen(e->tgt.hostname) + strlen(e->tgt.path) > 700 ||
        (cfg->api_key && strlen(cfg->api_key) > 200)) {
        snprintf(err, errcap, "URL or API key too long");
        rc = LL_EUSAGE;
        goto out;
    }
    /* The run's content depends only on its seed, whatever the workload
     * served before (run --repeat, sweep levels). */
    if (cfg->workload && workload_reseed(cfg->workload, cfg->seed) < 0) {
        snprintf(err, errcap, "out of memory");
        rc = LL_ENOMEM;
        goto out;
    }
    engine_request_setup(e);
    if (!e->hdr_fixed_len) {
        snprintf(err, errcap, "the request's headers are too long");
        rc = LL_EUSAGE;
        goto out;
    }
    engine_env_setup(e);
    e->body_cap = 16384;
    e->body = malloc(e->body_cap);
    e->nconns = conc;
    e->conns = calloc(e->nconns, sizeof *e->conns);
    e->lag_hist = hist_new(3600000000000ull);
    e->free_slots = malloc(e->nconns * sizeof *e->free_slots);
    loop_ok = e->body && e->conns && e->lag_hist && e->free_slots && uv_loop_init(&e->loop) == 0;
    if (!loop_ok) {
        snprintf(err, errcap, "out of memory");
        rc = LL_ENOMEM;
        goto out;
    }
    uv_loop_configure(&e->loop, UV_METRICS_IDLE_TIME);
    if (e->hooks && (rc = engine_observe_start(e, err, errcap)) < 0)
        goto out;
    for (uint32_t i = 0; i < e->nconns; i++) {
        if (conn_init(&e->conns[i], &e->env, i) < 0) {
            snprintf(err, errcap, "cannot set up connection %u", i);
            rc = LL_ENOMEM;
            goto out;
        }
    }
    /* Lowest slot on top, so the first requests take slots 0, 1, 2 ... */
    for (uint32_t i = 0; i < e->nconns; i++)
        e->free_slots[i] = e->nconns - 1 - i;
    e->nfree = e->nconns;
    uv_timer_init(&e->loop, &e->tick);
    uv_idle_init(&e->loop, &e->more);
    e->more.data = e;
    uv_timer_init(&e->loop, &e->lag);
    uv_timer_init(&e->loop, &e->progress);
    uv_timer_init(&e->loop, &e->grace);
    e->tick.data = e->lag.data = e->progress.data = e->grace.data = e;
    uv_unref((uv_handle_t *)&e->lag);
    uv_unref((uv_handle_t *)&e->progress);
    uv_signal_init(&e->loop, &e->sigint);
    uv_signal_init(&e->loop, &e->sigterm);
    e->sigint.data = e->sigterm.data = e;
    uv_signal_start(&e->sigint, on_signal, SIGINT);
    uv_signal_start(&e->sigterm, on_signal, SIGTERM);
    uv_unref((uv_handle_t *)&e->sigint);
    uv_unref((uv_handle_t *)&e->sigterm);
    uv_timer_start(&e->lag, on_lag, LAG_TICK_MS, LAG_TICK_MS);
    if (cfg->progress)
        uv_timer_start(&e->progress, on_progress, PROGRESS_MS, PROGRESS_MS);

    stats->stop_reason[0] = 0;
    e->cap = conc;
    if (g_interrupted) {
        /* A sweep that was interrupted between levels runs nothing more. */
        e->stopping = 1;
        stats->interrupted = 1;
    }
    if (engine_wait_start(cfg) < 0 && !e->stopping) {
        e->stopping = 1;
        stats->interrupted = 1;
        snprintf(stats->stop_reason, sizeof stats->stop_reason, "interrupted");
    }
    if (e->warmup_requests || cfg->warmup_ns) {
        e->phase = PHASE_WARMUP;
        e->warmup_t0 = e->env.t0 = uv_hrtime();
        engine_fill(e);
    } else {
        engine_begin_measure(e);
    }
    if (e->phase != PHASE_DONE)
        uv_run(&e->loop, UV_RUN_DEFAULT);
    if (e->phase != PHASE_DONE)
        engine_done(e);
    if (cfg->progress)
        fprintf(stderr, "\r\033[K");
    rc = LL_OK;

    /* Close every handle, let the close callbacks run, then free. */
    for (uint32_t i = 0; i < e->nconns; i++) {
        conn_close(&e->conns[i]);
        conn_release(&e->conns[i]);
    }
out:
    if (loop_ok) {
        engine_observe_stop(e);
        uv_walk(&e->loop, close_walk, NULL);
        while (uv_run(&e->loop, UV_RUN_DEFAULT) != 0)
            ;
        uv_loop_close(&e->loop);
        if (g_catch)   /* libuv restored the default handlers: catch again */
            engine_catch_signals();
    }
    for (uint32_t i = 0; e->conns && i < e->nconns; i++)
        conn_free_buffers(&e->conns[i]);
    free(e->conns);
    free(e->free_slots);
    free(e->body);
    free(e->backlog);
    hist_free(e->lag_hist);
    rxstamp_release(e->rx_hold);
    tls_ctx_free(e->tls);
    if (e->mon && hooks && hooks->monitor_out && rc == LL_OK)
        *hooks->monitor_out = e->mon;
    else
        obs_monitor_free(e->mon);
    free(e);
    return rc;
}
