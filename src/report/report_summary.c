/* The terminal summary of a run: the seed script's fields first (people
 * grep for them), then the full picture.  Every number carries its unit. */
#include "report.h"
#include "color.h"

#include <math.h>
#include <string.h>
#include "schedule.h"
#include "units.h"

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

/* Prints the "WARNING: " that starts a warning line (yellow on a colour
 * terminal) and returns f for the rest of the line. */
static FILE *warning(FILE *f)
{
    fprintf(f, "%sWARNING:%s ", color(f, COLOR_YELLOW), color(f, COLOR_RESET));
    return f;
}

static void latency_row(FILE *f, const char *name, const struct hist *h)
{
    struct hist_stats st;
    char b[7][32];
    hist_stats(h, 1e-9, &st);
    fprintf(f, "  %-14s %10s %10s %10s %10s %10s %10s %10s   (%llu %s)\n", name,
            secs(st.min, b[0], 32), secs(st.mean, b[1], 32), secs(st.p50, b[2], 32),
            secs(st.p90, b[3], 32), secs(st.p95, b[4], 32), secs(st.p99, b[5], 32),
            secs(st.max, b[6], 32), (unsigned long long)st.n, st.n == 1 ? "sample" : "samples");
}

/* A latency the client cannot measure in this run: a dash, and why. */
static void absent_row(FILE *f, const char *name, const char *why)
{
    fprintf(f, "  %-14s", name);
    for (int i = 0; i < 7; i++)   /* an em dash is 3 bytes but one column */
        fprintf(f, " %9s\xe2\x80\x94", "");
    fprintf(f, "   (%s)\n", why);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* "30 chars" when every request had the same, else "mean 412 chars (p50
 * 410, max 430)". */
static void count_line(FILE *f, const struct hist *h, const char *unit)
{
    if (hist_min(h) == hist_max(h))
        fprintf(f, "%llu %s", (unsigned long long)hist_max(h), unit);
    else
        fprintf(f, "mean %.1f %s (p50 %llu, max %llu)", hist_mean(h), unit,
                (unsigned long long)hist_percentile(h, 50), (unsigned long long)hist_max(h));
}

/* What each request actually sent: its prompt's length in characters and
 * tokens (the server's count, else the tokenizer's), and max_tokens. */
static void print_sent(FILE *f, const struct run_stats *s)
{
    fprintf(f, "prompt_len:  ");
    if (!hist_count(s->prompt_chars)) {
        fprintf(f, "- chars (no request sent)\n");
    } else {
        /* Characters, not bytes: what the seed script's len(prompt) printed. */
        count_line(f, s->prompt_chars, "chars");
        if (hist_count(s->prompt_tokens)) {
            fprintf(f, ", ");
            count_line(f, s->prompt_tokens, "tokens");
        }
        fputc('\n', f);
    }
    fprintf(f, "tokens:      ");
    if (hist_count(s->max_tokens)) {
        if (hist_min(s->max_tokens) == hist_max(s->max_tokens))
            fprintf(f, "%llu tokens at most per request", (unsigned long long)hist_max(s->max_tokens));
        else
            fprintf(f, "%llu..%llu tokens at most per request (mean %.1f)",
                    (unsigned long long)hist_min(s->max_tokens),
                    (unsigned long long)hist_max(s->max_tokens), hist_mean(s->max_tokens));
        if (s->max_tokens_unset)
            fprintf(f, "; %llu %s sent no limit", (unsigned long long)s->max_tokens_unset,
                    plural(s->max_tokens_unset, "request", "requests"));
        fputc('\n', f);
    } else if (s->max_tokens_unset) {
        fprintf(f, "- tokens (no limit sent)\n");
    } else {
        fprintf(f, "- tokens (no request sent)\n");
    }
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
    fprintf(f, "concurrency: %u %s in flight at most\n", c->concurrency,
            plural(c->concurrency, "request", "requests"));
    fprintf(f, "requests:    %llu %s (%llu ok, %llu failed)\n",
            (unsigned long long)s->requests, plural(s->requests, "request", "requests"),
            (unsigned long long)s->ok, (unsigned long long)s->failed);
    print_sent(f, s);
    fprintf(f, "p50_latency: %s\n", secs(pct(s->e2e, 50, 1e-9), b2, sizeof b2));
    fprintf(f, "p95_latency: %s\n", secs(pct(s->e2e, 95, 1e-9), b3, sizeof b3));
    fprintf(f, "rps:         %s\n",
            rate(wall > 0 ? (double)s->ok / wall : NAN, "req/s", b1, sizeof b1));
    fprintf(f, "error_rate:  %.2f %%\n",
            s->requests ? 100.0 * (double)s->failed / (double)s->requests : 0.0);
    fprintf(f, "total_time:  %s\n", secs(wall, b2, sizeof b2));
}

