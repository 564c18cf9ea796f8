/* Compare analysis (compare.h): the same sweep against several targets,
 * the winner per level, where each saturates, and a recommendation with
 * its reasons. */
#include "compare.h"
#include "knee.h"
#include "knee_int.h"
#include "jdoc.h"
#include "sample.h"
#include "stats.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *sweep_levels(const cJSON *sweep)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(sweep, "levels");
    return cJSON_IsArray(l) ? l : NULL;
}

static int level_equal(const cJSON *a, const cJSON *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, "level");
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, "level");
    if (cJSON_IsNumber(x) && cJSON_IsNumber(y))
        return fabs(x->valuedouble - y->valuedouble) <= 1e-9 * fmax(1, fabs(x->valuedouble));
    if (cJSON_IsString(x) && cJSON_IsString(y))
        return !strcmp(x->valuestring, y->valuestring);
    return 0;
}

/* The entry of sweep whose level equals that of like, or NULL. */
static const cJSON *find_level(const cJSON *sweep, const cJSON *like)
{
    const cJSON *lv;
    const cJSON *levels = sweep_levels(sweep);
    cJSON_ArrayForEach(lv, levels)
        if (level_equal(lv, like) && knee_level_summary(lv))
            return lv;
    return NULL;
}

/* The sort key of a level: its number, a named level's index, else the
 * order it first appeared in. */
static double level_key(const cJSON *lv, double order)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
    if (cJSON_IsNumber(l))
        return l->valuedouble;
    double idx = jdoc_num(lv, "index");
    return isfinite(idx) ? idx : order;
}

static int cmp_key(const void *a, const void *b)
{
    double x = jdoc_num(*(const cJSON *const *)a, "key");
    double y = jdoc_num(*(const cJSON *const *)b, "key");
    return (x > y) - (x < y);
}

/* The union of the targets' levels ({"level", "key"}), sorted by level. */
static cJSON *level_union(const cJSON *const *sweeps, size_t n)
{
    cJSON *u = cJSON_CreateArray();
    int nu = 0;
    for (size_t i = 0; u && i < n; i++) {
        const cJSON *lv;
        const cJSON *levels = sweep_levels(sweeps[i]);
        cJSON_ArrayForEach(lv, levels) {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
            if (!l || !knee_level_summary(lv))
                continue;
            int seen = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, u)
                seen |= level_equal(e, lv);
            if (!seen) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddItemToObject(o, "level", cJSON_Duplicate(l, 1));
                cJSON_AddNumberToObject(o, "key", level_key(lv, nu++));
                cJSON_AddItemToArray(u, o);
            }
        }
    }
    jdoc_sort(u, cmp_key);
    return u;
}

/* What else the recommendation reports of each target (they inform, they do
 * not vote: throughput at equal load or capacity decides). */
enum { CRIT_TPUT = 0, CRIT_LATENCY, CRIT_SINGLE, CRIT_SUCCESS, CRIT__N };

/* Within noise, two measurements tie: a difference in rates or latencies
 * of a few percent is what two runs of the same server show. */
#define COMPARE_NOISE 0.05
#define COMPARE_MAX 16          /* targets weighed (sweep.h: SWEEP_MAX_TARGETS) */
#define SWEEP_ROUNDS_MAX 32     /* sweep.h: SWEEP_MAX_ROUNDS */

static const char *crit_label(int c, const char *parameter)
{
    switch (c) {
    case CRIT_TPUT: return "throughput under load";
    case CRIT_LATENCY:
        return !strcmp(parameter, "concurrency") ? "latency at high concurrency"
             : !strcmp(parameter, "rate") ? "latency at the highest rate" : "latency at the last level";
    case CRIT_SINGLE: return "single-user speed";
    default: return "success rate";
    }
}

/* The criteria per target, and who leads each. */
struct crit_tab {
    size_t nt;
    double v[CRIT__N][COMPARE_MAX];
    double req[COMPARE_MAX];            /* requests behind the success rate */
    int lead[CRIT__N][COMPARE_MAX];     /* within noise of the best */
    int nlead[CRIT__N];
};

/* x and y are the same within noise.  A success rate is a proportion:
 * within two standard errors of the difference, or half a point. */
static int near(const struct crit_tab *t, int c, size_t i, size_t j)
{
    double x = t->v[c][i], y = t->v[c][j];
    if (c == CRIT_SUCCESS) {
        double se = sqrt(x * (1 - x) / fmax(1, t->req[i]) + y * (1 - y) / fmax(1, t->req[j]));
        return fabs(x - y) <= fmax(0.005, 2 * se);
    }
    return fabs(x - y) <= COMPARE_NOISE * fmax(fabs(x), fabs(y));
}

/* ---- the verdict: who is faster, and can the data tell ------------------------ */

/* One target at one level, as the bootstrap resamples it: each kept
 * request's output tokens over its time.  Why requests and not the
 * histograms: the ratio of two throughputs needs the pairing of a
 * request's tokens with its time, which the histograms have lost; the
 * level's samples (sample.h, a uniform reservoir of its requests) keep it.
 * At equal concurrency a closed loop keeps that many requests in flight,
 * so by Little's law its throughput is concurrency x sum(tokens) /
 * sum(time): the ratio of two targets' sums is the ratio of their
 * throughputs, and a failed request adds time and no tokens. */
struct level_group { double *num, *den, *round; int *block; size_t n, nrounds; };

static void group_free(struct level_group *g)
{
    free(g->num);
    free(g->den);
    free(g->round);
    free(g->block);
    memset(g, 0, sizeof *g);
}

/* 0, or -1 when the level kept no samples (a result from before them). */
static int group_of(const cJSON *lv, struct level_group *g)
{
    struct sample_view v;
    memset(g, 0, sizeof *g);
    const cJSON *sj = lv ? cJSON_GetObjectItemCaseSensitive(lv, "samples") : NULL;
    if (!sj || sample_view_of(sj, &v) < 0 || v.n == 0)
        return -1;
    g->num = malloc(v.n * sizeof *g->num);
    g->den = malloc(v.n * sizeof *g->den);
    g->round = malloc(v.n * sizeof *g->round);
    g->block = malloc(v.n * sizeof *g->block);
    if (!g->num || !g->den || !g->round || !g->block) {
        group_free(g);
        return -1;
    }
    sample_view_column(&v, "output_tokens", g->num);
    sample_view_column(&v, "e2e_s", g->den);
    sample_view_column(&v, "round", g->round);
    int blocks = sample_view_blocks(&v, g->block) == 0;
    for (size_t i = 0; i < v.n; i++)
        if (isfinite(g->den[i]) && g->den[i] >= 0 && g->round[i] >= 0 && g->round[i] < 1e6) {
            g->num[g->n] = isfinite(g->num[i]) ? g->num[i] : 0;
            g->round[g->n] = g->round[i];
            if (blocks)
                g->block[g->n] = g->block[i];
            if ((size_t)g->round[i] + 1 > g->nrounds)
                g->nrounds = (size_t)g->round[i] + 1;
            g->den[g->n++] = g->den[i];
        }
    if (!g->n) {
        group_free(g);
        return -1;
    }
    if (!blocks) {
        free(g->block);
        g->block = NULL;
    }
    return 0;
}

