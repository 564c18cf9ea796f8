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
#include "slo.h"
#include "compare.h"
#include "fileio.h"
#include "sweep.h"
#include "verdict_rounds.h"

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
                       const double *lat, const int *slo, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i].level = lv[i];
        p[i].tps = tps[i];
        p[i].latency = lat ? lat[i] : NAN;
        p[i].latency_sched = NAN;
        p[i].offered = p[i].achieved = NAN;
        p[i].slo_ok = slo ? slo[i] : -1;
    }
}

static char *knee_text(const struct knee *k, const struct knee_point *p, size_t n,
                       const char *param, double threshold, const char *slo)
{
    static char text[1024];
    knee_describe(k, p, n, param, NULL, threshold, slo, text, sizeof text);
    return text;
}

/* The example: a simulator with --slots 4, levels 1,2,4,8,16. */
static void test_knee_slots4(void **state)
{
    (void)state;
    double lv[] = { 1, 2, 4, 8, 16 }, tps[] = { 45, 88, 170, 172, 171 };
    double lat[] = { 1.0, 1.05, 1.1, 2.3, 4.6 };
    struct knee_point p[5];
    set_points(p, lv, tps, lat, NULL, 5);
    struct knee k;
    knee_detect(p, 5, 0.10, &k);
    assert_int_equal(k.reason, KNEE_THROUGHPUT);
    assert_int_equal(k.index, 2);
    assert_int_equal(k.peak, 3);
    assert_int_equal(k.lat_index, 2);
    assert_string_equal(knee_text(&k, p, 5, "concurrency", 0.10, NULL),
                        "throughput saturates at concurrency 4 (170 tok/s): 1.2% below the peak, "
                        "172 tok/s at 8 (< 10%); latency knee at concurrency 4: mean latency "
                        "grows 2.1x from 4 to 8");
    cJSON *j = knee_to_json(&k, p, 5, "concurrency", NULL, 0.10, NULL);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "parameter")->valuestring, "concurrency");
    assert_true(cJSON_GetObjectItem(j, "level")->valuedouble == 4);
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "throughput");
    assert_true(cJSON_GetObjectItem(j, "output_tps")->valuedouble == 170);
    assert_true(cJSON_GetObjectItem(j, "throughput_level")->valuedouble == 4);
    assert_true(cJSON_GetObjectItem(j, "latency_level")->valuedouble == 4);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "rate_level")));
    assert_true(cJSON_GetObjectItem(j, "peak_level")->valuedouble == 8);
    assert_true(cJSON_GetObjectItem(j, "peak_output_tps")->valuedouble == 172);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "confirmed")));
    cJSON_Delete(j);

    /* The threshold says what is within noise of the peak: at 50% the 88
     * tok/s of level 2 already is, at 1% only the peak itself. */
    knee_detect(p, 5, 0.50, &k);
    assert_int_equal(k.index, 1);
    knee_detect(p, 5, 0.01, &k);
    assert_int_equal(k.index, 3);
    assert_string_equal(knee_text(&k, p, 5, "concurrency", 0.01, NULL),
                        "throughput saturates at concurrency 8 (172 tok/s): no later level is "
                        "higher; latency knee at concurrency 4: mean latency grows 2.1x from 4 to 8");
}

/* Issue 10: llama-server with 8 slots, 1,2,4,8,16 -> 363, 279, 311, 683,
 * 687 tok/s.  Throughput dips from 1 to 2 before it climbs: the knee is 8,
 * not 1 (where "the first step gaining < 10%" stopped).  Latency also
 * jumps from 1 to 2, and falls again: only the rise that lasts to the last
 * level makes the latency knee. */
