/* Unit tests for assertion expressions and gate flags (src/gate.c). */
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

#include "gate.h"
#include "gate_int.h"

static struct gate_expr *parse_ok(const char *text)
{
    struct gate_expr *e = NULL;
    char err[1024] = "";
    int rc = gate_expr_parse(text, &e, err, sizeof err);
    if (rc != 0)
        print_error("unexpected parse error for '%s':\n%s\n", text, err);
    assert_int_equal(rc, 0);
    assert_non_null(e);
    assert_string_equal(e->text, text);
    return e;
}

/* Parses text expecting an error; returns the message in a static buffer. */
static const char *parse_err(const char *text)
{
    static char err[1024];
    struct gate_expr *e = (struct gate_expr *)1;
    err[0] = '\0';
    assert_int_equal(gate_expr_parse(text, &e, err, sizeof err), -1);
    assert_null(e);
    assert_true(err[0] != '\0');
    return err;
}

static void check_expr(const char *text, const char *metric, const char *stat,
                       enum gate_op op, double limit, enum gate_kind kind)
{
    struct gate_expr *e = parse_ok(text);
    assert_string_equal(e->metric, metric);
    assert_string_equal(e->stat, stat);
    assert_int_equal(e->op, op);
    assert_int_equal(e->kind, kind);
    if (fabs(e->limit - limit) > 1e-12 * fmax(1, fabs(limit)))
        fail_msg("'%s': limit %.17g, expected %.17g", text, e->limit, limit);
    gate_expr_free(e);
}

static void test_parse_issue_examples(void **state)
{
    (void)state;
    check_expr("p95(ttft) < 500ms", "ttft", "p95", GATE_LT, 0.5, GATE_SECONDS);
    check_expr("error_rate <= 1%", "error_rate", "", GATE_LE, 0.01, GATE_FRACTION);
    check_expr("output_tps >= 1000", "output_tps", "", GATE_GE, 1000, GATE_TOKRATE);
    check_expr("mean(tpot) < 40ms", "tpot", "mean", GATE_LT, 0.04, GATE_SECONDS);
}

static void test_parse_units(void **state)
{
    (void)state;
    check_expr("p99(itl)<250us", "itl", "p99", GATE_LT, 250e-6, GATE_SECONDS);
    check_expr("p99(itl) < 250\xc2\xb5s", "itl", "p99", GATE_LT, 250e-6, GATE_SECONDS);
    check_expr("max(e2e) <= 2m", "e2e", "max", GATE_LE, 120, GATE_SECONDS);
    check_expr("max(e2e) <= 1h", "e2e", "max", GATE_LE, 3600, GATE_SECONDS);
    check_expr("p50(ttft) > 100 ns", "ttft", "p50", GATE_GT, 100e-9, GATE_SECONDS);
    check_expr("min(ttft) >= 1.5", "ttft", "min", GATE_GE, 1.5, GATE_SECONDS);
    check_expr("median(e2e) < 3s", "e2e", "p50", GATE_LT, 3, GATE_SECONDS);
    check_expr("P95(TTFT) < 1s", "ttft", "p95", GATE_LT, 1, GATE_SECONDS);
    check_expr("  p90 ( queue_time )  <  10ms  ", "queue_time", "p90", GATE_LT, 0.01, GATE_SECONDS);
    check_expr("error_rate < 0.005", "error_rate", "", GATE_LT, 0.005, GATE_FRACTION);
    check_expr("error_rate != 2.5%", "error_rate", "", GATE_NE, 0.025, GATE_FRACTION);
    check_expr("output_tps >= 1.5k", "output_tps", "", GATE_GE, 1500, GATE_TOKRATE);
    check_expr("output_tps >= 1.5k tok/s", "output_tps", "", GATE_GE, 1500, GATE_TOKRATE);
    check_expr("output_tps >= 2M tok/s", "output_tps", "", GATE_GE, 2e6, GATE_TOKRATE);
    check_expr("output_tps >= 800 tok/s", "output_tps", "", GATE_GE, 800, GATE_TOKRATE);
    check_expr("rps > 20 req/s", "rps", "", GATE_GT, 20, GATE_REQRATE);
    check_expr("rps > 1e2", "rps", "", GATE_GT, 100, GATE_REQRATE);
    check_expr("requests == 1k", "requests", "", GATE_EQ, 1000, GATE_COUNT);
    check_expr("failed == 0", "failed", "", GATE_EQ, 0, GATE_COUNT);
    check_expr("duration_s < 30s", "duration_s", "", GATE_LT, 30, GATE_SECONDS);
    check_expr("errors.timeout_ttft == 0", "errors.timeout_ttft", "", GATE_EQ, 0, GATE_COUNT);
    check_expr("p05(request_tps) > 20 tok/s", "request_tps", "p05", GATE_GT, 20, GATE_TOKRATE);
    check_expr("ok > -1", "ok", "", GATE_GT, -1, GATE_COUNT);
}

