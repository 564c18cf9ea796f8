/* Evaluation: K result documents against the assertions and the baseline
 * (medians, bootstrap intervals, regressions beyond the tolerance), and the
 * per-level checks of sweep and compare. */
#include "gate.h"
#include "gate_int.h"
#include "baseline.h"
#include "sample.h"
#include "stats.h"
#include "exitcode.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluation ---------------------------------------------------------------- */

/* The values of ref in each summary that has one: NaN-free, *nv of them. */
static double *collect(const struct gate_ref *ref, const cJSON *const *sums, size_t n, size_t *nv)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    *nv = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (gate_ref_get(ref, sums[i], &v[*nv]) == 0)
            (*nv)++;
    return v;
}

static int eval_assert(const struct gate_expr *e, const cJSON *const *sums, size_t n,
                       struct gate_check *c)
{
    struct gate_ref ref;
    size_t nv;
    char m[48], l[48], lo[48], hi[48];
    gate_expr_ref(e, &ref);
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", e->text);
    c->kind = e->kind;
    c->op = e->op;
    c->limit = e->limit;
    double *v = collect(&ref, sums, n, &nv);
    if (!v)
        return -1;
    gate_value_fmt(c->kind, c->limit, l, sizeof l);
    if (!nv) {
        c->measured = c->lo = c->hi = NAN;
        c->status = GATE_FAIL;
        snprintf(c->message, sizeof c->message, "no value measured (no samples), limit %s %s",
                 gate_op_str(c->op), l);
        free(v);
        return 0;
    }
    c->measured = baseline_median(v, nv);
    if (baseline_boot_median_ci(v, nv, BASELINE_BOOT_SEED, &c->lo, &c->hi) < 0) {
        free(v);
        return -1;
    }
    free(v);
    c->status = gate_op_holds(c->op, c->measured, c->limit) ? GATE_PASS : GATE_FAIL;
    gate_value_fmt(c->kind, c->measured, m, sizeof m);
    if (n > 1)
        snprintf(c->message, sizeof c->message, "measured %s (95%% CI %s .. %s), limit %s %s",
                 m, gate_value_fmt(c->kind, c->lo, lo, sizeof lo),
                 gate_value_fmt(c->kind, c->hi, hi, sizeof hi), gate_op_str(c->op), l);
    else
        snprintf(c->message, sizeof c->message, "measured %s, limit %s %s", m, gate_op_str(c->op), l);
    if (nv < n) {
        size_t len = strlen(c->message);
        snprintf(c->message + len, sizeof c->message - len, " (%zu of %zu runs had no value)", n - nv, n);
    }
    return 0;
}


/* ---- regressions on per-request samples ------------------------------------- */

/* Column col of the runs' samples, pooled: the values a successful request
 * has (ok, and not NaN) when success_only, else every request's; blk[i]
 * the time block of value i, numbered on from run to run (NULL when a run
 * has no start times: each value is then its own block).  NULL with *n = 0
 * when a run kept no samples, or on allocation failure. */
static double *pool(const cJSON *const *samples, size_t runs, const char *col, int success_only,
                    size_t *n, int **blk)
{
    size_t total = 0;
    *n = 0;
    *blk = NULL;
    for (size_t r = 0; r < runs; r++) {
        struct sample_view v;
        if (!samples[r] || sample_view_of(samples[r], &v) < 0)
            return NULL;
        total += v.n;
    }
    double *out = malloc((total ? total : 1) * sizeof *out);
    double *ok = malloc((total ? total : 1) * sizeof *ok);
    int *b = malloc((total ? total : 1) * sizeof *b), *rb = malloc((total ? total : 1) * sizeof *rb);
    int blocks = 1;
    if (!out || !ok || !b || !rb) {
        free(out);
        free(ok);
        free(b);
        free(rb);
        return NULL;
    }
    for (size_t r = 0; r < runs; r++) {
        struct sample_view v;
        sample_view_of(samples[r], &v);
        size_t at = *n;
        sample_view_column(&v, col, out + at);
        sample_view_column(&v, "ok", ok);
        blocks &= sample_view_blocks(&v, rb) == 0;
        for (size_t i = 0; i < v.n; i++) {
            double x = out[at + i];
            if ((!success_only || ok[i] == 1) && !isnan(x)) {
                b[*n] = (int)r * SAMPLE_BLOCKS * 64 + rb[i];
                out[(*n)++] = x;
            }
        }
    }
    free(ok);
    free(rb);
    if (blocks)
        *blk = b;
    else
        free(b);
    return out;
}

