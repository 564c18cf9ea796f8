/* tiktoken ranks files: `base64 SP rank LF`, the pre-tokenizer pattern
 * chosen by the encoding name. */
#include "tokenizer_int.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* The canonical pre-tokenizer patterns (tiktoken's openai_public.py; docs/workloads.md). */
static const char PAT_CL100K[] =
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+"
    "|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";
static const char PAT_O200K[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict standard base64 with padding.  Returns the decoded length or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    if (n == 0 || n % 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64_val((unsigned char)s[i + k])) < 0) {
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if (o + 3 - pad > cap)
            return -1;
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2) out[o++] = (unsigned char)(w >> 8);
        if (pad < 1) out[o++] = (unsigned char)w;
    }
    return (long)o;
}

int tok_load_tiktoken(struct tokenizer *t, const char *d, size_t len, const char *name,
                         const char *encoding, char *err, size_t errcap)
{
    /* A ranks line is at most a few hundred bytes; 512 bytes of token is
     * far beyond any real vocabulary. */
    unsigned char tokbuf[512];
    size_t lines = 0, line = 0;
    for (size_t i = 0; i < len; i++)
        lines += d[i] == '\n';
    if (tok_table_init(t, lines + 1) < 0 || tok_reserve(t, 256) < 0)
        goto oom;
    size_t nranks = 0;
    uint32_t maxrank = 0;
    for (size_t pos = 0; pos < len; ) {
        const char *nl = memchr(d + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - d) : len;
        line++;
        const char *l = d + pos;
        size_t ll = end - pos;
        pos = end + 1;
        if (ll && l[ll - 1] == '\r')
            ll--;
        if (!ll)
            continue;
        const char *sp = memchr(l, ' ', ll);
        if (!sp) {
            util_errf(err, errcap, "%s:%zu: not a tiktoken ranks line (want `base64 rank`)", name, line);
            return -1;
        }
        long tl = b64_decode(l, (size_t)(sp - l), tokbuf, sizeof tokbuf);
        if (tl <= 0) {
            util_errf(err, errcap, "%s:%zu: bad base64 token", name, line);
            return -1;
        }
        uint64_t rank = 0;
        const char *r = sp + 1, *re = l + ll;
        if (r == re) {
            util_errf(err, errcap, "%s:%zu: missing rank", name, line);
            return -1;
        }
        for (; r < re; r++) {
            if (*r < '0' || *r > '9' || rank >= TOK_MAX_IDS) {
                util_errf(err, errcap, "%s:%zu: bad rank (want an integer below %u)", name, line, TOK_MAX_IDS);
                return -1;
            }
            rank = rank * 10 + (uint64_t)(*r - '0');
        }
        if (rank >= TOK_MAX_IDS) {
            util_errf(err, errcap, "%s:%zu: bad rank (want an integer below %u)", name, line, TOK_MAX_IDS);
            return -1;
        }
        if (rank >= t->ntok) {
            size_t want = t->ntok * 2;
            if (want <= rank)
                want = rank + 1;
            if (tok_reserve(t, want) < 0)
                goto oom;
        }
        if (t->tok[rank].len) {
            util_errf(err, errcap, "%s:%zu: rank %llu appears twice", name, line, (unsigned long long)rank);
            return -1;
        }
        uint32_t off;
        if (tok_pool_add(t, tokbuf, (size_t)tl, &off) < 0)
            goto oom;
        t->tok[rank].off = off;
        t->tok[rank].len = (uint32_t)tl;
        if (tok_table_insert(t, (uint32_t)rank) != TOK_NONE) {
            util_errf(err, errcap, "%s:%zu: token bytes appear twice", name, line);
            return -1;
        }
        nranks++;
        if (rank > maxrank)
            maxrank = (uint32_t)rank;
    }
    if (!nranks) {
        util_errf(err, errcap, "%s: empty ranks file", name);
        return -1;
    }
    if (tok_reserve(t, (size_t)maxrank + 1) < 0)
        goto oom;
    t->ntok = (size_t)maxrank + 1;
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        uint32_t id = tok_table_find(t, &c, 1);
        if (id == TOK_NONE) {
            util_errf(err, errcap, "%s: no rank for the single byte 0x%02x (not a byte-level BPE ranks file)", name, b);
            return -1;
        }
        t->byte_id[b] = id;
    }
    if (!encoding) {
        if (nranks == 100256 || strstr(name, "cl100k"))
            encoding = "cl100k_base";
        else if (nranks == 199998 || strstr(name, "o200k"))
            encoding = "o200k_base";
        else {
            util_errf(err, errcap, "%s: cannot tell the encoding of %zu ranks: give --encoding cl100k_base or o200k_base",
                    name, nranks);
            return -1;
        }
    }
    const char *pat;
    if (!strcmp(encoding, "cl100k_base"))
        pat = PAT_CL100K;
    else if (!strcmp(encoding, "o200k_base"))
        pat = PAT_O200K;
    else {
        util_errf(err, errcap, "unknown --encoding '%s' (cl100k_base or o200k_base)", encoding);
        return -1;
    }
    if (tok_regex_add(t, pat, strlen(pat), err, errcap) < 0)
        return -1;
    t->kind = TOKENIZER_TIKTOKEN;
    snprintf(t->name, sizeof t->name, "%s (tiktoken, %zu ranks)", encoding, nranks);
    return 0;
oom:
    util_errf(err, errcap, "%s: out of memory", name);
    return -1;
}

