/* The tables and the plain-language reading of each section. */
#include "render_table.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "jdoc.h"
#include "units.h"

/* ---- construction ---- */

static struct rtable *table_add(struct rtables *ts, const char *title, int numeric_from,
                                size_t ncols, const char *const *header)
{
    struct rtable *t = fig_grow(&ts->t, ts->n, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->numeric_from = numeric_from;
    if (!(t->title = strdup(title)) || !(t->cell = calloc(ncols, sizeof *t->cell))) {
        free(t->title);
        return NULL;
    }
    ts->n++;
    for (size_t c = 0; c < ncols; c++)
        if (!(t->cell[c] = strdup(header[c])))
            return NULL;
    return t;
}

/* Appends a row of t->ncols strings (NULL is shown as "-"). */
static int table_row(struct rtable *t, const char *const *cells)
{
    char **c = realloc(t->cell, (t->nrows + 2) * t->ncols * sizeof *c);
    if (!c)
        return -1;
    t->cell = c;
    c += (t->nrows + 1) * t->ncols;
    for (size_t i = 0; i < t->ncols; i++)
        c[i] = NULL;
    t->nrows++;
    for (size_t i = 0; i < t->ncols; i++)
        if (!(c[i] = strdup(cells[i] ? cells[i] : "-")))
            return -1;
    return 0;
}

const char *rtable_at(const struct rtable *t, size_t row, size_t col)
{
    return t->cell[row * t->ncols + col];
}

static void table_clear(struct rtable *t)
{
    if (t->cell)
        for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
            free(t->cell[i]);
    free(t->cell);
    free(t->title);
}

void rtable_free(struct rtable *t)
{
    if (!t)
        return;
    table_clear(t);
    free(t);
}

void rtables_free(struct rtables *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        table_clear(&ts->t[i]);
    free(ts->t);
    for (size_t i = 0; i < ts->nlines; i++)
        free(ts->lines[i]);
    free(ts->lines);
    memset(ts, 0, sizeof *ts);
}

static int line_add(struct rtables *ts, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int line_add(struct rtables *ts, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **l = fig_grow(&ts->lines, ts->nlines, sizeof *l);
    if (!l || !(*l = strdup(buf)))
        return -1;
    ts->nlines++;
    return 0;
}

struct rtable *rtable_kv(const cJSON *obj, const char *title)
{
    struct rtables one = { 0 };
    static const char *const hdr[] = { "setting", "value" };
    struct rtable *t = table_add(&one, title, 2, 2, hdr);
    if (!t)
        goto oom;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        char buf[64];
        const char *v;
        if (cJSON_IsString(it))
            v = it->valuestring;
        else if (cJSON_IsNumber(it))
            snprintf(buf, sizeof buf, "%.10g", it->valuedouble), v = buf;
        else if (cJSON_IsBool(it))
            v = cJSON_IsTrue(it) ? "true" : "false";
        else if (cJSON_IsNull(it))
            v = "null";
        else
            continue;
        const char *row[] = { it->string ? it->string : "", v };
        if (table_row(t, row) < 0)
            goto oom;
    }
    return one.t;   /* the one table, allocated alone */
oom:
    rtables_free(&one);
    return NULL;
}

/* ---- formatting ---- */

static const char *secs(double v, char *b, size_t cap)
{
    return units_fmt_seconds(v, b, cap);
}

static const char *num(double v, char *b, size_t cap)
{
    return rfmt_num(v, b, cap);
}

static const char *count(double v, char *b, size_t cap)
{
    if (!isfinite(v))
        snprintf(b, cap, "-");
    else
        snprintf(b, cap, "%.0f", v);
    return b;
}

static const char *pct(double frac, char *b, size_t cap)
{
    if (!isfinite(frac))
        snprintf(b, cap, "-");
    else
        snprintf(b, cap, "%.1f%%", 100 * frac);
    return b;
}

static const cJSON *summary_of(const struct rsrc *r)
{
    return cJSON_GetObjectItemCaseSensitive(r->doc, "summary");
}

/* ---- runs ---- */

static int run_tables(const struct rsec *s, struct rtables *ts)
{
    static const char *const sh[] = { "run", "requests", "ok", "failed", "duration", "output tok/s",
                                      "req/s", "tok/s per request" };
    struct rtable *t = table_add(ts, "Summary", 1, 8, sh);
    if (!t)
        return -1;
    for (size_t k = 0; k < s->nsrc; k++) {
        const cJSON *sum = summary_of(&s->src[k]);
        char b[7][32];
        const char *row[] = { s->src[k].name, count(rsum_num(sum, "requests", NULL), b[0], 32),
                              count(rsum_num(sum, "ok", NULL), b[1], 32),
                              count(rsum_num(sum, "failed", NULL), b[2], 32),
                              secs(rsum_num(sum, "duration_s", NULL), b[3], 32),
                              num(rsum_num(sum, "output_tps", NULL), b[4], 32),
                              num(rsum_num(sum, "rps", NULL), b[5], 32),
                              num(rsum_num(sum, "request_tps", "mean"), b[6], 32) };
        if (table_row(t, row) < 0)
            return -1;
    }
    /* Then the server's own timings, where it reported them (in "server"). */
    static const char *const metrics[][3] = {
        { NULL, "ttft", "TTFT" }, { NULL, "itl", "ITL" }, { NULL, "tpot", "TPOT" },
        { NULL, "e2e", "E2E" }, { NULL, "queue_time", "queue time" },
        { "server", "prefill", "server prefill" },
        { "server", "decode_per_token", "server decode/token" },
        { "server", "load", "server load" },
        { "server", "ttft_minus_prefill", "TTFT - server prefill" },
    };
    static const char *const stats[] = { "min", "mean", "p50", "p90", "p95", "p99", "max" };
    for (size_t k = 0; k < s->nsrc; k++) {
        static const char *const lh[] = { "latency", "n", "min", "mean", "p50", "p90", "p95", "p99", "max" };
        char title[300];
        snprintf(title, sizeof title, "Latency percentiles%s%s", s->nsrc > 1 ? ": " : "",
                 s->nsrc > 1 ? s->src[k].name : "");
        if (!(t = table_add(ts, title, 1, 9, lh)))
            return -1;
        const cJSON *sum = summary_of(&s->src[k]);
        for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
            const cJSON *in = metrics[m][0] ? cJSON_GetObjectItemCaseSensitive(sum, metrics[m][0]) : sum;
            double n = rsum_num(in, metrics[m][1], "n");
            if (!(n > 0) || (m == 4 && !(jdoc_num(s->src[k].config, "rate") > 0)))
                continue;   /* queue time means something in open loop only */
            char b[8][32];
            const char *row[9] = { metrics[m][2], count(n, b[7], 32) };
            for (size_t i = 0; i < 7; i++)
                row[i + 2] = secs(rsum_num(in, metrics[m][1], stats[i]), b[i], 32);
            if (table_row(t, row) < 0)
                return -1;
        }
    }
    for (size_t k = 0; k < s->nsrc; k++) {
        const cJSON *sum = summary_of(&s->src[k]);
        const cJSON *errs = cJSON_GetObjectItemCaseSensitive(sum, "errors");
        if (!cJSON_GetArraySize(errs))
            continue;
        static const char *const eh[] = { "class", "requests", "first message" };
        char title[300];
        snprintf(title, sizeof title, "Errors%s%s", s->nsrc > 1 ? ": " : "", s->nsrc > 1 ? s->src[k].name : "");
        if (!(t = table_add(ts, title, 1, 3, eh)))
            return -1;
        t->text_last = 1;
        const cJSON *e;
        cJSON_ArrayForEach(e, errs) {
            char b[32];
            const char *row[] = { e->string, count(cJSON_IsNumber(e) ? e->valuedouble : NAN, b, sizeof b),
                                  jdoc_str(cJSON_GetObjectItemCaseSensitive(sum, "error_samples"), e->string) };
            if (table_row(t, row) < 0)
                return -1;
        }
    }
    /* The reading. */
    for (size_t k = 0; k < s->nsrc; k++) {
        const cJSON *sum = summary_of(&s->src[k]);
        const char *who = s->nsrc > 1 ? s->src[k].name : "";
        const char *sep = s->nsrc > 1 ? ": " : "";
        double p50 = rsum_num(sum, "ttft", "p50"), p99 = rsum_num(sum, "ttft", "p99");
        double req = rsum_num(sum, "requests", NULL), failed = rsum_num(sum, "failed", NULL);
        char b1[32], b2[32], b3[32];
        if (p50 > 0 && isfinite(p99) &&
            line_add(ts, "%s%sTTFT p99 is %.1fx its median (%s against %s)%s", who, sep, p99 / p50,
                     secs(p99, b1, 32), secs(p50, b2, 32),
                     p99 / p50 >= 3 ? ": a slow tail, worth a look at the timeline" : ": a steady first token") < 0)
            return -1;
        if (req > 0 && failed > 0) {
            const cJSON *e, *most = NULL;
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sum, "errors"))
                if (!most || e->valuedouble > most->valuedouble)
                    most = e;
            if (line_add(ts, "%s%s%s of the requests failed, mostly %s", who, sep, pct(failed / req, b3, 32),
                         most ? most->string : "?") < 0)
                return -1;
        } else if (req > 0 && line_add(ts, "%s%severy request succeeded", who, sep) < 0)
            return -1;
        const cJSON *client = cJSON_GetObjectItemCaseSensitive(sum, "client");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(client, "bottleneck")) &&
            line_add(ts, "%s%sthe client's event loop was busy %s of the time: this machine may have "
                     "limited the numbers", who, sep, pct(jdoc_num(client, "loop_busy_frac"), b1, 32)) < 0)
            return -1;
    }
    for (size_t k = 1; k < s->nsrc; k++) {
        const cJSON *a = summary_of(&s->src[0]), *b = summary_of(&s->src[k]);
        double ta = rsum_num(a, "output_tps", NULL), tb = rsum_num(b, "output_tps", NULL);
        double la = rsum_num(a, "ttft", "p95"), lb = rsum_num(b, "ttft", "p95");
        if (ta > 0 && la > 0 &&
            line_add(ts, "%s against %s: output throughput %.2fx, TTFT p95 %.2fx", s->src[k].name,
                     s->src[0].name, tb / ta, lb / la) < 0)
            return -1;
    }
    return 0;
}

