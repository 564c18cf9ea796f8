/* Merging the result documents of a run's shards into the document of one
 * run, and what a shard writes so that the merge can check it. */
#include "scale.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jdoc.h"
#include "report.h"
#include "result.h"
#include "rng.h"
#include "util.h"

int scale_parse_shard(const char *flag, const char *v, uint32_t *index, uint32_t *count,
                      char *err, size_t errcap)
{
    char *end;
    unsigned long i = strtoul(v, &end, 10), n = 0;
    int ok = end != v && isdigit((unsigned char)*v) && *end == '/';
    if (ok) {
        const char *p = end + 1;
        n = strtoul(p, &end, 10);
        ok = end != p && isdigit((unsigned char)*p) && !*end;
    }
    if (!ok || n < 2 || n > SCALE_SHARDS_MAX || i >= n) {
        snprintf(err, errcap, "%s %s: expected I/N with 0 <= I < N and 2 <= N <= %d (shard 0/4 "
                 "is the first of four)", flag, v, SCALE_SHARDS_MAX);
        return -1;
    }
    *index = (uint32_t)i;
    *count = (uint32_t)n;
    return 0;
}

/* "Z", "+HH:MM" or "-HH:MM" into seconds east of UTC; -1 otherwise. */
static int parse_zone(const char *p, long *east)
{
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        *east = 0;
        return 0;
    }
    if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
        p[3] == ':' && isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]) && !p[6]) {
        long h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
        if (h > 23 || m > 59)
            return -1;
        *east = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
        return 0;
    }
    return -1;
}

int scale_parse_start_at(const char *flag, const char *v, int64_t now_ns, int64_t *out,
                         char *err, size_t errcap)
{
    struct tm tm;
    long east = 0, frac_ns = 0;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p && *p == '.') {
        long scale = 100000000;
        for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
            frac_ns += scale ? (*p - '0') * scale : 0;
    }
    if (!p || parse_zone(p, &east) < 0) {
        snprintf(err, errcap, "%s %s: expected an RFC 3339 time such as 2026-12-05T10:30:00Z "
                 "or 2026-12-05T11:30:00+01:00", flag, v);
        return -1;
    }
    int64_t t = ((int64_t)timegm(&tm) - east) * 1000000000 + frac_ns;
    if (t <= now_ns) {
        snprintf(err, errcap, "%s %s: that time has passed (it is %.1f s ago); give every shard a "
                 "time a little ahead", flag, v, (double)(now_ns - t) / 1e9);
        return -1;
    }
    if (t - now_ns > 86400ll * 1000000000) {
        snprintf(err, errcap, "%s %s: more than 24 h ahead (a clock or date mistake?)", flag, v);
        return -1;
    }
    *out = t;
    return 0;
}

void scale_shared_run_id(char *dst, size_t cap, int64_t start_at_ns, uint64_t seed, uint32_t count)
{
    time_t t = (time_t)(start_at_ns / 1000000000);
    struct tm tm;
    char when[20];
    if (start_at_ns <= 0 || !gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm))
        snprintf(when, sizeof when, "shards");
    uint64_t h = rng_mix64(seed ^ rng_mix64((uint64_t)count ^ (uint64_t)start_at_ns));
    snprintf(dst, cap, "%s-%08x", when, (unsigned)(h & 0xffffffffu));
}

void scale_note_clock(cJSON *environment, const struct srv_clock *sc)
{
    double offset, error;
    int synced;
    cJSON *c = cJSON_AddObjectToObject(environment, "clock");
    if (!c)
        return;
    if (util_clock_status(&offset, &error, &synced) < 0) {
        cJSON_AddStringToObject(c, "source", "none");
    } else {
        cJSON_AddStringToObject(c, "source", "adjtimex");
        cJSON_AddBoolToObject(c, "synced", synced);
        cJSON_AddNumberToObject(c, "offset_s", offset);
        cJSON_AddNumberToObject(c, "error_s", error);
    }
    if (sc && sc->n) {
        cJSON_AddNumberToObject(c, "server_offset_lo_s", (double)sc->lo_ns / 1e9);
        cJSON_AddNumberToObject(c, "server_offset_hi_s", (double)sc->hi_ns / 1e9);
        cJSON_AddNumberToObject(c, "server_responses", (double)sc->n);
        cJSON_AddBoolToObject(c, "server_offset_consistent", !srv_clock_inconsistent(sc));
    }
}

