/* Tests for sse.c: the WHATWG parsing rules one by one, then one
 * multi-feature stream fed whole, one byte at a time, at every split
 * point (two and three pieces), with a growing carry buffer, and always
 * with each piece flush against a PROT_NONE guard page. */
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

#include "sse.h"

#define MAXEV 32

/* What the callback saw: one "type|data|error" string per event, and
 * whether the data pointed into the bytes being fed. */
struct rec {
    int n;
    char ev[MAXEV][512];
    int in_input[MAXEV];
    const char *feed_lo, *feed_hi;
    int stop_after;           /* stop when n reaches this (0: never) */
};

static int on_event(void *ud, const struct sse_event *ev)
{
    struct rec *r = ud;

    assert_true(r->n < MAXEV);
    assert_non_null(ev->data);
    snprintf(r->ev[r->n], sizeof r->ev[0], "%.*s|%.*s|%.*s",
             (int)ev->type_len, ev->type ? ev->type : "",
             (int)ev->data_len, ev->data,
             (int)ev->error_len, ev->error ? ev->error : "");
    r->in_input[r->n] = ev->data >= r->feed_lo && ev->data < r->feed_hi;
    r->n++;
    return r->stop_after && r->n == r->stop_after;
}

/* A writable page followed by a PROT_NONE page; chunks are copied flush
 * against the guard so any read past a feed's end faults. */
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

static const char *guarded(const char *p, size_t n)
{
    char *g = guard_base + guard_pg - n;

    assert_true(n <= guard_pg);
    memcpy(g, p, n);
    return g;
}

/* A carry buffer that can grow on SSE_FULL (the caller's side of the
 * contract); starts at `cap`. */
struct carry { char *buf; size_t cap; int grows; };

/* Feeds one piece, copied against the guard page, growing the carry on
 * SSE_FULL.  Returns the final sse_feed result. */
static int feed_piece(struct sse *s, struct carry *c, struct rec *r, const char *p, size_t n)
{
    const char *g = guarded(p, n);
    size_t off = 0, used = 0;
    int rc;

    for (;;) {
        r->feed_lo = g;
        r->feed_hi = g + n;
        rc = sse_feed(s, g + off, n - off, &used, on_event, r);
        assert_true(used <= n - off);
        off += used;
        if (rc != SSE_FULL)
            break;
        {
            size_t ncap = c->cap ? c->cap * 2 : 1;
            char *nbuf = malloc(ncap);
            assert_non_null(nbuf);
            /* The decoder moves its bytes; then the old buffer is ours. */
            assert_int_equal(sse_rebuffer(s, nbuf, ncap), 0);
            free(c->buf);
            c->buf = nbuf;
            c->cap = ncap;
            c->grows++;
        }
    }
    if (rc == SSE_OK)
        assert_int_equal(off, n);
    return rc;
}

/* Decodes `in` cut at the given points (sorted offsets), then finishes. */
static void decode_cuts(const char *in, size_t n, const size_t *cuts, int ncuts,
                        size_t cap, struct rec *r, struct sse *s)
{
    struct carry c = { malloc(cap ? cap : 1), cap, 0 };
    size_t prev = 0;

    memset(r, 0, sizeof *r);
    sse_init(s, c.buf, c.cap);
    for (int k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        assert_int_equal(feed_piece(s, &c, r, in + prev, end - prev), SSE_OK);
        prev = end;
    }
    r->feed_lo = r->feed_hi = NULL;
    assert_int_equal(sse_finish(s, on_event, r), SSE_OK);
    free(c.buf);
}

static void decode_whole(const char *in, struct rec *r, struct sse *s)
{
    decode_cuts(in, strlen(in), NULL, 0, 1024, r, s);
}

static void decode_bytes(const char *in, size_t cap, struct rec *r, struct sse *s)
{
    size_t n = strlen(in);
    size_t *cuts = malloc(n * sizeof *cuts);

    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    decode_cuts(in, n, cuts, n > 0 ? (int)n - 1 : 0, cap, r, s);
    free(cuts);
}

