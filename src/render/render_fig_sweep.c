/* The figures of sweeps (one curve per sweep, or per server of a compare)
 * and of repeated runs (each run's value, the median and its 95% CI). */
#include "render_int.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "baseline.h"
#include "gate.h"
#include "jdoc.h"

/* SLO thresholds: a red no series uses. */
#define SLO_COLOR 0xc0001e

static const char *xlabel_of(const char *param)
{
    if (!strcmp(param, "concurrency"))
        return "concurrency (requests in flight)";
    if (!strcmp(param, "rate"))
        return "offered rate (requests/s)";
    if (!strcmp(param, "max-tokens"))
        return "max tokens (tokens)";
    if (!strcmp(param, "prompt-set"))
        return "prompt";
    if (!strcmp(param, "model"))
        return "model";
    if (!strcmp(param, "temperature"))
        return "temperature";
    return param;
}

static const cJSON *levels_of(const struct rsrc *r)
{
    return cJSON_GetObjectItemCaseSensitive(r->doc, "levels");
}

/* The x of a level: its value, or its position for --prompt-set. */
static double level_x(const cJSON *lv, int cats, size_t pos)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
    if (cats) {
        double idx = jdoc_num(lv, "index");
        return isfinite(idx) ? idx : (double)pos;
    }
    return cJSON_IsNumber(l) ? l->valuedouble : NAN;
}

/* The x of a level given as a number or a name (the knee, a winner). */
static double x_of_level(const struct rsrc *r, const cJSON *level, int cats)
{
    const cJSON *lv;
    size_t pos = 0;
    if (cJSON_IsNumber(level) && !cats)
        return level->valuedouble;
    cJSON_ArrayForEach(lv, levels_of(r)) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
        if ((cJSON_IsNumber(level) && cJSON_IsNumber(l) && l->valuedouble == level->valuedouble) ||
            (cJSON_IsString(level) && cJSON_IsString(l) && !strcmp(level->valuestring, l->valuestring)))
            return level_x(lv, cats, pos);
        pos++;
    }
    return NAN;
}

/* A summary metric per level: stat NULL for a scalar; "success" is
 * ok/requests in %. */
static double level_value(const cJSON *sum, const char *key, const char *stat, double scale)
{
    if (!strcmp(key, "success")) {
        double req = rsum_num(sum, "requests", NULL), ok = rsum_num(sum, "ok", NULL);
        return req > 0 ? 100 * ok / req : NAN;
    }
    if (!strcmp(key, "input_per_request")) {
        double in = rsum_num(sum, "input_tokens", NULL), ok = rsum_num(sum, "ok", NULL);
        return ok > 0 ? in / ok : NAN;
    }
    if (!strcmp(key, "output_per_request")) {
        double o = rsum_num(sum, "output_tokens", NULL), ok = rsum_num(sum, "ok", NULL);
        return ok > 0 ? o / ok : NAN;
    }
    return rsum_num(sum, key, stat) * scale;
}

struct curve {
    const char *key, *stat, *label;
    int dashed;
};

/* One figure: each source's curve(s) over the levels; xkey (NULL: the
 * level) gives the x from the summary instead. */
static struct figure *sweep_fig(const struct rsec *s, const char *id, const char *title,
                                const char *ylabel, const struct curve *cv, size_t ncv,
                                double scale, int cats, const char *xkey, const char *xlab)
{
    struct figure *f = fig_new(id, title, xlab ? xlab : xlabel_of(s->param), ylabel);
    if (!f)
        return NULL;
    for (size_t k = 0; k < s->nsrc; k++)
        for (size_t c = 0; c < ncv; c++) {
            char lab[300];
            if (s->nsrc == 1)
                snprintf(lab, sizeof lab, "%s", cv[c].label);
            else if (ncv == 1)
                snprintf(lab, sizeof lab, "%s", s->src[k].name);
            else
                snprintf(lab, sizeof lab, "%s %s", s->src[k].name, cv[c].label);
            unsigned col = s->nsrc == 1 ? fig_color(c) : fig_color(k);
            struct fig_series *se = fig_series_add(f, lab, FIG_LINE, col);
            if (!se)
                goto fail;
            se->dashed = s->nsrc == 1 ? 0 : cv[c].dashed;
            const cJSON *lv;
            size_t pos = 0;
            cJSON_ArrayForEach(lv, levels_of(&s->src[k])) {
                const cJSON *sum = rlevel_summary(lv);
                double x = xkey ? level_value(sum, xkey, NULL, 1) : level_x(lv, cats, pos);
                if (fig_point(se, x, level_value(sum, cv[c].key, cv[c].stat, scale)) < 0)
                    goto fail;
                pos++;
            }
        }
    return f;
fail:
    fig_free(f);
    return NULL;
}

