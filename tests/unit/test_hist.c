/* Unit tests for the log-linear histogram (src/hist.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

#define HOUR_NS 3600000000000ull

/* Deterministic generator (xorshift64*) so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static double rng_unit(void) { return (double)(rng_next() >> 11) / 9007199254740992.0; }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array: the definition hist follows. */
static uint64_t nearest_rank(const uint64_t *s, size_t n, double p)
{
    size_t r = (size_t)ceil(p / 100.0 * (double)n);
    if (r < 1)
        r = 1;
    if (r > n)
        r = n;
    return s[r - 1];
}

static void test_empty(void **state)
{
    (void)state;
    struct hist *h = hist_new(HOUR_NS);
    assert_non_null(h);
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    assert_int_equal(hist_percentile(h, 50), 0);
    assert_true(isnan(hist_mean(h)));
    assert_true(isnan(hist_stdev(h)));
    struct hist_stats st;
    hist_stats(h, 1e-9, &st);
    assert_int_equal(st.n, 0);
    assert_true(isnan(st.min) && isnan(st.mean) && isnan(st.p50) && isnan(st.p90));
    assert_true(isnan(st.p95) && isnan(st.p99) && isnan(st.max) && isnan(st.stdev));
    hist_free(h);
    hist_free(NULL);
}

static void test_bad_highest(void **state)
{
    (void)state;
    assert_null(hist_new(0));
    assert_null(hist_new(UINT64_MAX));
}

static void test_exact_small(void **state)
{
    (void)state;
    struct hist *h = hist_new(HOUR_NS);
    /* Values far apart in magnitude, where buckets alone would round. */
    static const uint64_t v[] = { 1000003, 7, 2500000001ull, 123456789, 999999937,
                                  15, 3000000019ull, 42424242, 5, 77777777 };
    size_t n = sizeof v / sizeof v[0];
    uint64_t sorted[10];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        hist_record(h, v[i]);
        sorted[i] = v[i];
        sum += (double)v[i];
    }
    qsort(sorted, n, sizeof sorted[0], cmp_u64);
    assert_int_equal(hist_count(h), n);
    assert_int_equal(hist_min(h), 5);
    assert_int_equal(hist_max(h), 3000000019ull);
    assert_true(hist_mean(h) == sum / (double)n);
    static const double ps[] = { 0, 1, 10, 25, 50, 50.1, 75, 90, 95, 99, 100 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        assert_int_equal(hist_percentile(h, ps[i]), nearest_rank(sorted, n, ps[i]));
    /* Known by hand: rank ceil(0.5 * 10) = 5 -> 5th smallest. */
    assert_int_equal(hist_percentile(h, 50), 42424242);
    assert_int_equal(hist_percentile(h, 90), 2500000001ull);

    /* Sample stdev of 1..5 = sqrt(2.5). */
    struct hist *g = hist_new(1000);
    for (uint64_t k = 1; k <= 5; k++)
        hist_record(g, k);
    assert_true(fabs(hist_stdev(g) - sqrt(2.5)) < 1e-12);
    struct hist_stats st;
    hist_stats(g, 2.0, &st);
    assert_int_equal(st.n, 5);
    assert_true(st.min == 2.0 && st.max == 10.0 && st.mean == 6.0);
    assert_true(st.p50 == 6.0 && st.p90 == 10.0 && st.p99 == 10.0);
    hist_record(g, 5);
    assert_int_equal(hist_percentile(g, 100), 5);
    hist_reset(g);
    assert_int_equal(hist_count(g), 0);
    hist_record(g, 9);
    assert_int_equal(hist_min(g), 9);
    assert_true(hist_stdev(g) == 0.0);
    hist_free(g);
    hist_free(h);
}

