/* Log-linear (HDR-style) histogram: fixed memory, 3 significant digits,
 * mergeable, with exact statistics while the sample is small. */
#include "hist.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2048 sub-buckets per power of two: the upper half of each bucket splits
 * [2^k, 2^(k+1)) into 1024 equal steps, so a value's bucket is never wider
 * than 1/1024 of it (3 significant decimal digits, HdrHistogram's layout
 * with unit magnitude 0).  Values below 2048 get a bucket each. */
#define SUB_HALF_MAG 10
#define SUB_COUNT (1u << (SUB_HALF_MAG + 1))   /* 2048 */
#define SUB_HALF (1u << SUB_HALF_MAG)          /* 1024 */
#define SUB_MASK ((uint64_t)SUB_COUNT - 1)

/* The largest `highest` accepted: keeps every shift below 64 bits and every
 * value exactly representable in a JSON number (a double). */
#define HIST_HIGHEST_MAX (1ull << 53)

/* /2 writes the buckets as one string of "delta:count" pairs: the arrays
 * of pairs of /1 cost three JSON nodes a bucket, which made reading the
 * shards of a long run (llmload merge) slow.  Both are read. */
#define HIST_FORMAT "llmload.hist/2"
#define HIST_FORMAT_1 "llmload.hist/1"

struct hist {
    uint64_t highest;
    uint64_t count;
    uint64_t saturated;         /* values above highest, clamped to it */
    uint64_t min, max;
    long double sum;            /* exact up to 2^64 on x86; mean = sum/count */
    long double m2;             /* sum of squared deviations (Welford/Chan) */
    int exact;                  /* raw[0..count) holds every value */
    uint64_t *raw;              /* HIST_EXACT_MAX slots, inside this allocation */
    size_t counts_len;
    uint64_t counts[];
};

static size_t layout_counts_len(uint64_t highest)
{
    /* Number of power-of-two buckets needed so that the top of the last one
     * lies above highest; each bucket past the first adds SUB_HALF slots. */
    uint64_t smallest_untrackable = SUB_COUNT;
    size_t buckets = 1;
    while (smallest_untrackable <= highest) {
        smallest_untrackable <<= 1;
        buckets++;
    }
    return (buckets + 1) << SUB_HALF_MAG;
}

static size_t value_index(uint64_t v)
{
    int pow2ceil = 64 - __builtin_clzll(v | SUB_MASK);
    int bucket = pow2ceil - (SUB_HALF_MAG + 1);
    uint64_t sub = v >> bucket;
    return ((size_t)(bucket + 1) << SUB_HALF_MAG) + (size_t)(sub - SUB_HALF);
}

/* Lowest value and width of the bucket at counts index i. */
static void index_range(size_t i, uint64_t *lo, uint64_t *width)
{
    int bucket = (int)(i >> SUB_HALF_MAG) - 1;
    uint64_t sub = (i & (SUB_HALF - 1)) + SUB_HALF;
    if (bucket < 0) {
        sub -= SUB_HALF;
        bucket = 0;
    }
    *lo = sub << bucket;
    *width = 1ull << bucket;
}

/* The value reported for a bucket: its midpoint, so the error is at most
 * half a bucket (<= 1/2048 of the value). */
static uint64_t index_value(size_t i)
{
    uint64_t lo, width;
    index_range(i, &lo, &width);
    return lo + (width - 1) / 2;
}

struct hist *hist_new(uint64_t highest)
{
    if (highest < 1 || highest > HIST_HIGHEST_MAX)
        return NULL;
    size_t n = layout_counts_len(highest);
    struct hist *h = calloc(1, sizeof *h + n * sizeof h->counts[0]
                               + HIST_EXACT_MAX * sizeof(uint64_t));
    if (!h)
        return NULL;
    h->highest = highest;
    h->counts_len = n;
    h->raw = h->counts + n;
    h->exact = 1;
    return h;
}

void hist_free(struct hist *h)
{
    free(h);
}

void hist_reset(struct hist *h)
{
    memset(h->counts, 0, h->counts_len * sizeof h->counts[0]);
    h->count = h->saturated = h->min = h->max = 0;
    h->sum = h->m2 = 0;
    h->exact = 1;
}