/* The caret message: what was expected, the expression indented by four,
 * and a caret under the error, also indented by four. */
static void test_parse_caret_positions(void **state)
{
    (void)state;
    assert_string_equal(parse_err("p95(ttft) 500ms"),
        "expected a comparison after p95(ttft): one of < <= > >= == !=\n"
        "    p95(ttft) 500ms\n"
        "              ^");
    assert_string_equal(parse_err("error_rate < 5ms"),
        "unit 'ms' does not fit error_rate (a fraction): use % (1% = 0.01) or a bare fraction\n"
        "    error_rate < 5ms\n"
        "                  ^");
    assert_string_equal(parse_err("p95(ttft) <"),
        "expected a number for p95(ttft), e.g. 500ms\n"
        "    p95(ttft) <\n"
        "               ^");
    assert_string_equal(parse_err("p95(ttft) < 5ms and more"),
        "unexpected text after the value\n"
        "    p95(ttft) < 5ms and more\n"
        "                    ^");
    assert_string_equal(parse_err("p95(ttft < 1s"),
        "expected ')' after p95(ttft\n"
        "    p95(ttft < 1s\n"
        "             ^");
    assert_string_equal(parse_err(""),
        "expected a metric, e.g. p95(ttft) or error_rate\n"
        "    \n"
        "    ^");
    assert_string_equal(parse_err("output_tps = 5"),
        "expected a comparison: write == for equality\n"
        "    output_tps = 5\n"
        "               ^");
    assert_string_equal(parse_err("< 5"),
        "expected a metric name, e.g. p95(ttft) or error_rate\n"
        "    < 5\n"
        "    ^");
}

static void test_parse_caret_utf8_and_tab(void **state)
{
    (void)state;
    /* "µs" is two bytes but one column; the unit after it is wrong. */
    assert_string_equal(parse_err("p95(itl) < 5\xc2\xb5s x"),
        "unexpected text after the value\n"
        "    p95(itl) < 5\xc2\xb5s x\n"
        "                   ^");
    /* A tab is repeated in the caret line so both lines expand alike. */
    assert_string_equal(parse_err("ttft\t< 1s"),
        "ttft is a distribution: name a statistic, e.g. p95(ttft), p50(ttft) or mean(ttft)\n"
        "    ttft\t< 1s\n"
        "    ^");
    assert_string_equal(parse_err("p95(ttft)\t?"),
        "expected a comparison after p95(ttft): one of < <= > >= == !=\n"
        "    p95(ttft)\t?\n"
        "             \t^");
}

