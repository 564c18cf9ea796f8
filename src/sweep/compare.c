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

/* The union of the targets' levels, in the order they first appear. */
static cJSON *level_union(const cJSON *const *sweeps, size_t n)
{
    cJSON *u = cJSON_CreateArray();
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
                cJSON_AddItemToArray(u, o);
            }
        }
    }
    return u;
}

/* Criteria of the recommendation, in order of weight (ties go to the first). */
enum { CRIT_TPUT = 0, CRIT_LATENCY, CRIT_SINGLE, CRIT_SUCCESS, CRIT__N };
static const char *const crit_name[CRIT__N] = {
    "throughput under load", "latency at high concurrency", "single-user speed", "success rate"
};

/* Index of the best finite value (higher or lower is better), or -1;
 * *second gets the runner-up's value (NaN when none). */
static int best_of(const double *v, size_t n, int higher, double *best, double *second)
{
    int bi = -1;
    *best = *second = NAN;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (bi < 0 || (higher ? v[i] > *best : v[i] < *best)) {
            *second = *best;
            *best = v[i];
            bi = (int)i;
        } else if (isnan(*second) || (higher ? v[i] > *second : v[i] < *second)) {
            *second = v[i];
        }
    }
    return bi;
}

cJSON *knee_compare(const char *parameter, const char *const *names,
                    const cJSON *const *sweeps, size_t n, double threshold)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *levels = cJSON_AddArrayToObject(out, "levels");
    cJSON *sat = cJSON_AddObjectToObject(out, "saturation");
    cJSON *u = level_union(sweeps, n);
    double *v = calloc(n ? n : 1, sizeof *v);
    if (!out || !levels || !sat || !u || !v) {
        cJSON_Delete(out);
        cJSON_Delete(u);
        free(v);
        return NULL;
    }

    /* A sweep with an "error" stopped early (its target went down): it
     * does not decide which levels all targets share, and it is not
     * recommended while another target finished. */
    int complete[16] = { 0 }, ncomplete = 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        complete[i] = sweeps[i] && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sweeps[i], "error"));
        ncomplete += complete[i];
    }

    /* Per level: throughput of each target, winner, speedup. */
    const cJSON *ul;
    const cJSON *common_lo = NULL, *common_hi = NULL;
    cJSON_ArrayForEach(ul, u) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddItemToObject(row, "level",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ul, "level"), 1));
        cJSON *tps = cJSON_AddObjectToObject(row, "output_tps");
        int all = 1;
        for (size_t i = 0; i < n; i++) {
            const cJSON *lv = sweeps[i] ? find_level(sweeps[i], ul) : NULL;
            v[i] = lv ? jdoc_num(knee_level_summary(lv), "output_tps") : NAN;
            if (isfinite(v[i]))
                cJSON_AddNumberToObject(tps, names[i], v[i]);
            else
                cJSON_AddNullToObject(tps, names[i]);
            all &= lv != NULL || !sweeps[i] || (ncomplete > 0 && i < 16 && !complete[i]);
        }
        double best, second;
        int w = best_of(v, n, 1, &best, &second);
        if (w >= 0 && best > 0)
            cJSON_AddStringToObject(row, "winner", names[w]);
        else
            cJSON_AddNullToObject(row, "winner");
        if (w >= 0 && isfinite(second) && second > 0)
            cJSON_AddNumberToObject(row, "speedup", best / second);
        else
            cJSON_AddNullToObject(row, "speedup");
        cJSON_AddItemToArray(levels, row);
        if (all) {
            if (!common_lo)
                common_lo = ul;
            common_hi = ul;
        }
    }

    /* Where each target saturates. */
    for (size_t i = 0; i < n; i++) {
        struct knee_point pts[KNEE_MAX_LEVELS];
        const char *lnames[KNEE_MAX_LEVELS];
        int np = sweeps[i] ? knee_points_from_levels(sweep_levels(sweeps[i]), pts,
                                                       KNEE_MAX_LEVELS) : -1;
        if (np <= 0) {
            cJSON_AddNullToObject(sat, names[i]);
            continue;
        }
        int named = 0, j = 0;
        const cJSON *lv;
        cJSON_ArrayForEach(lv, sweep_levels(sweeps[i])) {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
            if (j < np) {
                lnames[j] = cJSON_IsString(l) ? l->valuestring : "";
                named |= cJSON_IsString(l);
            }
            j++;
        }
        struct knee k;
        knee_detect(pts, (size_t)np, threshold, &k);
        cJSON_AddItemToObject(sat, names[i], knee_to_json(&k, pts, (size_t)np, parameter,
                                                          named ? lnames : NULL, threshold,
                                                          NULL));
    }

    /* The recommendation: four criteria, each won by one target. */
    double crit[CRIT__N][16];
    size_t nt = n < 16 ? n : 16;
    for (size_t i = 0; i < nt; i++) {
        double peak = NAN, ok = 0, req = 0;
        /* Success over every level of the comparison: a level a target did
         * not serve (it went down) counts as that many failed requests as
         * the others sent there. */
        cJSON_ArrayForEach(ul, u) {
            const cJSON *lv = sweeps[i] ? find_level(sweeps[i], ul) : NULL;
            const cJSON *s = lv ? knee_level_summary(lv) : NULL;
            double t = jdoc_num(s, "output_tps");
            if (isfinite(t) && (isnan(peak) || t > peak))
                peak = t;
            if (s && isfinite(jdoc_num(s, "requests"))) {
                req += jdoc_num(s, "requests");
                ok += fmax(0, jdoc_num(s, "ok"));
            } else if (sweeps[i]) {
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
        crit[CRIT_TPUT][i] = peak;
        crit[CRIT_SUCCESS][i] = req > 0 ? ok / req : NAN;
        const cJSON *hi = (sweeps[i] && common_hi) ? find_level(sweeps[i], common_hi) : NULL;
        const cJSON *lo = (sweeps[i] && common_lo) ? find_level(sweeps[i], common_lo) : NULL;
        crit[CRIT_LATENCY][i] = hi ? knee_jstat(knee_level_summary(hi), "e2e", "p95") : NAN;
        double single = lo ? knee_jstat(knee_level_summary(lo), "request_tps", "mean") : NAN;
        if (!isfinite(single) && lo) {
            /* No per-request rate in the summary: a shorter mean latency is
             * the next best measure of what one user sees. */
            double e = knee_jstat(knee_level_summary(lo), "e2e", "mean");
            single = (isfinite(e) && e > 0) ? 1 / e : NAN;
        }
        crit[CRIT_SINGLE][i] = single;
    }
    cJSON *rec = cJSON_AddObjectToObject(out, "recommendation");
    cJSON *reasons = cJSON_AddArrayToObject(rec, "reasons");
    int wins[16] = { 0 };
    int lead[CRIT__N][16];
    char lab_lo[64] = "", lab_hi[64] = "";
    if (common_lo)
        knee_level_label(common_lo, lab_lo, sizeof lab_lo);
    if (common_hi)
        knee_level_label(common_hi, lab_hi, sizeof lab_hi);
    memset(lead, 0, sizeof lead);
    for (int c = 0; c < CRIT__N; c++) {
        double best, second;
        int higher = c != CRIT_LATENCY;
        int w = best_of(crit[c], nt, higher, &best, &second);
        char line[768];
        if (w < 0) {
            snprintf(line, sizeof line, "%s: no target has a measurement", crit_name[c]);
            cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
            continue;
        }
        /* Every target within measurement noise of the best leads this
         * criterion: 2% for rates and latencies, half a point of success
         * rate.  The runner-up is the best of the others. */
        int nlead = 0;
        double runner = NAN;
        for (size_t i = 0; i < nt; i++) {
            double x = crit[c][i];
            if (!isfinite(x))
                continue;
            int near = c == CRIT_SUCCESS ? best - x < 0.005
                                         : fabs(best - x) <= 0.02 * fmax(fabs(best), fabs(x));
            if (near) {
                lead[c][i] = 1;
                wins[i]++;
                nlead++;
            } else if (isnan(runner) || (higher ? x > runner : x < runner)) {
                runner = x;
            }
        }
        snprintf(line, sizeof line, "%s: ", crit_name[c]);
        for (size_t i = 0; i < nt; i++) {
            char val[48];
            switch (c) {
            case CRIT_TPUT:    knee_fmt_num(crit[c][i], "%.1f tok/s", val, sizeof val); break;
            case CRIT_LATENCY: knee_fmt_secs(crit[c][i], val, sizeof val); break;
            case CRIT_SUCCESS: knee_fmt_pct(crit[c][i], val, sizeof val); break;
            default:
                if (isfinite(crit[c][i]) && crit[c][i] < 1e-3)
                    snprintf(val, sizeof val, "-");
                else
                    knee_fmt_num(crit[c][i], "%.1f tok/s", val, sizeof val);
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
        if (nlead > 1) {
            knee_appendf(line, sizeof line, ": a tie between");
            int k = 0;
            for (size_t i = 0; i < nt; i++)
                if (lead[c][i])
                    knee_appendf(line, sizeof line, "%s %s", k++ ? (k == nlead ? " and" : ",") : "",
                            names[i]);
        } else if (isfinite(runner) && runner > 0 && c != CRIT_SUCCESS) {
            knee_appendf(line, sizeof line, ": %s is %.2fx %s", names[w],
                    higher ? best / runner : runner / best,
                    c == CRIT_LATENCY ? "lower" : "higher");
        } else {
            knee_appendf(line, sizeof line, ": %s is best", names[w]);
        }
        cJSON_AddItemToArray(reasons, cJSON_CreateString(line));
    }
    /* Most criteria led wins; between equals, the higher peak throughput. */
    int pick = -1;
    for (size_t i = 0; i < nt; i++) {
        if (!sweeps[i] || (ncomplete > 0 && !complete[i]))
            continue;
        if (pick < 0 || wins[i] > wins[pick] ||
            (wins[i] == wins[pick] && isfinite(crit[CRIT_TPUT][i]) &&
             (!isfinite(crit[CRIT_TPUT][pick]) || crit[CRIT_TPUT][i] > crit[CRIT_TPUT][pick])))
            pick = (int)i;
    }
    if (pick >= 0) {
        cJSON_AddStringToObject(rec, "target", names[pick]);
        cJSON_AddNumberToObject(rec, "wins", wins[pick]);
    } else {
        cJSON_AddNullToObject(rec, "target");
        cJSON_AddNumberToObject(rec, "wins", 0);
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
    char text[512] = "";
    if (pick >= 0) {
        knee_appendf(text, sizeof text, "recommend %s: leads %d of %d criteria", names[pick],
                wins[pick], CRIT__N);
        int first = 1;
        for (int c = 0; c < CRIT__N; c++)
            if (lead[c][pick]) {
                int nl = 0;
                for (size_t i = 0; i < nt; i++)
                    nl += lead[c][i];
                knee_appendf(text, sizeof text, "%s%s%s", first ? " (" : ", ", crit_name[c],
                        nl > 1 ? " (tied)" : "");
                first = 0;
            }
        if (!first)
            knee_appendf(text, sizeof text, ")");
    } else {
        knee_appendf(text, sizeof text, "no recommendation: no target gave a result");
    }
    cJSON_AddStringToObject(rec, "text", text);
    cJSON_Delete(u);
    free(v);
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
        fprintf(f, " | %-12s %s\n", cJSON_IsString(w) ? w->valuestring : "-",
                isfinite(sp) ? (snprintf(b1, sizeof b1, "%.2fx", sp), b1) : "-");
    }
    fputc('\n', f);
    const cJSON *sat = cJSON_GetObjectItemCaseSensitive(analysis, "saturation");
    for (size_t i = 0; i < n; i++) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(sat, names[i]);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(k, "text");
        fprintf(f, "%s: %s\n", names[i],
                cJSON_IsString(t) ? t->valuestring
                                  : sweeps[i] ? "no knee: throughput grows at every step"
                                              : "no result");
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