static void test_knee_dip(void **state)
{
    (void)state;
    double lv[] = { 1, 2, 4, 8, 16 }, tps[] = { 363, 279, 311, 683, 687 };
    double lat[] = { 0.35, 0.92, 1.65, 1.5, 3.0 };
    struct knee_point p[5];
    set_points(p, lv, tps, lat, NULL, 5);
    struct knee k;
    knee_detect(p, 5, 0.10, &k);
    assert_int_equal(k.reason, KNEE_THROUGHPUT);
    assert_int_equal(k.index, 3);
    assert_int_equal(k.tput_index, 3);
    assert_int_equal(k.lat_index, 3);
    assert_string_equal(knee_text(&k, p, 5, "concurrency", 0.10, NULL),
                        "throughput saturates at concurrency 8 (683 tok/s): 0.6% below the peak, "
                        "687 tok/s at 16 (< 10%); throughput dips at 2 (279 tok/s, 23.1% below 363) "
                        "and climbs again; latency knee at concurrency 8: mean latency grows 2.0x "
                        "from 8 to 16");
    /* Without the level after the plateau, nothing says it is one. */
    knee_detect(p, 4, 0.10, &k);
    assert_int_equal(k.reason, KNEE_NONE);
    assert_true(k.climbing);
    assert_string_equal(knee_text(&k, p, 4, "concurrency", 0.10, NULL),
                        "no knee within the levels tried: throughput still climbs at the last "
                        "level (683 tok/s at concurrency 8, +120% over 4)");
    /* A throughput plateau that latency does not confirm is said so. */
    double flat[] = { 0.35, 0.36, 0.36, 0.37, 0.37 };
    set_points(p, lv, tps, flat, NULL, 5);
    knee_detect(p, 5, 0.10, &k);
    assert_int_equal(k.index, 3);
    assert_int_equal(k.lat_index, -1);
    assert_non_null(strstr(knee_text(&k, p, 5, "concurrency", 0.10, NULL),
                           "; mean latency does not keep rising with the load after it: the "
                           "throughput knee is not confirmed"));
    cJSON *j = knee_to_json(&k, p, 5, "concurrency", NULL, 0.10, NULL);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "confirmed")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "latency_level")));
    cJSON_Delete(j);
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
    assert_true(k.climbing);
    cJSON *j = knee_to_json(&k, p, 3, "concurrency", NULL, 0.10, NULL);
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "none");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "level")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "throughput_level")));
    assert_true(cJSON_GetObjectItem(j, "peak_level")->valuedouble == 5);
    cJSON_Delete(j);
    assert_string_equal(knee_text(&k, p, 3, "rate", 0.10, NULL),
                        "no knee within the levels tried: throughput still climbs at the last "
                        "level (40 tok/s at rate 5, +111% over 2)");
    /* A single level has no step: it says so, not that it grows. */
    knee_detect(p, 1, 0.10, &k);
    assert_int_equal(k.reason, KNEE_NONE);
    assert_false(k.climbing);
    assert_string_equal(knee_text(&k, p, 1, "concurrency", 0.10, NULL),
                        "one level only (10 tok/s at concurrency 1): a knee needs two or more");
    /* An all-failed run (0 tok/s) has no knee either. */
    double z[] = { 0, 0, 0 };
    set_points(p, lv, z, NULL, NULL, 3);
    knee_detect(p, 3, 0.10, &k);
    assert_int_equal(k.reason, KNEE_NONE);
    assert_false(k.climbing);
    assert_string_equal(knee_text(&k, p, 3, "concurrency", 0.10, NULL),
                        "no throughput knee: no level made output tokens");
    /* Nothing to judge: no throughput, no SLO, no rates. */
    double nan3[] = { NAN, NAN, NAN };
    set_points(p, lv, nan3, NULL, NULL, 3);
    knee_detect(p, 3, 0.10, &k);
    j = knee_to_json(&k, p, 3, "temperature", NULL, 0.10, NULL);
    assert_true(cJSON_IsNull(j));
    cJSON_Delete(j);
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
    assert_non_null(strstr(knee_text(&k, p, 5, "concurrency", 0.10, "p99(ttft)<=500ms"),
                           "SLO 'p99(ttft)<=500ms' first fails at concurrency 10, "
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

/* Issue 10: a rate sweep offered 160 requests/s and sent 88.8, yet said
 * "throughput grows at every step".  A level sending more than the
 * threshold short of its offered rate is past the knee. */
static void test_knee_rate(void **state)
{
    (void)state;
    double lv[] = { 10, 20, 40, 80, 160 }, tps[] = { 100, 200, 400, 790, 888 };
    double sent[] = { 10, 19.9, 40, 79, 88.8 };
    struct knee_point p[5];
    set_points(p, lv, tps, NULL, NULL, 5);
    for (int i = 0; i < 5; i++) {
        p[i].offered = lv[i];
        p[i].achieved = sent[i];
    }
    struct knee k;
    knee_detect(p, 5, 0.10, &k);
    /* Throughput still gains 12% at the last step: only the rate tells. */
    assert_int_equal(k.tput_index, -1);
    assert_true(k.climbing);
    assert_int_equal(k.rate_short, 4);
    assert_int_equal(k.reason, KNEE_RATE);
    assert_int_equal(k.index, 3);
    assert_string_equal(knee_text(&k, p, 5, "rate", 0.10, NULL),
                        "throughput still climbs at the last "
                        "level (888 tok/s at rate 160, +12% over 80); at rate 160 only 88.8 of "
                        "160.0 requests/s offered were sent (44.5% short, > 10%): past the knee, "
                        "the last level that keeps up is 80");
    cJSON *j = knee_to_json(&k, p, 5, "rate", NULL, 0.10, NULL);
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "rate");
    assert_true(cJSON_GetObjectItem(j, "level")->valuedouble == 80);
    assert_true(cJSON_GetObjectItem(j, "rate_level")->valuedouble == 80);
    cJSON_Delete(j);
    /* Short already at the first level: no level keeps up. */
    p[0].achieved = 5;
    knee_detect(p, 5, 0.10, &k);
    assert_int_equal(k.reason, KNEE_RATE);
    assert_int_equal(k.index, -1);
    /* Every level keeps up (within the threshold): said so. */
    for (int i = 0; i < 5; i++)
        p[i].achieved = lv[i] * 0.95;
    knee_detect(p, 5, 0.10, &k);
    assert_int_equal(k.rate_short, -1);
    assert_non_null(strstr(knee_text(&k, p, 5, "rate", 0.10, NULL),
                           "; every level sent its offered rate within 10%"));
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
    assert_string_equal(cJSON_GetObjectItem(j, "peak_level")->valuestring, "tiny");
    assert_non_null(strstr(cJSON_GetObjectItem(j, "text")->valuestring,
                           "saturates at prompt-set tiny (100 tok/s): no later level is higher"));
    cJSON_Delete(j);
}

/* ---- find-max ----------------------------------------------------------------- */

struct oracle { double limit; int calls; int fail_at_call; };

static int oracle_eval(void *ud, double level, uint64_t more, struct knee_probe *p)
{
    struct oracle *o = ud;
    (void)more;
    if (++o->calls == o->fail_at_call)
        return -7;
    p->ok = level <= o->limit;
    return 0;
}

/* A server whose attainment is 100% up to cap, then falls by 10 points a
 * level; levels from sat on are saturated.  Each run judges n requests
 * (more when asked), good ones spread evenly. */
struct gp_oracle { double cap, sat; uint64_t n; int runs; uint64_t asked[64]; double levels[64]; };

static int gp_eval(void *ud, double level, uint64_t more, struct knee_probe *p)
{
    struct gp_oracle *o = ud;
    uint64_t n = more ? more : o->n;
    double att = level <= o->cap ? 1.0 : fmax(0, 1 - 0.1 * (level - o->cap));
    o->asked[o->runs] = more;
    o->levels[o->runs++] = level;
    p->ok = 1;
    p->judged += n;
    p->good += (uint64_t)floor(att * (double)n + 0.5);
    p->saturated = o->sat > 0 && level >= o->sat;
    return 0;
}

static void test_findmax_goodput(void **state)
{
    (void)state;
    /* 100 requests a level: 100 of 100 good has a lower bound of 0.963,
     * over 95%; 90% at cap + 1 an upper bound below it.  The search is the
     * plain one, and the hold repeats the answer. */
    struct gp_oracle o = { .cap = 8, .n = 100 };
    struct knee_findmax_opts opts = { .start = 1, .limit = 64, .integer = 1, .goodput = 0.95,
                                      .hold = 1 };
    struct knee_findmax r;
    assert_int_equal(knee_findmax_run(&opts, gp_eval, &o, &r), 0);
    assert_true(r.best == 8 && r.first_fail == 9);
    double want[] = { 1, 2, 4, 8, 16, 12, 10, 9 };
    assert_int_equal(r.ntried, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_true(r.tried[i].level == want[i]);
        assert_int_equal(r.tried[i].runs, 1);
    }
    assert_true(fabs(r.tried[3].lo - 100 / (100 + SLO_Z95 * SLO_Z95)) < 1e-9);
    assert_true(r.tried[7].hi < 0.95);
    assert_true(r.held && r.hold.level == 8 && r.hold.ok && r.hold.judged == 100);
    assert_int_equal(o.runs, 9);

    /* 40 requests a level: 40 of 40 has a lower bound of 0.912, which
     * straddles 95%, so a passing level runs 40 more: 80 of 80 gives 0.954.
     * Level 3 (90%): 36 of 40 straddles too (0.769-0.960), 72 of 80 does
     * not (upper bound 0.948): it fails after two runs. */
    struct gp_oracle o2 = { .cap = 2, .n = 40 };
    struct knee_findmax_opts o2o = { .start = 1, .limit = 64, .integer = 1, .goodput = 0.95 };
    assert_int_equal(knee_findmax_run(&o2o, gp_eval, &o2, &r), 0);
    assert_true(r.best == 2 && r.first_fail == 3);
    assert_int_equal(r.tried[0].runs, 2);
    assert_int_equal(r.tried[0].judged, 80);
    assert_true(r.tried[0].ok && r.tried[0].lo >= 0.95);
    assert_true(o2.asked[0] == 0 && o2.asked[1] == 40);
    assert_int_equal(r.ntried, 4);              /* 1, 2, 4 (80%: decided at once), 3 */
    assert_true(r.tried[2].level == 4 && r.tried[2].runs == 1);
    assert_true(r.tried[3].level == 3 && !r.tried[3].ok && r.tried[3].runs == 2);
    assert_true(r.tried[3].hi < 0.95);
    assert_false(r.held);
    /* A level past saturation fails, however good its requests. */
    struct gp_oracle o3 = { .cap = 1000, .sat = 6, .n = 100 };
    assert_int_equal(knee_findmax_run(&opts, gp_eval, &o3, &r), 0);
    assert_true(r.best == 5 && r.first_fail == 6);
    assert_true(r.tried[r.ntried - 1].saturated || r.tried[4].saturated);
    /* Never decided: after more_max more runs the level is not shown to
     * meet the target. */
    struct gp_oracle o4 = { .cap = 0, .n = 100 };
    struct knee_findmax_opts o4o = { .start = 1, .limit = 1, .integer = 1, .goodput = 0.89,
                                     .more_max = 1 };
    assert_int_equal(knee_findmax_run(&o4o, gp_eval, &o4, &r), 0);
    assert_true(isnan(r.best));
    assert_int_equal(r.tried[0].runs, 2);
    assert_int_equal(r.tried[0].judged, 200);
}

static void test_saturated(void **state)
{
    (void)state;
    cJSON *s = cJSON_Parse("{\"queue_time\":{\"p50\":0.001},\"e2e\":{\"p50\":0.5}}");
    cJSON *ol = cJSON_Parse("{\"offered_rate\":10,\"achieved_rate\":9.5}");
    assert_false(knee_saturated(s, NULL, 0.1));
    assert_false(knee_saturated(s, ol, 0.1));
    cJSON_SetNumberValue(cJSON_GetObjectItem(ol, "achieved_rate"), 8.9);
    assert_true(knee_saturated(s, ol, 0.1));
    cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "queue_time"), "p50"), 0.6);
    assert_true(knee_saturated(s, NULL, 0.1));
    cJSON_Delete(s);
    cJSON_Delete(ol);
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
        "concurrency       tok/s tok/s/user      RPS   E2E avg   E2E p95   E2E p99  TTFT p50  TTFT p95  success\n"
        "1                  45.0       45.0     0.90    1.20 s    1.50 s    1.65 s   12.0 ms         -   100.0%\n"
        "2                  90.0       45.0     1.80    1.28 s    1.60 s    1.76 s   12.0 ms         -    97.0%\n";
    assert_string_equal(t, want);
    free(t);
    /* Open loop: the queue, the late arrivals, the offered and achieved
     * rates of each level. */
    cJSON *ol = cJSON_AddObjectToObject(cJSON_GetArrayItem(levels, 1), "open_loop");
    cJSON_AddNumberToObject(ol, "offered_rate", 20);
    cJSON_AddNumberToObject(ol, "achieved_rate", 9.5);
    t = capture_table(levels, 1);
    assert_non_null(strstr(t, "queue p95   late  offered achieved\n"));
    assert_non_null(strstr(t, "97.0%         -      -    20.00     9.50\n"));
    free(t);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(knee_csv_write(f, "concurrency", levels), 0);
    fclose(f);
    assert_string_equal(buf,
        "parameter,level,requests,ok,failed,success_rate,rps,output_tps,tps_per_user,"
        "e2e_mean_s,e2e_p95_s,e2e_p99_s,ttft_p50_s,ttft_p95_s,queue_p95_s,late,"
        "offered_rate,achieved_rate\n"
        "concurrency,1,100,100,0,1,0.9,45,45,1.2,1.5,1.65,0.012,,,,,\n"
        "concurrency,2,100,97,3,0.97,1.8,90,45,1.28,1.6,1.76,0.012,,,,20,9.5\n");
    free(buf);

    struct knee_point p[4];
    assert_int_equal(knee_points_from_levels(levels, p, 4), 2);
    assert_true(p[1].tps == 90 && fabs(p[1].latency - 1.28) < 1e-12 && isnan(p[1].latency_sched));
    cJSON_Delete(levels);
    /* Not a levels array. */
    cJSON *bad = cJSON_Parse("[{\"level\":1}]");
    assert_int_equal(knee_points_from_levels(bad, p, 4), -1);
    cJSON_Delete(bad);
}

