/* Sweep analysis on synthetic data: lists, knee, find-max, tables, compare. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include <unistd.h>

#include "knee.h"
#include "compare.h"
#include "fileio.h"
#include "sweep.h"

/* ---- lists ------------------------------------------------------------------ */

static void test_list_parse_ok(void **state)
{
    (void)state;
    double v[8];
    char err[128];
    assert_int_equal(knee_list_parse("1,2,5,10,20", 1, 1, v, 8, err, sizeof err), 5);
    assert_true(v[0] == 1 && v[2] == 5 && v[4] == 20);
    assert_int_equal(knee_list_parse("0,0.3,0.7,1.0,1.5", 0, 0, v, 8, err, sizeof err), 5);
    assert_true(v[1] == 0.3 && v[4] == 1.5);
    assert_int_equal(knee_list_parse("7", 1, 1, v, 8, err, sizeof err), 1);
    assert_true(v[0] == 7);
}

static void expect_list_error(const char *s, int integer, int positive, const char *want)
{
    double v[4];
    char err[128] = "";
    assert_int_equal(knee_list_parse(s, integer, positive, v, 4, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("list '%s': error '%s' does not mention '%s'", s, err, want);
}

static void test_list_parse_errors(void **state)
{
    (void)state;
    expect_list_error("", 1, 1, "empty list");
    expect_list_error("1,,2", 1, 1, "item 2 is empty");
    expect_list_error("1,2,", 1, 1, "item 3 is empty");
    expect_list_error("1,x,3", 1, 1, "item 2 'x' is not a number");
    expect_list_error("1,2.5", 1, 1, "item 2 '2.5' is not a whole number");
    expect_list_error("0,1", 1, 1, "item 1 '0' is not a whole number");
    expect_list_error("0,1", 0, 1, "item 1 '0' must be > 0");
    expect_list_error("-1", 0, 0, "must be >= 0");
    expect_list_error("4,2", 1, 1, "item 2 '2' is not greater");
    expect_list_error("1,2,3,4,5", 1, 1, "more than 4 levels");
    expect_list_error("1;2", 1, 1, "item 1 '1;2'");
}

/* ---- knee ------------------------------------------------------------------- */

static void set_points(struct knee_point *p, const double *lv, const double *tps,
                       const double *p95, const int *slo, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i].level = lv[i];
        p[i].tps = tps[i];
        p[i].p95_e2e = p95 ? p95[i] : NAN;
        p[i].p95_ttft = NAN;
        p[i].slo_ok = slo ? slo[i] : -1;
    }
}

/* The example: a simulator with --slots 4, levels 1,2,4,8,16. */
static void test_knee_slots4(void **state)
{
    (void)state;
    double lv[] = { 1, 2, 4, 8, 16 }, tps[] = { 45, 88, 170, 172, 171 };
    double p95[] = { 1.0, 1.05, 1.1, 2.3, 4.6 };
    struct knee_point p[5];
    set_points(p, lv, tps, p95, NULL, 5);
    struct knee k;
    knee_detect(p, 5, 0.10, &k);
    assert_int_equal(k.reason, KNEE_THROUGHPUT);
    assert_int_equal(k.index, 2);
    assert_int_equal(k.lat_double, 3);
    char text[512];
    knee_describe(&k, p, 5, "concurrency", NULL, 0.10, NULL, text, sizeof text);
    assert_string_equal(text, "throughput saturates at concurrency 4 (170 tok/s): the step to 8 "
                              "gains 1.2% (< 10%); p95 latency doubles from 4 to 8");
    cJSON *j = knee_to_json(&k, p, 5, "concurrency", NULL, 0.10, NULL);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "parameter")->valuestring, "concurrency");
    assert_true(cJSON_GetObjectItem(j, "level")->valuedouble == 4);
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "throughput");
    cJSON_Delete(j);

    /* A looser threshold moves the knee: at 50% the step 2 -> 4 (93%) still
     * counts, at 95% it does not. */
    knee_detect(p, 5, 0.95, &k);
    assert_int_equal(k.index, 1);
}

