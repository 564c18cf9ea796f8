/* The JSON result document (schema "llmload.result/1", docs/schema.md) and
 * its writer. */
#include "fileio.h"
#include "report.h"
#include "headers.h"
#include "schedule.h"
#include "secret.h"
#include "target.h"
#include "utf8.h"
#include "workload.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>


/* Builders: every cJSON allocation is checked once, through `fail`, so the
 * document is either whole or NULL. */
struct jb { int fail; };

static cJSON *jb_check(struct jb *b, cJSON *item)
{
    if (!item)
        b->fail = 1;
    return item;
}

/* A finite number, or null: JSON has no NaN, and "no samples" is null. */
static void put_num(struct jb *b, cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        jb_check(b, cJSON_AddNumberToObject(o, k, v));
    else
        jb_check(b, cJSON_AddNullToObject(o, k));
}

static void put_str(struct jb *b, cJSON *o, const char *k, const char *v)
{
    if (!v) {
        jb_check(b, cJSON_AddNullToObject(o, k));
        return;
    }
    /* cJSON escapes quotes and controls but passes bytes through: a prompt
     * file that is not UTF-8 would make the document unreadable to strict
     * JSON readers.  Such bytes become U+FFFD. */
    size_t n = strlen(v);
    char *fixed = NULL;
    if (!utf8_valid(v, n) && !(fixed = utf8_repaired(v, n))) {
        b->fail = 1;
        return;
    }
    jb_check(b, cJSON_AddStringToObject(o, k, fixed ? fixed : v));
    free(fixed);
}

static void put_bool(struct jb *b, cJSON *o, const char *k, int v)
{
    jb_check(b, cJSON_AddBoolToObject(o, k, v != 0));
}

static cJSON *put_obj(struct jb *b, cJSON *o, const char *k)
{
    cJSON *c = cJSON_CreateObject();
    if (!jb_check(b, c) || !cJSON_AddItemToObject(o, k, c)) {
        cJSON_Delete(c);
        b->fail = 1;
        return NULL;
    }
    return c;
}

/* {n, min, mean, p50, p90, p95, p99, max, stdev} scaled (1e-9: ns to
 * seconds), null values when there are no samples; a count (tokens,
 * characters) also has its sum. */
static void put_stats(struct jb *b, cJSON *o, const char *k, const struct hist *h, double scale,
                      int with_sum)
{
    struct hist_stats st;
    cJSON *l = put_obj(b, o, k);
    if (!l)
        return;
    hist_stats(h, scale, &st);
    put_num(b, l, "n", (double)st.n);
    put_num(b, l, "min", st.min);
    put_num(b, l, "mean", st.mean);
    put_num(b, l, "p50", st.p50);
    put_num(b, l, "p90", st.p90);
    put_num(b, l, "p95", st.p95);
    put_num(b, l, "p99", st.p99);
    put_num(b, l, "max", st.max);
    put_num(b, l, "stdev", st.stdev);
    if (with_sum)
        put_num(b, l, "sum", hist_sum(h) * scale);
}

static void put_latency(struct jb *b, cJSON *o, const char *k, const struct hist *h)
{
    put_stats(b, o, k, h, 1e-9, 0);
}

static void put_counts(struct jb *b, cJSON *o, const char *k, const struct hist *h)
{
    put_stats(b, o, k, h, 1.0, 1);
}

/* A percentile scaled, or NaN when there are no samples. */
static double pct(const struct hist *h, double p, double scale)
{
    return hist_count(h) ? (double)hist_percentile(h, p) * scale : NAN;
}

int report_client_bottleneck(const struct run_stats *s)
{
    /* A busy fraction over a few milliseconds says nothing about a
     * bottleneck (one burst of replies fills it): it counts from one second
     * of measurement on. */
    /* Likewise a timer's p99 lag over a few hundred milliseconds is one
     * hiccup of the machine, not a client that cannot keep up. */
    if (run_stats_wall_s(s) < 1.0)
        return 0;
    return s->loop_busy_frac > REPORT_BUSY_LIMIT || s->loop_lag_p99_ns > REPORT_LAG_LIMIT_NS;
}