/* The knee of a sweep document's levels: what each parameter reads. */
static void test_knee_of_levels(void **state)
{
    (void)state;
    double lv[] = { 1, 2, 4, 8, 16 }, tps[] = { 363, 279, 311, 683, 687 };
    double p95[] = { 0.35, 0.92, 1.65, 1.5, 3.0 }, ok[] = { 1, 1, 1, 1, 1 };
    cJSON *levels = make_levels(lv, tps, p95, ok, 5);
    cJSON *k = knee_of_levels(levels, "concurrency", 0.10, NULL);
    assert_true(cJSON_GetObjectItem(k, "level")->valuedouble == 8);
    assert_true(cJSON_GetObjectItem(k, "latency_level")->valuedouble == 8);
    cJSON_Delete(k);
    /* Across temperatures a flat throughput is no knee: nothing to say
     * without an SLO, and with one, only the SLO counts. */
    k = knee_of_levels(levels, "temperature", 0.10, NULL);
    assert_true(cJSON_IsNull(k));
    cJSON_Delete(k);
    cJSON_AddBoolToObject(cJSON_GetArrayItem(levels, 3), "slo_ok", 0);
    k = knee_of_levels(levels, "temperature", 0.10, "p95(e2e)<=1s");
    assert_string_equal(cJSON_GetObjectItem(k, "reason")->valuestring, "slo");
    assert_true(cJSON_GetObjectItem(k, "level")->valuedouble == 4);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(k, "peak_level")));
    assert_string_equal(cJSON_GetObjectItem(k, "text")->valuestring,
                        "SLO 'p95(e2e)<=1s' first fails at temperature 8, the last level that meets it is 4");
    cJSON_Delete(k);
    /* A rate sweep reads the open-loop rates of each level, and its
     * latency from the schedule; other parameters ignore both. */
    cJSON *lvl;
    int i = 0;
    cJSON_ArrayForEach(lvl, levels) {
        cJSON_DeleteItemFromObject(lvl, "slo_ok");
        cJSON *ol = cJSON_AddObjectToObject(lvl, "open_loop");
        cJSON_AddNumberToObject(ol, "offered_rate", lv[i]);
        cJSON_AddNumberToObject(ol, "achieved_rate", i == 4 ? 10 : lv[i]);
        cJSON *es = cJSON_AddObjectToObject(cJSON_GetObjectItem(lvl, "summary"), "e2e_from_schedule");
        cJSON_AddNumberToObject(es, "mean", i < 3 ? 0.5 : 0.5 * lv[i]);
        i++;
    }
    k = knee_of_levels(levels, "rate", 0.10, NULL);
    assert_string_equal(cJSON_GetObjectItem(k, "reason")->valuestring, "throughput");
    assert_true(cJSON_GetObjectItem(k, "rate_level")->valuedouble == 8);
    assert_true(cJSON_GetObjectItem(k, "latency_level")->valuedouble == 4);
    assert_non_null(strstr(cJSON_GetObjectItem(k, "text")->valuestring,
                           "latency knee at rate 4: mean latency from the schedule grows 8.0x from 4 to 8"));
    cJSON_Delete(k);
    k = knee_of_levels(levels, "concurrency", 0.10, NULL);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(k, "rate_level")));
    assert_null(strstr(cJSON_GetObjectItem(k, "text")->valuestring, "offered"));
    cJSON_Delete(k);
    cJSON_Delete(levels);
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
    assert_string_equal(cJSON_GetObjectItem(rec, "basis")->valuestring, "throughput");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rec, "decided")));
    /* No samples in these sweeps: the geometric mean of the throughputs
     * decides, with the noise band. */
    cJSON *ratio = cJSON_GetObjectItem(rec, "ratio");
    double want_r = pow(2.0 * 2 * (400.0 / 101) * (410.0 / 102), 0.25);
    assert_true(fabs(cJSON_GetObjectItem(ratio, "point")->valuedouble - want_r) < 1e-9);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(ratio, "lo")));
    cJSON *reasons = cJSON_GetObjectItem(rec, "reasons");
    assert_int_equal(cJSON_GetArraySize(reasons), 7);
    assert_string_equal(cJSON_GetArrayItem(reasons, 0)->valuestring,
        "throughput under load: slow 102.0 tok/s, fast 410.0 tok/s (peak): fast is 4.02x higher");
    assert_string_equal(cJSON_GetArrayItem(reasons, 1)->valuestring,
        "latency at high concurrency: slow 8.00 s, fast 2.00 s (p95 at concurrency 8): fast is 4.00x lower");
    assert_string_equal(cJSON_GetArrayItem(reasons, 2)->valuestring,
        "single-user speed: slow 50.0 tok/s, fast 100.0 tok/s (per user at concurrency 1): fast is 2.00x higher");
    assert_string_equal(cJSON_GetArrayItem(reasons, 3)->valuestring,
        "success rate: slow 92.5%, fast 100.0%: fast is best");
    assert_string_equal(cJSON_GetArrayItem(reasons, 4)->valuestring,
        "worst case across levels: at concurrency 1 fast is 2.00x slow");
    /* Past the knee (4 for fast, 2 for slow): fast keeps its throughput at
     * 8, slow too but loses requests. */
    assert_string_equal(cJSON_GetArrayItem(reasons, 5)->valuestring,
        "past capacity: slow degrades gracefully (at concurrency 8 it keeps 102% of its good "
        "output tokens/s at the knee, concurrency 2; success 80.0%)");
    cJSON *past = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "past_capacity"), "fast");
    assert_string_equal(cJSON_GetObjectItem(past, "verdict")->valuestring, "degrades gracefully");
    assert_true(cJSON_GetObjectItem(past, "knee_level")->valuedouble == 4);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    knee_compare_print(f, "concurrency", names, sw, 2, an);
    fclose(f);
    assert_non_null(strstr(buf, "recommend fast: 2.82x the throughput of slow at equal load "
                                "(no per-request samples: a 5% band decides)\n"));
    assert_non_null(strstr(buf, "fast: throughput saturates at concurrency 4"));
    assert_non_null(strstr(buf, "| fast         4.02x\n"));
    free(buf);
    cJSON_Delete(an);

    /* Two equal leaders tie on every criterion, and a tie is no win: no
     * clear winner (the slow one leads nothing). */
    cJSON *a2 = make_sweep(lv, fast, pf, okf, 4);
    const char *names3[] = { "slow", "fast", "fast2" };
    const cJSON *sw3[] = { b, a, a2 };
    an = knee_compare("concurrency", names3, sw3, 3, 0.10);
    rec = cJSON_GetObjectItem(an, "recommendation");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "target")));
    assert_string_equal(cJSON_GetObjectItem(rec, "text")->valuestring,
                        "no clear winner at this confidence: fast is 1.00x fast2 in throughput at equal "
                        "load (no per-request samples: a 5% band decides)");
    cJSON *rank = cJSON_GetObjectItem(rec, "ranking");
    assert_int_equal(cJSON_GetArraySize(rank), 3);
    assert_string_equal(cJSON_GetArrayItem(rank, 2)->valuestring, "slow");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "reasons"), 0)->valuestring,
        "throughput under load: slow 102.0 tok/s, fast 410.0 tok/s, fast2 410.0 tok/s (peak): "
        "a tie within noise between fast and fast2");
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(an, "levels"), 0);
    assert_true(cJSON_GetObjectItem(r0, "speedup")->valuedouble == 1.0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r0, "winner")));
    cJSON *tied = cJSON_GetObjectItem(r0, "tied");
    assert_int_equal(cJSON_GetArraySize(tied), 2);
    assert_string_equal(cJSON_GetArrayItem(tied, 1)->valuestring, "fast2");
    cJSON_Delete(an);
    cJSON_Delete(a2);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* A level entry with a per-request SLO tally: good of judged, goodput in
 * output tokens/s, and what the server shed. */
