/* Baselines: load, compare configurations, save, and the statistics of
 * repeated runs (median, seeded bootstrap intervals). */
#include "baseline.h"
#include "gate_int.h"
#include "fileio.h"
#include "rng.h"
#include "stats.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESULT_SCHEMA "llmload.result/1"
#define BASELINE_SCHEMA "llmload.baseline/2"
#define BASELINE_SCHEMA_OLD "llmload.baseline/1"

/* ---- statistics --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of v, sorting v in place. */
static double median_inplace(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    if (n % 2)
        return v[n / 2];
    double a = v[n / 2 - 1], b = v[n / 2];
    /* inf + -inf would be NaN; the sorted middle pair never mixes them
     * unless the sample does, and then the lower one is as good. */
    if (isinf(a) || isinf(b))
        return isinf(a) && isinf(b) && a != b ? a : (isinf(a) ? a : b);
    return (a + b) / 2;
}

double baseline_median(const double *v, size_t n)
{
    if (!n)
        return NAN;
    double *t = malloc(n * sizeof *t);
    if (!t)
        return NAN;
    memcpy(t, v, n * sizeof *t);
    double m = median_inplace(t, n);
    free(t);
    return m;
}

/* splitmix64 makes the intervals reproducible from the seed alone. */
static size_t rng_below(uint64_t *s, size_t n)
{
    /* n is at most a few thousand: the modulo bias is below 1e-15. */
    return (size_t)(rng_splitmix64(s) % n);
}

static double resample_median(const double *v, size_t n, double *tmp, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = v[rng_below(s, n)];
    return median_inplace(tmp, n);
}

/* 2.5th and 97.5th percentiles of the sorted boot[0..B), interpolated. */
static void boot_interval(double *boot, size_t b, double *lo, double *hi)
{
    qsort(boot, b, sizeof *boot, cmp_double);
    double ql = 0.025 * (double)(b - 1), qh = 0.975 * (double)(b - 1);
    size_t il = (size_t)ql, ih = (size_t)qh;
    double fl = ql - (double)il, fh = qh - (double)ih;
    *lo = fl > 0 && il + 1 < b && isfinite(boot[il]) && isfinite(boot[il + 1])
              ? boot[il] + fl * (boot[il + 1] - boot[il]) : boot[il];
    *hi = fh > 0 && ih + 1 < b && isfinite(boot[ih]) && isfinite(boot[ih + 1])
              ? boot[ih] + fh * (boot[ih + 1] - boot[ih]) : boot[ih];
}

int baseline_boot_median_ci(const double *v, size_t n, uint64_t seed, double *lo, double *hi)
{
    if (!n)
        return -1;
    if (n == 1) {
        *lo = *hi = v[0];
        return 0;
    }
    double *boot = malloc(BASELINE_BOOT_N * sizeof *boot);
    double *tmp = malloc(n * sizeof *tmp);
    if (!boot || !tmp) {
        free(boot);
        free(tmp);
        return -1;
    }
    uint64_t s = seed;
    for (size_t i = 0; i < BASELINE_BOOT_N; i++)
        boot[i] = resample_median(v, n, tmp, &s);
    boot_interval(boot, BASELINE_BOOT_N, lo, hi);
    free(boot);
    free(tmp);
    return 0;
}

int baseline_boot_change(const double *cur, size_t nc, const double *base, size_t nb,
                         int relative, uint64_t seed, double *point, double *lo, double *hi)
{
    if (!nc || !nb)
        return -1;
    *point = stats_change(baseline_median(cur, nc), baseline_median(base, nb), relative);
    if (nc == 1 && nb == 1) {
        *lo = *hi = *point;
        return 0;
    }
    double *boot = malloc(BASELINE_BOOT_N * sizeof *boot);
    double *tmp = malloc((nc > nb ? nc : nb) * sizeof *tmp);
    if (!boot || !tmp) {
        free(boot);
        free(tmp);
        return -1;
    }
    uint64_t s = seed;
    for (size_t i = 0; i < BASELINE_BOOT_N; i++) {
        double c = resample_median(cur, nc, tmp, &s);
        double b = resample_median(base, nb, tmp, &s);
        boot[i] = stats_change(c, b, relative);
    }
    boot_interval(boot, BASELINE_BOOT_N, lo, hi);
    free(boot);
    free(tmp);
    return 0;
}