static void test_parse_metric_errors(void **state)
{
    (void)state;
    const char *e = parse_err("ttft < 500ms");
    assert_non_null(strstr(e, "ttft is a distribution: name a statistic, e.g. p95(ttft)"));
    assert_non_null(strstr(e, "\n    ^"));

    e = parse_err("p95(tfft) < 500ms");
    assert_non_null(strstr(e, "unknown metric 'tfft'; did you mean ttft"));
    assert_non_null(strstr(e, "\n        ^"));      /* under the metric, not the stat */

    e = parse_err("erorr_rate < 1%");
    assert_non_null(strstr(e, "unknown metric 'erorr_rate'; did you mean error_rate?"));

    e = parse_err("tps >= 100");
    assert_non_null(strstr(e, "unknown metric 'tps'; did you mean"));
    assert_non_null(strstr(e, "output_tps"));
    assert_non_null(strstr(e, "request_tps"));

    e = parse_err("errors.timeout_tft == 0");
    assert_non_null(strstr(e, "did you mean errors.timeout_ttft"));

    e = parse_err("zzzzzzzzzzzz < 1");
    assert_non_null(strstr(e, "unknown metric 'zzzzzzzzzzzz'; valid metrics: requests ok failed error_rate"));

    e = parse_err("ttft.p95 < 1s");
    assert_non_null(strstr(e, "did you mean p95(ttft)?"));
    e = parse_err("ttft_p99 < 1s");
    assert_non_null(strstr(e, "did you mean p99(ttft)?"));

    e = parse_err("p96(ttft) < 1s");
    assert_non_null(strstr(e, "unknown statistic 'p96'; valid: min mean p50 p90 p95 p99 max stdev"));
    e = parse_err("p05(ttft) < 1s");
    assert_non_null(strstr(e, "ttft has no statistic 'p05'; valid: min mean p50 p90 p95 p99 max stdev"));
    e = parse_err("p99(request_tps) > 1");
    assert_non_null(strstr(e, "request_tps has no statistic 'p99'; valid: mean p05 p50 p95"));

    e = parse_err("mean(error_rate) < 1%");
    assert_non_null(strstr(e, "error_rate is a single number, not a distribution"));
    e = parse_err("max(errors.read) < 1");
    assert_non_null(strstr(e, "errors.read is a count"));
}

static void test_parse_value_errors(void **state)
{
    (void)state;
    assert_non_null(strstr(parse_err("p95(ttft) < nan"), "expected a number"));
    assert_non_null(strstr(parse_err("p95(ttft) < inf"), "expected a number"));
    assert_non_null(strstr(parse_err("p95(ttft) < 0x10"), "unit 'x' does not fit"));
    assert_non_null(strstr(parse_err("p95(ttft) < 1e999"), "expected a number"));
    assert_non_null(strstr(parse_err("p95(ttft) < 5%"), "unit '%' does not fit p95(ttft) (a time)"));
    assert_non_null(strstr(parse_err("output_tps > 5ms"), "a token rate"));
    assert_non_null(strstr(parse_err("rps > 5 tok/s"), "unit 'tok/s' does not fit rps"));
    assert_non_null(strstr(parse_err("requests > 5/s"), "does not fit requests (a count)"));
    assert_non_null(strstr(parse_err("p95(ttft) <= 1 2"), "unexpected text"));
    assert_non_null(strstr(parse_err("p95(ttft) <= ."), "expected a number"));
    /* Control characters are shown as '?' so the caret still lines up. */
    const char *e = parse_err("p95(ttft)\n< 1s");
    assert_non_null(strstr(e, "    p95(ttft)?< 1s\n             ^"));
}

static const char *summary_json =
    "{\"requests\":100,\"ok\":98,\"failed\":2,\"error_rate\":0.02,\"duration_s\":10.5,"
    "\"rps\":9.5238,\"output_tokens\":12800,\"input_tokens\":3000,\"output_tps\":1219.0,"
    "\"ttft\":{\"min\":0.01,\"mean\":0.05,\"p50\":0.045,\"p90\":0.09,\"p95\":0.12,\"p99\":0.2,\"max\":0.25},"
    "\"itl\":{\"min\":null,\"mean\":null,\"p50\":null,\"p90\":null,\"p95\":null,\"p99\":null,\"max\":null},"
    "\"request_tps\":{\"mean\":30,\"p05\":20,\"p50\":31,\"p95\":40},"
    "\"errors\":{\"timeout_ttft\":2},\"server_eval_rate\":null}";

