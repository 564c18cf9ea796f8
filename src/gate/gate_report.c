/* The gate's outputs: console lines, JUnit XML (the subset docs/ci.md describes) and a
 * Markdown summary for GitHub job summaries and merge-request comments. */
#include "color.h"
#include "gate_int.h"
#include "escape.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- a growing string ---------------------------------------------------------- */

struct sb {
    char *buf;
    size_t len, cap;
    int oom;
};

static void sb_grow(struct sb *b, size_t need)
{
    if (b->oom || b->len + need + 1 <= b->cap)
        return;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + need + 1)
        nc *= 2;
    char *n = realloc(b->buf, nc);
    if (!n) {
        b->oom = 1;
        return;
    }
    b->buf = n;
    b->cap = nc;
}

static void sb_put(struct sb *b, const char *s, size_t n)
{
    sb_grow(b, n);
    if (b->oom)
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

/* An esc_sink into a struct sb. */
static void sb_sink(void *ctx, const char *p, size_t n)
{
    sb_put(ctx, p, n);
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    sb_grow(b, (size_t)n);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Writes b (and frees it) to a report's output. */
static int sb_write(struct sb *b, const char *flag, struct out_file *out, const char *path,
                    char *err, size_t errcap)
{
    int rc;
    if (b->oom) {
        snprintf(err, errcap, "%s: cannot write %s: out of memory", flag, path);
        rc = -1;
    } else {
        rc = gate_write_report(out, flag, path, b->buf ? b->buf : "", b->len, err, errcap);
    }
    free(b->buf);
    b->buf = NULL;
    return rc;
}

/* ---- wording shared by the outputs --------------------------------------------- */

static const char *status_word(enum gate_status s)
{
    switch (s) {
    case GATE_PASS:  return "PASS";
    case GATE_NOISE: return "PASS";
    case GATE_FAIL:  return "FAIL";
    case GATE_SKIP:  return "SKIP";
    }
    return "?";
}

void gate_tol_fmt(const struct gate_check *c, char *buf, size_t cap)
{
    char v[32];
    const char *sign = c->dir == GATE_DIR_UP ? "+" : c->dir == GATE_DIR_DOWN ? "-" : "+/-";
    if (c->relative)
        snprintf(v, sizeof v, "%.1f%%", c->tol * 100);
    else
        gate_value_fmt(c->kind, c->tol, v, sizeof v);
    snprintf(buf, cap, "%s%s", sign, v);
}

void gate_change_fmt(const struct gate_check *c, double ch, char *buf, size_t cap)
{
    if (isnan(ch)) {
        snprintf(buf, cap, "none");
    } else if (isinf(ch)) {
        snprintf(buf, cap, "%s", ch > 0 ? "+inf%" : "-inf%");
    } else if (c->relative) {
        snprintf(buf, cap, "%+.1f%%", ch * 100);
    } else {
        char v[32];
        gate_value_fmt(c->kind, fabs(ch), v, sizeof v);
        snprintf(buf, cap, "%s%s", ch < 0 ? "-" : "+", v);
    }
}

/* The unit a kind's raw numbers are in, for the JUnit failure text. */
static const char *base_unit(enum gate_kind k)
{
    switch (k) {
    case GATE_SECONDS:  return "s";
    case GATE_FRACTION: return "fraction (1 = 100%)";
    case GATE_TOKRATE:  return "tok/s";
    case GATE_REQRATE:  return "req/s";
    case GATE_COUNT:    return "count";
    }
    return "";
}

/* ---- console ------------------------------------------------------------------- */

static const char *status_color(enum gate_status s)
{
    return s == GATE_FAIL ? COLOR_RED : s == GATE_SKIP ? COLOR_YELLOW : COLOR_GREEN;
}

void gate_report_text(FILE *f, const struct gate_outcome *o)
{
    int header_a = 0, header_r = 0;
    if (!f)
        return;
    for (size_t i = 0; i < o->n; i++) {
        const struct gate_check *c = &o->checks[i];
        if (!c->is_regress && !header_a++) {
            if (o->runs > 1)
                fprintf(f, "\n%schecks%s (median of %zu runs, 95%% bootstrap CI):\n",
                        color(f, COLOR_BOLD), color(f, COLOR_RESET), o->runs);
            else
                fprintf(f, "\n%schecks:%s\n", color(f, COLOR_BOLD), color(f, COLOR_RESET));
        }
        if (c->is_regress && !header_r++)
            fprintf(f, "\n%sbaseline%s %s (%zu run%s):\n", color(f, COLOR_BOLD), color(f, COLOR_RESET),
                    o->baseline_path ? o->baseline_path : "?", o->baseline_runs,
                    o->baseline_runs == 1 ? "" : "s");
        fprintf(f, "  %s%s%s  %s: %s\n", color(f, status_color(c->status)), status_word(c->status),
                color(f, COLOR_RESET), c->name, c->message);
    }
    if (!o->n)
        ;   /* only reports or a baseline were asked for: nothing to judge */
    else if (o->failed)
        fprintf(f, "\ngate: %sFAIL%s, %zu of %zu checks failed\n", color(f, COLOR_RED),
                color(f, COLOR_RESET), o->failed, o->n);
    else
        fprintf(f, "\ngate: %sPASS%s, %zu check%s passed\n", color(f, COLOR_GREEN),
                color(f, COLOR_RESET), o->n, o->n == 1 ? "" : "s");
    /* A failed regression check decided without runs to compare: say what
     * would tell a slower build from a busier machine. */
    int lone = 0;
    for (size_t i = 0; i < o->n; i++) {
        const struct gate_check *c = &o->checks[i];
        lone |= c->is_regress && c->status == GATE_FAIL && !isnan(c->change) &&
                (c->runs_cur < 2 || c->runs_base < 2);
    }
    if (lone)
        fprintf(f, "note: with one run on a side, a slower build and a busier machine look alike; "
                   "--repeat 5 on both sides lets the runs decide too (docs/ci.md)\n");
    fflush(f);
}

/* ---- JUnit XML ------------------------------------------------------------------- */

/* XML text or attribute value: the HTML escaper's output is also XML 1.0,
 * and it replaces what XML cannot carry (controls, invalid UTF-8). */
static void xml_esc(struct sb *b, const char *s, int attr)
{
    esc_html(s, attr ? ESC_HTML_ATTR : ESC_HTML_TEXT, sb_sink, b);
}

static void iso_now(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    if (t == (time_t)-1 || !gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "1970-01-01T00:00:00Z");
}

static void junit_case(struct sb *b, const struct gate_check *c, size_t runs)
{
    char name[256], tol[48];
    if (c->is_regress) {
        gate_tol_fmt(c, tol, sizeof tol);
        snprintf(name, sizeof name, "%s vs baseline (tolerance %s)", c->name, tol);
    } else {
        snprintf(name, sizeof name, "%s", c->name);
    }
    sb_printf(b, "    <testcase name=\"");
    xml_esc(b, name, 1);
    sb_printf(b, "\" classname=\"%s\" time=\"0\"", c->is_regress ? "llmload.regression" : "llmload.assert");
    if (c->status == GATE_PASS) {
        sb_printf(b, "/>\n");
        return;
    }
    sb_printf(b, ">\n");
    if (c->status == GATE_SKIP) {
        sb_printf(b, "      <skipped message=\"");
        xml_esc(b, c->message, 1);
        sb_printf(b, "\"/>\n");
    } else if (c->status == GATE_NOISE) {
        sb_printf(b, "      <system-out>");
        xml_esc(b, c->message, 0);
        sb_printf(b, "</system-out>\n");
    } else {
        struct sb t = { 0 };
        /* The body repeats the numbers raw, in the summary's units, for
         * tools that parse it. */
        sb_printf(&t, "measured: %.9g %s\n", c->measured, base_unit(c->kind));
        if (runs > 1 && !isnan(c->lo))
            sb_printf(&t, "ci95: %.9g .. %.9g %s (median of %zu runs)\n", c->lo, c->hi,
                      base_unit(c->kind), runs);
        if (c->is_regress) {
            sb_printf(&t, "baseline: %.9g %s\n", c->base, base_unit(c->kind));
            if (c->relative)
                sb_printf(&t, "change: %.6g (fraction of the baseline)\nlimit: %s%.6g (fraction of the baseline)\n",
                          c->change, c->dir == GATE_DIR_DOWN ? "-" : "+", c->tol);
            else
                sb_printf(&t, "change: %.9g %s\nlimit: %s%.9g %s\n", c->change, base_unit(c->kind),
                          c->dir == GATE_DIR_DOWN ? "-" : "+", c->tol, base_unit(c->kind));
            if (!isnan(c->p_regress))
                sb_printf(&t, "change_ci95: %.6g .. %.6g\np_regression: %.4f\n", c->change_lo,
                          c->change_hi, c->p_regress);
            if (c->n_cur)
                sb_printf(&t, "mann_whitney_p: %.4g\nrequests: %zu vs %zu\n", c->mwu_p, c->n_cur, c->n_base);
            if (!isnan(c->runs_lo))
                sb_printf(&t, "runs_change_ci95: %.6g .. %.6g\nruns: %zu vs %zu\n", c->runs_lo, c->runs_hi,
                          c->runs_cur, c->runs_base);
        } else {
            sb_printf(&t, "limit: %s %.9g %s\n", gate_op_str(c->op), c->limit, base_unit(c->kind));
        }
        sb_printf(b, "      <failure message=\"");
        xml_esc(b, c->message, 1);
        sb_printf(b, "\" type=\"%s\">", c->is_regress ? "regression" : "assertion");
        if (t.oom)
            b->oom = 1;
        else
            xml_esc(b, t.buf ? t.buf : "", 0);
        free(t.buf);
        sb_printf(b, "</failure>\n");
    }
    sb_printf(b, "    </testcase>\n");
}

int gate_report_junit(struct out_file *out, const char *path, const struct gate_outcome *o,
                      char *err, size_t errcap)
{
    struct sb b = { 0 };
    char ts[32];
    size_t skipped = 0;
    for (size_t i = 0; i < o->n; i++)
        skipped += o->checks[i].status == GATE_SKIP;
    iso_now(ts, sizeof ts);
    sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb_printf(&b, "<testsuites name=\"llmload\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                  "skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\">\n",
              o->n, o->failed, skipped, o->time_s, ts);
    sb_printf(&b, "  <testsuite name=\"llmload gate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                  "skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\">\n",
              o->n, o->failed, skipped, o->time_s, ts);
    sb_printf(&b, "    <properties>\n      <property name=\"runs\" value=\"%zu\"/>\n", o->runs);
    if (o->baseline_path) {
        sb_printf(&b, "      <property name=\"baseline\" value=\"");
        xml_esc(&b, o->baseline_path, 1);
        sb_printf(&b, "\"/>\n");
    }
    if (o->version) {
        sb_printf(&b, "      <property name=\"llmload_version\" value=\"");
        xml_esc(&b, o->version, 1);
        sb_printf(&b, "\"/>\n");
    }
    sb_printf(&b, "    </properties>\n");
    for (size_t i = 0; i < o->n; i++)
        junit_case(&b, &o->checks[i], o->runs);
    sb_printf(&b, "  </testsuite>\n</testsuites>\n");
    return sb_write(&b, "--junit", out, path, err, errcap);
}

int gate_report_junit_error(struct out_file *out, const char *path, const char *what,
                            char *err, size_t errcap)
{
    struct sb b = { 0 };
    char ts[32];
    iso_now(ts, sizeof ts);
    sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<testsuites name=\"llmload\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" "
                  "time=\"0\" timestamp=\"%s\">\n"
                  "  <testsuite name=\"llmload gate\" tests=\"1\" failures=\"0\" errors=\"1\" "
                  "skipped=\"0\" time=\"0\" timestamp=\"%s\">\n"
                  "    <testcase name=\"run\" classname=\"llmload.run\" time=\"0\">\n"
                  "      <error message=\"", ts, ts);
    xml_esc(&b, what, 1);
    sb_printf(&b, "\" type=\"run\"/>\n    </testcase>\n  </testsuite>\n</testsuites>\n");
    return sb_write(&b, "--junit", out, path, err, errcap);
}

/* ---- Markdown -------------------------------------------------------------------- */

static void md_esc(struct sb *b, const char *s)
{
    esc_md_cell(s, sb_sink, b);
}

static const char *md_status(enum gate_status s)
{
    switch (s) {
    case GATE_PASS:  return "\xe2\x9c\x85 pass";                    /* ✅ */
    case GATE_NOISE: return "\xe2\x9c\x85 pass, within noise";      /* ✅ */
    case GATE_FAIL:  return "\xe2\x9d\x8c fail";                    /* ❌ */
    case GATE_SKIP:  return "\xe2\x9e\x96 skipped";                 /* ➖ */
    }
    return "?";
}

static void md_value_ci(struct sb *b, enum gate_kind k, double v, double lo, double hi, size_t runs)
{
    char a[48], l[48], h[48];
    gate_value_fmt(k, v, a, sizeof a);
    if (runs > 1 && !isnan(lo))
        sb_printf(b, "%s (%s .. %s)", a, gate_value_fmt(k, lo, l, sizeof l),
                  gate_value_fmt(k, hi, h, sizeof h));
    else
        sb_printf(b, "%s", a);
}

static void md_row(struct sb *b, const struct gate_check *c, size_t runs, size_t base_runs)
{
    char v[48], ch[48], lo[48], hi[48], tol[48];
    sb_printf(b, "| %s | `", md_status(c->status));
    md_esc(b, c->name);
    if (!c->is_regress) {
        sb_printf(b, "` | ");
        md_value_ci(b, c->kind, c->measured, c->lo, c->hi, runs);
        sb_printf(b, " | %s %s |\n", gate_op_str(c->op), gate_value_fmt(c->kind, c->limit, v, sizeof v));
        return;
    }
    sb_printf(b, "` vs baseline | ");
    if (c->status == GATE_SKIP) {
        sb_printf(b, "none | ");
        md_esc(b, c->message);
        sb_printf(b, " |\n");
        return;
    }
    gate_change_fmt(c, c->change, ch, sizeof ch);
    md_value_ci(b, c->kind, c->measured, NAN, NAN, 1);
    sb_printf(b, " vs %s: %s", gate_value_fmt(c->kind, c->base, v, sizeof v), ch);
    if ((runs > 1 || base_runs > 1 || !isnan(c->p_regress)) && !isnan(c->change_lo)) {
        gate_change_fmt(c, c->change_lo, lo, sizeof lo);
        gate_change_fmt(c, c->change_hi, hi, sizeof hi);
        sb_printf(b, " (%s .. %s)", lo, hi);
    }
    if (!isnan(c->p_regress))
        sb_printf(b, ", P(regression) %.1f%%", c->p_regress * 100);
    gate_tol_fmt(c, tol, sizeof tol);
    sb_printf(b, " | %s %s |\n", c->dir == GATE_DIR_DOWN ? "at least" : c->dir == GATE_DIR_UP ? "at most" : "within",
              tol);
}

static int md_get(const cJSON *sum, const char *metric, const char *stat, double *v)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(sum, metric);
    if (stat)
        n = cJSON_GetObjectItemCaseSensitive(n, stat);
    if (!cJSON_IsNumber(n))
        return -1;
    *v = n->valuedouble;
    return 0;
}