/* Exact mode ends past HIST_EXACT_MAX values, and min/max/mean stay exact. */
static void test_exact_boundary(void **state)
{
    (void)state;
    struct hist *h = hist_new(HOUR_NS);
    uint64_t big = 123456789;     /* lands mid-bucket: bucket midpoint differs */
    hist_record_n(h, big, HIST_EXACT_MAX);
    assert_int_equal(hist_percentile(h, 50), big);
    hist_record(h, 3);
    assert_int_equal(hist_count(h), HIST_EXACT_MAX + 1);
    assert_int_equal(hist_min(h), 3);
    assert_int_equal(hist_max(h), big);
    uint64_t p50 = hist_percentile(h, 50);
    assert_true(fabs((double)p50 - (double)big) / (double)big <= 1.0 / 2048);
    double mean = ((double)big * HIST_EXACT_MAX + 3) / (HIST_EXACT_MAX + 1);
    assert_true(fabs(hist_mean(h) - mean) / mean < 1e-12);
    assert_int_equal(hist_percentile(h, 0), 3);
    assert_int_equal(hist_percentile(h, 100), big);
    hist_free(h);
}

static void test_large_relative_error(void **state)
{
    (void)state;
    enum { N = 1000000 };
    uint64_t *vals = malloc(N * sizeof *vals);
    assert_non_null(vals);
    struct hist *h = hist_new(HOUR_NS);
    assert_non_null(h);
    /* Log-uniform between 1 us and 1 h, in ns. */
    double lo = log(1e3), hi = log((double)HOUR_NS);
    long double sum = 0;
    for (size_t i = 0; i < N; i++) {
        vals[i] = (uint64_t)llround(exp(lo + (hi - lo) * rng_unit()));
        sum += vals[i];
        hist_record(h, vals[i]);
    }
    qsort(vals, N, sizeof vals[0], cmp_u64);
    static const double ps[] = { 0, 0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double want = (double)nearest_rank(vals, N, ps[i]);
        double got = (double)hist_percentile(h, ps[i]);
        double rel = fabs(got - want) / want;
        if (rel > 0.001)
            fail_msg("p%g: got %.0f want %.0f (rel %.5f)", ps[i], got, want, rel);
    }
    assert_int_equal(hist_min(h), vals[0]);
    assert_int_equal(hist_max(h), vals[N - 1]);
    double mean = (double)(sum / N);
    assert_true(fabs(hist_mean(h) - mean) / mean < 1e-12);
    assert_int_equal(hist_saturated(h), 0);
    free(vals);
    hist_free(h);
}

static void assert_same(const struct hist *a, const struct hist *b)
{
    assert_int_equal(hist_count(a), hist_count(b));
    assert_int_equal(hist_min(a), hist_min(b));
    assert_int_equal(hist_max(a), hist_max(b));
    assert_int_equal(hist_saturated(a), hist_saturated(b));
    for (double p = 0; p <= 100; p += 0.5)
        assert_int_equal(hist_percentile(a, p), hist_percentile(b, p));
    if (hist_count(a)) {
        assert_true(fabs(hist_mean(a) - hist_mean(b)) <= 1e-12 * hist_mean(a));
        assert_true(fabs(hist_stdev(a) - hist_stdev(b)) <= 1e-9 * (hist_stdev(a) + 1));
    }
}

static void check_merge(size_t na, size_t nb)
{
    struct hist *a = hist_new(HOUR_NS), *b = hist_new(HOUR_NS), *both = hist_new(HOUR_NS);
    assert_true(a && b && both);
    for (size_t i = 0; i < na + nb; i++) {
        uint64_t v = rng_next() % 5000000000ull;
        hist_record(i < na ? a : b, v);
        hist_record(both, v);
    }
    assert_int_equal(hist_merge(a, b), 0);
    assert_same(a, both);
    hist_free(a);
    hist_free(b);
    hist_free(both);
}

static void test_merge(void **state)
{
    (void)state;
    check_merge(100, 200);          /* stays exact */
    check_merge(3000, 3000);        /* exact halves, bucketed sum */
    check_merge(50000, 20000);      /* bucketed both */
    check_merge(0, 10);
    check_merge(10, 0);
    struct hist *a = hist_new(HOUR_NS), *b = hist_new(1000000);
    assert_int_equal(hist_merge(a, b), -1);
    hist_free(a);
    hist_free(b);
}

