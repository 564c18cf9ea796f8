#ifndef LLMLOAD_STATS_H
#define LLMLOAD_STATS_H
/* The statistics of verdicts on per-request samples (docs/ci.md, "How the
 * gate decides"; docs/sweep.md, "The recommendation"): whether one set of
 * requests is faster than another, with a seeded bootstrap interval, and
 * the Mann-Whitney U test.  Pure functions: the same input and seed always
 * give the same answer. */
#include <stddef.h>
#include <stdint.h>

#define STATS_BOOT_N 2000                   /* resamples of a verdict */
#define STATS_BOOT_SEED 0x766572646963ULL   /* "verdic": recorded in the outputs */

/* Mann-Whitney U of a against b: u counts the pairs (a_i, b_j) with
 * a_i > b_j, a tie counting one half.  z is its normal approximation with
 * the tie and continuity corrections; p_greater the one-sided p-value of
 * "a tends to be larger than b", p_less of "smaller", p_two two-sided. */
struct stats_mwu { double u, z, p_greater, p_less, p_two; };
/* 0, or -1 when a sample is empty, holds a NaN, or on allocation failure. */
int stats_mwu(const double *a, size_t na, const double *b, size_t nb, struct stats_mwu *out);

/* The standard normal CDF. */
double stats_phi(double z);

/* The q-quantile (0..1, nearest rank) of v[0..n), reordering v.  NaN when n == 0. */
double stats_quantile_inplace(double *v, size_t n, double q);

/* One target at one level: per-request numerator and denominator (output
 * tokens and the request's time); its rate is sum(num) / sum(den).  block:
 * each request's time block (sample.h, SAMPLE_BLOCKS a round), or NULL.
 * With blocks the bootstrap resamples blocks, not requests: requests sent
 * close together share the machine's moment (a burst of other work slows
 * all of them), so they are not independent draws, and resampling them one
 * by one would give too narrow an interval. */
struct stats_group { const double *num, *den; size_t n; const int *block; };

/* A ratio with its bootstrap interval. */
struct stats_ratio {
    double point;       /* geometric mean over the levels of rate(a) / rate(b) */
    double lo, hi;      /* 95% percentile interval */
    double se_log;      /* standard deviation of log(ratio) over the resamples */
    double p_above;     /* share of resamples with a ratio above 1 */
    size_t resamples;
    uint64_t seed;
    size_t rounds;      /* > 1: the interval is over rounds (compare --rounds) */
    int ranks;          /* over rounds: the hull of t and the signed-rank interval */
};
/* The ratio of a's rate to b's over nlevels paired levels (a[l] against
 * b[l]), each group resampled with replacement on its own, level by level,
 * nboot times from seed.  0, or -1 when a group is empty, a rate is not
 * positive, or on allocation failure. */
int stats_boot_ratio(const struct stats_group *a, const struct stats_group *b, size_t nlevels,
                     uint64_t seed, size_t nboot, struct stats_ratio *out);

/* The change from base to cur: (cur - base) / |base| when relative, else
 * cur - base.  From a base of 0: 0 when cur is 0 too, else +/-inf. */
double stats_change(double cur, double base, int relative);

/* The change of a per-request statistic of cur against base: the
 * q-quantile (q in 0..1), with its bootstrap interval and the share of
 * resamples beyond the tolerance on the worse side. */
struct stats_change {
    double point, lo, hi;   /* (cur - base) / |base| when relative, else cur - base */
    double p_worse;         /* share of resamples beyond tol on the side dir says is worse */
};
/* dir: +1 a larger value is worse, -1 a smaller one, 0 either.  0, or -1
 * when a sample is empty or on allocation failure. */
int stats_boot_quantile_change(const double *cur, size_t nc, const double *base, size_t nb,
                               double q, int relative, double tol, int dir, uint64_t seed,
                               size_t nboot, struct stats_change *out);
/* The same, resampling the time blocks cblock[i] / bblock[i] of each
 * side's values (NULL: each value its own block). */
int stats_boot_quantile_change_blocks(const double *cur, const int *cblock, size_t nc,
                                      const double *base, const int *bblock, size_t nb,
                                      double q, int relative, double tol, int dir, uint64_t seed,
                                      size_t nboot, struct stats_change *out);

/* Student's t 95% interval of the mean of x[0..k) (k >= 2): *mean, *lo,
 * *hi and the standard error *se.  For a handful of paired rounds, whose
 * spread holds what drifts between runs (a shared machine), which
 * resampling the requests of one run cannot see.  0, or -1 when k < 2. */
int stats_t_interval(const double *x, size_t k, double *mean, double *lo, double *hi, double *se);
/* The two-sided 97.5% quantile of Student's t with df degrees of freedom
 * (exact to 3 decimals up to 30; above, the value at the low end of the
 * band 30, 40, 60, 120: never too small). */
double stats_t975(size_t df);

/* Student's t CDF with df degrees of freedom (df >= 1), exact for an
 * integer df by the finite series of Abramowitz & Stegun 26.7.3-4 (hand
 * written: no Debian C library the project uses has one; GSL would be a
 * dependency for one function); the normal CDF past df 200. */
double stats_t_cdf(double t, size_t df);

/* Welch's two-sample test of mean(a) - mean(b) (na, nb >= 2): the
 * difference, its standard error, Welch-Satterthwaite's degrees of freedom
 * (rounded down, so the interval errs wide) and the 95% interval.  For
 * runs as the unit (the gate with --repeat): what two runs of one build
 * differ by on a shared machine is in the spread of each side's runs.  A
 * zero spread on both sides gives se 0 and the point as the interval.  0,
 * or -1 when a side has fewer than 2 values or a value is not finite. */
struct stats_welch { double diff, se, lo, hi; size_t df; };
int stats_welch(const double *a, size_t na, const double *b, size_t nb, struct stats_welch *out);

/* The Hodges-Lehmann estimate of the centre of x[0..k) (the median of its
 * k(k+1)/2 Walsh averages (x_i + x_j) / 2, i <= j) with its 95% interval
 * from the exact distribution of Wilcoxon's signed-rank statistic: the
 * d-th smallest and d-th largest Walsh average, d the largest with
 * 2 P(W <= d - 1) <= 5%.  Its coverage holds for any distribution
 * symmetric about the centre, heavy tails included, where Student's t only
 * approaches it; *conf is the exact coverage (95.8% for k = 12: the
 * discreteness makes it at least 95%).  0, or -1 when k < 6 (no interval
 * reaches 95%: 2 / 2^k > 5%) or k > 1000, a value is not finite, or on
 * allocation failure. */
int stats_signed_rank_interval(const double *x, size_t k, double *est, double *lo, double *hi,
                               double *conf);

/* Requests per target that would make |log(point)| stand 2.8 standard
 * errors from 0 (a 95% test with 80% power), given se_log measured with n
 * requests per target.  +inf when the point is 1. */
double stats_requests_needed(double point, double se_log, double n);

#endif