static void test_knee_none(void **state)
{
    (void)state;
    double lv[] = { 1, 2, 5 }, tps[] = { 10, 19, 40 };
    struct knee_point p[3];
    set_points(p, lv, tps, NULL, NULL, 3);
    struct knee k;
    knee_detect(p, 3, 0.10, &k);
    assert_int_equal(k.reason, KNEE_NONE);
    assert_int_equal(k.index, -1);
    cJSON *j = knee_to_json(&k, p, 3, "concurrency", NULL, 0.10, NULL);
    assert_true(cJSON_IsNull(j));
    cJSON_Delete(j);
    char text[256];
    knee_describe(&k, p, 3, "rate", NULL, 0.10, NULL, text, sizeof text);
    assert_string_equal(text, "throughput still grows by >= 10% at every step (40 tok/s at rate 5)");
    /* A single level has no step, and an all-failed run (0 tok/s) no knee. */
    knee_detect(p, 1, 0.10, &k);
    assert_int_equal(k.reason, KNEE_NONE);
    double z[] = { 0, 0, 0 };
    set_points(p, lv, z, NULL, NULL, 3);
    knee_detect(p, 3, 0.10, &k);
    assert_int_equal(k.reason, KNEE_NONE);
}

static void test_knee_slo(void **state)
{
    (void)state;
    double lv[] = { 1, 2, 5, 10, 20 }, tps[] = { 40, 80, 200, 390, 400 };
    int slo[] = { 1, 1, 1, 0, 0 };
    struct knee_point p[5];
    set_points(p, lv, tps, NULL, slo, 5);
    struct knee k;
    knee_detect(p, 5, 0.10, &k);
    /* The SLO fails at 10, before the throughput knee (10): the knee is 5. */
    assert_int_equal(k.reason, KNEE_SLO);
    assert_int_equal(k.index, 2);
    assert_int_equal(k.tput_index, 3);
    char text[512];
    knee_describe(&k, p, 5, "concurrency", NULL, 0.10, "p99(ttft)<=500ms", text, sizeof text);
    assert_non_null(strstr(text, "SLO 'p99(ttft)<=500ms' first fails at concurrency 10, "
                                 "the last level that meets it is 5"));
    /* The SLO already fails at the first level: level null in the JSON. */
    int bad[] = { 0, 0, 0, 0, 0 };
    set_points(p, lv, tps, NULL, bad, 5);
    knee_detect(p, 5, 0.10, &k);
    assert_int_equal(k.reason, KNEE_SLO);
    assert_int_equal(k.index, -1);
    cJSON *j = knee_to_json(&k, p, 5, "concurrency", NULL, 0.10, "p99(ttft)<=1ms");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "level")));
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "slo");
    cJSON_Delete(j);
    /* A throughput knee before the SLO failure wins. */
    int late[] = { 1, 1, 1, 1, 0 };
    double flat[] = { 40, 80, 82, 83, 84 };
    set_points(p, lv, flat, NULL, late, 5);
    knee_detect(p, 5, 0.10, &k);
    assert_int_equal(k.reason, KNEE_THROUGHPUT);
    assert_int_equal(k.index, 1);
}

static void test_knee_named_levels(void **state)
{
    (void)state;
    double lv[] = { 0, 1, 2 }, tps[] = { 100, 50, 25 };
    const char *names[] = { "tiny", "short", "medium" };
    struct knee_point p[3];
    set_points(p, lv, tps, NULL, NULL, 3);
    struct knee k;
    knee_detect(p, 3, 0.10, &k);
    cJSON *j = knee_to_json(&k, p, 3, "prompt-set", names, 0.10, NULL);
    assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "tiny");
    assert_non_null(strstr(cJSON_GetObjectItem(j, "text")->valuestring,
                           "saturates at prompt-set tiny (100 tok/s): the step to short gains -50.0%"));
    cJSON_Delete(j);
}

/* ---- find-max ----------------------------------------------------------------- */

struct oracle { double limit; int calls; int fail_at_call; };

static int oracle_eval(void *ud, double level, int *ok)
{
    struct oracle *o = ud;
    if (++o->calls == o->fail_at_call)
        return -7;
    *ok = level <= o->limit;
    return 0;
}

