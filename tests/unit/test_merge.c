/* Unit tests for merging runs (run_stats_merge, the result document's
 * "counters" and "histograms" read back by run_stats_from_json): the
 * shards of a run, merged through their documents, give the numbers of
 * one run that saw every request. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "report.h"
#include "result.h"
#include "rng.h"
#include "sample.h"

static uint32_t ev_us[6];

/* Request k of a synthetic run: timings, tokens and failures drawn from k
 * alone, so any split of the requests can be compared with the whole. */
static struct req_record rec(uint64_t k)
{
    struct req_record r;
    uint64_t x = rng_mix64(k + 1);
    memset(&r, 0, sizeof r);
    req_record_reset(&r);
    r.index = k;
    r.sched_ns = k * 1000;
    r.start_ns = r.sched_ns + x % 5000;
    r.first_ns = r.start_ns + 1000000 + (x >> 8) % 90000000;
    r.last_ns = r.first_ns + (x >> 20) % 50000000;
    r.end_ns = r.last_ns + 1000;
    r.status = 200;
    r.out_tokens = r.server_tokens = 10 + (int64_t)((x >> 30) % 100);
    r.local_tokens = r.out_tokens + (int64_t)((x >> 40) % 3);
    r.in_tokens = 20;
    r.events = 6;
    r.tok_src = TOK_SERVER;
    r.prompt_eval_duration_ns = 500000;
    r.prompt_chars = 40;
    r.max_tokens = 128;
    for (size_t i = 0; i < 6; i++)
        ev_us[i] = (uint32_t)(1000 + (x >> (i * 5)) % 20000);
    r.ev_us = ev_us;
    r.ev_n = 6;
    if (x % 17 == 0) {
        r.err = (x >> 5) % 2 ? ERR_STATUS : ERR_TIMEOUT_TTFT;
        snprintf(r.errmsg, sizeof r.errmsg, "HTTP 503: busy %llu", (unsigned long long)k);
    }
    return r;
}

/* s through the result document and back, as `llmload merge` reads it. */
static void round_trip(const struct run_stats *s, struct run_stats *out)
{
    struct run_config cfg;
    char err[256];
    config_defaults(&cfg);
    cJSON *doc = report_result_json(&cfg, s);
    assert_non_null(doc);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON *back = cJSON_Parse(text);
    assert_int_equal(run_stats_init(out), 0);
    int rc = run_stats_from_json(out, cJSON_GetObjectItem(back, "counters"),
                                 cJSON_GetObjectItem(back, "histograms"), err, sizeof err);
    if (rc == 0)
        rc = req_samples_from_json(&out->samples, cJSON_GetObjectItem(back, "samples"), err, sizeof err);
    if (rc < 0)
        fail_msg("%s", err);
    cJSON_free(text);
    cJSON_Delete(doc);
    cJSON_Delete(back);
}

static void assert_same_run(const struct run_stats *m, const struct run_stats *one)
{
    const char *name;
    assert_int_equal(m->requests, one->requests);
    assert_int_equal(m->ok, one->ok);
    assert_int_equal(m->failed, one->failed);
    assert_int_equal(m->output_tokens, one->output_tokens);
    assert_int_equal(m->input_tokens, one->input_tokens);
    assert_int_equal(m->events, one->events);
    assert_int_equal(m->tok_compared, one->tok_compared);
    assert_int_equal(m->tok_differ, one->tok_differ);
    assert_true(fabs(m->tok_diff_sum - one->tok_diff_sum) < 1e-9 * one->tok_diff_sum + 1e-12);
    for (int c = 0; c < ERR__COUNT; c++)
        assert_int_equal(m->errors[c], one->errors[c]);
    for (size_t i = 0; (name = run_stats_hist_name(i)); i++) {
        const struct hist *a = run_stats_hist(m, i), *b = run_stats_hist(one, i);
        assert_int_equal(hist_count(a), hist_count(b));
        assert_int_equal(hist_min(a), hist_min(b));
        assert_int_equal(hist_max(a), hist_max(b));
        for (double p = 1; p <= 100; p += 0.5)
            assert_int_equal(hist_percentile(a, p), hist_percentile(b, p));
    }
}

/* n requests dealt round-robin to k shards: each shard's stats through its
 * document, merged, equal one run of all n. */
static void check_split(uint64_t n, unsigned k)
{
    struct run_stats one, shard[4], merged;
    assert_true(k <= 4);
    assert_int_equal(run_stats_init(&one), 0);
    for (unsigned i = 0; i < k; i++)
        assert_int_equal(run_stats_init(&shard[i]), 0);
    for (uint64_t j = 0; j < n; j++) {
        struct req_record r = rec(j);
        run_stats_add(&one, &r);
        run_stats_add(&shard[j % k], &r);
    }
    for (unsigned i = 0; i < k; i++) {
        shard[i].start_ns = 1000 + i;
        shard[i].end_ns = 5000 + i * 1000;
    }
    round_trip(&shard[0], &merged);
    for (unsigned i = 1; i < k; i++) {
        struct run_stats back;
        round_trip(&shard[i], &back);
        assert_int_equal(run_stats_merge(&merged, &back), 0);
        run_stats_free(&back);
    }
    assert_same_run(&merged, &one);
    run_stats_free(&merged);
    run_stats_free(&one);
    for (unsigned i = 0; i < k; i++)
        run_stats_free(&shard[i]);
}

