/* The terminal summary of a run: the seed script's fields first (people
 * grep for them), then the full picture.  Every number carries its unit. */
#include "report.h"

#include <math.h>
#include <string.h>
#include "units.h"
#include "utf8.h"

static const char *secs(double s, char *buf, size_t cap)
{
    return units_fmt_seconds(s, buf, cap);
}

/* A rate with two decimals and its unit, or "-" when unknown. */
static const char *rate(double v, const char *unit, char *buf, size_t cap)
{
    if (!isfinite(v))
        snprintf(buf, cap, "- %s", unit);
    else
        snprintf(buf, cap, "%.2f %s", v, unit);
    return buf;
}

static double pct(const struct hist *h, double p, double scale)
{
    return hist_count(h) ? (double)hist_percentile(h, p) * scale : NAN;
}

static void latency_row(FILE *f, const char *name, const struct hist *h)
{
    struct hist_stats st;
    char b[7][32];
    hist_stats(h, 1e-9, &st);
    fprintf(f, "  %-14s %10s %10s %10s %10s %10s %10s %10s   (%llu samples)\n", name,
            secs(st.min, b[0], 32), secs(st.mean, b[1], 32), secs(st.p50, b[2], 32),
            secs(st.p90, b[3], 32), secs(st.p95, b[4], 32), secs(st.p99, b[5], 32),
            secs(st.max, b[6], 32), (unsigned long long)st.n);
}

static void print_seed_fields(FILE *f, const struct run_config *c, const struct run_stats *s)
{
    char b1[48], b2[32], b3[32];
    double wall = run_stats_wall_s(s);
    fprintf(f, "timestamp:   %s\n", report_iso8601(s->start_wall_ns, b1, sizeof b1));
    fprintf(f, "model:       %s\n", c->model[0] ? c->model : "-");
    char url[sizeof c->url + 8];
    fprintf(f, "host:        %s\n",
            c->url[0] ? report_url_redacted(c->url, url, sizeof url) : "(built-in simulator)");
    fprintf(f, "concurrency: %u requests in flight at most\n", c->concurrency);
    fprintf(f, "requests:    %llu requests (%llu ok, %llu failed)\n",
            (unsigned long long)s->requests, (unsigned long long)s->ok,
            (unsigned long long)s->failed);
    if (c->prompt)
        /* Characters, not bytes: what the seed script's len(prompt) printed. */
        fprintf(f, "prompt_len:  %zu chars\n", utf8_chars(c->prompt));
    else
        fprintf(f, "prompt_len:  - chars (prompts from a workload)\n");
    if (c->max_tokens >= 0)
        fprintf(f, "tokens:      %lld tokens at most per request\n", (long long)c->max_tokens);
    else
        fprintf(f, "tokens:      - tokens (no limit sent)\n");
    fprintf(f, "p50_latency: %s\n", secs(pct(s->e2e, 50, 1e-9), b2, sizeof b2));
    fprintf(f, "p95_latency: %s\n", secs(pct(s->e2e, 95, 1e-9), b3, sizeof b3));
    fprintf(f, "rps:         %s\n",
            rate(wall > 0 ? (double)s->ok / wall : NAN, "req/s", b1, sizeof b1));
    fprintf(f, "error_rate:  %.2f %%\n",
            s->requests ? 100.0 * (double)s->failed / (double)s->requests : 0.0);
    fprintf(f, "total_time:  %s\n", secs(wall, b2, sizeof b2));
}

static void print_tokens(FILE *f, const struct run_stats *s)
{
    char b[4][48];
    double wall = run_stats_wall_s(s);
    const struct hist *tps = s->request_tps;
    fprintf(f, "Request TPS: mean %s, median %s, p05 %s, p95 %s (output tokens / E2E, "
            "per request)\n",
            rate(hist_mean(tps) * 1e-3, "tok/s", b[0], 48),
            rate(pct(tps, 50, 1e-3), "tok/s", b[1], 48),
            rate(pct(tps, 5, 1e-3), "tok/s", b[2], 48),
            rate(pct(tps, 95, 1e-3), "tok/s", b[3], 48));
    fprintf(f, "Output throughput: %s aggregate (%llu tokens in %s)\n",
            rate(wall > 0 ? (double)s->output_tokens / wall : NAN, "tok/s", b[0], 48),
            (unsigned long long)s->output_tokens, secs(wall, b[1], 48));
    fprintf(f, "Input tokens: %llu tokens\n", (unsigned long long)s->input_tokens);
    double eval = report_eval_rate(s);
    if (isfinite(eval))
        fprintf(f, "Server eval rate (Ollama eval_count / eval_duration): %s\n",
                rate(eval, "tok/s", b[0], 48));

    fprintf(f, "Token count source:");
    int any = 0;
    for (int t = TOK_SERVER; t <= TOK_CHUNKS; t++) {
        if (!s->tok_src_count[t])
            continue;
        fprintf(f, "%s %s %llu requests", any ? "," : "", tok_source_name(t),
                (unsigned long long)s->tok_src_count[t]);
        any = 1;
    }
    fprintf(f, "%s\n", any ? "" : " - (no successful request)");
    if (s->tok_src_count[TOK_CHUNKS])
        fprintf(f, "  (counted from chunks: the server gave no count, so each content "
                "event counts as one token)\n");
    if (s->implausible)
        fprintf(f, "WARNING: %llu requests reported token counts or durations past belief "
                "(over %d x max_tokens or 2^40 tokens, or 2^46 ns): clamped to those bounds\n",
                (unsigned long long)s->implausible, RESULT_TOKENS_PER_MAX);
    const struct hist *tpe = s->tokens_per_event;
    if (hist_count(tpe))
        fprintf(f, "Tokens per event: mean %.2f tok, p50 %.2f tok, max %.2f tok\n",
                hist_mean(tpe) * 1e-3, pct(tpe, 50, 1e-3), (double)hist_max(tpe) * 1e-3);
}

