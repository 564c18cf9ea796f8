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

#include "slo.h"
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

/* The step from level i-1 to i rises: mean latency grows at least half as
 * much as the level.  Below saturation latency stays about flat as load
 * grows; past it, in a closed loop, it grows as much as the load. */
static int latency_rises(const struct knee_point *pts, size_t i)
{
    double a = pts[i - 1].latency, b = pts[i].latency;
    double la = pts[i - 1].level, lb = pts[i].level;
    if (!isfinite(a) || !isfinite(b) || a <= 0 || !(la > 0) || !(lb > la))
        return 0;
    return b / a - 1 >= 0.5 * (lb / la - 1);
}

static int rate_short(const struct knee_point *p, double threshold)
{
    return isfinite(p->offered) && isfinite(p->achieved) && p->offered > 0 &&
           p->achieved < (1 - threshold) * p->offered;
}

void knee_detect(const struct knee_point *pts, size_t n, double threshold, struct knee *k)
{
    k->reason = KNEE_NONE;
    k->index = k->tput_index = k->peak = k->lat_index = k->slo_fail = k->rate_short = -1;
    k->climbing = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(pts[i].tps) && pts[i].tps > 0 && (k->peak < 0 || pts[i].tps > pts[k->peak].tps))
            k->peak = (long)i;
    if (k->peak >= 0) {
        double floor_tps = (1 - threshold) * pts[k->peak].tps;
        long t = k->peak;
        for (long i = 0; i < k->peak; i++)
            if (isfinite(pts[i].tps) && pts[i].tps >= floor_tps) {
                t = i;
                break;
            }
        /* Only the last level reached the plateau: nothing after it says
         * throughput stopped there. */
        if (t < (long)n - 1)
            k->tput_index = t;
        else
            k->climbing = n > 1;
    }
    if (n > 1 && latency_rises(pts, n - 1)) {
        size_t j = n - 1;
        while (j >= 1 && latency_rises(pts, j))
            j--;
        k->lat_index = (long)j;
    }
    for (size_t i = 0; i < n && k->slo_fail < 0; i++)
        if (pts[i].slo_ok == 0)
            k->slo_fail = (long)i;
    for (size_t i = 0; i < n && k->rate_short < 0; i++)
        if (rate_short(&pts[i], threshold))
            k->rate_short = (long)i;
    /* The binding constraint is whichever comes first. */
    if (k->tput_index >= 0) {
        k->reason = KNEE_THROUGHPUT;
        k->index = k->tput_index;
    }
    if (k->rate_short >= 0 && (k->reason == KNEE_NONE || k->rate_short - 1 < k->index)) {
        k->reason = KNEE_RATE;
        k->index = k->rate_short - 1;
    }
    if (k->slo_fail >= 0 && (k->reason == KNEE_NONE || k->slo_fail - 1 < k->index)) {
        k->reason = KNEE_SLO;
        k->index = k->slo_fail - 1;
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

/* The throughput part of the knee's words. */
static void describe_throughput(const struct knee *k, const struct knee_point *pts, size_t n,
                                const char *parameter, const char *const *names, double threshold,
                                char *buf, size_t cap)
{
    char a[64], b[64];
    size_t nfin = 0;
    for (size_t i = 0; i < n; i++)
        nfin += isfinite(pts[i].tps) != 0;
    if (nfin == 0)
        return;
    if (k->peak >= 0 && nfin == 1) {
        long i = k->peak;
        knee_appendf(buf, cap, "one level only (%.0f tok/s at %s %s): a knee needs two or more",
                     pts[i].tps, parameter, point_label(pts, names, i, a, sizeof a));
    } else if (k->tput_index >= 0) {
        long i = k->tput_index, p = k->peak;
        knee_appendf(buf, cap, "throughput saturates at %s %s (%.0f tok/s)", parameter,
                     point_label(pts, names, i, a, sizeof a), pts[i].tps);
        if (i == p)
            knee_appendf(buf, cap, ": no later level is higher");
        else
            knee_appendf(buf, cap, ": %.1f%% below the peak, %.0f tok/s at %s (< %.0f%%)",
                         (1 - pts[i].tps / pts[p].tps) * 100, pts[p].tps,
                         point_label(pts, names, p, b, sizeof b), threshold * 100);
        /* A dip on the way up: say it was seen, and passed over. */
        double best = NAN;
        for (long j = 0; j < i; j++) {
            if (!isfinite(pts[j].tps))
                continue;
            if (isfinite(best) && pts[j].tps < (1 - threshold) * best) {
                knee_appendf(buf, cap, "; throughput dips at %s (%.0f tok/s, %.1f%% below %.0f) "
                             "and climbs again", point_label(pts, names, j, a, sizeof a),
                             pts[j].tps, (1 - pts[j].tps / best) * 100, best);
                break;
            }
            if (!isfinite(best) || pts[j].tps > best)
                best = pts[j].tps;
        }
    } else if (k->climbing) {
        long i = (long)n - 1, j = i - 1;
        while (j > 0 && !isfinite(pts[j].tps))
            j--;
        knee_appendf(buf, cap, "%sthroughput still climbs at the last level (%.0f tok/s at %s %s",
                     k->reason == KNEE_NONE ? "no knee within the levels tried: " : "",
                     pts[i].tps, parameter, point_label(pts, names, i, a, sizeof a));
        if (isfinite(pts[j].tps) && pts[j].tps > 0)
            knee_appendf(buf, cap, ", +%.0f%% over %s", (pts[i].tps / pts[j].tps - 1) * 100,
                         point_label(pts, names, j, b, sizeof b));
        knee_appendf(buf, cap, ")");
    } else {
        knee_appendf(buf, cap, "no throughput knee: no level made output tokens");
    }
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
    describe_throughput(k, pts, n, parameter, names, threshold, buf, cap);
    const char *lat = !strcmp(parameter, "rate") ? "mean latency from the schedule" : "mean latency";
    if (k->lat_index >= 0) {
        long i = k->lat_index;
        knee_appendf(buf, cap, "%slatency knee at %s %s: %s grows %.1fx from %s to %s",
                     *buf ? "; " : "", parameter, point_label(pts, names, i, a, sizeof a), lat,
                     pts[i + 1].latency / pts[i].latency, a, point_label(pts, names, i + 1, b, sizeof b));
    } else if (k->tput_index >= 0) {
        knee_appendf(buf, cap, "; %s does not keep rising with the load after it: the throughput "
                     "knee is not confirmed", lat);
    }
    if (k->rate_short >= 0) {
        long i = k->rate_short;
        knee_appendf(buf, cap, "%sat %s %s only %.1f of %.1f requests/s offered were sent "
                     "(%.1f%% short, > %.0f%%): past the knee", *buf ? "; " : "", parameter,
                     point_label(pts, names, i, a, sizeof a), pts[i].achieved, pts[i].offered,
                     (1 - pts[i].achieved / pts[i].offered) * 100, threshold * 100);
        if (i > 0)
            knee_appendf(buf, cap, ", the last level that keeps up is %s",
                         point_label(pts, names, i - 1, a, sizeof a));
    } else {
        int rates = 0;
        for (size_t i = 0; i < n; i++)
            rates |= isfinite(pts[i].achieved) && isfinite(pts[i].offered);
        if (rates)
            knee_appendf(buf, cap, "%severy level sent its offered rate within %.0f%%",
                         *buf ? "; " : "", threshold * 100);
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
}

/* A level of the knee as JSON: its number or name, null for none. */
static void add_level(cJSON *o, const char *key, const struct knee_point *pts,
                      const char *const *names, long i)
{
    if (i < 0)
        cJSON_AddNullToObject(o, key);
    else if (names)
        cJSON_AddStringToObject(o, key, names[i]);
    else
        cJSON_AddNumberToObject(o, key, pts[i].level);
}

static void add_tps(cJSON *o, const char *key, const struct knee_point *pts, long i)
{
    jdoc_add_num(o, key, i >= 0 ? pts[i].tps : NAN);
}

cJSON *knee_to_json(const struct knee *k, const struct knee_point *pts, size_t n,
                    const char *parameter, const char *const *names, double threshold,
                    const char *slo)
{
    int judged = slo != NULL;
    for (size_t i = 0; i < n; i++)
        judged |= isfinite(pts[i].tps) || (isfinite(pts[i].offered) && isfinite(pts[i].achieved));
    if (n == 0 || !judged)
        return cJSON_CreateNull();
    static const char *const reasons[] = { "none", "throughput", "rate", "slo" };
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char text[1024];
    knee_describe(k, pts, n, parameter, names, threshold, slo, text, sizeof text);
    cJSON_AddStringToObject(o, "parameter", parameter);
    add_level(o, "level", pts, names, k->index);
    cJSON_AddStringToObject(o, "reason", reasons[k->reason]);
    add_tps(o, "output_tps", pts, k->index);
    add_level(o, "throughput_level", pts, names, k->tput_index);
    add_level(o, "latency_level", pts, names, k->lat_index);
    add_level(o, "rate_level", pts, names, k->rate_short > 0 ? k->rate_short - 1 : -1);
    add_level(o, "peak_level", pts, names, k->peak);
    add_tps(o, "peak_output_tps", pts, k->peak);
    cJSON_AddBoolToObject(o, "confirmed", k->tput_index >= 0 && k->lat_index >= 0);
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
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(lv, "slo_ok");
        const cJSON *ol = cJSON_GetObjectItemCaseSensitive(lv, "open_loop");
        pts[n].level = cJSON_IsNumber(l) ? l->valuedouble : (double)n;
        pts[n].tps = jdoc_num(s, "output_tps");
        pts[n].latency = knee_jstat(s, "e2e", "mean");
        pts[n].latency_sched = knee_jstat(s, "e2e_from_schedule", "mean");
        pts[n].offered = jdoc_num(ol, "offered_rate");
        pts[n].achieved = jdoc_num(ol, "achieved_rate");
        pts[n].slo_ok = cJSON_IsBool(ok) ? cJSON_IsTrue(ok) : -1;
        n++;
    }
    return (int)n;
}

cJSON *knee_of_levels(const cJSON *levels, const char *parameter, double threshold, const char *slo)
{
    struct knee_point pts[KNEE_MAX_LEVELS];
    const char *names[KNEE_MAX_LEVELS];
    int n = knee_points_from_levels(levels, pts, KNEE_MAX_LEVELS);
    if (n <= 0)
        return cJSON_CreateNull();
    int named = 0, i = 0;
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(lv, "level");
        if (i == n)
            break;
        names[i++] = cJSON_IsString(l) ? l->valuestring : "";
        named |= cJSON_IsString(l);
    }
    /* Throughput saturates with load; across temperatures, lengths or
     * prompts a flat throughput is no knee and latency follows the
     * workload, so only the SLO counts there.  An open loop's latency is
     * what a user arriving on schedule waits. */
    int load = !strcmp(parameter, "concurrency") || !strcmp(parameter, "rate");
    int rate = !strcmp(parameter, "rate");
    for (int j = 0; j < n; j++) {
        if (!load)
            pts[j].tps = pts[j].latency = NAN;
        if (rate && isfinite(pts[j].latency_sched))
            pts[j].latency = pts[j].latency_sched;
        if (!rate)
            pts[j].offered = pts[j].achieved = NAN;
    }
    struct knee k;
    knee_detect(pts, (size_t)n, threshold, &k);
    return knee_to_json(&k, pts, (size_t)n, parameter, named ? names : NULL, threshold, slo);
}

