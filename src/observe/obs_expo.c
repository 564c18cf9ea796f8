/* Prometheus and OpenMetrics exposition of a run (obs_expo.h). */
#include "obs_expo.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "obs_monitor.h"

const double obs_buckets_s[] = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
    1, 2, 5, 10, 20, 50, 100, 200, 600,
};
#define NBUCKETS (sizeof obs_buckets_s / sizeof obs_buckets_s[0])
const size_t obs_nbuckets = NBUCKETS;

/* Longest label value kept (before escaping): a URL or a model name never
 * needs more, and it bounds the size of every sample line. */
#define LABEL_VALUE_MAX 512

struct w {
    FILE *f;
    enum obs_format fmt;
    char run[4 * (2 * LABEL_VALUE_MAX + 16)];    /* the constant labels, escaped */
};

void obs_live_init(struct obs_live *l)
{
    memset(l, 0, sizeof *l);
    l->start_unix_s = l->elapsed_s = NAN;
    l->loop_busy_frac = l->loop_lag_max_s = l->loop_lag_p99_s = NAN;
}

void obs_live_from_stats(struct obs_live *l, const struct run_stats *s)
{
    l->ok = s->ok;
    l->failed = s->failed;
    memcpy(l->errors, s->errors, sizeof l->errors);
    l->input_tokens = s->input_tokens;
    l->output_tokens = s->output_tokens;
    l->retries = s->retries;
    l->late = s->late;
    l->ttft = s->ttft;
    l->itl = s->itl;
    l->tpot = s->tpot;
    l->e2e = s->e2e;
    l->queue_time = s->queue;
}

const char *obs_content_type(enum obs_format fmt)
{
    return fmt == OBS_FMT_OPENMETRICS ? OBS_CT_OPENMETRICS : OBS_CT_PROMETHEUS;
}

int obs_label_name_ok(const char *name)
{
    if (!name || !*name || (name[0] == '_' && name[1] == '_'))
        return 0;
    for (const char *p = name; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
        if (!alpha && !(p > name && *p >= '0' && *p <= '9'))
            return 0;
    }
    return 1;
}

/* s as an escaped label value into dst (room for 2 * LABEL_VALUE_MAX + 1).
 * Cleaning first leaves no line break or control character, so only the
 * quote and the backslash need escaping. */
static void escape_value(char *dst, const char *s)
{
    char clean[LABEL_VALUE_MAX + 1];
    size_t o = 0;
    result_text_clean(clean, sizeof clean, s);
    for (const char *p = clean; *p; p++) {
        if (*p == '"' || *p == '\\')
            dst[o++] = '\\';
        dst[o++] = *p;
    }
    dst[o] = '\0';
}

void obs_put_label_value(FILE *f, const char *s)
{
    char esc[2 * LABEL_VALUE_MAX + 1];
    escape_value(esc, s);
    fputs(esc, f);
}

static void add_run_label(struct w *w, const char *name, const char *value)
{
    char esc[2 * LABEL_VALUE_MAX + 1];
    if (!value || !*value)
        return;
    escape_value(esc, value);
    size_t n = strlen(w->run);
    snprintf(w->run + n, sizeof w->run - n, "%s%s=\"%s\"", n ? "," : "", name, esc);
}

/* A value as Prometheus and OpenMetrics both read it: integers without an
 * exponent, others in the shortest form that reads back the same. */