/* How the run was driven: the API, the load, the workload and its seed. */
static void print_setup(FILE *f, const struct run_config *c, const struct run_stats *s)
{
    char b[48];
    fprintf(f, "api:         %s%s\n", api_name(c->api), c->stream ? "" : " (not streamed)");
    if (c->rate > 0) {
        double offered, achieved;
        char b2[32], b3[32];
        run_stats_rates(s, &offered, &achieved);
        fprintf(f, "load:        open loop, %s asked (%s offered, %s achieved), %s arrivals",
                rate(c->rate, "req/s", b, sizeof b), rate(offered, "req/s", b2, sizeof b2),
                rate(achieved, "req/s", b3, sizeof b3), schedule_arrival_name(c->arrival));
        if (c->arrival == ARRIVAL_GAMMA)
            fprintf(f, " (burstiness %g)", c->burstiness);
        fprintf(f, ", at most %u in flight\n", c->concurrency);
    } else {
        fprintf(f, "load:        closed loop, %u %s in flight\n", c->concurrency,
                plural(c->concurrency, "request", "requests"));
    }
    if (!strncmp(c->url, "https://", 8)) {
        if (c->tls.insecure)
            fprintf(f, "tls:         INSECURE: the server's certificate and name were NOT verified "
                       "(--insecure)\n");
        else
            fprintf(f, "tls:         certificate verified against %s%s\n",
                    c->tls.cacert ? c->tls.cacert : "the system's CA store",
                    c->tls.cert ? ", client certificate sent" : "");
    }
    if (c->workload_desc)
        fprintf(f, "workload:    %s\n", c->workload_desc);
    else if (c->prompt)
        fprintf(f, "workload:    one prompt\n");
    fprintf(f, "run:         %s, seed %llu (%s; --seed %llu repeats it)\n", s->run_id,
            (unsigned long long)c->seed, c->seed_given ? "given" : "drawn",
            (unsigned long long)c->seed);
}

/* How much of the output was reasoning, and the tool calls made. */
static void print_reasoning(FILE *f, const struct run_stats *s)
{
    if (s->reasoning_requests) {
        uint64_t answer = s->output_tokens > s->reasoning_tokens ? s->output_tokens - s->reasoning_tokens : 0;
        fprintf(f, "Reasoning: %llu of %llu output tokens (%.1f %%) in %llu %s, %llu answer tokens "
                "(reasoning count: server %llu, chunks %llu)\n",
                (unsigned long long)s->reasoning_tokens, (unsigned long long)s->output_tokens,
                s->output_tokens ? 100.0 * (double)s->reasoning_tokens / (double)s->output_tokens : 0.0,
                (unsigned long long)s->reasoning_requests,
                plural(s->reasoning_requests, "request", "requests"), (unsigned long long)answer,
                (unsigned long long)s->reasoning_src_count[TOK_SERVER],
                (unsigned long long)s->reasoning_src_count[TOK_CHUNKS]);
    }
    if (s->tool_call_requests)
        fprintf(f, "Tool calls: %llu in %llu %s\n", (unsigned long long)s->tool_calls,
                (unsigned long long)s->tool_call_requests,
                plural(s->tool_call_requests, "request", "requests"));
}