/* ---- loading -------------------------------------------------------------------- */

void baseline_free(struct baseline *b)
{
    if (!b)
        return;
    free(b->path);
    cJSON_Delete(b->doc);
    free(b->summaries);
    free(b->samples);
    free(b);
}

/* Line and column of byte offset off in text, for a JSON syntax error. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int baseline_load(const char *path, struct baseline **out, char *err, size_t errcap)
{
    size_t len;
    struct baseline *b = NULL;
    *out = NULL;
    char why[1024];
    char *text = fileio_read_all(path, (size_t)256 << 20, &len, why, sizeof why);
    if (!text) {
        snprintf(err, errcap, "--baseline %s", why);
        return -1;
    }
    if (strlen(text) != len) {
        snprintf(err, errcap, "--baseline %s: contains a NUL byte, not JSON", path);
        free(text);
        return -1;
    }
    b = calloc(1, sizeof *b);
    if (!b || !(b->path = strdup(path))) {
        snprintf(err, errcap, "--baseline %s: out of memory", path);
        goto fail;
    }
    const char *end = NULL;
    b->doc = cJSON_ParseWithOpts(text, &end, 1);
    if (!b->doc) {
        int line, col;
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        line_col(text, off, &line, &col);
        snprintf(err, errcap, "--baseline %s: not valid JSON (line %d, column %d)", path, line, col);
        goto fail;
    }
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(b->doc, "schema");
    if (cJSON_IsString(schema) && !strcmp(schema->valuestring, BASELINE_SCHEMA_OLD)) {
        snprintf(err, errcap, "--baseline %s: a %s file, made before baselines kept per-request "
                 "samples; save it again with --save-baseline", path, BASELINE_SCHEMA_OLD);
        goto fail;
    }
    if (!cJSON_IsObject(b->doc) || !cJSON_IsString(schema) ||
        (strcmp(schema->valuestring, RESULT_SCHEMA) && strcmp(schema->valuestring, BASELINE_SCHEMA))) {
        snprintf(err, errcap, "--baseline %s: not an llmload result or baseline "
                 "(expected \"schema\": \"%s\" or \"%s\")", path, RESULT_SCHEMA, BASELINE_SCHEMA);
        goto fail;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b->doc, "interrupted"))) {
        snprintf(err, errcap, "--baseline %s: made by an interrupted run; its numbers are partial", path);
        goto fail;
    }
    b->config = cJSON_GetObjectItemCaseSensitive(b->doc, "config");
    if (b->config && !cJSON_IsObject(b->config)) {
        snprintf(err, errcap, "--baseline %s: \"config\" is not an object", path);
        goto fail;
    }
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(b->doc, "run_summaries");
    if (runs) {
        if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) < 1) {
            snprintf(err, errcap, "--baseline %s: \"run_summaries\" is not a non-empty array", path);
            goto fail;
        }
        b->n = (size_t)cJSON_GetArraySize(runs);
        b->summaries = calloc(b->n, sizeof *b->summaries);
        if (!b->summaries) {
            snprintf(err, errcap, "--baseline %s: out of memory", path);
            goto fail;
        }
        size_t i = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, runs) {
            if (!cJSON_IsObject(s)) {
                snprintf(err, errcap, "--baseline %s: run_summaries[%zu] is not an object", path, i);
                goto fail;
            }
            b->summaries[i++] = s;
        }
    } else {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(b->doc, "summary");
        if (!cJSON_IsObject(s)) {
            snprintf(err, errcap, "--baseline %s: no \"summary\" object", path);
            goto fail;
        }
        b->summaries = calloc(1, sizeof *b->summaries);
        if (!b->summaries) {
            snprintf(err, errcap, "--baseline %s: out of memory", path);
            goto fail;
        }
        b->summaries[0] = s;
        b->n = 1;
    }
    /* The requests of each run: "run_samples" beside "run_summaries", or
     * the result's own "samples". */
    b->samples = calloc(b->n, sizeof *b->samples);
    if (!b->samples) {
        snprintf(err, errcap, "--baseline %s: out of memory", path);
        goto fail;
    }
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(b->doc, runs ? "run_samples" : "samples");
    if (runs && rs && (!cJSON_IsArray(rs) || cJSON_GetArraySize(rs) != (int)b->n)) {
        snprintf(err, errcap, "--baseline %s: \"run_samples\" is not an array of one object per run", path);
        goto fail;
    }
    for (size_t i = 0; i < b->n; i++) {
        const cJSON *one = runs ? cJSON_GetArrayItem(rs, (int)i) : rs;
        b->samples[i] = cJSON_IsObject(one) ? one : NULL;
    }
    for (size_t i = 0; i < b->n; i++) {
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(b->summaries[i], "ok");
        if (!cJSON_IsNumber(ok) || ok->valuedouble <= 0) {
            snprintf(err, errcap, "--baseline %s: %s has no successful request to compare with", path,
                     b->n > 1 ? "a run" : "the run");
            goto fail;
        }
    }
    free(text);
    *out = b;
    return 0;
