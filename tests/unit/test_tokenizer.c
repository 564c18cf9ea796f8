/* Unit tests of the tokenizer with small synthetic vocabularies.  The exact
 * cl100k_base ids are checked end to end (tests/e2e/test_workload.py) with
 * the real ranks, which need the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tokenizer.h"

/* ------------------------------------------------------------ helpers */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = b64chars[w >> 18 & 63];
        out[o++] = b64chars[w >> 12 & 63];
        out[o++] = i + 1 < n ? b64chars[w >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[w & 63] : '=';
    }
    out[o] = '\0';
}

struct sbuf { char *s; size_t len, cap; };

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 64;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
}

/* Ranks file: bytes 0..255 at their own rank, then the extra tokens. */
static const char *extra_tokens[] = { "ab", "bc", "abc", "aa", " a", " ab", "hello", "a'll", NULL };
enum { R_AB = 256, R_BC, R_ABC, R_AA, R_SPA, R_SPAB, R_HELLO, R_ALL };

static char *synthetic_ranks(size_t *len)
{
    struct sbuf b = { 0 };
    char enc[64];
    for (int i = 0; i < 256; i++) {
        unsigned char c = (unsigned char)i;
        b64(&c, 1, enc);
        sb_add(&b, "%s %d\n", enc, i);
    }
    for (int i = 0; extra_tokens[i]; i++) {
        b64((const unsigned char *)extra_tokens[i], strlen(extra_tokens[i]), enc);
        sb_add(&b, "%s %d\n", enc, 256 + i);
    }
    *len = b.len;
    return b.s;
}

static struct tokenizer *load_synth(void)
{
    size_t len;
    char *r = synthetic_ranks(&len);
    char err[256] = "";
    struct tokenizer *t = tokenizer_load_mem(r, len, "synth.tiktoken", "cl100k_base", err, sizeof err);
    free(r);
    if (!t)
        fail_msg("load: %s", err);
    return t;
}

static void expect_ids(struct tokenizer *t, const char *text, const uint32_t *want, size_t nwant)
{
    uint32_t ids[256];
    long n = tokenizer_encode(t, text, strlen(text), ids, 256);
    if (n != (long)nwant)
        fail_msg("'%s': %ld ids, want %zu", text, n, nwant);
    for (size_t i = 0; i < nwant; i++)
        if (ids[i] != want[i])
            fail_msg("'%s': id[%zu] = %u, want %u", text, i, ids[i], want[i]);
    assert_int_equal(tokenizer_count(t, text, strlen(text)), n);
}

#define IDS(...) (const uint32_t[]){ __VA_ARGS__ }, sizeof((const uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t)

/* ---------------------------------------------------------- tiktoken */

static void test_merge_rules(void **state)
{
    (void)state;
    struct tokenizer *t = load_synth();
    assert_int_equal(tokenizer_kind(t), TOKENIZER_TIKTOKEN);
    assert_int_equal(tokenizer_vocab_size(t), 256 + 8);
    /* A whole piece in the vocabulary is emitted at once. */
    expect_ids(t, "abc", IDS(R_ABC));
    expect_ids(t, "hello", IDS(R_HELLO));
    /* Lowest rank first: ab (256) before bc (257), then ab+c = abc. */
    expect_ids(t, "abcab", IDS(R_ABC, R_AB));
    /* Leftmost on ties: aaa is aa + a, not a + aa. */
    expect_ids(t, "aaa", IDS(R_AA, 'a'));
    expect_ids(t, "aaaaa", IDS(R_AA, R_AA, 'a'));
    /* No merge at all: single bytes. */
    expect_ids(t, "xyz", IDS('x', 'y', 'z'));
    tokenizer_free(t);
}