/* What opening connections cost, per connection (docs/metrics.md,
 * "Connections"): a cold TLS connection is slow, and TTFT, which starts
 * at the request's first byte written, does not include it. */
static void print_connections(FILE *f, const struct run_stats *s)
{
    if (!s->conns_opened)
        return;
    fprintf(f, "\n  %-14s %10s %10s %10s %10s %10s %10s %10s   (%llu %s opened",
            "connection", "min", "mean", "p50", "p90", "p95", "p99", "max",
            (unsigned long long)s->conns_opened, plural(s->conns_opened, "connection", "connections"));
    if (s->tls_handshakes)
        fprintf(f, ", %llu TLS %s resumed", (unsigned long long)s->tls_resumed,
                plural(s->tls_resumed, "session", "sessions"));
    fprintf(f, ")\n");
    latency_row(f, "connect", s->connect);
    if (s->tls_handshakes)
        latency_row(f, "TLS handshake", s->tls_handshake);
}

/* The server's output counts against the local tokenizer's, and replies
 * shorter than the exact length asked for. */
static void print_token_check(FILE *f, const struct run_stats *s)
{
    if (s->tok_compared) {
        fprintf(f, "Token counts, local tokenizer vs server: differ in %llu of %llu %s, "
                "mean %.1f %%, max %.1f %%\n", (unsigned long long)s->tok_differ,
                (unsigned long long)s->tok_compared, plural(s->tok_compared, "request", "requests"),
                100.0 * s->tok_diff_sum / (double)s->tok_compared, 100.0 * s->tok_diff_max);
        if (report_token_warning(s))
            fprintf(warning(f), "the local tokenizer's counts differ from the server's by %.1f %% "
                    "on average (more than %.0f %%): it is not the model's tokenizer, so counts "
                    "taken from it%s are wrong.\n", 100.0 * s->tok_diff_sum / (double)s->tok_compared,
                    100.0 * RESULT_TOKEN_DIFF_WARN,
                    s->tok_src_count[TOK_TOKENIZER] ? " (--force-tokenizer: every count here)" : "");
    }
    if (s->context_truncated)
        fprintf(warning(f), "the server cut the prompt of %llu %s to fit its context "
                "(llama.cpp's \"truncated\"): those requests answered a shorter prompt than "
                "the one sent.\n", (unsigned long long)s->context_truncated,
                plural(s->context_truncated, "request", "requests"));
    if (s->short_outputs)
        fprintf(warning(f), "%llu %s returned fewer tokens than the exact length asked for "
                "(--output-tokens with ignore_eos): the server cut them short, most likely at "
                "its context length.\n", (unsigned long long)s->short_outputs,
                plural(s->short_outputs, "request", "requests"));
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
        fprintf(f, "Server eval rate (tokens generated / decode time, as the server reported "
                "them): %s\n", rate(eval, "tok/s", b[0], 48));
    const struct hist *cached = s->srv_cached;
    if (hist_count(cached))
        fprintf(f, "Cached prompt tokens (server): mean %.1f tok, p50 %llu tok, max %llu tok "
                "(%.0f of %llu prompt tokens)\n", hist_mean(cached),
                (unsigned long long)hist_percentile(cached, 50),
                (unsigned long long)hist_max(cached), hist_sum(cached),
                (unsigned long long)s->input_tokens);

    fprintf(f, "Token count source:");
    int any = 0;
    for (int t = TOK_SERVER; t <= TOK_CHUNKS; t++) {
        if (!s->tok_src_count[t])
            continue;
        fprintf(f, "%s %s %llu %s", any ? "," : "", tok_source_name(t),
                (unsigned long long)s->tok_src_count[t],
                plural(s->tok_src_count[t], "request", "requests"));
        any = 1;
    }
    fprintf(f, "%s\n", any ? "" : " - (no successful request)");
    print_reasoning(f, s);
    if (s->tok_src_count[TOK_CHUNKS])
        fprintf(f, "  (counted from chunks: the server gave no count, so each content "
                "event counts as one token)\n");
    if (s->implausible)
        fprintf(warning(f), "%llu requests reported token counts or durations past belief "
                "(over %d x max_tokens or 2^40 tokens, or 2^46 ns): clamped to those bounds\n",
                (unsigned long long)s->implausible, RESULT_TOKENS_PER_MAX);
    const struct hist *tpe = s->tokens_per_event;
    if (hist_count(tpe))
        fprintf(f, "Tokens per event: mean %.2f tok, p50 %.2f tok, max %.2f tok\n",
                hist_mean(tpe) * 1e-3, pct(tpe, 50, 1e-3), (double)hist_max(tpe) * 1e-3);
    print_token_check(f, s);
}

