/* Per-request samples (sample.h): a seeded reservoir beside the
 * histograms. */
#include "sample.h"
#include "result.h"
#include "jdoc.h"
#include "rng.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of a samples object, in the order of SAMPLE_E2E... */
static const char *const col_keys[SAMPLE_NCOLS] = {
    "e2e_s", "ttft_s", "tpot_s", "output_tokens", "ok", "start_s", "round"
};

int req_samples_init(struct req_samples *s)
{
    memset(s, 0, sizeof *s);
    s->rng = SAMPLE_SEED;
    s->v = calloc(SAMPLE_CAP, sizeof *s->v);
    return s->v ? 0 : -1;
}

void req_samples_free(struct req_samples *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static float secs(uint64_t a, uint64_t b)
{
    return b >= a ? (float)((double)(b - a) * 1e-9) : -1.0f;
}

void req_samples_add(struct req_samples *s, const struct req_record *r)
{
    if (r->status == 429)
        s->shed_429++;
    else if (r->status == 503)
        s->shed_503++;
    if (!s->v)
        return;
    s->seen++;
    size_t slot;
    if (s->n < SAMPLE_CAP) {
        slot = s->n++;
    } else {
        /* Algorithm R: the i-th request replaces a kept one with
         * probability CAP / i, so every request is kept equally likely. */
        uint64_t j = rng_splitmix64(&s->rng) % s->seen;
        if (j >= SAMPLE_CAP)
            return;
        slot = (size_t)j;
    }
    struct req_sample *x = &s->v[slot];
    int ok = r->err == ERR_NONE;
    int64_t ttft = req_ttft_ns(r);
    x->ok = (uint8_t)ok;
    x->e2e_s = secs(r->start_ns, r->end_ns);
    x->start_s = (float)((double)r->start_ns * 1e-9);
    x->ttft_s = ok && ttft >= 0 ? (float)((double)ttft * 1e-9) : -1.0f;
    x->out_tokens = ok && r->out_tokens > 0
                        ? (uint32_t)(r->out_tokens > UINT32_MAX ? UINT32_MAX : r->out_tokens) : 0;
    x->tpot_s = x->out_tokens > 1 && x->ttft_s >= 0 && x->e2e_s >= x->ttft_s
                    ? (x->e2e_s - x->ttft_s) / (float)(x->out_tokens - 1) : -1.0f;
}

/* Six significant digits: the documents stay small and the statistics do
 * not need more. */
static cJSON *num6(double v)
{
    if (!(v >= 0) || !isfinite(v))
        return cJSON_CreateNull();
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", v);
    return cJSON_CreateNumber(strtod(buf, NULL));
}

cJSON *req_samples_to_json(const struct req_samples *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "seen", (double)s->seen);
    cJSON_AddNumberToObject(o, "kept", (double)s->n);
    cJSON_AddNumberToObject(o, "seed", (double)SAMPLE_SEED);
    cJSON_AddNumberToObject(o, "shed_429", (double)s->shed_429);
    cJSON_AddNumberToObject(o, "shed_503", (double)s->shed_503);
    cJSON *a[6];
    for (int k = 0; k < 6; k++)
        if (!(a[k] = cJSON_AddArrayToObject(o, col_keys[k]))) {
            cJSON_Delete(o);
            return NULL;
        }
    for (size_t i = 0; i < s->n; i++) {
        const struct req_sample *x = &s->v[i];
        cJSON *it[6] = { num6(x->e2e_s), num6(x->ttft_s), num6(x->tpot_s),
                         cJSON_CreateNumber(x->out_tokens), cJSON_CreateNumber(x->ok), num6(x->start_s) };
        for (int k = 0; k < 6; k++)
            if (!it[k] || !cJSON_AddItemToArray(a[k], it[k])) {
                for (int m = k; m < 6; m++)
                    cJSON_Delete(it[m]);
                cJSON_Delete(o);
                return NULL;
            }
    }
    return o;
}

int sample_view_of(const cJSON *j, struct sample_view *v)
{
    memset(v, 0, sizeof *v);
    for (int c = 0; c < SAMPLE_NCOLS; c++)
        v->col[c] = cJSON_GetObjectItemCaseSensitive(j, col_keys[c]);
    int n = cJSON_GetArraySize(v->col[SAMPLE_E2E]);
    for (int c = 0; c < SAMPLE_NCOLS; c++) {
        int required = c == SAMPLE_E2E || c == SAMPLE_TOKENS || c == SAMPLE_OK;
        if ((required || v->col[c]) && (!cJSON_IsArray(v->col[c]) || cJSON_GetArraySize(v->col[c]) != n))
            return -1;
    }
    v->n = (size_t)n;
    return 0;
}