/* The knee of each sweep as a vertical line. */
static int mark_knees(const struct rsec *s, struct figure *f, int cats)
{
    for (size_t k = 0; k < s->nsrc; k++) {
        const cJSON *knee = cJSON_GetObjectItemCaseSensitive(s->src[k].doc, "knee");
        const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(knee, "level");
        if (!knee || cJSON_IsNull(knee) || !lvl || cJSON_IsNull(lvl))
            continue;
        char lab[300], nb[64];
        const char *reason = jdoc_str(knee, "reason");
        snprintf(lab, sizeof lab, "%s%sknee%s%s: %s", s->nsrc > 1 ? s->src[k].name : "",
                 s->nsrc > 1 ? " " : "", reason ? " by " : "", reason ? reason : "",
                 cJSON_IsNumber(lvl) ? (snprintf(nb, sizeof nb, "%g", lvl->valuedouble), nb)
                 : cJSON_IsString(lvl) ? lvl->valuestring : "?");
        if (fig_mark_add(f, MARK_X, x_of_level(&s->src[k], lvl, cats), 0,
                         s->nsrc > 1 ? fig_color(k) : 0x555555, lab) < 0)
            return -1;
    }
    return 0;
}

/* An SLO threshold as a horizontal line on the figure showing its metric. */
static int mark_slos(const struct rsec *s, struct figure *f, const char *metric, double scale,
                     int success)
{
    const cJSON *slo;
    cJSON_ArrayForEach(slo, cJSON_GetObjectItemCaseSensitive(s->src[0].doc, "slo")) {
        struct gate_expr *e;
        char err[256];
        if (!cJSON_IsString(slo) || gate_expr_parse(slo->valuestring, &e, err, sizeof err) < 0)
            continue;   /* an SLO this build cannot read is shown in the text, not drawn */
        int rc = 0;
        char lab[300];
        snprintf(lab, sizeof lab, "SLO %s", e->text);
        if (success && !strcmp(e->metric, "error_rate"))
            rc = fig_mark_add(f, MARK_Y, 100 * (1 - e->limit), 0, SLO_COLOR, lab);
        else if (!success && !strcmp(e->metric, metric))
            rc = fig_mark_add(f, MARK_Y, e->limit * scale, 0, SLO_COLOR, lab);
        gate_expr_free(e);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Compare: a star on the winner's throughput at each level, and the
 * recommendation in words. */
static int mark_winners(const struct rsec *s, struct figure *f, int cats)
{
    const cJSON *lv;
    cJSON_ArrayForEach(lv, cJSON_GetObjectItemCaseSensitive(s->compare, "levels")) {
        const char *w = jdoc_str(lv, "winner");
        const cJSON *level = cJSON_GetObjectItemCaseSensitive(lv, "level");
        if (!w)
            continue;
        for (size_t k = 0; k < s->nsrc; k++) {
            if (strcmp(s->src[k].name, w))
                continue;
            double y = jdoc_num(cJSON_GetObjectItemCaseSensitive(lv, "output_tps"), w);
            char lab[300];
            double sp = jdoc_num(lv, "speedup");
            snprintf(lab, sizeof lab, "winner %s (%.2fx)", w, isfinite(sp) ? sp : 1.0);
            if (fig_mark_add(f, MARK_POINT, x_of_level(&s->src[k], level, cats), y, fig_color(k), lab) < 0)
                return -1;
        }
    }
    const char *text = jdoc_str(cJSON_GetObjectItemCaseSensitive(s->compare, "recommendation"), "text");
    return text ? fig_set_note(f, text) : 0;
}

static int finish(struct fig_section *out, struct figure *f, const char *footer, int main)
{
    if (!f)
        return -1;
    f->main = main;
    if (fig_set_footer(f, footer) < 0) {
        fig_free(f);
        return -1;
    }
    return fig_section_add(out, f);
}

int fig_build_sweep(const struct rsec *s, struct fig_section *out)
{
    char footer[1024], yl[64];
    fig_footer_of(s, footer, sizeof footer);
    int cats = !strcmp(s->param, "prompt-set") || !strcmp(s->param, "model");
    const char *uname;
    double uf, ref = NAN;
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels_of(&s->src[0]))
        if (!isfinite(ref))
            ref = rsum_num(rlevel_summary(lv), "e2e", "p99");
    fig_time_unit(ref, &uname, &uf);

    static const struct curve tps[] = { { "output_tps", NULL, "output tokens/s", 0 } };
    static const struct curve rps[] = { { "rps", NULL, "requests/s", 0 } };
    static const struct curve ok[] = { { "success", NULL, "success", 0 } };
    static const struct curve ttft[] = { { "ttft", "mean", "mean", 0 }, { "ttft", "p95", "p95", 1 },
                                         { "ttft", "p99", "p99", 2 } };
    static const struct curve e2e[] = { { "e2e", "mean", "mean", 0 }, { "e2e", "p95", "p95", 1 },
                                        { "e2e", "p99", "p99", 2 } };

    struct figure *f = sweep_fig(s, "throughput", "Output throughput", "output tokens/s", tps, 1, 1, cats, NULL, NULL);
    if (!f)
        return -1;
    if (cats) {
        /* The names of the prompts, from the sweep with the most levels. */
        size_t best = 0;
        for (size_t k = 1; k < s->nsrc; k++)
            if (cJSON_GetArraySize(levels_of(&s->src[k])) > cJSON_GetArraySize(levels_of(&s->src[best])))
                best = k;
        size_t n = (size_t)cJSON_GetArraySize(levels_of(&s->src[best]));
        char (*names)[64] = calloc(n ? n : 1, sizeof *names);
        const char **ptr = calloc(n ? n : 1, sizeof *ptr);
        size_t i = 0;
        if (names && ptr)
            cJSON_ArrayForEach(lv, levels_of(&s->src[best])) {
                ptr[i] = rlevel_name(lv, names[i], sizeof names[i]);
                i++;
            }
        int rc = names && ptr ? fig_set_cats(f, ptr, n) : -1;
        free(names);
        free(ptr);
        if (rc < 0) {
            fig_free(f);
            return -1;
        }
    }
    if (mark_knees(s, f, cats) < 0 || mark_slos(s, f, "output_tps", 1, 0) < 0 ||
        (s->compare && mark_winners(s, f, cats) < 0)) {
        fig_free(f);
        return -1;
    }
    /* Every other figure of the sweep shares the throughput figure's x
     * categories. */
    const struct fig_axis *xa = &f->x;
    char *cnames[64];
    size_t ncats = xa->ncats < 64 ? xa->ncats : 64;
    for (size_t i = 0; i < ncats; i++)
        cnames[i] = xa->cats[i];
    if (finish(out, f, footer, 1) < 0)
        return -1;

    struct {
        const char *id, *title, *ylabel, *metric;
        const struct curve *cv;
        size_t ncv;
        double scale;
        int main, success;
    } figs[] = {
        { "rps", "Requests per second", "requests/s", "rps", rps, 1, 1, 0, 0 },
        { "ttft", "Time to first token", NULL, "ttft", ttft, 3, uf, 1, 0 },
        { "e2e", "End-to-end latency", NULL, "e2e", e2e, 3, uf, 1, 0 },
        { "success", "Success rate", "requests that succeeded (%)", NULL, ok, 1, 1, 1, 1 },
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        if (!figs[i].ylabel) {
            snprintf(yl, sizeof yl, "%s (%s)", !strcmp(figs[i].id, "ttft") ? "TTFT" : "E2E latency", uname);
        }
        struct figure *g = sweep_fig(s, figs[i].id, figs[i].title, figs[i].ylabel ? figs[i].ylabel : yl,
                                     figs[i].cv, figs[i].ncv, figs[i].scale, cats, NULL, NULL);
        if (!g)
            return -1;
        if ((ncats && fig_set_cats(g, (const char *const *)cnames, ncats) < 0) ||
            mark_knees(s, g, cats) < 0 ||
            (figs[i].metric && mark_slos(s, g, figs[i].metric, figs[i].scale, 0) < 0) ||
            (figs[i].success && mark_slos(s, g, NULL, 1, 1) < 0)) {
            fig_free(g);
            return -1;
        }
        if (finish(out, g, footer, figs[i].main) < 0)
            return -1;
    }

    /* The impact charts of the classic experiment suite. */
    if (cats) {
        static const struct curve pl[] = { { "ttft", "mean", "mean TTFT", 0 }, { "ttft", "p95", "p95 TTFT", 1 } };
        snprintf(yl, sizeof yl, "TTFT (%s)", uname);
        struct figure *g = sweep_fig(s, "prompt_length_impact", "Prompt length impact on TTFT", yl, pl, 2,
                                     uf, 0, "input_per_request", "prompt length (input tokens per request)");
        if (finish(out, g, footer, 0) < 0)
            return -1;
    }
    if (!strcmp(s->param, "temperature")) {
        static const struct curve tk[] = { { "output_per_request", NULL, "output tokens per request", 0 } };
        static const struct curve tu[] = { { "request_tps", "mean", "tokens/s per request", 0 } };
        struct figure *g = sweep_fig(s, "temperature_tokens", "Temperature impact on output length",
                                     "output tokens per request", tk, 1, 1, 0, NULL, NULL);
        if (finish(out, g, footer, 0) < 0)
            return -1;
        g = sweep_fig(s, "temperature_speed", "Temperature impact on decode speed",
                      "tokens/s per request (mean)", tu, 1, 1, 0, NULL, NULL);
        if (finish(out, g, footer, 0) < 0)
            return -1;
    }
    return 0;
}

/* ---- repeated runs ---- */

const struct repeat_metric repeat_metrics[] = {
    { "output_tps", NULL, "Output throughput", "output tokens/s", 1 },
    { "rps", NULL, "Requests per second", "requests/s", 1 },
    { "ttft", "p50", "TTFT p50", "TTFT p50 (ms)", 1e3 },
    { "ttft", "p95", "TTFT p95", "TTFT p95 (ms)", 1e3 },
    { "e2e", "p95", "E2E latency p95", "E2E p95 (ms)", 1e3 },
    { "error_rate", NULL, "Error rate", "failed requests (%)", 100 },
};
const size_t repeat_nmetrics = sizeof repeat_metrics / sizeof repeat_metrics[0];

size_t repeat_values(const struct rsec *s, const struct repeat_metric *m, double *vals,
                     double *median, double *lo, double *hi)
{
    const struct rsrc *r = &s->src[0];
    double *have = malloc((r->nsums ? r->nsums : 1) * sizeof *have);
    size_t n = 0;
    *median = *lo = *hi = NAN;
    for (size_t i = 0; i < r->nsums; i++) {
        vals[i] = rsum_num(r->sums[i], m->key, m->stat) * m->scale;
        if (isfinite(vals[i]) && have)
            have[n++] = vals[i];
    }
    if (n) {
        /* The gate's own statistics, so the picture and the verdict agree. */
        *median = baseline_median(have, n);
        if (baseline_boot_median_ci(have, n, BASELINE_BOOT_SEED, lo, hi) < 0)
            *lo = *hi = NAN;
    }
    free(have);
    return n;
}

int fig_build_repeat(const struct rsec *s, struct fig_section *out)
{
    char footer[1024];
    fig_footer_of(s, footer, sizeof footer);
    const struct rsrc *r = &s->src[0];
    double *vals = malloc(r->nsums * sizeof *vals);
    if (!vals)
        return -1;
    int rc = -1;
    for (size_t i = 0; i < repeat_nmetrics; i++) {
        const struct repeat_metric *m = &repeat_metrics[i];
        double med, lo, hi;
        if (!repeat_values(s, m, vals, &med, &lo, &hi))
            continue;
        char id[64], title[128], note[256], b1[32], b2[32], b3[32];
        snprintf(id, sizeof id, "repeat_%s%s%s", m->key, m->stat ? "_" : "", m->stat ? m->stat : "");
        snprintf(title, sizeof title, "%s over %zu runs", m->title, r->nsums);
        snprintf(note, sizeof note, "median %s, 95%% CI %s to %s (bootstrap)", rfmt_num(med, b1, sizeof b1),
                 rfmt_num(lo, b2, sizeof b2), rfmt_num(hi, b3, sizeof b3));
        struct figure *f = fig_new(id, title, "run", m->unit);
        struct fig_series *se = f ? fig_series_add(f, "each run", FIG_POINTS, fig_color(0)) : NULL;
        if (!se || fig_set_note(f, note) < 0) {
            fig_free(f);
            goto out;
        }
        for (size_t k = 0; k < r->nsums; k++)
            if (fig_point(se, (double)(k + 1), vals[k]) < 0) {
                fig_free(f);
                goto out;
            }
        if (fig_mark_add(f, MARK_BAND_Y, lo, hi, fig_color(0), "95% CI of the median") < 0 ||
            fig_mark_add(f, MARK_Y, med, 0, fig_color(1), "median") < 0 ||
            finish(out, f, footer, i == 0 || i == 3) < 0)
            goto out;
    }
    rc = 0;
out:
    free(vals);
    return rc;
}
