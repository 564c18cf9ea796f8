/* Run aggregates: how each finished request feeds the counters and
 * histograms.  The definitions are docs/metrics.md; this file applies them. */
#include "result.h"
#include "rng.h"
#include "secret.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

const char *err_class_name(enum err_class c)
{
    static const char *const names[ERR__COUNT] = {
        [ERR_NONE] = "none",
        [ERR_CONNECT] = "connect",
        [ERR_PROXY] = "proxy",
        [ERR_PROXY_AUTH] = "proxy_auth",
        [ERR_TLS_HANDSHAKE] = "tls_handshake",
        [ERR_TLS_VERIFY] = "tls_verify",
        [ERR_WRITE] = "write",
        [ERR_READ] = "read",
        [ERR_CLOSED] = "closed",
        [ERR_STATUS] = "status",
        [ERR_RATE_LIMITED] = "rate_limited",
        [ERR_STREAM] = "stream",
        [ERR_PROTOCOL] = "protocol",
        [ERR_EMPTY] = "empty",
        [ERR_TRUNCATED] = "truncated",
        [ERR_OVERLONG] = "overlong",
        [ERR_TIMEOUT_CONNECT] = "timeout_connect",
        [ERR_TIMEOUT_TTFT] = "timeout_ttft",
        [ERR_TIMEOUT_IDLE] = "timeout_idle",
        [ERR_TIMEOUT_TOTAL] = "timeout_total",
        [ERR_ABORTED] = "aborted",
    };
    return (unsigned)c < ERR__COUNT ? names[c] : "unknown";
}

const char *tok_source_name(enum tok_source s)
{
    static const char *const names[] = { "none", "server", "tokenizer", "chunks" };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

size_t result_text_clean(char *dst, size_t cap, const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t len = strlen(src), o = 0;
    for (size_t i = 0; i < len && o + 1 < cap;) {
        size_t n = utf8_decode(src + i, len - i, NULL);
        if (n == 0) {
            dst[o++] = '?';
            i++;
        } else if (n == 1) {
            dst[o++] = (p[i] < 0x20 || p[i] == 0x7F) ? ' ' : (char)p[i];
            i++;
        } else {
            if (o + n >= cap)
                break;
            memmove(dst + o, p + i, n);   /* dst may be src */
            o += n;
            i += n;
        }
    }
    dst[o] = '\0';
    /* Every server text passes here on its way into a record: what it
     * echoes of a secret (the API key in a 401 body) stops here. */
    return secret_redact(dst);
}

/* The histograms of a run_stats and their names in the result document,
 * so init, free, merge and the document cannot drift apart. */
#define HIST_TAB(X) \
    X(ttft, "ttft_ns", NS) X(itl, "itl_ns", NS) X(tpot, "tpot_ns", NS) X(e2e, "e2e_ns", NS) \
    X(ttfb, "ttfb_ns", NS) X(connect, "connect_ns", NS) X(tls_handshake, "tls_handshake_ns", NS) \
    X(queue, "queue_time_ns", NS) X(ttft_sched, "ttft_from_schedule_ns", NS) \
    X(e2e_sched, "e2e_from_schedule_ns", NS) X(request_tps, "request_tps_milli", MILLI) \
    X(tokens_per_event, "tokens_per_event_milli", MILLI) \
    X(srv_prefill, "server_prefill_ns", NS) X(srv_decode, "server_decode_per_token_ns", NS) \
    X(srv_load, "server_load_ns", NS) X(ttft_minus_prefill, "ttft_minus_prefill_ns", NS) \
    X(srv_cached, "server_cached_prompt_tokens", COUNT) \
    X(ttft_server, "ttft_server_ns", NS) X(ttft_rest, "ttft_rest_ns", NS) \
    X(ttft_reasoning, "ttft_reasoning_ns", NS) X(ttft_output, "ttft_output_ns", NS) \
    X(prompt_tokens, "prompt_tokens", COUNT) X(prompt_chars, "prompt_chars", COUNT) \
    X(max_tokens, "max_tokens", COUNT)

static const struct { size_t off; const char *name; uint64_t highest; } hist_tab[] = {
#define X(field, name, top) { offsetof(struct run_stats, field), name, RESULT_HIST_##top##_MAX },
    HIST_TAB(X)
#undef X
};
#define HIST_N (sizeof hist_tab / sizeof hist_tab[0])

static struct hist **stats_hists(struct run_stats *s, size_t i, uint64_t *highest)
{
    if (i >= HIST_N)
        return NULL;
    if (highest)
        *highest = hist_tab[i].highest;
    return (struct hist **)((char *)s + hist_tab[i].off);
}

const char *run_stats_hist_name(size_t i)
{
    return i < HIST_N ? hist_tab[i].name : NULL;
}

struct hist *run_stats_hist(const struct run_stats *s, size_t i)
{
    return i < HIST_N ? *(struct hist *const *)((const char *)s + hist_tab[i].off) : NULL;
}

/* The UTC second the run started and 32 random bits: readable, sortable,
 * and distinct for runs started in the same second. */
static void run_id_new(char *dst, size_t cap, int64_t wall_ns)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        uint64_t x = (uint64_t)wall_ns ^ ((uint64_t)getpid() << 32);
        r = (uint32_t)rng_mix64(x);
    }
    time_t t = (time_t)(wall_ns / 1000000000);
    struct tm tm;
    char when[20];
    if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm))
        snprintf(when, sizeof when, "run");
    snprintf(dst, cap, "%s-%08x", when, (unsigned)r);
}

