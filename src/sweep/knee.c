/* Sweep analysis (knee.h): level lists, knee, find-max, tables, compare. */
#include "escape.h"
#include "knee.h"
#include "knee_int.h"
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
void knee_appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

double knee_jstat(const cJSON *summary, const char *metric, const char *stat)
{
    return jdoc_num(cJSON_GetObjectItemCaseSensitive(summary, metric), stat);
}

const cJSON *knee_level_summary(const cJSON *lv)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(lv, "summary");
    return cJSON_IsObject(s) ? s : NULL;
}

/* The level's label: its number ("4", "2.5") or its name ("short"). */
const char *knee_level_label(const cJSON *lv, char *buf, size_t cap)
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
double knee_success_rate(const cJSON *s)
{
    double req = jdoc_num(s, "requests"), ok = jdoc_num(s, "ok");
    return (req > 0 && ok >= 0) ? ok / req : NAN;
}

const char *knee_fmt_secs(double v, char *buf, size_t cap)
{
    return isfinite(v) ? units_fmt_seconds(v, buf, cap) : (snprintf(buf, cap, "-"), buf);
}

const char *knee_fmt_num(double v, const char *f, char *buf, size_t cap)
{
    if (isfinite(v))
        snprintf(buf, cap, f, v);
    else
        snprintf(buf, cap, "-");
    return buf;
}

const char *knee_fmt_pct(double v, char *buf, size_t cap)
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
        knee_appendf(buf, cap, "no levels");
        return;
    }
    if (k->tput_index >= 0) {
        long i = k->tput_index;
        knee_appendf(buf, cap, "throughput saturates at %s %s (%.0f tok/s): the step to %s gains %.1f%% (< %.0f%%)",
                parameter, point_label(pts, names, i, a, sizeof a), pts[i].tps,
                point_label(pts, names, i + 1, b, sizeof b), k->gain * 100, threshold * 100);
    } else if (isfinite(pts[n - 1].tps)) {
        long i = (long)n - 1;
        knee_appendf(buf, cap, "throughput still grows by >= %.0f%% at every step (%.0f tok/s at %s %s)",
                threshold * 100, pts[i].tps, parameter, point_label(pts, names, i, a, sizeof a));
    }
    if (k->slo_fail >= 0) {
        long i = k->slo_fail;
        knee_appendf(buf, cap, "%sSLO '%s' first fails at %s %s", *buf ? "; " : "", slo ? slo : "?", parameter,
                point_label(pts, names, i, a, sizeof a));
        if (i > 0)
            knee_appendf(buf, cap, ", the last level that meets it is %s",
                    point_label(pts, names, i - 1, a, sizeof a));
    } else if (slo) {
        knee_appendf(buf, cap, "%severy level meets SLO '%s'", *buf ? "; " : "", slo);
    }
    if (k->lat_double > 0) {
        long i = k->lat_double;
        double ratio = pts[i].p95_e2e / pts[i - 1].p95_e2e;
        point_label(pts, names, i - 1, a, sizeof a);
        point_label(pts, names, i, b, sizeof b);
        if (ratio < 2.5)
            knee_appendf(buf, cap, "%sp95 latency doubles from %s to %s", *buf ? "; " : "", a, b);
        else
            knee_appendf(buf, cap, "%sp95 latency grows %.1fx from %s to %s", *buf ? "; " : "", ratio, a, b);
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
        const cJSON *s = knee_level_summary(lv);
        if (!s)
            return -1;
        if (n == cap)
            break;
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
        pts[n].level = cJSON_IsNumber(l) ? l->valuedouble : (double)n;
        pts[n].tps = jdoc_num(s, "output_tps");
        pts[n].p95_e2e = knee_jstat(s, "e2e", "p95");
        pts[n].p95_ttft = knee_jstat(s, "ttft", "p95");
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
        int len = (int)strlen(knee_level_label(lv, lab, sizeof lab));
        if (len > w)
            w = len;
    }
    fprintf(f, "%-*s %10s %10s %8s %9s %9s %9s %9s %9s %8s", w, parameter, "tok/s",
            "tok/s/user", "RPS", "avg", "p95", "p99", "TTFT p50", "TTFT p95", "success");
    if (open_loop)
        fprintf(f, " %9s %6s", "queue p95", "late");
    fputc('\n', f);
    cJSON_ArrayForEach(lv, levels) {
        const cJSON *s = knee_level_summary(lv);
        knee_level_label(lv, lab, sizeof lab);
        if (!s) {
            fprintf(f, "%-*s (no result)\n", w, lab);
            continue;
        }
        fprintf(f, "%-*s %10s %10s %8s %9s %9s %9s %9s %9s %8s", w, lab,
                knee_fmt_num(jdoc_num(s, "output_tps"), "%.1f", c[1], sizeof c[1]),
                knee_fmt_num(knee_jstat(s, "request_tps", "mean"), "%.1f", c[2], sizeof c[2]),
                knee_fmt_num(jdoc_num(s, "rps"), "%.2f", c[3], sizeof c[3]),
                knee_fmt_secs(knee_jstat(s, "e2e", "mean"), c[4], sizeof c[4]),
                knee_fmt_secs(knee_jstat(s, "e2e", "p95"), c[5], sizeof c[5]),
                knee_fmt_secs(knee_jstat(s, "e2e", "p99"), c[6], sizeof c[6]),
                knee_fmt_secs(knee_jstat(s, "ttft", "p50"), c[7], sizeof c[7]),
                knee_fmt_secs(knee_jstat(s, "ttft", "p95"), c[8], sizeof c[8]),
                knee_fmt_pct(knee_success_rate(s), c[9], sizeof c[9]));
        if (open_loop)
            fprintf(f, " %9s %6s", knee_fmt_secs(knee_jstat(s, "queue_time", "p95"), c[10], sizeof c[10]),
                    knee_fmt_num(jdoc_num(s, "late"), "%.0f", c[11], sizeof c[11]));
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

void knee_csv_rows(FILE *f, const char *lead, const char *parameter, const cJSON *levels)
{
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels) {
        const cJSON *s = knee_level_summary(lv);
        char lab[128];
        if (lead) {
            esc_csv(lead, esc_sink_file, f);
            fputc(',', f);
        }
        esc_csv(parameter, esc_sink_file, f);
        fputc(',', f);
        esc_csv(knee_level_label(lv, lab, sizeof lab), esc_sink_file, f);
        csv_num(f, jdoc_num(s, "requests"));
        csv_num(f, jdoc_num(s, "ok"));
        csv_num(f, jdoc_num(s, "failed"));
        csv_num(f, knee_success_rate(s));
        csv_num(f, jdoc_num(s, "rps"));
        csv_num(f, jdoc_num(s, "output_tps"));
        csv_num(f, knee_jstat(s, "request_tps", "mean"));
        csv_num(f, knee_jstat(s, "e2e", "mean"));
        csv_num(f, knee_jstat(s, "e2e", "p95"));
        csv_num(f, knee_jstat(s, "e2e", "p99"));
        csv_num(f, knee_jstat(s, "ttft", "p50"));
        csv_num(f, knee_jstat(s, "ttft", "p95"));
        csv_num(f, knee_jstat(s, "queue_time", "p95"));
        csv_num(f, jdoc_num(s, "late"));
        fputc('\n', f);
    }
}

int knee_csv_write(FILE *f, const char *parameter, const cJSON *levels)
{
    fputs(KNEE_CSV_HEADER "\n", f);
    knee_csv_rows(f, NULL, parameter, levels);
    return ferror(f) ? -1 : 0;
}
