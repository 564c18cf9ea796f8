/* Arrival schedules: reproducibility, exactness, goodness of fit, ramp-up. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "schedule.h"
#include "rng.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_same_seed_same_schedule(void **state)
{
    (void)state;
    enum arrival kinds[] = { ARRIVAL_POISSON, ARRIVAL_CONSTANT, ARRIVAL_GAMMA };
    for (size_t k = 0; k < 3; k++) {
        struct schedule a, b, c;
        schedule_init(&a, kinds[k], 50, 0.5, 42, 2000000000ULL);
        schedule_init(&b, kinds[k], 50, 0.5, 42, 2000000000ULL);
        schedule_init(&c, kinds[k], 50, 0.5, 43, 2000000000ULL);
        int differ = 0;
        uint64_t prev = 0;
        for (int i = 0; i < 5000; i++) {
            uint64_t x = schedule_next(&a), y = schedule_next(&b), z = schedule_next(&c);
            assert_int_equal(x, y);
            assert_true(x >= prev);          /* non-decreasing */
            prev = x;
            differ |= (x != z);
        }
        /* A constant schedule does not depend on the seed; the others must. */
        assert_int_equal(differ, kinds[k] != ARRIVAL_CONSTANT);
    }
}

/* A known value pins the generator, so a change to the PRNG or the variate
 * code (which would silently change every published schedule) fails here. */
static void test_seed_is_pinned(void **state)
{
    (void)state;
    struct schedule a;
    schedule_init(&a, ARRIVAL_POISSON, 1, 1, 1, 0);
    assert_true(schedule_uniform(&a) == 0x1.67e55eda1f8e2p-1);
    struct schedule b;
    schedule_init(&b, ARRIVAL_POISSON, 1, 1, 1, 0);
    assert_int_equal(schedule_next(&b), 352509584ULL);
    assert_int_equal(schedule_next(&b), 1005596750ULL);
    assert_int_equal(schedule_next(&b), 1560538503ULL);
}

static void test_constant_exact(void **state)
{
    (void)state;
    struct schedule s;
    schedule_init(&s, ARRIVAL_CONSTANT, 10, 1, 7, 0);
    for (uint64_t k = 1; k <= 100000; k++)
        assert_int_equal(schedule_next(&s), k * 100000000ULL);   /* k / 10 s */
    schedule_init(&s, ARRIVAL_CONSTANT, 3, 1, 7, 0);
    for (uint64_t k = 1; k <= 3000; k++) {
        uint64_t want = (uint64_t)llround((double)k * 1e9 / 3.0);
        assert_int_equal(schedule_next(&s), want);
    }
}

static void test_closed_is_zero(void **state)
{
    (void)state;
    struct schedule s;
    schedule_init(&s, ARRIVAL_CLOSED, 10, 1, 7, 0);
    assert_int_equal(schedule_next(&s), 0);
    schedule_init(&s, ARRIVAL_POISSON, 0, 1, 7, 0);
    assert_int_equal(schedule_next(&s), 0);
    schedule_init(&s, ARRIVAL_POISSON, NAN, 1, 7, 0);
    assert_int_equal(schedule_next(&s), 0);
}

/* Kolmogorov-Smirnov: the gaps of a poisson schedule against the
 * exponential CDF.  Critical value at alpha = 0.01 for large n is
 * 1.628 / sqrt(n). */
static double ks_exponential(enum arrival a, double burstiness, uint64_t seed, double rate, int n)
{
    struct schedule s;
    schedule_init(&s, a, rate, burstiness, seed, 0);
    double *g = malloc(sizeof *g * (size_t)n);
    assert_non_null(g);
    uint64_t prev = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = schedule_next(&s);
        g[i] = (double)(t - prev) * 1e-9;
        prev = t;
    }
    qsort(g, (size_t)n, sizeof *g, cmp_double);
    double d = 0;
    for (int i = 0; i < n; i++) {
        double f = 1.0 - exp(-rate * g[i]);
        double lo = f - (double)i / n, hi = (double)(i + 1) / n - f;
        if (lo > d) d = lo;
        if (hi > d) d = hi;
    }
    free(g);
    return d;
}

static void test_poisson_ks(void **state)
{
    (void)state;
    int n = 20000;
    double crit = 1.628 / sqrt((double)n);
    /* Several fixed seeds and rates: the test is deterministic, and a
     * generator bug would fail most of them. */
    uint64_t seeds[] = { 1, 2, 12345, 0xdeadbeef };
    double rates[] = { 1, 100, 5000, 0.25 };
    for (int i = 0; i < 4; i++) {
        double d = ks_exponential(ARRIVAL_POISSON, 1, seeds[i], rates[i], n);
        assert_true(d < crit);
    }
    /* gamma with burstiness 1 is exponential too. */
    assert_true(ks_exponential(ARRIVAL_GAMMA, 1, 9, 40, n) < crit);
    /* The check has power: constant gaps and bursty gamma gaps fail it. */
    assert_true(ks_exponential(ARRIVAL_CONSTANT, 1, 1, 10, n) > crit);
    assert_true(ks_exponential(ARRIVAL_GAMMA, 0.3, 1, 10, n) > crit);
}