static void test_clamp(void **state)
{
    (void)state;
    struct hist *h = hist_new(1000000);
    hist_record(h, 10);
    hist_record(h, 5000000);
    hist_record_n(h, UINT64_MAX, 2);
    assert_int_equal(hist_count(h), 4);
    assert_int_equal(hist_saturated(h), 3);
    assert_int_equal(hist_max(h), 1000000);
    assert_int_equal(hist_percentile(h, 100), 1000000);
    assert_int_equal(hist_percentile(h, 25), 10);
    hist_record_n(h, 7, 0);         /* n == 0 is a no-op */
    assert_int_equal(hist_count(h), 4);
    /* Zero is a value like any other. */
    hist_record(h, 0);
    assert_int_equal(hist_min(h), 0);
    hist_free(h);
}

static void round_trip(struct hist *h)
{
    cJSON *j = hist_to_json(h);
    assert_non_null(j);
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(text);
    cJSON *j2 = cJSON_Parse(text);
    assert_non_null(j2);
    struct hist *back = hist_from_json(j2);
    assert_non_null(back);
    assert_same(h, back);
    assert_int_equal(hist_highest(back), hist_highest(h));
    /* Merging the copy keeps the layout. */
    assert_int_equal(hist_merge(back, h), 0);
    assert_int_equal(hist_count(back), 2 * hist_count(h));
    hist_free(back);
    cJSON_Delete(j2);
    cJSON_Delete(j);
    free(text);
}

/* Prometheus-style cumulative buckets: exact with the raw values, and
 * within one bucket width of every threshold past them. */
static void test_cumulative(void **state)
{
    (void)state;
    const uint64_t le[] = { 10, 100, 1000, 1000000, 1000000000 };
    uint64_t out[5];
    struct hist *h = hist_new(HOUR_NS);
    assert_non_null(h);
    hist_cumulative(h, le, 5, out);
    for (int k = 0; k < 5; k++)
        assert_int_equal(out[k], 0);
    const uint64_t v[] = { 10, 11, 100, 999, 5000, 1000000, 2000000000ull };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        hist_record(h, v[i]);
    hist_cumulative(h, le, 5, out);
    const uint64_t want[] = { 1, 3, 4, 6, 6 };
    for (int k = 0; k < 5; k++)
        assert_int_equal(out[k], want[k]);

    /* Past the exact window: uniform values, each threshold within one
     * bucket (1/1024 of it) of the true count. */
    hist_reset(h);
    uint64_t truth[5] = { 0 };
    for (int i = 0; i < 20000; i++) {
        uint64_t x = rng_next() % 2000000000ull;
        hist_record(h, x);
        for (int k = 0; k < 5; k++)
            truth[k] += x <= le[k];
    }
    hist_cumulative(h, le, 5, out);
    for (int k = 0; k < 5; k++) {
        assert_true(out[k] >= truth[k]);
        /* values within le/1024 above the threshold: about 20000 * that
         * width / 2e9 of them, plus slack */
        assert_true(out[k] - truth[k] <= 2 + le[k] / 1024 * 20000 / 2000000000ull * 2);
    }
    hist_free(h);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    struct hist *h = hist_new(HOUR_NS);
    round_trip(h);                              /* empty */
    for (int i = 0; i < 100; i++)
        hist_record(h, rng_next() % HOUR_NS);
    round_trip(h);                              /* exact */
    for (int i = 0; i < 20000; i++)
        hist_record(h, rng_next() % (2 * HOUR_NS));
    round_trip(h);                              /* bucketed, saturated */
    hist_free(h);
}