static void md_overview(struct sb *b, const cJSON *sum)
{
    static const struct { const char *label, *metric; } lat[] = {
        { "TTFT", "ttft" }, { "TPOT", "tpot" }, { "ITL", "itl" }, { "E2E latency", "e2e" },
    };
    char x[48], y[48];
    double v, w;
    sb_printf(b, "| Metric | Value |\n|:--|--:|\n");
    if (md_get(sum, "requests", NULL, &v) == 0)
        sb_printf(b, "| Requests | %s |\n", gate_value_fmt(GATE_COUNT, v, x, sizeof x));
    if (md_get(sum, "failed", NULL, &v) == 0 && md_get(sum, "error_rate", NULL, &w) == 0)
        sb_printf(b, "| Failed | %s (%s) |\n", gate_value_fmt(GATE_COUNT, v, x, sizeof x),
                  gate_value_fmt(GATE_FRACTION, w, y, sizeof y));
    if (md_get(sum, "rps", NULL, &v) == 0)
        sb_printf(b, "| Request rate | %s |\n", gate_value_fmt(GATE_REQRATE, v, x, sizeof x));
    if (md_get(sum, "output_tps", NULL, &v) == 0)
        sb_printf(b, "| Output throughput | %s |\n", gate_value_fmt(GATE_TOKRATE, v, x, sizeof x));
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++)
        if (md_get(sum, lat[i].metric, "p50", &v) == 0 && md_get(sum, lat[i].metric, "p95", &w) == 0)
            sb_printf(b, "| %s p50 / p95 | %s / %s |\n", lat[i].label,
                      gate_value_fmt(GATE_SECONDS, v, x, sizeof x),
                      gate_value_fmt(GATE_SECONDS, w, y, sizeof y));
}