/* ---- find-max ----------------------------------------------------------------- */

/* Runs level until the probe decides it (see knee_findmax_run) into t.
 * 0, or eval's negative code. */
static int fm_level(const struct knee_findmax_opts *o, knee_eval_fn eval, void *ud,
                    double level, int more_max, struct knee_try *t)
{
    struct knee_probe p = { 1, 0, 0, 0 };
    memset(t, 0, sizeof *t);
    t->level = level;
    t->lo = t->hi = NAN;
    int rc = eval(ud, level, 0, &p);
    for (t->runs = 1; rc >= 0; t->runs++) {
        t->good = p.good;
        t->judged = p.judged;
        t->saturated = p.saturated;
        t->ok = p.ok && !p.saturated;
        if (!(o->goodput > 0) || !t->ok)
            break;
        slo_wilson(p.good, p.judged, SLO_Z95, &t->lo, &t->hi);
        t->ok = p.judged > 0 && t->lo >= o->goodput;
        if (t->ok || p.judged == 0 || t->hi < o->goodput || t->runs > more_max)
            break;
        rc = eval(ud, level, p.judged, &p);     /* straddles: twice the requests */
    }
    return rc < 0 ? rc : 0;
}

static int fm_try(const struct knee_findmax_opts *o, struct knee_findmax *r, int max_runs,
                  knee_eval_fn eval, void *ud, double level, int *ok)
{
    if ((int)r->ntried >= max_runs || r->ntried == KNEE_MAX_LEVELS) {
        r->exhausted = 1;
        return 1;
    }
    struct knee_try *t = &r->tried[r->ntried];
    int rc = fm_level(o, eval, ud, level, o->more_max > 0 ? o->more_max : 2, t);
    if (rc < 0)
        return rc;
    r->ntried++;
    *ok = t->ok;
    if (*ok) {
        if (isnan(r->best) || level > r->best)
            r->best = level;
    } else if (isnan(r->first_fail) || level < r->first_fail) {
        r->first_fail = level;
    }
    return 0;
}