/* The rate of g's requests of round r (every request when r < 0). */
static double round_rate(const struct level_group *g, long r)
{
    double a = 0, b = 0;
    for (size_t i = 0; i < g->n; i++)
        if (r < 0 || (long)g->round[i] == r) {
            a += g->num[i];
            b += g->den[i];
        }
    return b > 0 ? a / b : NAN;
}

/* The ratio of target a's rate to b's over the levels [l0, l1) of grp
 * (grp[t * nl + l]), with its interval.  With rounds (compare --rounds),
 * the rounds decide: each round pairs a's and b's runs made one after the
 * other, its ratio is what both saw of the machine at that time, and the
 * spread of the rounds' ratios holds the drift between runs that the
 * requests of one run cannot show.  A round's statistic is the mean over
 * the levels of its log ratios: one number a round, so several levels are
 * one test, not one test a level with the best of them taken.  The
 * interval is Student's t over the rounds, and from 6 rounds the hull of
 * it and the signed-rank interval (stats_signed_rank_interval), centred on
 * the rounds' Hodges-Lehmann estimate.  Each holds 95% under its own
 * assumption: t when the rounds' log ratios are normal, which on a loaded
 * machine they are not (a burst of other work lands on one run: kurtosis
 * 48 to 68 in bench/verdict_trials.py); signed-rank when they are
 * symmetric about the truth, which the alternating order makes them under
 * "no difference", whatever their tails.  The hull covers at least as often
 * as either, so it holds when either assumption does, and a winner needs
 * both to exclude 1.  Below 6 rounds no rank interval reaches 95%: t
 * alone.  With one round, the requests are resampled (stats_boot_ratio).
 * 0, or -1 without samples. */
static int pair_ratio(const struct level_group *grp, size_t nl, size_t l0, size_t l1,
                      size_t a, size_t b, struct stats_ratio *r)
{
    struct stats_group ga[KNEE_MAX_LEVELS], gb[KNEE_MAX_LEVELS];
    size_t k = 0, rounds = SIZE_MAX;
    for (size_t l = l0; l < l1 && k < KNEE_MAX_LEVELS; l++) {
        const struct level_group *x = &grp[a * nl + l], *y = &grp[b * nl + l];
        if (!x->n || !y->n)
            return -1;
        ga[k] = (struct stats_group){ x->num, x->den, x->n, x->block };
        gb[k++] = (struct stats_group){ y->num, y->den, y->n, y->block };
        if (x->nrounds < rounds)
            rounds = x->nrounds;
        if (y->nrounds < rounds)
            rounds = y->nrounds;
    }
    if (!k)
        return -1;
    if (rounds < 2)
        return stats_boot_ratio(ga, gb, k, STATS_BOOT_SEED, STATS_BOOT_N, r);
    double lr[SWEEP_ROUNDS_MAX];
    size_t m = 0;
    for (size_t q = 0; q < rounds && m < SWEEP_ROUNDS_MAX; q++) {
        double ls = 0;
        int ok = 1;
        for (size_t l = l0; l < l1; l++) {
            double x = round_rate(&grp[a * nl + l], (long)q), y = round_rate(&grp[b * nl + l], (long)q);
            ok &= x > 0 && y > 0;
            ls += ok ? log(x / y) : 0;
        }
        if (ok)
            lr[m++] = ls / (double)(l1 - l0);
    }
    double mean, lo, hi, se, est, conf;
    if (stats_t_interval(lr, m, &mean, &lo, &hi, &se) < 0)
        return -1;
    r->ranks = stats_signed_rank_interval(lr, m, &est, &r->lo, &r->hi, &conf) == 0;
    if (r->ranks) {
        mean = est;
        lo = fmin(lo, r->lo);
        hi = fmax(hi, r->hi);
    }
    r->point = exp(mean);
    r->lo = exp(lo);
    r->hi = exp(hi);
    r->se_log = se;
    r->p_above = se > 0 ? stats_phi(mean / se) : mean > 0;
    r->resamples = 0;
    r->seed = 0;
    r->rounds = m;
    return 0;
}

static void add_ratio(cJSON *o, const char *key, const char *a, const char *b,
                      double point, const struct stats_ratio *r)
{
    cJSON *j = cJSON_AddObjectToObject(o, key);
    cJSON *of = cJSON_AddArrayToObject(j, "of");
    cJSON_AddItemToArray(of, cJSON_CreateString(a));
    cJSON_AddItemToArray(of, cJSON_CreateString(b));
    jdoc_add_num(j, "point", r ? r->point : point);
    jdoc_add_num(j, "lo", r ? r->lo : NAN);
    jdoc_add_num(j, "hi", r ? r->hi : NAN);
    if (r) {
        jdoc_add_num(j, "se_log", r->se_log);
        cJSON_AddStringToObject(j, "method", r->rounds <= 1 ? "bootstrap"
                                           : r->ranks ? "rounds-rank" : "rounds");
        if (r->rounds > 1) {
            cJSON_AddNumberToObject(j, "rounds", (double)r->rounds);
        } else {
            cJSON_AddNumberToObject(j, "resamples", (double)r->resamples);
            cJSON_AddNumberToObject(j, "seed", (double)r->seed);
        }
    }
}

/* A sweep's capacity at its SLO with its bracket: the largest level that
 * met it and the smallest that did not (+inf when none failed).  The hook
 * for the capacity search: a "capacity" object {"value","lo","hi"} when the
 * sweep has one, else the find-max result.  0, or -1 without. */