static cJSON *slo_level(double level, double good, double judged, double gtps, double s429, double s503)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddNumberToObject(l, "level", level);
    cJSON *s = cJSON_AddObjectToObject(l, "summary");
    cJSON_AddNumberToObject(s, "requests", judged);
    cJSON_AddNumberToObject(s, "ok", judged - s429 - s503);
    cJSON_AddNumberToObject(s, "output_tps", 1000);
    cJSON *slo = cJSON_AddObjectToObject(s, "slo");
    cJSON_AddNumberToObject(slo, "judged", judged);
    cJSON_AddNumberToObject(slo, "good", good);
    cJSON_AddNumberToObject(slo, "attainment", good / judged);
    double lo, hi;
    slo_wilson((uint64_t)good, (uint64_t)judged, SLO_Z95, &lo, &hi);
    cJSON *ci = cJSON_AddArrayToObject(slo, "attainment_ci95");
    cJSON_AddItemToArray(ci, cJSON_CreateNumber(lo));
    cJSON_AddItemToArray(ci, cJSON_CreateNumber(hi));
    cJSON_AddNumberToObject(slo, "goodput_rps", gtps / 100);
    cJSON_AddNumberToObject(slo, "goodput_tps", gtps);
    cJSON *smp = cJSON_AddObjectToObject(l, "samples");
    cJSON_AddNumberToObject(smp, "shed_429", s429);
    cJSON_AddNumberToObject(smp, "shed_503", s503);
    return l;
}

