/* Unit tests for the verdict statistics (src/gate/stats.c): Mann-Whitney U
 * against values worked by hand (and by SciPy's mannwhitneyu, asymptotic
 * with the continuity correction), and the coverage of the bootstrap
 * intervals on synthetic data with a fixed seed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "rng.h"
#include "stats.h"
#include "verdict_rounds.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_mwu_known(void **state)
{
    (void)state;
    struct stats_mwu m;
    /* Fully separated: U = 0, z = -4.5 / sqrt(5.25). */
    double a[] = { 1, 2, 3 }, b[] = { 4, 5, 6 };
    assert_int_equal(stats_mwu(a, 3, b, 3, &m), 0);
    NEAR(m.u, 0);
    NEAR(m.z, -1.9639610121239315);
    NEAR(m.p_less, 0.04042779918502615);
    NEAR(m.p_greater, 0.9854518341293739);
    NEAR(m.p_two, 0.0808555983700523);
    /* The textbook pair (U = 17 of 20; SciPy: p = 0.1113 two-sided). */
    double c[] = { 19, 22, 16, 29, 24 }, d[] = { 20, 11, 17, 12 };
    assert_int_equal(stats_mwu(c, 5, d, 4, &m), 0);
    NEAR(m.u, 17);
    NEAR(m.z, 1.7146428199482247);
    NEAR(m.p_greater, 0.0556734432665702);
    NEAR(m.p_two, 0.1113468865331404);
    /* Ties: mid-ranks and the tie term of the variance. */
    double e[] = { 1, 2, 2, 3, 7 }, f[] = { 2, 3, 4, 5, 6, 8 };
    assert_int_equal(stats_mwu(e, 5, f, 6, &m), 0);
    NEAR(m.u, 7.5);
    NEAR(m.z, -1.3851370514006154);
    NEAR(m.p_less, 0.09804105751255662);
    /* Every value the same: no evidence. */
    double g[] = { 3, 3 }, h[] = { 3, 3, 3 };
    assert_int_equal(stats_mwu(g, 2, h, 3, &m), 0);
    NEAR(m.p_two, 1);
    assert_int_equal(stats_mwu(g, 0, h, 3, &m), -1);
    double nan[] = { NAN };
    assert_int_equal(stats_mwu(nan, 1, h, 3, &m), -1);
}

static void test_quantile(void **state)
{
    (void)state;
    double v[] = { 5, 1, 4, 2, 3 };
    assert_true(stats_quantile_inplace(v, 5, 0.5) == 3);
    assert_true(stats_quantile_inplace(v, 5, 0.95) == 5);
    assert_true(stats_quantile_inplace(v, 5, 0) == 1);
    assert_true(stats_quantile_inplace(v, 5, 0.2) == 1);
    assert_true(stats_quantile_inplace(v, 5, 0.21) == 2);
    assert_true(isnan(stats_quantile_inplace(v, 0, 0.5)));
    double same[] = { 2, 2, 2, 2 };
    assert_true(stats_quantile_inplace(same, 4, 0.9) == 2);
}

/* Exponential times (mean m) from a seeded generator. */
static void draw(double *v, size_t n, double m, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        v[i] = -m * log(((double)(rng_splitmix64(s) >> 11) + 0.5) / 9007199254740992.0);
}

/* Of 200 synthetic comparisons of two targets with the same true rate, the
 * 95% interval of the ratio holds 1 in about 95%: between 90% and 99%. */
static void test_ratio_coverage(void **state)
{
    (void)state;
    enum { N = 120, REPS = 200 };
    double na[N], da[N], nb[N], db[N];
    uint64_t s = 42;
    int covered = 0;
    for (int r = 0; r < REPS; r++) {
        for (size_t i = 0; i < N; i++)
            na[i] = nb[i] = 16;
        draw(da, N, 0.2, &s);
        draw(db, N, 0.2, &s);
        struct stats_group a = { na, da, N, NULL }, b = { nb, db, N, NULL };
        struct stats_ratio q;
        assert_int_equal(stats_boot_ratio(&a, &b, 1, (uint64_t)r, 500, &q), 0);
        assert_true(q.lo <= q.point && q.point <= q.hi);
        covered += q.lo <= 1 && 1 <= q.hi;
    }
    assert_in_range(covered, REPS * 90 / 100, REPS * 99 / 100);
}

