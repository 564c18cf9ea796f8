/* Byte-level BPE tokenizer: tiktoken ranks files and HF tokenizer.json.
 *
 * Layout: every token id owns a byte slice of one pool (tok[id]).  A hand-
 * written open-addressing hash table maps token bytes to ids (no C hash map
 * is packaged in Debian that we want to depend on, and a flat uint32 slot
 * array with linear probing is both small and fast for this read-mostly
 * use).  HF models add a second table of merge pairs (id_a, id_b) ->
 * (priority, merged id), because HF ranks merges by their position in
 * `merges`, not by token id.
 *
 * Encoding: pre-tokenizer regex (PCRE2, UTF + UCP, JIT) splits the text
 * into pieces; a piece that is a whole token is emitted at once, otherwise
 * it is merged from single bytes with tiktoken's rule (lowest rank first,
 * leftmost on ties).  Short pieces use the quadratic scan tiktoken uses;
 * long ones a heap with lazy invalidation, so a megabyte of letters without
 * a space costs n log n, not n^2. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "util.h"
#include "tokenizer.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOK_MAX_IDS      (1u << 24)         /* sanity bound on ids, 16 Mi */
#define TOK_MAX_FILE     (1024ul << 20)     /* tokenizer files over 1 GiB are refused */
#define TOK_MAX_REGEX    8
#define TOK_NONE         UINT32_MAX
#define TOK_SMALL_MAX    128                /* the quadratic merge's fixed arrays */
#define TOK_HEAP_DEFAULT 64

/* The canonical pre-tokenizer patterns (PROTOCOLS.md §7, openai_public.py). */
static const char PAT_CL100K[] =
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+"
    "|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";