/* ---- sweeps and compares ---- */

static const char *unit_word(const char *param)
{
    if (!strcmp(param, "concurrency"))
        return " users";
    if (!strcmp(param, "rate"))
        return " requests/s";
    return "";
}

static int sweep_tables(const struct rsec *s, struct rtables *ts)
{
    static const char *const hdr[] = { "level", "tok/s", "tok/s/user", "req/s", "TTFT p50", "TTFT p95",
                                       "TTFT p99", "E2E mean", "E2E p95", "E2E p99", "success", "SLO" };
    for (size_t k = 0; k < s->nsrc; k++) {
        char title[300];
        snprintf(title, sizeof title, "%s by %s%s%s", s->compare ? "Results" : "Levels", s->param,
                 s->nsrc > 1 ? ": " : "", s->nsrc > 1 ? s->src[k].name : "");
        struct rtable *t = table_add(ts, title, 1, 12, hdr);
        if (!t)
            return -1;
        const cJSON *lv;
        cJSON_ArrayForEach(lv, cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "levels")) {
            const cJSON *sum = rlevel_summary(lv);
            const cJSON *slo = cJSON_GetObjectItemCaseSensitive(lv, "slo_ok");
            double req = rsum_num(sum, "requests", NULL), ok = rsum_num(sum, "ok", NULL);
            char b[12][64];
            const char *row[] = { rlevel_name(lv, b[0], 64), num(rsum_num(sum, "output_tps", NULL), b[1], 64),
                                  num(rsum_num(sum, "request_tps", "mean"), b[2], 64),
                                  num(rsum_num(sum, "rps", NULL), b[3], 64),
                                  secs(rsum_num(sum, "ttft", "p50"), b[4], 64),
                                  secs(rsum_num(sum, "ttft", "p95"), b[5], 64),
                                  secs(rsum_num(sum, "ttft", "p99"), b[6], 64),
                                  secs(rsum_num(sum, "e2e", "mean"), b[7], 64),
                                  secs(rsum_num(sum, "e2e", "p95"), b[8], 64),
                                  secs(rsum_num(sum, "e2e", "p99"), b[9], 64),
                                  pct(req > 0 ? ok / req : NAN, b[10], 64),
                                  cJSON_IsBool(slo) ? (cJSON_IsTrue(slo) ? "ok" : "FAIL") : "-" };
            if (table_row(t, row) < 0)
                return -1;
        }
    }
    if (s->compare) {
        static const char *const ch[] = { "level", "winner", "speedup" };
        struct rtable *t = table_add(ts, "Winner per level (highest output tok/s)", 2, 3, ch);
        if (!t)
            return -1;
        const cJSON *lv;
        cJSON_ArrayForEach(lv, cJSON_GetObjectItemCaseSensitive(s->compare, "levels")) {
            char b[2][64];
            double sp = jdoc_num(lv, "speedup");
            if (isfinite(sp))
                snprintf(b[1], sizeof b[1], "%.2fx", sp);
            /* No winner where the leaders are within noise of each other. */
            const char *w = jdoc_str(lv, "winner");
            if (!w && cJSON_GetObjectItemCaseSensitive(lv, "tied"))
                w = "tie";
            const char *row[] = { rlevel_name(lv, b[0], 64), w, isfinite(sp) ? b[1] : NULL };
            if (table_row(t, row) < 0)
                return -1;
        }
    }
    /* The reading: growth from the first level to the last, then the knee. */
    for (size_t k = 0; k < s->nsrc; k++) {
        const cJSON *levels = cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "levels");
        int n = cJSON_GetArraySize(levels);
        const char *who = s->nsrc > 1 ? s->src[k].name : "";
        const char *sep = s->nsrc > 1 ? ": " : "";
        if (n >= 2) {
            const cJSON *a = cJSON_GetArrayItem(levels, 0), *b = cJSON_GetArrayItem(levels, n - 1);
            double l0 = rsum_num(rlevel_summary(a), "ttft", "p99"), l1 = rsum_num(rlevel_summary(b), "ttft", "p99");
            double t0 = rsum_num(rlevel_summary(a), "output_tps", NULL);
            double t1 = rsum_num(rlevel_summary(b), "output_tps", NULL);
            const cJSON *knee = cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "knee");
            const cJSON *kl = cJSON_GetObjectItemCaseSensitive(knee, "level");
            const char *reason = jdoc_str(knee, "reason");
            char na[64], nb[64], kb[64] = "";
            if (cJSON_IsNumber(kl))
                snprintf(kb, sizeof kb, "%g", kl->valuedouble);
            else if (cJSON_IsString(kl))
                snprintf(kb, sizeof kb, "%.60s", kl->valuestring);
            if (l0 > 0 && t0 > 0 && isfinite(l1) && isfinite(t1) &&
                line_add(ts, "%s%sTTFT p99 grew %.1fx from %s to %s%s while throughput grew %.1fx%s%s%s", who, sep,
                         l1 / l0, rlevel_name(a, na, sizeof na), rlevel_name(b, nb, sizeof nb),
                         unit_word(s->param), t1 / t0,
                         *kb && reason && !strcmp(reason, "throughput") ? ": the server queues beyond " : "",
                         *kb && reason && !strcmp(reason, "throughput") ? kb : "",
                         *kb && reason && !strcmp(reason, "throughput") ? unit_word(s->param) : "") < 0)
                return -1;
        }
        const char *kt = jdoc_str(cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "knee"), "text");
        if (kt && line_add(ts, "%s%s%s", who, sep, kt) < 0)
            return -1;
        const char *down = jdoc_str(s->src[k].doc, "error");
        if (down && line_add(ts, "%s%sthe sweep stopped early: %s", who, sep, down) < 0)
            return -1;
    }
    if (s->compare) {
        const cJSON *rec = cJSON_GetObjectItemCaseSensitive(s->compare, "recommendation");
        const char *text = jdoc_str(rec, "text");
        if (text && line_add(ts, "%s", text) < 0)
            return -1;
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(rec, "reasons"))
            if (cJSON_IsString(r) && line_add(ts, "  - %s", r->valuestring) < 0)
                return -1;
    }
    return 0;
}

