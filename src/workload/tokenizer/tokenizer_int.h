#ifndef LLMLOAD_TOKENIZER_INT_H
#define LLMLOAD_TOKENIZER_INT_H
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
 * a space costs n log n, not n^2.
 *
 * Files: bpe.c (tables, pre-tokenizer, merge, encode, decode), tiktoken.c
 * and hf.c (the two file formats), load.c (format detection, reading). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

#define TOK_MAX_IDS      (1u << 24)         /* sanity bound on ids, 16 Mi */
#define TOK_MAX_FILE     (1024ul << 20)     /* tokenizer files over 1 GiB are refused */
#define TOK_MAX_REGEX    8
#define TOK_NONE         UINT32_MAX
#define TOK_SMALL_MAX    128                /* the quadratic merge's fixed arrays */
#define TOK_HEAP_DEFAULT 64

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

/* ---- shared by the loaders and the encoder (bpe.c) ---------------------- */

/* FNV-1a finished with murmur3's fmix64: the hash of the byte tables. */
uint64_t tok_hash_bytes(const char *p, size_t n);

/* The vocabulary: bytes -> id table (sized for n tokens), the pool every
 * token's bytes live in, and t->tok grown to n ids (new ones empty). */
int tok_table_init(struct tokenizer *t, size_t n);
uint32_t tok_table_find(const struct tokenizer *t, const char *p, size_t n);
/* Inserts id (already in t->tok); returns the id that already had the same
 * bytes, or TOK_NONE. */
uint32_t tok_table_insert(struct tokenizer *t, uint32_t id);
int tok_pool_add(struct tokenizer *t, const void *p, size_t n, uint32_t *off);
int tok_reserve(struct tokenizer *t, size_t n);

/* HF merges: (a, b) -> rank << 32 | merged id; UINT64_MAX when they do not
 * merge.  The first insertion of a pair wins. */
int tok_pairs_init(struct tokenizer *t, size_t n);
uint64_t tok_pair_find(const struct tokenizer *t, uint32_t a, uint32_t b);
void tok_pair_insert(struct tokenizer *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t id);

/* Appends a pre-tokenizer split (PCRE2 pattern).  -1 with err. */
int tok_regex_add(struct tokenizer *t, const char *pat, size_t len, char *err, size_t errcap);

/* The two formats: fill t from the file's bytes d[0..len).  name is used
 * in messages.  0, or -1 with a one-line err. */
int tok_load_tiktoken(struct tokenizer *t, const char *d, size_t len, const char *name,
                      const char *encoding, char *err, size_t errcap);
int tok_load_hf(struct tokenizer *t, const char *d, size_t len, const char *name,
                const char *encoding, char *err, size_t errcap);

#endif