static void expect(const struct rec *r, const char *const *want, int nwant)
{
    if (r->n != nwant) {
        for (int i = 0; i < r->n; i++)
            print_message("got[%d] = %s\n", i, r->ev[i]);
    }
    assert_int_equal(r->n, nwant);
    for (int i = 0; i < nwant; i++)
        assert_string_equal(r->ev[i], want[i]);
}

/* Checks one input whole and per byte; returns nothing, asserts. */
static void check(const char *in, const char *const *want, int nwant)
{
    struct rec r;
    struct sse s;

    decode_whole(in, &r, &s);
    expect(&r, want, nwant);
    decode_bytes(in, 256, &r, &s);
    expect(&r, want, nwant);
    decode_bytes(in, 1, &r, &s);
    expect(&r, want, nwant);
}

static void test_line_endings(void **state)
{
    static const char *const want[] = { "|a|", "|b|", "|c|", "|d\ne|" };
    (void)state;
    check("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\rdata: e\r\n\n", want, 4);
}

static void test_cr_lf_across_feeds(void **state)
{
    struct rec r;
    struct sse s;
    const char *in = "data: a\r\ndata: b\r\n\r\n";
    size_t cut = 8;   /* right after the first CR */
    static const char *const want[] = { "|a\nb|" };
    static const char *const want_cr[] = { "|a|", "|b|" };

    (void)state;
    decode_cuts(in, strlen(in), &cut, 1, 64, &r, &s);
    expect(&r, want, 1);
    /* A CR at the end of a feed, and the next feed not starting with LF:
     * the CR alone was the line ending. */
    in = "data: a\r\rdata: b\r";
    decode_cuts(in, strlen(in), &cut, 1, 64, &r, &s);
    expect(&r, want_cr, 1);
    cut = 9;
    in = "data: a\r\r\rdata: b\r\r";
    decode_cuts(in, strlen(in), &cut, 1, 64, &r, &s);
    expect(&r, want_cr, 2);
}

static void test_comments(void **state)
{
    struct rec r;
    struct sse s;
    static const char *const want[] = { "|x|" };

    (void)state;
    decode_whole(": ping\n\n:\n\n: keep-alive\ndata: x\n: mid\n\n", &r, &s);
    expect(&r, want, 1);
    assert_int_equal(s.comments, 4);
    assert_int_equal(s.events, 1);
    check(":\n\n:\r\n\r\n", NULL, 0);
}

static void test_fields(void **state)
{
    static const char *const want1[] = { "|x|", "| x|", "||", "|\n|", "|a\n\nb|" };
    static const char *const want2[] = { "error|{}|", "|after|" };
    struct rec r;
    struct sse s;

    (void)state;
    /* No space, two spaces (one kept), bare field name, two empty lines. */
    check("data:x\n\ndata:  x\n\ndata\n\ndata\ndata:\n\ndata: a\ndata:\ndata: b\n\n", want1, 5);
    /* event: sets the type of one event only. */
    check("event: error\ndata: {}\n\ndata: after\n\n", want2, 2);
    /* Unknown fields and wrong case are ignored; no data, no event. */
    check("Data: x\nDATA: y\nfoo: bar\nevent: t\n\n", NULL, 0);
    /* id and retry. */
    decode_whole("id: 42\n\nretry: 1500\n\nretry: 15x\n\nretry:\n\nid: 43", &r, &s);
    assert_int_equal(r.n, 0);
    assert_string_equal(s.last_id, "42");
    assert_int_equal(s.retry_ms, 1500);
    decode_whole("id\n\n", &r, &s);
    assert_string_equal(s.last_id, "");
    {
        /* The NUL is inside the input; feed its real length. */
        const char in[] = "id: 9\n\nid: a\0b\ndata: z\n\n";
        static const char *const wz[] = { "|z|" };
        decode_cuts(in, sizeof in - 1, NULL, 0, 64, &r, &s);
        expect(&r, wz, 1);
        assert_string_equal(s.last_id, "9");
    }
}