static const char PAT_O200K[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/* GPT-2's pattern, used by HF ByteLevel with use_regex: true. */
static const char PAT_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct tok_slice { uint32_t off, len; };   /* len 0: no token has this id */

#define TOK_CACHE 4096                     /* piece cache slots, a power of two */
struct piece_cache {                       /* len 0: empty */
    uint8_t len, nids;
    char bytes[22];
    uint32_t ids[8];
};

struct regex {
    pcre2_code *code;
    pcre2_match_data *md;
    int jit;
};

struct added {                             /* HF added_tokens, matched first */
    const char *s; size_t len; uint32_t id;
};

struct tokenizer {
    enum tokenizer_kind kind;
    char name[96];
    /* vocabulary */
    char *pool; size_t pool_len, pool_cap;
    struct tok_slice *tok; size_t ntok;    /* indexed by id */
    uint64_t *slots; size_t mask;          /* hash tag << 32 | id+1; 0 empty */
    uint32_t byte_id[256];                 /* single byte -> id */
    /* HF merges: pair key -> value, linear probing; key UINT64_MAX is empty */
    uint64_t *pkeys; uint64_t *pvals; size_t pmask;
    int ignore_merges;                     /* emit whole-word tokens directly */
    /* pre-tokenizer: successive regex splits (HF Sequence) */
    struct regex re[TOK_MAX_REGEX]; int nre;
    int prefix_space;                      /* HF ByteLevel add_prefix_space */
    struct added *added; size_t nadded;
    uint8_t added_first[256];              /* first bytes that may start one */
    size_t heap_threshold;
    struct piece_cache *cache;             /* NULL: none (out of memory) */
    /* encode scratch, reused: one thread at a time */
    uint32_t *h_id, *h_new, *h_rank, *h_prev, *h_next, *h_ver;
    uint64_t *heap; size_t heap_len, h_cap, heap_cap;
    char *pbuf; size_t pbuf_cap;           /* prefix-space copies */
    /* output of the current encode */
    uint32_t *out; size_t out_cap; size_t count;
    int failed;
};

/* ---------------------------------------------------------------- errors */


/* ----------------------------------------------------------- byte table */

static uint64_t hash_bytes(const char *p, size_t n)
{
    /* FNV-1a: pieces are a few bytes long, so a simple byte loop is as fast
     * as anything wider, and it has no alignment concerns. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    /* FNV's low bits are weak for short keys, and linear probing punishes
     * clusters: finish with a full avalanche (murmur3's fmix64). */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static uint32_t table_find(const struct tokenizer *t, const char *p, size_t n)
{
    uint64_t h = hash_bytes(p, n);
    uint32_t tag = (uint32_t)(h >> 32);
    size_t i = h & t->mask;
    for (;;) {
        uint64_t s = t->slots[i];
        if (!s)
            return TOK_NONE;
        /* The tag (high hash bits) rejects almost every other entry without
         * touching the token array or the pool, which are cache misses. */
        if ((uint32_t)(s >> 32) == tag) {
            uint32_t id = (uint32_t)s - 1;
            const struct tok_slice *e = &t->tok[id];
            if (e->len == n && !memcmp(t->pool + e->off, p, n))
                return id;
        }
        i = (i + 1) & t->mask;
    }
}

static int table_init(struct tokenizer *t, size_t n)
{
    size_t cap = 1024;
    while (cap < n * 2)
        cap <<= 1;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots)
        return -1;
    t->mask = cap - 1;
    return 0;
}

/* Inserts id (already in t->tok) into the table; returns the id that
 * already had the same bytes, or TOK_NONE. */
static uint32_t table_insert(struct tokenizer *t, uint32_t id)
{
    const struct tok_slice *e = &t->tok[id];
    const char *p = t->pool + e->off;
    uint64_t h = hash_bytes(p, e->len);
    size_t i = h & t->mask;
    for (;;) {
        uint64_t s = t->slots[i];
        if (!s) {
            t->slots[i] = (h >> 32) << 32 | (uint64_t)(id + 1);
            return TOK_NONE;
        }
        const struct tok_slice *o = &t->tok[(uint32_t)s - 1];
        if (o->len == e->len && !memcmp(t->pool + o->off, p, e->len))
            return (uint32_t)s - 1;
        i = (i + 1) & t->mask;
    }
}

static int pool_add(struct tokenizer *t, const void *p, size_t n, uint32_t *off)
{
    if (t->pool_len + n > UINT32_MAX)
        return -1;
    if (t->pool_len + n > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap * 2 : 1 << 16;
        while (cap < t->pool_len + n)
            cap *= 2;
        char *np = realloc(t->pool, cap);
        if (!np)
            return -1;
        t->pool = np;
        t->pool_cap = cap;
    }
    memcpy(t->pool + t->pool_len, p, n);
    *off = (uint32_t)t->pool_len;
    t->pool_len += n;
    return 0;
}

/* Makes t->tok hold at least n ids (new ones empty). */
static int tok_reserve(struct tokenizer *t, size_t n)
{
    if (n <= t->ntok)
        return 0;
    struct tok_slice *nt = realloc(t->tok, n * sizeof *nt);
    if (!nt)
        return -1;
    memset(nt + t->ntok, 0, (n - t->ntok) * sizeof *nt);
    t->tok = nt;
    t->ntok = n;
    return 0;
}

/* ----------------------------------------------------------- pair table */

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static int pairs_init(struct tokenizer *t, size_t n)
{
    size_t cap = 1024;
    while (cap < n * 2)
        cap <<= 1;
    t->pkeys = malloc(cap * sizeof *t->pkeys);
    t->pvals = malloc(cap * sizeof *t->pvals);
    if (!t->pkeys || !t->pvals)
        return -1;
    memset(t->pkeys, 0xff, cap * sizeof *t->pkeys);
    t->pmask = cap - 1;
    return 0;
}

/* Returns rank << 32 | merged id, or UINT64_MAX when a and b do not merge. */
static uint64_t pair_find(const struct tokenizer *t, uint32_t a, uint32_t b)
{
    uint64_t k = (uint64_t)a << 32 | b;
    size_t i = hash_u64(k) & t->pmask;
    for (;;) {
        if (t->pkeys[i] == UINT64_MAX)
            return UINT64_MAX;
        if (t->pkeys[i] == k)
            return t->pvals[i];
        i = (i + 1) & t->pmask;
    }
}

/* First insertion wins: HF keeps the highest-priority duplicate merge. */
static void pair_insert(struct tokenizer *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t id)
{
    uint64_t k = (uint64_t)a << 32 | b;
    size_t i = hash_u64(k) & t->pmask;
    while (t->pkeys[i] != UINT64_MAX) {
        if (t->pkeys[i] == k)
            return;
        i = (i + 1) & t->pmask;
    }
    t->pkeys[i] = k;
    t->pvals[i] = (uint64_t)rank << 32 | id;
}

/* ---------------------------------------------------------------- regex */

static int regex_add(struct tokenizer *t, const char *pat, size_t len, char *err, size_t errcap)
{
    if (t->nre >= TOK_MAX_REGEX) {
        util_errf(err, errcap, "more than %d pre-tokenizer splits", TOK_MAX_REGEX);
        return -1;
    }
    int ec;
    PCRE2_SIZE eo;
    /* MATCH_INVALID_UTF: invalid bytes simply match nothing and fall into
     * the gaps, which are encoded byte-wise, instead of failing the call.
     * DOLLAR_ENDONLY: `$` in the tiktoken patterns means the end of the text
     * (Rust regex semantics), not "before a final newline". */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, len,
        PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY,
        &ec, &eo, NULL);
    if (!code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        util_errf(err, errcap, "bad pre-tokenizer regex at offset %zu: %s", (size_t)eo, (char *)msg);
        return -1;
    }
    struct regex *r = &t->re[t->nre];
    r->code = code;
    r->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    r->md = pcre2_match_data_create_from_pattern(code, NULL);
    if (!r->md) {
        pcre2_code_free(code);
        util_errf(err, errcap, "out of memory");
        return -1;
    }
    t->nre++;
    return 0;
}

/* ---------------------------------------------------------------- merge */

static void emit(struct tokenizer *t, uint32_t id)
{
    if (t->count < t->out_cap)
        t->out[t->count] = id;
    t->count++;
}

/* The rank and merged id of parts k and its successor (ends: byte offsets
 * of the successor's end).  tiktoken ranks the concatenated bytes; HF looks
 * the pair up. */