/* A 10% faster target is told apart with 400 requests each, the same seed
 * gives the same interval, and the requests needed are finite. */
static void test_ratio_decides(void **state)
{
    (void)state;
    enum { N = 400 };
    static double na[N], da[N], nb[N], db[N];
    uint64_t s = 7;
    for (size_t i = 0; i < N; i++)
        na[i] = nb[i] = 32;
    draw(da, N, 0.1 / 1.1, &s);
    draw(db, N, 0.1, &s);
    struct stats_group a = { na, da, N, NULL }, b = { nb, db, N, NULL };
    struct stats_ratio q, q2;
    assert_int_equal(stats_boot_ratio(&a, &b, 1, STATS_BOOT_SEED, STATS_BOOT_N, &q), 0);
    assert_int_equal(stats_boot_ratio(&a, &b, 1, STATS_BOOT_SEED, STATS_BOOT_N, &q2), 0);
    assert_true(q.lo == q2.lo && q.hi == q2.hi);
    assert_true(q.point > 1);
    assert_true(q.se_log > 0 && q.se_log < 0.2);
    assert_true(isfinite(stats_requests_needed(q.point, q.se_log, N)));
    /* 2.8 standard errors over the effect, squared, times n. */
    NEAR(stats_requests_needed(exp(0.1), 0.05, 100), ceil(100 * pow(2.8 * 0.05 / 0.1, 2)));
    assert_true(isinf(stats_requests_needed(1, 0.05, 100)));
    /* A group that produced nothing has no rate. */
    double zero[N] = { 0 };
    struct stats_group z = { zero, db, N, NULL };
    assert_int_equal(stats_boot_ratio(&z, &b, 1, 1, 100, &q), -1);
}

/* The change of a quantile: the interval of the median of two samples of
 * the same exponential covers 0 in about 95% of 200 trials, and a
 * sample 2.5 times slower is past a 10% tolerance with a high probability
 * (a median of 150 exponential times is known to about 12%). */
static void test_quantile_change(void **state)
{
    (void)state;
    enum { N = 150, REPS = 200 };
    double c[N], b[N];
    uint64_t s = 99;
    int covered = 0;
    struct stats_change ch;
    for (int r = 0; r < REPS; r++) {
        draw(c, N, 1, &s);
        draw(b, N, 1, &s);
        assert_int_equal(stats_boot_quantile_change(c, N, b, N, 0.5, 1, 0.1, 1, (uint64_t)r, 400, &ch), 0);
        covered += ch.lo <= 0 && 0 <= ch.hi;
    }
    assert_in_range(covered, REPS * 90 / 100, REPS * 99 / 100);
    draw(b, N, 1, &s);
    for (size_t i = 0; i < N; i++)
        c[i] = b[i] * 2.5;
    assert_int_equal(stats_boot_quantile_change(c, N, b, N, 0.5, 1, 0.1, 1, 5, 1000, &ch), 0);
    NEAR(ch.point, 1.5);
    assert_true(ch.p_worse > 0.975 && ch.lo > 0.1);
    /* The same sample: no change, an interval around 0, and the chance of
     * a p95 beyond +10% is what 150 requests leave open, far from the
     * 97.5% the gate fails at. */
    assert_int_equal(stats_boot_quantile_change(b, N, b, N, 0.95, 1, 0.1, 1, 5, 1000, &ch), 0);
    NEAR(ch.point, 0);
    assert_true(ch.lo < 0 && ch.hi > 0 && ch.p_worse < 0.5);
}

/* Requests of one block share a slowdown (a burst of other work on the
 * machine): resampling blocks widens the interval that resampling the
 * requests one by one makes too narrow, and its coverage of the truth (the
 * same rate on both sides) returns to about 95%. */