static void gap_moments(enum arrival a, double rate, double k, int n, double *mean, double *var)
{
    struct schedule s;
    schedule_init(&s, a, rate, k, 99, 0);
    double sum = 0, sum2 = 0;
    uint64_t prev = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = schedule_next(&s);
        double g = (double)(t - prev) * 1e-9;
        prev = t;
        sum += g;
        sum2 += g * g;
    }
    *mean = sum / n;
    *var = sum2 / n - *mean * *mean;
}

static void test_gamma_moments(void **state)
{
    (void)state;
    double shapes[] = { 0.25, 0.5, 1, 2, 8 };
    for (int i = 0; i < 5; i++) {
        double rate = 20, k = shapes[i], mean, var;
        gap_moments(ARRIVAL_GAMMA, rate, k, 200000, &mean, &var);
        double want_var = 1.0 / (rate * rate * k);
        assert_true(fabs(mean - 1 / rate) < 0.02 / rate);
        assert_true(fabs(var / want_var - 1) < 0.06);
    }
}

static void test_ramp_constant_counts(void **state)
{
    (void)state;
    /* rate 100/s, ramp 10 s: Lambda(5 s) = 100 * 25 / 20 = 125,
     * Lambda(10 s) = 500, Lambda(12 s) = 500 + 200 = 700. */
    struct schedule s;
    schedule_init(&s, ARRIVAL_CONSTANT, 100, 1, 1, 10000000000ULL);
    uint64_t t[701];
    for (int k = 1; k <= 700; k++)
        t[k] = schedule_next(&s);
    assert_true(llabs((long long)t[125] - 5000000000LL) <= 1);
    assert_true(llabs((long long)t[500] - 10000000000LL) <= 1);
    assert_true(llabs((long long)t[700] - 12000000000LL) <= 1);
    /* After the ramp the gaps are exactly 1/rate. */
    for (int k = 501; k <= 700; k++)
        assert_true(llabs((long long)(t[k] - t[k - 1]) - 10000000LL) <= 1);
    /* During the ramp the gaps shrink. */
    assert_true(t[2] - t[1] > t[100] - t[99]);
    /* Count in the first second: Lambda(1 s) = 5. */
    int n1 = 0;
    for (int k = 1; k <= 700; k++)
        n1 += t[k] <= 1000000000ULL;
    assert_int_equal(n1, 5);
}

static void test_ramp_poisson_counts(void **state)
{
    (void)state;
    /* Poisson during a ramp: counts in expectation.  Over 20 seeds, the
     * arrivals by 10 s average 500 (sd of the mean sqrt(500/20) = 5). */
    double total = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct schedule s;
        schedule_init(&s, ARRIVAL_POISSON, 100, 1, seed, 10000000000ULL);
        int n = 0;
        while (schedule_next(&s) <= 10000000000ULL)
            n++;
        total += n;
    }
    assert_true(fabs(total / 20 - 500) < 20);
}

static void test_ramp_fraction(void **state)
{
    (void)state;
    assert_true(schedule_ramp_fraction(0, 5) == 1.0);
    assert_true(schedule_ramp_fraction(1000, 250) == 0.25);
    assert_true(schedule_ramp_fraction(1000, 1000) == 1.0);
    assert_true(schedule_ramp_fraction(1000, 5000) == 1.0);
}

/* util/rng.h is splitmix64 to the bit: the reference outputs from state 0
 * (Vigna's splitmix64.c), which every seeded sequence depends on. */
static void test_splitmix64_reference(void **state)
{
    (void)state;
    uint64_t s = 0;
    assert_true(rng_splitmix64(&s) == 0xe220a8397b1dcdafULL);
    assert_true(rng_splitmix64(&s) == 0x6e789e6aa1b965f4ULL);
    assert_true(rng_splitmix64(&s) == 0x06c45d188009454fULL);
    assert_true(s == 3 * RNG_GOLDEN);
}

static void test_arrival_names(void **state)
{
    (void)state;
    enum arrival a;
    assert_int_equal(schedule_arrival_parse("gamma", &a), 0);
    assert_int_equal(a, ARRIVAL_GAMMA);
    assert_int_equal(schedule_arrival_parse("poisson", &a), 0);
    assert_int_equal(a, ARRIVAL_POISSON);
    assert_int_equal(schedule_arrival_parse("Poisson", &a), -1);
    assert_int_equal(schedule_arrival_parse("", &a), -1);
    assert_string_equal(schedule_arrival_name(ARRIVAL_CONSTANT), "constant");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_schedule),
        cmocka_unit_test(test_seed_is_pinned),
        cmocka_unit_test(test_constant_exact),
        cmocka_unit_test(test_closed_is_zero),
        cmocka_unit_test(test_poisson_ks),
        cmocka_unit_test(test_gamma_moments),
        cmocka_unit_test(test_ramp_constant_counts),
        cmocka_unit_test(test_ramp_poisson_counts),
        cmocka_unit_test(test_ramp_fraction),
        cmocka_unit_test(test_splitmix64_reference),
        cmocka_unit_test(test_arrival_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