/* Chan et al.'s pairwise update of the squared-deviation sum: merging a
 * group (nb values, mean mb, m2b) into (na, ma, m2a).  It keeps stdev
 * accurate where sum-of-squares would cancel (large mean, small spread). */
static long double m2_combine(uint64_t na, long double ma, long double m2a,
                              uint64_t nb, long double mb, long double m2b)
{
    if (na == 0)
        return m2b;
    long double d = mb - ma;
    long double n = (long double)na + (long double)nb;
    return m2a + m2b + d * d * (long double)na * (long double)nb / n;
}

void hist_record_n(struct hist *h, uint64_t v, uint64_t n)
{
    if (n == 0)
        return;
    if (v > h->highest) {
        v = h->highest;
        h->saturated += n;
    }
    if (h->exact) {
        if (h->count + n <= HIST_EXACT_MAX)
            for (uint64_t k = 0; k < n; k++)
                h->raw[h->count + k] = v;
        else
            h->exact = 0;
    }
    long double mean = h->count ? h->sum / (long double)h->count : 0;
    h->m2 = m2_combine(h->count, mean, h->m2, n, (long double)v, 0);
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count += n;
    h->sum += (long double)v * (long double)n;
    h->counts[value_index(v)] += n;
}

void hist_record(struct hist *h, uint64_t v)
{
    hist_record_n(h, v, 1);
}

int hist_merge(struct hist *dst, const struct hist *src)
{
    if (dst->highest != src->highest || dst->counts_len != src->counts_len)
        return -1;
    if (src->count == 0)
        return 0;
    if (dst->exact && src->exact && dst->count + src->count <= HIST_EXACT_MAX)
        memcpy(dst->raw + dst->count, src->raw, src->count * sizeof src->raw[0]);
    else
        dst->exact = 0;
    long double ma = dst->count ? dst->sum / (long double)dst->count : 0;
    long double mb = src->sum / (long double)src->count;
    dst->m2 = m2_combine(dst->count, ma, dst->m2, src->count, mb, src->m2);
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->saturated += src->saturated;
    dst->sum += src->sum;
    for (size_t i = 0; i < dst->counts_len; i++)
        dst->counts[i] += src->counts[i];
    return 0;
}

uint64_t hist_count(const struct hist *h) { return h->count; }
uint64_t hist_min(const struct hist *h) { return h->count ? h->min : 0; }
uint64_t hist_max(const struct hist *h) { return h->count ? h->max : 0; }
uint64_t hist_saturated(const struct hist *h) { return h->saturated; }
uint64_t hist_highest(const struct hist *h) { return h->highest; }

double hist_sum(const struct hist *h)
{
    return (double)h->sum;
}

double hist_mean(const struct hist *h)
{
    return h->count ? (double)(h->sum / (long double)h->count) : NAN;
}

double hist_stdev(const struct hist *h)
{
    if (h->count == 0)
        return NAN;
    if (h->count == 1)
        return 0.0;
    long double var = h->m2 / (long double)(h->count - 1);
    return var > 0 ? (double)sqrtl(var) : 0.0;
}