static void test_findmax_integer(void **state)
{
    (void)state;
    for (double limit = 1; limit <= 100; limit++) {
        struct oracle o = { limit, 0, 0 };
        struct knee_findmax_opts opts = { .start = 1, .limit = 1000, .integer = 1 };
        struct knee_findmax r;
        assert_int_equal(knee_findmax_run(&opts, oracle_eval, &o, &r), 0);
        assert_true(r.best == limit);
        assert_true(r.first_fail == limit + 1);
        assert_int_equal((int)r.ntried, o.calls);
        /* Bracketing doubles, bisecting halves: about 2 log2(limit) runs. */
        assert_true(r.ntried <= 2 * (size_t)ceil(log2(limit + 1)) + 2);
        assert_false(r.at_limit);
    }
    /* The record of what was tried, for limit 37 from 1. */
    struct oracle o = { 37, 0, 0 };
    struct knee_findmax_opts opts = { .start = 1, .limit = 1000, .integer = 1 };
    struct knee_findmax r;
    knee_findmax_run(&opts, oracle_eval, &o, &r);
    double want[] = { 1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38, 37 };
    assert_int_equal(r.ntried, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < r.ntried; i++) {
        assert_true(r.tried[i].level == want[i]);
        assert_int_equal(r.tried[i].ok, want[i] <= 37);
    }
}

static void test_findmax_rate(void **state)
{
    (void)state;
    double limits[] = { 0.3, 1, 7.7, 12.3, 250 };
    for (size_t i = 0; i < 5; i++) {
        struct oracle o = { limits[i], 0, 0 };
        struct knee_findmax_opts opts = { .start = 1, .limit = 1e6 };
        struct knee_findmax r;
        assert_int_equal(knee_findmax_run(&opts, oracle_eval, &o, &r), 0);
        /* Within one step (5% of the answer) below the true limit. */
        assert_true(r.best <= limits[i]);
        assert_true(r.first_fail > limits[i]);
        assert_true(r.first_fail - r.best <= 0.05 * r.best + 1e-12);
    }
    /* An explicit step. */
    struct oracle o = { 12.3, 0, 0 };
    struct knee_findmax_opts opts = { .start = 2, .limit = 100, .step = 0.5 };
    struct knee_findmax r;
    knee_findmax_run(&opts, oracle_eval, &o, &r);
    assert_true(r.best <= 12.3 && r.first_fail - r.best <= 0.5);
}

static void test_findmax_edges(void **state)
{
    (void)state;
    struct knee_findmax r;
    /* Nothing meets the SLO. */
    struct oracle none = { 0, 0, 0 };
    struct knee_findmax_opts o1 = { .start = 4, .limit = 64, .integer = 1 };
    assert_int_equal(knee_findmax_run(&o1, oracle_eval, &none, &r), 0);
    assert_true(isnan(r.best));
    assert_true(r.first_fail == 1);
    /* Everything does: stops at the limit and says so. */
    struct oracle all = { 1e9, 0, 0 };
    assert_int_equal(knee_findmax_run(&o1, oracle_eval, &all, &r), 0);
    assert_true(r.best == 64);
    assert_true(r.at_limit);
    /* Start above the limit of the server: halves down, then bisects. */
    struct oracle low = { 5, 0, 0 };
    struct knee_findmax_opts o2 = { .start = 64, .limit = 1000, .integer = 1 };
    knee_findmax_run(&o2, oracle_eval, &low, &r);
    assert_true(r.best == 5 && r.first_fail == 6);
    /* An evaluation error aborts with its code, keeping what was tried. */
    struct oracle err = { 37, 0, 3 };
    struct knee_findmax_opts o3 = { .start = 1, .limit = 1000, .integer = 1 };
    assert_int_equal(knee_findmax_run(&o3, oracle_eval, &err, &r), -7);
    assert_int_equal(r.ntried, 2);
    /* max_runs bounds the search. */
    struct oracle lim = { 37, 0, 0 };
    struct knee_findmax_opts o4 = { .start = 1, .limit = 1000, .integer = 1, .max_runs = 4 };
    knee_findmax_run(&o4, oracle_eval, &lim, &r);
    assert_int_equal(r.ntried, 4);
    assert_true(r.exhausted);
}

/* ---- tables and compare --------------------------------------------------------- */