double report_stamped_frac(const struct run_stats *s)
{
    if (!s->rx_kernel || s->reads == 0)
        return NAN;
    return (double)s->reads_stamped / (double)s->reads;
}

int report_token_warning(const struct run_stats *s)
{
    return s->tok_compared && s->tok_diff_sum / (double)s->tok_compared > RESULT_TOKEN_DIFF_WARN;
}

double report_eval_rate(const struct run_stats *s)
{
    if (s->ollama_eval_duration_ns <= 0)
        return NAN;
    return (double)s->ollama_eval_count / ((double)s->ollama_eval_duration_ns / 1e9);
}

/* Per-request service levels (docs/metrics.md, "Goodput"); null without. */
static void put_slo(struct jb *b, cJSON *o, const struct run_stats *s)
{
    if (!s->slo.n) {
        jb_check(b, cJSON_AddNullToObject(o, "slo"));
        return;
    }
    const struct slo_tally *t = &s->slo_tally;
    struct slo_result r;
    slo_result(&s->slo, t, run_stats_wall_s(s), &r);
    cJSON *x = put_obj(b, o, "slo"), *y;
    if (!x)
        return;
    put_str(b, x, "text", s->slo.text);
    if ((y = put_obj(b, x, "limits"))) {
        for (int k = 0; k < SLO__N; k++)
            if (s->slo.lim[k].set)
                put_num(b, y, slo_kind_name(k), k == SLO_TOKENS_MIN ? s->slo.lim[k].value
                                                                   : s->slo.lim[k].value * 1e-9);
    }
    put_num(b, x, "judged", (double)t->judged);
    put_num(b, x, "good", (double)t->good);
    put_num(b, x, "missed", (double)(t->judged - t->good));
    put_num(b, x, "errors", (double)t->errors);
    put_num(b, x, "cut_off", (double)t->cut);
    put_num(b, x, "unsent", (double)s->unsent);
    put_num(b, x, "good_output_tokens", (double)t->good_tokens);
    put_num(b, x, "attainment", r.attainment);
    if ((y = cJSON_CreateArray()) && cJSON_AddItemToObject(x, "attainment_ci95", y)) {
        if (isfinite(r.lo)) {
            cJSON_AddItemToArray(y, cJSON_CreateNumber(r.lo));
            cJSON_AddItemToArray(y, cJSON_CreateNumber(r.hi));
        }
    } else {
        cJSON_Delete(y);
        b->fail = 1;
    }
    put_num(b, x, "goodput_rps", r.goodput_rps);
    put_num(b, x, "goodput_tps", r.goodput_tps);
    if ((y = put_obj(b, x, "misses"))) {
        for (int k = 0; k < SLO__N; k++)
            if (s->slo.lim[k].set)
                put_num(b, y, slo_kind_name(k), (double)t->miss[k]);
    }
    if (r.binding >= 0)
        put_str(b, x, "binding", slo_kind_name(r.binding));
    else
        jb_check(b, cJSON_AddNullToObject(x, "binding"));
}