static void test_pretokenizer_cl100k(void **state)
{
    (void)state;
    struct tokenizer *t = load_synth();
    /* " a" is a token: the pattern makes "a", " a" pieces. */
    expect_ids(t, "a a", IDS('a', R_SPA));
    /* Two spaces: "\s+(?!\S)" leaves the last space to the word. */
    expect_ids(t, "a  ab", IDS('a', ' ', R_SPAB));
    /* Contractions are their own pieces: "'ll" is not merged with "a". */
    expect_ids(t, "a'll", IDS('a', '\'', 'l', 'l'));
    /* Digits come in groups of at most three. */
    expect_ids(t, "12345", IDS('1', '2', '3', '4', '5'));
    /* Trailing whitespace at the end of text: `\s++$`. */
    expect_ids(t, "ab \n", IDS(R_AB, ' ', '\n'));
    expect_ids(t, "", NULL, 0);
    tokenizer_free(t);
}

static void test_roundtrip_and_invalid_utf8(void **state)
{
    (void)state;
    struct tokenizer *t = load_synth();
    const char *texts[] = {
        "hello abc aab, bca! 12 345\n\n  x\ty", "\xff\xfe a\x80" "ab\xc3", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
        "   ", "\r\n\r\n", "a'S a'lL",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        uint32_t ids[512];
        char back[512];
        size_t len = strlen(texts[i]);
        long n = tokenizer_encode(t, texts[i], len, ids, 512);
        assert_true(n > 0);
        long bl = tokenizer_decode(t, ids, (size_t)n, back, sizeof back);
        assert_int_equal(bl, (long)len);
        assert_memory_equal(back, texts[i], len);
    }
    /* A short ids buffer still gets the full count. */
    uint32_t one[1];
    assert_int_equal(tokenizer_encode(t, "xyz", 3, one, 1), 3);
    assert_int_equal(one[0], 'x');
    uint32_t bad = 9999;
    char out[8];
    assert_int_equal(tokenizer_decode(t, &bad, 1, out, sizeof out), -1);
    tokenizer_free(t);
}

/* The quadratic and the heap merge must agree on every piece. */
static void test_heap_merge_matches_small(void **state)
{
    (void)state;
    struct tokenizer *a = load_synth(), *b = load_synth();
    tokenizer_set_heap_threshold(b, 1);
    uint64_t s = 7;
    char text[200];
    uint32_t ia[256], ib[256];
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + round % 120;
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            text[i] = "aabcc "[(s >> 33) % 6];
        }
        long na = tokenizer_encode(a, text, n, ia, 256), nb = tokenizer_encode(b, text, n, ib, 256);
        assert_int_equal(na, nb);
        assert_memory_equal(ia, ib, (size_t)na * sizeof ia[0]);
    }
    /* A long piece without spaces goes through the heap by default. */
    static char big[100000];
    memset(big, 'a', sizeof big);
    assert_int_equal(tokenizer_count(a, big, sizeof big), (long)sizeof big / 2);
    tokenizer_free(a);
    tokenizer_free(b);
}

static void test_o200k_and_guess(void **state)
{
    (void)state;
    size_t len;
    char *r = synthetic_ranks(&len);
    char err[256] = "";
    struct tokenizer *t = tokenizer_load_mem(r, len, "my_o200k_copy.tiktoken", NULL, err, sizeof err);
    assert_non_null(t);
    assert_non_null(strstr(tokenizer_name(t), "o200k_base"));
    /* o200k keeps "'ll" attached to the word (cl100k splits it off). */
    expect_ids(t, "a'll", IDS(R_ALL));
    expect_ids(t, "ab/\n", IDS(R_AB, '/', '\n'));
    tokenizer_free(t);
    t = tokenizer_load_mem(r, len, "synth.tiktoken", NULL, err, sizeof err);
    assert_null(t);
    assert_non_null(strstr(err, "--encoding"));
    t = tokenizer_load_mem(r, len, "synth.tiktoken", "p50k_base", err, sizeof err);
    assert_null(t);
    assert_non_null(strstr(err, "p50k_base"));
    free(r);
}