static void test_blocks(void **state)
{
    (void)state;
    enum { N = 160, REPS = 200 };
    static double na[N], da[N], nb[N], db[N];
    static int blk[N];
    uint64_t s = 3;
    int cov_req = 0, cov_blk = 0;
    double w_req = 0, w_blk = 0;
    for (size_t i = 0; i < N; i++) {
        na[i] = nb[i] = 8;
        blk[i] = (int)(i * 8 / N);
    }
    for (int r = 0; r < REPS; r++) {
        double slow_a[8], slow_b[8];
        draw(slow_a, 8, 0.1, &s);
        draw(slow_b, 8, 0.1, &s);
        for (size_t i = 0; i < N; i++) {
            da[i] = 0.5 + slow_a[blk[i]] + 0.01 * (double)(rng_splitmix64(&s) % 100) / 100;
            db[i] = 0.5 + slow_b[blk[i]] + 0.01 * (double)(rng_splitmix64(&s) % 100) / 100;
        }
        struct stats_group a = { na, da, N, NULL }, b = { nb, db, N, NULL };
        struct stats_ratio q;
        assert_int_equal(stats_boot_ratio(&a, &b, 1, (uint64_t)r, 400, &q), 0);
        cov_req += q.lo <= 1 && 1 <= q.hi;
        w_req += log(q.hi / q.lo);
        a.block = b.block = blk;
        assert_int_equal(stats_boot_ratio(&a, &b, 1, (uint64_t)r, 400, &q), 0);
        cov_blk += q.lo <= 1 && 1 <= q.hi;
        w_blk += log(q.hi / q.lo);
    }
    assert_true(w_blk > 3 * w_req);
    assert_true(cov_req < REPS * 60 / 100);
    assert_in_range(cov_blk, REPS * 80 / 100, REPS);
    /* A quantile change of blocked samples: the same. */
    struct stats_change ch1, ch2;
    assert_int_equal(stats_boot_quantile_change_blocks(da, NULL, N, db, NULL, N, 0.5, 1, 0.1, 1, 1, 400,
                                                       &ch1), 0);
    assert_int_equal(stats_boot_quantile_change_blocks(da, blk, N, db, blk, N, 0.5, 1, 0.1, 1, 1, 400,
                                                       &ch2), 0);
    assert_true(ch1.point == ch2.point);
    assert_true(ch2.hi - ch2.lo > ch1.hi - ch1.lo);
}

/* Student's t over four values worked by hand: mean 2.5, standard error
 * sqrt(5/3) / 2, t(3) = 3.182. */
static void test_t_interval(void **state)
{
    (void)state;
    double x[] = { 1, 2, 3, 4 }, mean, lo, hi, se;
    assert_int_equal(stats_t_interval(x, 4, &mean, &lo, &hi, &se), 0);
    NEAR(mean, 2.5);
    NEAR(se, sqrt(5.0 / 3) / 2);
    NEAR(lo, 2.5 - 3.182 * sqrt(5.0 / 3) / 2);
    NEAR(hi, 2.5 + 3.182 * sqrt(5.0 / 3) / 2);
    assert_int_equal(stats_t_interval(x, 1, &mean, &lo, &hi, &se), -1);
    /* Past the table, never below the true quantile: t(31) = 2.040,
     * t(59) = 2.001, t(119) = 1.980, t(inf) = 1.960. */
    assert_true(stats_t975(11) == 2.201 && stats_t975(31) >= 2.040 && stats_t975(59) >= 2.001 &&
                stats_t975(119) >= 1.980 && stats_t975(200) >= 1.972);
}

/* The signed-rank interval against values worked out by enumerating the
 * 2^k sign patterns (Python, exact): the 12 rounds' log ratios of one
 * compare of two identical simulators in bench/verdict_trials.py, where a
 * burst of other work slowed the first target by 4% and 7% in rounds 1
 * and 2.  Student's t on them is pulled to a mean of -1.0% with an
 * interval of -2.5..+0.5%; the rank interval keeps the other ten rounds'
 * centre, -0.05%.  For 12 rounds d = 14: P(W <= 13) = 87 / 4096. */