/* The server's own timings under the latency table: what its clock saw,
 * and what it did not (TTFT - prefill: queueing, load, network). */
static void print_server_rows(FILE *f, const struct run_stats *s)
{
    if (!hist_count(s->srv_prefill) && !hist_count(s->srv_decode) && !hist_count(s->srv_load))
        return;
    fprintf(f, "  server-side timings, as the server reported them:\n");
    if (hist_count(s->srv_prefill))
        latency_row(f, "prefill", s->srv_prefill);
    if (hist_count(s->srv_decode))
        latency_row(f, "decode/token", s->srv_decode);
    if (hist_count(s->srv_load))
        latency_row(f, "load", s->srv_load);
    if (hist_count(s->ttft_minus_prefill))
        latency_row(f, "TTFT - prefill", s->ttft_minus_prefill);
    if (hist_count(s->ttft_server)) {
        latency_row(f, "TTFT server", s->ttft_server);
        latency_row(f, "TTFT rest", s->ttft_rest);
    }
}


static void print_errors(FILE *f, const struct run_stats *s)
{
    int any = 0;
    for (int c = ERR_NONE + 1; c < ERR__COUNT; c++)
        any |= s->errors[c] != 0;
    if (!any)
        return;
    fprintf(f, "%sErrors:%s %llu %s failed\n", color(f, COLOR_RED), color(f, COLOR_RESET),
            (unsigned long long)s->failed,
            plural(s->failed, "request", "requests"));
    for (int c = ERR_NONE + 1; c < ERR__COUNT; c++) {
        if (!s->errors[c])
            continue;
        fprintf(f, "  %-16s %llu %s", err_class_name(c), (unsigned long long)s->errors[c],
                plural(s->errors[c], "request", "requests"));
        if (s->err_sample[c][0])
            fprintf(f, "  e.g. \"%s\"", s->err_sample[c]);
        /* The engine counts Ctrl-C aborts here without failing them. */
        if (c == ERR_ABORTED)
            fprintf(f, "  (cut off by Ctrl-C: not in the error rate)");
        fputc('\n', f);
    }
}

/* Goodput under the per-request limits (docs/metrics.md, "Goodput"). */
static void print_slo(FILE *f, const struct run_stats *s)
{
    if (!s->slo.n)
        return;
    const struct slo_tally *t = &s->slo_tally;
    struct slo_result r;
    slo_result(&s->slo, t, run_stats_wall_s(s), &r);
    fprintf(f, "SLO %s: %llu of %llu requests good", s->slo.text, (unsigned long long)t->good,
            (unsigned long long)t->judged);
    if (isfinite(r.attainment))
        fprintf(f, ", attainment %.1f %% (95%% CI %.1f-%.1f %%)", 100 * r.attainment, 100 * r.lo,
                100 * r.hi);
    fputc('\n', f);
    char b1[48], b2[48];
    fprintf(f, "  goodput %s, %s\n", rate(r.goodput_rps, "good requests/s", b1, sizeof b1),
            rate(r.goodput_tps, "good tokens/s", b2, sizeof b2));
    if (t->judged > t->good) {
        const char *sep = " ";
        fprintf(f, "  missed:");
        if (t->errors) {
            fprintf(f, " %llu failed", (unsigned long long)t->errors);
            sep = ", ";
        }
        for (int k = 0; k < SLO__N; k++) {
            if (s->slo.lim[k].set && t->miss[k]) {
                fprintf(f, "%s%s %llu", sep, slo_kind_name(k), (unsigned long long)t->miss[k]);
                sep = ", ";
            }
        }
        if (r.binding >= 0)
            fprintf(f, "; binding: %s", slo_kind_name(r.binding));
        fputc('\n', f);
    }
    if (t->cut || s->unsent)
        fprintf(f, "  not judged: %llu cut off in flight, %llu arrivals never sent\n",
                (unsigned long long)t->cut, (unsigned long long)s->unsent);
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
    fprintf(warning(f), "the client was the bottleneck, not the server:");
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
                "than asked. Spread the streams over more processes (--workers N, or --shard I/N on "
                "several machines) or use a faster client machine.\n",
                secs((double)s->loop_lag_p99_ns / 1e9, b1, sizeof b1));
    else
        fprintf(f, " latencies may include up to %s of client delay (p99). "
                "Spread the streams over more processes (--workers N, or --shard I/N on several "
                "machines) or use a faster client machine.\n",
                secs((double)s->loop_lag_p99_ns / 1e9, b1, sizeof b1));
}