fail:
    free(text);
    baseline_free(b);
    return -1;
}

/* ---- configuration compatibility ----------------------------------------------- */

/* Where the server is and how it is trusted (tls), where outputs go, how verbose, how the built-in
 * simulator is shaped (it stands for the server under test, which is what
 * a baseline compares), the run's own gate and repeat settings, secrets,
 * how many processes or machines ran it (--workers, --shard),
 * the seed (each run draws its own: nonces differ, the workload does not),
 * and where the workload's files lie (their size and SHA-256 are what
 * count).  Everything else in "config" shapes the workload and must match;
 * nested settings are named by their path ("workload.input_tokens"). */
static const char *const ignored[] = {
    "url", "tls", "tls.insecure", "tls.cacert", "tls.client_cert", "headers", "proxy", "proxy_tunnel",
    "api_key", "api_key_set", "json", "json_path", "csv", "csv_path", "raw", "raw_path",
    "quiet", "progress", "mock_args", "mock", "simulator", "grace_s", "grace",
    "assert", "baseline", "max_regression", "repeat", "save_baseline", "junit", "markdown",
    "prometheus", "push", "pushgateway", "metrics_path", "log", "verbose",
    "seed_used", "seed_given", "schedule_seed", "workers", "shard",
    "workload.description", "workload.dataset.path", "workload.prompt_file.path",
    "workload.tokenizer.path",
};

int baseline_config_ignored(const char *key)
{
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        if (!strcmp(key, ignored[i]))
            return 1;
    return 0;
}

static int values_equal(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        double x = a->valuedouble, y = b->valuedouble;
        return x == y || fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y));
    }
    return cJSON_Compare(a, b, 1);
}

/* Bytes of a setting's value shown in a mismatch message: a long prompt is
 * cut to its start and "...". */
#define VALUE_SHOWN 40

/* Short printable form of a setting's value (long prompts are cut). */
static void value_str(const cJSON *v, char *buf, size_t cap)
{
    if (!v) {
        snprintf(buf, cap, "absent");
        return;
    }
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        snprintf(buf, cap, "?");
        return;
    }
    if (strlen(s) > VALUE_SHOWN)
        snprintf(buf, cap, "%.*s...", VALUE_SHOWN - 3, s);
    else
        snprintf(buf, cap, "%s", s);
    cJSON_free(s);
}

static void diff_one(const char *key, const cJSON *here, const cJSON *there,
                     char *err, size_t errcap, size_t *pos, int count)
{
    char a[48], b[48];
    value_str(here, a, sizeof a);
    value_str(there, b, sizeof b);
    if (*pos >= errcap)
        return;
    int w = snprintf(err + *pos, errcap - *pos, "%s%s is %s here but %s in the baseline",
                     count ? "; " : "", key, a, b);
    if (w > 0)
        *pos += (size_t)w;
}

/* Before the run the API may still be "auto" (resolved by probing the
 * server, which is a request), and the workload may not be opened yet (no
 * "workload"): both are compared again after. */