static int eval(const char *text, const cJSON *sum, double *measured, int *pass)
{
    struct gate_expr *e = parse_ok(text);
    int rc = gate_expr_eval(e, sum, measured, pass);
    gate_expr_free(e);
    return rc;
}

static void test_eval(void **state)
{
    (void)state;
    cJSON *sum = cJSON_Parse(summary_json);
    double m;
    int pass;
    assert_non_null(sum);
    assert_int_equal(eval("p95(ttft) < 500ms", sum, &m, &pass), 0);
    assert_true(m == 0.12 && pass == 1);
    assert_int_equal(eval("p95(ttft) < 100ms", sum, &m, &pass), 0);
    assert_int_equal(pass, 0);
    assert_int_equal(eval("p95(ttft) <= 120ms", sum, &m, &pass), 0);
    assert_int_equal(pass, 1);                       /* 0.12 vs 120e-3: equal within 1e-9 */
    assert_int_equal(eval("p95(ttft) < 120ms", sum, &m, &pass), 0);
    assert_int_equal(pass, 0);
    assert_int_equal(eval("error_rate <= 1%", sum, &m, &pass), 0);
    assert_true(m == 0.02 && pass == 0);
    assert_int_equal(eval("error_rate <= 2%", sum, &m, &pass), 0);
    assert_int_equal(pass, 1);
    assert_int_equal(eval("output_tps >= 1.2k", sum, &m, &pass), 0);
    assert_int_equal(pass, 1);
    assert_int_equal(eval("requests == 100", sum, &m, &pass), 0);
    assert_int_equal(pass, 1);
    assert_int_equal(eval("failed != 2", sum, &m, &pass), 0);
    assert_int_equal(pass, 0);
    assert_int_equal(eval("ok > 97", sum, &m, &pass), 0);
    assert_int_equal(pass, 1);
    assert_int_equal(eval("p05(request_tps) >= 20", sum, &m, &pass), 0);
    assert_int_equal(pass, 1);
    assert_int_equal(eval("errors.timeout_ttft == 2", sum, &m, &pass), 0);
    assert_int_equal(pass, 1);
    /* Classes that did not happen are not listed: they are zero. */
    assert_int_equal(eval("errors.connect == 0", sum, &m, &pass), 0);
    assert_true(m == 0 && pass == 1);
    /* Null (no samples) and absent metrics cannot be evaluated. */
    assert_int_equal(eval("p95(itl) < 1s", sum, &m, &pass), -1);
    assert_int_equal(eval("server_eval_rate > 1", sum, &m, &pass), -1);
    assert_int_equal(eval("p95(tpot) < 1s", sum, &m, &pass), -1);
    assert_int_equal(eval("late == 0", sum, &m, &pass), -1);
    cJSON_Delete(sum);
}

static void test_value_fmt(void **state)
{
    (void)state;
    char b[48];
    assert_string_equal(gate_value_fmt(GATE_SECONDS, 0.212, b, sizeof b), "212 ms");
    assert_string_equal(gate_value_fmt(GATE_FRACTION, 0.025, b, sizeof b), "2.50%");
    assert_string_equal(gate_value_fmt(GATE_TOKRATE, 1234.56, b, sizeof b), "1235 tok/s");
    assert_string_equal(gate_value_fmt(GATE_TOKRATE, 12345.6, b, sizeof b), "12346 tok/s");
    assert_string_equal(gate_value_fmt(GATE_REQRATE, 9.5238, b, sizeof b), "9.52 req/s");
    assert_string_equal(gate_value_fmt(GATE_COUNT, 100, b, sizeof b), "100");
    assert_string_equal(gate_value_fmt(GATE_COUNT, 2.5, b, sizeof b), "2.50");
    assert_string_equal(gate_value_fmt(GATE_SECONDS, NAN, b, sizeof b), "none");
}