int run_stats_init(struct run_stats *s)
{
    struct hist **h;
    uint64_t highest;
    struct timespec ts;
    memset(s, 0, sizeof *s);
    for (size_t i = 0; (h = stats_hists(s, i, &highest)); i++) {
        if (!(*h = hist_new(highest))) {
            run_stats_free(s);
            return -1;
        }
    }
    if (req_samples_init(&s->samples) < 0) {
        run_stats_free(s);
        return -1;
    }
    srv_clock_init(&s->server_clock);
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
        s->start_wall_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    strcpy(s->stop_reason, "completed");
    run_id_new(s->run_id, sizeof s->run_id, s->start_wall_ns);
    return 0;
}

void run_stats_free(struct run_stats *s)
{
    struct hist **h;
    for (size_t i = 0; (h = stats_hists(s, i, NULL)); i++) {
        hist_free(*h);
        *h = NULL;
    }
    req_samples_free(&s->samples);
}

/* b - a for offsets that must be ordered; a broken order (a record the
 * engine never filled in) gives -1 so nothing wrong is recorded. */
static int64_t span(uint64_t a, uint64_t b)
{
    return b >= a ? (int64_t)(b - a) : -1;
}

/* Sums that saturate instead of wrapping. */
static void add_u64(uint64_t *sum, uint64_t v)
{
    *sum = *sum > UINT64_MAX - v ? UINT64_MAX : *sum + v;
}

static void add_i64(int64_t *sum, int64_t v)
{
    *sum = *sum > INT64_MAX - v ? INT64_MAX : *sum + v;
}

static void add_failure(struct run_stats *s, const struct req_record *r)
{
    enum err_class c = (unsigned)r->err < ERR__COUNT ? r->err : ERR_PROTOCOL;
    s->failed++;
    s->errors[c]++;
    /* One sample per class, the first: later ones are nearly always the
     * same message, and printing each would drown the summary. */
    if (!s->err_sample[c][0] && r->errmsg[0]) {
        char msg[sizeof r->errmsg + 1];
        size_t n = strnlen(r->errmsg, sizeof r->errmsg);
        memcpy(msg, r->errmsg, n);
        msg[n] = '\0';
        result_text_clean(s->err_sample[c], RESULT_ERR_SAMPLE, msg);
    }
}

/* The server's count against the local tokenizer's, relative to the
 * server's (a server count of 0 is taken as 1), and replies shorter than
 * the exact length asked for. */
static void add_token_check(struct run_stats *s, const struct req_record *r)
{
    if (r->server_tokens >= 0 && r->local_tokens >= 0) {
        double d = fabs((double)(r->local_tokens - r->server_tokens)) /
                   (double)(r->server_tokens > 0 ? r->server_tokens : 1);
        s->tok_compared++;
        s->tok_differ += r->local_tokens != r->server_tokens;
        s->tok_diff_sum += d;
        if (d > s->tok_diff_max)
            s->tok_diff_max = d;
    }
    if (r->exact_tokens > 0 && r->out_tokens >= 0 && r->out_tokens < r->exact_tokens)
        s->short_outputs++;
    s->context_truncated += r->context_truncated != 0;
}

int64_t req_ttft_ns(const struct req_record *r)
{
    return r->first_ns ? span(r->start_ns, r->first_ns) : -1;
}

int64_t req_ttft_reasoning_ns(const struct req_record *r)
{
    return r->t_first_reasoning ? span(r->start_ns, r->t_first_reasoning) : -1;
}

int64_t req_ttft_output_ns(const struct req_record *r)
{
    return r->t_first_output ? span(r->start_ns, r->t_first_output) : -1;
}

int64_t req_answer_tokens(const struct req_record *r)
{
    if (r->out_tokens < 0)
        return -1;
    if (r->reasoning_tokens <= 0)
        return r->out_tokens;
    return r->out_tokens > r->reasoning_tokens ? r->out_tokens - r->reasoning_tokens : 0;
}