static int unresolved(const char *path, const cJSON *it)
{
    if (!strcmp(path, "api"))
        return cJSON_IsString(it) && !strcmp(it->valuestring, "auto");
    return !strcmp(path, "workload") && !it;
}

struct diff { char *err; size_t errcap, pos; int count; };

/* "prefix.key" into buf. */
static const char *key_path(const char *prefix, const char *key, char *buf, size_t cap)
{
    if (*prefix)
        snprintf(buf, cap, "%s.%s", prefix, key);
    else
        snprintf(buf, cap, "%s", key);
    return buf;
}

/* Every setting of cur against base, objects setting by setting. */
static void diff_objects(struct diff *d, const char *prefix, const cJSON *base, const cJSON *cur)
{
    char path[256];
    const cJSON *it;
    cJSON_ArrayForEach(it, cur) {
        if (!it->string || baseline_config_ignored(key_path(prefix, it->string, path, sizeof path)))
            continue;
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(base, it->string);
        if (unresolved(path, it))
            continue;
        if (cJSON_IsObject(it) && cJSON_IsObject(o))
            diff_objects(d, path, o, it);
        else if (!o || !values_equal(it, o))
            diff_one(path, it, o, d->err, d->errcap, &d->pos, d->count++);
    }
    cJSON_ArrayForEach(it, base) {
        if (!it->string || baseline_config_ignored(key_path(prefix, it->string, path, sizeof path)))
            continue;
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(cur, it->string);
        if (!o && !unresolved(path, o))
            diff_one(path, NULL, it, d->err, d->errcap, &d->pos, d->count++);
    }
}

int baseline_config_diff(const struct cJSON *base, const struct cJSON *cur,
                         char *err, size_t errcap)
{
    struct diff d = { err, errcap, 0, 0 };
    if (errcap)
        err[0] = '\0';
    diff_objects(&d, "", base, cur);
    if (d.pos >= errcap && errcap > 4)
        memcpy(err + errcap - 4, "...", 4);
    return d.count;
}

/* ---- saving ------------------------------------------------------------------- */

static cJSON *median_of(const cJSON *const *objs, size_t n)
{
    const cJSON *first = objs[0];
    cJSON *out = cJSON_CreateObject();
    const cJSON *it;
    double *v = malloc(n * sizeof *v);
    const cJSON **sub = malloc(n * sizeof *sub);
    if (!out || !v || !sub)
        goto fail;
    cJSON_ArrayForEach(it, first) {
        cJSON *m = NULL;
        if (cJSON_IsNumber(it)) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                const cJSON *x = cJSON_GetObjectItemCaseSensitive(objs[i], it->string);
                if (cJSON_IsNumber(x) && isfinite(x->valuedouble))
                    v[k++] = x->valuedouble;
            }
            m = k ? cJSON_CreateNumber(baseline_median(v, k)) : cJSON_CreateNull();
        } else if (cJSON_IsObject(it)) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                const cJSON *x = cJSON_GetObjectItemCaseSensitive(objs[i], it->string);
                if (cJSON_IsObject(x))
                    sub[k++] = x;
            }
            m = median_of(sub, k);
        } else {
            m = cJSON_Duplicate(it, 1);
        }
        if (!m || !cJSON_AddItemToObject(out, it->string, m)) {
            cJSON_Delete(m);
            goto fail;
        }
    }
    free(v);
    free(sub);
    return out;
fail:
    free(v);
    free(sub);
    cJSON_Delete(out);
    return NULL;
}

cJSON *baseline_median_summary(const cJSON *const *summaries, size_t n)
{
    if (!n)
        return NULL;
    return median_of(summaries, n);
}

/* Six significant digits: enough for any comparison the gate makes, and
 * a re-saved baseline of the same numbers diffs as unchanged. */
static void round_numbers(cJSON *node)
{
    cJSON *it;
    if (cJSON_IsNumber(node) && node->valuedouble != 0 && isfinite(node->valuedouble)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.6g", node->valuedouble);
        cJSON_SetNumberValue(node, strtod(buf, NULL));
        return;
    }
    cJSON_ArrayForEach(it, node)
        round_numbers(it);
}