/* A levels array like `sweep --json` writes, from per-level numbers. */
static cJSON *make_levels(const double *lv, const double *tps, const double *p95,
                          const double *okfrac, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "level", lv[i]);
        cJSON *s = cJSON_AddObjectToObject(l, "summary");
        cJSON_AddNumberToObject(s, "requests", 100);
        cJSON_AddNumberToObject(s, "ok", 100 * okfrac[i]);
        cJSON_AddNumberToObject(s, "failed", 100 - 100 * okfrac[i]);
        cJSON_AddNumberToObject(s, "rps", tps[i] / 50);
        cJSON_AddNumberToObject(s, "output_tps", tps[i]);
        cJSON *e = cJSON_AddObjectToObject(s, "e2e");
        cJSON_AddNumberToObject(e, "mean", p95[i] * 0.8);
        cJSON_AddNumberToObject(e, "p95", p95[i]);
        cJSON_AddNumberToObject(e, "p99", p95[i] * 1.1);
        cJSON *t = cJSON_AddObjectToObject(s, "ttft");
        cJSON_AddNumberToObject(t, "p50", 0.012);
        cJSON_AddNullToObject(t, "p95");
        cJSON *r = cJSON_AddObjectToObject(s, "request_tps");
        cJSON_AddNumberToObject(r, "mean", tps[0]);
        cJSON_AddItemToArray(a, l);
    }
    return a;
}

static char *capture_table(const cJSON *levels, int open_loop)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    knee_table_print(f, "concurrency", levels, open_loop);
    fclose(f);
    return buf;
}

static void test_table_and_csv(void **state)
{
    (void)state;
    double lv[] = { 1, 2 }, tps[] = { 45, 90 }, p95[] = { 1.5, 1.6 }, ok[] = { 1, 0.97 };
    cJSON *levels = make_levels(lv, tps, p95, ok, 2);
    char *t = capture_table(levels, 0);
    const char *want =
        "concurrency       tok/s tok/s/user      RPS       avg       p95       p99  TTFT p50  TTFT p95  success\n"
        "1                  45.0       45.0     0.90    1.20 s    1.50 s    1.65 s   12.0 ms         -   100.0%\n"
        "2                  90.0       45.0     1.80    1.28 s    1.60 s    1.76 s   12.0 ms         -    97.0%\n";
    assert_string_equal(t, want);
    free(t);
    t = capture_table(levels, 1);
    assert_non_null(strstr(t, "queue p95   late\n"));
    free(t);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(knee_csv_write(f, "concurrency", levels), 0);
    fclose(f);
    assert_string_equal(buf,
        "parameter,level,requests,ok,failed,success_rate,rps,output_tps,tps_per_user,"
        "e2e_mean_s,e2e_p95_s,e2e_p99_s,ttft_p50_s,ttft_p95_s,queue_p95_s,late\n"
        "concurrency,1,100,100,0,1,0.9,45,45,1.2,1.5,1.65,0.012,,,\n"
        "concurrency,2,100,97,3,0.97,1.8,90,45,1.28,1.6,1.76,0.012,,,\n");
    free(buf);

    struct knee_point p[4];
    assert_int_equal(knee_points_from_levels(levels, p, 4), 2);
    assert_true(p[1].tps == 90 && p[1].p95_e2e == 1.6 && isnan(p[1].p95_ttft));
    cJSON_Delete(levels);
    /* Not a levels array. */
    cJSON *bad = cJSON_Parse("[{\"level\":1}]");
    assert_int_equal(knee_points_from_levels(bad, p, 4), -1);
    cJSON_Delete(bad);
}

static cJSON *make_sweep(const double *lv, const double *tps, const double *p95,
                         const double *ok, size_t n)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "parameter", "concurrency");
    cJSON_AddItemToObject(s, "levels", make_levels(lv, tps, p95, ok, n));
    return s;
}

