/* Per-request service levels: parsing, evaluation of records, the tally,
 * and the Wilson interval against published values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "result.h"
#include "slo.h"

static struct slo_spec parse(const char *items)
{
    struct slo_spec s;
    char err[256], buf[256];
    memset(&s, 0, sizeof s);
    snprintf(buf, sizeof buf, "%s", items);
    for (char *p = strtok(buf, ","); p; p = strtok(NULL, ","))
        assert_int_equal(slo_parse_item(&s, p, err, sizeof err), 1);
    return s;
}

static void test_parse(void **state)
{
    (void)state;
    struct slo_spec s = parse("ttft<=500ms, tpot < 50ms,itl_max<=0.2,e2e<=2s,tokens_min>=64,ttft_output<=1s");
    assert_int_equal(s.n, 6);
    assert_true(s.lim[SLO_TTFT].value == 500e6 && !s.lim[SLO_TTFT].strict);
    assert_true(s.lim[SLO_TPOT].value == 50e6 && s.lim[SLO_TPOT].strict);
    assert_true(s.lim[SLO_ITL_MAX].value == 200e6);
    assert_true(s.lim[SLO_TOKENS_MIN].value == 64);
    assert_string_equal(s.text, "ttft<=500ms,ttft_output<=1s,tpot<50ms,itl_max<=200ms,e2e<=2s,tokens_min>=64");

    /* Other tools' names, and a later limit replacing an earlier one. */
    s = parse("time_to_first_token<=1s,request_latency<=3s,inter_token_latency<=20ms,ttft<=2s");
    assert_int_equal(s.n, 3);
    assert_true(s.lim[SLO_TTFT].value == 2e9 && s.lim[SLO_E2E].value == 3e9 &&
                s.lim[SLO_TPOT].value == 20e6);

    /* Not per-request: left to the aggregate grammar. */
    char err[256];
    struct slo_spec e;
    memset(&e, 0, sizeof e);
    assert_int_equal(slo_parse_item(&e, "p99(ttft)<=500ms", err, sizeof err), 0);
    assert_int_equal(slo_parse_item(&e, "error_rate<=1%", err, sizeof err), 0);
    assert_int_equal(slo_parse_item(&e, "ttft (x)", err, sizeof err), 0);
    assert_int_equal(e.n, 0);
    /* Ours, but wrong. */
    assert_int_equal(slo_parse_item(&e, "ttft>=1s", err, sizeof err), -1);
    assert_non_null(strstr(err, "upper limit"));
    assert_int_equal(slo_parse_item(&e, "tokens_min<=3", err, sizeof err), -1);
    assert_int_equal(slo_parse_item(&e, "ttft<=fast", err, sizeof err), -1);
    assert_non_null(strstr(err, "'fast' is not a time"));
    assert_int_equal(slo_parse_item(&e, "ttft<=0", err, sizeof err), -1);
    assert_int_equal(slo_parse_item(&e, "ttft==1s", err, sizeof err), -1);
    assert_int_equal(slo_parse_item(&e, "itl_max<=", err, sizeof err), -1);
}