int gate_report_markdown(struct out_file *out, const char *path, const struct gate_outcome *o,
                         char *err, size_t errcap)
{
    struct sb b = { 0 };
    if (!o->n)
        sb_printf(&b, "### llmload gate: no checks\n\n");
    else if (o->failed)
        sb_printf(&b, "### llmload gate: \xe2\x9d\x8c %zu of %zu checks failed\n\n", o->failed, o->n);
    else
        sb_printf(&b, "### llmload gate: \xe2\x9c\x85 all %zu checks passed\n\n", o->n);
    if (o->n) {
        sb_printf(&b, "| Result | Check | Measured | Limit |\n|:--|:--|:--|:--|\n");
        for (size_t i = 0; i < o->n; i++)
            md_row(&b, &o->checks[i], o->runs, o->baseline_runs);
        sb_printf(&b, "\n");
    }
    if (o->runs > 1)
        sb_printf(&b, "Median of %zu runs; in parentheses, the 95%% bootstrap confidence interval.", o->runs);
    else
        sb_printf(&b, "One run.");
    if (o->baseline_path) {
        sb_printf(&b, " Baseline: `");
        md_esc(&b, o->baseline_path);
        sb_printf(&b, "` (%zu run%s).", o->baseline_runs, o->baseline_runs == 1 ? "" : "s");
    }
    sb_printf(&b, "\n\n");
    if (o->median)
        md_overview(&b, o->median);
    return sb_write(&b, "--markdown", out, path, err, errcap);
}