long sample_view_column(const struct sample_view *v, const char *k, double *out)
{
    for (int c = 0; c < SAMPLE_NCOLS; c++) {
        if (strcmp(k, col_keys[c]))
            continue;
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v->col[c]) {
            if (i == v->n)
                break;
            out[i++] = cJSON_IsNumber(it) ? it->valuedouble : NAN;
        }
        while (i < v->n)
            out[i++] = c == SAMPLE_ROUND && !v->col[c] ? 0 : NAN;
        return (long)v->n;
    }
    return -1;
}

int sample_view_blocks(const struct sample_view *v, int *out)
{
    if (!v->col[SAMPLE_START] || !v->n)
        return -1;
    double *t = malloc(v->n * sizeof *t), *rd = malloc(v->n * sizeof *rd);
    if (!t || !rd) {
        free(t);
        free(rd);
        return -1;
    }
    sample_view_column(v, "start_s", t);
    sample_view_column(v, "round", rd);
    /* Blocks of equal time within each round: the round's span split in
     * SAMPLE_BLOCKS, numbered on from the round's first. */
    enum { MAXR = 64 };
    double lo[MAXR], hi[MAXR];
    for (int q = 0; q < MAXR; q++) {
        lo[q] = INFINITY;
        hi[q] = -INFINITY;
    }
    for (size_t i = 0; i < v->n; i++) {
        int q = rd[i] >= 0 && rd[i] < MAXR ? (int)rd[i] : 0;
        rd[i] = q;
        if (!isnan(t[i])) {
            lo[q] = fmin(lo[q], t[i]);
            hi[q] = fmax(hi[q], t[i]);
        }
    }
    for (size_t i = 0; i < v->n; i++) {
        int q = (int)rd[i];
        int b = isnan(t[i]) || !(hi[q] > lo[q]) ? 0 : (int)((t[i] - lo[q]) / (hi[q] - lo[q]) * SAMPLE_BLOCKS);
        if (b >= SAMPLE_BLOCKS)
            b = SAMPLE_BLOCKS - 1;
        out[i] = q * SAMPLE_BLOCKS + b;
    }
    free(t);
    free(rd);
    return 0;
}