static int fm_search(const struct knee_findmax_opts *o, knee_eval_fn eval, void *ud,
                     struct knee_findmax *r)
{
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
        if ((rc = fm_try(o, r, max_runs, eval, ud, x, &ok)) != 0)
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
        x = fmin(limit, x * 2);
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
            if ((rc = fm_try(o, r, max_runs, eval, ud, x, &ok)) != 0)
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
        if ((rc = fm_try(o, r, max_runs, eval, ud, mid, &ok)) != 0)
            return rc < 0 ? rc : 0;
        if (ok)
            lo = mid;
        else
            hi = mid;
    }
}

int knee_findmax_run(const struct knee_findmax_opts *o, knee_eval_fn eval, void *ud,
                     struct knee_findmax *r)
{
    memset(r, 0, sizeof *r);
    r->best = r->first_fail = NAN;
    int rc = fm_search(o, eval, ud, r);
    if (rc < 0 || !o->hold)
        return rc;
    return knee_findmax_hold(o, eval, ud, r);
}

int knee_findmax_hold(const struct knee_findmax_opts *o, knee_eval_fn eval, void *ud,
                      struct knee_findmax *r)
{
    if (isnan(r->best))
        return 0;
    /* One more run at the level found, judged alone. */
    int rc = fm_level(o, eval, ud, r->best, 0, &r->hold);
    if (rc < 0)
        return rc;
    r->held = 1;
    return 0;
}

