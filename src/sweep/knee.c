/* Sweep analysis (knee.h): level lists, knee, find-max, tables, compare. */
#include "escape.h"
#include "knee.h"
#include "jdoc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

/* ---- small helpers ---------------------------------------------------------- */

/* appendf: formats at the end of buf without overflowing; a truncated
 * message is still NUL-terminated. */
static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static double jstat(const cJSON *summary, const char *metric, const char *stat)
{
    return jdoc_num(cJSON_GetObjectItemCaseSensitive(summary, metric), stat);
}

static const cJSON *level_summary(const cJSON *lv)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(lv, "summary");
    return cJSON_IsObject(s) ? s : NULL;
}

/* The level's label: its number ("4", "2.5") or its name ("short"). */
static const char *level_label(const cJSON *lv, char *buf, size_t cap)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
    if (cJSON_IsString(l))
        snprintf(buf, cap, "%s", l->valuestring);
    else if (cJSON_IsNumber(l))
        snprintf(buf, cap, "%g", l->valuedouble);
    else
        snprintf(buf, cap, "?");
    return buf;
}

/* Success rate of a summary: ok / requests, NaN with no requests. */
static double success_rate(const cJSON *s)
{
    double req = jdoc_num(s, "requests"), ok = jdoc_num(s, "ok");
    return (req > 0 && ok >= 0) ? ok / req : NAN;
}

static const char *fmt_secs(double v, char *buf, size_t cap)
{
    return isfinite(v) ? units_fmt_seconds(v, buf, cap) : (snprintf(buf, cap, "-"), buf);
}

static const char *fmt_num(double v, const char *f, char *buf, size_t cap)
{
    if (isfinite(v))
        snprintf(buf, cap, f, v);
    else
        snprintf(buf, cap, "-");
    return buf;
}

static const char *fmt_pct(double v, char *buf, size_t cap)
{
    if (isfinite(v))
        snprintf(buf, cap, "%.1f%%", v * 100);
    else
        snprintf(buf, cap, "-");
    return buf;
}

/* ---- level lists ----------------------------------------------------------- */