cJSON *report_summary_json(const struct run_stats *s)
{
    struct jb b = { 0 };
    cJSON *o = cJSON_CreateObject(), *x;
    if (!o)
        return NULL;
    double wall = run_stats_wall_s(s);
    put_num(&b, o, "requests", (double)s->requests);
    put_num(&b, o, "ok", (double)s->ok);
    put_num(&b, o, "failed", (double)s->failed);
    put_num(&b, o, "error_rate", s->requests ? (double)s->failed / (double)s->requests : 0.0);
    put_num(&b, o, "duration_s", wall);
    put_num(&b, o, "rps", wall > 0 ? (double)s->ok / wall : NAN);
    put_num(&b, o, "output_tokens", (double)s->output_tokens);
    put_num(&b, o, "input_tokens", (double)s->input_tokens);
    put_num(&b, o, "output_tps", wall > 0 ? (double)s->output_tokens / wall : NAN);
    put_latency(&b, o, "ttft", s->ttft);
    /* Reasoning models: when thinking began, and when the answer did
     * (content or a tool call); n 0 and null statistics without any. */
    put_latency(&b, o, "ttft_reasoning", s->ttft_reasoning);
    put_latency(&b, o, "ttft_output", s->ttft_output);
    put_latency(&b, o, "itl", s->itl);
    put_latency(&b, o, "tpot", s->tpot);
    put_latency(&b, o, "e2e", s->e2e);
    put_latency(&b, o, "ttfb", s->ttfb);
    /* Per connection, not per request: what opening one cost
     * (docs/metrics.md, "Connections"). */
    if ((x = put_obj(&b, o, "connections"))) {
        put_num(&b, x, "opened", (double)s->conns_opened);
        put_latency(&b, x, "connect", s->connect);
        put_num(&b, x, "tls_handshakes", (double)s->tls_handshakes);
        put_num(&b, x, "tls_resumed", (double)s->tls_resumed);
        put_latency(&b, x, "tls_handshake", s->tls_handshake);
    }
    if ((x = put_obj(&b, o, "request_tps"))) {
        put_num(&b, x, "mean", hist_mean(s->request_tps) * 1e-3);
        put_num(&b, x, "p05", pct(s->request_tps, 5, 1e-3));
        put_num(&b, x, "p50", pct(s->request_tps, 50, 1e-3));
        put_num(&b, x, "p95", pct(s->request_tps, 95, 1e-3));
    }
    cJSON *samples = NULL;
    if ((x = put_obj(&b, o, "errors")) && (samples = put_obj(&b, o, "error_samples"))) {
        for (int c = ERR_NONE + 1; c < ERR__COUNT; c++) {
            if (!s->errors[c])
                continue;
            put_num(&b, x, err_class_name(c), (double)s->errors[c]);
            if (s->err_sample[c][0])
                put_str(&b, samples, err_class_name(c), s->err_sample[c]);
        }
    }
    put_num(&b, o, "retries", (double)s->retries);
    put_num(&b, o, "implausible_counts", (double)s->implausible);
    put_num(&b, o, "late", (double)s->late);
    /* Open loop: what the schedule offered and what was achieved, so a
     * server that fell behind shows in the document, not only on the
     * terminal (docs/metrics.md).  Null for a closed loop. */
    double offered, achieved;
    if (run_stats_rates(s, &offered, &achieved) == 0 && (x = put_obj(&b, o, "open_loop"))) {
        put_num(&b, x, "offered_rate", offered);
        put_num(&b, x, "achieved_rate", achieved);
        put_num(&b, x, "arrivals", (double)s->arrivals);
        put_num(&b, x, "unsent", (double)s->unsent);
    } else {
        cJSON_AddNullToObject(o, "open_loop");
    }
    put_num(&b, o, "warmup_requests", (double)s->warmup_requests);
    put_num(&b, o, "events", (double)s->events);
    put_latency(&b, o, "queue_time", s->queue);
    put_latency(&b, o, "ttft_from_schedule", s->ttft_sched);
    put_latency(&b, o, "e2e_from_schedule", s->e2e_sched);
    if ((x = put_obj(&b, o, "tokens_per_event"))) {
        put_num(&b, x, "mean", hist_mean(s->tokens_per_event) * 1e-3);
        put_num(&b, x, "p50", pct(s->tokens_per_event, 50, 1e-3));
        put_num(&b, x, "max", hist_count(s->tokens_per_event)
                                  ? (double)hist_max(s->tokens_per_event) * 1e-3 : NAN);
    }
    if ((x = put_obj(&b, o, "token_source"))) {
        for (int t = TOK_SERVER; t <= TOK_CHUNKS; t++)
            put_num(&b, x, tok_source_name(t), (double)s->tok_src_count[t]);
    }
    put_bool(&b, o, "chunk_counted", s->tok_src_count[TOK_CHUNKS] > 0);
    if ((x = put_obj(&b, o, "reasoning"))) {
        cJSON *src;
        put_num(&b, x, "tokens", (double)s->reasoning_tokens);
        put_num(&b, x, "answer_tokens", (double)(s->output_tokens > s->reasoning_tokens
                                                     ? s->output_tokens - s->reasoning_tokens : 0));
        put_num(&b, x, "requests", (double)s->reasoning_requests);
        if ((src = put_obj(&b, x, "token_source"))) {
            put_num(&b, src, tok_source_name(TOK_SERVER), (double)s->reasoning_src_count[TOK_SERVER]);
            put_num(&b, src, tok_source_name(TOK_CHUNKS), (double)s->reasoning_src_count[TOK_CHUNKS]);
        }
    }
    if ((x = put_obj(&b, o, "tool_calls"))) {
        put_num(&b, x, "requests", (double)s->tool_call_requests);
        put_num(&b, x, "calls", (double)s->tool_calls);
    }
    put_num(&b, o, "server_eval_rate", report_eval_rate(s));
    if ((x = put_obj(&b, o, "server"))) {
        put_latency(&b, x, "prefill", s->srv_prefill);
        put_latency(&b, x, "decode_per_token", s->srv_decode);
        put_latency(&b, x, "load", s->srv_load);
        put_latency(&b, x, "ttft_minus_prefill", s->ttft_minus_prefill);
        put_latency(&b, x, "ttft_server", s->ttft_server);
        put_latency(&b, x, "ttft_rest", s->ttft_rest);
        put_counts(&b, x, "cached_prompt_tokens", s->srv_cached);
        put_num(&b, x, "eval_rate", report_eval_rate(s));
    }
    if ((x = put_obj(&b, o, "sent"))) {
        put_counts(&b, x, "prompt_tokens", s->prompt_tokens);
        put_counts(&b, x, "prompt_chars", s->prompt_chars);
        put_counts(&b, x, "max_tokens", s->max_tokens);
        put_num(&b, x, "max_tokens_unset", (double)s->max_tokens_unset);
    }
    if ((x = put_obj(&b, o, "token_check"))) {
        put_num(&b, x, "compared", (double)s->tok_compared);
        put_num(&b, x, "differ", (double)s->tok_differ);
        put_num(&b, x, "mean_diff", s->tok_compared ? s->tok_diff_sum / (double)s->tok_compared : NAN);
        put_num(&b, x, "max_diff", s->tok_compared ? s->tok_diff_max : NAN);
        put_bool(&b, x, "warning", report_token_warning(s));
    }
    put_num(&b, o, "short_outputs", (double)s->short_outputs);
    put_num(&b, o, "context_truncated", (double)s->context_truncated);
    if ((x = put_obj(&b, o, "client"))) {
        put_num(&b, x, "loop_busy_frac", s->loop_busy_frac);
        put_num(&b, x, "loop_lag_max_s", (double)s->loop_lag_max_ns / 1e9);
        put_num(&b, x, "loop_lag_p99_s", (double)s->loop_lag_p99_ns / 1e9);
        put_bool(&b, x, "bottleneck", report_client_bottleneck(s));
        put_str(&b, x, "timestamps", s->rx_kernel ? "kernel" : "read");
        put_num(&b, x, "kernel_stamped_frac", report_stamped_frac(s));
    }
    put_slo(&b, o, s);
    put_bool(&b, o, "interrupted", s->interrupted);
    put_str(&b, o, "stop_reason", s->stop_reason[0] ? s->stop_reason : "completed");
    if (b.fail) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static double ns_s(uint64_t ns) { return (double)ns / 1e9; }

const char *report_url_redacted(const char *url, char *buf, size_t cap)
{
    /* "http://user:secret@host/" carries a credential like --api-key does:
     * keep the scheme and host, hide the userinfo. */
    const char *auth = strstr(url, "://");
    const char *start = auth ? auth + 3 : url;
    size_t hostlen = strcspn(start, "/?#");
    const char *at = memchr(start, '@', hostlen);
    if (!at)
        snprintf(buf, cap, "%s", url);
    else
        snprintf(buf, cap, "%.*s***%s", (int)(start - url), url, at);
    return buf;
}

/* The workload, every setting that shapes what the requests ask for
 * (docs/schema.md): a dataset by its path, size and SHA-256. */
static void put_workload(struct jb *b, cJSON *o, const struct workload *w)
{
    struct workload_info wi;
    cJSON *x = put_obj(b, o, "workload"), *y;
    if (!x)
        return;
    workload_info(w, &wi);
    put_str(b, x, "source", wi.source);
    put_str(b, x, "description", workload_describe(w));
    if (wi.path && (y = put_obj(b, x, !strcmp(wi.source, "dataset") ? "dataset" : "prompt_file"))) {
        put_str(b, y, "path", wi.path);
        put_str(b, y, "format", wi.format);
        put_num(b, y, "bytes", (double)wi.bytes);
        put_str(b, y, "sha256", wi.sha256);
        put_num(b, y, "prompts", (double)wi.prompts);
        put_num(b, y, "skipped", (double)wi.skipped);
        put_num(b, y, "unusable", (double)wi.unusable);
    }
    if (!wi.path || strcmp(wi.source, "dataset"))
        jb_check(b, cJSON_AddNullToObject(x, "dataset"));
    if (!wi.path || strcmp(wi.source, "prompt_file"))
        jb_check(b, cJSON_AddNullToObject(x, "prompt_file"));
    put_str(b, x, "prompt_set", wi.prompt_set);
    put_num(b, x, "input_tokens", wi.input_tokens ? (double)wi.input_tokens : NAN);
    put_num(b, x, "input_stddev", wi.input_stddev);
    put_num(b, x, "output_tokens", wi.output_tokens ? (double)wi.output_tokens : NAN);
    put_num(b, x, "output_stddev", wi.output_stddev);
    put_num(b, x, "shared_prefix", wi.shared_prefix);
    put_num(b, x, "turns", wi.turns);
    put_bool(b, x, "nonce", wi.nonce);
    put_str(b, x, "system", wi.system);
    if (wi.tokenizer && (y = put_obj(b, x, "tokenizer"))) {
        put_str(b, y, "path", wi.tokenizer);
        put_str(b, y, "name", wi.tokenizer_name);
        put_bool(b, y, "force", wi.force_tokenizer);
    } else if (!wi.tokenizer) {
        jb_check(b, cJSON_AddNullToObject(x, "tokenizer"));
    }
}

/* The prompt is a setting only when it is what every request sends
 * (--prompt, or the default): under --input-tokens, --dataset and the
 * others it would name a prompt no request carried. */
static const char *config_prompt(const struct run_config *c)
{
    struct workload_info wi;
    if (!c->workload)
        return c->prompt;
    workload_info(c->workload, &wi);
    return !strcmp(wi.source, "prompt") || !strcmp(wi.source, "default") ? c->prompt : NULL;
}

cJSON *report_config_json(const struct run_config *c)
{
    struct jb b = { 0 };
    char url[sizeof c->url + 8];
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    put_str(&b, o, "url", report_url_redacted(c->url, url, sizeof url));
    put_str(&b, o, "api", api_name(c->api));
    put_str(&b, o, "model", c->model);
    put_bool(&b, o, "stream", c->stream);
    put_str(&b, o, "timestamps", c->rx_clock == RXCLOCK_READ ? "read" : "kernel");
    /* The key itself never leaves the process; only whether one was set. */
    put_bool(&b, o, "api_key_set", c->api_key && c->api_key[0]);
    /* --header values only as far as --header-public allows. */
    cJSON *h = put_obj(&b, o, "headers");
    for (unsigned i = 0; h && c->headers && i < c->headers->n; i++)
        put_str(&b, h, c->headers->h[i].name, c->headers->h[i].public ? c->headers->h[i].value : SECRET_MASK);
    char pshown[PROXY_URL_MAX + 8];
    put_str(&b, o, "proxy", target_proxy_shown(c->url, c->proxy, pshown, sizeof pshown));
    put_bool(&b, o, "proxy_tunnel", c->proxy_tunnel);
    /* https only: how the server was trusted.  insecure: true says the
     * numbers came from a server nobody verified. */
    cJSON *t;
    if (strncmp(c->url, "https://", 8) != 0) {
        cJSON_AddNullToObject(o, "tls");
    } else if ((t = put_obj(&b, o, "tls"))) {
        put_bool(&b, t, "insecure", c->tls.insecure);
        put_str(&b, t, "cacert", c->tls.cacert);
        put_bool(&b, t, "client_cert", c->tls.cert != NULL);
    }
    put_str(&b, o, "prompt", config_prompt(c));
    put_str(&b, o, "system", c->system);
    if (c->workload)
        put_workload(&b, o, c->workload);
    put_num(&b, o, "max_tokens", (double)c->max_tokens);
    put_num(&b, o, "temperature", c->temperature);         /* NaN: not sent -> null */
    /* "seed" kept its first meaning, the sampling seed sent to the server;
     * the run's own seed is "seed_used" (schedule_seed is the same). */
    put_num(&b, o, "seed", c->sampling_seed >= 0 ? (double)c->sampling_seed : NAN);
    put_num(&b, o, "concurrency", c->concurrency);
    put_num(&b, o, "requests", (double)c->requests);
    put_num(&b, o, "duration_s", ns_s(c->duration_ns));
    put_num(&b, o, "warmup_requests", (double)c->warmup_requests);
    put_num(&b, o, "warmup_s", ns_s(c->warmup_ns));
    put_num(&b, o, "rate", c->rate);
    put_str(&b, o, "arrival", schedule_arrival_name(c->arrival));
    put_num(&b, o, "burstiness", c->burstiness);
    put_num(&b, o, "seed_used", (double)c->seed);
    put_bool(&b, o, "seed_given", c->seed_given);
    put_num(&b, o, "schedule_seed", (double)c->seed);
    put_num(&b, o, "ramp_up_s", ns_s(c->ramp_up_ns));
    put_num(&b, o, "stop_error_rate", c->stop_error_rate);
    put_num(&b, o, "connect_timeout_s", ns_s(c->connect_timeout_ns));
    put_num(&b, o, "ttft_timeout_s", ns_s(c->ttft_timeout_ns));
    put_num(&b, o, "idle_timeout_s", ns_s(c->idle_timeout_ns));
    put_num(&b, o, "request_timeout_s", ns_s(c->request_timeout_ns));
    put_num(&b, o, "grace_s", ns_s(c->grace_ns));
    put_num(&b, o, "overlong_factor", c->overlong_factor);
    put_str(&b, o, "json_path", c->json_path);
    put_str(&b, o, "csv_path", c->csv_path);
    put_str(&b, o, "raw_path", c->raw_path);
    put_bool(&b, o, "quiet", c->quiet);
    put_bool(&b, o, "progress", c->progress);
    put_str(&b, o, "mock_args", c->mock_args);
    put_num(&b, o, "workers", c->workers ? c->workers : 1);
    /* Only a shard says so: the merge of the shards is one run again. */
    cJSON *sh;
    if (c->shard_count > 1 && (sh = put_obj(&b, o, "shard"))) {
        char when[48];
        put_num(&b, sh, "index", c->shard_index);
        put_num(&b, sh, "count", c->shard_count);
        put_str(&b, sh, "start_at", c->start_at_ns > 0 ? report_iso8601(c->start_at_ns, when, sizeof when)
                                                       : NULL);
    }
    if (b.fail) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

const char *report_iso8601(int64_t unix_ns, char *buf, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)(unix_ns / 1000000000);
    int ms = (int)(unix_ns % 1000000000 / 1000000);
    char day[32];
    if (unix_ns < 0 || !gmtime_r(&t, &tm) ||
        !strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(buf, cap, "unknown");
    else
        snprintf(buf, cap, "%s.%03dZ", day, ms);
    return buf;
}

cJSON *report_environment_json(const struct run_stats *s)
{
    struct jb b = { 0 };
    struct utsname u;
    char host[256], when[48];
    int64_t wall = s ? s->start_wall_ns : 0;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (!s) {
        struct timespec ts;
        if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
            wall = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    int have_uname = uname(&u) == 0;
    if (gethostname(host, sizeof host) < 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    put_str(&b, o, "llmload_version", LLMLOAD_VERSION);
    put_str(&b, o, "hostname", host[0] ? host : NULL);
    put_str(&b, o, "os", have_uname ? u.sysname : NULL);
    put_str(&b, o, "kernel", have_uname ? u.release : NULL);
    put_str(&b, o, "machine", have_uname ? u.machine : NULL);
    put_num(&b, o, "cpus", cpus > 0 ? (double)cpus : NAN);
    put_str(&b, o, "start_time", wall > 0 ? report_iso8601(wall, when, sizeof when) : NULL);
    if (s)   /* the run_id column of --csv and the raw lines */
        put_str(&b, o, "run_id", s->run_id);
    if (b.fail) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The serialised histograms and the exact counters, so that runs can be
 * merged later (run_stats_from_json, run_stats_merge). */
static void put_histograms(struct jb *b, cJSON *doc, const struct run_stats *s)
{
    cJSON *o = put_obj(b, doc, "histograms");
    const char *name;
    for (size_t i = 0; o && (name = run_stats_hist_name(i)); i++) {
        cJSON *h = hist_to_json(run_stats_hist(s, i));
        if (!jb_check(b, h) || !cJSON_AddItemToObject(o, name, h)) {
            cJSON_Delete(h);
            b->fail = 1;
        }
    }
    cJSON *c = run_stats_counters_json(s);
    if (!jb_check(b, c) || !cJSON_AddItemToObject(doc, "counters", c)) {
        cJSON_Delete(c);
        b->fail = 1;
    }
}

cJSON *report_result_json(const struct run_config *c, const struct run_stats *s)
{
    return report_result_json_of(report_config_json(c), report_environment_json(s), s);
}

cJSON *report_result_json_of(cJSON *config, cJSON *environment, const struct run_stats *s)
{
    struct jb b = { 0 };
    cJSON *doc = cJSON_CreateObject();
    cJSON *parts[3] = { config, environment, NULL };
    static const char *const names[3] = { "config", "environment", "summary" };
    if (!doc) {
        cJSON_Delete(config);
        cJSON_Delete(environment);
        return NULL;
    }
    put_str(&b, doc, "schema", REPORT_SCHEMA);
    parts[2] = report_summary_json(s);
    for (int i = 0; i < 3; i++) {
        if (!jb_check(&b, parts[i]) || !cJSON_AddItemToObject(doc, names[i], parts[i])) {
            cJSON_Delete(parts[i]);
            b.fail = 1;
        }
    }
    put_bool(&b, doc, "interrupted", s->interrupted);
    put_histograms(&b, doc, s);
    /* The requests themselves (a bounded reservoir): what the gate's and
     * compare's verdicts resample. */
    cJSON *samples = req_samples_to_json(&s->samples);
    if (!jb_check(&b, samples) || !cJSON_AddItemToObject(doc, "samples", samples)) {
        cJSON_Delete(samples);
        b.fail = 1;
    }
    if (b.fail) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* --- writing ------------------------------------------------------------- */


int report_commit_json(struct out_file *f, const cJSON *doc, char *err, size_t errcap)
{
    char *text = cJSON_Print(doc);
    size_t n = text ? strlen(text) : 0;
    char *t2 = text ? realloc(text, n + 2) : NULL;
    if (!t2) {
        free(text);
        snprintf(err, errcap, "cannot write %s: out of memory", out_path(f));
        return -1;
    }
    t2[n++] = '\n';
    t2[n] = '\0';
    int rc = out_commit(f, t2, n, err, errcap);
    free(t2);
    return rc;
}

int report_write_json(const char *path, const cJSON *doc, char *err, size_t errcap)
{
    struct out_file *f = out_open(path, err, errcap);
    if (!f)
        return -1;
    int rc = report_commit_json(f, doc, err, errcap);
    out_close(f);
    return rc;
}

int report_check_writable(const char *path, char *err, size_t errcap)
{
    return out_check(path, err, errcap);
}