void report_print_summary(FILE *f, const struct run_config *c, const struct run_stats *s)
{
    print_seed_fields(f, c, s);
    print_setup(f, c, s);
    fprintf(f, "\n%sSamples:%s %llu ok / %llu failed", color(f, COLOR_BOLD), color(f, COLOR_RESET),
            (unsigned long long)s->ok, (unsigned long long)s->failed);
    if (s->warmup_requests)
        fprintf(f, " (+%llu warm-up %s not counted)", (unsigned long long)s->warmup_requests,
                plural(s->warmup_requests, "request", "requests"));
    fputc('\n', f);

    fprintf(f, "\n%s  %-14s %10s %10s %10s %10s %10s %10s %10s%s   (successful requests)\n",
            color(f, COLOR_BOLD), "latency", "min", "mean", "p50", "p90", "p95", "p99", "max",
            color(f, COLOR_RESET));
    if (c->stream) {
        latency_row(f, "TTFT", s->ttft);
        /* A reasoning model thinks before it answers: both starts, only
         * when some request reasoned (else TTFT is the answer's). */
        if (hist_count(s->ttft_reasoning)) {
            latency_row(f, "TTFT reasoning", s->ttft_reasoning);
            latency_row(f, "TTFT output", s->ttft_output);
        }
        latency_row(f, "ITL", s->itl);
        latency_row(f, "TPOT", s->tpot);
    } else {
        /* A body that arrives whole has no first token and no gaps. */
        absent_row(f, "TTFT", "not streamed");
        absent_row(f, "ITL", "not streamed");
        absent_row(f, "TPOT", "not streamed");
    }
    latency_row(f, "E2E", s->e2e);
    latency_row(f, "TTFB", s->ttfb);
    /* Open loop: the schedule is the truth users experience; these include
     * the time a request waited for a free slot (coordinated omission). */
    if (c->rate > 0) {
        latency_row(f, "queue", s->queue);
        latency_row(f, "TTFT (sched)", s->ttft_sched);
        latency_row(f, "E2E (sched)", s->e2e_sched);
    }
    print_server_rows(f, s);
    print_connections(f, s);
    fputc('\n', f);
    print_tokens(f, s);
    if (s->retries)
        fprintf(f, "Retries: %llu %s re-sent on a fresh connection\n",
                (unsigned long long)s->retries, plural(s->retries, "request", "requests"));
    if (s->late)
        fprintf(f, "Late: %llu requests started after their scheduled time "
                "(concurrency cap full)\n", (unsigned long long)s->late);
    print_errors(f, s);
    print_slo(f, s);
    print_client(f, s);
    if (s->interrupted)
        fprintf(f, "INTERRUPTED: these results cover only the requests that finished "
                "before the stop.\n");
    else if (s->stop_reason[0] && strcmp(s->stop_reason, "completed") != 0 &&
             strcmp(s->stop_reason, "duration") != 0)
        fprintf(f, "Stopped early: %s\n", s->stop_reason);
}
