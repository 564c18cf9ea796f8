/* Unit tests for the offset to the server's clock from its Date headers
 * (srvclock.h): real dates parsed, and bounds that hold the true offset
 * and narrow as responses fall at other phases of the server's second. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "srvclock.h"

#define SEC 1000000000ll
#define MS 1000000ll

static void test_parse_date(void **state)
{
    (void)state;
    int64_t t = 0;
    /* RFC 9110's example, and a date of this project's time. */
    assert_int_equal(srv_clock_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t), 0);
    assert_int_equal(t, 784111777);
    const char *v = " Sat, 05 Dec 2026 13:56:33 GMT";
    assert_int_equal(srv_clock_parse_date(v, strlen(v), &t), 0);
    assert_int_equal(t, 1796478993);
    /* The obsolete forms a sender must not use, and broken ones. */
    static const char *const bad[] = {
        "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMTX", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(srv_clock_parse_date(bad[i], strlen(bad[i]), &t), -1);
}

/* A server 37.2 ms ahead, stamping each Date 1 ms after the request left
 * and answering 3 ms after; requests 137 ms apart, so their sends fall at
 * every phase of the second.  Each response's Date is the server's second,
 * as a real one writes it. */
static void run_server(struct srv_clock *c, int64_t start, int64_t offset, int n, int64_t step)
{
    for (int k = 0; k < n; k++) {
        int64_t send = start + k * step, stamp = send + 1 * MS + offset, recv = send + 3 * MS;
        srv_clock_add(c, stamp / SEC, send, recv);
    }
}

static void test_bounds_hold_and_narrow(void **state)
{
    (void)state;
    const int64_t start = 1796478993 * SEC + 412 * MS, truth = 37200000;
    struct srv_clock one, many, a, b;
    srv_clock_init(&one);
    srv_clock_init(&many);
    run_server(&one, start, truth, 1, 137 * MS);
    assert_int_equal(one.n, 1);
    assert_true(one.lo_ns <= truth && truth < one.hi_ns);
    assert_true(one.hi_ns - one.lo_ns > 990 * MS);   /* one Date: a second */
    run_server(&many, start, truth, 200, 137 * MS);
    assert_int_equal(many.n, 200);
    assert_true(many.lo_ns <= truth && truth < many.hi_ns);
    /* 200 phases 1 ms apart at worst, each request 3 ms long. */
    assert_true(many.hi_ns - many.lo_ns <= 5 * MS);
    assert_false(srv_clock_inconsistent(&many));
    /* Two workers' halves merged are the whole. */
    srv_clock_init(&a);
    srv_clock_init(&b);
    run_server(&a, start, truth, 100, 137 * MS);
    run_server(&b, start + 100 * 137 * MS, truth, 100, 137 * MS);
    srv_clock_merge(&a, &b);
    assert_int_equal(a.n, many.n);
    assert_int_equal(a.lo_ns, many.lo_ns);
    assert_int_equal(a.hi_ns, many.hi_ns);
    /* Nothing merged into nothing stays unknown. */
    srv_clock_init(&b);
    srv_clock_merge(&a, &b);
    assert_int_equal(a.n, 200);
}

/* Two servers half a second apart behind one address: no offset fits. */
static void test_two_clocks_inconsistent(void **state)
{
    (void)state;
    struct srv_clock c;
    srv_clock_init(&c);
    run_server(&c, 1796478993 * SEC, 0, 50, 137 * MS);
    run_server(&c, 1796478993 * SEC + 50 * 137 * MS, 500 * MS, 50, 137 * MS);
    assert_true(srv_clock_inconsistent(&c));
    /* A response before its request (a stepped clock) is no bound. */
    srv_clock_init(&c);
    srv_clock_add(&c, 1796478993, 5 * SEC, 4 * SEC);
    assert_int_equal(c.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test(test_bounds_hold_and_narrow),
        cmocka_unit_test(test_two_clocks_inconsistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