void req_record_reasoning(struct req_record *r)
{
    if (r->server_reasoning_tokens >= 0) {
        r->reasoning_tokens = r->server_reasoning_tokens;
        r->reasoning_src = TOK_SERVER;
    } else {
        /* No count and no reasoning seen: none, from no source. */
        r->reasoning_tokens = (int64_t)r->reasoning_events;
        r->reasoning_src = r->reasoning_events ? TOK_CHUNKS : TOK_NONE;
    }
}

int64_t req_ttft_server_ns(const struct req_record *r)
{
    if (r->prompt_eval_duration_ns < 0)
        return -1;
    return r->prompt_eval_duration_ns + (r->load_duration_ns > 0 ? r->load_duration_ns : 0);
}

int64_t req_ttft_rest_ns(const struct req_record *r)
{
    int64_t ttft = req_ttft_ns(r), srv = req_ttft_server_ns(r);
    return ttft < 0 || srv < 0 || ttft < srv ? -1 : ttft - srv;
}

int64_t req_tpot_ns(const struct req_record *r)
{
    int64_t e2e = span(r->start_ns, r->end_ns), ttft = req_ttft_ns(r);
    if (r->out_tokens <= 1 || ttft < 0 || e2e < ttft)
        return -1;
    return (int64_t)((double)(e2e - ttft) / (double)(r->out_tokens - 1) + 0.5);
}

int64_t req_ttfb_ns(const struct req_record *r)
{
    return r->byte_ns ? span(r->start_ns, r->byte_ns) : -1;
}

int64_t req_decode_per_token_ns(const struct req_record *r)
{
    if (r->eval_count <= 0 || r->eval_duration_ns < 0)
        return -1;
    return (int64_t)((double)r->eval_duration_ns / (double)r->eval_count + 0.5);
}

int64_t req_ttft_minus_prefill_ns(const struct req_record *r)
{
    int64_t ttft = req_ttft_ns(r);
    if (ttft < 0 || r->prompt_eval_duration_ns < 0 || ttft < r->prompt_eval_duration_ns)
        return -1;
    return ttft - r->prompt_eval_duration_ns;
}

/* Reasoning and tool calls: when each kind of output began, and how
 * much of the output was reasoning. */
static void add_reasoning(struct run_stats *s, const struct req_record *r)
{
    int64_t d;
    if ((d = req_ttft_reasoning_ns(r)) >= 0)
        hist_record(s->ttft_reasoning, (uint64_t)d);
    if ((d = req_ttft_output_ns(r)) >= 0)
        hist_record(s->ttft_output, (uint64_t)d);
    if (r->reasoning_tokens > 0) {
        add_u64(&s->reasoning_tokens, (uint64_t)r->reasoning_tokens);
        s->reasoning_requests++;
        s->reasoning_src_count[(unsigned)r->reasoning_src < 4 ? r->reasoning_src : TOK_NONE]++;
    }
    if (r->tool_calls > 0) {
        s->tool_call_requests++;
        add_u64(&s->tool_calls, r->tool_calls);
    }
}

/* The server's own timings, as it reported them. */
static void add_server_timings(struct run_stats *s, const struct req_record *r)
{
    int64_t d;
    if (r->eval_count >= 0 && r->eval_duration_ns > 0) {
        add_i64(&s->ollama_eval_count, r->eval_count);
        add_i64(&s->ollama_eval_duration_ns, r->eval_duration_ns);
    }
    if ((d = req_decode_per_token_ns(r)) >= 0)
        hist_record(s->srv_decode, (uint64_t)d);
    if (r->prompt_eval_duration_ns >= 0)
        hist_record(s->srv_prefill, (uint64_t)r->prompt_eval_duration_ns);
    if ((d = req_ttft_minus_prefill_ns(r)) >= 0)
        hist_record(s->ttft_minus_prefill, (uint64_t)d);
    /* The split only where both halves are known, so they add up to TTFT. */
    if ((d = req_ttft_rest_ns(r)) >= 0) {
        hist_record(s->ttft_server, (uint64_t)req_ttft_server_ns(r));
        hist_record(s->ttft_rest, (uint64_t)d);
    }
    if (r->load_duration_ns >= 0)
        hist_record(s->srv_load, (uint64_t)r->load_duration_ns);
    if (r->cached_tokens >= 0)
        hist_record(s->srv_cached, (uint64_t)r->cached_tokens);
}

