/* Verdict statistics (stats.h): Mann-Whitney U, bootstrap ratios and
 * quantile changes on per-request samples. */
#include "stats.h"
#include "rng.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

double stats_phi(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

struct ranked { double v; int a; };

static int cmp_ranked(const void *x, const void *y)
{
    double a = ((const struct ranked *)x)->v, b = ((const struct ranked *)y)->v;
    return (a > b) - (a < b);
}

int stats_mwu(const double *a, size_t na, const double *b, size_t nb, struct stats_mwu *out)
{
    if (!na || !nb)
        return -1;
    size_t n = na + nb;
    struct ranked *r = malloc(n * sizeof *r);
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++) {
        r[i].v = i < na ? a[i] : b[i - na];
        r[i].a = i < na;
        if (isnan(r[i].v)) {
            free(r);
            return -1;
        }
    }
    qsort(r, n, sizeof *r, cmp_ranked);
    /* Mid-ranks for ties, and the tie term of the variance. */
    double ra = 0, ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && r[j].v == r[i].v)
            j++;
        double t = (double)(j - i), mid = ((double)i + 1 + (double)j) / 2;
        for (size_t k = i; k < j; k++)
            if (r[k].a)
                ra += mid;
        ties += t * t * t - t;
        i = j;
    }
    free(r);
    double fa = (double)na, fb = (double)nb, fn = (double)n;
    out->u = ra - fa * (fa + 1) / 2;
    double mean = fa * fb / 2;
    double var = fa * fb / 12 * ((fn + 1) - (n > 1 ? ties / (fn * (fn - 1)) : 0));
    if (var <= 0) {
        /* Every value the same: no evidence either way. */
        out->z = 0;
        out->p_greater = out->p_less = out->p_two = 1;
        return 0;
    }
    double sd = sqrt(var), d = out->u - mean;
    out->z = d / sd;
    out->p_greater = 1 - stats_phi((d - 0.5) / sd);
    out->p_less = stats_phi((d + 0.5) / sd);
    double two = 2 * (1 - stats_phi((fabs(d) - 0.5) / sd));
    out->p_two = two > 1 ? 1 : two;
    return 0;
}

/* Hoare's selection: v[k] is where a sort would put it.  A quantile per
 * resample is a selection, not a sort. */
static double select_k(double *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

double stats_quantile_inplace(double *v, size_t n, double q)
{
    if (!n)
        return NAN;
    double r = ceil(q * (double)n);
    size_t k = r < 1 ? 0 : (size_t)r - 1;
    if (k >= n)
        k = n - 1;
    return select_k(v, n, k);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 2.5th and 97.5th percentiles of boot[0..nb), sorting it. */
static void interval95(double *boot, size_t nb, double *lo, double *hi)
{
    qsort(boot, nb, sizeof *boot, cmp_double);
    *lo = boot[(size_t)floor(0.025 * (double)(nb - 1))];
    *hi = boot[(size_t)ceil(0.975 * (double)(nb - 1))];
}

/* The values of a sample grouped by block: order[] lists the indices
 * block by block, start[k] and len[k] the k-th non-empty block's part. */
struct blocks { size_t m, maxlen, *order, *start, *len; };

static void blocks_free(struct blocks *b)
{
    free(b->order);
    free(b->start);
    free(b->len);
    memset(b, 0, sizeof *b);
}

static int cmp_blk(const void *x, const void *y, void *ctx);

/* Groups v's n indices by blk (NULL: one block a value).  0, or -1 on
 * allocation failure. */
static int blocks_make(const int *blk, size_t n, struct blocks *b)
{
    memset(b, 0, sizeof *b);
    b->order = malloc((n ? n : 1) * sizeof *b->order);
    b->start = malloc((n ? n : 1) * sizeof *b->start);
    b->len = malloc((n ? n : 1) * sizeof *b->len);
    if (!b->order || !b->start || !b->len) {
        blocks_free(b);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        b->order[i] = i;
    if (blk)
        qsort_r(b->order, n, sizeof *b->order, cmp_blk, (void *)blk);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (blk && j < n && blk[b->order[j]] == blk[b->order[i]])
            j++;
        b->start[b->m] = i;
        b->len[b->m++] = j - i;
        if (j - i > b->maxlen)
            b->maxlen = j - i;
        i = j;
    }
    return 0;
}

static int cmp_blk(const void *x, const void *y, void *ctx)
{
    const int *blk = ctx;
    size_t a = *(const size_t *)x, c = *(const size_t *)y;
    return blk[a] != blk[c] ? (blk[a] > blk[c]) - (blk[a] < blk[c]) : (a > c) - (a < c);
}

/* A group's sums per block, for resampling blocks cheaply. */
struct block_sums { size_t m; double *num, *den; };

static int block_sums_make(const struct stats_group *g, struct block_sums *bs)
{
    struct blocks b;
    memset(bs, 0, sizeof *bs);
    if (blocks_make(g->block, g->n, &b) < 0)
        return -1;
    bs->num = calloc(b.m ? b.m : 1, sizeof *bs->num);
    bs->den = calloc(b.m ? b.m : 1, sizeof *bs->den);
    if (!bs->num || !bs->den) {
        free(bs->num);
        free(bs->den);
        blocks_free(&b);
        return -1;
    }
    bs->m = b.m;
    for (size_t k = 0; k < b.m; k++)
        for (size_t i = b.start[k]; i < b.start[k] + b.len[k]; i++) {
            bs->num[k] += g->num[b.order[i]];
            bs->den[k] += g->den[b.order[i]];
        }
    blocks_free(&b);
    return 0;
}

/* The rate of a resample of bs's blocks (s NULL: of them all). */
static double group_rate(const struct block_sums *bs, uint64_t *s)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < bs->m; i++) {
        size_t k = s ? (size_t)(rng_splitmix64(s) % bs->m) : i;
        num += bs->num[k];
        den += bs->den[k];
    }
    return den > 0 ? num / den : NAN;
}