/* The q of a "pNN" statistic (0.95 for "p95"), or -1. */
static double stat_quantile(const char *stat)
{
    if (stat[0] != 'p' || !stat[1])
        return -1;
    char *end;
    double q = strtod(stat + 1, &end);
    return *end || q <= 0 || q >= 100 ? -1 : q / 100;
}

/* Tests c's metric on the per-request samples of the runs and the
 * baseline: percentiles of ttft, tpot and e2e by bootstrapping the
 * percentile, output_tps by the ratio of tokens over request time.  Sets
 * c->change (and its interval) from the samples, c->p_regress and
 * c->mwu_p.  0 when tested, -1 when the samples cannot say (no samples,
 * another metric). */
static int regress_samples(const struct gate_regress *r, const cJSON *const *cur_s, size_t nc_runs,
                           const cJSON *const *base_s, size_t nb_runs, struct gate_check *c)
{
    const char *m = r->ref.metric;
    int tps = !strcmp(m, "output_tps") && !r->ref.stat[0];
    double q = stat_quantile(r->ref.stat);
    const char *col = !strcmp(m, "ttft") ? "ttft_s" : !strcmp(m, "tpot") ? "tpot_s"
                    : !strcmp(m, "e2e") ? "e2e_s" : NULL;
    if (!tps && (!col || q < 0))
        return -1;
    size_t nc, nb, nc2 = 0, nb2 = 0;
    int *cblk = NULL, *bblk = NULL, *cblk2 = NULL, *bblk2 = NULL;
    double *cur = pool(cur_s, nc_runs, tps ? "output_tokens" : col, !tps, &nc, &cblk);
    double *base = pool(base_s, nb_runs, tps ? "output_tokens" : col, !tps, &nb, &bblk);
    double *cur_t = tps ? pool(cur_s, nc_runs, "e2e_s", 0, &nc2, &cblk2) : NULL;
    double *base_t = tps ? pool(base_s, nb_runs, "e2e_s", 0, &nb2, &bblk2) : NULL;
    int rc = -1;
    if (!cur || !base || !nc || !nb || (tps && (nc2 != nc || nb2 != nb)))
        goto out;
    struct stats_mwu u;
    if (tps) {
        struct stats_group gc = { cur, cur_t, nc, cblk }, gb = { base, base_t, nb, bblk };
        struct stats_ratio sr;
        if (stats_boot_ratio(&gc, &gb, 1, STATS_BOOT_SEED, STATS_BOOT_N, &sr) < 0)
            goto out;
        c->change = sr.point - 1;
        c->change_lo = sr.lo - 1;
        c->change_hi = sr.hi - 1;
        /* The share of resamples below 1 - tol, from the normal law of
         * log(ratio) the resamples follow. */
        c->p_regress = c->relative && c->tol < 1
                           ? stats_phi((log(1 - c->tol) - log(sr.point)) / fmax(sr.se_log, 1e-12)) : NAN;
        /* Each request's own rate, for the rank test. */
        for (size_t i = 0; i < nc; i++)
            cur[i] = cur_t[i] > 0 ? cur[i] / cur_t[i] : 0;
        for (size_t i = 0; i < nb; i++)
            base[i] = base_t[i] > 0 ? base[i] / base_t[i] : 0;
        c->mwu_p = stats_mwu(cur, nc, base, nb, &u) == 0 ? u.p_less : NAN;
    } else {
        struct stats_change ch;
        if (stats_boot_quantile_change_blocks(cur, cblk, nc, base, bblk, nb, q, c->relative, c->tol,
                                              c->dir, STATS_BOOT_SEED, STATS_BOOT_N, &ch) < 0)
            goto out;
        c->change = ch.point;
        c->change_lo = ch.lo;
        c->change_hi = ch.hi;
        c->p_regress = ch.p_worse;
        c->mwu_p = stats_mwu(cur, nc, base, nb, &u) == 0
                       ? (c->dir == GATE_DIR_DOWN ? u.p_less : c->dir == GATE_DIR_UP ? u.p_greater : u.p_two)
                       : NAN;
    }
    c->n_cur = nc;
    c->n_base = nb;
    rc = 0;
out:
    free(cur);
    free(base);
    free(cur_t);
    free(base_t);
    free(cblk);
    free(bblk);
    free(cblk2);
    free(bblk2);
    return rc;
}