void run_stats_add(struct run_stats *s, const struct req_record *r)
{
    if (r->warmup) {
        s->warmup_requests++;
        return;
    }
    s->requests++;
    req_samples_add(&s->samples, r);
    /* A measured request's offsets count from t0_wall_ns on the wall clock. */
    if (r->date_s && r->byte_ns && s->t0_wall_ns)
        srv_clock_add(&s->server_clock, r->date_s, s->t0_wall_ns + (int64_t)r->start_ns,
                      s->t0_wall_ns + (int64_t)r->byte_ns);
    if (r->start_ns > s->sent_last_ns)
        s->sent_last_ns = r->start_ns;
    if (r->retried)
        s->retries++;
    if (r->implausible)
        s->implausible++;
    /* A connection's setup counts whether or not its request then
     * succeeded: a slow handshake is not hidden by a later failure. */
    if (r->new_conn) {
        s->conns_opened++;
        hist_record(s->connect, r->connect_ns);
        if (r->tls_ns) {
            s->tls_handshakes++;
            s->tls_resumed += r->tls_resumed != 0;
            hist_record(s->tls_handshake, r->tls_ns);
        }
    }
    /* What was sent counts for every request, failed or not. */
    if (r->prompt_chars >= 0)
        hist_record(s->prompt_chars, (uint64_t)r->prompt_chars);
    if (r->max_tokens >= 0)
        hist_record(s->max_tokens, (uint64_t)r->max_tokens);
    else
        s->max_tokens_unset++;
    if (s->slo.n)
        slo_tally_add(&s->slo_tally, &s->slo, r, 0);
    if (r->err != ERR_NONE) {
        add_failure(s, r);
        return;
    }
    s->ok++;

    int64_t e2e = span(r->start_ns, r->end_ns);
    int64_t ttft = req_ttft_ns(r);
    if (e2e >= 0)
        hist_record(s->e2e, (uint64_t)e2e);
    if (ttft >= 0)
        hist_record(s->ttft, (uint64_t)ttft);
    int64_t ttfb = req_ttfb_ns(r);
    if (ttfb >= 0)
        hist_record(s->ttfb, (uint64_t)ttfb);
    /* ev_us[0] is the first event's offset from start (unless earlier
     * events were moved out); the rest are the gaps between successive
     * content events: the ITL samples. */
    for (size_t i = r->ev_spilled ? 0 : 1; i < r->ev_n; i++)
        hist_record(s->itl, (uint64_t)r->ev_us[i] * 1000u);
    if (r->ev_spilled && r->itl_spilled)
        hist_merge(s->itl, r->itl_spilled);

    int64_t d;
    if ((d = span(r->sched_ns, r->start_ns)) >= 0)
        hist_record(s->queue, (uint64_t)d);
    if (r->first_ns && (d = span(r->sched_ns, r->first_ns)) >= 0)
        hist_record(s->ttft_sched, (uint64_t)d);
    if ((d = span(r->sched_ns, r->end_ns)) >= 0)
        hist_record(s->e2e_sched, (uint64_t)d);

    s->events += r->events;
    if (r->out_tokens >= 0) {
        uint64_t out = (uint64_t)r->out_tokens;
        add_u64(&s->output_tokens, out);
        if ((d = req_tpot_ns(r)) >= 0)
            hist_record(s->tpot, (uint64_t)d);
        if (e2e > 0)
            hist_record(s->request_tps, (uint64_t)((double)out * 1e12 / (double)e2e + 0.5));
        if (r->events > 0)
            hist_record(s->tokens_per_event,
                        (uint64_t)((double)out * 1e3 / (double)r->events + 0.5));
    }
    if (r->in_tokens >= 0) {
        add_u64(&s->input_tokens, (uint64_t)r->in_tokens);
        hist_record(s->prompt_tokens, (uint64_t)r->in_tokens);
    }
    s->tok_src_count[(unsigned)r->tok_src < 4 ? r->tok_src : TOK_NONE]++;
    add_token_check(s, r);
    add_reasoning(s, r);
    add_server_timings(s, r);
}

int req_record_spill(struct req_record *r)
{
    if (!r->itl_spilled && !(r->itl_spilled = hist_new(RESULT_HIST_NS_MAX)))
        return -1;
    for (size_t i = r->ev_spilled ? 0 : 1; i < r->ev_n; i++)
        hist_record(r->itl_spilled, (uint64_t)r->ev_us[i] * 1000u);
    r->ev_spilled += r->ev_n;
    r->ev_n = 0;
    return 0;
}

void req_record_reset(struct req_record *r)
{
    uint32_t *ev = r->ev_us;
    size_t cap = r->ev_cap;
    struct hist *itl = r->itl_spilled;
    if (itl && r->ev_spilled)
        hist_reset(itl);
    memset(r, 0, sizeof *r);
    r->ev_us = ev;
    r->ev_cap = cap;
    r->itl_spilled = itl;
    r->out_tokens = r->server_tokens = r->local_tokens = r->in_tokens = -1;
    r->reasoning_tokens = r->server_reasoning_tokens = -1;
    r->eval_count = r->eval_duration_ns = r->prompt_eval_count = r->prompt_eval_duration_ns = -1;
    r->cached_tokens = r->total_duration_ns = r->load_duration_ns = -1;
    r->prompt_chars = r->max_tokens = r->exact_tokens = -1;
}