static int capacity_of(const cJSON *sweep, double *cap, double *lo, double *hi)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(sweep, "capacity");
    if (cJSON_IsObject(c) && isfinite(jdoc_num(c, "value"))) {
        *cap = jdoc_num(c, "value");
        *lo = isfinite(jdoc_num(c, "lo")) ? jdoc_num(c, "lo") : *cap;
        *hi = isfinite(jdoc_num(c, "hi")) ? jdoc_num(c, "hi") : INFINITY;
        return 0;
    }
    const cJSON *fm = cJSON_GetObjectItemCaseSensitive(sweep, "find_max");
    double m = jdoc_num(fm, "max"), f = jdoc_num(fm, "first_fail");
    if (!cJSON_IsObject(fm) || (!isfinite(m) && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(fm, "max"))))
        return -1;
    /* A search that found no level meeting the SLO: capacity 0, below
     * the smallest level it tried. */
    *cap = *lo = isfinite(m) ? m : 0;
    *hi = isfinite(f) ? f : INFINITY;
    return 0;
}

/* The run that held a sweep's capacity: the last level entry at find-max's
 * "max" (the hold runs last at it), or NULL without a capacity. */
static const cJSON *capacity_entry(const cJSON *sweep)
{
    double m = jdoc_num(cJSON_GetObjectItemCaseSensitive(sweep, "find_max"), "max");
    const cJSON *lv, *at = NULL;
    if (!isfinite(m))
        return NULL;
    cJSON_ArrayForEach(lv, sweep_levels(sweep))
        if (jdoc_num(lv, "level") == m && knee_level_summary(lv))
            at = lv;
    return at;
}

/* Each target's capacity at the SLO, as recommendation.capacity {name:
 * {value, lo, hi}} and one reason line, so the ranking shows what it
 * ranked. */
static void capacity_add(cJSON *rec, cJSON *reasons, const char *parameter, const char *const *names,
                         const cJSON *const *sweeps, size_t n)
{
    cJSON *cj = cJSON_AddObjectToObject(rec, "capacity");
    char line[768] = "", b[32];
    const char *per = NULL;
    double target = NAN;
    for (size_t i = 0; i < n; i++) {
        double cap, lo, hi;
        if (!sweeps[i] || capacity_of(sweeps[i], &cap, &lo, &hi) < 0)
            continue;
        const cJSON *fm = cJSON_GetObjectItemCaseSensitive(sweeps[i], "find_max");
        if (!per)
            per = jdoc_str(sweeps[i], "slo_per_request");
        if (isnan(target))
            target = jdoc_num(fm, "goodput_target");
        cJSON *o = cJSON_AddObjectToObject(cj, names[i]);
        jdoc_add_num(o, "value", cap);
        jdoc_add_num(o, "lo", lo);
        jdoc_add_num(o, "hi", isfinite(hi) ? hi : NAN);
        jdoc_add_num(o, "probes", jdoc_num(fm, "probes"));
        if (cap > 0)
            knee_appendf(line, sizeof line, "%s %s %g (", *line ? "," : "", names[i], cap);
        else
            knee_appendf(line, sizeof line, "%s %s none (", *line ? "," : "", names[i]);
        if (isfinite(hi))
            knee_appendf(line, sizeof line, "%g does not meet it", hi);
        else
            knee_appendf(line, sizeof line, "no level tried failed");
        if (isfinite(jdoc_num(fm, "probes")))
            knee_appendf(line, sizeof line, ", %.0f probes", jdoc_num(fm, "probes"));
        knee_appendf(line, sizeof line, ")");
    }
    if (!*line)
        return;
    char head[256];
    snprintf(head, sizeof head, "capacity at the SLO (largest %s meeting %s", parameter, per ? per : "every SLO");
    if (isfinite(target))
        knee_appendf(head, sizeof head, " with attainment >= %s, 95%% lower bound",
                     knee_fmt_num(target * 100, "%g%%", b, sizeof b));
    knee_appendf(head, sizeof head, "):");
    char all[1024];
    snprintf(all, sizeof all, "%s%s", head, line);
    cJSON_AddItemToArray(reasons, cJSON_CreateString(all));
}

/* Past capacity per target: the sweep's find-max probe at 1.5x its
 * capacity when it has one (knee_past_json), else its highest level
 * against its knee; good output tokens/s, with what the server shed (429
 * and 503).  docs/metrics.md, "Capacity". */
static void past_add(cJSON *rec, cJSON *reasons, const cJSON *sat, const char *parameter,
                     const char *const *names, const cJSON *const *sweeps, size_t n, double threshold)
{
    cJSON *past = cJSON_AddObjectToObject(rec, "past_capacity");
    for (size_t i = 0; i < n; i++) {
        char line[768];
        const cJSON *fp = sweeps[i] ? cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(sweeps[i], "find_max"), "past_capacity") : NULL;
        if (cJSON_IsObject(fp)) {
            cJSON *pj = cJSON_Duplicate(fp, 1);
            cJSON_AddStringToObject(pj, "from", "capacity");
            cJSON_AddItemToObject(past, names[i], pj);
            snprintf(line, sizeof line, "past capacity: %s %s", names[i], jdoc_str(fp, "text") ? jdoc_str(fp, "text") : "");
            cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
            continue;
        }
        const cJSON *levs = sweeps[i] ? sweep_levels(sweeps[i]) : NULL;
        const cJSON *top = levs ? cJSON_GetArrayItem(levs, cJSON_GetArraySize(levs) - 1) : NULL;
        const cJSON *kn = cJSON_GetObjectItemCaseSensitive(sat, names[i]);
        const cJSON *klv = cJSON_IsObject(kn) && cJSON_GetObjectItemCaseSensitive(kn, "level") &&
                           !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(kn, "level"))
                               ? find_level(sweeps[i], kn) : NULL;
        if (!top || !klv || klv == top || !knee_level_summary(top))
            continue;
        const cJSON *ts = knee_level_summary(top), *ks = knee_level_summary(klv);
        double g_hi = knee_good_tps(ts), g_knee = knee_good_tps(ks);
        double kept = g_knee > 0 ? g_hi / g_knee : NAN;
        double s429, s503;
        cJSON *pj = cJSON_AddObjectToObject(past, names[i]);
        cJSON_AddStringToObject(pj, "from", "knee");
        cJSON_AddItemToObject(pj, "knee_level", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(klv, "level"), 1));
        cJSON_AddItemToObject(pj, "highest_level", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(top, "level"), 1));
        jdoc_add_num(pj, "good_output_tps_knee", g_knee);
        jdoc_add_num(pj, "good_output_tps_highest", g_hi);
        const char *verdict = knee_past_fields(pj, top, kept, threshold, &s429, &s503);
        char l1[64], l2[64], pct[32], ok[32];
        snprintf(line, sizeof line, "past capacity: %s %s (at %s %s it keeps %s of its good output "
                 "tokens/s at the knee, %s %s; success %s",
                 names[i], verdict, parameter, knee_level_label(top, l1, sizeof l1),
                 isfinite(kept) ? (snprintf(pct, sizeof pct, "%.0f%%", kept * 100), pct) : "-",
                 parameter, knee_level_label(klv, l2, sizeof l2),
                 knee_fmt_pct(knee_success_rate(ts), ok, sizeof ok));
        if (isfinite(s429) || isfinite(s503))
            knee_appendf(line, sizeof line, ", shed %.0f with 429 and %.0f with 503",
                         isfinite(s429) ? s429 : 0, isfinite(s503) ? s503 : 0);
        knee_appendf(line, sizeof line, ")");
        cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
    }
}