/* Tests c's metric over the runs, each run one value (cur[0..nc) and
 * base[0..nb), nc, nb >= 2): Welch's interval of the difference of the
 * means, of the logs when the tolerance is relative (a ratio of geometric
 * means; every value must then be positive), and the probability that the
 * change is beyond the tolerance on the worse side from Student's t.  The
 * requests of one run share its machine: a run slowed as a whole by other
 * work looks, to any resampling of its requests, like a slower build.
 * What runs of one build differ by is in the spread of each side's runs,
 * which only runs can show.  Sets c->runs_*; 0, or -1 when not testable. */
static int regress_runs(const double *cur, size_t nc, const double *base, size_t nb,
                        struct gate_check *c)
{
    double *lc = malloc(nc * sizeof *lc), *lb = malloc(nb * sizeof *lb);
    struct stats_welch w;
    int rc = -1;
    if (!lc || !lb)
        goto out;
    for (size_t i = 0; i < nc + nb; i++) {
        double x = i < nc ? cur[i] : base[i - nc];
        if (c->relative && !(x > 0))
            goto out;
        *(i < nc ? &lc[i] : &lb[i - nc]) = c->relative ? log(x) : x;
    }
    if (stats_welch(lc, nc, lb, nb, &w) < 0)
        goto out;
    /* The tolerance's edges in the tested scale. */
    double up = c->relative ? log1p(c->tol) : c->tol;
    double down = c->relative ? (c->tol < 1 ? log1p(-c->tol) : -INFINITY) : -c->tol;
    double p_up, p_down;
    if (w.se > 0) {
        p_up = 1 - stats_t_cdf((up - w.diff) / w.se, w.df);
        p_down = isinf(down) ? 0 : stats_t_cdf((down - w.diff) / w.se, w.df);
    } else {
        p_up = w.diff > up;
        p_down = w.diff < down;
    }
    c->runs_p = c->dir == GATE_DIR_UP ? p_up : c->dir == GATE_DIR_DOWN ? p_down : p_up + p_down;
    c->runs_lo = c->relative ? expm1(w.lo) : w.lo;
    c->runs_hi = c->relative ? expm1(w.hi) : w.hi;
    rc = 0;
out:
    free(lc);
    free(lb);
    return rc;
}