double run_stats_wall_s(const struct run_stats *s)
{
    return s->end_ns > s->start_ns ? (double)(s->end_ns - s->start_ns) / 1e9 : 0.0;
}

int run_stats_rates(const struct run_stats *s, double *offered, double *achieved)
{
    uint64_t sent = s->arrivals - (s->unsent < s->arrivals ? s->unsent : s->arrivals);
    *offered = *achieved = NAN;
    if (s->arrivals == 0)
        return -1;
    /* Arrival k comes after k gaps, so n arrivals by the last one's time
     * is the rate itself; a request sent on time leaves when it arrives. */
    if (s->arrival_last_ns > 0)
        *offered = (double)s->arrivals * 1e9 / (double)s->arrival_last_ns;
    if (sent == 0)
        *achieved = 0;
    else if (s->sent_last_ns > 0)
        *achieved = (double)sent * 1e9 / (double)s->sent_last_ns;
    return 0;
}

/* --- merging and the "counters" object ------------------------------------ */

/* How a counter of several processes combines: sums add, extremes and
 * "last" offsets take the largest (each process's offsets count from the
 * common start). */
enum how { SUM, MAX };

#define U64_TAB(X) \
    X(requests, SUM) X(ok, SUM) X(failed, SUM) X(retries, SUM) X(implausible, SUM) \
    X(late, SUM) X(arrivals, SUM) X(unsent, SUM) X(arrival_last_ns, MAX) \
    X(sent_last_ns, MAX) X(warmup_requests, SUM) X(output_tokens, SUM) \
    X(input_tokens, SUM) X(events, SUM) X(max_tokens_unset, SUM) X(tok_compared, SUM) \
    X(tok_differ, SUM) X(short_outputs, SUM) X(context_truncated, SUM) \
    X(loop_lag_max_ns, MAX) X(loop_lag_p99_ns, MAX) X(reads, SUM) X(reads_stamped, SUM) \
    X(reasoning_tokens, SUM) X(reasoning_requests, SUM) X(tool_call_requests, SUM) \
    X(tool_calls, SUM) X(conns_opened, SUM) X(tls_handshakes, SUM) X(tls_resumed, SUM)

static const struct { size_t off; const char *name; enum how how; } u64_tab[] = {
#define X(field, how) { offsetof(struct run_stats, field), #field, how },
    U64_TAB(X)
#undef X
};

static uint64_t *u64_at(struct run_stats *s, size_t i)
{
    return (uint64_t *)((char *)s + u64_tab[i].off);
}

static uint64_t u64_of(const struct run_stats *s, size_t i)
{
    return *(const uint64_t *)((const char *)s + u64_tab[i].off);
}