static void test_past_capacity(void **state)
{
    (void)state;
    /* 1.5x, rounded up for whole levels; a rate as it is. */
    assert_true(knee_past_level(8, 1) == 12);
    assert_true(knee_past_level(5, 1) == 8);
    assert_true(knee_past_level(1, 1) == 2);
    assert_true(knee_past_level(2, 1) == 3);
    assert_true(fabs(knee_past_level(36.25, 0) - 54.375) < 1e-12);
    /* The verdict: within the knee's noise band, down to half, below. */
    assert_string_equal(knee_past_verdict(0.95, 0.10), "degrades gracefully");
    assert_string_equal(knee_past_verdict(0.90, 0.10), "degrades gracefully");
    assert_string_equal(knee_past_verdict(0.89, 0.10), "degrades");
    assert_string_equal(knee_past_verdict(0.50, 0.10), "degrades");
    assert_string_equal(knee_past_verdict(0.49, 0.10), "collapses");
    assert_string_equal(knee_past_verdict(NAN, 0.10), "unknown");
    assert_string_equal(knee_past_verdict(0.85, 0.20), "degrades gracefully");

    /* A server that sheds the excess with 503 keeps its goodput. */
    cJSON *at = slo_level(8, 100, 100, 800, 0, 0), *past = slo_level(12, 66, 100, 792, 0, 34);
    cJSON *o = knee_past_json(at, past, "concurrency", 0.10);
    assert_non_null(o);
    assert_true(cJSON_GetObjectItem(o, "capacity")->valuedouble == 8);
    assert_true(cJSON_GetObjectItem(o, "level")->valuedouble == 12);
    assert_true(fabs(cJSON_GetObjectItem(o, "retained")->valuedouble - 0.99) < 1e-12);
    assert_true(cJSON_GetObjectItem(o, "attainment")->valuedouble == 0.66);
    assert_true(cJSON_GetObjectItem(o, "capacity_attainment")->valuedouble == 1);
    assert_true(cJSON_GetObjectItem(o, "shed_503")->valuedouble == 34);
    assert_true(cJSON_GetObjectItem(o, "success_rate")->valuedouble == 0.66);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(o, "saturated")));
    assert_string_equal(cJSON_GetObjectItem(o, "verdict")->valuestring, "degrades gracefully");
    assert_string_equal(cJSON_GetObjectItem(o, "text")->valuestring,
                        "degrades gracefully at concurrency 12 (1.5x the capacity, 8): keeps 99.0% of its "
                        "good output tokens/s (792.0 against 800.0 tok/s), 66/100 good (56.3-74.5%); "
                        "success 66.0%, shed 0 with 429 and 34 with 503");
    cJSON_Delete(o);
    cJSON_Delete(past);
    /* One that queues everybody loses it. */
    past = slo_level(12, 10, 100, 80, 0, 0);
    o = knee_past_json(at, past, "concurrency", 0.10);
    assert_true(fabs(cJSON_GetObjectItem(o, "retained")->valuedouble - 0.1) < 1e-12);
    assert_string_equal(cJSON_GetObjectItem(o, "verdict")->valuestring, "collapses");
    cJSON_Delete(o);
    cJSON_Delete(past);
    cJSON_Delete(at);
}

/* Capacities rank the targets when each sweep ran a capacity search, and
 * the recommendation says them; the cost is paid at the capacity. */
