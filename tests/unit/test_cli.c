/* Option handling: units (units.c) and the run flags (cli_run_parse), which
 * sweep and compare share.  Every error is one line naming the flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "units.h"

static void test_durations(void **state)
{
    (void)state;
    static const struct { const char *s; uint64_t ns; } ok[] = {
        { "30s", 30000000000ull }, { "500ms", 500000000ull }, { "250us", 250000ull },
        { "100ns", 100ull }, { "2m", 120000000000ull }, { "1h", 3600000000000ull },
        { "1.5s", 1500000000ull }, { "2", 2000000000ull }, { "0", 0 }, { "0.001ms", 1000ull },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t ns = 7;
        assert_int_equal(units_parse_duration(ok[i].s, &ns), 0);
        assert_true(ns == ok[i].ns);
    }
    static const char *bad[] = { "", "s", "-1s", "5 s", " 5s", "5sec", "1e30h", "nan", "inf", "5x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ns;
        assert_int_equal(units_parse_duration(bad[i], &ns), -1);
    }
}

static void test_counts_and_fractions(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(units_parse_count("1k", &v), 0);
    assert_true(v == 1000);
    assert_int_equal(units_parse_count("2M", &v), 0);
    assert_true(v == 2000000);
    assert_int_equal(units_parse_count("1.5k", &v), 0);
    assert_true(v == 1500);
    assert_int_equal(units_parse_count("1.5", &v), -1);   /* not whole */
    assert_int_equal(units_parse_count("-3", &v), -1);
    assert_int_equal(units_parse_count("3q", &v), -1);
    double d;
    assert_int_equal(units_parse_fraction("5%", &d), 0);
    assert_true(fabs(d - 0.05) < 1e-12);
    assert_int_equal(units_parse_fraction("0.1", &d), 0);
    assert_true(fabs(d - 0.1) < 1e-12);
    assert_int_equal(units_parse_fraction("5%%", &d), -1);
    assert_int_equal(units_parse_double("1e3", &d), 0);
    assert_true(d == 1000);
    assert_int_equal(units_parse_double("1e999", &d), -1);
}

static void test_human_units(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(units_fmt_seconds(0.000000250, b, sizeof b), "250 ns");
    assert_string_equal(units_fmt_seconds(0.0000123, b, sizeof b), "12.3 us");
    assert_string_equal(units_fmt_seconds(0.0123, b, sizeof b), "12.3 ms");
    assert_string_equal(units_fmt_seconds(0.250, b, sizeof b), "250 ms");
    assert_string_equal(units_fmt_seconds(1.5, b, sizeof b), "1.50 s");
    assert_string_equal(units_fmt_seconds(125, b, sizeof b), "2m 05s");
    assert_string_equal(units_fmt_seconds(NAN, b, sizeof b), "-");
    assert_string_equal(units_fmt_si(12345, b, sizeof b), "12.3 k");
    assert_string_equal(units_fmt_si(2500000, b, sizeof b), "2.50 M");
}

/* argv from a space-separated line; argv[0] is "run". */
static int parse(struct run_cli *rc, const char *line, char *err, size_t cap)
{
    static char buf[1024];
    static char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "run %s", line);
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    return cli_run_parse(rc, argc, argv, 1, NULL, 0, err, cap);
}

static void test_run_defaults(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    assert_int_equal(parse(&rc, "", err, sizeof err), 0);
    const struct run_config *c = &rc.cfg;
    assert_int_equal(c->concurrency, 32);
    assert_true(c->requests == 100);
    assert_true(c->max_tokens == 128);
    assert_true(c->stream);
    assert_int_equal(c->api, API_AUTO);
    assert_string_equal(c->prompt, "Say 'hello, world!' in Korean.");
    assert_true(isnan(c->temperature));
    assert_true(c->rate == 0);
    assert_true(c->connect_timeout_ns == 10000000000ull);
    assert_string_equal(c->url, "");
}

