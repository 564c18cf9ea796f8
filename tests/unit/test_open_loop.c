/* Open-loop accounting (docs/metrics.md): arrivals, sent, late and unsent
 * agree with each other, and the offered and achieved rates come from the
 * same run's schedule and sends.  Records are made by hand as the engine
 * makes them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "result.h"
#include "sweep.h"

/* One finished measured request scheduled at sched_s, sent at start_s. */
static void add(struct run_stats *s, double sched_s, double start_s)
{
    struct req_record r;
    memset(&r, 0, sizeof r);
    r.sched_ns = (uint64_t)(sched_s * 1e9);
    r.start_ns = (uint64_t)(start_s * 1e9);
    r.first_ns = r.start_ns + 1000;
    r.end_ns = r.last_ns = r.start_ns + 100000000;
    r.out_tokens = r.server_tokens = 10;
    r.tok_src = TOK_SERVER;
    r.in_tokens = r.local_tokens = -1;
    run_stats_add(s, &r);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* A server that keeps up: 20 arrivals at 10/s, each sent on time (1 ms of
 * dispatch): both rates are 10/s within the dispatch delay. */
static void test_keeps_up(void **state)
{
    (void)state;
    struct run_stats s;
    assert_int_equal(run_stats_init(&s), 0);
    for (int k = 1; k <= 20; k++)
        add(&s, k / 10.0, k / 10.0 + 0.001);
    s.arrivals = 20;
    s.arrival_last_ns = 2000000000;
    double offered, achieved;
    assert_int_equal(run_stats_rates(&s, &offered, &achieved), 0);
    assert_true(fabs(offered - 10) < 1e-9);
    assert_true(fabs(achieved - 20 / 2.001) < 1e-9);
    cJSON *o = sweep_open_loop_json(&s);
    assert_true(num(o, "sent") == 20 && num(o, "late") == 0 && num(o, "unsent") == 0);
    cJSON_Delete(o);
    run_stats_free(&s);
}

/* Issue 10: offered 50/s for 2 s, one request in flight that takes 100 ms:
 * 100 arrivals, 20 sent (19 of them late), 80 never sent.  The rate
 * achieved is 10/s, and late counts only what was sent. */
static void test_falls_behind(void **state)
{
    (void)state;
    struct run_stats s;
    assert_int_equal(run_stats_init(&s), 0);
    for (int k = 0; k < 20; k++)
        add(&s, (k + 1) / 50.0, 0.02 + k * 0.1);
    s.arrivals = 100;
    s.arrival_last_ns = 2000000000;
    s.late = 19;
    s.unsent = 80;
    double offered, achieved;
    assert_int_equal(run_stats_rates(&s, &offered, &achieved), 0);
    assert_true(fabs(offered - 50) < 1e-9);
    assert_true(fabs(achieved - 20 / 1.92) < 1e-9);
    cJSON *o = sweep_open_loop_json(&s);
    assert_true(fabs(num(o, "offered_rate") - 50) < 1e-9);
    assert_true(fabs(num(o, "achieved_rate") - 20 / 1.92) < 1e-9);
    assert_true(num(o, "arrivals") == 100);
    assert_true(num(o, "sent") == 20);
    assert_true(num(o, "late") == 19);
    assert_true(num(o, "unsent") == 80);
    assert_true(num(o, "late") <= num(o, "sent"));
    assert_true(num(o, "sent") + num(o, "unsent") == num(o, "arrivals"));
    assert_true(num(o, "sent") == (double)s.requests);
    cJSON_Delete(o);
    /* Nothing sent at all: achieved 0, not NaN. */
    s.unsent = 100;
    assert_int_equal(run_stats_rates(&s, &offered, &achieved), 0);
    assert_true(achieved == 0);
    run_stats_free(&s);
}

/* A closed loop makes no arrivals: no rates, no open_loop object. */
static void test_closed_loop(void **state)
{
    (void)state;
    struct run_stats s;
    assert_int_equal(run_stats_init(&s), 0);
    add(&s, 0, 0.001);
    double offered, achieved;
    assert_int_equal(run_stats_rates(&s, &offered, &achieved), -1);
    assert_true(isnan(offered) && isnan(achieved));
    cJSON *o = sweep_open_loop_json(&s);
    assert_true(cJSON_IsNull(o));
    cJSON_Delete(o);
    run_stats_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keeps_up),
        cmocka_unit_test(test_falls_behind),
        cmocka_unit_test(test_closed_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