int stats_boot_ratio(const struct stats_group *a, const struct stats_group *b, size_t nlevels,
                     uint64_t seed, size_t nboot, struct stats_ratio *out)
{
    if (!nlevels || nboot < 2)
        return -1;
    int rc = -1;
    double *boot = malloc(nboot * sizeof *boot);
    struct block_sums *sa = calloc(nlevels, sizeof *sa), *sb = calloc(nlevels, sizeof *sb);
    double logsum = 0;
    if (!boot || !sa || !sb)
        goto out;
    for (size_t l = 0; l < nlevels; l++) {
        if (!a[l].n || !b[l].n || block_sums_make(&a[l], &sa[l]) < 0 ||
            block_sums_make(&b[l], &sb[l]) < 0)
            goto out;
        double ra = group_rate(&sa[l], NULL), rb = group_rate(&sb[l], NULL);
        if (!(ra > 0) || !(rb > 0))
            goto out;
        logsum += log(ra / rb);
    }
    uint64_t s = seed;
    double m = 0, m2 = 0;
    size_t above = 0, nb = 0;
    for (size_t i = 0; i < nboot; i++) {
        double ls = 0;
        for (size_t l = 0; l < nlevels; l++) {
            double ra = group_rate(&sa[l], &s), rb = group_rate(&sb[l], &s);
            /* A resample of only failed requests has no rate: the side
             * that produced nothing loses this resample outright. */
            ls += log(fmax(ra, 1e-300) / fmax(rb, 1e-300));
        }
        ls /= (double)nlevels;
        if (!isfinite(ls))
            continue;
        boot[nb++] = ls;
        above += ls > 0;
        double d = ls - m;
        m += d / (double)nb;
        m2 += d * (ls - m);
    }
    if (nb < 2)
        goto out;
    interval95(boot, nb, &out->lo, &out->hi);
    out->point = exp(logsum / (double)nlevels);
    out->lo = exp(out->lo);
    out->hi = exp(out->hi);
    out->se_log = sqrt(m2 / (double)(nb - 1));
    out->p_above = (double)above / (double)nb;
    out->resamples = nb;
    out->seed = seed;
    out->rounds = 1;
    out->ranks = 0;
    rc = 0;
out:
    for (size_t l = 0; sa && sb && l < nlevels; l++) {
        free(sa[l].num);
        free(sa[l].den);
        free(sb[l].num);
        free(sb[l].den);
    }
    free(sa);
    free(sb);
    free(boot);
    return rc;
}

double stats_change(double c, double b, int relative)
{
    if (!relative)
        return c - b;
    if (b == 0)
        return c == 0 ? 0 : c > 0 ? INFINITY : -INFINITY;
    return (c - b) / fabs(b);
}