int knee_saturated(const cJSON *summary, const cJSON *open_loop, double threshold)
{
    struct knee_point p = { .offered = jdoc_num(open_loop, "offered_rate"),
                            .achieved = jdoc_num(open_loop, "achieved_rate") };
    if (rate_short(&p, threshold))
        return 1;
    double queue = knee_jstat(summary, "queue_time", "p50");
    double e2e = knee_jstat(summary, "e2e", "p50");
    return isfinite(queue) && isfinite(e2e) && queue > e2e;
}

/* ---- past capacity -------------------------------------------------------------- */

double knee_past_level(double capacity, int integer)
{
    double x = capacity * KNEE_PAST_FACTOR;
    /* A concurrency past 1 must be at least one more stream. */
    return integer ? fmax(ceil(x - 1e-9), capacity + 1) : x;
}

const char *knee_past_verdict(double retained, double threshold)
{
    if (!isfinite(retained))
        return "unknown";
    return retained >= 1 - threshold ? "degrades gracefully" : retained >= 0.5 ? "degrades" : "collapses";
}

double knee_good_tps(const cJSON *summary)
{
    double g = jdoc_num(cJSON_GetObjectItemCaseSensitive(summary, "slo"), "goodput_tps");
    return isfinite(g) ? g : jdoc_num(summary, "output_tps");
}

