/* Tests for json.c: tokenising (strict, one value, elision), lookups,
 * number/bool readers, unescaping and escaping. */
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

#include "json.h"

#define NT 256
static jsmntok_t toks[NT];

/* Copies s so that its last byte is flush against a PROT_NONE page: any
 * read past the end faults.  Returns the copy; map and maplen are for munmap. */
static char *guard_copy(const char *s, size_t n, void **map, size_t *maplen)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + pg - 1) / pg + 1;
    char *m = mmap(NULL, pages * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + (pages - 1) * pg, pg, PROT_NONE), 0);
    memcpy(m + (pages - 1) * pg - n, s, n);
    *map = m;
    *maplen = pages * pg;
    return m + (pages - 1) * pg - n;
}

static int tok(const char *s)
{
    return json_tokenize(s, strlen(s), toks, NT);
}

static int elide(const char *s, unsigned nt)
{
    return json_tokenize_elide(s, strlen(s), toks, nt);
}

static void test_tokenize_one_value(void **state)
{
    (void)state;
    assert_int_equal(tok("{\"a\":1}"), 3);
    assert_int_equal(tok("  {\"a\":[1,2,{\"b\":null}]}\r\n"), 8);
    assert_int_equal(tok("[1,2]"), 3);
    /* Trailing values, garbage, cut-off input and NUL are all errors. */
    assert_int_equal(tok("{\"a\":1} {\"b\":2}"), JSON_ERROR_TRAIL);
    assert_int_equal(tok("{\"a\":1},"), JSON_ERROR_TRAIL);
    assert_true(tok("{\"a\":1} x") < 0);
    assert_true(tok("{\"a\":1}}") < 0);
    assert_int_equal(tok("{\"a\":1"), JSMN_ERROR_PART);
    assert_int_equal(tok("{\"a\":\"x"), JSMN_ERROR_PART);
    assert_true(tok("") < 0);
    assert_true(tok("   ") < 0);
    assert_int_equal(json_tokenize("{\"a\":1}\0zz", 10, toks, NT), JSON_ERROR_TRAIL);
    /* Strict mode: unquoted keys and bare words are malformed. */
    assert_true(tok("{a:1}") < 0);
    assert_true(tok("{\"a\":hello}") < 0);
    assert_int_equal(json_tokenize("{\"a\":1,\"b\":2}", 13, toks, 3), JSMN_ERROR_NOMEM);
}

/* jsmn checks brackets and strings, not the grammar between them:
 * json_tokenize does, and every one of these is malformed. */
static void test_tokenize_grammar(void **state)
{
    static const char *const bad[] = {
        /* a missing colon, a key without a value */
        "{\"response\" \"hi\",\"done\":false}", "{\"a\" 1}", "{\"a\":}", "{\"a\"}", "{\"a\":1,\"b\"}",
        /* a missing comma */
        "{\"a\":1 \"b\":2}", "{\"a\":{\"b\":1}\"c\":2}", "[1 2]", "[\"a\" \"b\"]", "[{} {}]", "{\"a\":[1 2]}",
        /* doubled and dangling separators */
        "{\"a\"::1}", "{\"a\":1,,\"b\":2}", "[1,,2]", "{,\"a\":1}", "{\"a\":1,}", "[1,]", "[,1]", "[,]",
        "{:}", "{\"a\":[1,]}",
        /* a colon in an array, or after a value */
        "[1:2]", "[\"a\":1]", "{\"a\":[\"k\":\"v\"]}", "{\"a\":1:2}", "{\"a\":\"b\":\"c\"}",
        /* keys that are not strings, values without a key */
        "{1:2}", "{null:1}", "{{}:1}", "{[]:1}", "{\"a\":1,2}", "{\"a\":1,{}}", "{\"a\":1,\"b\":2,\"c\"}",
        /* primitives that are not JSON */
        "{\"a\":tru}", "{\"a\":nul}", "{\"a\":falsey}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":1e}", "{\"a\":1.2.3}", "{\"a\":--1}", "{\"a\":-}", "{\"a\":1-2}",
        /* a key at the top level */
        "\"a\":1", "tru",
    };
    static const char *const good[] = {
        "{ \"a\" : [ 1 , 2 , { } , [ ] ] , \"b\" : { \"c\" : null } }",
        "{\"a\": 1, \"b\": [true, false, null, -0, 0.5, 1E+3, -2e-2, 10]}",
        "{\n\t\"a\"\r\n:\n1\n}\n",
        "[[[]],{},\"x\",{\"y\":[{}]}]",
        "{}", "[]", "\"s\"",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tok(bad[i]) >= 0)
            fail_msg("accepted %s", bad[i]);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (tok(good[i]) <= 0)
            fail_msg("refused %s: %d", good[i], tok(good[i]));
    assert_int_equal(tok("{\"response\" \"hi\",\"done\":false}"), JSMN_ERROR_INVAL);
}