/* The earliest of two wall times, 0 meaning unknown. */
static int64_t wall_min(int64_t a, int64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

int run_stats_merge(struct run_stats *dst, const struct run_stats *src)
{
    struct hist **h;
    for (size_t i = 0; (h = stats_hists(dst, i, NULL)); i++)
        if (hist_merge(*h, run_stats_hist(src, i)) < 0)
            return -1;
    for (size_t i = 0; i < sizeof u64_tab / sizeof u64_tab[0]; i++) {
        uint64_t *d = u64_at(dst, i), v = u64_of(src, i);
        if (u64_tab[i].how == SUM)
            add_u64(d, v);
        else if (v > *d)
            *d = v;
    }
    for (int t = 0; t < 4; t++) {
        add_u64(&dst->tok_src_count[t], src->tok_src_count[t]);
        add_u64(&dst->reasoning_src_count[t], src->reasoning_src_count[t]);
    }
    /* Every part judged its requests by the same limits. */
    if (!dst->slo.n)
        dst->slo = src->slo;
    slo_tally_merge(&dst->slo_tally, &src->slo_tally);
    for (int c = 0; c < ERR__COUNT; c++) {
        add_u64(&dst->errors[c], src->errors[c]);
        if (!dst->err_sample[c][0])
            memcpy(dst->err_sample[c], src->err_sample[c], sizeof dst->err_sample[c]);
    }
    add_i64(&dst->ollama_eval_count, src->ollama_eval_count);
    add_i64(&dst->ollama_eval_duration_ns, src->ollama_eval_duration_ns);
    dst->tok_diff_sum += src->tok_diff_sum;
    if (src->tok_diff_max > dst->tok_diff_max)
        dst->tok_diff_max = src->tok_diff_max;
    if (src->loop_busy_frac > dst->loop_busy_frac)
        dst->loop_busy_frac = src->loop_busy_frac;
    /* The window is the union of the windows: every process's start_ns and
     * end_ns are on one clock (the caller put them on the wall clock). */
    if (src->end_ns > src->start_ns) {
        if (dst->end_ns <= dst->start_ns) {
            dst->start_ns = src->start_ns;
            dst->end_ns = src->end_ns;
        } else {
            dst->start_ns = src->start_ns < dst->start_ns ? src->start_ns : dst->start_ns;
            dst->end_ns = src->end_ns > dst->end_ns ? src->end_ns : dst->end_ns;
        }
    }
    dst->start_wall_ns = wall_min(dst->start_wall_ns, src->start_wall_ns);
    /* The samples' start times count from their own part's measured start;
     * the merge's counts from the earliest. */
    int64_t t0 = wall_min(dst->t0_wall_ns, src->t0_wall_ns);
    if (dst->t0_wall_ns && t0 < dst->t0_wall_ns)
        req_samples_shift(&dst->samples, (double)(dst->t0_wall_ns - t0) * 1e-9);
    req_samples_merge(&dst->samples, &src->samples,
                      src->t0_wall_ns ? (double)(src->t0_wall_ns - t0) * 1e-9 : 0);
    dst->t0_wall_ns = t0;
    srv_clock_merge(&dst->server_clock, &src->server_clock);   /* the parts share a clock */
    dst->rx_kernel |= src->rx_kernel;
    dst->interrupted |= src->interrupted;
    if ((!dst->stop_reason[0] || !strcmp(dst->stop_reason, "completed")) && src->stop_reason[0])
        memcpy(dst->stop_reason, src->stop_reason, sizeof dst->stop_reason);
    return 0;
}

cJSON *run_stats_counters_json(const struct run_stats *s)
{
    cJSON *o = cJSON_CreateObject(), *x;
    int ok = o != NULL;
    for (size_t i = 0; ok && i < sizeof u64_tab / sizeof u64_tab[0]; i++)
        ok = cJSON_AddNumberToObject(o, u64_tab[i].name, (double)u64_of(s, i)) != NULL;
    ok = ok && (x = cJSON_AddObjectToObject(o, "token_source"));
    for (int t = 0; ok && t < 4; t++)
        ok = cJSON_AddNumberToObject(x, tok_source_name(t), (double)s->tok_src_count[t]) != NULL;
    ok = ok && (x = cJSON_AddObjectToObject(o, "reasoning_source"));
    for (int t = 0; ok && t < 4; t++)
        ok = cJSON_AddNumberToObject(x, tok_source_name(t), (double)s->reasoning_src_count[t]) != NULL;
    ok = ok && (x = cJSON_AddObjectToObject(o, "errors"));
    for (int c = ERR_NONE + 1; ok && c < ERR__COUNT; c++)
        ok = !s->errors[c] || cJSON_AddNumberToObject(x, err_class_name(c), (double)s->errors[c]);
    ok = ok && (x = cJSON_AddObjectToObject(o, "error_samples"));
    for (int c = ERR_NONE + 1; ok && c < ERR__COUNT; c++)
        ok = !s->err_sample[c][0] || cJSON_AddStringToObject(x, err_class_name(c), s->err_sample[c]);
    ok = ok && cJSON_AddNumberToObject(o, "server_eval_count", (double)s->ollama_eval_count) &&
         cJSON_AddNumberToObject(o, "server_eval_duration_ns", (double)s->ollama_eval_duration_ns) &&
         cJSON_AddNumberToObject(o, "tok_diff_sum", s->tok_diff_sum) &&
         cJSON_AddNumberToObject(o, "tok_diff_max", s->tok_diff_max) &&
         cJSON_AddNumberToObject(o, "loop_busy_frac", s->loop_busy_frac) &&
         cJSON_AddNumberToObject(o, "duration_ns",
                                 (double)(s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0)) &&
         cJSON_AddNumberToObject(o, "start_wall_ns", (double)s->start_wall_ns) &&
         cJSON_AddNumberToObject(o, "t0_wall_ns", (double)s->t0_wall_ns) &&
         cJSON_AddBoolToObject(o, "rx_kernel", s->rx_kernel) &&
         cJSON_AddBoolToObject(o, "interrupted", s->interrupted) &&
         cJSON_AddStringToObject(o, "stop_reason", s->stop_reason) &&
         cJSON_AddStringToObject(o, "run_id", s->run_id);
    if (ok && s->server_clock.n) {
        cJSON *t = cJSON_AddObjectToObject(o, "server_date");
        ok = t && cJSON_AddNumberToObject(t, "lo_ns", (double)s->server_clock.lo_ns) &&
             cJSON_AddNumberToObject(t, "hi_ns", (double)s->server_clock.hi_ns) &&
             cJSON_AddNumberToObject(t, "responses", (double)s->server_clock.n);
    }
    /* Per-request SLOs: the limits (their canonical text, read back with
     * slo_parse_item) and the tally, or null. */
    if (ok && s->slo.n) {
        cJSON *t = cJSON_AddObjectToObject(o, "slo"), *m;
        ok = t && cJSON_AddStringToObject(t, "spec", s->slo.text) &&
             cJSON_AddNumberToObject(t, "judged", (double)s->slo_tally.judged) &&
             cJSON_AddNumberToObject(t, "good", (double)s->slo_tally.good) &&
             cJSON_AddNumberToObject(t, "errors", (double)s->slo_tally.errors) &&
             cJSON_AddNumberToObject(t, "cut", (double)s->slo_tally.cut) &&
             cJSON_AddNumberToObject(t, "good_tokens", (double)s->slo_tally.good_tokens) &&
             (m = cJSON_AddObjectToObject(t, "miss"));
        for (int k = 0; ok && k < SLO__N; k++)
            ok = cJSON_AddNumberToObject(m, slo_kind_name(k), (double)s->slo_tally.miss[k]) != NULL;
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "slo") != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A whole number in [0, 2^53] (what a double holds exactly), or a finite
 * one when `real`.  0, or -1 with err naming the key. */
static int get_num(const cJSON *o, const char *key, int real, double *out, char *err, size_t errcap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d) || (!real && (d < 0 || d > 9007199254740992.0 || d != floor(d)))) {
        snprintf(err, errcap, "counters.%s: %s", key, v ? "not a valid number" : "missing");
        return -1;
    }
    *out = d;
    return 0;
}