int baseline_save(const char *path, struct cJSON *const *results, size_t n,
                  char *err, size_t errcap)
{
    return baseline_save_to(NULL, path, results, n, err, errcap);
}

int baseline_save_to(struct out_file *out, const char *path, struct cJSON *const *results,
                     size_t n, char *err, size_t errcap)
{
    int rc = -1;
    char *text = NULL;
    const cJSON **sums = calloc(n ? n : 1, sizeof *sums);
    cJSON *doc = cJSON_CreateObject(), *runs = NULL, *cfg = NULL, *med = NULL;
    if (!sums || !doc || !n)
        goto oom;
    for (size_t i = 0; i < n; i++)
        sums[i] = cJSON_GetObjectItemCaseSensitive(results[i], "summary");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(results[0], "environment");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(env, "llmload_version");
    if (!cJSON_IsString(ver))
        ver = cJSON_GetObjectItemCaseSensitive(env, "version");
    if (!cJSON_AddStringToObject(doc, "schema", BASELINE_SCHEMA))
        goto oom;
    if (cJSON_IsString(ver) && !cJSON_AddStringToObject(doc, "llmload_version", ver->valuestring))
        goto oom;
    if (!cJSON_AddNumberToObject(doc, "runs", (double)n))
        goto oom;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(results[0], "config");
    cfg = cJSON_CreateObject();
    if (!cfg)
        goto oom;
    const cJSON *it;
    cJSON_ArrayForEach(it, c) {
        if (!it->string || baseline_config_ignored(it->string))
            continue;
        cJSON *d = cJSON_Duplicate(it, 1);
        if (!d || !cJSON_AddItemToObject(cfg, it->string, d)) {
            cJSON_Delete(d);
            goto oom;
        }
    }
    if (!cJSON_AddItemToObject(doc, "config", cfg))
        goto oom;
    cfg = NULL;
    med = baseline_median_summary(sums, n);
    if (!med || !cJSON_AddItemToObject(doc, "summary", med))
        goto oom;
    med = NULL;
    runs = cJSON_CreateArray();
    if (!runs)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        cJSON *d = cJSON_Duplicate(sums[i], 1);
        if (!d || !cJSON_AddItemToArray(runs, d)) {
            cJSON_Delete(d);
            goto oom;
        }
    }
    if (!cJSON_AddItemToObject(doc, "run_summaries", runs))
        goto oom;
    runs = NULL;
    /* Each run's requests (already at six digits), so a later check can
     * test them and not only the medians. */
    runs = cJSON_CreateArray();
    if (!runs)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const cJSON *smp = cJSON_GetObjectItemCaseSensitive(results[i], "samples");
        cJSON *d = smp ? cJSON_Duplicate(smp, 1) : cJSON_CreateNull();
        if (!d || !cJSON_AddItemToArray(runs, d)) {
            cJSON_Delete(d);
            goto oom;
        }
    }
    if (!cJSON_AddItemToObject(doc, "run_samples", runs))
        goto oom;
    runs = NULL;
    /* Measurements only: settings (a dataset's size in bytes, a seed) are
     * compared exactly and must keep every digit. */
    round_numbers(cJSON_GetObjectItemCaseSensitive(doc, "summary"));
    round_numbers(cJSON_GetObjectItemCaseSensitive(doc, "run_summaries"));
    text = cJSON_Print(doc);
    if (!text)
        goto oom;
    size_t len = strlen(text);
    /* cJSON has no trailing newline; a committed file wants one. */
    char *t2 = realloc(text, len + 2);
    if (!t2)
        goto oom;
    text = t2;
    text[len++] = '\n';
    text[len] = '\0';
    rc = gate_write_report(out, "--save-baseline", path, text, len, err, errcap);
    goto done;
oom:
    snprintf(err, errcap, "--save-baseline: cannot write %s: out of memory", path);
done:
    free(text);
    cJSON_Delete(runs);
    cJSON_Delete(cfg);
    cJSON_Delete(med);
    cJSON_Delete(doc);
    free(sums);
    return rc;
}