/* The shards' offsets to the server's clock (Date headers), which say
 * whether their own clocks agree: shard i's offset lies in [lo_i, hi_i),
 * so two shards' clocks differ by at least lo_i - hi_j and at most
 * hi_i - lo_j.  1 with warn when they surely differ by more than
 * SCALE_SKEW_WARN_NS; else 0, with coarse saying when the bounds are too
 * wide to tell ("" when fewer than two shards saw a Date, or *agree: they
 * surely agree within it, whatever their clock discipline says).  The
 * spread's bounds into o. */
static int date_offsets(cJSON *const *docs, size_t n, cJSON *o, char *warn, size_t warncap,
                        char *coarse, size_t coarsecap, int *agree)
{
    double surely = 0, maybe = 0, widest = 0;
    size_t with = 0, without = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(docs[i], "environment"), "clock");
        double loi = jdoc_num(ci, "server_offset_lo_s"), hii = jdoc_num(ci, "server_offset_hi_s");
        if (!(loi <= hii)) {   /* none, or inconsistent */
            without++;
            continue;
        }
        with++;
        widest = fmax(widest, hii - loi);
        for (size_t j = 0; j < n; j++) {
            const cJSON *cj = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(docs[j], "environment"), "clock");
            double loj = jdoc_num(cj, "server_offset_lo_s"), hij = jdoc_num(cj, "server_offset_hi_s");
            if (j == i || !(loj <= hij))
                continue;
            surely = fmax(surely, loi - hij);
            maybe = fmax(maybe, hii - loj);
        }
    }
    coarse[0] = '\0';
    if (with < 2)
        return 0;
    jdoc_add_num(o, "date_offset_spread_min_s", surely);
    jdoc_add_num(o, "date_offset_spread_max_s", maybe);
    if (surely > SCALE_SKEW_WARN_NS / 1e9) {
        snprintf(warn, warncap, "the shards' clocks disagree by at least %.1f ms (by the server's Date "
                 "headers): their --start-at was not together, and their windows are misplaced by as "
                 "much", surely * 1e3);
        return 1;
    }
    *agree = maybe <= SCALE_SKEW_WARN_NS / 1e9;
    if (!*agree)
        snprintf(coarse, coarsecap, "the server's Date headers (1 s resolution) bound the shards' clock "
                 "offsets only to within %.0f ms: too coarse to tell whether their clocks agree within "
                 "%.0f ms (longer runs, with more responses, narrow it)%s", widest * 1e3,
                 SCALE_SKEW_WARN_NS / 1e6, without ? "; some shards saw no usable Date" : "");
    return 0;
}

/* --- checking ------------------------------------------------------------ */

/* What may differ between the shards of one run: which shard, where its
 * outputs went and how it talked to its terminal. */
static int ignored(const char *path)
{
    static const char *const keys[] = { "shard.index", "json_path", "csv_path", "raw_path",
                                        "quiet", "progress" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(path, keys[i]))
            return 1;
    return 0;
}

static void shown(const cJSON *v, char *buf, size_t cap)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, cap, "%s%s", s ? s : "absent", s && strlen(s) >= cap ? "..." : "");
    if (s && strlen(s) >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
    cJSON_free(s);
}

/* The first setting that differs between a and b (both objects) into
 * path; 1 when one does, 0 when none. */
static int first_diff(const char *prefix, const cJSON *a, const cJSON *b, char *path, size_t cap,
                      const cJSON **va, const cJSON **vb)
{
    const cJSON *x, *y;
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *from = pass ? b : a;
        cJSON_ArrayForEach(x, from) {
            snprintf(path, cap, "%s%s%s", prefix, *prefix ? "." : "", x->string);
            if (ignored(path))
                continue;
            y = cJSON_GetObjectItemCaseSensitive(pass ? a : b, x->string);
            if (pass && y)
                continue;   /* seen in the first pass */
            if (cJSON_IsObject(x) && cJSON_IsObject(y)) {
                char sub[256];
                snprintf(sub, sizeof sub, "%s", path);
                if (first_diff(sub, pass ? y : x, pass ? x : y, path, cap, va, vb))
                    return 1;
                continue;
            }
            if (!y || !cJSON_Compare(x, y, 1)) {
                *va = pass ? y : x;
                *vb = pass ? x : y;
                return 1;
            }
        }
    }
    return 0;
}

/* docs[i] is one run, a shard of the run docs[0] is a shard of.  0, or -1
 * with err. */