/* Few samples: the histograms keep every value and percentiles are exact. */
static void test_merge_exact_small(void **state)
{
    (void)state;
    check_split(1000, 2);
    check_split(999, 3);
}

/* Past HIST_EXACT_MAX the percentiles come from the buckets: the merged
 * buckets are the buckets of the union. */
static void test_merge_buckets_large(void **state)
{
    (void)state;
    check_split(20000, 4);
    check_split(5000, 2);   /* each shard exact, the union not */
}

/* The measured window of a merge is the union of the windows; extremes
 * keep the worst process; the first error sample stays. */
static void test_merge_window_and_extremes(void **state)
{
    (void)state;
    struct run_stats a, b;
    assert_int_equal(run_stats_init(&a), 0);
    assert_int_equal(run_stats_init(&b), 0);
    a.start_ns = 100; a.end_ns = 300; a.loop_busy_frac = 0.2; a.arrival_last_ns = 50;
    b.start_ns = 150; b.end_ns = 400; b.loop_busy_frac = 0.7; b.arrival_last_ns = 40;
    snprintf(b.err_sample[ERR_CONNECT], RESULT_ERR_SAMPLE, "refused");
    b.interrupted = 1;
    snprintf(b.stop_reason, sizeof b.stop_reason, "interrupted");
    assert_int_equal(run_stats_merge(&a, &b), 0);
    assert_int_equal(a.start_ns, 100);
    assert_int_equal(a.end_ns, 400);
    assert_true(a.loop_busy_frac == 0.7);
    assert_int_equal(a.arrival_last_ns, 50);
    assert_string_equal(a.err_sample[ERR_CONNECT], "refused");
    assert_true(a.interrupted);
    assert_string_equal(a.stop_reason, "interrupted");
    run_stats_free(&a);
    run_stats_free(&b);
}

/* A document without its counters, or with a broken histogram, is refused
 * with the key named. */
static void test_from_json_refuses(void **state)
{
    (void)state;
    struct run_stats s, out;
    struct run_config cfg;
    char err[256];
    config_defaults(&cfg);
    assert_int_equal(run_stats_init(&s), 0);
    cJSON *doc = report_result_json(&cfg, &s);
    assert_int_equal(run_stats_init(&out), 0);
    cJSON *h = cJSON_GetObjectItem(doc, "histograms");
    assert_int_equal(run_stats_from_json(&out, NULL, h, err, sizeof err), -1);
    assert_non_null(strstr(err, "counters"));
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(h, "itl_ns"), "format");
    assert_int_equal(run_stats_from_json(&out, cJSON_GetObjectItem(doc, "counters"), h,
                                         err, sizeof err), -1);
    assert_non_null(strstr(err, "histograms.itl_ns"));
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(doc, "counters"), "ok");
    assert_int_equal(run_stats_from_json(&out, cJSON_GetObjectItem(doc, "counters"), h,
                                         err, sizeof err), -1);
    assert_string_equal(err, "counters.ok: missing");
    cJSON_Delete(doc);
    run_stats_free(&s);
    run_stats_free(&out);
}

/* The e2e column of a reservoir as JSON writes it, sorted. */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t sorted_e2e(const struct req_samples *s, double *out)
{
    cJSON *j = req_samples_to_json(s);
    struct sample_view v;
    assert_non_null(j);
    assert_int_equal(sample_view_of(j, &v), 0);
    assert_int_equal(sample_view_column(&v, "e2e_s", out), (long)v.n);
    qsort(out, v.n, sizeof *out, cmp_dbl);
    cJSON_Delete(j);
    return v.n;
}

/* Shards whose requests all fit in one reservoir: the merge, through the
 * documents, keeps exactly the requests one run keeps, and the counts. */
