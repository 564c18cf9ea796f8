/* libFuzzer target: the tokenizer loader and encoder (docs/workloads.md,
 * "Fuzzing").  The first byte picks the mode:
 *   0  the input is a tokenizer file (ranks or tokenizer.json);
 *   1  a valid byte-level ranks file plus the input as extra lines, so
 *      merges of fuzzed tokens are exercised;
 *   2  the input is text for a small fixed vocabulary, encoded with both
 *      merge paths, which must agree and decode back to the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t base_ranks(char *out)
{
    size_t n = 0;
    for (int i = 0; i < 256; i++)
        n += (size_t)sprintf(out + n, "%c%c== %d\n", b64[i >> 2], b64[(i & 3) << 4], i);
    /* "ab" 256, "bc" 257, "abc" 258, " a" 259, "aa" 260 */
    n += (size_t)sprintf(out + n, "YWI= 256\nYmM= 257\nYWJj 258\nIGE= 259\nYWE= 260\n");
    return n;
}

static void check_text(struct tokenizer *t, const char *text, size_t len)
{
    static uint32_t ids[1 << 16], ids2[1 << 16];
    static char back[1 << 16];
    if (len > sizeof back)
        len = sizeof back;
    long n = tokenizer_encode(t, text, len, ids, sizeof ids / sizeof ids[0]);
    if (n < 0 || (size_t)n > len)
        abort();   /* never more tokens than bytes */
    tokenizer_set_heap_threshold(t, 1);
    long n2 = tokenizer_encode(t, text, len, ids2, sizeof ids2 / sizeof ids2[0]);
    tokenizer_set_heap_threshold(t, 0);
    if (n2 != n || memcmp(ids, ids2, (size_t)n * sizeof ids[0]))
        abort();   /* the two merge paths disagree */
    long bl = tokenizer_decode(t, ids, (size_t)n, back, sizeof back);
    if (bl != (long)len || memcmp(back, text, len))
        abort();   /* no round trip */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 3;
    const char *rest = (const char *)data + 1;
    size_t rl = size - 1;
    char err[256];
    if (mode == 0) {
        const char *enc = data[0] & 4 ? "o200k_base" : "cl100k_base";
        char *buf = malloc(rl ? rl : 1);
        if (!buf)
            return 0;
        memcpy(buf, rest, rl);
        int json = rl && buf[0] == '{';
        struct tokenizer *t = tokenizer_load_mem(buf, rl, "fuzz", json ? NULL : enc, err, sizeof err);
        free(buf);
        if (t) {
            uint32_t ids[256];
            (void)tokenizer_encode(t, "hello world, abc 123!", 21, ids, 256);
            tokenizer_free(t);
        } else if (!err[0]) {
            abort();
        }
        return 0;
    }
    static char base[8192];
    size_t bl = base_ranks(base);
    if (mode == 1) {
        char *buf = malloc(bl + rl);
        if (!buf)
            return 0;
        memcpy(buf, base, bl);
        memcpy(buf + bl, rest, rl);
        struct tokenizer *t = tokenizer_load_mem(buf, bl + rl, "fuzz", "cl100k_base", err, sizeof err);
        free(buf);
        if (t) {
            check_text(t, "abcab aaa abc  a", 16);
            tokenizer_free(t);
        }
        return 0;
    }
    static struct tokenizer *fixed;
    if (!fixed && !(fixed = tokenizer_load_mem(base, bl, "fuzz", data[0] & 4 ? "o200k_base" : "cl100k_base",
                                               err, sizeof err)))
        abort();
    check_text(fixed, rest, rl);
    return 0;
}