static int check_shard(cJSON *const *docs, const char *const *names, size_t i, size_t n,
                       unsigned char *seen, char *err, size_t errcap)
{
    const cJSON *d = docs[i];
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(d, "config");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(cfg, "shard");
    const char *schema = jdoc_str(d, "schema");
    if (!schema || strcmp(schema, REPORT_SCHEMA) || !cJSON_IsObject(cfg) ||
        cJSON_GetObjectItemCaseSensitive(d, "repeat") || cJSON_GetObjectItemCaseSensitive(d, "levels")) {
        snprintf(err, errcap, "%s: not the result of one run (%s)", names[i],
                 "llmload run --shard I/N --json FILE writes one");
        return -1;
    }
    double idx = jdoc_num(sh, "index"), cnt = jdoc_num(sh, "count");
    if (!cJSON_IsObject(sh) || !(idx >= 0) || !(cnt >= 2)) {
        snprintf(err, errcap, "%s: not a shard (its config has no \"shard\"; run with --shard I/N)",
                 names[i]);
        return -1;
    }
    if ((size_t)cnt != n) {
        snprintf(err, errcap, "%s is shard %.0f of %.0f, but %zu shard%s given", names[i], idx, cnt, n,
                 n == 1 ? " was" : "s were");
        return -1;
    }
    if (idx >= cnt || seen[(size_t)idx]) {
        snprintf(err, errcap, "%s: shard %.0f/%.0f given twice", names[i], idx, cnt);
        return -1;
    }
    seen[(size_t)idx] = 1;
    if (i == 0)
        return 0;
    char path[256], a[64], b[64];
    const cJSON *va = NULL, *vb = NULL;
    if (first_diff("", cJSON_GetObjectItemCaseSensitive(docs[0], "config"), cfg, path, sizeof path,
                   &va, &vb)) {
        shown(va, a, sizeof a);
        shown(vb, b, sizeof b);
        snprintf(err, errcap, "%s and %s are not shards of one configuration: config.%s is %s in "
                 "the first but %s in the second", names[0], names[i], path, a, b);
        return -1;
    }
    const cJSON *c0 = cJSON_GetObjectItemCaseSensitive(docs[0], "counters");
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(d, "counters");
    const char *r0 = jdoc_str(c0, "run_id"), *ri = jdoc_str(ci, "run_id");
    if (r0 && ri && strcmp(r0, ri)) {
        snprintf(err, errcap, "%s and %s are shards of different runs: run_id is \"%s\" in the first "
                 "but \"%s\" in the second", names[0], names[i], r0, ri);
        return -1;
    }
    return 0;
}

int scale_merge_stats(struct run_stats *s, const cJSON *doc, const char *name, int first,
                      char *err, size_t errcap)
{
    struct run_stats one;
    char why[256];
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "counters");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(doc, "histograms");
    if (run_stats_init(&one) < 0) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    struct run_stats *into = first ? s : &one;
    int rc = run_stats_from_json(into, c, h, why, sizeof why);
    if (rc == 0)
        rc = req_samples_from_json(&into->samples, cJSON_GetObjectItemCaseSensitive(doc, "samples"),
                                   why, sizeof why);
    if (rc < 0)
        snprintf(err, errcap, "%s: %s", name, why);
    else if (!first && run_stats_merge(s, &one) < 0) {
        snprintf(err, errcap, "%s: its histograms have another layout", name);
        rc = -1;
    }
    run_stats_free(&one);
    return rc;
}

/* The "merged" object: each shard's host, when its window began relative
 * to the earliest, and its clock; the spread of the starts.  Warns in
 * warn when the starts or the clocks disagree past SCALE_SKEW_WARN_NS. */