static void test_compare_capacity(void **state)
{
    (void)state;
    cJSON *sw[2];
    double caps[2] = { 4, 12 }, fails[2] = { 5, 13 };
    for (int i = 0; i < 2; i++) {
        sw[i] = cJSON_CreateObject();
        cJSON_AddStringToObject(sw[i], "parameter", "concurrency");
        cJSON_AddStringToObject(sw[i], "slo_per_request", "ttft<=100ms");
        cJSON *levels = cJSON_AddArrayToObject(sw[i], "levels");
        cJSON_AddItemToArray(levels, slo_level(caps[i], 100, 100, 100 * caps[i], 0, 0));
        cJSON_AddItemToArray(levels, slo_level(fails[i], 80, 100, 90 * caps[i], 0, 0));
        cJSON_AddItemToArray(levels, slo_level(knee_past_level(caps[i], 1), 20, 100, 30 * caps[i], 0, 0));
        cJSON *fm = cJSON_AddObjectToObject(sw[i], "find_max");
        cJSON_AddNumberToObject(fm, "max", caps[i]);
        cJSON_AddNumberToObject(fm, "first_fail", fails[i]);
        cJSON_AddNumberToObject(fm, "goodput_target", 0.95);
        cJSON_AddNumberToObject(fm, "probes", 5);
        cJSON_AddItemToObject(fm, "past_capacity",
                              knee_past_json(cJSON_GetArrayItem(levels, 0), cJSON_GetArrayItem(levels, 2),
                                             "concurrency", 0.10));
    }
    const char *names[] = { "small", "big" };
    double usd[] = { 1, 1 };
    struct compare_extra x = { usd, 0 };
    cJSON *an = knee_compare_ex("concurrency", names, (const cJSON *const *)sw, 2, 0.10, &x);
    cJSON *rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(rec, "basis")->valuestring, "capacity");
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "big");
    assert_string_equal(cJSON_GetObjectItem(rec, "text")->valuestring,
                        "recommend big: 3.00x the capacity of small at the SLO (95% CI 2.400..3.250)");
    cJSON *cap = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "capacity"), "big");
    assert_true(cJSON_GetObjectItem(cap, "value")->valuedouble == 12);
    assert_true(cJSON_GetObjectItem(cap, "hi")->valuedouble == 13);
    int seen = 0;
    cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(rec, "reasons")) {
        if (!strncmp(r->valuestring, "capacity at the SLO", 19)) {
            assert_string_equal(r->valuestring,
                "capacity at the SLO (largest concurrency meeting ttft<=100ms with attainment >= 95%, 95% "
                "lower bound): small 4 (5 does not meet it, 5 probes), big 12 (13 does not meet it, 5 probes)");
            seen |= 1;
        }
        if (!strncmp(r->valuestring, "past capacity: big collapses at concurrency 18", 46))
            seen |= 2;
    }
    assert_int_equal(seen, 3);
    cJSON *pb = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "past_capacity"), "big");
    assert_string_equal(cJSON_GetObjectItem(pb, "from")->valuestring, "capacity");
    assert_true(fabs(cJSON_GetObjectItem(pb, "retained")->valuedouble - 0.3) < 1e-12);
    /* $1/h at 1200 good tok/s, the run at the capacity 12. */
    cJSON *cb = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "cost"), "big");
    assert_true(cJSON_GetObjectItem(cb, "level")->valuedouble == 12);
    assert_true(fabs(cJSON_GetObjectItem(cb, "usd_per_million_tokens")->valuedouble -
                     1e6 / (1200.0 * 3600)) < 1e-12);
    cJSON_Delete(an);
    /* A search that met the SLO at no level it tried ranks last. */
    cJSON *fm0 = cJSON_GetObjectItem(sw[0], "find_max");
    cJSON_ReplaceItemInObject(fm0, "max", cJSON_CreateNull());
    cJSON_ReplaceItemInObject(fm0, "first_fail", cJSON_CreateNumber(1));
    an = knee_compare_ex("concurrency", names, (const cJSON *const *)sw, 2, 0.10, NULL);
    rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(rec, "basis")->valuestring, "capacity");
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "big");
    assert_string_equal(cJSON_GetObjectItem(rec, "text")->valuestring,
                        "recommend big: the only target that meets the SLO at a level tried (capacity 12)");
    assert_non_null(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "reasons"), 4)->valuestring,
                           "small none (1 does not meet it, 5 probes)"));
    cJSON_Delete(an);
    cJSON_Delete(sw[0]);
    cJSON_Delete(sw[1]);
}

/* A compare of two sweeps from per-level rows, as make_levels takes them. */
static cJSON *compare2(const char *na, cJSON *a, const char *nb, cJSON *b)
{
    const char *names[] = { na, nb };
    const cJSON *sw[] = { a, b };
    return knee_compare("concurrency", names, sw, 2, 0.10);
}

static const char *rec_text(const cJSON *an)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(an, "recommendation"), "text")->valuestring;
}

/* A sweep of one level (concurrency 8) whose samples hold one request a
 * round: 100 tokens in t[r] seconds, as compare --rounds pools them. */
static cJSON *rounds_sweep(const double *t, size_t k)
{
    double lv[] = { 8 }, tps[] = { 100 }, p95[] = { 1 }, ok[] = { 1 };
    cJSON *s = make_sweep(lv, tps, p95, ok, 1);
    cJSON *smp = cJSON_AddObjectToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "levels"), 0), "samples");
    cJSON *e = cJSON_AddArrayToObject(smp, "e2e_s"), *n = cJSON_AddArrayToObject(smp, "output_tokens");
    cJSON *o = cJSON_AddArrayToObject(smp, "ok"), *r = cJSON_AddArrayToObject(smp, "round");
    for (size_t i = 0; i < k; i++) {
        cJSON_AddItemToArray(e, cJSON_CreateNumber(t[i]));
        cJSON_AddItemToArray(n, cJSON_CreateNumber(100));
        cJSON_AddItemToArray(o, cJSON_CreateNumber(1));
        cJSON_AddItemToArray(r, cJSON_CreateNumber((double)i));
    }
    return s;
}

/* Over rounds the verdict is one statistic of the rounds' log ratios: from
 * 6 rounds the hull of Student's t and the signed-rank interval, centred on
 * the Hodges-Lehmann estimate.  The rounds here are those of a compare of
 * two identical simulators in bench/verdict_trials.py (test_stats.c), where
 * a burst of other work slowed "a" in rounds 1 and 2: t is the wider, from
 * the mean -1.01% and its standard error 0.00339 (t(11) = 2.201); b leads
 * by 1.00x (the Hodges-Lehmann estimate, 0.046%) and nothing is decided. */