static void expect_bad(const char *data, const char *encoding, const char *needle)
{
    char err[256] = "";
    struct tokenizer *t = tokenizer_load_mem(data, strlen(data), "bad.file", encoding, err, sizeof err);
    if (t)
        fail_msg("loaded a bad file: %.40s", data);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
    assert_non_null(strstr(err, "bad.file"));
}

static void test_bad_ranks_files(void **state)
{
    (void)state;
    expect_bad("", "cl100k_base", "empty");
    expect_bad("\n\n", "cl100k_base", "empty");
    expect_bad("YQ==\n", "cl100k_base", "bad.file:1: not a tiktoken");
    expect_bad("YQ== 0\n!!!! 1\n", "cl100k_base", "bad.file:2: bad base64");
    expect_bad("YQ== 0\nYg== x\n", "cl100k_base", "bad.file:2: bad rank");
    expect_bad("YQ== 0\nYg== \n", "cl100k_base", "bad.file:2: missing rank");
    expect_bad("YQ== 0\nYg== 0\n", "cl100k_base", "rank 0 appears twice");
    expect_bad("YQ== 0\nYQ== 1\n", "cl100k_base", "appear twice");
    expect_bad("YQ== 99999999999\n", "cl100k_base", "bad rank");
    expect_bad("YQ== 0\nYg== 1\n", "cl100k_base", "single byte 0x00");
    expect_bad("\x7f" "ELF\x02\x01", "cl100k_base", "bad.file:1");
}

/* ---------------------------------------------------------- tokenizer.json */

/* GPT-2 bytes_to_unicode, as UTF-8 into out (3 bytes max). */
static void map_byte(int b, char *out)
{
    int n = 0, cp = -1;
    for (int i = 0; i < 256; i++) {
        int printable = (i >= '!' && i <= '~') || (i >= 0xa1 && i <= 0xac) || (i >= 0xae);
        if (i == b) {
            cp = printable ? i : 256 + n;
            break;
        }
        if (!printable)
            n++;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = '\0';
    } else {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        out[2] = '\0';
    }
}

/* A byte-level tokenizer.json: the 256 byte tokens (id = byte), then
 * "ab" 256, "abc" 257, "ac" 258 (reachable by no merge), "Ġa" 259, and an
 * added token "<|x|>" 300.  merges_array picks the newer merges form. */
static char *hf_json(int ignore_merges, int merges_array, const char *pretok)
{
    struct sbuf b = { 0 };
    char m[4];
    sb_add(&b, "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":300,\"content\":\"<|x|>\",\"special\":true}],"
               "\"normalizer\":null,\"pre_tokenizer\":%s,"
               "\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"ignore_merges\":%s,"
               "\"vocab\":{", pretok, ignore_merges ? "true" : "false");
    for (int i = 0; i < 256; i++) {
        map_byte(i, m);
        sb_add(&b, "\"%s%s\":%d,", m[0] == '"' || m[0] == '\\' ? "\\" : "", m, i);
    }
    sb_add(&b, "\"ab\":256,\"abc\":257,\"ac\":258,\"\xc4\xa0" "a\":259},\"merges\":");
    if (merges_array)
        sb_add(&b, "[[\"a\",\"b\"],[\"\xc4\xa0\",\"a\"],[\"ab\",\"c\"]]}}");
    else
        sb_add(&b, "[\"a b\",\"\xc4\xa0 a\",\"ab c\"]}}");
    return b.s;
}

static struct tokenizer *load_hf(int ignore_merges, int merges_array, const char *pretok)
{
    char *j = hf_json(ignore_merges, merges_array, pretok);
    char err[256] = "";
    struct tokenizer *t = tokenizer_load_mem(j, strlen(j), "tokenizer.json", NULL, err, sizeof err);
    free(j);
    if (!t)
        fail_msg("load: %s", err);
    assert_int_equal(tokenizer_kind(t), TOKENIZER_HF);
    return t;
}