static void test_bom(void **state)
{
    static const char *const want[] = { "|a|" };
    static const char *const want2[] = { "|z|" };
    static const char *const want3[] = { "|\xef\xbb\xbf" "b|" };
    struct rec r;
    struct sse s;

    (void)state;
    check("\xef\xbb\xbf" "data: a\n\n", want, 1);
    /* Only one leading BOM is dropped: a second one makes the field name
     * "\ufeffdata", which is unknown. */
    check("\xef\xbb\xbf\xef\xbb\xbf" "data: a\n\n", NULL, 0);
    /* A BOM inside a value is text. */
    check("data: \xef\xbb\xbf" "b\n\n", want3, 1);
    /* A BOM prefix that is not a BOM: the bytes are part of the first
     * line (an unknown field here), and decoding goes on. */
    check("\xef\xbbx: y\ndata: z\n\n", want2, 1);
    check("\xef" "data: q\n\ndata: z\n\n", want2, 1);
    /* After sse_finish the next response may start with a BOM again. */
    decode_whole("\xef\xbb\xbf" "data: a\n\n", &r, &s);
    expect(&r, want, 1);
}

static void test_error_field(void **state)
{
    static const char *const want[] = {
        "||{\"code\":500,\"message\":\"boom\",\"type\":\"server_error\"}",
        "|[DONE]|",
    };
    (void)state;
    check("error: {\"code\":500,\"message\":\"boom\",\"type\":\"server_error\"}\n\ndata: [DONE]\n\n",
          want, 2);
}

static void test_done_at_eof(void **state)
{
    static const char *const done[] = { "|{\"a\":1}|", "|[DONE]|" };
    (void)state;
    check("data: {\"a\":1}\n\ndata: [DONE]", done, 2);
    check("data: {\"a\":1}\n\ndata: [DONE]\n", done, 2);
    check("data: {\"a\":1}\n\ndata: [DONE]\r\n", done, 2);
    /* Anything else pending at EOF is discarded, as the spec says. */
    check("data: {\"a\":1}\n\ndata: {\"b\":2}\n", done, 1);
    check("data: {\"a\":1}\n\ndata: {\"b\":2}", done, 1);
    check("data: {\"a\":1}\n\ndata: [DONE]\ndata: x\n", done, 1);
    /* Only the sentinel itself, not a value that starts like it. */
    check("data: {\"a\":1}\n\ndata: [DONE]x", done, 1);
    check("data: {\"a\":1}\n\ndata: [DONE", done, 1);
}

/* The one [DONE] test: exact, once whitespace around it is dropped. */
static void test_is_done(void **state)
{
    static const char *const yes[] = { "[DONE]", " [DONE]", "[DONE] ", "\t[DONE]\r\n", "\n\n[DONE]\n" };
    static const char *const no[] = { "", " ", "[DONE", "DONE]", "[DONE]x", "x[DONE]", "[done]",
                                      "[DONE] [DONE]", "[ DONE]", "\"[DONE]\"", "[DONE]\v" };

    (void)state;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!sse_is_done(yes[i], strlen(yes[i])))
            fail_msg("not [DONE]: '%s'", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (sse_is_done(no[i], strlen(no[i])))
            fail_msg("taken for [DONE]: '%s'", no[i]);
    /* Exactly len bytes are read: a prefix of a longer buffer. */
    assert_true(sse_is_done("[DONE]]]", 6));
    assert_false(sse_is_done("[DONE]", 5));
}

static void test_zero_copy(void **state)
{
    struct rec r;
    struct sse s;
    const char *in = "data: one\n\ndata: two\ndata: lines\n\nevent: e\ndata: three\n\n";
    size_t cut = 5;
    static const char *const want[] = { "|one|", "|two\nlines|", "e|three|" };

    (void)state;
    decode_whole(in, &r, &s);
    expect(&r, want, 3);
    assert_int_equal(r.in_input[0], 1);
    assert_int_equal(r.in_input[1], 0);   /* joined in the carry */
    assert_int_equal(r.in_input[2], 1);
    /* The first event spans two feeds: it comes from the carry. */
    decode_cuts(in, strlen(in), &cut, 1, 64, &r, &s);
    expect(&r, want, 3);
    assert_int_equal(r.in_input[0], 0);
    assert_int_equal(r.in_input[2], 1);
}