/* The q-quantile of a resample of v's blocks, drawn into tmp. */
static double resample_quantile(const double *v, const struct blocks *b, double q, double *tmp,
                                uint64_t *s)
{
    size_t n = 0;
    for (size_t k = 0; k < b->m; k++) {
        size_t pick = (size_t)(rng_splitmix64(s) % b->m);
        for (size_t i = b->start[pick]; i < b->start[pick] + b->len[pick]; i++)
            tmp[n++] = v[b->order[i]];
    }
    return stats_quantile_inplace(tmp, n, q);
}

int stats_boot_quantile_change(const double *cur, size_t nc, const double *base, size_t nb,
                               double q, int relative, double tol, int dir, uint64_t seed,
                               size_t nboot, struct stats_change *out)
{
    return stats_boot_quantile_change_blocks(cur, NULL, nc, base, NULL, nb, q, relative, tol, dir,
                                             seed, nboot, out);
}

int stats_boot_quantile_change_blocks(const double *cur, const int *cblock, size_t nc,
                                      const double *base, const int *bblock, size_t nb,
                                      double q, int relative, double tol, int dir, uint64_t seed,
                                      size_t nboot, struct stats_change *out)
{
    if (!nc || !nb || nboot < 2)
        return -1;
    struct blocks bc, bb;
    if (blocks_make(cblock, nc, &bc) < 0)
        return -1;
    if (blocks_make(bblock, nb, &bb) < 0) {
        blocks_free(&bc);
        return -1;
    }
    /* A resample holds at most m blocks of the longest one. */
    size_t cap = bc.m * bc.maxlen > bb.m * bb.maxlen ? bc.m * bc.maxlen : bb.m * bb.maxlen;
    double *tmp = malloc((cap > nc ? cap : nc > nb ? nc : nb) * sizeof *tmp);
    double *boot = malloc(nboot * sizeof *boot);
    int rc = -1;
    if (!tmp || !boot)
        goto out;
    memcpy(tmp, cur, nc * sizeof *tmp);
    double c = stats_quantile_inplace(tmp, nc, q);
    memcpy(tmp, base, nb * sizeof *tmp);
    double b = stats_quantile_inplace(tmp, nb, q);
    out->point = stats_change(c, b, relative);
    uint64_t s = seed;
    size_t worse = 0;
    for (size_t i = 0; i < nboot; i++) {
        double x = stats_change(resample_quantile(cur, &bc, q, tmp, &s),
                                resample_quantile(base, &bb, q, tmp, &s), relative);
        boot[i] = x;
        worse += dir > 0 ? x > tol : dir < 0 ? x < -tol : fabs(x) > tol;
    }
    interval95(boot, nboot, &out->lo, &out->hi);
    out->p_worse = (double)worse / (double)nboot;
    rc = 0;
out:
    blocks_free(&bc);
    blocks_free(&bb);
    free(tmp);
    free(boot);
    return rc;
}

double stats_t975(size_t df)
{
    static const double t[] = { NAN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110,
                                2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
                                2.052, 2.048, 2.045, 2.042 };
    if (df < sizeof t / sizeof t[0])
        return t[df];
    /* Between the table's rows, the value at the band's low end: never
     * narrower than the true quantile. */
    return df < 40 ? 2.042 : df < 60 ? 2.021 : df < 120 ? 2.000 : 1.980;
}

/* Mean and variance (n - 1) of x[0..n), Welford's way. */
static void mean_var(const double *x, size_t n, double *mean, double *var)
{
    double m = 0, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m;
        m += d / (double)(i + 1);
        m2 += d * (x[i] - m);
    }
    *mean = m;
    *var = n > 1 ? m2 / (double)(n - 1) : 0;
}

int stats_t_interval(const double *x, size_t k, double *mean, double *lo, double *hi, double *se)
{
    if (k < 2)
        return -1;
    double var;
    mean_var(x, k, mean, &var);
    *se = sqrt(var / (double)k);
    double h = stats_t975(k - 1) * *se;
    *lo = *mean - h;
    *hi = *mean + h;
    return 0;
}

