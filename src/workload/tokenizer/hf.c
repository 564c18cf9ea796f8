/* Hugging Face tokenizer.json with a byte-level BPE model: the vocabulary
 * in GPT-2's byte-to-unicode mapping, merges ranked by position, the
 * ByteLevel and Split pre-tokenizers, added tokens. */
#include "tokenizer_int.h"
#include "util.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GPT-2's pattern, used by HF ByteLevel with use_regex: true. */
static const char PAT_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";


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
    size_t i = tok_hash_bytes(k, strlen(k)) & m->mask;
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
    size_t i = tok_hash_bytes(k, n) & m->mask;
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
        if (json_true(p, "use_regex", 1) && tok_regex_add(t, PAT_GPT2, strlen(PAT_GPT2), e2, sizeof e2) < 0)
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
            if (tok_regex_add(t, rx->valuestring, strlen(rx->valuestring), e2, sizeof e2) < 0)
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
            int rc = strstr(lit->valuestring, "\\E") ? -1 : tok_regex_add(t, q, strlen(q), e2, sizeof e2);
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

int tok_load_hf(struct tokenizer *t, const char *d, size_t len, const char *name,
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
    if (!buf || tok_table_init(t, nv + 1024) < 0 || strmap_init(&sm, nv) < 0 || tok_reserve(t, nv) < 0)
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
        if (tok_pool_add(t, buf, (size_t)bl, &off) < 0)
            goto oom;
        t->tok[id].off = off;
        t->tok[id].len = (uint32_t)bl;
        if (tok_table_insert(t, id) != TOK_NONE)
            t->tok[id].len = 0;   /* duplicate bytes: keep the first id for encoding */
        if (id > maxid)
            maxid = id;
    }
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        uint32_t id = tok_table_find(t, &c, 1);
        if (id == TOK_NONE) {
            util_errf(err, errcap, "%s: vocabulary lacks the byte 0x%02x (not a byte-level BPE)", name, b);
            goto out;
        }
        t->byte_id[b] = id;
    }
    /* Merges: "a b" strings or ["a","b"] pairs; the index is the priority. */
    size_t nm = (size_t)cJSON_GetArraySize(merges);
    if (tok_pairs_init(t, nm + 1) < 0)
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
        tok_pair_insert(t, ia, ib, rank, im);
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
                if (tok_pool_add(t, ad->s, cl, &off) < 0)
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