static const char PRETOK_BYTELEVEL[] =
    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}";
static const char PRETOK_SPLIT[] =
    "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
    "\"[a-z]+|[^a-z]+\"},\"behavior\":\"Isolated\",\"invert\":false},"
    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}]}";

static void test_hf_bytelevel(void **state)
{
    (void)state;
    for (int form = 0; form < 2; form++) {
        struct tokenizer *t = load_hf(0, form, PRETOK_BYTELEVEL);
        expect_ids(t, "abc", IDS(257));
        /* " abc" is Ġ a b c: a+b (priority 0) wins over Ġ+a (1), then
         * ab+c (2); Ġ+abc is no merge. */
        expect_ids(t, "abc abc", IDS(257, ' ', 257));
        expect_ids(t, " a", IDS(259));
        /* "ac" is in the vocabulary but no merge makes it. */
        expect_ids(t, "ac", IDS('a', 'c'));
        /* Added tokens are matched before the pre-tokenizer. */
        expect_ids(t, "ab<|x|>ab", IDS(256, 300, 256));
        expect_ids(t, "<|x|><|x|", IDS(300, '<', '|', 'x', '|'));
        uint32_t ids[] = { 256, 300, 259 };
        char out[32];
        long n = tokenizer_decode(t, ids, 3, out, sizeof out);
        assert_int_equal(n, 9);
        assert_memory_equal(out, "ab<|x|> a", 9);
        tokenizer_free(t);
    }
}

static void test_hf_ignore_merges_and_split(void **state)
{
    (void)state;
    struct tokenizer *t = load_hf(1, 1, PRETOK_SPLIT);
    expect_ids(t, "ac", IDS(258));
    /* The Split regex keeps " " apart from the letters. */
    expect_ids(t, "ab ab", IDS(256, ' ', 256));
    tokenizer_free(t);
    t = load_hf(0, 1, PRETOK_SPLIT);
    expect_ids(t, "ac", IDS('a', 'c'));
    tokenizer_free(t);
}

static void test_hf_bad_files(void **state)
{
    (void)state;
    expect_bad("{", NULL, "not valid JSON");
    expect_bad("{\"model\":{}}", NULL, "no BPE model");
    expect_bad("{\"model\":{\"type\":\"Unigram\",\"vocab\":{},\"merges\":[]}}", NULL, "Unigram");
    expect_bad("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", NULL, "not a byte-level");
    expect_bad("{\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
               NULL, "lacks the byte 0x00");
    expect_bad("{\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"vocab\":{\"a\":-1},\"merges\":[]}}",
               NULL, "bad id");
    expect_bad("{\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"model\":{\"vocab\":{\"a\":0},\"merges\":[]}}",
               NULL, "Whitespace");
    expect_bad("{\"model\":{\"vocab\":{},\"merges\":[]}}", "cl100k_base", "--encoding");
    char *j = hf_json(0, 0, PRETOK_BYTELEVEL);
    char *p = strstr(j, "\"ab c\"");
    memcpy(p, "\"zq c\"", 6);
    expect_bad(j, NULL, "merges[2]");
    free(j);
    j = hf_json(0, 0, "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"}");
    expect_bad(j, NULL, "regex");
    free(j);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(tokenizer_load("/nonexistent/x.tiktoken", NULL, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/x.tiktoken"));
    tokenizer_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_rules),
        cmocka_unit_test(test_pretokenizer_cl100k),
        cmocka_unit_test(test_roundtrip_and_invalid_utf8),
        cmocka_unit_test(test_heap_merge_matches_small),
        cmocka_unit_test(test_o200k_and_guess),
        cmocka_unit_test(test_bad_ranks_files),
        cmocka_unit_test(test_hf_bytelevel),
        cmocka_unit_test(test_hf_ignore_merges_and_split),
        cmocka_unit_test(test_hf_bad_files),
        cmocka_unit_test(test_load_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