/* The Wilson interval a summary's SLO judged: slo.attainment_ci95. */
static void slo_interval(const cJSON *slo, double *lo, double *hi)
{
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(slo, "attainment_ci95");
    const cJSON *a = cJSON_GetArrayItem(ci, 0), *b = cJSON_GetArrayItem(ci, 1);
    *lo = cJSON_IsNumber(a) ? a->valuedouble : NAN;
    *hi = cJSON_IsNumber(b) ? b->valuedouble : NAN;
}

const char *knee_past_fields(cJSON *o, const cJSON *entry, double kept, double threshold,
                             double *s429, double *s503)
{
    const cJSON *s = knee_level_summary(entry);
    const cJSON *smp = cJSON_GetObjectItemCaseSensitive(entry, "samples");
    /* 429s are counted beside the reservoir; a result from before that has
     * them as an error class. */
    *s429 = jdoc_num(smp, "shed_429");
    *s503 = jdoc_num(smp, "shed_503");
    if (!isfinite(*s429))
        *s429 = jdoc_num(cJSON_GetObjectItemCaseSensitive(s, "errors"), "rate_limited");
    const char *verdict = knee_past_verdict(kept, threshold);
    jdoc_add_num(o, "retained", kept);
    jdoc_add_num(o, "success_rate", knee_success_rate(s));
    jdoc_add_num(o, "shed_429", *s429);
    jdoc_add_num(o, "shed_503", *s503);
    cJSON_AddStringToObject(o, "verdict", verdict);
    return verdict;
}

cJSON *knee_past_json(const cJSON *at, const cJSON *past, const char *parameter, double threshold)
{
    const cJSON *as = knee_level_summary(at), *ps = knee_level_summary(past);
    const cJSON *aslo = cJSON_GetObjectItemCaseSensitive(as, "slo");
    const cJSON *pslo = cJSON_GetObjectItemCaseSensitive(ps, "slo");
    double cap = jdoc_num(at, "level"), level = jdoc_num(past, "level");
    double g_at = knee_good_tps(as), g_past = knee_good_tps(ps);
    double kept = g_at > 0 && isfinite(g_past) ? g_past / g_at : NAN;
    double lo, hi;
    slo_interval(pslo, &lo, &hi);
    int sat = ps && knee_saturated(ps, cJSON_GetObjectItemCaseSensitive(past, "open_loop"), threshold);
    double s429, s503;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    jdoc_add_num(o, "factor", KNEE_PAST_FACTOR);
    jdoc_add_num(o, "capacity", cap);
    jdoc_add_num(o, "level", level);
    jdoc_add_num(o, "judged", jdoc_num(pslo, "judged"));
    jdoc_add_num(o, "good", jdoc_num(pslo, "good"));
    jdoc_add_num(o, "attainment", jdoc_num(pslo, "attainment"));
    jdoc_add_num(o, "lo", lo);
    jdoc_add_num(o, "hi", hi);
    jdoc_add_num(o, "capacity_attainment", jdoc_num(aslo, "attainment"));
    jdoc_add_num(o, "goodput_rps", jdoc_num(pslo, "goodput_rps"));
    jdoc_add_num(o, "goodput_tps", g_past);
    jdoc_add_num(o, "capacity_goodput_rps", jdoc_num(aslo, "goodput_rps"));
    jdoc_add_num(o, "capacity_goodput_tps", g_at);
    const char *verdict = knee_past_fields(o, past, kept, threshold, &s429, &s503);
    cJSON_AddBoolToObject(o, "saturated", sat);

    char text[512] = "", b[4][32];
    knee_appendf(text, sizeof text, "%s at %s %g (%gx the capacity, %g): keeps %s of its good output "
                 "tokens/s (%s against %s tok/s)", verdict, parameter, level, KNEE_PAST_FACTOR, cap,
                 knee_fmt_pct(kept, b[0], sizeof b[0]), knee_fmt_num(g_past, "%.1f", b[1], sizeof b[1]),
                 knee_fmt_num(g_at, "%.1f", b[2], sizeof b[2]));
    if (isfinite(jdoc_num(pslo, "attainment"))) {
        knee_appendf(text, sizeof text, ", %.0f/%.0f good", jdoc_num(pslo, "good"), jdoc_num(pslo, "judged"));
        if (isfinite(lo))
            knee_appendf(text, sizeof text, " (%.1f-%.1f%%)", lo * 100, hi * 100);
    }
    knee_appendf(text, sizeof text, "; success %s", knee_fmt_pct(knee_success_rate(ps), b[3], sizeof b[3]));
    if (isfinite(s429) || isfinite(s503))
        knee_appendf(text, sizeof text, ", shed %.0f with 429 and %.0f with 503",
                     isfinite(s429) ? s429 : 0, isfinite(s503) ? s503 : 0);
    if (sat)
        knee_appendf(text, sizeof text, "; saturated");
    cJSON_AddStringToObject(o, "text", text);
    return o;
}