static void test_compare_two(void **state)
{
    (void)state;
    double lv[] = { 1, 2, 4, 8 };
    double fast[] = { 100, 200, 400, 410 }, slow[] = { 50, 100, 101, 102 };
    double pf[] = { 1, 1, 1, 2 }, ps[] = { 2, 2, 4, 8 };
    double okf[] = { 1, 1, 1, 1 }, oks[] = { 1, 1, 0.9, 0.8 };
    cJSON *a = make_sweep(lv, fast, pf, okf, 4), *b = make_sweep(lv, slow, ps, oks, 4);
    const char *names[] = { "slow", "fast" };
    const cJSON *sw[] = { b, a };
    cJSON *an = knee_compare("concurrency", names, sw, 2, 0.10);
    assert_non_null(an);
    cJSON *rows = cJSON_GetObjectItem(an, "levels");
    assert_int_equal(cJSON_GetArraySize(rows), 4);
    double want_sp[] = { 2, 2, 400.0 / 101, 410.0 / 102 };
    for (int i = 0; i < 4; i++) {
        cJSON *r = cJSON_GetArrayItem(rows, i);
        assert_string_equal(cJSON_GetObjectItem(r, "winner")->valuestring, "fast");
        assert_true(fabs(cJSON_GetObjectItem(r, "speedup")->valuedouble - want_sp[i]) < 1e-9);
    }
    cJSON *sat = cJSON_GetObjectItem(an, "saturation");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(sat, "fast"), "level")->valuedouble == 4);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(sat, "slow"), "level")->valuedouble == 2);
    cJSON *rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "fast");
    assert_int_equal(cJSON_GetObjectItem(rec, "wins")->valueint, 4);
    cJSON *reasons = cJSON_GetObjectItem(rec, "reasons");
    assert_int_equal(cJSON_GetArraySize(reasons), 4);
    assert_string_equal(cJSON_GetArrayItem(reasons, 0)->valuestring,
        "throughput under load: slow 102.0 tok/s, fast 410.0 tok/s (peak): fast is 4.02x higher");
    assert_string_equal(cJSON_GetArrayItem(reasons, 1)->valuestring,
        "latency at high concurrency: slow 8.00 s, fast 2.00 s (p95 at concurrency 8): fast is 4.00x lower");
    assert_string_equal(cJSON_GetArrayItem(reasons, 2)->valuestring,
        "single-user speed: slow 50.0 tok/s, fast 100.0 tok/s (per user at concurrency 1): fast is 2.00x higher");
    assert_string_equal(cJSON_GetArrayItem(reasons, 3)->valuestring,
        "success rate: slow 92.5%, fast 100.0%: fast is best");

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    knee_compare_print(f, "concurrency", names, sw, 2, an);
    fclose(f);
    assert_non_null(strstr(buf, "recommend fast: leads 4 of 4 criteria"));
    assert_non_null(strstr(buf, "fast: throughput saturates at concurrency 4"));
    assert_non_null(strstr(buf, "| fast         4.02x\n"));
    free(buf);
    cJSON_Delete(an);

    /* Two equal leaders tie on every criterion; the slow one leads none. */
    cJSON *a2 = make_sweep(lv, fast, pf, okf, 4);
    const char *names3[] = { "slow", "fast", "fast2" };
    const cJSON *sw3[] = { b, a, a2 };
    an = knee_compare("concurrency", names3, sw3, 3, 0.10);
    rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "fast");
    assert_int_equal(cJSON_GetObjectItem(rec, "wins")->valueint, 4);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "reasons"), 0)->valuestring,
        "throughput under load: slow 102.0 tok/s, fast 410.0 tok/s, fast2 410.0 tok/s (peak): "
        "a tie between fast and fast2");
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(an, "levels"), 0);
    assert_true(cJSON_GetObjectItem(r0, "speedup")->valuedouble == 1.0);
    cJSON_Delete(an);
    cJSON_Delete(a2);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* compare's CSV: one header led by "target", each row led by its target's
 * name as a CSV field; a target without a sweep has no rows.  Written
 * whole through util/fileio, and a full disk is an error naming the file. */
