/* The BPE engine (tokenizer_int.h): byte and pair tables, the
 * pre-tokenizer splits, the merge (quadratic for short pieces, a heap for
 * long ones), encode, decode. */
#include "tokenizer_int.h"
#include "util.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- byte table */

uint64_t tok_hash_bytes(const char *p, size_t n)
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

uint32_t tok_table_find(const struct tokenizer *t, const char *p, size_t n)
{
    uint64_t h = tok_hash_bytes(p, n);
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

int tok_table_init(struct tokenizer *t, size_t n)
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
uint32_t tok_table_insert(struct tokenizer *t, uint32_t id)
{
    const struct tok_slice *e = &t->tok[id];
    const char *p = t->pool + e->off;
    uint64_t h = tok_hash_bytes(p, e->len);
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

int tok_pool_add(struct tokenizer *t, const void *p, size_t n, uint32_t *off)
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
int tok_reserve(struct tokenizer *t, size_t n)
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

int tok_pairs_init(struct tokenizer *t, size_t n)
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
uint64_t tok_pair_find(const struct tokenizer *t, uint32_t a, uint32_t b)
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
void tok_pair_insert(struct tokenizer *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t id)
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

int tok_regex_add(struct tokenizer *t, const char *pat, size_t len, char *err, size_t errcap)
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
        return tok_pair_find(t, ida, idb);
    uint32_t id = tok_table_find(t, piece + start, end - start);
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
        uint32_t id = tok_table_find(t, p, n);
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
            c = &t->cache[tok_hash_bytes(p, n) & (TOK_CACHE - 1)];
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