cJSON *knee_compare(const char *parameter, const char *const *names,
                    const cJSON *const *sweeps, size_t n, double threshold)
{
    return knee_compare_ex(parameter, names, sweeps, n, threshold, NULL);
}

cJSON *knee_compare_ex(const char *parameter, const char *const *names,
                       const cJSON *const *sweeps, size_t n, double threshold,
                       const struct compare_extra *extra)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *levels = cJSON_AddArrayToObject(out, "levels");
    cJSON *left = cJSON_AddArrayToObject(out, "left_out");
    cJSON *sat = cJSON_AddObjectToObject(out, "saturation");
    cJSON *u = level_union(sweeps, n);
    cJSON *common = cJSON_CreateArray();
    double *v = calloc(n ? n : 1, sizeof *v);
    struct crit_tab *t = calloc(1, sizeof *t);
    struct level_group *grp = NULL;
    if (!out || !levels || !left || !sat || !u || !common || !v || !t) {
        cJSON_Delete(out);
        cJSON_Delete(u);
        cJSON_Delete(common);
        free(v);
        free(t);
        return NULL;
    }
    t->nt = n < COMPARE_MAX ? n : COMPARE_MAX;

    /* A sweep with an "error" stopped early (its target went down): it
     * does not decide which levels all targets share, and it is not
     * recommended while another target finished. */
    int finished[COMPARE_MAX] = { 0 }, nfinished = 0, nresults = 0;
    for (size_t i = 0; i < t->nt; i++) {
        finished[i] = sweeps[i] && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sweeps[i], "error"));
        nfinished += finished[i];
        nresults += sweeps[i] != NULL;
    }