/* A class or source name's index in names (n of them), or -1. */
static int name_index(const char *name, const char *(*fn)(int), int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(fn(i), name))
            return i;
    return -1;
}

static const char *err_name_int(int c) { return err_class_name((enum err_class)c); }
static const char *slo_name_int(int k) { return slo_kind_name((enum slo_kind)k); }
static const char *tok_name_int(int t) { return tok_source_name((enum tok_source)t); }

/* counters[key] is an object of counts or texts named by fn: into u64s
 * (texts: NULL) or texts (u64s: NULL). */
static int get_named(const cJSON *o, const char *key, const char *(*fn)(int), int n,
                     uint64_t *u64s, char (*texts)[RESULT_ERR_SAMPLE], char *err, size_t errcap)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key), *it;
    if (!cJSON_IsObject(x)) {
        snprintf(err, errcap, "counters.%s: missing", key);
        return -1;
    }
    cJSON_ArrayForEach(it, x) {
        int i = name_index(it->string, fn, n);
        double d;
        if (i < 0) {
            snprintf(err, errcap, "counters.%s: unknown name \"%s\"", key, it->string);
            return -1;
        }
        if (texts && cJSON_IsString(it))
            result_text_clean(texts[i], RESULT_ERR_SAMPLE, it->valuestring);
        else if (texts || get_num(x, it->string, 0, &d, err, errcap) < 0) {
            snprintf(err, errcap, "counters.%s.%s: not a valid value", key, it->string);
            return -1;
        } else
            u64s[i] = (uint64_t)d;
    }
    return 0;
}

static int get_str(const cJSON *o, const char *key, char *dst, size_t cap, char *err, size_t errcap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
        snprintf(err, errcap, "counters.%s: %s", key, v ? "not a valid string" : "missing");
        return -1;
    }
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

/* counters.slo: the limits parsed back from their text, the tally. */
static int get_slo(struct run_stats *s, const cJSON *counters, char *err, size_t errcap)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(counters, "slo");
    const char *spec = cJSON_IsObject(t) ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "spec")) : NULL;
    char item[SLO_TEXT_MAX], why[200];
    double d;
    memset(&s->slo, 0, sizeof s->slo);
    memset(&s->slo_tally, 0, sizeof s->slo_tally);
    if (!t || cJSON_IsNull(t))
        return 0;
    if (!spec) {
        snprintf(err, errcap, "counters.slo: not an object with a spec");
        return -1;
    }
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        if (slo_parse_item(&s->slo, item, why, sizeof why) != 1) {
            snprintf(err, errcap, "counters.slo.spec: %s", why);
            return -1;
        }
        p += n + (p[n] == ',');
    }
    static const struct { const char *k; size_t off; } f[] = {
        { "judged", offsetof(struct slo_tally, judged) }, { "good", offsetof(struct slo_tally, good) },
        { "errors", offsetof(struct slo_tally, errors) }, { "cut", offsetof(struct slo_tally, cut) },
        { "good_tokens", offsetof(struct slo_tally, good_tokens) },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (get_num(t, f[i].k, 0, &d, err, errcap) < 0)
            return -1;
        *(uint64_t *)((char *)&s->slo_tally + f[i].off) = (uint64_t)d;
    }
    return get_named(t, "miss", slo_name_int, SLO__N, s->slo_tally.miss, NULL, err, errcap);
}