static void test_find_skip_index(void **state)
{
    const char *js = "{\"x\":{\"y\":[1,{\"z\":2}]},\"choices\":[{\"t\":\"a\"},{\"t\":\"b\"}],\"n\":5}";
    int n = tok(js), x, ch, e1, v;

    (void)state;
    assert_true(n > 0);
    x = json_find(js, toks, n, 0, "x");
    assert_int_equal(toks[x].type, JSMN_OBJECT);
    /* The subtree of x has 7 tokens: {, "y", [, 1, {, "z", 2. */
    assert_int_equal(json_skip(toks, n, x), x + 7);
    ch = json_find(js, toks, n, 0, "choices");
    assert_int_equal(toks[ch].type, JSMN_ARRAY);
    e1 = json_index(toks, n, ch, 1);
    v = json_find(js, toks, n, e1, "t");
    assert_true(json_eq(js, &toks[v], "b"));
    assert_int_equal(json_index(toks, n, ch, 2), -1);
    assert_int_equal(json_index(toks, n, x, 0), -1);
    v = json_find(js, toks, n, 0, "n");
    assert_true(json_eq(js, &toks[v], "5"));
    assert_int_equal(json_find(js, toks, n, 0, "missing"), -1);
    assert_int_equal(json_find(js, toks, n, ch, "t"), -1);
    /* Nested keys are not found at the top level. */
    assert_int_equal(json_find(js, toks, n, 0, "y"), -1);
    assert_int_equal(json_skip(toks, n, 0), n);
}