static void test_compare_csv(void **state)
{
    (void)state;
    double lv[] = { 1, 2 }, tps[] = { 45, 90 }, p95[] = { 1.5, 1.6 }, ok[] = { 1, 0.97 };
    cJSON *a = make_sweep(lv, tps, p95, ok, 2);
    const char *names[] = { "vllm, a100", "down" };
    const cJSON *sw[] = { a, NULL };
    char *buf = NULL, err[512];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(compare_csv_write(f, names, sw, 2), 0);
    fclose(f);
    assert_string_equal(buf,
        "target,parameter,level,requests,ok,failed,success_rate,rps,output_tps,tps_per_user,"
        "e2e_mean_s,e2e_p95_s,e2e_p99_s,ttft_p50_s,ttft_p95_s,queue_p95_s,late\n"
        "\"vllm, a100\",concurrency,1,100,100,0,1,0.9,45,45,1.2,1.5,1.65,0.012,,,\n"
        "\"vllm, a100\",concurrency,2,100,97,3,0.97,1.8,90,45,1.28,1.6,1.76,0.012,,,\n");
    free(buf);
    struct out_file *o = out_open("/dev/null", err, sizeof err);
    assert_non_null(o);
    assert_int_equal(sweep_commit_compare_csv(o, names, sw, 2, err, sizeof err), 0);
    assert_int_equal(sweep_commit_csv(o, a, err, sizeof err), 0);
    out_close(o);
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(sweep_write_csv("/dev/full", a, err, sizeof err), -1);
        assert_string_equal(err, "--csv: cannot write /dev/full: No space left on device");
    }
    cJSON_Delete(a);
}

static void test_compare_one_down(void **state)
{
    (void)state;
    double lv[] = { 1, 2 }, tps[] = { 100, 150 }, p95[] = { 1, 1.2 }, ok[] = { 1, 1 };
    cJSON *a = make_sweep(lv, tps, p95, ok, 2);
    const char *names[] = { "up", "down" };
    const cJSON *sw[] = { a, NULL };
    cJSON *an = knee_compare("concurrency", names, sw, 2, 0.10);
    cJSON *rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "up");
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(an, "levels"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r0, "speedup")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(r0, "output_tps"), "down")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(an, "saturation"), "down")));
    int found = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(rec, "reasons"))
        found |= strstr(it->valuestring, "down gave no result") != NULL;
    assert_true(found);
    cJSON_Delete(an);
    cJSON_Delete(a);

    /* A target that went down after its first level: its missing level
     * counts as failed requests, the shared levels are those of the target
     * that finished, and it is not recommended even when faster. */
    double lv1[] = { 1 }, quick[] = { 300 }, p1[] = { 0.5 }, ok1[] = { 1 };
    cJSON *d = make_sweep(lv1, quick, p1, ok1, 1);
    cJSON_AddStringToObject(d, "error", "at concurrency 2: cannot connect");
    const char *names2[] = { "dying", "steady" };
    cJSON *st = make_sweep(lv, tps, p95, ok, 2);
    const cJSON *sw2[] = { d, st };
    an = knee_compare("concurrency", names2, sw2, 2, 0.10);
    rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "steady");
    cJSON *reasons = cJSON_GetObjectItem(rec, "reasons");
    assert_string_equal(cJSON_GetArrayItem(reasons, 1)->valuestring,
        "latency at high concurrency: dying -, steady 1.20 s (p95 at concurrency 2): steady is best");
    assert_string_equal(cJSON_GetArrayItem(reasons, 3)->valuestring,
        "success rate: dying 50.0%, steady 100.0%: steady is best");
    assert_string_equal(cJSON_GetArrayItem(reasons, 4)->valuestring,
        "dying went down during the comparison (at concurrency 2: cannot connect)");
    cJSON_Delete(an);
    cJSON_Delete(d);
    cJSON_Delete(st);

    /* Nobody answered. */
    const cJSON *none[] = { NULL, NULL };
    an = knee_compare("concurrency", names, none, 2, 0.10);
    rec = cJSON_GetObjectItem(an, "recommendation");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "target")));
    cJSON_Delete(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_parse_ok),
        cmocka_unit_test(test_list_parse_errors),
        cmocka_unit_test(test_knee_slots4),
        cmocka_unit_test(test_knee_none),
        cmocka_unit_test(test_knee_slo),
        cmocka_unit_test(test_knee_named_levels),
        cmocka_unit_test(test_findmax_integer),
        cmocka_unit_test(test_findmax_rate),
        cmocka_unit_test(test_findmax_edges),
        cmocka_unit_test(test_table_and_csv),
        cmocka_unit_test(test_compare_two),
        cmocka_unit_test(test_compare_csv),
        cmocka_unit_test(test_compare_one_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