int run_stats_from_json(struct run_stats *s, const cJSON *counters, const cJSON *histograms,
                        char *err, size_t errcap)
{
    double d, dur, wall, t0;
    struct hist **h;
    if (!cJSON_IsObject(counters) || !cJSON_IsObject(histograms)) {
        snprintf(err, errcap, "no %s: not the result of one run, or written by an llmload that "
                 "did not record it", cJSON_IsObject(counters) ? "\"histograms\"" : "\"counters\"");
        return -1;
    }
    for (size_t i = 0; i < sizeof u64_tab / sizeof u64_tab[0]; i++) {
        if (get_num(counters, u64_tab[i].name, 0, &d, err, errcap) < 0)
            return -1;
        *u64_at(s, i) = (uint64_t)d;
    }
    if (get_named(counters, "token_source", tok_name_int, 4, s->tok_src_count, NULL, err, errcap) < 0 ||
        get_named(counters, "errors", err_name_int, ERR__COUNT, s->errors, NULL, err, errcap) < 0 ||
        get_named(counters, "error_samples", err_name_int, ERR__COUNT, NULL, s->err_sample,
                  err, errcap) < 0)
        return -1;
    if (get_named(counters, "reasoning_source", tok_name_int, 4, s->reasoning_src_count, NULL,
                  err, errcap) < 0 || get_slo(s, counters, err, errcap) < 0)
        return -1;
    if (get_num(counters, "server_eval_count", 1, &d, err, errcap) < 0)
        return -1;
    s->ollama_eval_count = (int64_t)d;
    if (get_num(counters, "server_eval_duration_ns", 1, &d, err, errcap) < 0)
        return -1;
    s->ollama_eval_duration_ns = (int64_t)d;
    if (get_num(counters, "tok_diff_sum", 1, &s->tok_diff_sum, err, errcap) < 0 ||
        get_num(counters, "tok_diff_max", 1, &s->tok_diff_max, err, errcap) < 0 ||
        get_num(counters, "loop_busy_frac", 1, &s->loop_busy_frac, err, errcap) < 0 ||
        get_num(counters, "duration_ns", 0, &dur, err, errcap) < 0 ||
        get_num(counters, "start_wall_ns", 1, &wall, err, errcap) < 0 ||
        get_num(counters, "t0_wall_ns", 1, &t0, err, errcap) < 0 ||
        get_str(counters, "stop_reason", s->stop_reason, sizeof s->stop_reason, err, errcap) < 0 ||
        get_str(counters, "run_id", s->run_id, sizeof s->run_id, err, errcap) < 0)
        return -1;
    s->start_wall_ns = (int64_t)wall;
    s->t0_wall_ns = (int64_t)t0;
    /* On the wall clock, so the windows of several machines can be joined. */
    s->start_ns = (uint64_t)(t0 ? t0 : wall);
    s->end_ns = s->start_ns + (uint64_t)dur;
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(counters, "server_date");
    srv_clock_init(&s->server_clock);
    if (sd) {   /* absent: no response had a Date, or a document from before */
        double lo, hi, n;
        if (get_num(sd, "lo_ns", 1, &lo, err, errcap) < 0 || get_num(sd, "hi_ns", 1, &hi, err, errcap) < 0 ||
            get_num(sd, "responses", 0, &n, err, errcap) < 0) {
            snprintf(err, errcap, "counters.server_date: not an object of lo_ns, hi_ns, responses");
            return -1;
        }
        s->server_clock = (struct srv_clock){ (int64_t)lo, (int64_t)hi, (uint64_t)n };
    }
    s->rx_kernel = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(counters, "rx_kernel"));
    s->interrupted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(counters, "interrupted"));
    for (size_t i = 0; (h = stats_hists(s, i, NULL)); i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(histograms, hist_tab[i].name);
        struct hist *x = j ? hist_from_json(j) : NULL;
        if (!x || hist_highest(x) != hist_highest(*h)) {
            snprintf(err, errcap, "histograms.%s: %s", hist_tab[i].name, j ? "malformed" : "missing");
            hist_free(x);
            return -1;
        }
        hist_free(*h);
        *h = x;
    }
    return 0;
}
