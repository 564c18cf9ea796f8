/* Tests for ndjson.c: lines spanning feeds, CRLF, blank lines, a last
 * line without LF, NDJSON_FULL and NDJSON_STOPPED; fed whole, per byte and
 * at every split point, each piece flush against a PROT_NONE page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ndjson.h"

#define MAXL 32

struct rec {
    int n;
    char line[MAXL][256];
    int in_input[MAXL];
    const char *lo, *hi;
    int stop_after;
};

static int on_line(void *ud, const char *line, size_t len)
{
    struct rec *r = ud;

    assert_true(r->n < MAXL);
    snprintf(r->line[r->n], sizeof r->line[0], "%.*s", (int)len, line);
    r->in_input[r->n] = line >= r->lo && line < r->hi;
    r->n++;
    return r->stop_after && r->n == r->stop_after;
}

static char *guard_base;
static size_t guard_pg;

static int setup_guard(void **state)
{
    (void)state;
    guard_pg = (size_t)sysconf(_SC_PAGESIZE);
    guard_base = mmap(NULL, 2 * guard_pg, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_base == MAP_FAILED)
        return -1;
    return mprotect(guard_base + guard_pg, guard_pg, PROT_NONE);
}

static int teardown_guard(void **state)
{
    (void)state;
    return munmap(guard_base, 2 * guard_pg);
}

/* Feeds in[0..n) cut at `cuts`, each piece copied flush against the guard
 * page, growing the carry (from `cap`) whenever NDJSON_FULL asks. */
static void decode_cuts(const char *in, size_t n, const size_t *cuts, int ncuts,
                        size_t cap, struct rec *r, struct ndjson *d)
{
    char *buf = malloc(cap ? cap : 1);
    size_t prev = 0;

    memset(r, 0, sizeof *r);
    ndjson_init(d, buf, cap);
    for (int k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n, len = end - prev, off = 0, used;
        char *g = guard_base + guard_pg - len;
        int rc;

        memcpy(g, in + prev, len);
        r->lo = g;
        r->hi = g + len;
        for (;;) {
            rc = ndjson_feed(d, g + off, len - off, &used, on_line, r);
            off += used;
            if (rc != NDJSON_FULL)
                break;
            cap = cap ? cap * 2 : 1;
            {
                char *nb = malloc(cap);
                assert_non_null(nb);
                assert_int_equal(ndjson_rebuffer(d, nb, cap), 0);
                free(buf);
                buf = nb;
            }
        }
        assert_int_equal(rc, NDJSON_OK);
        assert_int_equal(off, len);
        prev = end;
    }
    r->lo = r->hi = NULL;
    assert_int_equal(ndjson_finish(d, on_line, r), NDJSON_OK);
    free(buf);
}

static const char stream[] =
    "{\"response\":\"a\",\"done\":false}\n"
    "\n"
    "{\"response\":\"b\\n\",\"done\":false}\r\n"
    "   \r\n"
    "\r\n"
    "{\"error\":\"boom\"}\n"
    "\t\n"
    "{\"done\":true,\"eval_count\":3}";
static const char *const want[] = {
    "{\"response\":\"a\",\"done\":false}",
    "{\"response\":\"b\\n\",\"done\":false}",
    "{\"error\":\"boom\"}",
    "{\"done\":true,\"eval_count\":3}",
};

static void expect(const struct rec *r)
{
    assert_int_equal(r->n, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(r->line[i], want[i]);
}

static void test_whole(void **state)
{
    struct rec r;
    struct ndjson d;

    (void)state;
    decode_cuts(stream, sizeof stream - 1, NULL, 0, 256, &r, &d);
    expect(&r);
    assert_int_equal(d.lines, 4);
    /* Lines whole in the feed are slices of it; the last one (no LF) is
     * carried until ndjson_finish. */
    assert_int_equal(r.in_input[0], 1);
    assert_int_equal(r.in_input[2], 1);
    assert_int_equal(r.in_input[3], 0);
}

static void test_per_byte(void **state)
{
    size_t n = sizeof stream - 1, cuts[sizeof stream];
    struct rec r;
    struct ndjson d;

    (void)state;
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    decode_cuts(stream, n, cuts, (int)n - 1, 256, &r, &d);
    expect(&r);
    decode_cuts(stream, n, cuts, (int)n - 1, 0, &r, &d);
    expect(&r);
}

static void test_every_split(void **state)
{
    size_t n = sizeof stream - 1;
    struct rec r;
    struct ndjson d;

    (void)state;
    for (size_t i = 0; i <= n; i++) {
        decode_cuts(stream, n, &i, 1, 256, &r, &d);
        expect(&r);
        decode_cuts(stream, n, &i, 1, 1, &r, &d);
        expect(&r);
        for (size_t j = i; j <= n; j += 2) {
            size_t cuts[2] = { i, j };
            decode_cuts(stream, n, cuts, 2, 8, &r, &d);
            expect(&r);
        }
    }
}

static void test_full_and_stop(void **state)
{
    struct rec r;
    struct ndjson d;
    char small[4], big[64];
    size_t used;
    const char *in = "{\"a\":1}\n{\"b\":2}\n";

    (void)state;
    memset(&r, 0, sizeof r);
    ndjson_init(&d, small, sizeof small);
    /* A partial line longer than the carry. */
    assert_int_equal(ndjson_feed(&d, "{\"abc\":", 7, &used, on_line, &r), NDJSON_FULL);
    assert_int_equal(used, 4);
    assert_int_equal(ndjson_rebuffer(&d, big, 2), -1);
    assert_int_equal(ndjson_rebuffer(&d, big, sizeof big), 0);
    assert_int_equal(ndjson_feed(&d, "{\"abc\":" + 4, 3, &used, on_line, &r), NDJSON_OK);
    assert_int_equal(ndjson_feed(&d, "1}\n{\"x\":0}\n", 11, &used, on_line, &r), NDJSON_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.line[0], "{\"abc\":1}");
    assert_string_equal(r.line[1], "{\"x\":0}");
    /* Stop after the first line: the rest is not taken. */
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    assert_int_equal(ndjson_feed(&d, in, strlen(in), &used, on_line, &r), NDJSON_STOPPED);
    assert_int_equal(used, 8);
    r.stop_after = 0;
    assert_int_equal(ndjson_feed(&d, in + used, strlen(in) - used, &used, on_line, &r), NDJSON_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.line[1], "{\"b\":2}");
    /* finish with nothing pending, and reuse afterwards. */
    assert_int_equal(ndjson_finish(&d, on_line, &r), NDJSON_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(ndjson_feed(&d, "x\r", 2, &used, on_line, &r), NDJSON_OK);
    assert_int_equal(ndjson_finish(&d, on_line, &r), NDJSON_OK);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.line[2], "x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_per_byte),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_full_and_stop),
    };
    return cmocka_run_group_tests(tests, setup_guard, teardown_guard);
}