static void put_value(FILE *f, double v)
{
    char buf[40];
    if (isnan(v)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "+Inf" : "-Inf", f);
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        fprintf(f, "%.0f", v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

/* HELP and TYPE of a family (and UNIT in OpenMetrics).  OpenMetrics names a
 * counter's family without its _total and an info's without its _info; the
 * 0.0.4 format has no info type and calls it a gauge. */
static void family(struct w *w, const char *name, const char *type, const char *help)
{
    size_t n = strlen(name);
    if (w->fmt == OBS_FMT_OPENMETRICS) {
        const char *suffix = !strcmp(type, "counter") ? "_total" : !strcmp(type, "info") ? "_info" : "";
        size_t sl = strlen(suffix);
        assert(n > sl && !strcmp(name + n - sl, suffix));
        n -= sl;
    } else if (!strcmp(type, "info")) {
        type = "gauge";
    }
    fprintf(w->f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
    if (w->fmt == OBS_FMT_OPENMETRICS && n > 8 && !strncmp(name + n - 8, "_seconds", 8))
        fprintf(w->f, "# UNIT %.*s seconds\n", (int)n, name);
}

/* name+suffix{run labels, extra} and the space before the value.  extra is
 * "k=\"v\"" or NULL. */
static void sample_key(struct w *w, const char *name, const char *suffix, const char *extra)
{
    int has_run = w->run[0] != '\0', has_extra = extra && *extra;
    fputs(name, w->f);
    fputs(suffix, w->f);
    if (has_run || has_extra)
        fprintf(w->f, "{%s%s%s}", w->run, has_run && has_extra ? "," : "", has_extra ? extra : "");
    fputc(' ', w->f);
}

static void sample(struct w *w, const char *name, const char *suffix, const char *extra, double v)
{
    sample_key(w, name, suffix, extra);
    put_value(w->f, v);
    fputc('\n', w->f);
}

/* A time measured in whole nanoseconds, in seconds without the rounding
 * noise of a float product (0.023627058, not 0.023627058000000003). */
static void sample_ns(struct w *w, const char *name, const char *suffix, const char *extra,
                      uint64_t ns)
{
    char frac[16];
    int n = snprintf(frac, sizeof frac, "%09llu", (unsigned long long)(ns % 1000000000));
    while (n > 0 && frac[n - 1] == '0')
        frac[--n] = '\0';
    sample_key(w, name, suffix, extra);
    fprintf(w->f, "%llu%s%s\n", (unsigned long long)(ns / 1000000000), n ? "." : "", frac);
}

static void scalar(struct w *w, const char *name, const char *type, const char *help, double v)
{
    family(w, name, type, help);
    sample(w, name, "", NULL, v);
}

static void histogram(struct w *w, const char *name, const char *help, const struct hist *h)
{
    uint64_t le_ns[NBUCKETS], cum[NBUCKETS];
    char le[48];
    for (size_t k = 0; k < NBUCKETS; k++)
        le_ns[k] = (uint64_t)llround(obs_buckets_s[k] * 1e9);
    hist_cumulative(h, le_ns, NBUCKETS, cum);
    family(w, name, "histogram", help);
    for (size_t k = 0; k < NBUCKETS; k++) {
        /* the bound as the value writer prints it, with a ".0" on integers
         * so that both formats see the same canonical float */
        char v[32];
        snprintf(v, sizeof v, "%g", obs_buckets_s[k]);
        snprintf(le, sizeof le, "le=\"%s%s\"", v, strpbrk(v, ".e") ? "" : ".0");
        sample(w, name, "_bucket", le, (double)cum[k]);
    }
    uint64_t n = hist_count(h);
    sample(w, name, "_bucket", "le=\"+Inf\"", (double)n);
    sample_ns(w, name, "_sum", NULL, n ? (uint64_t)llround(hist_mean(h) * (double)n) : 0);
    sample(w, name, "_count", NULL, (double)n);
}

static const struct lat {
    const char *key;                    /* the percentile family's metric label */
    const char *name, *help;
    size_t off;
} lats[] = {
    { "ttft", "llmload_time_to_first_token_seconds",
      "Time from the request's first byte sent to its first content event.",
      offsetof(struct obs_live, ttft) },
    { "itl", "llmload_inter_token_latency_seconds",
      "Time between consecutive content events of a stream.",
      offsetof(struct obs_live, itl) },
    { "tpot", "llmload_time_per_output_token_seconds",
      "Per request: (E2E - TTFT) / (output tokens - 1).",
      offsetof(struct obs_live, tpot) },
    { "e2e", "llmload_request_duration_seconds",
      "End-to-end latency of a successful request.",
      offsetof(struct obs_live, e2e) },
    { "queue", "llmload_queue_time_seconds",
      "Open loop: time an arrival waited for the concurrency cap.",
      offsetof(struct obs_live, queue_time) },
};

static const struct hist *lat_hist(const struct obs_live *l, const struct lat *t)
{
    return *(const struct hist *const *)(const void *)((const char *)l + t->off);
}

static void percentiles(struct w *w, const struct obs_live *l)
{
    static const struct { const char *label; size_t off; } ps[] = {
        { "50", offsetof(struct hist_stats, p50) }, { "90", offsetof(struct hist_stats, p90) },
        { "95", offsetof(struct hist_stats, p95) }, { "99", offsetof(struct hist_stats, p99) },
    };
    int any = 0;
    for (size_t i = 0; i < sizeof lats / sizeof lats[0]; i++) {
        const struct hist *h = lat_hist(l, &lats[i]);
        struct hist_stats st;
        char extra[64];
        if (!h || hist_count(h) == 0)
            continue;
        if (!any++)
            family(w, "llmload_latency_percentile_seconds", "gauge",
                   "Nearest-rank percentiles of the run so far (exact up to 4096 samples, "
                   "then within 0.1%).");
        hist_stats(h, 1, &st);          /* whole nanoseconds */
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            snprintf(extra, sizeof extra, "metric=\"%s\",percentile=\"%s\"", lats[i].key,
                     ps[k].label);
            sample_ns(w, "llmload_latency_percentile_seconds", "", extra,
                      (uint64_t)*(const double *)(const void *)((const char *)&st + ps[k].off));
        }
    }
}

/* The monitor's latest sample, a series per label value (a bounded set:
 * the server's own unknown metrics are left out). */
static void monitor_values(struct w *w, const struct obs_monitor *m)
{
    const char *name;
    double v;
    char extra[128];
    int any = 0;
    for (size_t i = 0; obs_monitor_latest(m, i, &name, &v); i++) {
        if (isnan(v) || !strncmp(name, "metric:", 7))
            continue;
        if (!any++)
            family(w, "llmload_monitor", "gauge",
                   "The resource monitor's latest sample, by series (docs/observability.md).");
        snprintf(extra, sizeof extra, "series=\"%.100s\"", name);
        sample(w, "llmload_monitor", "", extra, v);
    }
}

int obs_expo_write(FILE *f, const struct obs_live *l, enum obs_format fmt)
{
    struct w w = { .f = f, .fmt = fmt };
    char extra[96];
    add_run_label(&w, "target", l->labels.target);
    add_run_label(&w, "model", l->labels.model);
    add_run_label(&w, "api", l->labels.api);
    add_run_label(&w, "run_id", l->labels.run_id);

    family(&w, "llmload_build_info", "info", "The llmload version that measured.");
    sample(&w, "llmload_build_info", "", "version=\"" LLMLOAD_VERSION "\"", 1);
    if (!isnan(l->start_unix_s))
        scalar(&w, "llmload_run_start_time_seconds", "gauge",
               "Wall clock at the start of the run (Unix seconds).", l->start_unix_s);
    if (!isnan(l->elapsed_s))
        scalar(&w, "llmload_run_elapsed_seconds", "gauge",
               "Measured time so far (warm-up excluded).", l->elapsed_s);
    scalar(&w, "llmload_run_finished", "gauge",
           "1 when the run is over and these are its final values.", l->finished ? 1 : 0);

    family(&w, "llmload_requests_total", "counter",
           "Finished requests (warm-up excluded), by outcome.");
    sample(&w, "llmload_requests_total", "", "outcome=\"ok\"", (double)l->ok);
    sample(&w, "llmload_requests_total", "", "outcome=\"error\"", (double)l->failed);
    family(&w, "llmload_request_errors_total", "counter", "Failed requests by error class.");
    for (int c = ERR_NONE + 1; c < ERR__COUNT; c++) {
        snprintf(extra, sizeof extra, "class=\"%s\"", err_class_name((enum err_class)c));
        sample(&w, "llmload_request_errors_total", "", extra, (double)l->errors[c]);
    }
    scalar(&w, "llmload_request_retries_total", "counter",
           "Requests re-sent once on a fresh connection after a reused one failed.",
           (double)l->retries);
    scalar(&w, "llmload_requests_late_total", "counter",
           "Open loop: arrivals that had to wait for the concurrency cap.", (double)l->late);
    scalar(&w, "llmload_input_tokens_total", "counter",
           "Prompt tokens of successful requests.", (double)l->input_tokens);
    scalar(&w, "llmload_output_tokens_total", "counter",
           "Output tokens of successful requests.", (double)l->output_tokens);
    scalar(&w, "llmload_requests_in_flight", "gauge",
           "Requests being sent or read now.", (double)l->in_flight);
    scalar(&w, "llmload_requests_queued", "gauge",
           "Open loop: arrivals waiting for the concurrency cap now.", (double)l->queued);
    if (l->concurrency)
        scalar(&w, "llmload_concurrency_limit", "gauge",
               "The cap on requests in flight.", (double)l->concurrency);

    for (size_t i = 0; i < sizeof lats / sizeof lats[0]; i++) {
        const struct hist *h = lat_hist(l, &lats[i]);
        if (h)
            histogram(&w, lats[i].name, lats[i].help, h);
    }
    percentiles(&w, l);

    if (l->sweep_param) {
        char esc[2 * LABEL_VALUE_MAX + 1];
        escape_value(esc, l->sweep_param);
        family(&w, "llmload_sweep_level", "gauge",
               "The swept parameter's value at the level being measured.");
        snprintf(extra, sizeof extra, "parameter=\"%.60s\"", esc);
        sample(&w, "llmload_sweep_level", "", extra, l->sweep_level);
        scalar(&w, "llmload_sweep_level_index", "gauge",
               "0-based index of the level being measured.", (double)l->sweep_index);
    }
    if (!isnan(l->loop_busy_frac))
        scalar(&w, "llmload_client_loop_busy_ratio", "gauge",
               "Client self-check: share of time the event loop was not idle.",
               l->loop_busy_frac);
    if (!isnan(l->loop_lag_max_s))
        scalar(&w, "llmload_client_loop_lag_max_seconds", "gauge",
               "Client self-check: worst timer drift of the event loop.", l->loop_lag_max_s);
    if (!isnan(l->loop_lag_p99_s))
        scalar(&w, "llmload_client_loop_lag_p99_seconds", "gauge",
               "Client self-check: 99th percentile of the event loop's timer drift.",
               l->loop_lag_p99_s);
    if (l->monitor)
        monitor_values(&w, l->monitor);
    if (fmt == OBS_FMT_OPENMETRICS)
        fputs("# EOF\n", f);
    return ferror(f) ? -1 : 0;
}