static void test_compare_rounds_hull(void **state)
{
    (void)state;
    const double *lr = verdict_rounds_lr;
    double ta[12], tb[12];
    for (int i = 0; i < 12; i++) {
        ta[i] = exp(-lr[i]);    /* a's rate over b's is exp(lr) */
        tb[i] = 1;
    }
    cJSON *a = rounds_sweep(ta, 12), *b = rounds_sweep(tb, 12);
    cJSON *an = compare2("a", a, "b", b);
    cJSON *rec = cJSON_GetObjectItem(an, "recommendation");
    cJSON *ratio = cJSON_GetObjectItem(rec, "ratio");
    assert_string_equal(cJSON_GetObjectItem(ratio, "method")->valuestring, "rounds-rank");
    assert_true(cJSON_GetObjectItem(ratio, "rounds")->valuedouble == 12);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(ratio, "of"), 0)->valuestring, "b");
    assert_true(fabs(cJSON_GetObjectItem(ratio, "point")->valuedouble - exp(0.00046358937934996955)) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(ratio, "lo")->valuedouble - exp(-0.004842243331503095)) < 1e-6);
    assert_true(fabs(cJSON_GetObjectItem(ratio, "hi")->valuedouble - exp(0.02504891652255358)) < 1e-6);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(rec, "decided")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "target")));
    assert_non_null(strstr(rec_text(an), "no clear winner at this confidence: b is 1.00x a in throughput at "
                                         "equal load (95% CI 0.995..1.025, t and signed-rank over the rounds)"));
    cJSON_Delete(an);
    cJSON_Delete(a);
    cJSON_Delete(b);
    /* The first four rounds: too few for a rank interval at 95%, Student's
     * t alone, on the mean. */
    a = rounds_sweep(ta, 4);
    b = rounds_sweep(tb, 4);
    an = compare2("a", a, "b", b);
    ratio = cJSON_GetObjectItem(cJSON_GetObjectItem(an, "recommendation"), "ratio");
    assert_string_equal(cJSON_GetObjectItem(ratio, "method")->valuestring, "rounds");
    assert_true(fabs(log(cJSON_GetObjectItem(ratio, "point")->valuedouble) -
                     -(lr[0] + lr[1] + lr[2] + lr[3]) / 4) < 1e-9);
    assert_non_null(strstr(rec_text(an), ", over the rounds)"));
    cJSON_Delete(an);
    cJSON_Delete(a);

    /* One round of twelve 20% slower for b, the other eleven 1% slower for
     * a: the pooled rates put a first (b's one slow round weighs on its
     * sums), the rounds' centre b, and the ranking follows the statistic
     * that decides (which the outlier keeps from deciding: t is wide). */
    for (int i = 0; i < 12; i++)
        ta[i] = i == 5 ? 1 : 1.01;
    for (int i = 0; i < 12; i++)
        tb[i] = i == 5 ? 1.2 : 1;
    cJSON_Delete(b);
    a = rounds_sweep(ta, 12);
    b = rounds_sweep(tb, 12);
    an = compare2("a", a, "b", b);
    rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "ranking"), 0)->valuestring, "b");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(rec, "decided")));
    assert_non_null(strstr(rec_text(an), "no clear winner at this confidence: b is 1.01x a"));
    cJSON_Delete(an);
    cJSON_Delete(a);
    cJSON_Delete(b);

    /* Six rounds 5% apart, give or take 0.5%: every round says a, and both
     * intervals exclude 1. */
    double t6a[] = { 1, 1.005, 0.995, 1, 1.004, 0.996 }, t6b[6];
    for (int i = 0; i < 6; i++)
        t6b[i] = 1.05 * (i % 2 ? 1.003 : 0.998);
    a = rounds_sweep(t6a, 6);
    b = rounds_sweep(t6b, 6);
    an = compare2("a", a, "b", b);
    rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "a");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "ratio"), "lo")->valuedouble > 1.03);
    assert_non_null(strstr(rec_text(an), "recommend a: 1.05x the throughput of b at equal load (95% CI "));
    cJSON_Delete(an);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* Issue 10: ties counted as wins ("leads 4 of 4 criteria (... success
 * rate (tied))", wins 4).  b is as good as a on three criteria: a wins one. */
static void test_compare_ties_are_not_wins(void **state)
{
    (void)state;
    double lv[] = { 1, 2 }, ta[] = { 100, 200 }, tb[] = { 100, 120 }, p95[] = { 1, 1 }, ok[] = { 1, 1 };
    cJSON *a = make_sweep(lv, ta, p95, ok, 2), *b = make_sweep(lv, tb, p95, ok, 2);
    cJSON *an = compare2("a", a, "b", b);
    cJSON *rec = cJSON_GetObjectItem(an, "recommendation");
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "a");
    assert_string_equal(rec_text(an), "recommend a: 1.29x the throughput of b at equal load "
                        "(no per-request samples: a 5% band decides)");
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "criteria"), 0);
    assert_string_equal(cJSON_GetObjectItem(c0, "name")->valuestring, "throughput under load");
    assert_string_equal(cJSON_GetObjectItem(c0, "winner")->valuestring, "a");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "values"), "b")->valuedouble == 120);
    cJSON *c3 = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "criteria"), 3);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(c3, "winner")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c3, "tied")), 2);
    cJSON_Delete(an);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* A difference within noise is a tie: 2.4% of throughput, and one failed
 * request in 200 against none (well inside two standard errors). */
static void test_compare_noise(void **state)
{
    (void)state;
    double lv[] = { 1, 2 }, ta[] = { 205, 410 }, tb[] = { 200, 400 }, p95[] = { 1, 1 };
    double oka[] = { 1, 1 }, okb[] = { 1, 0.99 };
    cJSON *a = make_sweep(lv, ta, p95, oka, 2), *b = make_sweep(lv, tb, p95, okb, 2);
    cJSON *an = compare2("a", a, "b", b);
    assert_string_equal(rec_text(an), "no clear winner at this confidence: a is 1.03x b in throughput "
                        "at equal load (no per-request samples: a 5% band decides)");
    cJSON *r1 = cJSON_GetArrayItem(cJSON_GetObjectItem(an, "levels"), 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r1, "winner")));
    assert_true(fabs(cJSON_GetObjectItem(r1, "speedup")->valuedouble - 410.0 / 400) < 1e-9);
    cJSON_Delete(an);
    /* 20 failed of 200 is no noise: a wins the success rate, alone, which
     * the reasons say; throughput decides the recommendation. */
    cJSON_Delete(b);
    double okc[] = { 0.9, 0.9 };
    b = make_sweep(lv, tb, p95, okc, 2);
    an = compare2("a", a, "b", b);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(an, "recommendation"), "target")));
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(an, "recommendation"),
                                                               "reasons"), 3)->valuestring,
                        "success rate: a 100.0%, b 90.0%: a is best");
    cJSON_Delete(an);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* One is faster, the other answers sooner at load: no clear winner, and
 * the text says who wins what. */
static void test_compare_no_clear_winner(void **state)
{
    (void)state;
    double lv[] = { 1, 8 }, ta[] = { 100, 800 }, tb[] = { 100, 400 }, pa[] = { 1, 4 }, pb[] = { 1, 2 };
    double ok[] = { 1, 1 };
    cJSON *a = make_sweep(lv, ta, pa, ok, 2), *b = make_sweep(lv, tb, pb, ok, 2);
    cJSON *an = compare2("big", a, "small", b);
    cJSON *rec = cJSON_GetObjectItem(an, "recommendation");
    /* Throughput at equal load decides; the latency it costs is a reason. */
    assert_string_equal(cJSON_GetObjectItem(rec, "target")->valuestring, "big");
    assert_string_equal(rec_text(an), "recommend big: 1.41x the throughput of small at equal load "
                        "(no per-request samples: a 5% band decides)");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "reasons"), 1)->valuestring,
                        "latency at high concurrency: big 4.00 s, small 2.00 s (p95 at concurrency 8): "
                        "small is 2.00x lower");
    cJSON_Delete(an);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* Issue 10: saved sweeps whose levels differ counted the missing levels as
 * failures ("success rate 71.4%" when every request succeeded) and listed
 * the rows in the order they first appeared (...,16,5,6).  Only the common
 * levels are compared, in level order, and the others are named. */