static void print_errors(FILE *f, const struct run_stats *s)
{
    int any = 0;
    for (int c = ERR_NONE + 1; c < ERR__COUNT; c++)
        any |= s->errors[c] != 0;
    if (!any)
        return;
    fprintf(f, "Errors: %llu requests failed\n", (unsigned long long)s->failed);
    for (int c = ERR_NONE + 1; c < ERR__COUNT; c++) {
        if (!s->errors[c])
            continue;
        fprintf(f, "  %-16s %llu requests", err_class_name(c),
                (unsigned long long)s->errors[c]);
        if (s->err_sample[c][0])
            fprintf(f, "  e.g. \"%s\"", s->err_sample[c]);
        /* The engine counts Ctrl-C aborts here without failing them. */
        if (c == ERR_ABORTED)
            fprintf(f, "  (cut off by Ctrl-C: not in the error rate)");
        fputc('\n', f);
    }
}

static void print_client(FILE *f, const struct run_stats *s)
{
    char b1[32], b2[32];
    int bad = report_client_bottleneck(s);
    fprintf(f, "Client self-check: event loop busy %.1f %%, timer lag p99 %s, max %s: %s\n",
            100.0 * s->loop_busy_frac, secs((double)s->loop_lag_p99_ns / 1e9, b1, sizeof b1),
            secs((double)s->loop_lag_max_ns / 1e9, b2, sizeof b2),
            bad ? "CLIENT-BOUND" : "ok");
    double kf = report_stamped_frac(s);
    if (s->rx_kernel)
        fprintf(f, "Event times: kernel receive stamps (%.1f %% of reads; the rest timed at read)\n",
                isnan(kf) ? 0.0 : 100.0 * kf);
    else
        fprintf(f, "Event times: when the client read them (--timestamps read)\n");
    if (!bad)
        return;
    fprintf(f, "WARNING: the client was the bottleneck, not the server:");
    if (s->loop_busy_frac > REPORT_BUSY_LIMIT)
        fprintf(f, " its event loop was busy %.1f %% of the time (limit %.0f %%, %.1f points over);",
                100.0 * s->loop_busy_frac, 100.0 * REPORT_BUSY_LIMIT,
                100.0 * (s->loop_busy_frac - REPORT_BUSY_LIMIT));
    if (s->loop_lag_p99_ns > REPORT_LAG_LIMIT_NS)
        fprintf(f, " its timers fired %s late at p99 (limit %s, %.1fx over);",
                secs((double)s->loop_lag_p99_ns / 1e9, b1, sizeof b1),
                secs((double)REPORT_LAG_LIMIT_NS / 1e9, b2, sizeof b2),
                (double)s->loop_lag_p99_ns / (double)REPORT_LAG_LIMIT_NS);
    if (s->rx_kernel && !isnan(kf) && kf > 0.99)
        fprintf(f, " event times come from the kernel, so TTFT and ITL exclude this delay, but "
                "requests may have been sent up to %s late (p99), so the server saw less load "
                "than asked. Use fewer streams per process or a faster client machine.\n",
                secs((double)s->loop_lag_p99_ns / 1e9, b1, sizeof b1));
    else
        fprintf(f, " latencies may include up to %s of client delay (p99). "
                "Use fewer streams per process or a faster client machine.\n",
                secs((double)s->loop_lag_p99_ns / 1e9, b1, sizeof b1));
}

void report_print_summary(FILE *f, const struct run_config *c, const struct run_stats *s)
{
    print_seed_fields(f, c, s);
    fprintf(f, "\nSamples: %llu ok / %llu failed", (unsigned long long)s->ok,
            (unsigned long long)s->failed);
    if (s->warmup_requests)
        fprintf(f, " (+%llu warm-up requests not counted)",
                (unsigned long long)s->warmup_requests);
    fputc('\n', f);

    fprintf(f, "\n  %-14s %10s %10s %10s %10s %10s %10s %10s   (successful requests)\n",
            "latency", "min", "mean", "p50", "p90", "p95", "p99", "max");
    latency_row(f, "TTFT", s->ttft);
    latency_row(f, "ITL", s->itl);
    latency_row(f, "TPOT", s->tpot);
    latency_row(f, "E2E", s->e2e);
    /* Open loop: the schedule is the truth users experience; these include
     * the time a request waited for a free slot (coordinated omission). */
    if (c->rate > 0) {
        latency_row(f, "queue", s->queue);
        latency_row(f, "TTFT (sched)", s->ttft_sched);
        latency_row(f, "E2E (sched)", s->e2e_sched);
    }
    fputc('\n', f);
    print_tokens(f, s);
    if (s->retries)
        fprintf(f, "Retries: %llu requests re-sent on a fresh connection\n",
                (unsigned long long)s->retries);
    if (s->late)
        fprintf(f, "Late: %llu requests started after their scheduled time "
                "(concurrency cap full)\n", (unsigned long long)s->late);
    print_errors(f, s);
    print_client(f, s);
    if (s->interrupted)
        fprintf(f, "INTERRUPTED (%s): these results cover only the requests that finished "
                "before the stop.\n", s->stop_reason[0] ? s->stop_reason : "interrupted");
    else if (s->stop_reason[0] && strcmp(s->stop_reason, "completed") != 0 &&
             strcmp(s->stop_reason, "duration") != 0)
        fprintf(f, "Stopped early: %s\n", s->stop_reason);
}