static void test_regress_parse(void **state)
{
    (void)state;
    struct gate_regress *r = NULL;
    size_t n = 0;
    char err[1024];
    assert_int_equal(gate_regress_parse("p95(ttft)=10%,output_tps=5%", &r, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].ref.metric, "ttft");
    assert_string_equal(r[0].ref.stat, "p95");
    assert_int_equal(r[0].relative, 1);
    assert_true(fabs(r[0].tol - 0.10) < 1e-12);
    assert_int_equal(r[0].ref.dir, GATE_DIR_UP);
    assert_string_equal(r[0].text, "p95(ttft)=10%");
    assert_string_equal(r[1].ref.metric, "output_tps");
    assert_int_equal(r[1].ref.dir, GATE_DIR_DOWN);
    assert_true(fabs(r[1].tol - 0.05) < 1e-12);
    /* error_rate's % is absolute percentage points; a time unit is absolute. */
    assert_int_equal(gate_regress_parse(" error_rate = 1% , p95(itl)=2ms ,p95(ttft)=20%", &r, &n, err,
                                        sizeof err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(r[0].relative, 1);
    assert_true(fabs(r[0].tol - 0.20) < 1e-12);     /* replaced in place */
    assert_string_equal(r[2].ref.metric, "error_rate");
    assert_int_equal(r[2].relative, 0);
    assert_true(fabs(r[2].tol - 0.01) < 1e-12);
    assert_string_equal(r[2].text, "error_rate = 1%");
    assert_int_equal(r[3].relative, 0);
    assert_true(fabs(r[3].tol - 0.002) < 1e-12);

    assert_int_equal(gate_regress_parse("p95(ttft)", &r, &n, err, sizeof err), -1);
    assert_string_equal(err, "expected '=' and a tolerance after p95(ttft), e.g. p95(ttft)=10%\n"
                             "    p95(ttft)\n"
                             "             ^");
    assert_int_equal(gate_regress_parse("p95(ttft)=-5%", &r, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "a tolerance cannot be negative\n    p95(ttft)=-5%\n              ^"));
    assert_int_equal(gate_regress_parse("p95(ttft)=5%;x", &r, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected ',' or the end"));
    assert_int_equal(gate_regress_parse("p95(ttft)=5%,", &r, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected a metric"));
    assert_int_equal(gate_regress_parse("output_tps=5ms", &r, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not fit output_tps"));
    assert_int_equal(gate_regress_parse("ttft=5%", &r, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "ttft is a distribution"));
    assert_int_equal(n, 4);
    free(r);
}

static void test_opts(void **state)
{
    (void)state;
    struct gate_opts g;
    char err[1024];
    gate_opts_init(&g);
    assert_int_equal(gate_repeat(&g), 1);
    assert_int_equal(gate_active(&g), 0);
    assert_int_equal(gate_opt(&g, "--concurrency", "4", err, sizeof err), 0);
    assert_int_equal(gate_flag_takes_value("--assert"), 1);
    assert_int_equal(gate_flag_takes_value("--junit"), 1);
    assert_int_equal(gate_flag_takes_value("--url"), 0);
    assert_int_equal(gate_opt(&g, "--assert", "p95(ttft) < 500ms", err, sizeof err), 1);
    assert_int_equal(gate_opt(&g, "--assert", "error_rate <= 1%", err, sizeof err), 1);
    assert_int_equal(g.n_asserts, 2);
    assert_int_equal(gate_active(&g), 1);
    assert_int_equal(gate_opt(&g, "--assert", "p95(ttft) 500ms", err, sizeof err), -1);
    assert_string_equal(err, "--assert: expected a comparison after p95(ttft): one of < <= > >= == !=\n"
                             "    p95(ttft) 500ms\n"
                             "              ^");
    assert_int_equal(g.n_asserts, 2);
    assert_int_equal(gate_opt(&g, "--repeat", "5", err, sizeof err), 1);
    assert_int_equal(gate_repeat(&g), 5);
    assert_int_equal(gate_opt(&g, "--repeat", "0", err, sizeof err), -1);
    assert_string_equal(err, "--repeat: '0' is not a whole number of runs from 1 to 1000");
    assert_int_equal(gate_opt(&g, "--repeat", "2.5", err, sizeof err), -1);
    assert_int_equal(gate_opt(&g, "--repeat", "x", err, sizeof err), -1);
    assert_int_equal(gate_repeat(&g), 5);
    assert_int_equal(gate_opt(&g, "--max-regression", "p95(ttft)=10%", err, sizeof err), 1);
    assert_int_equal(gate_opt(&g, "--max-regression", "p95(ttft)=x", err, sizeof err), -1);
    assert_true(!strncmp(err, "--max-regression: expected a number", 35));
    assert_int_equal(gate_opt(&g, "--junit", "", err, sizeof err), -1);
    assert_string_equal(err, "--junit: needs a file name");
    assert_int_equal(gate_opt(&g, "--junit", NULL, err, sizeof err), -1);
    assert_int_equal(gate_opt(&g, "--junit", "out.xml", err, sizeof err), 1);
    assert_int_equal(gate_opt(&g, "--junit", "out2.xml", err, sizeof err), 1);
    assert_string_equal(g.junit_path, "out2.xml");
    /* --max-regression without --baseline is refused before the run. */
    assert_int_equal(gate_check_files(&g, err, sizeof err), -1);
    assert_string_equal(err, "--max-regression needs --baseline FILE to compare with");
    gate_opts_free(&g);
    assert_int_equal(g.n_asserts, 0);
    assert_int_equal(gate_repeat(&g), 1);
    gate_opts_free(&g);     /* twice is harmless */
}

static void test_check_files(void **state)
{
    (void)state;
    struct gate_opts g;
    char err[1024];
    gate_opts_init(&g);
    assert_int_equal(gate_opt(&g, "--junit", "/nonexistent-dir-llmload/x.xml", err, sizeof err), 1);
    assert_int_equal(gate_check_files(&g, err, sizeof err), -1);
    assert_string_equal(err, "--junit: cannot write /nonexistent-dir-llmload/x.xml: "
                             "directory /nonexistent-dir-llmload does not exist");
    assert_int_equal(gate_opt(&g, "--junit", "/tmp", err, sizeof err), 1);
    assert_int_equal(gate_check_files(&g, err, sizeof err), -1);
    assert_string_equal(err, "--junit: cannot write /tmp: Is a directory");
    assert_int_equal(gate_opt(&g, "--junit", "/tmp/llmload-gate-test.xml", err, sizeof err), 1);
    assert_int_equal(gate_opt(&g, "--baseline", "/nonexistent-llmload-base.json", err, sizeof err), 1);
    assert_int_equal(gate_check_files(&g, err, sizeof err), -1);
    assert_string_equal(err, "--baseline /nonexistent-llmload-base.json: No such file or directory");
    gate_opts_free(&g);
}

static void test_help(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    gate_help(f);
    assert_int_equal(fclose(f), 0);
    const char *flags[] = { "--assert EXPR", "--baseline FILE", "--max-regression SPEC", "--repeat K",
                            "--save-baseline FILE", "--junit FILE", "--markdown FILE", "exit codes" };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        assert_non_null(strstr(buf, flags[i]));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_issue_examples),
        cmocka_unit_test(test_parse_units),
        cmocka_unit_test(test_parse_caret_positions),
        cmocka_unit_test(test_parse_caret_utf8_and_tab),
        cmocka_unit_test(test_parse_metric_errors),
        cmocka_unit_test(test_parse_value_errors),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_value_fmt),
        cmocka_unit_test(test_regress_parse),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_check_files),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