int knee_list_parse(const char *s, int integer, int positive, double *out, size_t cap,
                    char *err, size_t errcap)
{
    size_t n = 0;
    const char *p = s;
    if (!s || !*s) {
        snprintf(err, errcap, "empty list");
        return -1;
    }
    for (int item = 1;; item++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char tok[64];
        if (len == 0 || len >= sizeof tok) {
            snprintf(err, errcap, "item %d is %s", item, len ? "too long" : "empty");
            return -1;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        double v;
        if (units_parse_double(tok, &v) < 0) {
            snprintf(err, errcap, "item %d '%s' is not a number", item, tok);
            return -1;
        }
        if (integer && (v < 1 || v != floor(v) || v > 1e9)) {
            snprintf(err, errcap, "item %d '%s' is not a whole number >= 1", item, tok);
            return -1;
        }
        if (v < 0 || (positive && v <= 0)) {
            snprintf(err, errcap, "item %d '%s' must be %s", item, tok,
                     positive ? "> 0" : ">= 0");
            return -1;
        }
        if (n > 0 && v <= out[n - 1]) {
            snprintf(err, errcap, "item %d '%s' is not greater than the one before it",
                     item, tok);
            return -1;
        }
        if (n == cap) {
            snprintf(err, errcap, "more than %zu levels", cap);
            return -1;
        }
        out[n++] = v;
        if (!comma)
            break;
        p = comma + 1;
    }
    return (int)n;
}

/* ---- knee --------------------------------------------------------------------- */

void knee_detect(const struct knee_point *pts, size_t n, double threshold, struct knee *k)
{
    k->reason = KNEE_NONE;
    k->index = k->tput_index = k->slo_fail = k->lat_double = -1;
    k->gain = NAN;
    for (size_t i = 1; i < n; i++) {
        double a = pts[i - 1].tps, b = pts[i].tps;
        if (!isfinite(a) || !isfinite(b) || a <= 0)
            continue;   /* nothing to grow from: a step from zero tells nothing */
        double gain = (b - a) / a;
        if (gain < threshold) {
            k->tput_index = (long)i - 1;
            k->gain = gain;
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (pts[i].slo_ok == 0) {
            k->slo_fail = (long)i;
            break;
        }
    for (size_t i = 1; i < n; i++) {
        double a = pts[i - 1].p95_e2e, b = pts[i].p95_e2e;
        if (isfinite(a) && isfinite(b) && a > 0 && b >= 2 * a) {
            k->lat_double = (long)i;
            break;
        }
    }
    /* The binding constraint is whichever comes first: the SLO knee is the
     * last level before the first failing one. */
    if (k->slo_fail >= 0 && (k->tput_index < 0 || k->slo_fail - 1 < k->tput_index)) {
        k->reason = KNEE_SLO;
        k->index = k->slo_fail - 1;
    } else if (k->tput_index >= 0) {
        k->reason = KNEE_THROUGHPUT;
        k->index = k->tput_index;
    }
}

static const char *point_label(const struct knee_point *pts, const char *const *names,
                               long i, char *buf, size_t cap)
{
    if (names)
        snprintf(buf, cap, "%s", names[i]);
    else
        snprintf(buf, cap, "%g", pts[i].level);
    return buf;
}

void knee_describe(const struct knee *k, const struct knee_point *pts, size_t n,
                   const char *parameter, const char *const *names, double threshold,
                   const char *slo, char *buf, size_t cap)
{
    char a[64], b[64];
    buf[0] = '\0';
    if (n == 0) {
        appendf(buf, cap, "no levels");
        return;
    }
    if (k->tput_index >= 0) {
        long i = k->tput_index;
        appendf(buf, cap, "throughput saturates at %s %s (%.0f tok/s): the step to %s gains %.1f%% (< %.0f%%)",
                parameter, point_label(pts, names, i, a, sizeof a), pts[i].tps,
                point_label(pts, names, i + 1, b, sizeof b), k->gain * 100, threshold * 100);
    } else if (isfinite(pts[n - 1].tps)) {
        long i = (long)n - 1;
        appendf(buf, cap, "throughput still grows by >= %.0f%% at every step (%.0f tok/s at %s %s)",
                threshold * 100, pts[i].tps, parameter, point_label(pts, names, i, a, sizeof a));
    }
    if (k->slo_fail >= 0) {
        long i = k->slo_fail;
        appendf(buf, cap, "%sSLO '%s' first fails at %s %s", *buf ? "; " : "", slo ? slo : "?", parameter,
                point_label(pts, names, i, a, sizeof a));
        if (i > 0)
            appendf(buf, cap, ", the last level that meets it is %s",
                    point_label(pts, names, i - 1, a, sizeof a));
    } else if (slo) {
        appendf(buf, cap, "%severy level meets SLO '%s'", *buf ? "; " : "", slo);
    }
    if (k->lat_double > 0) {
        long i = k->lat_double;
        double ratio = pts[i].p95_e2e / pts[i - 1].p95_e2e;
        point_label(pts, names, i - 1, a, sizeof a);
        point_label(pts, names, i, b, sizeof b);
        if (ratio < 2.5)
            appendf(buf, cap, "%sp95 latency doubles from %s to %s", *buf ? "; " : "", a, b);
        else
            appendf(buf, cap, "%sp95 latency grows %.1fx from %s to %s", *buf ? "; " : "", ratio, a, b);
    }
}

cJSON *knee_to_json(const struct knee *k, const struct knee_point *pts, size_t n,
                    const char *parameter, const char *const *names, double threshold,
                    const char *slo)
{
    if (k->reason == KNEE_NONE)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char text[512];
    knee_describe(k, pts, n, parameter, names, threshold, slo, text, sizeof text);
    cJSON_AddStringToObject(o, "parameter", parameter);
    if (k->index < 0)
        cJSON_AddNullToObject(o, "level");
    else if (names)
        cJSON_AddStringToObject(o, "level", names[k->index]);
    else
        cJSON_AddNumberToObject(o, "level", pts[k->index].level);
    cJSON_AddStringToObject(o, "reason", k->reason == KNEE_SLO ? "slo" : "throughput");
    if (k->index >= 0 && isfinite(pts[k->index].tps))
        cJSON_AddNumberToObject(o, "output_tps", pts[k->index].tps);
    else
        cJSON_AddNullToObject(o, "output_tps");
    cJSON_AddStringToObject(o, "text", text);
    return o;
}

int knee_points_from_levels(const cJSON *levels, struct knee_point *pts, size_t cap)
{
    if (!cJSON_IsArray(levels))
        return -1;
    size_t n = 0;
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels) {
        const cJSON *s = level_summary(lv);
        if (!s)
            return -1;
        if (n == cap)
            break;
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
        pts[n].level = cJSON_IsNumber(l) ? l->valuedouble : (double)n;
        pts[n].tps = jdoc_num(s, "output_tps");
        pts[n].p95_e2e = jstat(s, "e2e", "p95");
        pts[n].p95_ttft = jstat(s, "ttft", "p95");
        pts[n].slo_ok = -1;
        n++;
    }
    return (int)n;
}

/* ---- find-max ----------------------------------------------------------------- */

static int fm_try(struct knee_findmax *r, int max_runs, knee_eval_fn eval, void *ud,
                  double level, int *ok)
{
    if ((int)r->ntried >= max_runs || r->ntried == KNEE_MAX_LEVELS) {
        r->exhausted = 1;
        return 1;
    }
    int rc = eval(ud, level, ok);
    if (rc < 0)
        return rc;
    r->tried[r->ntried].level = level;
    r->tried[r->ntried].ok = *ok;
    r->ntried++;
    if (*ok) {
        if (isnan(r->best) || level > r->best)
            r->best = level;
    } else if (isnan(r->first_fail) || level < r->first_fail) {
        r->first_fail = level;
    }
    return 0;
}

int knee_findmax_run(const struct knee_findmax_opts *o, knee_eval_fn eval, void *ud,
                     struct knee_findmax *r)
{
    memset(r, 0, sizeof *r);
    r->best = r->first_fail = NAN;
    int max_runs = o->max_runs > 0 ? o->max_runs : 32;
    double limit = o->limit > 0 ? o->limit : 1e9;
    double x = o->start > 0 ? o->start : 1;
    if (o->integer)
        x = fmax(1, floor(x));
    if (x > limit)
        x = limit;
    double lo = NAN, hi = NAN;
    int ok, rc;

    /* Bracket upwards by doubling while levels pass. */
    for (;;) {
        if ((rc = fm_try(r, max_runs, eval, ud, x, &ok)) != 0)
            return rc < 0 ? rc : 0;
        if (!ok) {
            hi = x;
            break;
        }
        lo = x;
        if (x >= limit) {
            r->at_limit = 1;
            return 0;
        }
        x = fmin(limit, o->integer ? x * 2 : x * 2);
    }
    /* The start failed: bracket downwards by halving, to a floor of 1 for
     * whole levels and start/1024 otherwise. */
    if (isnan(lo)) {
        double floor_level = o->integer ? 1 : (o->start > 0 ? o->start : 1) / 1024;
        while (isnan(lo)) {
            if (x <= floor_level)
                return 0;                       /* nothing meets the SLO */
            x = o->integer ? floor(x / 2) : x / 2;
            if (x < floor_level)
                x = floor_level;
            if ((rc = fm_try(r, max_runs, eval, ud, x, &ok)) != 0)
                return rc < 0 ? rc : 0;
            if (ok)
                lo = x;
            else
                hi = x;
        }
    }
    /* Bisect between the last pass and the first fail. */
    for (;;) {
        double step = o->step > 0 ? o->step : (o->integer ? 1 : 0.05 * lo);
        if (hi - lo <= step)
            return 0;
        double mid = o->integer ? floor((lo + hi) / 2) : (lo + hi) / 2;
        if (mid <= lo || mid >= hi)
            return 0;
        if ((rc = fm_try(r, max_runs, eval, ud, mid, &ok)) != 0)
            return rc < 0 ? rc : 0;
        if (ok)
            lo = mid;
        else
            hi = mid;
    }
}

/* ---- tables ------------------------------------------------------------------- */

void knee_table_print(FILE *f, const char *parameter, const cJSON *levels, int open_loop)
{
    char c[12][32], lab[128];
    /* The first column fits the longest label (prompt-set names). */
    int w = (int)strlen(parameter) > 12 ? (int)strlen(parameter) : 12;
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels) {
        int len = (int)strlen(level_label(lv, lab, sizeof lab));
        if (len > w)
            w = len;
    }
    fprintf(f, "%-*s %10s %10s %8s %9s %9s %9s %9s %9s %8s", w, parameter, "tok/s",
            "tok/s/user", "RPS", "avg", "p95", "p99", "TTFT p50", "TTFT p95", "success");
    if (open_loop)
        fprintf(f, " %9s %6s", "queue p95", "late");
    fputc('\n', f);
    cJSON_ArrayForEach(lv, levels) {
        const cJSON *s = level_summary(lv);
        level_label(lv, lab, sizeof lab);
        if (!s) {
            fprintf(f, "%-*s (no result)\n", w, lab);
            continue;
        }
        fprintf(f, "%-*s %10s %10s %8s %9s %9s %9s %9s %9s %8s", w, lab,
                fmt_num(jdoc_num(s, "output_tps"), "%.1f", c[1], sizeof c[1]),
                fmt_num(jstat(s, "request_tps", "mean"), "%.1f", c[2], sizeof c[2]),
                fmt_num(jdoc_num(s, "rps"), "%.2f", c[3], sizeof c[3]),
                fmt_secs(jstat(s, "e2e", "mean"), c[4], sizeof c[4]),
                fmt_secs(jstat(s, "e2e", "p95"), c[5], sizeof c[5]),
                fmt_secs(jstat(s, "e2e", "p99"), c[6], sizeof c[6]),
                fmt_secs(jstat(s, "ttft", "p50"), c[7], sizeof c[7]),
                fmt_secs(jstat(s, "ttft", "p95"), c[8], sizeof c[8]),
                fmt_pct(success_rate(s), c[9], sizeof c[9]));
        if (open_loop)
            fprintf(f, " %9s %6s", fmt_secs(jstat(s, "queue_time", "p95"), c[10], sizeof c[10]),
                    fmt_num(jdoc_num(s, "late"), "%.0f", c[11], sizeof c[11]));
        fputc('\n', f);
    }
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.9g", v);
    else
        fputs(",", f);
}


int knee_csv_write(FILE *f, const char *parameter, const cJSON *levels)
{
    fputs("parameter,level,requests,ok,failed,success_rate,rps,output_tps,tps_per_user,"
          "e2e_mean_s,e2e_p95_s,e2e_p99_s,ttft_p50_s,ttft_p95_s,queue_p95_s,late\n", f);
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels) {
        const cJSON *s = level_summary(lv);
        char lab[128];
        esc_csv(parameter, esc_sink_file, f);
        fputc(',', f);
        esc_csv(level_label(lv, lab, sizeof lab), esc_sink_file, f);
        csv_num(f, jdoc_num(s, "requests"));
        csv_num(f, jdoc_num(s, "ok"));
        csv_num(f, jdoc_num(s, "failed"));
        csv_num(f, success_rate(s));
        csv_num(f, jdoc_num(s, "rps"));
        csv_num(f, jdoc_num(s, "output_tps"));
        csv_num(f, jstat(s, "request_tps", "mean"));
        csv_num(f, jstat(s, "e2e", "mean"));
        csv_num(f, jstat(s, "e2e", "p95"));
        csv_num(f, jstat(s, "e2e", "p99"));
        csv_num(f, jstat(s, "ttft", "p50"));
        csv_num(f, jstat(s, "ttft", "p95"));
        csv_num(f, jstat(s, "queue_time", "p95"));
        csv_num(f, jdoc_num(s, "late"));
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- compare ------------------------------------------------------------------ */

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
        if (level_equal(lv, like) && level_summary(lv))
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
            if (!l || !level_summary(lv))
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
            v[i] = lv ? jdoc_num(level_summary(lv), "output_tps") : NAN;
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
            const cJSON *s = lv ? level_summary(lv) : NULL;
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
                    double r = o ? jdoc_num(level_summary(o), "requests") : NAN;
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
        crit[CRIT_LATENCY][i] = hi ? jstat(level_summary(hi), "e2e", "p95") : NAN;
        double single = lo ? jstat(level_summary(lo), "request_tps", "mean") : NAN;
        if (!isfinite(single) && lo) {
            /* No per-request rate in the summary: a shorter mean latency is
             * the next best measure of what one user sees. */
            double e = jstat(level_summary(lo), "e2e", "mean");
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
        level_label(common_lo, lab_lo, sizeof lab_lo);
    if (common_hi)
        level_label(common_hi, lab_hi, sizeof lab_hi);
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
            case CRIT_TPUT:    fmt_num(crit[c][i], "%.1f tok/s", val, sizeof val); break;
            case CRIT_LATENCY: fmt_secs(crit[c][i], val, sizeof val); break;
            case CRIT_SUCCESS: fmt_pct(crit[c][i], val, sizeof val); break;
            default:
                if (isfinite(crit[c][i]) && crit[c][i] < 1e-3)
                    snprintf(val, sizeof val, "-");
                else
                    fmt_num(crit[c][i], "%.1f tok/s", val, sizeof val);
                break;
            }
            appendf(line, sizeof line, "%s%s %s", i ? ", " : "", names[i],
                    sweeps[i] ? val : "no result");
        }
        if (c == CRIT_TPUT)
            appendf(line, sizeof line, " (peak)");
        else if (c == CRIT_LATENCY)
            appendf(line, sizeof line, " (p95 at %s %s)", parameter, lab_hi);
        else if (c == CRIT_SINGLE)
            appendf(line, sizeof line, " (per user at %s %s)", parameter, lab_lo);
        if (nlead > 1) {
            appendf(line, sizeof line, ": a tie between");
            int k = 0;
            for (size_t i = 0; i < nt; i++)
                if (lead[c][i])
                    appendf(line, sizeof line, "%s %s", k++ ? (k == nlead ? " and" : ",") : "",
                            names[i]);
        } else if (isfinite(runner) && runner > 0 && c != CRIT_SUCCESS) {
            appendf(line, sizeof line, ": %s is %.2fx %s", names[w],
                    higher ? best / runner : runner / best,
                    c == CRIT_LATENCY ? "lower" : "higher");
        } else {
            appendf(line, sizeof line, ": %s is best", names[w]);
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
        appendf(text, sizeof text, "recommend %s: leads %d of %d criteria", names[pick],
                wins[pick], CRIT__N);
        int first = 1;
        for (int c = 0; c < CRIT__N; c++)
            if (lead[c][pick]) {
                int nl = 0;
                for (size_t i = 0; i < nt; i++)
                    nl += lead[c][i];
                appendf(text, sizeof text, "%s%s%s", first ? " (" : ", ", crit_name[c],
                        nl > 1 ? " (tied)" : "");
                first = 0;
            }
        if (!first)
            appendf(text, sizeof text, ")");
    } else {
        appendf(text, sizeof text, "no recommendation: no target gave a result");
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
        fprintf(f, "%-12s", level_label(row, lab, sizeof lab));
        for (size_t i = 0; i < n; i++) {
            const cJSON *lv = sweeps[i] ? find_level(sweeps[i], row) : NULL;
            const cJSON *s = lv ? level_summary(lv) : NULL;
            fprintf(f, " | %10s %9s %7s", fmt_num(jdoc_num(s, "output_tps"), "%.1f", b1, sizeof b1),
                    fmt_secs(jstat(s, "e2e", "p95"), b2, sizeof b2),
                    fmt_pct(success_rate(s), b3, sizeof b3));
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