static uint64_t merge_rank(const struct tokenizer *t, const char *piece,
                           uint32_t start, uint32_t end, uint32_t ida, uint32_t idb)
{
    if (t->kind == TOKENIZER_HF)
        return pair_find(t, ida, idb);
    uint32_t id = table_find(t, piece + start, end - start);
    return id == TOK_NONE ? UINT64_MAX : ((uint64_t)id << 32 | id);
}

/* Merges a piece of at most TOK_SMALL_MAX bytes; writes the ids into out
 * (room for n) and returns their number. */
static size_t bpe_small(const struct tokenizer *t, const unsigned char *p, size_t n, uint32_t *out)
{
    uint32_t start[TOK_SMALL_MAX + 1], id[TOK_SMALL_MAX];
    uint64_t rk[TOK_SMALL_MAX];   /* rank << 32 | merged id */
    size_t m = n;
    for (size_t i = 0; i < n; i++) {
        start[i] = (uint32_t)i;
        id[i] = t->byte_id[p[i]];
    }
    start[n] = (uint32_t)n;
    for (size_t i = 0; i < m; i++)
        rk[i] = i + 1 < m ? merge_rank(t, (const char *)p, start[i], start[i + 2], id[i], id[i + 1])
                          : UINT64_MAX;
    for (;;) {
        uint64_t best = UINT64_MAX;
        size_t k = 0;
        for (size_t i = 0; i + 1 < m; i++)
            if ((rk[i] >> 32) < (best >> 32)) {
                best = rk[i];
                k = i;
            }
        if (best == UINT64_MAX)
            break;
        id[k] = (uint32_t)best;
        memmove(&start[k + 1], &start[k + 2], (m - k - 1) * sizeof start[0]);
        memmove(&id[k + 1], &id[k + 2], (m - k - 2) * sizeof id[0]);
        memmove(&rk[k + 1], &rk[k + 2], (m - k - 2) * sizeof rk[0]);
        m--;
        rk[k] = k + 1 < m ? merge_rank(t, (const char *)p, start[k], start[k + 2], id[k], id[k + 1])
                          : UINT64_MAX;
        if (k > 0)
            rk[k - 1] = merge_rank(t, (const char *)p, start[k - 1], start[k + 1], id[k - 1], id[k]);
    }
    memcpy(out, id, m * sizeof id[0]);
    return m;
}

/* Heap entries pack (rank, node, version) so that comparing the integers
 * orders by rank and then by position: lowest rank first, leftmost on
 * ties, exactly the quadratic scan's choice. */
static int heap_reserve(struct tokenizer *t, size_t n)
{
    if (n <= t->h_cap)
        return 0;
    size_t cap = n + n / 2;
    uint32_t **arrs[] = { &t->h_id, &t->h_new, &t->h_rank, &t->h_prev, &t->h_next, &t->h_ver };
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        uint32_t *a = realloc(*arrs[i], cap * sizeof **arrs[i]);
        if (!a)
            return -1;
        *arrs[i] = a;
    }
    t->h_cap = cap;
    return 0;
}

static int heap_push(struct tokenizer *t, uint64_t rank, uint32_t node, uint32_t ver)
{
    /* rank < 2^24 (TOK_MAX_IDS) and node < 2^24 (bpe_large checks), so
     * they pack without loss; the version keeps 16 bits, and a pop also
     * checks the part's current rank, so a wrapped version is harmless. */
    if (t->heap_len == t->heap_cap) {
        size_t cap = t->heap_cap ? t->heap_cap * 2 : 1024;
        uint64_t *h = realloc(t->heap, cap * sizeof *h);
        if (!h)
            return -1;
        t->heap = h;
        t->heap_cap = cap;
    }
    uint64_t key = rank << 40 | (uint64_t)node << 16 | (ver & 0xffff);
    size_t i = t->heap_len++;
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (t->heap[par] <= key)
            break;
        t->heap[i] = t->heap[par];
        i = par;
    }
    t->heap[i] = key;
    return 0;
}

static uint64_t heap_pop(struct tokenizer *t)
{
    uint64_t top = t->heap[0], last = t->heap[--t->heap_len];
    size_t i = 0, n = t->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && t->heap[c + 1] < t->heap[c])
            c++;
        if (last <= t->heap[c])
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n)
        t->heap[i] = last;
    return top;
}

static int heap_update(struct tokenizer *t, const char *p, size_t n, uint32_t k)
{
    uint32_t nx = t->h_next[k];
    t->h_ver[k]++;
    if (nx == TOK_NONE) {
        t->h_rank[k] = TOK_NONE;
        return 0;
    }
    uint32_t end = t->h_next[nx] == TOK_NONE ? (uint32_t)n : t->h_next[nx];
    uint64_t r = merge_rank(t, p, k, end, t->h_id[k], t->h_id[nx]);
    if (r == UINT64_MAX) {
        t->h_rank[k] = TOK_NONE;
        return 0;
    }
    t->h_rank[k] = (uint32_t)(r >> 32);
    t->h_new[k] = (uint32_t)r;
    return heap_push(t, r >> 32, k, t->h_ver[k]);
}