double stats_t_cdf(double t, size_t df)
{
    if (isnan(t) || df == 0)
        return NAN;
    if (df > 200)
        return stats_phi(t);
    if (isinf(t))
        return t > 0 ? 1 : 0;
    /* A(t|df) = P(|T| <= t), odd in t through theta; the CDF is (1 + A) / 2. */
    double th = atan(t / sqrt((double)df)), s = sin(th), c2 = cos(th) * cos(th), a;
    if (df % 2) {
        double term = cos(th), sum = df > 1 ? term : 0;
        for (size_t k = 3; k + 2 <= df; k += 2) {
            term *= c2 * (double)(k - 1) / (double)k;
            sum += term;
        }
        a = 2 / 3.14159265358979323846 * (th + s * sum);
    } else {
        double term = 1, sum = 1;
        for (size_t k = 2; k + 2 <= df; k += 2) {
            term *= c2 * (double)(k - 1) / (double)k;
            sum += term;
        }
        a = s * sum;
    }
    /* The series' rounding can step a hair outside [0, 1] far in a tail. */
    return fmin(1, fmax(0, 0.5 + 0.5 * a));
}

int stats_welch(const double *a, size_t na, const double *b, size_t nb, struct stats_welch *out)
{
    if (na < 2 || nb < 2)
        return -1;
    for (size_t i = 0; i < na; i++)
        if (!isfinite(a[i]))
            return -1;
    for (size_t i = 0; i < nb; i++)
        if (!isfinite(b[i]))
            return -1;
    double ma, va, mb, vb;
    mean_var(a, na, &ma, &va);
    mean_var(b, nb, &mb, &vb);
    double ua = va / (double)na, ub = vb / (double)nb, se2 = ua + ub;
    out->diff = ma - mb;
    out->se = sqrt(se2);
    if (se2 <= 0) {
        out->df = na + nb - 2;
        out->lo = out->hi = out->diff;
        return 0;
    }
    /* As shares of se2, so no square can overflow or underflow; the 1e-9
     * keeps an exact integer (8 for 5 vs 5 runs of equal spread) from
     * rounding down to the one below. */
    double ra = ua / se2, rb = ub / se2;
    double df = 1 / (ra * ra / (double)(na - 1) + rb * rb / (double)(nb - 1));
    out->df = !(df >= 1) ? 1 : df > 1e6 ? 1000000 : (size_t)(df + 1e-9);
    double h = stats_t975(out->df) * out->se;
    out->lo = out->diff - h;
    out->hi = out->diff + h;
    return 0;
}

int stats_signed_rank_interval(const double *x, size_t k, double *est, double *lo, double *hi,
                               double *conf)
{
    if (k < 6 || k > 1000)
        return -1;
    for (size_t i = 0; i < k; i++)
        if (!isfinite(x[i]))
            return -1;
    size_t m = k * (k + 1) / 2;
    double *w = malloc(m * sizeof *w), *cnt = calloc(m + 1, sizeof *cnt);
    int rc = -1;
    if (!w || !cnt)
        goto out;
    /* The null distribution of W+ (the sum of the ranks of the positive
     * values): cnt[s] subsets of the ranks 1..k add up to s, out of 2^k
     * (exact in a double up to k = 52, the rounds compare runs; above, to
     * its precision, and 2^1000 is still finite). */
    cnt[0] = 1;
    for (size_t r = 1; r <= k; r++)
        for (size_t s = m; s >= r; s--)
            cnt[s] += cnt[s - r];
    double total = ldexp(1.0, (int)k), tail = 0;
    size_t d = 0;
    while (d < m && 2 * (tail + cnt[d]) / total <= 0.05)
        tail += cnt[d++];
    if (d == 0)
        goto out;
    size_t n = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = i; j < k; j++)
            w[n++] = (x[i] + x[j]) / 2;
    qsort(w, m, sizeof *w, cmp_double);
    *est = m % 2 ? w[m / 2] : (w[m / 2 - 1] + w[m / 2]) / 2;
    *lo = w[d - 1];
    *hi = w[m - d];
    *conf = 1 - 2 * tail / total;
    rc = 0;
out:
    free(w);
    free(cnt);
    return rc;
}

double stats_requests_needed(double point, double se_log, double n)
{
    double d = fabs(log(point));
    if (!(d > 0) || !(se_log > 0) || !(n > 0))
        return INFINITY;
    /* The standard error shrinks as 1/sqrt(n). */
    double k = (1.96 + 0.84) * se_log / d;
    return ceil(n * k * k);
}