static void test_json_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "[]",
        "{}",
        "{\"format\":\"other/1\"}",
        /* count does not match the buckets */
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":3,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":4,\"m2\":0,\"buckets\":[[1,1],[2,1]]}",
        /* bucket index out of range */
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":1,"
        "\"saturated\":0,\"min\":1,\"max\":1,\"sum\":1,\"m2\":0,\"buckets\":[[99999999,1]]}",
        /* negative count, fractional highest, wrong digits, min > max */
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":-1,"
        "\"saturated\":0,\"min\":1,\"max\":1,\"sum\":1,\"m2\":0,\"buckets\":[]}",
        "{\"format\":\"llmload.hist/1\",\"highest\":10.5,\"significant_digits\":3,\"count\":0,"
        "\"saturated\":0,\"min\":0,\"max\":0,\"sum\":0,\"m2\":0,\"buckets\":[]}",
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":2,\"count\":0,"
        "\"saturated\":0,\"min\":0,\"max\":0,\"sum\":0,\"m2\":0,\"buckets\":[]}",
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":5,\"max\":1,\"sum\":6,\"m2\":0,\"buckets\":[[1,1],[5,1]]}",
        /* exact list of the wrong length, bucket pair malformed, value above highest */
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":1,"
        "\"saturated\":0,\"min\":1,\"max\":1,\"sum\":1,\"m2\":0,\"buckets\":[[1,1]],\"exact\":[1,1]}",
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":1,"
        "\"saturated\":0,\"min\":1,\"max\":1,\"sum\":1,\"m2\":0,\"buckets\":[[1]]}",
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":1,"
        "\"saturated\":0,\"min\":1,\"max\":2000,\"sum\":1,\"m2\":0,\"buckets\":[[1,1]]}",
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":1,"
        "\"saturated\":0,\"min\":1,\"max\":1,\"sum\":\"1\",\"m2\":0,\"buckets\":[[1,1]]}",
        /* the compact buckets of /2: pairs as arrays, a repeated bucket (delta
         * 0), an index past the layout, a zero count, no count, a stray byte,
         * counts that do not add up */
        "{\"format\":\"llmload.hist/2\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":[[1,1],[2,1]]}",
        "{\"format\":\"llmload.hist/2\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":\"1:1 0:1\"}",
        "{\"format\":\"llmload.hist/2\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":\"1:1 99999999:1\"}",
        "{\"format\":\"llmload.hist/2\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":\"1:1 1:0 1:1\"}",
        "{\"format\":\"llmload.hist/2\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":\"1:1 1:\"}",
        "{\"format\":\"llmload.hist/2\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":\"1:1  1:1\"}",
        "{\"format\":\"llmload.hist/2\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":\"1:1 1:1 1:1\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        assert_non_null(j);
        struct hist *h = hist_from_json(j);
        if (h)
            fail_msg("accepted malformed #%zu: %s", i, bad[i]);
        cJSON_Delete(j);
    }
    assert_null(hist_from_json(NULL));
    /* The well-formed twin of the first bad object is accepted. */
    cJSON *ok = cJSON_Parse(
        "{\"format\":\"llmload.hist/1\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":[[1,1],[2,1]]}");
    struct hist *h = hist_from_json(ok);
    assert_non_null(h);
    assert_int_equal(hist_count(h), 2);
    assert_int_equal(hist_percentile(h, 100), 2);
    assert_true(hist_mean(h) == 1.5);
    hist_free(h);
    cJSON_Delete(ok);
    /* ...and its /2 form, buckets 1 and 2 as "1:1 1:1". */
    ok = cJSON_Parse(
        "{\"format\":\"llmload.hist/2\",\"highest\":1000,\"significant_digits\":3,\"count\":2,"
        "\"saturated\":0,\"min\":1,\"max\":2,\"sum\":3,\"m2\":0.5,\"buckets\":\"1:1 1:1\"}");
    h = hist_from_json(ok);
    assert_non_null(h);
    assert_int_equal(hist_count(h), 2);
    assert_int_equal(hist_percentile(h, 100), 2);
    hist_free(h);
    cJSON_Delete(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_bad_highest),
        cmocka_unit_test(test_exact_small),
        cmocka_unit_test(test_exact_boundary),
        cmocka_unit_test(test_large_relative_error),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_clamp),
        cmocka_unit_test(test_cumulative),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