static void test_signed_rank_known(void **state)
{
    (void)state;
    const double *lr = verdict_rounds_lr;
    double est, lo, hi, conf;
    assert_int_equal(stats_signed_rank_interval(lr, 12, &est, &lo, &hi, &conf), 0);
    NEAR(est, -0.00046358937934996955);
    NEAR(lo, -0.02348721345658801);
    NEAR(hi, 0.00019540369456286645);
    NEAR(conf, 1 - 2 * 87.0 / 4096);
    double mean, tlo, thi, se;
    assert_int_equal(stats_t_interval(lr, 12, &mean, &tlo, &thi, &se), 0);
    assert_true(fabs(mean - -0.0101033) < 1e-6 && tlo < lo && thi > 0.0048);
    /* Six rounds: only all six on one side decide (2 / 64 = 3.1%), and the
     * interval is from the smallest to the largest. */
    double six[] = { 1, 2, 3, 4, 5, 6 };
    assert_int_equal(stats_signed_rank_interval(six, 6, &est, &lo, &hi, &conf), 0);
    NEAR(est, 3.5);
    NEAR(lo, 1);
    NEAR(hi, 6);
    NEAR(conf, 1 - 2.0 / 64);
    six[0] = -1;
    assert_int_equal(stats_signed_rank_interval(six, 6, &est, &lo, &hi, &conf), 0);
    NEAR(lo, -1);
    /* Five rounds cannot reach 95% (2 / 32 = 6.25%), nor a NaN. */
    assert_int_equal(stats_signed_rank_interval(six, 5, &est, &lo, &hi, &conf), -1);
    six[2] = NAN;
    assert_int_equal(stats_signed_rank_interval(six, 6, &est, &lo, &hi, &conf), -1);
}