/* ---- repeated runs ---- */

static int repeat_tables(const struct rsec *s, struct rtables *ts)
{
    static const char *const hdr[] = { "metric", "median", "95% CI low", "95% CI high", "each run" };
    struct rtable *t = table_add(ts, "Repeated runs: median and bootstrap 95% CI", 1, 5, hdr);
    if (t)
        t->text_last = 1;
    size_t k = s->src[0].nsums;
    double *v = malloc((k ? k : 1) * sizeof *v);
    char *each = malloc(k * 24 + 1);
    int rc = -1;
    if (!t || !v || !each)
        goto out;
    for (size_t i = 0; i < repeat_nmetrics; i++) {
        const struct repeat_metric *m = &repeat_metrics[i];
        double med, lo, hi;
        if (!repeat_values(s, m, v, &med, &lo, &hi))
            continue;
        size_t len = 0;
        for (size_t j = 0; j < k; j++) {
            char b[32];
            len += (size_t)snprintf(each + len, 24, "%s%s", j ? " " : "", num(v[j], b, sizeof b));
        }
        char b[3][32];
        const char *row[] = { m->unit, num(med, b[0], 32), num(lo, b[1], 32), num(hi, b[2], 32), each };
        if (table_row(t, row) < 0)
            goto out;
        if (i == 0 && med > 0 &&
            line_add(ts, "output throughput: median %s tok/s over %zu runs, 95%% CI %s to %s (%.1f%% wide)",
                     b[0], k, b[1], b[2], 100 * (hi - lo) / med) < 0)
            goto out;
    }
    rc = 0;
out:
    free(v);
    free(each);
    return rc;
}

int rtables_build(const struct rsec *s, struct rtables *out)
{
    memset(out, 0, sizeof *out);
    int rc = s->kind == RK_RUN ? run_tables(s, out)
             : s->kind == RK_SWEEP ? sweep_tables(s, out)
             : repeat_tables(s, out);
    if (rc < 0)
        rtables_free(out);
    return rc;
}