static int eval_regress(const struct gate_regress *r, const cJSON *const *sums,
                        const cJSON *const *samples, size_t n, const struct baseline *b,
                        struct gate_check *c)
{
    size_t nc, nb;
    char bv[48], ch[48], lo[48], hi[48], tol[48];
    memset(c, 0, sizeof *c);
    c->is_regress = 1;
    gate_ref_name(&r->ref, c->name, sizeof c->name);
    c->kind = r->ref.kind;
    c->tol = r->tol;
    c->relative = r->relative;
    c->dir = r->ref.dir;
    c->p_regress = c->mwu_p = c->runs_lo = c->runs_hi = c->runs_p = NAN;
    double *cur = collect(&r->ref, sums, n, &nc);
    double *base = collect(&r->ref, b->summaries, b->n, &nb);
    if (!cur || !base) {
        free(cur);
        free(base);
        return -1;
    }
    gate_tol_fmt(c, tol, sizeof tol);
    c->runs_cur = nc;
    c->runs_base = nb;
    c->measured = nc ? baseline_median(cur, nc) : NAN;
    c->base = nb ? baseline_median(base, nb) : NAN;
    if (!nb) {
        c->status = GATE_SKIP;
        c->change = c->change_lo = c->change_hi = c->lo = c->hi = NAN;
        snprintf(c->message, sizeof c->message, "the baseline has no value for %s", c->name);
        goto done;
    }
    gate_value_fmt(c->kind, c->base, bv, sizeof bv);
    if (!nc) {
        c->status = GATE_FAIL;
        c->change = c->change_lo = c->change_hi = c->lo = c->hi = NAN;
        snprintf(c->message, sizeof c->message, "no value measured (baseline %s)", bv);
        goto done;
    }
    if (baseline_boot_median_ci(cur, nc, BASELINE_BOOT_SEED, &c->lo, &c->hi) < 0 ||
        baseline_boot_change(cur, nc, base, nb, c->relative, BASELINE_BOOT_SEED,
                             &c->change, &c->change_lo, &c->change_hi) < 0) {
        free(cur);
        free(base);
        return -1;
    }
    /* With the requests of both sides at hand, they decide: the change
     * and its interval come from resampling them, which a single run
     * allows (the medians of runs need several). */
    int per_request = regress_samples(r, samples, n, b->samples, b->n, c) == 0;
    /* With several runs on both sides, the runs are the unit too: the
     * interval is the hull of theirs and the one above, so the gate fails
     * only when both put the change beyond the tolerance (docs/ci.md). */
    int by_runs = nc >= 2 && nb >= 2 && regress_runs(cur, nc, base, nb, c) == 0;
    double req_lo = c->change_lo, req_hi = c->change_hi;
    if (by_runs) {
        c->change_lo = fmin(c->change_lo, c->runs_lo);
        c->change_hi = fmax(c->change_hi, c->runs_hi);
        c->p_regress = isnan(c->p_regress) ? c->runs_p : fmin(c->p_regress, c->runs_p);
    }
    /* Worse means beyond the tolerance in the metric's bad direction.  The
     * gate fails only when the whole interval is beyond it: a point estimate
     * beyond it with an interval that is not could be noise. */
    int point_bad, all_bad;
    if (c->dir == GATE_DIR_UP) {
        point_bad = c->change > c->tol;
        all_bad = c->change_lo > c->tol;
    } else if (c->dir == GATE_DIR_DOWN) {
        point_bad = c->change < -c->tol;
        all_bad = c->change_hi < -c->tol;
    } else {
        point_bad = fabs(c->change) > c->tol;
        all_bad = c->change_lo > c->tol || c->change_hi < -c->tol;
    }
    c->status = all_bad ? GATE_FAIL : point_bad ? GATE_NOISE : GATE_PASS;
    gate_change_fmt(c, c->change, ch, sizeof ch);
    gate_change_fmt(c, c->change_lo, lo, sizeof lo);
    gate_change_fmt(c, c->change_hi, hi, sizeof hi);
    {
        char m[48];
        gate_value_fmt(c->kind, c->measured, m, sizeof m);
        char runs[160] = "";
        if (by_runs) {
            char rlo[48], rhi[48];
            gate_change_fmt(c, c->runs_lo, rlo, sizeof rlo);
            gate_change_fmt(c, c->runs_hi, rhi, sizeof rhi);
            snprintf(runs, sizeof runs, ", over %zu vs %zu runs %s .. %s", nc, nb, rlo, rhi);
        }
        char reqs[160] = "";
        if (per_request && by_runs) {
            char qlo[48], qhi[48];
            gate_change_fmt(c, req_lo, qlo, sizeof qlo);
            gate_change_fmt(c, req_hi, qhi, sizeof qhi);
            snprintf(reqs, sizeof reqs, " %s .. %s", qlo, qhi);
        }
        if (per_request)
            snprintf(c->message, sizeof c->message,
                     "%s vs baseline %s: %s (95%% CI %s .. %s, %zu vs %zu requests%s%s), tolerance %s, "
                     "probability of a regression beyond it %.1f%%, Mann-Whitney p %.3g%s",
                     m, bv, ch, lo, hi, c->n_cur, c->n_base, reqs, runs, tol,
                     isnan(c->p_regress) ? 0 : c->p_regress * 100, c->mwu_p,
                     c->status == GATE_NOISE ? ", within noise" : "");
        else if (by_runs)
            snprintf(c->message, sizeof c->message,
                     "%s vs baseline %s: %s (95%% CI %s .. %s%s), tolerance %s, "
                     "probability of a regression beyond it %.1f%%%s",
                     m, bv, ch, lo, hi, runs, tol, c->runs_p * 100,
                     c->status == GATE_NOISE ? ", within noise" : "");
        else if (n > 1 || b->n > 1)
            snprintf(c->message, sizeof c->message,
                     "%s vs baseline %s: %s (95%% CI %s .. %s), tolerance %s%s",
                     m, bv, ch, lo, hi, tol, c->status == GATE_NOISE ? ", within noise" : "");
        else
            snprintf(c->message, sizeof c->message, "%s vs baseline %s: %s, tolerance %s",
                     m, bv, ch, tol);
    }
done:
    free(cur);
    free(base);
    return 0;
}