static void test_run_forms_and_aliases(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    assert_int_equal(parse(&rc, "--host http://h:1/v1 -m llama -c8 -n=5 --tokens 64 "
                                "--temperature=0.7 --no-stream --api openai-chat", err, sizeof err), -1);
    /* -n=5 is not a form: short flags take "-n5" or "-n 5". */
    assert_non_null(strstr(err, "-n"));
    assert_int_equal(parse(&rc, "--host http://h:1/v1 -m llama -c8 -n 5 --tokens 64 "
                                "--temperature=0.7 --no-stream --api openai-chat", err, sizeof err), 0);
    assert_string_equal(rc.cfg.url, "http://h:1/v1");
    assert_string_equal(rc.cfg.model, "llama");
    assert_int_equal(rc.cfg.concurrency, 8);
    assert_true(rc.cfg.requests == 5);
    assert_true(rc.cfg.max_tokens == 64);
    assert_true(fabs(rc.cfg.temperature - 0.7) < 1e-12);
    assert_false(rc.cfg.stream);
    assert_int_equal(rc.cfg.api, API_OPENAI_CHAT);
    assert_int_equal(parse(&rc, "--base-url http://x:2", err, sizeof err), 0);
    assert_string_equal(rc.cfg.url, "http://x:2");
    /* The workload's flags go through the same parser. */
    assert_int_equal(parse(&rc, "--prompt hi --no-nonce --system sys", err, sizeof err), 0);
    assert_string_equal(rc.cfg.prompt, "hi");
    assert_string_equal(rc.cfg.system, "sys");
    assert_int_equal(rc.wopts.nonce, 0);
}

static void test_run_load_shapes(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    /* -d alone is time-bound; with -n both apply. */
    assert_int_equal(parse(&rc, "-d 2m", err, sizeof err), 0);
    assert_true(rc.cfg.duration_ns == 120000000000ull);
    assert_true(rc.cfg.requests == 0);
    assert_int_equal(parse(&rc, "-d 10s -n 50", err, sizeof err), 0);
    assert_true(rc.cfg.requests == 50);
    assert_int_equal(parse(&rc, "--warmup 10", err, sizeof err), 0);
    assert_true(rc.cfg.warmup_requests == 10 && rc.cfg.warmup_ns == 0);
    assert_int_equal(parse(&rc, "--warmup 30s", err, sizeof err), 0);
    assert_true(rc.cfg.warmup_requests == 0 && rc.cfg.warmup_ns == 30000000000ull);
    assert_int_equal(parse(&rc, "--rate 4 --arrival gamma --burstiness 0.5 --seed 9", err, sizeof err), 0);
    assert_true(rc.cfg.rate == 4 && rc.cfg.arrival == ARRIVAL_GAMMA && rc.cfg.burstiness == 0.5);
    assert_true(rc.cfg.schedule_seed == 9 && rc.cfg.seed == 9);
    assert_int_equal(parse(&rc, "--stop-on-error-rate 10%", err, sizeof err), 0);
    assert_true(fabs(rc.cfg.stop_error_rate - 0.1) < 1e-12);
    assert_int_equal(parse(&rc, "--ttft-timeout 500ms --idle-timeout 2s --timeout 5m --grace 0",
                           err, sizeof err), 0);
    assert_true(rc.cfg.ttft_timeout_ns == 500000000ull && rc.cfg.idle_timeout_ns == 2000000000ull);
    assert_true(rc.cfg.request_timeout_ns == 300000000000ull && rc.cfg.grace_ns == 0);
}

static void test_run_errors_name_the_flag(void **state)
{
    (void)state;
    static const struct { const char *line, *word; } bad[] = {
        { "-c 0", "-c" }, { "-c lots", "-c" }, { "--duration 5parsecs", "--duration" },
        { "--api grpc", "--api" }, { "--bogus", "--bogus" }, { "--temperature", "--temperature" },
        { "--no-stream=yes", "--no-stream" }, { "-n 0", "-n 0" }, { "--rate -1", "--rate" },
        { "--arrival gamma", "--arrival" }, { "--burstiness 2 --rate 1", "--burstiness" },
        { "--stop-on-error-rate 2", "--stop-on-error-rate" }, { "stray", "stray" },
        { "--output-tokens x", "--output-tokens" }, { "--turns 0", "--turns" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run_cli rc;
        char err[512] = "";
        assert_int_equal(parse(&rc, bad[i].line, err, sizeof err), -1);
        if (!strstr(err, bad[i].word))
            fail_msg("'%s' gave '%s', which does not name '%s'", bad[i].line, err, bad[i].word);
        assert_null(strchr(err, '\n'));
    }
}

static void test_model_required_with_url(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    assert_int_equal(parse(&rc, "--url http://h:1/v1", err, sizeof err), 0);
    assert_int_equal(cli_run_validate(&rc, err, sizeof err), -1);
    assert_non_null(strstr(err, "--model"));
    assert_int_equal(parse(&rc, "", err, sizeof err), 0);   /* the simulator needs none */
    assert_int_equal(cli_run_validate(&rc, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_counts_and_fractions),
        cmocka_unit_test(test_human_units),
        cmocka_unit_test(test_run_defaults),
        cmocka_unit_test(test_run_forms_and_aliases),
        cmocka_unit_test(test_run_load_shapes),
        cmocka_unit_test(test_run_errors_name_the_flag),
        cmocka_unit_test(test_model_required_with_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