#define DECIDES(i) (sweeps[i] && (nfinished == 0 || finished[i]))

    /* Only the levels every target ran are compared: a level one of them
     * did not run says nothing about it.  The others are left out, and
     * said so. */
    const cJSON *ul;
    cJSON_ArrayForEach(ul, u) {
        int all = nresults > 0;
        for (size_t i = 0; i < t->nt; i++)
            all &= !DECIDES(i) || find_level(sweeps[i], ul) != NULL;
        const cJSON *level = cJSON_GetObjectItemCaseSensitive(ul, "level");
        if (all) {
            cJSON_AddItemToArray(common, cJSON_Duplicate(ul, 1));
            continue;
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "level", cJSON_Duplicate(level, 1));
        cJSON *who = cJSON_AddArrayToObject(e, "targets");
        for (size_t i = 0; i < n; i++)
            if (sweeps[i] && find_level(sweeps[i], ul))
                cJSON_AddItemToArray(who, cJSON_CreateString(names[i]));
        cJSON_AddItemToArray(left, e);
    }
    int ncommon = cJSON_GetArraySize(common);
    const cJSON *common_lo = cJSON_GetArrayItem(common, 0);
    const cJSON *common_hi = cJSON_GetArrayItem(common, ncommon - 1);

    /* Each target's requests at each common level (grp[i * ncommon + l]);
     * samples[i]: target i kept them at every common level. */
    size_t nl = (size_t)ncommon;
    int samples[COMPARE_MAX] = { 0 };
    grp = calloc(t->nt * nl + 1, sizeof *grp);
    if (!grp) {
        cJSON_Delete(out);
        out = NULL;
        goto done;
    }
    for (size_t i = 0; i < t->nt; i++) {
        size_t l = 0;
        samples[i] = sweeps[i] != NULL && nl > 0;
        cJSON_ArrayForEach(ul, common) {
            const cJSON *lv = sweeps[i] ? find_level(sweeps[i], ul) : NULL;
            if (group_of(lv, &grp[i * nl + l]) < 0)
                samples[i] = 0;
            l++;
        }
    }

    /* Per common level: throughput of each target, winner, speedup. */
    cJSON_ArrayForEach(ul, common) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddItemToObject(row, "level",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ul, "level"), 1));
        cJSON *tps = cJSON_AddObjectToObject(row, "output_tps");
        double best = NAN, second = NAN;
        long w = -1;
        for (size_t i = 0; i < n; i++) {
            const cJSON *lv = sweeps[i] ? find_level(sweeps[i], ul) : NULL;
            v[i] = lv ? jdoc_num(knee_level_summary(lv), "output_tps") : NAN;
            jdoc_add_num(tps, names[i], v[i]);
            if (!isfinite(v[i]))
                continue;
            if (w < 0 || v[i] > best) {
                second = best;
                best = v[i];
                w = (long)i;
            } else if (isnan(second) || v[i] > second) {
                second = v[i];
            }
        }
        /* A winner only when no other is within noise of it: with the
         * requests at hand, when the interval of the best's throughput over
         * each other's excludes 1; without, a band of COMPARE_NOISE. */
        cJSON *tied = cJSON_CreateArray();
        size_t li = (size_t)cJSON_GetArraySize(levels);
        for (size_t i = 0; w >= 0 && best > 0 && i < n; i++) {
            if (!isfinite(v[i]))
                continue;
            struct stats_ratio r;
            int same = (long)i == w;
            if (!same && (size_t)w < t->nt && i < t->nt &&
                pair_ratio(grp, nl, li, li + 1, (size_t)w, i, &r) == 0)
                same = r.lo <= 1;
            else if (!same)
                same = best - v[i] <= COMPARE_NOISE * best;
            if (same)
                cJSON_AddItemToArray(tied, cJSON_CreateString(names[i]));
        }
        if (cJSON_GetArraySize(tied) == 1)
            cJSON_AddStringToObject(row, "winner", names[w]);
        else
            cJSON_AddNullToObject(row, "winner");
        if (cJSON_GetArraySize(tied) > 1)
            cJSON_AddItemToObject(row, "tied", tied);
        else
            cJSON_Delete(tied);
        jdoc_add_num(row, "speedup", w >= 0 && second > 0 ? best / second : NAN);
        cJSON_AddItemToArray(levels, row);
    }

    /* Where each target saturates: over all of its own levels. */
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToObject(sat, names[i], sweeps[i] ? knee_of_levels(sweep_levels(sweeps[i]),
                                                                         parameter, threshold, NULL)
                                                        : cJSON_CreateNull());

    /* The recommendation: four criteria over the common levels. */
    for (size_t i = 0; i < t->nt; i++) {
        double peak = NAN, ok = 0, req = 0;
        cJSON_ArrayForEach(ul, common) {
            const cJSON *lv = sweeps[i] ? find_level(sweeps[i], ul) : NULL;
            const cJSON *s = lv ? knee_level_summary(lv) : NULL;
            double tp = jdoc_num(s, "output_tps");
            if (isfinite(tp) && (isnan(peak) || tp > peak))
                peak = tp;
            if (s && isfinite(jdoc_num(s, "requests"))) {
                req += jdoc_num(s, "requests");
                ok += fmax(0, jdoc_num(s, "ok"));
            } else if (sweeps[i]) {
                /* A target that went down before this level: as many
                 * failed requests as the others sent there. */
                double most = 0;
                for (size_t k = 0; k < n; k++) {
                    const cJSON *o = sweeps[k] ? find_level(sweeps[k], ul) : NULL;
                    double r = o ? jdoc_num(knee_level_summary(o), "requests") : NAN;
                    if (isfinite(r) && r > most)
                        most = r;
                }
                req += most;
            }
        }
        t->v[CRIT_TPUT][i] = peak;
        t->v[CRIT_SUCCESS][i] = req > 0 ? ok / req : NAN;
        t->req[i] = req;
        const cJSON *hi = (sweeps[i] && common_hi) ? find_level(sweeps[i], common_hi) : NULL;
        const cJSON *lo = (sweeps[i] && common_lo) ? find_level(sweeps[i], common_lo) : NULL;
        t->v[CRIT_LATENCY][i] = hi ? knee_jstat(knee_level_summary(hi), "e2e", "p95") : NAN;
        double single = lo ? knee_jstat(knee_level_summary(lo), "request_tps", "mean") : NAN;
        if (!isfinite(single) && lo) {
            /* No per-request rate in the summary: a shorter mean latency is
             * the next best measure of what one user sees. */
            double e = knee_jstat(knee_level_summary(lo), "e2e", "mean");
            single = (isfinite(e) && e > 0) ? 1 / e : NAN;
        }
        t->v[CRIT_SINGLE][i] = single;
    }
    cJSON *rec = cJSON_AddObjectToObject(out, "recommendation");
    cJSON *crits = cJSON_AddArrayToObject(rec, "criteria");
    cJSON *reasons = cJSON_AddArrayToObject(rec, "reasons");
    char lab_lo[64] = "", lab_hi[64] = "";
    if (common_lo)
        knee_level_label(common_lo, lab_lo, sizeof lab_lo);
    if (common_hi)
        knee_level_label(common_hi, lab_hi, sizeof lab_hi);
    for (int c = 0; c < CRIT__N; c++) {
        int higher = c != CRIT_LATENCY;
        long w = -1;
        for (size_t i = 0; i < t->nt; i++)
            if (isfinite(t->v[c][i]) &&
                (w < 0 || (higher ? t->v[c][i] > t->v[c][w] : t->v[c][i] < t->v[c][w])))
                w = (long)i;
        cJSON *cj = cJSON_CreateObject();
        cJSON_AddStringToObject(cj, "name", crit_label(c, parameter));
        cJSON *vals = cJSON_AddObjectToObject(cj, "values");
        cJSON *tied = cJSON_CreateArray();
        for (size_t i = 0; i < t->nt; i++)
            jdoc_add_num(vals, names[i], t->v[c][i]);
        cJSON_AddItemToArray(crits, cj);
        char line[768];
        if (w < 0) {
            snprintf(line, sizeof line, "%s: %s", crit_label(c, parameter),
                     ncommon ? "no target has a measurement" : "no level is common to every target");
            cJSON_AddNullToObject(cj, "winner");
            cJSON_AddItemToObject(cj, "tied", tied);
            cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
            continue;
        }
        /* Every target within noise of the best leads; one leader wins,
         * several tie and none of them wins.  The runner-up is the best
         * of the others. */
        double runner = NAN;
        for (size_t i = 0; i < t->nt; i++) {
            double x = t->v[c][i];
            if (!isfinite(x))
                continue;
            if (near(t, c, i, (size_t)w)) {
                t->lead[c][i] = 1;
                t->nlead[c]++;
            } else if (isnan(runner) || (higher ? x > runner : x < runner)) {
                runner = x;
            }
        }
        for (size_t i = 0; i < t->nt; i++)
            if (t->lead[c][i] && t->nlead[c] > 1)
                cJSON_AddItemToArray(tied, cJSON_CreateString(names[i]));
        if (t->nlead[c] == 1)
            cJSON_AddStringToObject(cj, "winner", names[w]);
        else
            cJSON_AddNullToObject(cj, "winner");
        cJSON_AddItemToObject(cj, "tied", tied);
        snprintf(line, sizeof line, "%s: ", crit_label(c, parameter));
        for (size_t i = 0; i < t->nt; i++) {
            char val[48];
            double x = t->v[c][i];
            switch (c) {
            case CRIT_TPUT:    knee_fmt_num(x, "%.1f tok/s", val, sizeof val); break;
            case CRIT_LATENCY: knee_fmt_secs(x, val, sizeof val); break;
            case CRIT_SUCCESS: knee_fmt_pct(x, val, sizeof val); break;
            default:
                if (isfinite(x) && x < 1e-3)
                    snprintf(val, sizeof val, "-");
                else
                    knee_fmt_num(x, "%.1f tok/s", val, sizeof val);
                break;
            }
            knee_appendf(line, sizeof line, "%s%s %s", i ? ", " : "", names[i],
                         sweeps[i] ? val : "no result");
        }
        if (c == CRIT_TPUT)
            knee_appendf(line, sizeof line, " (peak)");
        else if (c == CRIT_LATENCY)
            knee_appendf(line, sizeof line, " (p95 at %s %s)", parameter, lab_hi);
        else if (c == CRIT_SINGLE)
            knee_appendf(line, sizeof line, " (per user at %s %s)", parameter, lab_lo);
        if (t->nlead[c] > 1) {
            knee_appendf(line, sizeof line, ": a tie within noise between");
            int k = 0;
            for (size_t i = 0; i < t->nt; i++)
                if (t->lead[c][i])
                    knee_appendf(line, sizeof line, "%s %s", k++ ? (k == t->nlead[c] ? " and" : ",") : "",
                                 names[i]);
        } else if (isfinite(runner) && runner > 0 && c != CRIT_SUCCESS) {
            knee_appendf(line, sizeof line, ": %s is %.2fx %s", names[w],
                         higher ? t->v[c][w] / runner : runner / t->v[c][w],
                         c == CRIT_LATENCY ? "lower" : "higher");
        } else {
            knee_appendf(line, sizeof line, ": %s is best", names[w]);
        }
        cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
    }

    /* The verdict.  The candidates are ranked by capacity at the SLO when
     * every one has it, else by throughput at equal load (the geometric
     * mean over the common levels); the first is recommended only when the
     * 95% interval of its ratio to the second excludes 1.  The criteria
     * above are what else to know: they no longer vote. */
    const char *noun = extra && extra->models ? "model " : "";
    long order[COMPARE_MAX];
    double score[COMPARE_MAX], capv[COMPARE_MAX][3];
    size_t ncand = 0;
    int all_cap = 1, all_samples = 1;
    for (size_t i = 0; i < t->nt; i++) {
        score[i] = NAN;
        if (!DECIDES(i))
            continue;
        all_cap &= capacity_of(sweeps[i], &capv[i][0], &capv[i][1], &capv[i][2]) == 0;
        all_samples &= samples[i];
        order[ncand++] = (long)i;
    }
    int by_cap = ncand > 1 && all_cap;
    for (size_t k = 0; k < ncand; k++) {
        size_t i = (size_t)order[k];
        if (by_cap) {
            score[i] = capv[i][0];
            continue;
        }
        double ls = 0;
        size_t l = 0;
        cJSON_ArrayForEach(ul, common) {
            const cJSON *lv = find_level(sweeps[i], ul);
            double x = all_samples ? round_rate(&grp[i * nl + l], -1) : jdoc_num(knee_level_summary(lv), "output_tps");
            ls += x > 0 ? log(x) : -INFINITY;
            l++;
        }
        score[i] = l ? exp(ls / (double)l) : NAN;
    }
    /* Best first; no measurement last. */
    for (size_t k = 1; k < ncand; k++)
        for (size_t m = k; m > 0; m--) {
            double x = score[order[m]], y = score[order[m - 1]];
            if (!(isfinite(x) && (!isfinite(y) || x > y)))
                break;
            long tmp = order[m];
            order[m] = order[m - 1];
            order[m - 1] = tmp;
        }
    /* The statistic that decides orders the first two: over rounds its
     * centre is the rounds' (robust to one round's burst), which the
     * pooled rates can rank the other way round. */
    struct stats_ratio r01;
    if (!by_cap && all_samples && ncand > 1 && isfinite(score[order[1]]) &&
        pair_ratio(grp, nl, 0, nl, (size_t)order[0], (size_t)order[1], &r01) == 0 && r01.point < 1) {
        long tmp = order[0];
        order[0] = order[1];
        order[1] = tmp;
    }
    cJSON_AddStringToObject(rec, "basis", by_cap ? "capacity" : "throughput");
    cJSON *ranking = cJSON_AddArrayToObject(rec, "ranking");
    for (size_t k = 0; k < ncand; k++)
        cJSON_AddItemToArray(ranking, cJSON_CreateString(names[order[k]]));

    long pick = -1;
    char text[768] = "";
    if (ncand == 0 || (ncommon == 0 && !by_cap)) {
        knee_appendf(text, sizeof text, "no recommendation: %s", ncand ? "the targets share no level"
                                                                       : "no target gave a result");
    } else if (ncand == 1) {
        pick = order[0];
        knee_appendf(text, sizeof text, "recommend %s%s: the only target that %s", noun, names[pick],
                     nresults > 1 ? "finished every level" : "gave a result");
    } else if (by_cap && !(score[order[1]] > 0)) {
        /* Capacities of 0: a search met the SLO at no level it tried. */
        if (score[order[0]] > 0) {
            pick = order[0];
            knee_appendf(text, sizeof text, "recommend %s%s: the only target that meets the SLO at a level "
                         "tried (capacity %g)", noun, names[pick], score[pick]);
        } else {
            knee_appendf(text, sizeof text, "no recommendation: no target meets the SLO at any level tried");
        }
        cJSON_AddBoolToObject(rec, "decided", pick >= 0);
    } else if (!isfinite(score[order[0]]) || !isfinite(score[order[1]]) || score[order[1]] <= 0) {
        knee_appendf(text, sizeof text, "no recommendation: %s",
                     isfinite(score[order[0]]) ? "the others have no measurement to compare with"
                                               : "no target has a measurement");
    } else {
        size_t a = (size_t)order[0], b = (size_t)order[1];
        struct stats_ratio r;
        int have_ci = 0, decided;
        double point, lo = NAN, hi = NAN;
        const char *what = by_cap ? "capacity" : "throughput";
        const char *where = by_cap ? " at the SLO" : " at equal load";
        if (by_cap) {
            /* The bracket of each capacity bounds the ratio. */
            point = capv[a][0] / capv[b][0];
            lo = capv[a][1] / capv[b][2];
            hi = capv[a][2] / capv[b][1];
            have_ci = 1;
            decided = lo > 1;
            add_ratio(rec, "ratio", names[a], names[b], point, NULL);
            cJSON *rj = cJSON_GetObjectItemCaseSensitive(rec, "ratio");
            cJSON_ReplaceItemInObject(rj, "lo", cJSON_CreateNumber(lo));
            cJSON_ReplaceItemInObject(rj, "hi", isfinite(hi) ? cJSON_CreateNumber(hi) : cJSON_CreateNull());
        } else if (all_samples && pair_ratio(grp, nl, 0, nl, a, b, &r) == 0) {
            point = r.point;
            lo = r.lo;
            hi = r.hi;
            have_ci = 1;
            decided = lo > 1;
            add_ratio(rec, "ratio", names[a], names[b], point, &r);
        } else {
            /* Results from before per-request samples: the noise band. */
            point = score[a] / score[b];
            decided = point > 1 + COMPARE_NOISE;
            add_ratio(rec, "ratio", names[a], names[b], point, NULL);
        }
        char ci[96] = "", h[32] = "inf";
        if (have_ci && isfinite(hi))
            snprintf(h, sizeof h, "%.3f", hi);
        if (have_ci)
            snprintf(ci, sizeof ci, " (95%% CI %.3f..%s%s)", lo, h,
                     by_cap || r.rounds <= 1 ? ""
                     : r.ranks ? ", t and signed-rank over the rounds" : ", over the rounds");
        else
            snprintf(ci, sizeof ci, " (no per-request samples: a %.0f%% band decides)", COMPARE_NOISE * 100);
        if (decided) {
            pick = (long)a;
            knee_appendf(text, sizeof text, "recommend %s%s: %.2fx the %s of %s%s%s", noun, names[a], point,
                         what, names[b], where, ci);
        } else {
            knee_appendf(text, sizeof text, "no clear winner at this confidence: %s is %.2fx %s in %s%s%s",
                         names[a], point, names[b], what, where, ci);
            double more = NAN;
            if (have_ci && !by_cap) {
                double have = 0;
                for (size_t l = 0; l < nl; l++)
                    have += ((double)grp[a * nl + l].n + (double)grp[b * nl + l].n) / 2;
                double need = stats_requests_needed(point, r.se_log, have);
                more = isfinite(need) ? fmax(0, need - have) : INFINITY;
                if (isfinite(more))
                    knee_appendf(text, sizeof text, "; about %.0f more requests per target would decide it",
                                 more);
                else
                    knee_appendf(text, sizeof text, "; the measured difference is nil: no number of "
                                 "requests would decide it");
            } else if (by_cap) {
                knee_appendf(text, sizeof text, "; a finer --find-max-step would decide it");
            }
            jdoc_add_num(rec, "more_requests", isfinite(more) ? more : NAN);
        }
        cJSON_AddBoolToObject(rec, "decided", decided);

        /* The worst case across the levels: where the first is least
         * ahead of the second. */
        if (!by_cap && nl > 1) {
            double worst = INFINITY;
            const cJSON *wl = NULL;
            struct stats_ratio wr;
            int wr_ok = 0;
            size_t l = 0;
            cJSON_ArrayForEach(ul, common) {
                struct stats_ratio lr;
                int ok = all_samples && pair_ratio(grp, nl, l, l + 1, a, b, &lr) == 0;
                double x = ok ? lr.point
                              : jdoc_num(knee_level_summary(find_level(sweeps[a], ul)), "output_tps") /
                                jdoc_num(knee_level_summary(find_level(sweeps[b], ul)), "output_tps");
                if (isfinite(x) && x < worst) {
                    worst = x;
                    wl = ul;
                    wr = lr;
                    wr_ok = ok;
                }
                l++;
            }
            if (wl) {
                cJSON *wc = cJSON_AddObjectToObject(rec, "worst_case");
                cJSON_AddItemToObject(wc, "level",
                                      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(wl, "level"), 1));
                add_ratio(wc, "ratio", names[a], names[b], worst, wr_ok ? &wr : NULL);
                char line[256], lab[64];
                snprintf(line, sizeof line, "worst case across levels: at %s %s %s is %.2fx %s", parameter,
                         knee_level_label(wl, lab, sizeof lab), names[a], worst, names[b]);
                if (wr_ok)
                    knee_appendf(line, sizeof line, " (95%% CI %.3f..%.3f)", wr.lo, wr.hi);
                cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
            }
        }
    }
    if (pick >= 0)
        cJSON_AddStringToObject(rec, "target", names[pick]);
    else
        cJSON_AddNullToObject(rec, "target");
    cJSON_AddStringToObject(rec, "noun", *noun ? "model" : "server");

    if (by_cap)
        capacity_add(rec, reasons, parameter, names, sweeps, t->nt);
    past_add(rec, reasons, sat, parameter, names, sweeps, t->nt, threshold);

    /* Cost: dollars per million good output tokens, from the price per
     * hour: at the target's capacity when capacities rank them (what it
     * earns run as hard as the SLO allows), else at its best common level. */
    if (extra && extra->usd_per_hour) {
        cJSON *cost = cJSON_AddObjectToObject(rec, "cost");
        char line[768] = "cost per million good output tokens:";
        int any = 0;
        long cheapest = -1;
        double best_c = INFINITY;
        for (size_t i = 0; i < t->nt; i++) {
            double usd = extra->usd_per_hour[i];
            if (!isfinite(usd) || !sweeps[i])
                continue;
            double peak = NAN;
            const cJSON *at = by_cap ? capacity_entry(sweeps[i]) : NULL;
            if (at)
                peak = knee_good_tps(knee_level_summary(at));   /* run at its capacity */
            else
                cJSON_ArrayForEach(ul, common) {
                    const cJSON *lv = find_level(sweeps[i], ul);
                    double g = lv ? knee_good_tps(knee_level_summary(lv)) : NAN;
                    if (isfinite(g) && (isnan(peak) || g > peak)) {
                        peak = g;
                        at = ul;
                    }
                }
            double per_m = peak > 0 ? usd / (peak * 3600) * 1e6 : NAN;
            cJSON *cj = cJSON_AddObjectToObject(cost, names[i]);
            jdoc_add_num(cj, "usd_per_hour", usd);
            jdoc_add_num(cj, "good_output_tps", peak);
            if (at)
                cJSON_AddItemToObject(cj, "level", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(at, "level"), 1));
            jdoc_add_num(cj, "usd_per_million_tokens", per_m);
            char lab[64];
            if (isfinite(per_m))
                knee_appendf(line, sizeof line, "%s %s $%.4g ($%.4g/h at %.1f tok/s, %s %s)", any ? "," : "",
                             names[i], per_m, usd, peak, parameter, knee_level_label(at, lab, sizeof lab));
            else
                knee_appendf(line, sizeof line, "%s %s - (no good output tokens)", any ? "," : "", names[i]);
            any = 1;
            if (isfinite(per_m) && per_m < best_c) {
                best_c = per_m;
                cheapest = (long)i;
            }
        }
        if (cheapest >= 0) {
            cJSON_AddStringToObject(cost, "cheapest", names[cheapest]);
            knee_appendf(line, sizeof line, "; cheapest: %s", names[cheapest]);
        }
        if (any)
            cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
    }
    for (size_t i = 0; i < n; i++) {
        char line[768];
        const cJSON *e = sweeps[i] ? cJSON_GetObjectItemCaseSensitive(sweeps[i], "error") : NULL;
        if (!sweeps[i])
            snprintf(line, sizeof line, "%s gave no result (down or failed)", names[i]);
        else if (cJSON_IsString(e))
            snprintf(line, sizeof line, "%s went down during the comparison (%s)", names[i],
                     e->valuestring);
        else
            continue;
        cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
    }
    if (cJSON_GetArraySize(left) > 0) {
        char line[768];
        snprintf(line, sizeof line, "left out, not run by every target: %s", parameter);
        const cJSON *e;
        int k = 0;
        cJSON_ArrayForEach(e, left) {
            char lab[64];
            knee_appendf(line, sizeof line, "%s %s (", k++ ? "," : "", knee_level_label(e, lab, sizeof lab));
            const cJSON *who;
            int m = 0;
            cJSON_ArrayForEach(who, cJSON_GetObjectItemCaseSensitive(e, "targets"))
                knee_appendf(line, sizeof line, "%s%s", m++ ? ", " : "", who->valuestring);
            knee_appendf(line, sizeof line, "%s)", m ? "" : "none");
        }
        cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
    }
    cJSON_AddStringToObject(rec, "text", text);