/* Nodes are byte positions: a part keeps the start of its left half, so a
 * node's index is its start offset. */
static int bpe_large(struct tokenizer *t, const unsigned char *p, size_t n)
{
    if (n >= TOK_MAX_IDS || heap_reserve(t, n) < 0)
        return -1;
    t->heap_len = 0;
    for (size_t i = 0; i < n; i++) {
        t->h_id[i] = t->byte_id[p[i]];
        t->h_prev[i] = i ? (uint32_t)i - 1 : TOK_NONE;
        t->h_next[i] = i + 1 < n ? (uint32_t)i + 1 : TOK_NONE;
        t->h_ver[i] = 0;
    }
    for (size_t i = 0; i < n; i++)
        if (heap_update(t, (const char *)p, n, (uint32_t)i) < 0)
            return -1;
    while (t->heap_len) {
        uint64_t e = heap_pop(t);
        uint32_t k = (uint32_t)(e >> 16) & 0xffffff;
        uint32_t rank = (uint32_t)(e >> 40);
        if ((t->h_ver[k] & 0xffff) != (e & 0xffff) || t->h_rank[k] != rank)
            continue;   /* stale: the part changed since it was pushed */
        uint32_t nx = t->h_next[k];
        t->h_id[k] = t->h_new[k];
        t->h_next[k] = t->h_next[nx];
        if (t->h_next[nx] != TOK_NONE)
            t->h_prev[t->h_next[nx]] = k;
        t->h_ver[nx]++;
        t->h_rank[nx] = TOK_NONE;
        if (heap_update(t, (const char *)p, n, k) < 0)
            return -1;
        if (t->h_prev[k] != TOK_NONE && heap_update(t, (const char *)p, n, t->h_prev[k]) < 0)
            return -1;
    }
    for (uint32_t k = 0; k != TOK_NONE; k = t->h_next[k])
        emit(t, t->h_id[k]);
    return 0;
}

static void encode_piece(struct tokenizer *t, const char *p, size_t n)
{
    if (!n)
        return;
    if (t->prefix_space == 2 && p[0] != ' ') {
        /* HF ByteLevel(add_prefix_space) after a Split sees each piece. */
        if (n + 1 > t->pbuf_cap) {
            char *b = realloc(t->pbuf, n + 1);
            if (!b) {
                t->failed = 1;
                return;
            }
            t->pbuf = b;
            t->pbuf_cap = n + 1;
        }
        t->pbuf[0] = ' ';
        memcpy(t->pbuf + 1, p, n);
        p = t->pbuf;
        n++;
    }
    if (t->kind == TOKENIZER_TIKTOKEN || t->ignore_merges || n == 1) {
        uint32_t id = table_find(t, p, n);
        if (id != TOK_NONE) {
            emit(t, id);
            return;
        }
    }
    if (n < t->heap_threshold && n <= TOK_SMALL_MAX) {
        /* Words repeat: a direct-mapped cache of short pieces saves the
         * merge loop for most of them (HF tokenizers, which merge every
         * piece, gain the most). */
        struct piece_cache *c = NULL;
        if (n <= sizeof c->bytes && t->cache) {
            c = &t->cache[hash_bytes(p, n) & (TOK_CACHE - 1)];
            if (c->len == n && !memcmp(c->bytes, p, n)) {
                for (unsigned i = 0; i < c->nids; i++)
                    emit(t, c->ids[i]);
                return;
            }
        }
        uint32_t ids[TOK_SMALL_MAX];
        size_t m = bpe_small(t, (const unsigned char *)p, n, ids);
        for (size_t i = 0; i < m; i++)
            emit(t, ids[i]);
        if (c && m <= sizeof c->ids / sizeof c->ids[0]) {
            c->len = (uint8_t)n;
            c->nids = (uint8_t)m;
            memcpy(c->bytes, p, n);
            memcpy(c->ids, ids, m * sizeof ids[0]);
        }
    } else if (bpe_large(t, (const unsigned char *)p, n) < 0) {
        t->failed = 1;
    }
}

/* Splits s[0..n) with regex j: matches and the gaps between them are both
 * pieces (HF "Isolated"; tiktoken's patterns leave no gaps in valid text). */