static const char *doc_version(const cJSON *doc)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(doc, "environment");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(env, "llmload_version");
    if (!cJSON_IsString(v))
        v = cJSON_GetObjectItemCaseSensitive(env, "version");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int gate_evaluate(const struct gate_opts *g, struct cJSON *const *results, size_t n,
                  FILE *out, char *err, size_t errcap)
{
    int code = EXIT_OK;
    const cJSON **sums = NULL, **samples = NULL;
    struct gate_outcome o;
    memset(&o, 0, sizeof o);
    if (!n) {
        snprintf(err, errcap, "no run completed");
        return EXIT_RUN;
    }
    sums = calloc(n, sizeof *sums);
    samples = calloc(n, sizeof *samples);
    if (!sums || !samples) {
        free(sums);
        free(samples);
        snprintf(err, errcap, "out of memory");
        return EXIT_RUN;
    }
    for (size_t i = 0; i < n; i++) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(results[i], "interrupted"))) {
            snprintf(err, errcap, "run %zu of %zu was interrupted: no check evaluated, no baseline saved",
                     i + 1, n);
            code = EXIT_INTERRUPTED;
            goto out;
        }
        sums[i] = cJSON_GetObjectItemCaseSensitive(results[i], "summary");
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(sums[i], "ok");
        if (!cJSON_IsObject(sums[i]) || !cJSON_IsNumber(ok)) {
            snprintf(err, errcap, "run %zu of %zu: the result has no summary", i + 1, n);
            code = EXIT_RUN;
            goto out;
        }
        if (ok->valuedouble <= 0) {
            snprintf(err, errcap, "run %zu of %zu: every request failed; nothing to check", i + 1, n);
            code = EXIT_RUN;
            goto out;
        }
    }
    if (g->baseline &&
        gate_check_config(g, cJSON_GetObjectItemCaseSensitive(results[0], "config"), err, errcap) < 0) {
        code = EXIT_USAGE;
        goto out;
    }
    o.runs = n;
    o.baseline_path = g->baseline ? g->baseline->path : NULL;
    o.baseline_runs = g->baseline ? g->baseline->n : 0;
    o.version = doc_version(results[0]);
    for (size_t i = 0; i < n; i++) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(sums[i], "duration_s");
        if (cJSON_IsNumber(d) && d->valuedouble > 0)
            o.time_s += d->valuedouble;
    }
    size_t nreg = g->baseline ? g->n_regress : 0;
    o.checks = calloc(g->n_asserts + nreg + 1, sizeof *o.checks);
    o.median = baseline_median_summary(sums, n);
    if (!o.checks || !o.median) {
        snprintf(err, errcap, "out of memory");
        code = EXIT_RUN;
        goto out;
    }
    for (size_t i = 0; i < g->n_asserts; i++) {
        if (eval_assert(g->asserts[i], sums, n, &o.checks[o.n]) < 0) {
            snprintf(err, errcap, "out of memory");
            code = EXIT_RUN;
            goto out;
        }
        o.n++;
    }
    for (size_t i = 0; i < n; i++)
        samples[i] = cJSON_GetObjectItemCaseSensitive(results[i], "samples");
    for (size_t i = 0; i < nreg; i++) {
        if (eval_regress(&g->regress[i], sums, samples, n, g->baseline, &o.checks[o.n]) < 0) {
            snprintf(err, errcap, "out of memory");
            code = EXIT_RUN;
            goto out;
        }
        o.n++;
    }
    for (size_t i = 0; i < o.n; i++)
        if (o.checks[i].status == GATE_FAIL)
            o.failed++;
    gate_report_text(out, &o);
    code = o.failed ? EXIT_CHECK : EXIT_OK;
    /* Reports are written whatever the checks said: a failing build is when
     * CI needs them most. */
    if (g->junit_path && gate_report_junit(g->junit_out, g->junit_path, &o, err, errcap) < 0)
        code = EXIT_USAGE;
    if (code != EXIT_USAGE && g->markdown_path &&
        gate_report_markdown(g->markdown_out, g->markdown_path, &o, err, errcap) < 0)
        code = EXIT_USAGE;
    if (code != EXIT_USAGE && g->save_baseline_path) {
        if (baseline_save_to(g->save_baseline_out, g->save_baseline_path, results, n, err, errcap) < 0)
            code = EXIT_USAGE;
        else if (out)
            fprintf(out, "baseline saved to %s (%zu run%s)\n", g->save_baseline_path, n, n == 1 ? "" : "s");
    }