static void test_merge_samples_exact(void **state)
{
    (void)state;
    struct run_stats one, part[2], merged, back;
    static double a[SAMPLE_CAP], b[SAMPLE_CAP];
    assert_int_equal(run_stats_init(&one), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(run_stats_init(&part[i]), 0);
    for (uint64_t k = 0; k < 1500; k++) {
        struct req_record r = rec(k);
        if (k % 7 == 0)
            r.status = 429;
        run_stats_add(&one, &r);
        run_stats_add(&part[k % 3 == 0], &r);
    }
    part[0].t0_wall_ns = 1000000000;
    part[1].t0_wall_ns = 3000000000;
    round_trip(&part[0], &merged);
    round_trip(&part[1], &back);
    assert_int_equal(merged.samples.n, part[0].samples.n);
    assert_int_equal(run_stats_merge(&merged, &back), 0);
    assert_int_equal(merged.samples.seen, one.samples.seen);
    assert_int_equal(merged.samples.n, 1500);
    assert_int_equal(merged.samples.shed_429, one.samples.shed_429);
    size_t n = sorted_e2e(&merged.samples, a);
    assert_int_equal(sorted_e2e(&one.samples, b), n);
    for (size_t i = 0; i < n; i++)
        assert_true(a[i] == b[i]);
    /* The second part began 2 s after the first: its start times moved. */
    double lo = INFINITY;
    for (size_t i = 0; i < merged.samples.n; i++)
        if (merged.samples.v[i].start_s >= 2)
            lo = fmin(lo, merged.samples.v[i].start_s);
    assert_true(lo >= 2 && lo < 2.1);
    run_stats_free(&one);
    run_stats_free(&merged);
    run_stats_free(&back);
    for (int i = 0; i < 2; i++)
        run_stats_free(&part[i]);
}

/* A part of m requests, e2e 1 ms (A) or 2 ms (B), sent 1 ms apart. */
static void fill_part(struct req_samples *s, uint64_t m, uint64_t e2e_ms)
{
    assert_int_equal(req_samples_init(s), 0);
    for (uint64_t k = 0; k < m; k++) {
        struct req_record r;
        memset(&r, 0, sizeof r);
        req_record_reset(&r);
        r.start_ns = k * 1000000;
        r.end_ns = r.start_ns + e2e_ms * 1000000;
        r.status = 200;
        req_samples_add(s, &r);
    }
}

/* Full reservoirs of parts that saw 10,000 and 2,000 requests: the merge
 * is a uniform sample of the 12,000, so five in six of it are A's (a
 * hypergeometric count, sd 15), spread evenly over A's requests, and B's
 * start times moved by the shift. */
static void test_merge_samples_reservoir(void **state)
{
    (void)state;
    struct req_samples a, b;
    fill_part(&a, 10000, 1);
    fill_part(&b, 2000, 2);
    assert_int_equal(a.n, SAMPLE_CAP);
    assert_int_equal(b.n, SAMPLE_CAP);
    req_samples_merge(&a, &b, 100.0);
    assert_int_equal(a.n, SAMPLE_CAP);
    assert_int_equal(a.seen, 12000);
    size_t from_a = 0;
    double sum_a = 0;
    for (size_t i = 0; i < a.n; i++) {
        const struct req_sample *x = &a.v[i];
        if (x->e2e_s < 0.0015f) {
            from_a++;
            sum_a += x->start_s;
            assert_true(x->start_s < 10);
        } else {
            assert_true(x->start_s >= 100 && x->start_s < 102);
        }
    }
    double expect = SAMPLE_CAP * 10000.0 / 12000.0;
    assert_true(fabs((double)from_a - expect) < 5 * 15.2);
    /* Uniform over A's 10 s: mean 5 s, sd of the mean 2.89 / sqrt(1667). */
    assert_true(fabs(sum_a / (double)from_a - 5.0) < 5 * 0.071);
    /* Merged again with nothing, nothing changes. */
    struct req_samples none;
    assert_int_equal(req_samples_init(&none), 0);
    req_samples_merge(&a, &none, 0);
    assert_int_equal(a.n, SAMPLE_CAP);
    assert_int_equal(a.seen, 12000);
    req_samples_free(&a);
    req_samples_free(&b);
    req_samples_free(&none);
}

/* A samples object that is not a reservoir is refused, naming it. */
static void test_samples_from_json_refuses(void **state)
{
    (void)state;
    struct req_samples s;
    char err[200];
    assert_int_equal(req_samples_init(&s), 0);
    cJSON *j = cJSON_Parse("{\"seen\":1,\"e2e_s\":[0.5,0.25],\"ttft_s\":[0.1,null],\"tpot_s\":[null,null],"
                           "\"output_tokens\":[3,0],\"ok\":[1,0]}");
    assert_int_equal(req_samples_from_json(&s, j, err, sizeof err), -1);
    assert_non_null(strstr(err, "seen 1, kept 2"));
    cJSON_ReplaceItemInObject(j, "seen", cJSON_CreateNumber(5));
    assert_int_equal(req_samples_from_json(&s, j, err, sizeof err), 0);
    assert_int_equal(s.n, 2);
    assert_true(s.v[1].ttft_s == -1.0f && s.v[1].start_s == -1.0f && !s.v[1].ok);
    cJSON_ReplaceItemInObject(j, "ok", cJSON_CreateString("x"));
    assert_int_equal(req_samples_from_json(&s, j, err, sizeof err), -1);
    assert_string_equal(err, "samples.ok: not an array of one value per request");
    cJSON_Delete(j);
    req_samples_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_exact_small),
        cmocka_unit_test(test_merge_buckets_large),
        cmocka_unit_test(test_merge_window_and_extremes),
        cmocka_unit_test(test_from_json_refuses),
        cmocka_unit_test(test_merge_samples_exact),
        cmocka_unit_test(test_merge_samples_reservoir),
        cmocka_unit_test(test_samples_from_json_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