int req_samples_json_append(cJSON *into, const cJSON *add, int r)
{
    static const char *const sums[] = { "seen", "kept", "shed_429", "shed_503" };
    struct sample_view v;
    if (sample_view_of(add, &v) < 0)
        return -1;
    for (size_t c = 0; c < sizeof sums / sizeof sums[0]; c++) {
        cJSON *x = cJSON_GetObjectItemCaseSensitive(into, sums[c]);
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(add, sums[c]);
        double sum = (cJSON_IsNumber(x) ? x->valuedouble : 0) + (cJSON_IsNumber(y) ? y->valuedouble : 0);
        if (x)
            cJSON_SetNumberValue(x, sum);
        else if (!cJSON_AddNumberToObject(into, sums[c], sum))
            return -1;
    }
    if (!cJSON_GetObjectItemCaseSensitive(into, "seed"))
        cJSON_AddItemToObject(into, "seed", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(add, "seed"), 1));
    for (int c = 0; c < SAMPLE_NCOLS; c++) {
        const char *k = col_keys[c];
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(into, k);
        if (!arr && !(arr = cJSON_AddArrayToObject(into, k)))
            return -1;
        if (c == SAMPLE_ROUND) {
            for (size_t i = 0; i < v.n; i++)
                if (!cJSON_AddItemToArray(arr, cJSON_CreateNumber(r)))
                    return -1;
            continue;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(add, k)) {
            cJSON *d = cJSON_Duplicate(it, 0);
            if (!d || !cJSON_AddItemToArray(arr, d)) {
                cJSON_Delete(d);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- merging ------------------------------------------------------------------ */

/* k of in[0..n), each k-subset equally likely, into out in their order
 * (Knuth's selection sampling: the i-th is taken with probability
 * (k - taken) / (n - i)).  out may be in: it is written behind the read. */
static void select_k(struct req_sample *out, const struct req_sample *in, size_t n, size_t k,
                     double shift, uint64_t *rng)
{
    size_t t = 0;
    for (size_t i = 0; i < n && t < k; i++)
        if (rng_splitmix64(rng) % (n - i) < k - t) {
            out[t] = in[i];
            if (shift != 0 && out[t].start_s >= 0)
                out[t].start_s += (float)shift;
            t++;
        }
}

void req_samples_shift(struct req_samples *s, double d)
{
    for (size_t i = 0; s->v && i < s->n; i++)
        if (s->v[i].start_s >= 0)
            s->v[i].start_s += (float)d;
}

/* Why the result is a uniform sample of the union: dst keeps a uniform
 * ka-subset of its na requests, src a uniform kb-subset of its nb (both
 * algorithm R; ka = min(CAP, na)).  A uniform k-subset S of the union has
 * |S within dst's| hypergeometric (k draws without replacement from na +
 * nb, na of them dst's), and given that number j, S within dst's is a
 * uniform j-subset of dst's requests, independent of src's part.  A
 * uniform j-subset of a uniform ka-subset (j <= ka) is a uniform j-subset
 * of the whole, so j is drawn by drawing k times without replacement from
 * the two populations, then j are selected from dst's reservoir and k - j
 * from src's.  Weighting by the reservoirs' sizes instead (or keeping the
 * first CAP) would over-represent the part that saw fewer requests.  When
 * the union fits, k = na + nb and every request is kept. */
void req_samples_merge(struct req_samples *dst, const struct req_samples *src, double src_shift_s)
{
    dst->shed_429 += src->shed_429;
    dst->shed_503 += src->shed_503;
    if (!dst->v)
        return;
    uint64_t na = dst->seen, nb = src->v ? src->seen : 0;
    size_t ka = dst->n, kb = src->v ? src->n : 0;
    size_t k = ka + kb < SAMPLE_CAP ? ka + kb : SAMPLE_CAP;
    size_t ja = 0, jb = 0;
    for (size_t d = 0; d < k; d++) {
        uint64_t a = na - ja, b = nb - jb;
        int from_a = jb == kb || (ja < ka && rng_splitmix64(&dst->rng) % (a + b) < a);
        if (from_a)
            ja++;
        else
            jb++;
    }
    select_k(dst->v, dst->v, ka, ja, 0, &dst->rng);
    select_k(dst->v + ja, src->v, kb, jb, src_shift_s, &dst->rng);
    dst->n = ja + jb;
    dst->seen = na + nb;
}

/* Column key of j as floats: a null (none) is -1. */
static int read_col(const cJSON *j, const char *key, struct req_sample *v, size_t n, int which,
                    char *err, size_t errcap)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, key), *it;
    size_t i = 0;
    if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != n) {
        snprintf(err, errcap, "samples.%s: %s", key, arr ? "not an array of one value per request" : "missing");
        return -1;
    }
    cJSON_ArrayForEach(it, arr) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
        if (!cJSON_IsNumber(it) && !cJSON_IsNull(it)) {
            snprintf(err, errcap, "samples.%s: item %zu is not a number", key, i);
            return -1;
        }
        struct req_sample *x = &v[i++];
        switch (which) {
        case SAMPLE_E2E:    x->e2e_s = (float)d; break;
        case SAMPLE_TTFT:   x->ttft_s = (float)d; break;
        case SAMPLE_TPOT:   x->tpot_s = (float)d; break;
        case SAMPLE_START:  x->start_s = (float)d; break;
        case SAMPLE_TOKENS: x->out_tokens = d > 0 ? (d < UINT32_MAX ? (uint32_t)d : UINT32_MAX) : 0; break;
        case SAMPLE_OK:     x->ok = d > 0; break;
        }
    }
    return 0;
}

int req_samples_from_json(struct req_samples *s, const cJSON *j, char *err, size_t errcap)
{
    if (!j)
        return 0;
    const cJSON *e2e = cJSON_GetObjectItemCaseSensitive(j, col_keys[SAMPLE_E2E]);
    double seen = jdoc_num(j, "seen"), n = cJSON_IsArray(e2e) ? cJSON_GetArraySize(e2e) : -1;
    if (!cJSON_IsObject(j) || n < 0 || n > SAMPLE_CAP || !(seen >= n) || seen != floor(seen)) {
        snprintf(err, errcap, "samples: not a reservoir of at most %d requests (seen %g, kept %g)",
                 SAMPLE_CAP, seen, n);
        return -1;
    }
    if (!s->v) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    /* start_s came later than the others: a document without it has none. */
    for (size_t i = 0; i < (size_t)n; i++)
        s->v[i].start_s = -1;
    for (int c = 0; c < SAMPLE_ROUND; c++)
        if ((c != SAMPLE_START || cJSON_GetObjectItemCaseSensitive(j, col_keys[c])) &&
            read_col(j, col_keys[c], s->v, (size_t)n, c, err, errcap) < 0)
            return -1;
    s->n = (size_t)n;
    s->seen = (uint64_t)seen;
    s->shed_429 = (uint64_t)fmax(0, jdoc_num(j, "shed_429"));
    s->shed_503 = (uint64_t)fmax(0, jdoc_num(j, "shed_503"));
    return 0;
}