static void split_level(struct tokenizer *t, int j, const char *s, size_t n)
{
    if (j >= t->nre) {
        encode_piece(t, s, n);
        return;
    }
    struct regex *r = &t->re[j];
    size_t pos = 0;
    while (pos < n && !t->failed) {
        int rc = r->jit ? pcre2_jit_match(r->code, (PCRE2_SPTR)s, n, pos, 0, r->md, NULL)
                        : pcre2_match(r->code, (PCRE2_SPTR)s, n, pos, 0, r->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) {
            split_level(t, j + 1, s + pos, n - pos);
            return;
        }
        if (rc < 0) {
            t->failed = 1;
            return;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        size_t ms = ov[0], me = ov[1];
        if (ms > pos)
            split_level(t, j + 1, s + pos, ms - pos);
        if (me <= ms) {
            /* An empty match cannot advance: take one character as a piece
             * so the loop always progresses. */
            size_t cl = utf8_lead_len((unsigned char)s[ms]);
            me = ms + (cl <= n - ms ? cl : n - ms);
        }
        split_level(t, j + 1, s + ms, me - ms);
        pos = me;
    }
}

/* The added token starting at s (longest), or NULL. */
static const struct added *added_at(const struct tokenizer *t, const char *s, size_t n)
{
    const struct added *best = NULL;
    for (size_t i = 0; i < t->nadded; i++) {
        const struct added *a = &t->added[i];
        if (a->len <= n && (!best || a->len > best->len) && !memcmp(a->s, s, a->len))
            best = a;
    }
    return best;
}

static void encode_segment(struct tokenizer *t, const char *s, size_t n)
{
    if (!n)
        return;
    if (t->prefix_space == 1 && s[0] != ' ') {
        char *b = malloc(n + 1);
        if (!b) {
            t->failed = 1;
            return;
        }
        b[0] = ' ';
        memcpy(b + 1, s, n);
        split_level(t, 0, b, n + 1);
        free(b);
        return;
    }
    split_level(t, 0, s, n);
}

long tokenizer_encode(struct tokenizer *t, const char *text, size_t len, uint32_t *ids, size_t cap)
{
    if (!t || (!text && len))
        return -1;
    t->out = ids;
    t->out_cap = ids ? cap : 0;
    t->count = 0;
    t->failed = 0;
    size_t seg = 0;
    if (t->nadded) {
        for (size_t i = 0; i < len && !t->failed; ) {
            const struct added *a = t->added_first[(unsigned char)text[i]]
                                    ? added_at(t, text + i, len - i) : NULL;
            if (!a) {
                i++;
                continue;
            }
            encode_segment(t, text + seg, i - seg);
            emit(t, a->id);
            i += a->len;
            seg = i;
        }
    }
    encode_segment(t, text + seg, len - seg);
    t->out = NULL;
    t->out_cap = 0;
    return t->failed ? -1 : (long)t->count;
}

long tokenizer_count(struct tokenizer *t, const char *text, size_t len)
{
    return tokenizer_encode(t, text, len, NULL, 0);
}

long tokenizer_decode(const struct tokenizer *t, const uint32_t *ids, size_t n, char *out, size_t cap)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= t->ntok || !t->tok[ids[i]].len)
            return -1;
        const struct tok_slice *e = &t->tok[ids[i]];
        if (total < cap)
            memcpy(out + total, t->pool + e->off, e->len <= cap - total ? e->len : cap - total);
        total += e->len;
    }
    return (long)total;
}

enum tokenizer_kind tokenizer_kind(const struct tokenizer *t) { return t->kind; }
const char *tokenizer_name(const struct tokenizer *t) { return t->name; }
size_t tokenizer_vocab_size(const struct tokenizer *t) { return t->ntok; }

void tokenizer_set_heap_threshold(struct tokenizer *t, size_t bytes)
{
    t->heap_threshold = bytes ? bytes : TOK_HEAP_DEFAULT;
}

void tokenizer_free(struct tokenizer *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nre; i++) {
        pcre2_match_data_free(t->re[i].md);
        pcre2_code_free(t->re[i].code);
    }
    for (size_t i = 0; i < t->nadded; i++)
        free((char *)t->added[i].s);
    free(t->added);
    free(t->pool);
    free(t->tok);
    free(t->slots);
    free(t->pkeys);
    free(t->pvals);
    free(t->h_id); free(t->h_new); free(t->h_rank);
    free(t->h_prev); free(t->h_next); free(t->h_ver);
    free(t->heap);
    free(t->pbuf);
    free(t->cache);
    free(t);
}

/* ------------------------------------------------------- tiktoken files */

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

static int load_tiktoken(struct tokenizer *t, const char *d, size_t len, const char *name,
                         const char *encoding, char *err, size_t errcap)
{
    /* A ranks line is at most a few hundred bytes; 512 bytes of token is
     * far beyond any real vocabulary. */
    unsigned char tokbuf[512];
    size_t lines = 0, line = 0;
    for (size_t i = 0; i < len; i++)
        lines += d[i] == '\n';
    if (table_init(t, lines + 1) < 0 || tok_reserve(t, 256) < 0)
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
        if (pool_add(t, tokbuf, (size_t)tl, &off) < 0)
            goto oom;
        t->tok[rank].off = off;
        t->tok[rank].len = (uint32_t)tl;
        if (table_insert(t, (uint32_t)rank) != TOK_NONE) {
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
        uint32_t id = table_find(t, &c, 1);
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
    if (regex_add(t, pat, strlen(pat), err, errcap) < 0)
        return -1;
    t->kind = TOKENIZER_TIKTOKEN;
    snprintf(t->name, sizeof t->name, "%s (tiktoken, %zu ranks)", encoding, nranks);
    return 0;
oom:
    util_errf(err, errcap, "%s: out of memory", name);
    return -1;
}

/* ------------------------------------------------------ tokenizer.json */

/* GPT-2 bytes_to_unicode: printable bytes map to themselves, the others to
 * U+0100 + n in byte order.  Returns the code point of byte b. */
static uint32_t byte_to_cp(int b)
{
    static uint32_t map[256];
    static int ready;
    if (!ready) {
        int n = 0;
        for (int i = 0; i < 256; i++) {
            if ((i >= '!' && i <= '~') || (i >= 0xa1 && i <= 0xac) || (i >= 0xae && i <= 0xff))
                map[i] = (uint32_t)i;
            else
                map[i] = 256u + (uint32_t)n++;
        }
        ready = 1;
    }
    return map[b];
}

/* Inverse of byte_to_cp; -1 when cp is not in the image. */
static int cp_to_byte(uint32_t cp)
{
    if ((cp >= '!' && cp <= '~') || (cp >= 0xa1 && cp <= 0xac) || (cp >= 0xae && cp <= 0xff))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68)
        return -1;
    int n = 0;
    for (int i = 0; i < 256; i++)
        if (byte_to_cp(i) >= 256 && n++ == (int)(cp - 256))
            return i;
    return -1;
}