static void test_numbers(void **state)
{
    const char *js = "[0,-7,123456789012,9223372036854775807,-9223372036854775808,"
                     "9223372036854775808,12.9,-3.5e2,1e30,\"5\",true,null,false,2.5]";
    int n = tok(js);
    int64_t v;
    double d;
    int b;

    (void)state;
    assert_int_equal(n, 15);
    assert_int_equal(json_int64(js, &toks[1], &v), 0); assert_int_equal(v, 0);
    assert_int_equal(json_int64(js, &toks[2], &v), 0); assert_int_equal(v, -7);
    assert_int_equal(json_int64(js, &toks[3], &v), 0); assert_int_equal(v, 123456789012LL);
    assert_int_equal(json_int64(js, &toks[4], &v), 0); assert_true(v == INT64_MAX);
    assert_int_equal(json_int64(js, &toks[5], &v), 0); assert_true(v == INT64_MIN);
    assert_int_equal(json_int64(js, &toks[6], &v), -1);
    assert_int_equal(json_int64(js, &toks[7], &v), 0); assert_int_equal(v, 12);
    assert_int_equal(json_int64(js, &toks[8], &v), 0); assert_int_equal(v, -350);
    assert_int_equal(json_int64(js, &toks[9], &v), -1);
    assert_int_equal(json_int64(js, &toks[10], &v), -1);   /* a string */
    assert_int_equal(json_int64(js, &toks[11], &v), -1);   /* true */
    assert_int_equal(json_double(js, &toks[14], &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(json_double(js, &toks[12], &d), -1);  /* null */
    assert_true(json_is_null(js, &toks[12]));
    assert_false(json_is_null(js, &toks[1]));
    assert_int_equal(json_bool(js, &toks[11], &b), 0); assert_int_equal(b, 1);
    assert_int_equal(json_bool(js, &toks[13], &b), 0); assert_int_equal(b, 0);
    assert_int_equal(json_bool(js, &toks[12], &b), -1);
    assert_int_equal(json_bool(js, &toks[10], &b), -1);
}

static void test_unescape(void **state)
{
    char out[64];
    char inplace[64];
    const char *s;
    long n;

    (void)state;
    s = "a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f";
    n = json_unescape(s, strlen(s), out, sizeof out);
    assert_int_equal(n, 12);
    assert_memory_equal(out, "a\"b\\c/d\n\t\r\b\f", 12);
    s = "\\u00e9\\u4e2d\\ud83d\\ude00x";     /* é 中 😀 x */
    n = json_unescape(s, strlen(s), out, sizeof out);
    assert_int_equal(n, 2 + 3 + 4 + 1);
    assert_memory_equal(out, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80x", 10);
    /* Lone surrogates become U+FFFD rather than an error. */
    s = "\\ud83dx\\ude00";
    n = json_unescape(s, strlen(s), out, sizeof out);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "\xef\xbf\xbdx\xef\xbf\xbd", 7);
    /* UTF-8 passes through untouched. */
    s = "\xd0\xbe\xd0\xba";
    assert_int_equal(json_unescape(s, 4, out, sizeof out), 4);
    assert_memory_equal(out, s, 4);
    /* Bad escapes and cut-off escapes. */
    assert_int_equal(json_unescape("\\x", 2, out, sizeof out), -1);
    assert_int_equal(json_unescape("ab\\", 3, out, sizeof out), -1);
    assert_int_equal(json_unescape("\\u12", 4, out, sizeof out), -1);
    assert_int_equal(json_unescape("\\u12g4", 6, out, sizeof out), -1);
    /* Too small an output. */
    assert_int_equal(json_unescape("abcd", 4, out, 3), -1);
    assert_int_equal(json_unescape("\\u4e2d", 6, out, 2), -1);
    assert_int_equal(json_unescape("", 0, out, 0), 0);
    /* In place. */
    strcpy(inplace, "x\\u4e2d\\n\\ud83d\\ude00");
    n = json_unescape(inplace, strlen(inplace), inplace, sizeof inplace);
    assert_int_equal(n, 1 + 3 + 1 + 4);
    assert_memory_equal(inplace, "x\xe4\xb8\xad\n\xf0\x9f\x98\x80", 9);
}

static void test_put_string(void **state)
{
    char buf[64];
    size_t pos = 0;
    const char *s = "q\"b\\n\n\x01\x1f\x7f\xc3\xa9";

    (void)state;
    assert_int_equal(json_put_string(buf, sizeof buf, &pos, s), 0);
    buf[pos] = '\0';
    assert_string_equal(buf, "\"q\\\"b\\\\n\\n\\u0001\\u001f\x7f\xc3\xa9\"");
    /* Round trip through the tokenizer and the unescaper. */
    {
        char js[80], out[64];
        long n;
        snprintf(js, sizeof js, "{\"k\":%s}", buf);
        assert_int_equal(tok(js), 3);
        n = json_unescape(js + toks[2].start, (size_t)(toks[2].end - toks[2].start), out, sizeof out);
        assert_int_equal(n, (long)strlen(s));
        assert_memory_equal(out, s, strlen(s));
    }
    /* Every cap below the needed size fails and leaves pos alone. */
    for (size_t cap = 0; cap < strlen(buf); cap++) {
        size_t p2 = 0;
        char small[64];
        assert_int_equal(json_put_string(small, cap, &p2, s), -1);
        assert_int_equal(p2, 0);
    }
    pos = 3;
    assert_int_equal(json_put_string(buf, sizeof buf, &pos, ""), 0);
    assert_int_equal(pos, 5);
    assert_memory_equal(buf + 3, "\"\"", 2);
}

/* An Ollama final generate line with a 50,000-element context: the
 * elision keeps the fields on both sides of it with a few tokens. */
static void test_elide_huge_context(void **state)
{
    size_t cap = 50000 * 7 + 512, n = 0;
    char *js = malloc(cap);
    int r, i;
    int64_t v;

    (void)state;
    assert_non_null(js);
    n += (size_t)sprintf(js + n, "{\"model\":\"m\",\"response\":\"\",\"done\":true,\"context\":[");
    for (i = 0; i < 50000; i++)
        n += (size_t)sprintf(js + n, "%s%d", i ? "," : "", 100000 + i);
    n += (size_t)sprintf(js + n, "],\"total_duration\":10706818083,\"message\":{\"role\":\"a\"},\"eval_count\":259}");
    assert_int_equal(json_tokenize(js, n, toks, NT), JSMN_ERROR_NOMEM);
    r = json_tokenize_elide(js, n, toks, NT);
    assert_int_equal(r, 17);
    i = json_find(js, toks, r, 0, "context");
    assert_int_equal(toks[i].type, JSMN_ARRAY);
    assert_int_equal(toks[i].size, 0);
    assert_int_equal(js[toks[i].start], '[');
    assert_int_equal(js[toks[i].end - 1], ']');
    i = json_find(js, toks, r, 0, "eval_count");
    assert_int_equal(json_int64(js, &toks[i], &v), 0);
    assert_int_equal(v, 259);
    i = json_find(js, toks, r, 0, "total_duration");
    assert_int_equal(json_int64(js, &toks[i], &v), 0);
    assert_true(v == 10706818083LL);
    i = json_find(js, toks, r, 0, "message");
    assert_int_equal(toks[i].size, 1);
    assert_int_equal(toks[i].parent, i - 1);          /* its key */
    assert_int_equal(toks[i - 1].parent, 0);          /* the top object */
    i = json_find(js, toks, r, i, "role");
    assert_true(json_eq(js, &toks[i], "a"));
    assert_int_equal(toks[toks[i].parent].parent, i - 2);   /* role -> message */
    /* Elision with as few tokens as the top level needs. */
    r = json_tokenize_elide(js, n, toks, 17);
    assert_int_equal(r, 17);
    assert_int_equal(json_tokenize_elide(js, n, toks, 8), JSMN_ERROR_NOMEM);
    /* Still strict about what it elides around. */
    assert_int_equal(json_tokenize_elide("{\"a\":[1,2,3],\"b\":x}", 19, toks, 5), JSMN_ERROR_INVAL);
    assert_int_equal(json_tokenize_elide("{\"a\":[1,2,3],\"b\":1", 18, toks, 5), JSMN_ERROR_PART);
    assert_int_equal(json_tokenize_elide("{\"a\":[1,2,3]} 1", 15, toks, 5), JSON_ERROR_TRAIL);
    /* ... and about the grammar of what it tokenises: "a" is elided with
     * 8 tokens, and "b" is not. */
    assert_int_equal(elide("{\"a\":[1,2,3,4,5,6,7,8,9],\"b\":[1 2]}", 8), JSMN_ERROR_INVAL);
    assert_int_equal(elide("{\"a\":[1,2,3,4,5,6,7,8,9],\"b\":{\"c\" 1}}", 8), JSMN_ERROR_INVAL);
    assert_int_equal(elide("{\"a\":[1,2,3,4,5,6,7,8,9],\"b\":1.}", 8), JSMN_ERROR_INVAL);
    assert_int_equal(elide("{\"a\":[1,2,3,4,5,6,7,8,9],\"b\":[1,2]}", 8), 7);
    assert_int_equal(elide("{\"a\":[1,2,3,4,5,6,7,8,9],\"b\":{\"c\":1}}", 8), 7);
    assert_int_equal(json_tokenize_elide("{\"a\":[1,2,3],\"b\":1}", 19, toks, 5), 5);
    assert_int_equal(json_tokenize_elide("{\"a\":[1,2,3],\"b\":1}", 19, toks, 4), JSMN_ERROR_NOMEM);
    free(js);
}

static void test_guard_page(void **state)
{
    static const char *inputs[] = {
        "{\"a\":[1,2,{\"b\":\"c\\u00e9\"}],\"n\":-12.5e3,\"t\":true}",
        "{\"a\":1", "{\"a\":\"x\\", "{\"a\":tru", "[1,2", "{\"a\":\"\\u12",
        "{\"a\":[1,2,3,4,5,6,7,8,9,10,11,12,13],\"k\":7}",
    };

    (void)state;
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
        size_t n = strlen(inputs[k]), maplen;
        void *map;
        char *g = guard_copy(inputs[k], n, &map, &maplen);
        int r = json_tokenize(g, n, toks, NT);
        char out[64];

        (void)json_tokenize_elide(g, n, toks, 6);
        if (r > 0) {
            for (int i = 0; i < r; i++) {
                int64_t v;
                double d;
                (void)json_int64(g, &toks[i], &v);
                (void)json_double(g, &toks[i], &d);
            }
        }
        /* Unescape of the tail, cut anywhere. */
        for (size_t cut = 0; cut <= n; cut++)
            (void)json_unescape(g + cut, n - cut, out, sizeof out);
        /* Numbers flush against the page. */
        assert_int_equal(munmap(map, maplen), 0);
    }
    {
        const char *num = "[123456]";
        size_t maplen;
        void *map;
        char *g = guard_copy(num, 8, &map, &maplen);
        int64_t v;
        assert_int_equal(json_tokenize(g, 8, toks, NT), 2);
        assert_int_equal(json_int64(g, &toks[1], &v), 0);
        assert_int_equal(v, 123456);
        assert_int_equal(munmap(map, maplen), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_one_value),
        cmocka_unit_test(test_tokenize_grammar),
        cmocka_unit_test(test_find_skip_index),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_put_string),
        cmocka_unit_test(test_elide_huge_context),
        cmocka_unit_test(test_guard_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