static void test_parse_vllm(void **state)
{
    (void)state;
    struct slo_spec s;
    char err[256];
    memset(&s, 0, sizeof s);
    assert_int_equal(slo_parse_vllm(&s, "ttft:500 tpot:50  e2el:2500.5", err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_true(s.lim[SLO_TTFT].value == 500e6 && s.lim[SLO_TPOT].value == 50e6 &&
                s.lim[SLO_E2E].value == 2500.5e6);
    assert_int_equal(slo_parse_vllm(&s, "time_to_first_token:100", err, sizeof err), 0);
    assert_true(s.lim[SLO_TTFT].value == 100e6);
    assert_int_equal(slo_parse_vllm(&s, "ttft=500", err, sizeof err), -1);
    assert_int_equal(slo_parse_vllm(&s, "foo:5", err, sizeof err), -1);
    assert_int_equal(slo_parse_vllm(&s, "ttft:-1", err, sizeof err), -1);
    assert_int_equal(slo_parse_vllm(&s, "tokens_min:5", err, sizeof err), -1);
    assert_int_equal(slo_parse_vllm(&s, "  ", err, sizeof err), -1);
}

/* A successful streamed request: scheduled at 0, sent at start, first
 * token at +ttft, tokens every gap with one stall. */
static struct req_record rec(uint64_t sched, uint64_t start, uint64_t ttft, int64_t tokens,
                             uint64_t gap, uint64_t stall)
{
    struct req_record r;
    memset(&r, 0, sizeof r);
    r.sched_ns = sched;
    r.start_ns = start;
    r.first_ns = start + ttft;
    r.end_ns = r.first_ns + (uint64_t)(tokens - 1) * gap + stall;
    r.out_tokens = tokens;
    r.events = (uint64_t)tokens;
    r.itl_max_ns = gap > stall ? gap : stall + gap;
    return r;
}

static void test_eval(void **state)
{
    (void)state;
    struct slo_spec s = parse("ttft<=100ms,tpot<=10ms,itl_max<=50ms,e2e<=1s,tokens_min>=10");
    struct req_record r = rec(0, 0, 100000000, 11, 10000000, 0);
    assert_int_equal(slo_eval(&s, &r), 0);                 /* every limit met exactly */
    r = rec(0, 0, 100000001, 11, 10000000, 0);
    assert_int_equal(slo_eval(&s, &r), 1u << SLO_TTFT);
    /* TTFT counts from the schedule: 60 ms queued + 60 ms = 120 ms. */
    r = rec(0, 60000000, 60000000, 11, 10000000, 0);
    assert_int_equal(slo_eval(&s, &r), 1u << SLO_TTFT);
    /* A stall of 60 ms: itl_max fails, TPOT (16 ms) and E2E too. */
    r = rec(0, 0, 50000000, 11, 10000000, 60000000);
    assert_int_equal(slo_eval(&s, &r), (1u << SLO_ITL_MAX) | (1u << SLO_TPOT));
    r = rec(0, 0, 50000000, 9, 1000000, 0);
    assert_int_equal(slo_eval(&s, &r), 1u << SLO_TOKENS_MIN);
    r = rec(0, 0, 50000000, 100, 9000000, 0);               /* 941 ms: under 1 s */
    assert_int_equal(slo_eval(&s, &r), 0);
    r = rec(0, 0, 50000000, 200, 9000000, 0);
    assert_int_equal(slo_eval(&s, &r), 1u << SLO_E2E);
    /* One token: no TPOT to judge, no gap. */
    r = rec(0, 0, 50000000, 1, 0, 0);
    s = parse("tpot<=1ms,itl_max<=1ms");
    assert_int_equal(slo_eval(&s, &r), 0);
    /* ttft_output: the first non-reasoning token when the record has one. */
    s = parse("ttft_output<=100ms");
    r = rec(0, 0, 50000000, 11, 10000000, 0);
    assert_int_equal(slo_eval(&s, &r), 0);
    r.t_first_output = r.first_ns + 60000000;
    assert_int_equal(slo_eval(&s, &r), 1u << SLO_TTFT_OUTPUT);
    /* Strict limits. */
    s = parse("ttft<100ms");
    r = rec(0, 0, 100000000, 2, 1, 0);
    assert_int_equal(slo_eval(&s, &r), 1u << SLO_TTFT);
}

static void test_tally(void **state)
{
    (void)state;
    struct slo_spec s = parse("ttft<=100ms,itl_max<=50ms");
    struct slo_tally a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    struct req_record good = rec(0, 0, 10000000, 20, 1000000, 0);
    struct req_record slow = rec(0, 0, 200000000, 20, 1000000, 0);
    struct req_record stall = rec(0, 0, 10000000, 20, 1000000, 90000000);
    struct req_record both = rec(0, 0, 200000000, 20, 1000000, 90000000);
    struct req_record failed = good;
    failed.err = ERR_STATUS;
    slo_tally_add(&a, &s, &good, 0);
    slo_tally_add(&a, &s, &good, 0);
    slo_tally_add(&a, &s, &slow, 0);
    slo_tally_add(&a, &s, &failed, 0);
    slo_tally_add(&b, &s, &stall, 0);
    slo_tally_add(&b, &s, &both, 0);
    slo_tally_add(&b, &s, &stall, 0);
    slo_tally_add(&b, &s, &good, 1);            /* cut off: not judged */
    slo_tally_merge(&a, &b);
    assert_int_equal(a.judged, 7);
    assert_int_equal(a.good, 2);
    assert_int_equal(a.errors, 1);
    assert_int_equal(a.cut, 1);
    assert_int_equal(a.good_tokens, 40);
    assert_int_equal(a.miss[SLO_TTFT], 2);
    assert_int_equal(a.miss[SLO_ITL_MAX], 3);
    assert_int_equal(slo_binding(&s, &a), SLO_ITL_MAX);

    struct slo_result r;
    slo_result(&s, &a, 2.0, &r);
    assert_true(fabs(r.attainment - 2.0 / 7) < 1e-12);
    assert_true(fabs(r.goodput_rps - 1.0) < 1e-12);
    assert_true(fabs(r.goodput_tps - 20.0) < 1e-12);
    struct slo_tally none;
    memset(&none, 0, sizeof none);
    slo_result(&s, &none, 0, &r);
    assert_true(isnan(r.attainment) && isnan(r.lo) && isnan(r.goodput_rps));
    assert_int_equal(r.binding, -1);
}

/* Published Wilson score intervals (95%): Newcombe (1998), Statistics in
 * Medicine 17:857, table I: 81/263 -> 0.2553-0.3662, 15/148 ->
 * 0.0624-0.1605, 0/20 -> 0-0.1611, 1/29 -> 0.0061-0.1718; 8/10 ->
 * 0.4902-0.9433. */
static void test_wilson(void **state)
{
    (void)state;
    static const struct { uint64_t k, n; double lo, hi; } known[] = {
        { 81, 263, 0.2553, 0.3662 },
        { 15, 148, 0.0624, 0.1605 },
        { 0, 20, 0.0, 0.1611 },
        { 1, 29, 0.0061, 0.1718 },
        { 8, 10, 0.4902, 0.9433 },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        double lo, hi;
        slo_wilson(known[i].k, known[i].n, SLO_Z95, &lo, &hi);
        assert_true(fabs(lo - known[i].lo) < 5e-5);
        assert_true(fabs(hi - known[i].hi) < 5e-5);
    }
    double lo, hi;
    slo_wilson(100, 100, SLO_Z95, &lo, &hi);
    /* All good in 100: the lower bound is n / (n + z^2). */
    assert_true(fabs(lo - 100 / (100 + SLO_Z95 * SLO_Z95)) < 1e-12 && hi == 1);
    slo_wilson(0, 0, SLO_Z95, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_vllm),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_tally),
        cmocka_unit_test(test_wilson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