/* Decodes a byte-level mapped string into raw bytes.  Returns the length,
 * or -1 when a character is outside the mapping (or the UTF-8 is bad). */
static long unmap_bytes(const char *s, unsigned char *out, size_t cap, const int *inv)
{
    size_t o = 0, n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_decode(s + i, n - i, &cp);
        if (!k)
            return -1;
        i += k;
        /* The image is U+0021..U+0143: three-byte characters are never in it. */
        int b = cp < 512 ? inv[cp] : -1;
        if (b < 0 || o >= cap)
            return -1;
        out[o++] = (unsigned char)b;
    }
    return (long)o;
}

/* Byte-level merge strings are looked up by their mapped text while the
 * file loads; this table lives only during the load. */
struct str_map { const char **keys; uint32_t *vals; size_t mask; };

static int strmap_init(struct str_map *m, size_t n)
{
    size_t cap = 1024;
    while (cap < n * 2)
        cap <<= 1;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    m->mask = cap - 1;
    return m->keys && m->vals ? 0 : -1;
}

static void strmap_put(struct str_map *m, const char *k, uint32_t v)
{
    size_t i = hash_bytes(k, strlen(k)) & m->mask;
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], k))
            return;
        i = (i + 1) & m->mask;
    }
    m->keys[i] = k;
    m->vals[i] = v;
}

static uint32_t strmap_get(const struct str_map *m, const char *k, size_t n)
{
    size_t i = hash_bytes(k, n) & m->mask;
    while (m->keys[i]) {
        if (!strncmp(m->keys[i], k, n) && m->keys[i][n] == '\0')
            return m->vals[i];
        i = (i + 1) & m->mask;
    }
    return TOK_NONE;
}

static const char *json_type_of(const cJSON *o)
{
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(ty) ? ty->valuestring : "";
}

static int json_true(const cJSON *o, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    return dflt;
}