static cJSON *merged_note(cJSON *const *docs, const char *const *names, size_t n,
                          char *warn, size_t warncap)
{
    int64_t t_min = 0, t_max = 0;
    double off_min = INFINITY, off_max = -INFINITY;
    int unsynced = 0;
    cJSON *o = cJSON_CreateObject(), *arr = o ? cJSON_AddArrayToObject(o, "shards") : NULL;
    for (size_t i = 0; i < n; i++) {
        int64_t t0 = (int64_t)jdoc_num(cJSON_GetObjectItemCaseSensitive(docs[i], "counters"), "t0_wall_ns");
        if (t0 > 0 && (!t_min || t0 < t_min))
            t_min = t0;
        if (t0 > t_max)
            t_max = t0;
    }
    for (size_t i = 0; arr && i < n; i++) {
        const cJSON *env = cJSON_GetObjectItemCaseSensitive(docs[i], "environment");
        const cJSON *clk = cJSON_GetObjectItemCaseSensitive(env, "clock");
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(docs[i], "config");
        double t0 = jdoc_num(cJSON_GetObjectItemCaseSensitive(docs[i], "counters"), "t0_wall_ns");
        double off = jdoc_num(clk, "offset_s");
        cJSON *x = cJSON_CreateObject();
        if (!x || !cJSON_AddItemToArray(arr, x)) {
            cJSON_Delete(x);
            break;
        }
        cJSON_AddStringToObject(x, "file", names[i]);
        jdoc_add_num(x, "index", jdoc_num(cJSON_GetObjectItemCaseSensitive(cfg, "shard"), "index"));
        if (jdoc_str(env, "hostname"))
            cJSON_AddStringToObject(x, "hostname", jdoc_str(env, "hostname"));
        jdoc_add_num(x, "start_offset_s", t0 > 0 ? (t0 - (double)t_min) / 1e9 : NAN);
        if (clk)
            cJSON_AddItemToObject(x, "clock", cJSON_Duplicate(clk, 1));
        if (isfinite(off)) {
            off_min = fmin(off_min, off);
            off_max = fmax(off_max, off);
        }
        unsynced += cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(clk, "synced"));
    }
    jdoc_add_num(o, "start_spread_s", t_max > t_min && t_min ? (double)(t_max - t_min) / 1e9 : 0);
    jdoc_add_num(o, "clock_offset_spread_s", off_max >= off_min ? off_max - off_min : NAN);
    warn[0] = '\0';
    /* The server's clock is the one judge the shards share: a sure
     * disagreement by it comes first, its "cannot tell" last. */
    char coarse[400];
    int agree = 0;
    if (date_offsets(docs, n, o, warn, warncap, coarse, sizeof coarse, &agree))
        return o;
    if (t_min && t_max - t_min > SCALE_SKEW_WARN_NS)
        snprintf(warn, warncap, "the shards' measured windows began up to %.1f ms apart by their own "
                 "clocks (a --start-at missed, or clocks that disagree): the merged window and rates "
                 "span them all", (double)(t_max - t_min) / 1e6);
    else if (off_max - off_min > SCALE_SKEW_WARN_NS / 1e9)
        snprintf(warn, warncap, "the shards' clocks are still being corrected by amounts %.1f ms apart "
                 "(adjtimex): their starts may not have been together", (off_max - off_min) * 1e3);
    else if (coarse[0])
        snprintf(warn, warncap, "%s", coarse);
    else if (unsynced && !agree)
        snprintf(warn, warncap, "%d shard%s ran on a clock that is not synchronised (no NTP): their "
                 "--start-at may not have been together", unsynced, unsynced == 1 ? "" : "s");
    return o;
}

cJSON *scale_merge_docs(cJSON *const *docs, const char *const *names, size_t n,
                        char *warn, size_t warncap, char *err, size_t errcap)
{
    struct run_stats s;
    cJSON *out = NULL, *cfg = NULL, *env = NULL, *note = NULL;
    unsigned char *seen = calloc(n ? n : 1, 1);
    int stats_ok = 0;
    char when[48];
    warn[0] = '\0';
    if (!seen || run_stats_init(&s) < 0) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    stats_ok = 1;
    for (size_t i = 0; i < n; i++)
        if (check_shard(docs, names, i, n, seen, err, errcap) < 0 ||
            scale_merge_stats(&s, docs[i], names[i], i == 0, err, errcap) < 0)
            goto out;
    /* Bounds on one clock's offset only intersect on one machine: the
     * shards' are in "merged". */
    srv_clock_init(&s.server_clock);
    /* One run again: shard 0's settings without the shard, its
     * environment with the run's start. */
    cfg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(docs[0], "config"), 1);
    env = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(docs[0], "environment"), 1);
    note = merged_note(docs, names, n, warn, warncap);
    if (!cfg || !env || !note) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "shard");
    cJSON_DeleteItemFromObjectCaseSensitive(env, "clock");
    if (s.start_wall_ns > 0)
        cJSON_ReplaceItemInObjectCaseSensitive(env, "start_time",
            cJSON_CreateString(report_iso8601(s.t0_wall_ns ? s.t0_wall_ns : s.start_wall_ns, when,
                                              sizeof when)));
    cJSON_ReplaceItemInObjectCaseSensitive(env, "run_id", cJSON_CreateString(s.run_id));
    out = report_result_json_of(cfg, env, &s);
    cfg = env = NULL;
    if (!out || !cJSON_AddItemToObject(out, "merged", note)) {
        snprintf(err, errcap, "out of memory");
        cJSON_Delete(out);
        out = NULL;
        goto out;
    }
    note = NULL;
out:
    cJSON_Delete(cfg);
    cJSON_Delete(env);
    cJSON_Delete(note);
    if (stats_ok)
        run_stats_free(&s);
    free(seen);
    return out;
}
