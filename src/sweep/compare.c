/* Compare analysis (compare.h): the same sweep against several targets,
 * the winner per level, where each saturates, and a recommendation with
 * its reasons. */
#include "compare.h"
#include "knee.h"
#include "knee_int.h"
#include "jdoc.h"

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

/* Criteria of the recommendation. */
enum { CRIT_TPUT = 0, CRIT_LATENCY, CRIT_SINGLE, CRIT_SUCCESS, CRIT__N };

/* Within noise, two measurements tie: a difference in rates or latencies
 * of a few percent is what two runs of the same server show. */
#define COMPARE_NOISE 0.05
#define COMPARE_MAX 16          /* targets weighed (sweep.h: SWEEP_MAX_TARGETS) */

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

/* What the recommendation weighs, per criterion and target. */
struct crit_tab {
    size_t nt;
    double v[CRIT__N][COMPARE_MAX];
    double req[COMPARE_MAX];            /* requests behind the success rate */
    int lead[CRIT__N][COMPARE_MAX];     /* within noise of the best */
    int nlead[CRIT__N];
    int wins[COMPARE_MAX], ties[COMPARE_MAX];
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

/* "a, b and c" of the criteria set in mask, into buf. */
static void crit_list(char *buf, size_t cap, const int *mask, const char *parameter)
{
    int total = 0, k = 0;
    for (int c = 0; c < CRIT__N; c++)
        total += mask[c];
    for (int c = 0; c < CRIT__N; c++)
        if (mask[c]) {
            k++;
            knee_appendf(buf, cap, "%s%s", k == 1 ? "" : k == total ? " and " : ", ",
                         crit_label(c, parameter));
        }
}

/* "x wins a and b, y wins c; d is a tie within noise" for every target
 * but skip (-1: none), into buf; empty when nobody wins or ties. */
static void crit_outcome(char *buf, size_t cap, const struct crit_tab *t, const char *const *names,
                         long skip, const char *parameter)
{
    buf[0] = '\0';
    for (size_t i = 0; i < t->nt; i++) {
        int mask[CRIT__N], any = 0;
        for (int c = 0; c < CRIT__N; c++)
            any |= mask[c] = t->nlead[c] == 1 && t->lead[c][i];
        if (!any || (long)i == skip)
            continue;
        knee_appendf(buf, cap, "%s%s wins ", *buf ? ", " : "", names[i]);
        crit_list(buf, cap, mask, parameter);
    }
    int tied[CRIT__N], ntied = 0;
    for (int c = 0; c < CRIT__N; c++)
        ntied += tied[c] = t->nlead[c] > 1;
    if (ntied) {
        knee_appendf(buf, cap, "%s", *buf ? "; " : "");
        crit_list(buf, cap, tied, parameter);
        knee_appendf(buf, cap, " %s within noise", ntied > 1 ? "are ties" : "is a tie");
    }
}

cJSON *knee_compare(const char *parameter, const char *const *names,
                    const cJSON *const *sweeps, size_t n, double threshold)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *levels = cJSON_AddArrayToObject(out, "levels");
    cJSON *left = cJSON_AddArrayToObject(out, "left_out");
    cJSON *sat = cJSON_AddObjectToObject(out, "saturation");
    cJSON *u = level_union(sweeps, n);
    cJSON *common = cJSON_CreateArray();
    double *v = calloc(n ? n : 1, sizeof *v);
    struct crit_tab *t = calloc(1, sizeof *t);
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
        /* A winner only when no other is within noise of it. */
        cJSON *tied = cJSON_CreateArray();
        for (size_t i = 0; w >= 0 && best > 0 && i < n; i++)
            if (isfinite(v[i]) && best - v[i] <= COMPARE_NOISE * best)
                cJSON_AddItemToArray(tied, cJSON_CreateString(names[i]));
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
            if (t->lead[c][i]) {
                if (t->nlead[c] == 1)
                    t->wins[i]++;
                else
                    t->ties[i]++;
                if (t->nlead[c] > 1)
                    cJSON_AddItemToArray(tied, cJSON_CreateString(names[i]));
            }
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

    /* Most criteria won, and strictly more than any other target that
     * could be recommended; a tie is no win. */
    long pick = -1;
    int ncand = 0, top = -1, ntop = 0;
    for (size_t i = 0; i < t->nt; i++) {
        if (!DECIDES(i))
            continue;
        ncand++;
        if (t->wins[i] > top) {
            top = t->wins[i];
            ntop = 1;
            pick = (long)i;
        } else if (t->wins[i] == top) {
            ntop++;
        }
    }
    char text[768] = "", rest[512];
    if (ncand == 0 || ncommon == 0) {
        pick = -1;
        knee_appendf(text, sizeof text, "no recommendation: %s", ncand ? "the targets share no level"
                                                                       : "no target gave a result");
    } else if (ncand == 1) {
        knee_appendf(text, sizeof text, "recommend %s: the only target that %s", names[pick],
                     nresults > 1 ? "finished every level" : "gave a result");
        crit_outcome(rest, sizeof rest, t, names, -1, parameter);
        if (nresults > 1 && *rest)
            knee_appendf(text, sizeof text, " (%s)", rest);
    } else if (ntop == 1 && top > 0) {
        int mask[CRIT__N];
        for (int c = 0; c < CRIT__N; c++)
            mask[c] = t->nlead[c] == 1 && t->lead[c][pick];
        knee_appendf(text, sizeof text, "recommend %s: wins %d of %d criteria (", names[pick], top, CRIT__N);
        crit_list(text, sizeof text, mask, parameter);
        knee_appendf(text, sizeof text, ")");
        crit_outcome(rest, sizeof rest, t, names, pick, parameter);
        if (*rest)
            knee_appendf(text, sizeof text, "; %s", rest);
    } else {
        /* Nobody wins more than the rest: which one is better depends on
         * what matters, and the text says who wins what. */
        pick = -1;
        crit_outcome(rest, sizeof rest, t, names, -1, parameter);
        int any = 0;
        for (int c = 0; c < CRIT__N; c++)
            any |= t->nlead[c] == 1;
        knee_appendf(text, sizeof text, "no clear winner: %s",
                     any ? rest : "every criterion is a tie within noise");
    }
    if (pick >= 0) {
        cJSON_AddStringToObject(rec, "target", names[pick]);
        cJSON_AddNumberToObject(rec, "wins", t->wins[pick]);
        cJSON_AddNumberToObject(rec, "ties", t->ties[pick]);
    } else {
        cJSON_AddNullToObject(rec, "target");
        cJSON_AddNumberToObject(rec, "wins", 0);
        cJSON_AddNumberToObject(rec, "ties", 0);
    }
    cJSON *scores = cJSON_AddObjectToObject(rec, "scores");
    for (size_t i = 0; i < t->nt; i++) {
        cJSON *sc = cJSON_AddObjectToObject(scores, names[i]);
        cJSON_AddNumberToObject(sc, "wins", t->wins[i]);
        cJSON_AddNumberToObject(sc, "ties", t->ties[i]);
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
    cJSON_Delete(u);
    cJSON_Delete(common);
    free(v);
    free(t);
    return out;
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
