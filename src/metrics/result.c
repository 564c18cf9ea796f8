/* Run aggregates: how each finished request feeds the counters and
 * histograms.  The definitions are docs/metrics.md; this file applies them. */
#include "result.h"
#include "rng.h"
#include "secret.h"
#include "utf8.h"

#include <math.h>
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

/* The histograms of a run_stats, so init and free cannot drift apart. */
static struct hist **stats_hists(struct run_stats *s, size_t i, uint64_t *highest)
{
    struct { struct hist **h; uint64_t highest; } tab[] = {
        { &s->ttft, RESULT_HIST_NS_MAX }, { &s->itl, RESULT_HIST_NS_MAX },
        { &s->tpot, RESULT_HIST_NS_MAX }, { &s->e2e, RESULT_HIST_NS_MAX },
        { &s->queue, RESULT_HIST_NS_MAX }, { &s->ttft_sched, RESULT_HIST_NS_MAX },
        { &s->e2e_sched, RESULT_HIST_NS_MAX },
        { &s->request_tps, RESULT_HIST_MILLI_MAX },
        { &s->tokens_per_event, RESULT_HIST_MILLI_MAX },
        { &s->srv_prefill, RESULT_HIST_NS_MAX }, { &s->srv_decode, RESULT_HIST_NS_MAX },
        { &s->srv_load, RESULT_HIST_NS_MAX }, { &s->srv_cached, RESULT_HIST_COUNT_MAX },
        { &s->ttft_minus_prefill, RESULT_HIST_NS_MAX },
        { &s->ttft_server, RESULT_HIST_NS_MAX }, { &s->ttft_rest, RESULT_HIST_NS_MAX },
        { &s->ttft_reasoning, RESULT_HIST_NS_MAX }, { &s->ttft_output, RESULT_HIST_NS_MAX },
        { &s->prompt_tokens, RESULT_HIST_COUNT_MAX }, { &s->prompt_chars, RESULT_HIST_COUNT_MAX },
        { &s->max_tokens, RESULT_HIST_COUNT_MAX },
    };
    if (i >= sizeof tab / sizeof tab[0])
        return NULL;
    if (highest)
        *highest = tab[i].highest;
    return tab[i].h;
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
    if (r->start_ns > s->sent_last_ns)
        s->sent_last_ns = r->start_ns;
    if (r->retried)
        s->retries++;
    if (r->implausible)
        s->implausible++;
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