/* Nearest rank (1-based) of percentile p among n values. */
static uint64_t rank_of(double p, uint64_t n)
{
    if (!(p > 0))               /* also NaN */
        return 1;
    if (p >= 100)
        return n;
    double r = ceil(p / 100.0 * (double)n);
    if (r < 1)
        return 1;
    return r > (double)n ? n : (uint64_t)r;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t bucket_percentile(const struct hist *h, double p)
{
    uint64_t rank = rank_of(p, h->count), cum = 0;
    /* The extremes are tracked exactly. */
    if (rank == 1)
        return h->min;
    if (rank == h->count)
        return h->max;
    for (size_t i = 0; i < h->counts_len; i++) {
        cum += h->counts[i];
        if (cum >= rank) {
            /* The true min and max are known exactly; never report a
             * bucket midpoint outside them. */
            uint64_t v = index_value(i);
            return v < h->min ? h->min : v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* A sorted copy of the raw values, or NULL (not exact, or out of memory:
 * the caller falls back to the buckets). */
static uint64_t *sorted_raw(const struct hist *h)
{
    if (!h->exact || h->count == 0)
        return NULL;
    uint64_t *s = malloc(h->count * sizeof *s);
    if (!s)
        return NULL;
    memcpy(s, h->raw, h->count * sizeof *s);
    qsort(s, h->count, sizeof *s, cmp_u64);
    return s;
}

static uint64_t percentile_with(const struct hist *h, const uint64_t *sorted, double p)
{
    if (h->count == 0)
        return 0;
    if (sorted)
        return sorted[rank_of(p, h->count) - 1];
    return bucket_percentile(h, p);
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    uint64_t *s = sorted_raw(h);
    uint64_t v = percentile_with(h, s, p);
    free(s);
    return v;
}

void hist_cumulative(const struct hist *h, const uint64_t *le, size_t n, uint64_t *out)
{
    size_t k = 0;
    memset(out, 0, n * sizeof *out);
    if (n == 0 || h->count == 0)
        return;
    if (h->exact) {
        /* Each value into the first threshold that holds it, then sums. */
        for (uint64_t j = 0; j < h->count; j++) {
            for (k = 0; k < n && h->raw[j] > le[k]; k++)
                ;
            if (k < n)
                out[k]++;
        }
        for (k = 1; k < n; k++)
            out[k] += out[k - 1];
        return;
    }
    uint64_t cum = 0;
    for (size_t i = 0; i < h->counts_len && k < n; i++) {
        uint64_t lo, width;
        index_range(i, &lo, &width);
        while (k < n && lo > le[k])
            out[k++] = cum;
        cum += h->counts[i];
    }
    while (k < n)
        out[k++] = cum;
}

void hist_stats(const struct hist *h, double scale, struct hist_stats *out)
{
    out->n = h->count;
    if (h->count == 0) {
        out->min = out->mean = out->p50 = out->p90 = out->p95 = out->p99 =
            out->max = out->stdev = NAN;
        return;
    }
    uint64_t *s = sorted_raw(h);
    out->min = (double)h->min * scale;
    out->max = (double)h->max * scale;
    out->mean = hist_mean(h) * scale;
    out->stdev = hist_stdev(h) * scale;
    out->p50 = (double)percentile_with(h, s, 50) * scale;
    out->p90 = (double)percentile_with(h, s, 90) * scale;
    out->p95 = (double)percentile_with(h, s, 95) * scale;
    out->p99 = (double)percentile_with(h, s, 99) * scale;
    free(s);
}

/* --- serialisation ------------------------------------------------------- */

/* The non-zero buckets as "d:c d:c ...": d the index's distance from the
 * previous non-zero bucket's (the first's from 0), c its count.  NULL on
 * out of memory. */
static char *buckets_text(const struct hist *h)
{
    size_t nz = 0, len = 0;
    for (size_t i = 0; i < h->counts_len; i++)
        nz += h->counts[i] != 0;
    char *t = malloc(nz * 42 + 1);   /* two 20-digit numbers, ':' and ' ' */
    if (!t)
        return NULL;
    size_t prev = 0;
    for (size_t i = 0; i < h->counts_len; i++) {
        if (!h->counts[i])
            continue;
        len += (size_t)sprintf(t + len, "%s%zu:%" PRIu64, len ? " " : "", i - prev, h->counts[i]);
        prev = i;
    }
    t[len] = '\0';
    return t;
}

/* Reads buckets_text's form into h->counts; the sum of the counts in
 * *total.  -1 when malformed (an index past the layout, a zero count, a
 * bucket twice). */
static int buckets_parse(struct hist *h, const char *p, uint64_t *total)
{
    size_t idx = 0;
    int first = 1;
    *total = 0;
    while (*p) {
        char *end;
        if (!first && *p++ != ' ')
            return -1;
        if (*p < '0' || *p > '9')
            return -1;
        unsigned long long d = strtoull(p, &end, 10);
        if (*end != ':' || end[1] < '0' || end[1] > '9' || (!first && d == 0) ||
            d >= h->counts_len - idx)
            return -1;
        p = end + 1;
        unsigned long long c = strtoull(p, &end, 10);
        if (c == 0 || c > HIST_HIGHEST_MAX || *total + c > HIST_HIGHEST_MAX)
            return -1;
        idx += (size_t)d;
        h->counts[idx] = c;
        *total += c;
        p = end;
        first = 0;
    }
    return 0;
}

struct cJSON *hist_to_json(const struct hist *h)
{
    cJSON *o = cJSON_CreateObject();
    char *bt = buckets_text(h);
    if (!o || !bt) {
        cJSON_Delete(o);
        free(bt);
        return NULL;
    }
    if (!cJSON_AddStringToObject(o, "format", HIST_FORMAT) ||
        !cJSON_AddNumberToObject(o, "highest", (double)h->highest) ||
        !cJSON_AddNumberToObject(o, "significant_digits", 3) ||
        !cJSON_AddNumberToObject(o, "count", (double)h->count) ||
        !cJSON_AddNumberToObject(o, "saturated", (double)h->saturated) ||
        !cJSON_AddNumberToObject(o, "min", (double)hist_min(h)) ||
        !cJSON_AddNumberToObject(o, "max", (double)hist_max(h)) ||
        !cJSON_AddNumberToObject(o, "sum", (double)h->sum) ||
        !cJSON_AddNumberToObject(o, "m2", (double)h->m2) ||
        !cJSON_AddStringToObject(o, "buckets", bt))
        goto err;
    free(bt);
    bt = NULL;
    if (h->exact) {
        cJSON *e = cJSON_AddArrayToObject(o, "exact");
        if (!e)
            goto err;
        for (uint64_t k = 0; k < h->count; k++)
            if (!cJSON_AddItemToArray(e, cJSON_CreateNumber((double)h->raw[k])))
                goto err;
    }
    return o;
err:
    free(bt);
    cJSON_Delete(o);
    return NULL;
}

/* A JSON number that is a whole value in [0, max]. */
static int json_u64(const cJSON *o, const char *key, uint64_t max, uint64_t *out)
{
    const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(o, key) : o;
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(d >= 0) || d > (double)max || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static int json_nonneg(const cJSON *o, const char *key, long double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
        return -1;
    *out = v->valuedouble;
    return 0;
}

struct hist *hist_from_json(const struct cJSON *j)
{
    uint64_t highest, count, saturated, min, max, digits, total = 0;
    long double sum, m2;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    int v1 = cJSON_IsString(fmt) && !strcmp(fmt->valuestring, HIST_FORMAT_1);
    if (!cJSON_IsObject(j) || !cJSON_IsString(fmt) || (strcmp(fmt->valuestring, HIST_FORMAT) && !v1) ||
        json_u64(j, "highest", HIST_HIGHEST_MAX, &highest) < 0 ||
        json_u64(j, "significant_digits", 3, &digits) < 0 || digits != 3 ||
        json_u64(j, "count", HIST_HIGHEST_MAX, &count) < 0 ||
        json_u64(j, "saturated", count, &saturated) < 0 ||
        json_u64(j, "min", highest, &min) < 0 ||
        json_u64(j, "max", highest, &max) < 0 ||
        json_nonneg(j, "sum", &sum) < 0 || json_nonneg(j, "m2", &m2) < 0 ||
        (count && min > max) || (!count && (min || max || sum > 0)))
        return NULL;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "buckets");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "exact");
    if (!(v1 ? cJSON_IsArray(b) : cJSON_IsString(b)) || (e && !cJSON_IsArray(e)))
        return NULL;
    struct hist *h = hist_new(highest);
    if (!h)
        return NULL;
    if (!v1 && buckets_parse(h, b->valuestring, &total) < 0)
        goto err;
    const cJSON *pair, *pairs = v1 ? b : NULL;
    cJSON_ArrayForEach(pair, pairs) {
        uint64_t idx, n;
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 ||
            json_u64(cJSON_GetArrayItem(pair, 0), NULL, h->counts_len - 1, &idx) < 0 ||
            json_u64(cJSON_GetArrayItem(pair, 1), NULL, count, &n) < 0 || n == 0 ||
            h->counts[idx] != 0)
            goto err;
        h->counts[idx] = n;
        total += n;
        if (total > count)
            goto err;
    }
    if (total != count)
        goto err;
    if (e) {
        if ((uint64_t)cJSON_GetArraySize(e) != count || count > HIST_EXACT_MAX)
            goto err;
        uint64_t k = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, e) {
            if (json_u64(v, NULL, highest, &h->raw[k]) < 0 ||
                h->raw[k] < min || h->raw[k] > max)
                goto err;
            k++;
        }
    }
    h->exact = e != NULL;
    h->count = count;
    h->saturated = saturated;
    h->min = min;
    h->max = max;
    h->sum = sum;
    h->m2 = m2;
    return h;
err:
    hist_free(h);
    return NULL;
}
