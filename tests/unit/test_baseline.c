/* Unit tests for baselines and the statistics of repeated runs
 * (src/baseline.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "gate_docs.h"

static void test_median(void **state)
{
    (void)state;
    double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 }, one[] = { 7 };
    assert_true(baseline_median(odd, 3) == 3);
    assert_true(odd[0] == 5);                    /* input untouched */
    assert_true(baseline_median(even, 4) == 2.5);
    assert_true(baseline_median(one, 1) == 7);
    assert_true(isnan(baseline_median(one, 0)));
}

static void test_bootstrap_ci(void **state)
{
    (void)state;
    double v[10] = { 3, 9, 1, 7, 5, 10, 2, 8, 4, 6 };
    double lo, hi, lo2, hi2;
    assert_int_equal(baseline_boot_median_ci(v, 10, BASELINE_BOOT_SEED, &lo, &hi), 0);
    /* Reproducible: the same seed gives the same interval, bit for bit. */
    assert_int_equal(baseline_boot_median_ci(v, 10, BASELINE_BOOT_SEED, &lo2, &hi2), 0);
    assert_true(lo == lo2 && hi == hi2);
    /* It contains the median (5.5) and is well inside the range [1, 10]. */
    assert_true(lo <= 5.5 && 5.5 <= hi);
    assert_true(lo >= 2 && hi <= 9);
    assert_true(hi - lo >= 1);
    /* One run: no spread to resample. */
    assert_int_equal(baseline_boot_median_ci(v, 1, 1, &lo, &hi), 0);
    assert_true(lo == 3 && hi == 3);
    double same[5] = { 2, 2, 2, 2, 2 };
    assert_int_equal(baseline_boot_median_ci(same, 5, 42, &lo, &hi), 0);
    assert_true(lo == 2 && hi == 2);
    assert_int_equal(baseline_boot_median_ci(v, 0, 1, &lo, &hi), -1);
    /* Two runs: the interval spans both. */
    double two[2] = { 1, 3 };
    assert_int_equal(baseline_boot_median_ci(two, 2, BASELINE_BOOT_SEED, &lo, &hi), 0);
    assert_true(lo == 1 && hi == 3);
}

static void test_bootstrap_change(void **state)
{
    (void)state;
    double base[5] = { 0.100, 0.102, 0.098, 0.101, 0.099 };
    double same[5] = { 0.101, 0.099, 0.100, 0.098, 0.102 };
    double slow[5] = { 0.150, 0.152, 0.148, 0.151, 0.149 };
    double p, lo, hi, p2, lo2, hi2;
    assert_int_equal(baseline_boot_change(same, 5, base, 5, 1, BASELINE_BOOT_SEED, &p, &lo, &hi), 0);
    assert_true(fabs(p) < 1e-12);
    assert_true(lo < 0 && hi > 0 && lo > -0.05 && hi < 0.05);
    assert_int_equal(baseline_boot_change(same, 5, base, 5, 1, BASELINE_BOOT_SEED, &p2, &lo2, &hi2), 0);
    assert_true(p == p2 && lo == lo2 && hi == hi2);
    assert_int_equal(baseline_boot_change(slow, 5, base, 5, 1, BASELINE_BOOT_SEED, &p, &lo, &hi), 0);
    assert_true(fabs(p - 0.5) < 1e-9);
    assert_true(lo > 0.4 && hi < 0.6 && lo <= p && p <= hi);
    /* Absolute mode. */
    assert_int_equal(baseline_boot_change(slow, 5, base, 5, 0, BASELINE_BOOT_SEED, &p, &lo, &hi), 0);
    assert_true(fabs(p - 0.05) < 1e-9);
    /* One run each: the interval is the point. */
    assert_int_equal(baseline_boot_change(slow, 1, base, 1, 1, 7, &p, &lo, &hi), 0);
    assert_true(fabs(p - 0.5) < 1e-9 && lo == p && hi == p);
    /* A zero baseline: no change is 0, any change is infinite. */
    double zero[1] = { 0 }, one[1] = { 0.01 };
    assert_int_equal(baseline_boot_change(zero, 1, zero, 1, 1, 7, &p, &lo, &hi), 0);
    assert_true(p == 0);
    assert_int_equal(baseline_boot_change(one, 1, zero, 1, 1, 7, &p, &lo, &hi), 0);
    assert_true(isinf(p) && p > 0);
    assert_int_equal(baseline_boot_change(one, 0, zero, 1, 1, 7, &p, &lo, &hi), -1);
}