#undef DECIDES
done:
    for (size_t i = 0; grp && i < t->nt * nl; i++)
        group_free(&grp[i]);
    free(grp);
    cJSON_Delete(u);
    cJSON_Delete(common);
    free(v);
    free(t);
    return out;
}

cJSON *compare_model_levels(const cJSON *levels, double load, double threshold)
{
    const char *names[COMPARE_MAX];
    const cJSON *sweeps[COMPARE_MAX];
    cJSON *store = cJSON_CreateArray();
    size_t n = 0;
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(lv, "level");
        if (!cJSON_IsString(name) || !knee_level_summary(lv) || n == COMPARE_MAX || !store)
            continue;
        cJSON *sw = cJSON_CreateObject();
        cJSON *ls = cJSON_AddArrayToObject(sw, "levels");
        cJSON *one = cJSON_CreateObject();
        cJSON_AddNumberToObject(one, "level", load);
        cJSON_AddItemToObject(one, "summary", cJSON_Duplicate(knee_level_summary(lv), 1));
        const cJSON *smp = cJSON_GetObjectItemCaseSensitive(lv, "samples");
        if (smp)
            cJSON_AddItemToObject(one, "samples", cJSON_Duplicate(smp, 1));
        cJSON_AddItemToArray(ls, one);
        cJSON_AddItemToArray(store, sw);
        names[n] = name->valuestring;
        sweeps[n++] = sw;
    }
    struct compare_extra x = { NULL, 1 };
    cJSON *an = store ? knee_compare_ex("concurrency", names, sweeps, n, threshold, &x) : NULL;
    cJSON *rec = an ? cJSON_DetachItemFromObject(an, "recommendation") : NULL;
    cJSON_Delete(an);
    cJSON_Delete(store);
    return rec;
}