/* ---- tables ------------------------------------------------------------------- */

void knee_table_print(FILE *f, const char *parameter, const cJSON *levels, int open_loop)
{
    char c[14][32], lab[128];
    /* The first column fits the longest label (prompt-set names). */
    int w = (int)strlen(parameter) > 12 ? (int)strlen(parameter) : 12;
    const cJSON *lv;
    cJSON_ArrayForEach(lv, levels) {
        int len = (int)strlen(knee_level_label(lv, lab, sizeof lab));
        if (len > w)
            w = len;
    }
    /* Per-request SLOs (summary.slo): goodput and attainment columns. */
    int slo = 0;
    cJSON_ArrayForEach(lv, levels)
        slo |= cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(knee_level_summary(lv), "slo"));
    /* The three latency columns are end to end: the header says so. */
    fprintf(f, "%-*s %10s %10s %8s %9s %9s %9s %9s %9s %8s", w, parameter, "tok/s",
            "tok/s/user", "RPS", "E2E avg", "E2E p95", "E2E p99", "TTFT p50", "TTFT p95", "success");
    if (open_loop)
        fprintf(f, " %9s %6s %8s %8s", "queue p95", "late", "offered", "achieved");
    if (slo)
        fprintf(f, " %8s %8s", "goodput", "good");
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
        const cJSON *ol = cJSON_GetObjectItemCaseSensitive(lv, "open_loop");
        if (open_loop)
            fprintf(f, " %9s %6s %8s %8s", knee_fmt_secs(knee_jstat(s, "queue_time", "p95"), c[10], sizeof c[10]),
                    knee_fmt_num(jdoc_num(s, "late"), "%.0f", c[11], sizeof c[11]),
                    knee_fmt_num(jdoc_num(ol, "offered_rate"), "%.2f", c[12], sizeof c[12]),
                    knee_fmt_num(jdoc_num(ol, "achieved_rate"), "%.2f", c[13], sizeof c[13]));
        if (slo) {
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(s, "slo");
            fprintf(f, " %8s %8s", knee_fmt_num(jdoc_num(g, "goodput_rps"), "%.2f", c[10], sizeof c[10]),
                    knee_fmt_pct(jdoc_num(g, "attainment"), c[11], sizeof c[11]));
        }
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
        const cJSON *ol = cJSON_GetObjectItemCaseSensitive(lv, "open_loop");
        csv_num(f, jdoc_num(ol, "offered_rate"));
        csv_num(f, jdoc_num(ol, "achieved_rate"));
        fputc('\n', f);
    }
}

int knee_csv_write(FILE *f, const char *parameter, const cJSON *levels)
{
    fputs(KNEE_CSV_HEADER "\n", f);
    knee_csv_rows(f, NULL, parameter, levels);
    return ferror(f) ? -1 : 0;
}