static void test_compare_common_levels(void **state)
{
    (void)state;
    double la[] = { 1, 2, 16 }, lb[] = { 1, 2, 5, 6, 16 };
    double ta[] = { 100, 200, 210 }, tb[] = { 50, 100, 250, 300, 400 };
    double pa[] = { 1, 1, 8 }, pb[] = { 1, 1, 1, 1, 1 }, ok[] = { 1, 1, 1, 1, 1 };
    cJSON *a = make_sweep(la, ta, pa, ok, 3), *b = make_sweep(lb, tb, pb, ok, 5);
    cJSON *an = compare2("a", a, "b", b);
    cJSON *rows = cJSON_GetObjectItem(an, "levels");
    assert_int_equal(cJSON_GetArraySize(rows), 3);
    double want[] = { 1, 2, 16 };
    for (int i = 0; i < 3; i++)
        assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, i), "level")->valuedouble == want[i]);
    cJSON *left = cJSON_GetObjectItem(an, "left_out");
    assert_int_equal(cJSON_GetArraySize(left), 2);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(left, 0), "level")->valuedouble == 5);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(left, 1), "level")->valuedouble == 6);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(left, 0), "targets"), 0)->valuestring,
                        "b");
    cJSON *rec = cJSON_GetObjectItem(an, "recommendation");
    cJSON *reasons = cJSON_GetObjectItem(rec, "reasons");
    assert_string_equal(cJSON_GetArrayItem(reasons, 3)->valuestring,
                        "success rate: a 100.0%, b 100.0%: a tie within noise between a and b");
    assert_string_equal(cJSON_GetArrayItem(reasons, cJSON_GetArraySize(reasons) - 1)->valuestring,
                        "left out, not run by every target: concurrency 5 (b), 6 (b)");
    /* The peak is over the common levels: 400 at 16, not 300 at 6. */
    assert_string_equal(cJSON_GetArrayItem(reasons, 0)->valuestring,
                        "throughput under load: a 210.0 tok/s, b 400.0 tok/s (peak): b is 1.90x higher");
    /* Throughput at equal load is over every common level (a geometric
     * mean): a is twice b at 1 and 2, b is 1.9x a at 16. */
    assert_string_equal(rec_text(an), "recommend a: 1.28x the throughput of b at equal load "
                        "(no per-request samples: a 5% band decides)");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    knee_compare_print(f, "concurrency", (const char *[]){ "a", "b" }, (const cJSON *[]){ a, b }, 2, an);
    fclose(f);
    assert_non_null(strstr(buf, "\n2            |"));
    assert_null(strstr(buf, "\n5            |"));
    assert_non_null(strstr(buf, "  - left out, not run by every target: concurrency 5 (b), 6 (b)\n"));
    free(buf);
    cJSON_Delete(an);
    /* Nothing in common: nothing to recommend. */
    double lc[] = { 3, 4 };
    cJSON *c = make_sweep(lc, ta, pa, ok, 2);
    double l1[] = { 1, 2 };
    cJSON *d = make_sweep(l1, ta, pa, ok, 2);
    an = compare2("c", c, "d", d);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(an, "levels")), 0);
    assert_string_equal(rec_text(an), "no recommendation: the targets share no level");
    cJSON_Delete(an);
    cJSON_Delete(c);
    cJSON_Delete(d);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* A one-level result is one level, not a sweep that "grows at every step". */
static void test_compare_single_level(void **state)
{
    (void)state;
    double lv[] = { 32 }, ta[] = { 500 }, tb[] = { 300 }, p95[] = { 1 }, ok[] = { 1 };
    cJSON *a = make_sweep(lv, ta, p95, ok, 1), *b = make_sweep(lv, tb, p95, ok, 1);
    cJSON *an = compare2("a", a, "b", b);
    cJSON *sat = cJSON_GetObjectItem(cJSON_GetObjectItem(an, "saturation"), "a");
    assert_string_equal(cJSON_GetObjectItem(sat, "text")->valuestring,
                        "one level only (500 tok/s at concurrency 32): a knee needs two or more");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    knee_compare_print(f, "concurrency", (const char *[]){ "a", "b" }, (const cJSON *[]){ a, b }, 2, an);
    fclose(f);
    assert_null(strstr(buf, "every step"));
    free(buf);
    cJSON_Delete(an);
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
        "e2e_mean_s,e2e_p95_s,e2e_p99_s,ttft_p50_s,ttft_p95_s,queue_p95_s,late,"
        "offered_rate,achieved_rate\n"
        "\"vllm, a100\",concurrency,1,100,100,0,1,0.9,45,45,1.2,1.5,1.65,0.012,,,,,\n"
        "\"vllm, a100\",concurrency,2,100,97,3,0.97,1.8,90,45,1.28,1.6,1.76,0.012,,,,,\n");
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
        cmocka_unit_test(test_knee_dip),
        cmocka_unit_test(test_knee_none),
        cmocka_unit_test(test_knee_slo),
        cmocka_unit_test(test_knee_rate),
        cmocka_unit_test(test_knee_named_levels),
        cmocka_unit_test(test_findmax_integer),
        cmocka_unit_test(test_findmax_rate),
        cmocka_unit_test(test_findmax_edges),
        cmocka_unit_test(test_findmax_goodput),
        cmocka_unit_test(test_saturated),
        cmocka_unit_test(test_table_and_csv),
        cmocka_unit_test(test_knee_of_levels),
        cmocka_unit_test(test_compare_two),
        cmocka_unit_test(test_compare_ties_are_not_wins),
        cmocka_unit_test(test_compare_noise),
        cmocka_unit_test(test_compare_rounds_hull),
        cmocka_unit_test(test_compare_no_clear_winner),
        cmocka_unit_test(test_compare_common_levels),
        cmocka_unit_test(test_compare_single_level),
        cmocka_unit_test(test_compare_csv),
        cmocka_unit_test(test_compare_one_down),
        cmocka_unit_test(test_past_capacity),
        cmocka_unit_test(test_compare_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