void knee_compare_print(FILE *f, const char *parameter, const char *const *names,
                        const cJSON *const *sweeps, size_t n, const cJSON *analysis)
{
    char lab[64], b1[32], b2[32], b3[32];
    /* Side by side: per level, each target's tok/s, p95 and success. */
    fprintf(f, "%-12s", parameter);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " | %-28.28s", names[i]);
    fprintf(f, " | %-12s %s\n", "winner", "speedup");
    fprintf(f, "%-12s", "");
    for (size_t i = 0; i < n; i++)
        fprintf(f, " | %10s %9s %7s", "tok/s", "p95", "ok");
    fputc('\n', f);
    const cJSON *row;
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(analysis, "levels");
    cJSON_ArrayForEach(row, rows) {
        fprintf(f, "%-12s", knee_level_label(row, lab, sizeof lab));
        for (size_t i = 0; i < n; i++) {
            const cJSON *lv = sweeps[i] ? find_level(sweeps[i], row) : NULL;
            const cJSON *s = lv ? knee_level_summary(lv) : NULL;
            fprintf(f, " | %10s %9s %7s", knee_fmt_num(jdoc_num(s, "output_tps"), "%.1f", b1, sizeof b1),
                    knee_fmt_secs(knee_jstat(s, "e2e", "p95"), b2, sizeof b2),
                    knee_fmt_pct(knee_success_rate(s), b3, sizeof b3));
        }
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(row, "winner");
        double sp = jdoc_num(row, "speedup");
        fprintf(f, " | %-12s %s\n", cJSON_IsString(w) ? w->valuestring
                                    : cJSON_GetObjectItemCaseSensitive(row, "tied") ? "tie" : "-",
                isfinite(sp) ? (snprintf(b1, sizeof b1, "%.2fx", sp), b1) : "-");
    }
    fputc('\n', f);
    const cJSON *sat = cJSON_GetObjectItemCaseSensitive(analysis, "saturation");
    for (size_t i = 0; i < n; i++) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(sat, names[i]);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(k, "text");
        fprintf(f, "%s: %s\n", names[i],
                cJSON_IsString(t) ? t->valuestring : sweeps[i] ? "no knee to tell" : "no result");
    }
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(analysis, "recommendation");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(rec, "text");
    fprintf(f, "\n%s\n", cJSON_IsString(text) ? text->valuestring : "");
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(rec, "reasons"))
        if (cJSON_IsString(r))
            fprintf(f, "  - %s\n", r->valuestring);
}

int compare_csv_write(FILE *f, const char *const *names, const cJSON *const *sweeps, size_t n)
{
    fputs("target," KNEE_CSV_HEADER "\n", f);
    for (size_t i = 0; i < n; i++) {
        const char *p = sweeps[i] ? jdoc_str(sweeps[i], "parameter") : NULL;
        if (sweeps[i])
            knee_csv_rows(f, names[i], p ? p : "level",
                          cJSON_GetObjectItemCaseSensitive(sweeps[i], "levels"));
    }
    return ferror(f) ? -1 : 0;
}