out:
    if (code == EXIT_RUN && g->junit_path) {
        char e2[256];
        (void)gate_report_junit_error(g->junit_out, g->junit_path, err, e2, sizeof e2);
    }
    cJSON_Delete(o.median);
    free(o.checks);
    free(sums);
    free(samples);
    return code;
}

void gate_run_failed(const struct gate_opts *g, const char *what)
{
    char e[256];
    if (g->junit_path)
        (void)gate_report_junit_error(g->junit_out, g->junit_path, what, e, sizeof e);
}

int gate_evaluate_levels(const struct gate_opts *g, const char *const *labels,
                         const struct cJSON *const *summaries, size_t n,
                         FILE *out, char *err, size_t errcap)
{
    struct gate_outcome o;
    memset(&o, 0, sizeof o);
    if (!n) {
        snprintf(err, errcap, "no level completed; nothing to check");
        if (g->junit_path) {
            char e2[256];
            (void)gate_report_junit_error(g->junit_out, g->junit_path, err, e2, sizeof e2);
        }
        return EXIT_RUN;
    }
    o.checks = calloc(n * g->n_asserts + 1, sizeof *o.checks);
    /* The overview of the Markdown report shows the last level. */
    o.median = cJSON_Duplicate(summaries[n - 1], 1);
    if (!o.checks || !o.median) {
        free(o.checks);
        cJSON_Delete(o.median);
        snprintf(err, errcap, "out of memory");
        return EXIT_RUN;
    }
    o.runs = 1;   /* each level is one run: no medians, no intervals */
    for (size_t l = 0; l < n; l++) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(summaries[l], "duration_s");
        if (cJSON_IsNumber(d) && d->valuedouble > 0)
            o.time_s += d->valuedouble;
        for (size_t i = 0; i < g->n_asserts; i++) {
            struct gate_check *c = &o.checks[o.n];
            if (eval_assert(g->asserts[i], &summaries[l], 1, c) < 0) {
                free(o.checks);
                cJSON_Delete(o.median);
                snprintf(err, errcap, "out of memory");
                return EXIT_RUN;
            }
            char name[sizeof c->name];
            snprintf(name, sizeof name, "%s: %s", labels[l], g->asserts[i]->text);
            memcpy(c->name, name, sizeof c->name);
            if (c->status == GATE_FAIL)
                o.failed++;
            o.n++;
        }
    }
    gate_report_text(out, &o);
    int code = o.failed ? EXIT_CHECK : EXIT_OK;
    if (g->junit_path && gate_report_junit(g->junit_out, g->junit_path, &o, err, errcap) < 0)
        code = EXIT_USAGE;
    if (code != EXIT_USAGE && g->markdown_path &&
        gate_report_markdown(g->markdown_out, g->markdown_path, &o, err, errcap) < 0)
        code = EXIT_USAGE;
    free(o.checks);
    cJSON_Delete(o.median);
    return code;
}