static void test_full_rebuffer(void **state)
{
    char big[400];
    struct rec r;
    struct sse s;
    char small[8], *grown;
    size_t used, off = 0, n;
    int rc;
    static const char *const want_ml[] = { "|aaaa\nbbbb|" };

    (void)state;
    /* An event bigger than the carry, spanning two feeds. */
    memcpy(big, "data: ", 6);
    memset(big + 6, 'x', 300);
    memcpy(big + 306, "\n\ndata: tail\n\n", 15);
    n = strlen(big);
    memset(&r, 0, sizeof r);
    sse_init(&s, small, sizeof small);
    rc = sse_feed(&s, big, 100, &used, on_event, &r);
    assert_int_equal(rc, SSE_FULL);
    assert_int_equal(used, sizeof small);
    grown = malloc(512);
    assert_non_null(grown);
    assert_int_equal(sse_rebuffer(&s, grown, 4), -1);   /* too small: refused */
    assert_int_equal(sse_rebuffer(&s, grown, 512), 0);
    off = used;
    rc = sse_feed(&s, big + off, 100 - off, &used, on_event, &r);
    assert_int_equal(rc, SSE_OK);
    assert_int_equal(used, 100 - off);
    rc = sse_feed(&s, big + 100, n - 100, &used, on_event, &r);
    assert_int_equal(rc, SSE_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(strlen(r.ev[0]), 302);
    assert_string_equal(r.ev[1], "|tail|");
    free(grown);

    /* Several data lines in one feed need join space: FULL before any
     * byte of the event is taken, then the same event again. */
    memset(&r, 0, sizeof r);
    sse_init(&s, small, 4);
    rc = sse_feed(&s, "data: z\n\ndata: aaaa\ndata: bbbb\n\n", 32, &used, on_event, &r);
    assert_int_equal(rc, SSE_FULL);
    assert_int_equal(used, 9);
    assert_int_equal(r.n, 1);
    assert_int_equal(sse_rebuffer(&s, small, sizeof small), 0);
    r.n = 0;
    rc = sse_feed(&s, "data: aaaa\ndata: bbbb\n\n", 23, &used, on_event, &r);
    assert_int_equal(rc, SSE_FULL);   /* 8 bytes still short of 9 */
    grown = malloc(16);
    assert_int_equal(sse_rebuffer(&s, grown, 16), 0);
    rc = sse_feed(&s, "data: aaaa\ndata: bbbb\n\n", 23, &used, on_event, &r);
    assert_int_equal(rc, SSE_OK);
    expect(&r, want_ml, 1);
    free(grown);

    /* The raw event fits the carry but its joined data does not: FULL at
     * the blank line, which is fed again after rebuffering. */
    {
        char c24[24], c64[64];
        memset(&r, 0, sizeof r);
        sse_init(&s, c24, sizeof c24);
        rc = sse_feed(&s, "data: aaaa\ndata: bbbb\n", 22, &used, on_event, &r);
        assert_int_equal(rc, SSE_OK);
        rc = sse_feed(&s, "\n", 1, &used, on_event, &r);
        assert_int_equal(rc, SSE_FULL);
        assert_int_equal(used, 0);
        assert_int_equal(sse_rebuffer(&s, c64, sizeof c64), 0);
        rc = sse_feed(&s, "\n", 1, &used, on_event, &r);
        assert_int_equal(rc, SSE_OK);
        expect(&r, want_ml, 1);
    }
}

static void test_stop(void **state)
{
    struct rec r;
    struct sse s;
    char buf[64];
    size_t used;
    const char *in = "data: a\r\rdata: b\n\n";
    static const char *const want[] = { "|a|", "|b|" };

    (void)state;
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    sse_init(&s, buf, sizeof buf);
    assert_int_equal(sse_feed(&s, in, strlen(in), &used, on_event, &r), SSE_STOPPED);
    assert_int_equal(used, 9);
    r.stop_after = 0;
    assert_int_equal(sse_feed(&s, in + used, strlen(in) - used, &used, on_event, &r), SSE_OK);
    expect(&r, want, 2);
    /* sse_finish with a [DONE] can be stopped too. */
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    assert_int_equal(sse_feed(&s, "data: [DONE]", 12, &used, on_event, &r), SSE_OK);
    assert_int_equal(sse_finish(&s, on_event, &r), SSE_STOPPED);
    assert_int_equal(sse_finish(&s, NULL, NULL), SSE_OK);
}

/* Every rule at once, for the split tests. */
static const char stream[] =
    "\xef\xbb\xbf"
    ": ping\r\n"
    "\r\n"
    "data: first\n\n"
    "data: crlf 1\r\ndata: crlf 2\r\n\r\n"
    "event: error\ndata:no-space\r\n\r\n"
    "data: multi 1\rdata:  multi 2\rdata\r\r"
    "id: 7\nretry: 250\nfoo: bar\nData: x\n\n"
    "error: {\"message\":\"boom\"}\n\n"
    "\n\n"
    "data: {\"x\":\"a:b\"}\r\n\r\n"
    "data: [DONE]";
static const char *const stream_want[] = {
    "|first|", "|crlf 1\ncrlf 2|", "error|no-space|", "|multi 1\n multi 2\n|", "||{\"message\":\"boom\"}",
    "|{\"x\":\"a:b\"}|", "|[DONE]|",
};

static void check_stream_state(const struct rec *r, const struct sse *s)
{
    expect(r, stream_want, 7);
    assert_int_equal(s->comments, 1);
    assert_string_equal(s->last_id, "7");
    assert_int_equal(s->retry_ms, 250);
}

static void test_stream_whole_and_bytes(void **state)
{
    struct rec r;
    struct sse s;

    (void)state;
    decode_whole(stream, &r, &s);
    check_stream_state(&r, &s);
    decode_bytes(stream, 256, &r, &s);
    check_stream_state(&r, &s);
    decode_bytes(stream, 1, &r, &s);
    check_stream_state(&r, &s);
}

static void test_stream_every_split(void **state)
{
    size_t n = sizeof stream - 1;
    struct rec r;
    struct sse s;

    (void)state;
    for (size_t i = 0; i <= n; i++) {
        decode_cuts(stream, n, &i, 1, 256, &r, &s);
        check_stream_state(&r, &s);
        decode_cuts(stream, n, &i, 1, 1, &r, &s);
        check_stream_state(&r, &s);
    }
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j += 3) {
            size_t cuts[2] = { i, j };
            decode_cuts(stream, n, cuts, 2, 256, &r, &s);
            check_stream_state(&r, &s);
        }
    }
}

static void test_random_chunks(void **state)
{
    size_t n = sizeof stream - 1;
    struct rec r;
    struct sse s;
    unsigned seed = 12345;

    (void)state;
    for (int round = 0; round < 2000; round++) {
        size_t cuts[64];
        int nc = 0;
        size_t at = 0;
        while (nc < 64) {
            seed = seed * 1103515245u + 12345u;
            at += 1 + (seed >> 16) % 17;
            if (at >= n)
                break;
            cuts[nc++] = at;
        }
        decode_cuts(stream, n, cuts, nc, (size_t)(round % 5) * 16, &r, &s);
        check_stream_state(&r, &s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_cr_lf_across_feeds),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_error_field),
        cmocka_unit_test(test_done_at_eof),
        cmocka_unit_test(test_is_done),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_full_rebuffer),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_stream_whole_and_bytes),
        cmocka_unit_test(test_stream_every_split),
        cmocka_unit_test(test_random_chunks),
    };
    return cmocka_run_group_tests(tests, setup_guard, teardown_guard);
}
