/* Unit tests for the Prometheus / OpenMetrics writer (src/observe/obs_expo.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "obs_expo.h"
#include "obs_monitor.h"

static char *render(const struct obs_live *l, enum obs_format fmt)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(obs_expo_write(f, l, fmt), 0);
    fclose(f);
    return text;
}

/* The line that starts with prefix followed by a space, its value parsed;
 * fails when there is none. */
static double value_of(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, n) && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("no sample %s in:\n%s", prefix, text);
    return NAN;
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

#define RUN "target=\"http://127.0.0.1:1/\",model=\"m\",api=\"openai-chat\",run_id=\"r1\""

static void fill(struct obs_live *l, struct hist *e2e, struct hist *ttft)
{
    obs_live_init(l);
    l->labels = (struct obs_labels){ "http://127.0.0.1:1/", "m", "openai-chat", "r1" };
    l->ok = 3;
    l->failed = 2;
    l->errors[ERR_STATUS] = 1;
    l->errors[ERR_TIMEOUT_TTFT] = 1;
    l->input_tokens = 30;
    l->output_tokens = 300;
    l->in_flight = 4;
    l->queued = 1;
    l->concurrency = 8;
    l->e2e = e2e;
    l->ttft = ttft;
    l->elapsed_s = 2.5;
    /* 3 ms, 30 ms, 3 s */
    hist_record(e2e, 3000000);
    hist_record(e2e, 30000000);
    hist_record(e2e, 3000000000ull);
    hist_record(ttft, 1000000);     /* exactly on a bound: counted in it */
}

static void test_prometheus(void **state)
{
    (void)state;
    struct hist *e2e = hist_new(RESULT_HIST_NS_MAX), *ttft = hist_new(RESULT_HIST_NS_MAX);
    struct obs_live l;
    fill(&l, e2e, ttft);
    char *t = render(&l, OBS_FMT_PROMETHEUS);
    assert_true(has_line(t, "# TYPE llmload_requests_total counter"));
    assert_int_equal(value_of(t, "llmload_requests_total{" RUN ",outcome=\"ok\"}"), 3);
    assert_int_equal(value_of(t, "llmload_requests_total{" RUN ",outcome=\"error\"}"), 2);
    assert_int_equal(value_of(t, "llmload_request_errors_total{" RUN ",class=\"status\"}"), 1);
    assert_int_equal(value_of(t, "llmload_request_errors_total{" RUN ",class=\"timeout_ttft\"}"), 1);
    assert_int_equal(value_of(t, "llmload_request_errors_total{" RUN ",class=\"connect\"}"), 0);
    assert_null(strstr(t, "class=\"none\""));
    assert_int_equal(value_of(t, "llmload_output_tokens_total{" RUN "}"), 300);
    assert_int_equal(value_of(t, "llmload_input_tokens_total{" RUN "}"), 30);
    assert_int_equal(value_of(t, "llmload_requests_in_flight{" RUN "}"), 4);
    assert_int_equal(value_of(t, "llmload_requests_queued{" RUN "}"), 1);
    assert_int_equal(value_of(t, "llmload_concurrency_limit{" RUN "}"), 8);
    assert_true(value_of(t, "llmload_run_elapsed_seconds{" RUN "}") == 2.5);
    assert_int_equal(value_of(t, "llmload_run_finished{" RUN "}"), 0);
    /* the 0.0.4 format has no info type */
    assert_true(has_line(t, "# TYPE llmload_build_info gauge"));
    assert_int_equal(value_of(t, "llmload_build_info{" RUN ",version=\"" LLMLOAD_VERSION "\"}"), 1);

    /* cumulative buckets in seconds */
    assert_true(has_line(t, "# TYPE llmload_request_duration_seconds histogram"));
    const char *e = "llmload_request_duration_seconds_bucket{" RUN ",le=";
    char k[512];
    const struct { const char *le; int n; } want[] = {
        { "\"0.002\"}", 0 }, { "\"0.005\"}", 1 }, { "\"0.02\"}", 1 }, { "\"0.05\"}", 2 },
        { "\"2.0\"}", 2 }, { "\"5.0\"}", 3 }, { "\"600.0\"}", 3 }, { "\"+Inf\"}", 3 },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(k, sizeof k, "%s%s", e, want[i].le);
        assert_int_equal(value_of(t, k), want[i].n);
    }
    assert_int_equal(value_of(t, "llmload_request_duration_seconds_count{" RUN "}"), 3);
    assert_true(fabs(value_of(t, "llmload_request_duration_seconds_sum{" RUN "}") - 3.033) < 1e-9);
    assert_int_equal(value_of(t, "llmload_time_to_first_token_seconds_bucket{" RUN ",le=\"0.001\"}"), 1);
    assert_int_equal(value_of(t, "llmload_time_to_first_token_seconds_bucket{" RUN ",le=\"0.0005\"}"), 0);
    /* no histogram given, none written */
    assert_null(strstr(t, "llmload_inter_token_latency_seconds"));
    /* exact percentiles */
    assert_true(fabs(value_of(t, "llmload_latency_percentile_seconds{" RUN
                                   ",metric=\"e2e\",percentile=\"50\"}") - 0.03) < 1e-12);
    assert_true(value_of(t, "llmload_latency_percentile_seconds{" RUN ",metric=\"e2e\",percentile=\"99\"}")
                == 3);
    assert_null(strstr(t, "metric=\"itl\""));
    /* unknown values are left out, not NaN */
    assert_null(strstr(t, "NaN"));
    assert_null(strstr(t, "llmload_sweep_level"));
    assert_null(strstr(t, "llmload_client_loop_busy_ratio"));
    assert_null(strstr(t, "# EOF"));
    /* every line ends, and every family is typed once */
    assert_int_equal(t[strlen(t) - 1], '\n');
    free(t);
    hist_free(e2e);
    hist_free(ttft);
}