/* Reads one pre_tokenizer step.  Sets *bytelevel when it is ByteLevel. */
static int hf_pretok_step(struct tokenizer *t, const cJSON *p, int after_split, int *bytelevel,
                          const char *name, char *err, size_t errcap)
{
    const char *ty = json_type_of(p);
    char e2[200];
    if (!strcmp(ty, "ByteLevel")) {
        *bytelevel = 1;
        if (json_true(p, "add_prefix_space", 0))
            t->prefix_space = after_split ? 2 : 1;
        if (json_true(p, "use_regex", 1) && regex_add(t, PAT_GPT2, strlen(PAT_GPT2), e2, sizeof e2) < 0)
            goto bad_regex;
        return 0;
    }
    if (!strcmp(ty, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        const cJSON *rx = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
        const cJSON *lit = cJSON_GetObjectItemCaseSensitive(pat, "String");
        const cJSON *beh = cJSON_GetObjectItemCaseSensitive(p, "behavior");
        if (!cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated") || json_true(p, "invert", 0)) {
            util_errf(err, errcap, "%s: unsupported Split pre_tokenizer (only behavior Isolated, invert false)", name);
            return -1;
        }
        if (cJSON_IsString(rx)) {
            if (regex_add(t, rx->valuestring, strlen(rx->valuestring), e2, sizeof e2) < 0)
                goto bad_regex;
        } else if (cJSON_IsString(lit) && lit->valuestring[0]) {
            /* A literal split string: quote it for PCRE2 with \Q...\E. */
            size_t n = strlen(lit->valuestring);
            char *q = malloc(n + 5);
            if (!q) {
                util_errf(err, errcap, "%s: out of memory", name);
                return -1;
            }
            snprintf(q, n + 5, "\\Q%s\\E", lit->valuestring);
            int rc = strstr(lit->valuestring, "\\E") ? -1 : regex_add(t, q, strlen(q), e2, sizeof e2);
            free(q);
            if (rc < 0) {
                util_errf(err, errcap, "%s: unsupported Split string pattern", name);
                return -1;
            }
        } else {
            util_errf(err, errcap, "%s: Split pre_tokenizer without a Regex or String pattern", name);
            return -1;
        }
        return 0;
    }
    util_errf(err, errcap, "%s: unsupported pre_tokenizer type '%s'", name, ty);
    return -1;
bad_regex:
    util_errf(err, errcap, "%s: %s", name, e2);
    return -1;
}

static int load_hf(struct tokenizer *t, const char *d, size_t len, const char *name,
                   const char *encoding, char *err, size_t errcap)
{
    int rc = -1;
    struct str_map sm = { 0 };
    unsigned char *buf = NULL;
    int inv[512];
    if (encoding) {
        util_errf(err, errcap, "%s: --encoding applies to tiktoken ranks files, not tokenizer.json", name);
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength(d, len);
    if (!root || !cJSON_IsObject(root)) {
        util_errf(err, errcap, "%s: not valid JSON (tokenizer.json expected)", name);
        goto out;
    }
    for (int i = 0; i < 512; i++)
        inv[i] = cp_to_byte((uint32_t)i);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *mtype = cJSON_GetObjectItemCaseSensitive(model, "type");
    if (!cJSON_IsObject(model) || !cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) {
        util_errf(err, errcap, "%s: no BPE model (model.vocab object and model.merges array)", name);
        goto out;
    }
    if (mtype && (!cJSON_IsString(mtype) || strcmp(mtype->valuestring, "BPE"))) {
        util_errf(err, errcap, "%s: model type '%s' is not supported (byte-level BPE only)", name,
                cJSON_IsString(mtype) ? mtype->valuestring : "?");
        goto out;
    }
    const cJSON *csp = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    const cJSON *eow = cJSON_GetObjectItemCaseSensitive(model, "end_of_word_suffix");
    if ((cJSON_IsString(csp) && csp->valuestring[0]) || (cJSON_IsString(eow) && eow->valuestring[0])) {
        util_errf(err, errcap, "%s: subword prefixes/suffixes are not supported (byte-level BPE only)", name);
        goto out;
    }
    t->ignore_merges = json_true(model, "ignore_merges", 0);
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (norm && !cJSON_IsNull(norm) && strcmp(json_type_of(norm), "NFC")) {
        util_errf(err, errcap, "%s: unsupported normalizer '%s'", name, json_type_of(norm));
        goto out;
    }
    /* Pre-tokenizer: ByteLevel alone, or a Sequence of Splits + ByteLevel. */
    int bytelevel = 0;
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (!strcmp(json_type_of(pt), "Sequence")) {
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
        const cJSON *s;
        int splits = 0;
        cJSON_ArrayForEach(s, steps) {
            if (hf_pretok_step(t, s, splits, &bytelevel, name, err, errcap) < 0)
                goto out;
            splits += !strcmp(json_type_of(s), "Split");
        }
    } else if (pt && !cJSON_IsNull(pt)) {
        if (hf_pretok_step(t, pt, 0, &bytelevel, name, err, errcap) < 0)
            goto out;
    }
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    if (!bytelevel && strcmp(json_type_of(dec), "ByteLevel")) {
        util_errf(err, errcap, "%s: not a byte-level BPE tokenizer (no ByteLevel pre_tokenizer or decoder)", name);
        goto out;
    }
    /* Vocabulary. */
    size_t nv = (size_t)cJSON_GetArraySize(vocab);
    if (!nv) {
        util_errf(err, errcap, "%s: empty vocabulary", name);
        goto out;
    }
    buf = malloc(4096);
    if (!buf || table_init(t, nv + 1024) < 0 || strmap_init(&sm, nv) < 0 || tok_reserve(t, nv) < 0)
        goto oom;
    const cJSON *v;
    size_t maxid = 0;
    cJSON_ArrayForEach(v, vocab) {
        double dv = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (dv < 0 || dv >= TOK_MAX_IDS || dv != (double)(uint32_t)dv) {
            util_errf(err, errcap, "%s: vocab entry has a bad id (want an integer below %u)", name, TOK_MAX_IDS);
            goto out;
        }
        uint32_t id = (uint32_t)dv;
        strmap_put(&sm, v->string, id);
        long bl = unmap_bytes(v->string, buf, 4096, inv);
        if (bl <= 0)
            continue;   /* not byte-level text (e.g. a special token); see added_tokens */
        if (id >= t->ntok && tok_reserve(t, id + 1 > t->ntok * 2 ? id + 1 : t->ntok * 2) < 0)
            goto oom;
        if (t->tok[id].len) {
            util_errf(err, errcap, "%s: vocab id %u appears twice", name, id);
            goto out;
        }
        uint32_t off;
        if (pool_add(t, buf, (size_t)bl, &off) < 0)
            goto oom;
        t->tok[id].off = off;
        t->tok[id].len = (uint32_t)bl;
        if (table_insert(t, id) != TOK_NONE)
            t->tok[id].len = 0;   /* duplicate bytes: keep the first id for encoding */
        if (id > maxid)
            maxid = id;
    }
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        uint32_t id = table_find(t, &c, 1);
        if (id == TOK_NONE) {
            util_errf(err, errcap, "%s: vocabulary lacks the byte 0x%02x (not a byte-level BPE)", name, b);
            goto out;
        }
        t->byte_id[b] = id;
    }
    /* Merges: "a b" strings or ["a","b"] pairs; the index is the priority. */
    size_t nm = (size_t)cJSON_GetArraySize(merges);
    if (pairs_init(t, nm + 1) < 0)
        goto oom;
    const cJSON *m;
    uint32_t rank = 0;
    cJSON_ArrayForEach(m, merges) {
        const char *a, *b;
        size_t al, bl;
        if (cJSON_IsString(m)) {
            const char *sp = strchr(m->valuestring, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                util_errf(err, errcap, "%s: merges[%u] is not \"a b\"", name, rank);
                goto out;
            }
            a = m->valuestring; al = (size_t)(sp - a);
            b = sp + 1; bl = strlen(b);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 &&
                   cJSON_IsString(m->child) && cJSON_IsString(m->child->next)) {
            a = m->child->valuestring; al = strlen(a);
            b = m->child->next->valuestring; bl = strlen(b);
        } else {
            util_errf(err, errcap, "%s: merges[%u] is neither \"a b\" nor [\"a\",\"b\"]", name, rank);
            goto out;
        }
        uint32_t ia = strmap_get(&sm, a, al), ib = strmap_get(&sm, b, bl);
        if (ia == TOK_NONE || ib == TOK_NONE || al + bl >= 4096) {
            util_errf(err, errcap, "%s: merges[%u] names a token that is not in the vocabulary", name, rank);
            goto out;
        }
        memcpy(buf, a, al);
        memcpy(buf + al, b, bl);
        uint32_t im = strmap_get(&sm, (const char *)buf, al + bl);
        if (im == TOK_NONE) {
            util_errf(err, errcap, "%s: merges[%u] makes a token that is not in the vocabulary", name, rank);
            goto out;
        }
        pair_insert(t, ia, ib, rank, im);
        rank++;
    }
    /* Added tokens: matched on the raw text before pre-tokenization. */
    const cJSON *adds = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    size_t na = (size_t)cJSON_GetArraySize(adds);
    if (na) {
        t->added = calloc(na, sizeof *t->added);
        if (!t->added)
            goto oom;
        const cJSON *a;
        cJSON_ArrayForEach(a, adds) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "content");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
            if (!cJSON_IsString(c) || !c->valuestring[0] || !cJSON_IsNumber(id) ||
                id->valuedouble < 0 || id->valuedouble >= TOK_MAX_IDS) {
                util_errf(err, errcap, "%s: added_tokens[%zu] needs a content string and an id", name, t->nadded);
                goto out;
            }
            uint32_t aid = (uint32_t)id->valuedouble;
            size_t cl = strlen(c->valuestring);
            struct added *ad = &t->added[t->nadded++];
            ad->s = strdup(c->valuestring);
            ad->len = cl;
            ad->id = aid;
            if (!ad->s)
                goto oom;
            t->added_first[(unsigned char)ad->s[0]] = 1;
            if (aid >= t->ntok && tok_reserve(t, aid + 1) < 0)
                goto oom;
            if (!t->tok[aid].len) {   /* decode gives the content back */
                uint32_t off;
                if (pool_add(t, ad->s, cl, &off) < 0)
                    goto oom;
                t->tok[aid].off = off;
                t->tok[aid].len = (uint32_t)cl;
            }
            if (aid > maxid)
                maxid = aid;
        }
    }
    t->ntok = maxid + 1;
    t->kind = TOKENIZER_HF;
    snprintf(t->name, sizeof t->name, "tokenizer.json (byte-level BPE, %zu ids, %u merges)",
             t->ntok, rank);
    rc = 0;
    goto out;