static void test_config_diff(void **state)
{
    (void)state;
    char err[1024];
    cJSON *a = doc_make(0.03, 1000, 0, 4, 100, 0), *b = doc_make(0.03, 1000, 0, 4, 100, 0);
    const cJSON *ca = cJSON_GetObjectItem(a, "config");
    cJSON *cb = cJSON_GetObjectItem(b, "config");
    assert_int_equal(baseline_config_diff(ca, cb, err, sizeof err), 0);
    assert_string_equal(err, "");
    /* url and output paths are not the workload. */
    cJSON_ReplaceItemInObject(cb, "url", cJSON_CreateString("http://10.0.0.1:8000"));
    cJSON_ReplaceItemInObject(cb, "json_path", cJSON_CreateString("/elsewhere.json"));
    cJSON_AddStringToObject(cb, "mock_args", "--decode-rate 10");
    assert_int_equal(baseline_config_diff(ca, cb, err, sizeof err), 0);
    /* Everything else is; each difference is named with both values. */
    cJSON_ReplaceItemInObject(cb, "concurrency", cJSON_CreateNumber(8));
    cJSON_ReplaceItemInObject(cb, "stream", cJSON_CreateFalse());
    cJSON_DeleteItemFromObject(cb, "prompt");
    cJSON_AddNumberToObject(cb, "seed", 7);
    assert_int_equal(baseline_config_diff(ca, cb, err, sizeof err), 4);
    assert_string_equal(err, "concurrency is 8 here but 4 in the baseline; "
                             "stream is false here but true in the baseline; "
                             "seed is 7 here but absent in the baseline; "
                             "prompt is absent here but \"hello\" in the baseline");
    /* Long values are cut. */
    cJSON_AddStringToObject(cb, "prompt", "a very long prompt that goes on and on and on and on");
    assert_int_equal(baseline_config_diff(ca, cb, err, sizeof err), 4);
    if (!strstr(err, "prompt is \"a very long prompt that goes on and ... here"))
        fail_msg("%s", err);
    /* A tiny buffer is cut, not overrun. */
    char small[24];
    assert_int_equal(baseline_config_diff(ca, cb, small, sizeof small), 4);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_string_equal(small + sizeof small - 4, "...");
    assert_int_equal(baseline_config_ignored("url"), 1);
    assert_int_equal(baseline_config_ignored("concurrency"), 0);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* The workload is compared setting by setting, named by its path; a
 * dataset counts by its size and SHA-256, not where it lies; the seed
 * each run draws is no difference. */
static void test_config_diff_workload(void **state)
{
    (void)state;
    char err[1024];
    static const char *base =
        "{\"concurrency\":4,\"seed_used\":11,\"schedule_seed\":11,\"seed_given\":false,"
        "\"workload\":{\"source\":\"input_tokens\",\"description\":\"synthetic 20 tokens\","
        "\"input_tokens\":20,\"output_tokens\":null,\"nonce\":true,"
        "\"dataset\":{\"path\":\"/ci/a/data.jsonl\",\"bytes\":123456789,\"sha256\":\"ab12\"}}}";
    cJSON *a = cJSON_Parse(base), *b = cJSON_Parse(base);
    cJSON *wb = cJSON_GetObjectItem(b, "workload");
    cJSON_ReplaceItemInObject(b, "seed_used", cJSON_CreateNumber(99));
    cJSON_ReplaceItemInObject(b, "schedule_seed", cJSON_CreateNumber(99));
    cJSON_ReplaceItemInObject(wb, "description", cJSON_CreateString("synthetic 2000 tokens"));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(wb, "dataset"), "path",
                              cJSON_CreateString("/home/me/data.jsonl"));
    assert_int_equal(baseline_config_diff(a, b, err, sizeof err), 0);
    cJSON_ReplaceItemInObject(wb, "input_tokens", cJSON_CreateNumber(2000));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(wb, "dataset"), "sha256", cJSON_CreateString("cd34"));
    assert_int_equal(baseline_config_diff(a, b, err, sizeof err), 2);
    assert_string_equal(err, "workload.input_tokens is 2000 here but 20 in the baseline; "
                             "workload.dataset.sha256 is \"cd34\" here but \"ab12\" in the baseline");
    /* Before the workload is opened the run has none yet: no difference
     * so far; a baseline without one (an older llmload's) is one. */
    cJSON_DeleteItemFromObject(b, "workload");
    assert_int_equal(baseline_config_diff(a, b, err, sizeof err), 0);
    assert_int_equal(baseline_config_diff(b, a, err, sizeof err), 1);
    assert_non_null(strstr(err, "workload is {"));
    assert_non_null(strstr(err, "here but absent in the baseline"));
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_load_result_and_errors(void **state)
{
    (void)state;
    char dir[64], path[128], err[1024];
    struct baseline *b = NULL;
    tmp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/base.json", dir);

    cJSON *d = doc_simple(0.03, 1000);
    char *text = cJSON_Print(d);
    spit(path, text);
    free(text);
    cJSON_Delete(d);
    assert_int_equal(baseline_load(path, &b, err, sizeof err), 0);
    assert_int_equal(b->n, 1);
    assert_non_null(b->config);
    assert_string_equal(b->path, path);
    baseline_free(b);

    static const struct { const char *text, *msg; } bad[] = {
        { "{\"schema\": \"llmload.result/1\",\n  \"summary\": {,}}", "not valid JSON (line 2, column " },
        { "[1,2]", "not an llmload result or baseline" },
        { "{\"schema\":\"other/1\",\"summary\":{}}", "not an llmload result or baseline" },
        { "{\"schema\":\"llmload.result/1\"}", "no \"summary\" object" },
        { "{\"schema\":\"llmload.result/1\",\"summary\":{\"ok\":0}}", "has no successful request" },
        { "{\"schema\":\"llmload.result/1\",\"summary\":{\"ok\":5},\"interrupted\":true}", "interrupted run" },
        { "{\"schema\":\"llmload.result/1\",\"summary\":{\"ok\":5},\"config\":3}", "\"config\" is not an object" },
        { "{\"schema\":\"llmload.baseline/2\",\"run_summaries\":[]}", "\"run_summaries\" is not a non-empty array" },
        { "{\"schema\":\"llmload.baseline/2\",\"run_summaries\":[{\"ok\":1},2]}", "run_summaries[1] is not an object" },
        { "{\"schema\":\"llmload.baseline/2\",\"run_summaries\":[{\"ok\":1}],\"run_samples\":{}}",
          "\"run_samples\" is not an array of one object per run" },
        /* A baseline from before per-request samples is refused, and says
         * how to make a new one. */
        { "{\"schema\":\"llmload.baseline/1\",\"run_summaries\":[{\"ok\":1}]}",
          "a llmload.baseline/1 file, made before baselines kept per-request samples; save it again "
          "with --save-baseline" },
        { "{\"schema\":\"llmload.result/1\",\"summary\":{\"ok\":5}} trailing", "not valid JSON" },
        { "", "not valid JSON (line 1, column 1)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spit(path, bad[i].text);
        b = (struct baseline *)1;
        assert_int_equal(baseline_load(path, &b, err, sizeof err), -1);
        assert_null(b);
        if (!strstr(err, bad[i].msg))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].msg);
        assert_true(!strncmp(err, "--baseline ", 11));
    }
    assert_int_equal(remove(path), 0);
    assert_int_equal(baseline_load(path, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file or directory"));
    assert_int_equal(rmdir(dir), 0);
}

static void test_save_and_reload(void **state)
{
    (void)state;
    char dir[64], path[128], err[1024];
    cJSON *docs[3] = { doc_simple(0.0301234567, 1000.123456789), doc_simple(0.0299, 990),
                       doc_simple(0.031, 1010) };
    tmp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/base.json", dir);
    assert_int_equal(baseline_save(path, docs, 3, err, sizeof err), 0);
    char *text = slurp(path);
    assert_non_null(text);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    /* Nothing machine- or time-specific goes into a committed file. */
    assert_null(strstr(text, "ci-runner"));
    assert_null(strstr(text, "127.0.0.1"));
    assert_null(strstr(text, "start_time"));
    assert_null(strstr(text, "json_path"));
    /* Six significant digits. */
    assert_non_null(strstr(text, "0.0301235"));
    assert_null(strstr(text, "0.03012345"));
    cJSON *saved = cJSON_Parse(text);
    assert_non_null(saved);
    assert_string_equal(cJSON_GetObjectItem(saved, "schema")->valuestring, "llmload.baseline/2");
    /* One entry of samples per run: null for a result without them. */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(saved, "run_samples")), 3);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(saved, "run_samples"), 0)));
    assert_string_equal(cJSON_GetObjectItem(saved, "llmload_version")->valuestring, "0.1.0");
    assert_int_equal(cJSON_GetObjectItem(saved, "runs")->valueint, 3);
    const cJSON *med = cJSON_GetObjectItem(saved, "summary");
    assert_true(fabs(cJSON_GetObjectItem(cJSON_GetObjectItem(med, "ttft"), "p95")->valuedouble - 0.0301235) < 1e-12);
    assert_true(fabs(cJSON_GetObjectItem(med, "output_tps")->valuedouble - 1000.12) < 1e-9);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(med, "itl"), "p95")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(saved, "run_summaries")), 3);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(saved, "config"), "concurrency")->valueint, 4);
    /* Settings keep every digit: only measurements are rounded. */
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(saved, "config"), "requests")->valuedouble == 1234567);
    cJSON_Delete(saved);

    /* Saving the same numbers again gives the same bytes. */
    assert_int_equal(baseline_save(path, docs, 3, err, sizeof err), 0);
    char *again = slurp(path);
    assert_string_equal(text, again);
    free(again);
    free(text);

    struct baseline *b;
    assert_int_equal(baseline_load(path, &b, err, sizeof err), 0);
    assert_int_equal(b->n, 3);
    /* The saved config is still compatible with the run's own. */
    assert_int_equal(baseline_config_diff(b->config, cJSON_GetObjectItem(docs[0], "config"), err, sizeof err), 0);
    baseline_free(b);

    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing/base.json", dir);
    assert_int_equal(baseline_save(bad, docs, 3, err, sizeof err), -1);
    assert_true(!strncmp(err, "--save-baseline: cannot write ", 29));
    assert_non_null(strstr(err, bad));
    assert_non_null(strstr(err, "does not exist"));

    assert_int_equal(remove(path), 0);
    assert_int_equal(rmdir(dir), 0);
    for (int i = 0; i < 3; i++)
        cJSON_Delete(docs[i]);
}

static void test_median_summary(void **state)
{
    (void)state;
    cJSON *d[4] = { doc_simple(0.01, 100), doc_simple(0.04, 400), doc_simple(0.02, 200),
                    doc_simple(0.03, 300) };
    const cJSON *s[4];
    for (int i = 0; i < 4; i++)
        s[i] = cJSON_GetObjectItem(d[i], "summary");
    cJSON *m = baseline_median_summary(s, 4);
    assert_non_null(m);
    assert_true(fabs(cJSON_GetObjectItem(m, "output_tps")->valuedouble - 250) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "ttft"), "p95")->valuedouble - 0.025) < 1e-12);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "server_eval_rate")));
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(m, "errors")));
    cJSON_Delete(m);
    assert_null(baseline_median_summary(s, 0));
    for (int i = 0; i < 4; i++)
        cJSON_Delete(d[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median),
        cmocka_unit_test(test_bootstrap_ci),
        cmocka_unit_test(test_bootstrap_change),
        cmocka_unit_test(test_config_diff),
        cmocka_unit_test(test_config_diff_workload),
        cmocka_unit_test(test_load_result_and_errors),
        cmocka_unit_test(test_save_and_reload),
        cmocka_unit_test(test_median_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