static void test_openmetrics(void **state)
{
    (void)state;
    struct hist *e2e = hist_new(RESULT_HIST_NS_MAX), *ttft = hist_new(RESULT_HIST_NS_MAX);
    struct obs_live l;
    fill(&l, e2e, ttft);
    l.finished = 1;
    char *t = render(&l, OBS_FMT_OPENMETRICS);
    /* families named without _total / _info; samples keep them */
    assert_true(has_line(t, "# TYPE llmload_requests counter"));
    assert_int_equal(value_of(t, "llmload_requests_total{" RUN ",outcome=\"ok\"}"), 3);
    assert_true(has_line(t, "# TYPE llmload_build info"));
    assert_true(has_line(t, "# TYPE llmload_request_duration_seconds histogram"));
    assert_true(has_line(t, "# UNIT llmload_request_duration_seconds seconds"));
    assert_int_equal(value_of(t, "llmload_run_finished{" RUN "}"), 1);
    size_t n = strlen(t);
    assert_true(n > 6 && !strcmp(t + n - 6, "# EOF\n"));
    free(t);
    hist_free(e2e);
    hist_free(ttft);
}

static void test_labels_and_sweep(void **state)
{
    (void)state;
    struct obs_live l;
    obs_live_init(&l);
    /* a quote, a backslash, a line break and a broken UTF-8 byte */
    l.labels.model = "a\"b\\c\nd\xff";
    l.labels.run_id = "";           /* left out */
    l.sweep_param = "concurrency";
    l.sweep_level = 16;
    l.sweep_index = 4;
    l.loop_busy_frac = 0.25;
    l.loop_lag_max_s = 0.0015;
    char *t = render(&l, OBS_FMT_PROMETHEUS);
    assert_int_equal(value_of(t, "llmload_requests_total{model=\"a\\\"b\\\\c d?\",outcome=\"ok\"}"), 0);
    assert_null(strstr(t, "run_id"));
    assert_null(strstr(t, "target="));
    assert_int_equal(value_of(t, "llmload_sweep_level{model=\"a\\\"b\\\\c d?\",parameter=\"concurrency\"}"), 16);
    assert_int_equal(value_of(t, "llmload_sweep_level_index{model=\"a\\\"b\\\\c d?\"}"), 4);
    assert_true(value_of(t, "llmload_client_loop_busy_ratio{model=\"a\\\"b\\\\c d?\"}") == 0.25);
    assert_true(value_of(t, "llmload_client_loop_lag_max_seconds{model=\"a\\\"b\\\\c d?\"}") == 0.0015);
    assert_null(strstr(t, "llmload_concurrency_limit"));
    free(t);

    /* no labels at all: no braces */
    obs_live_init(&l);
    t = render(&l, OBS_FMT_PROMETHEUS);
    assert_true(has_line(t, "llmload_run_finished 0"));
    free(t);

    assert_true(obs_label_name_ok("instance"));
    assert_true(obs_label_name_ok("_x9"));
    assert_false(obs_label_name_ok("__name__"));
    assert_false(obs_label_name_ok("9x"));
    assert_false(obs_label_name_ok("a-b"));
    assert_false(obs_label_name_ok(""));
}

/* The monitor's latest sample, one series per label value. */
static void test_monitor_values(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct obs_monitor_cfg cfg = { .sources = OBS_SRC_CLIENT | OBS_SRC_SYSTEM };
    struct obs_monitor *m = obs_monitor_new(&loop, &cfg);
    obs_monitor_sample(m, 0.25);
    struct obs_live l;
    obs_live_init(&l);
    l.monitor = m;
    char *t = render(&l, OBS_FMT_PROMETHEUS);
    assert_true(has_line(t, "# TYPE llmload_monitor gauge"));
    assert_true(value_of(t, "llmload_monitor{series=\"client_loop_lag_s\"}") == 0.25);
    assert_true(value_of(t, "llmload_monitor{series=\"client_rss_bytes\"}") > 0);
    assert_true(value_of(t, "llmload_monitor{series=\"system_load1\"}") >= 0);
    /* a rate needs two samples: not shown yet */
    assert_null(strstr(t, "client_cpu_user"));
    free(t);
    obs_monitor_stop(m);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    obs_monitor_free(m);
}

/* Past the exact window the buckets come from the histogram's own and stay
 * within 1/1024 of the bound. */
static void test_many_samples(void **state)
{
    (void)state;
    struct hist *e2e = hist_new(RESULT_HIST_NS_MAX);
    struct obs_live l;
    obs_live_init(&l);
    l.e2e = e2e;
    for (int i = 1; i <= 10000; i++)
        hist_record(e2e, (uint64_t)i * 100000);      /* 0.1 ms .. 1 s */
    char *t = render(&l, OBS_FMT_PROMETHEUS);
    double b = value_of(t, "llmload_request_duration_seconds_bucket{le=\"0.1\"}");
    assert_true(b >= 1000 && b <= 1001);
    assert_int_equal(value_of(t, "llmload_request_duration_seconds_bucket{le=\"1.0\"}"), 10000);
    free(t);
    hist_free(e2e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus),
        cmocka_unit_test(test_openmetrics),
        cmocka_unit_test(test_labels_and_sweep),
        cmocka_unit_test(test_many_samples),
        cmocka_unit_test(test_monitor_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
