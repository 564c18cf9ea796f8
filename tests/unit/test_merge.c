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
#include <string.h>

#include "config.h"
#include "report.h"
#include "result.h"
#include "rng.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_exact_small),
        cmocka_unit_test(test_merge_buckets_large),
        cmocka_unit_test(test_merge_window_and_extremes),
        cmocka_unit_test(test_from_json_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