/* A standard normal from the seeded generator (Box-Muller). */
static double gauss(uint64_t *s)
{
    double u = ((double)(rng_splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(rng_splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* 12 rounds' log ratios as a loaded machine makes them for two identical
 * servers: a steady 0.2% noise, and in one round of ten a burst of other
 * work (exponential, mean 3%) slowing one side or the other.  Of 4000 such
 * comparisons the signed-rank interval excludes 0 in its exact 4.2%
 * (between 3.3% and 5%), Student's t, which the bursts widen, in fewer,
 * and both at once (compare's hull of the two) in fewer still, under 2.5%;
 * the rank interval is mostly the narrower.  With the servers 5% apart
 * each, and both at once, exclude 0 in at least 99.5%. */
static void test_signed_rank_coverage(void **state)
{
    (void)state;
    enum { K = 12, REPS = 4000 };
    uint64_t s = 12;
    int false_rank = 0, false_t = 0, power = 0, narrower = 0, tpow = 0, hpow = 0, both = 0;
    for (int r = 0; r < REPS; r++) {
        double x[K], y[K], est, lo, hi, conf, mean, tlo, thi, se;
        for (size_t i = 0; i < K; i++) {
            x[i] = 0.002 * gauss(&s);
            if (rng_splitmix64(&s) % 10 == 0) {
                double side = rng_splitmix64(&s) & 1 ? 1 : -1, burst;
                draw(&burst, 1, 0.03, &s);
                x[i] += side * burst;
            }
            y[i] = x[i] + log(1.05);
        }
        assert_int_equal(stats_signed_rank_interval(x, K, &est, &lo, &hi, &conf), 0);
        assert_int_equal(stats_t_interval(x, K, &mean, &tlo, &thi, &se), 0);
        false_rank += lo > 0 || hi < 0;
        false_t += tlo > 0 || thi < 0;
        both += (lo > 0 && tlo > 0) || (hi < 0 && thi < 0);
        narrower += hi - lo < thi - tlo;
        assert_int_equal(stats_signed_rank_interval(y, K, &est, &lo, &hi, &conf), 0);
        power += lo > 0;
        assert_int_equal(stats_t_interval(y, K, &mean, &tlo, &thi, &se), 0);
        tpow += tlo > 0;
        hpow += tlo > 0 && lo > 0;
    }
    /* Measured: rank 173 (4.3%), t 86 (2.2%), both 68 (1.7%); rank
     * narrower in 2577; 5% found by rank 3998, t 3993, both 3992. */
    assert_in_range(false_rank, REPS * 33 / 1000, REPS * 50 / 1000);
    assert_true(false_t <= REPS * 50 / 1000);
    assert_true(both <= false_t && both <= false_rank && both <= REPS * 25 / 1000);
    assert_true(narrower > REPS / 2);
    assert_true(power >= REPS * 995 / 1000 && tpow >= REPS * 995 / 1000 && hpow >= REPS * 995 / 1000);
}

/* Student's t CDF at the 97.5% points of the table stats_t975 holds
 * (printed to 3 decimals, hence the tolerance), at 0, symmetric, and the
 * normal law past 200 degrees of freedom. */
static void test_t_cdf(void **state)
{
    (void)state;
    for (size_t df = 1; df <= 30; df++) {
        assert_true(fabs(stats_t_cdf(stats_t975(df), df) - 0.975) < 2e-4);
        assert_true(fabs(stats_t_cdf(-stats_t975(df), df) - 0.025) < 2e-4);
        NEAR(stats_t_cdf(0, df), 0.5);
        NEAR(stats_t_cdf(1.3, df) + stats_t_cdf(-1.3, df), 1);
    }
    /* df 1 is Cauchy: 1/2 + atan(t)/pi. */
    NEAR(stats_t_cdf(1, 1), 0.75);
    /* df 2 in closed form: 1/2 + t / (2 sqrt(2 + t^2)). */
    NEAR(stats_t_cdf(1, 2), 0.5 + 1 / (2 * sqrt(3.0)));
    assert_true(fabs(stats_t_cdf(1.96, 1000) - 0.975) < 1e-4);
    assert_true(stats_t_cdf(INFINITY, 5) == 1 && stats_t_cdf(-INFINITY, 5) == 0);
    assert_true(isnan(stats_t_cdf(NAN, 5)) && isnan(stats_t_cdf(1, 0)));
    /* Far tails and every df: within [0, 1] (the series' rounding once
     * stepped outside, and a probability printed as -0.0%), and rising. */
    for (size_t df = 1; df <= 210; df++) {
        double prev = 0;
        for (double t = -300; t <= 300; t += 7.5) {
            double p = stats_t_cdf(t, df);
            assert_true(p >= 0 && p <= 1 && p >= prev - 1e-15);
            prev = p;
        }
    }
}

/* Welch's interval worked by hand: a = 1,2,3,4 (mean 2.5, var 5/3), b =
 * 2,4,6 (mean 4, var 4); se^2 = 5/12 + 4/3 = 7/4; df = (7/4)^2 /
 * ((5/12)^2/3 + (4/3)^2/2) = 3.32 -> 3.  Then its coverage over 5 vs 5
 * normal runs of unequal spread (the gate's --repeat 5): about 95%, a
 * little more from rounding df down. */
static void test_welch(void **state)
{
    (void)state;
    double a[] = { 1, 2, 3, 4 }, b[] = { 2, 4, 6 };
    struct stats_welch w;
    assert_int_equal(stats_welch(a, 4, b, 3, &w), 0);
    NEAR(w.diff, -1.5);
    NEAR(w.se, sqrt(7.0 / 4));
    assert_int_equal((int)w.df, 3);
    NEAR(w.lo, -1.5 - 3.182 * sqrt(7.0 / 4));
    NEAR(w.hi, -1.5 + 3.182 * sqrt(7.0 / 4));
    assert_int_equal(stats_welch(a, 1, b, 3, &w), -1);
    double z[] = { 2, 2, 2 }, bad[] = { 1, NAN };
    assert_int_equal(stats_welch(z, 3, z, 3, &w), 0);
    assert_true(w.se == 0 && w.lo == 0 && w.hi == 0);
    assert_int_equal(stats_welch(bad, 2, z, 3, &w), -1);
    /* Equal spreads, 5 vs 5: exactly 8 degrees of freedom, shifted or not
     * (floating point once gave 7.999... and so 7). */
    for (int k = 0; k < 200; k++) {
        double u[5], v[5];
        for (int i = 0; i < 5; i++) {
            u[i] = 0.001 * k + 0.1 * i;
            v[i] = 3.7 + 0.1 * i;
        }
        assert_int_equal(stats_welch(u, 5, v, 5, &w), 0);
        assert_int_equal((int)w.df, 8);
    }
    enum { REPS = 4000 };
    uint64_t s = 17;
    int miss = 0;
    for (int r = 0; r < REPS; r++) {
        double x[5], y[5];
        for (int i = 0; i < 5; i++) {
            x[i] = 0.02 * gauss(&s);
            y[i] = 0.06 * gauss(&s);
        }
        assert_int_equal(stats_welch(x, 5, y, 5, &w), 0);
        miss += w.lo > 0 || w.hi < 0;
    }
    assert_in_range(miss, REPS * 25 / 1000, REPS * 55 / 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mwu_known),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_ratio_coverage),
        cmocka_unit_test(test_ratio_decides),
        cmocka_unit_test(test_quantile_change),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_t_interval),
        cmocka_unit_test(test_t_cdf),
        cmocka_unit_test(test_welch),
        cmocka_unit_test(test_signed_rank_known),
        cmocka_unit_test(test_signed_rank_coverage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