oom:
    util_errf(err, errcap, "%s: out of memory", name);
out:
    free(sm.keys);
    free(sm.vals);
    free(buf);
    cJSON_Delete(root);
    return rc;
}

/* ----------------------------------------------------------------- load */

struct tokenizer *tokenizer_load_mem(const char *data, size_t len, const char *name,
                                     const char *encoding, char *err, size_t errcap)
{
    struct tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        util_errf(err, errcap, "%s: out of memory", name);
        return NULL;
    }
    t->heap_threshold = TOK_HEAP_DEFAULT;
    t->cache = calloc(TOK_CACHE, sizeof *t->cache);   /* optional: NULL only slows down */
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
        i++;
    int rc = i < len && data[i] == '{'
        ? load_hf(t, data, len, name, encoding, err, errcap)
        : load_tiktoken(t, data, len, name, encoding, err, errcap);
    if (rc < 0) {
        tokenizer_free(t);
        return NULL;
    }
    return t;
}

struct tokenizer *tokenizer_load(const char *path, const char *encoding, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        util_errf(err, errcap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    struct tokenizer *t = NULL;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            if (cap > TOK_MAX_FILE) {
                util_errf(err, errcap, "%s: larger than 1 GiB: not a tokenizer file", path);
                goto out;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                util_errf(err, errcap, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        util_errf(err, errcap, "%s: read error", path);
        goto out;
    }
    if (len == 0) {
        util_errf(err, errcap, "%s: empty file", path);
        goto out;
    }
    t = tokenizer_load_mem(buf, len, path, encoding, err, errcap);
out:
    free(buf);
    fclose(f);
    return t;
}
