/* Workloads: prompt sources, output lengths, nonce, shared prefix,
 * multi-turn history and local token counts (workload.h). */
#include "util.h"
#include "workload.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "prompts.h"
#include "tokenizer.h"
#include "rng.h"
#include "units.h"

#define WL_MAX_TOKENS   10000000u   /* 10 M: no model reads or writes more */
#define WL_MAX_TURNS    1000u
#define WL_POOL         16          /* distinct synthetic prompts */
#define WL_POOL_TOKENS  (1u << 20)  /* ... holding at most this many tokens */
#define NONCE_TOKENS_EST 6          /* "Request 123456789:\n" in cl100k/o200k */
#define CACHE_UNKNOWN   (-2)
#define CACHE_NONE      (-1)

/* ------------------------------------------------------------- options */

enum wflag {
    F_PROMPT, F_PROMPT_FILE, F_DATASET, F_DATASET_FORMAT, F_SKIP_BAD, F_PROMPT_SET,
    F_INPUT_TOKENS, F_OUTPUT_TOKENS, F_NONCE, F_NO_NONCE, F_SHARED_PREFIX, F_TURNS,
    F_TOKENIZER, F_ENCODING, F_FORCE_TOKENIZER, F_SYSTEM, F_MAX_PROMPT,
};

static int wl_apply(void *ud, const struct opt *opt, const char *flag, const char *value,
                    char *err, size_t errcap);

static const struct opt wflags[] = {
    OPT_SECTION("prompts and workloads (docs/workloads.md)"),
    { F_PROMPT, "--prompt", { NULL }, "TEXT", "the prompt of every request" },
    { F_PROMPT_FILE, "--prompt-file", { NULL }, "FILE", "one prompt a line; each request picks one (seeded)" },
    { F_DATASET, "--dataset", { NULL }, "FILE", "JSONL ({\"prompt\"} or {\"messages\"}) or ShareGPT JSON" },
    { F_DATASET_FORMAT, "--dataset-format", { NULL }, "F", "auto (default), jsonl, sharegpt or lines" },
    { F_SKIP_BAD, "--skip-bad-lines", { NULL }, NULL, "skip and count bad dataset lines instead of failing" },
    { F_MAX_PROMPT, "--max-prompt-bytes", { NULL }, "N",
      "largest prompt of --prompt, a prompt file or a dataset entry, in bytes\n"
      "(default 1048576, 1 MiB; 500k, 4M allowed)" },
    { F_PROMPT_SET, "--prompt-set", { NULL }, "NAME", "built-in prompts: tiny, short, medium, long, very_long" },
    { F_INPUT_TOKENS, "--input-tokens", { NULL }, "N[:SD]", "synthetic prompts of N tokens (normal, SD stddev)" },
    { F_OUTPUT_TOKENS, "--output-tokens", { NULL }, "N[:SD]", "ask for exactly N output tokens (max, min, ignore_eos)" },
    { F_NONCE, "--nonce", { NULL }, NULL, "put a random number in each prompt (default: on)" },
    { F_NO_NONCE, "--no-nonce", { NULL }, NULL, "send prompts unchanged (lets the KV cache help)" },
    { F_SHARED_PREFIX, "--shared-prefix", { NULL }, "N", "a common prefix of N tokens in every prompt (default 0)" },
    { F_TURNS, "--turns", { NULL }, "K", "multi-turn: each user keeps its history for K turns (default 1)" },
    { F_TOKENIZER, "--tokenizer", { NULL }, "FILE", "a .tiktoken ranks file or a tokenizer.json" },
    { F_ENCODING, "--encoding", { NULL }, "E", "pattern of a .tiktoken file: cl100k_base or o200k_base" },
    { F_FORCE_TOKENIZER, "--force-tokenizer", { "--force-tiktoken" }, NULL, "count output tokens locally, not the server's count" },
    { F_SYSTEM, "--system", { NULL }, "TEXT", "system prompt (default: none)" },
};

const struct opt_table workload_opt_table = OPT_TABLE(wflags, wl_apply);


void workload_opts_defaults(struct workload_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dataset_format = DATASET_AUTO;
    o->prompt_set = -1;
    o->nonce = 1;
    o->turns = 1;
}

int workload_flag_takes_value(const char *flag)
{
    const struct opt *o = opt_table_find(&workload_opt_table, flag);
    return o ? o->meta != NULL : -1;
}

void workload_help(FILE *f)
{
    opt_help_table(f, &workload_opt_table);
}

/* "N" or "N:SD" with N a count (1k allowed) in [1, 10M] and SD >= 0. */
static int parse_len(const char *v, uint32_t *n, double *sd)
{
    char buf[64];
    const char *colon = strchr(v, ':');
    size_t nl = colon ? (size_t)(colon - v) : strlen(v);
    if (nl == 0 || nl >= sizeof buf)
        return -1;
    memcpy(buf, v, nl);
    buf[nl] = '\0';
    uint64_t u;
    if (units_parse_count(buf, &u) < 0 || u < 1 || u > WL_MAX_TOKENS)
        return -1;
    double s = 0;
    if (colon && (units_parse_double(colon + 1, &s) < 0 || s < 0 || s > WL_MAX_TOKENS))
        return -1;
    *n = (uint32_t)u;
    *sd = s;
    return 0;
}

int workload_opt(struct workload_opts *o, const char *flag, const char *value,
                 char *err, size_t errcap)
{
    return opt_apply1(&workload_opt_table, o, flag, value, err, errcap);
}

static int wl_apply(void *ud, const struct opt *opt, const char *flag, const char *value,
                    char *err, size_t errcap)
{
    struct workload_opts *o = ud;
    if (opt->meta && !*value && opt->id != F_SYSTEM) {
        util_errf(err, errcap, "%s: empty value", flag);
        return -1;
    }
    uint64_t u;
    switch ((enum wflag)opt->id) {
    case F_PROMPT: o->prompt = value; break;
    case F_PROMPT_FILE: o->prompt_file = value; break;
    case F_DATASET: o->dataset = value; break;
    case F_DATASET_FORMAT:
        if (dataset_format_from_name(value, &o->dataset_format) < 0) {
            util_errf(err, errcap, "--dataset-format: '%s' is not auto, jsonl, sharegpt or lines", value);
            return -1;
        }
        break;
    case F_SKIP_BAD: o->skip_bad_lines = 1; break;
    case F_MAX_PROMPT:
        if (units_parse_count(value, &u) < 0 || u < 1 || u > DATASET_MAX_PROMPT_LIMIT) {
            util_errf(err, errcap, "--max-prompt-bytes: '%s' is not a byte count from 1 to %zu", value,
                      DATASET_MAX_PROMPT_LIMIT);
            return -1;
        }
        o->max_prompt_bytes = (size_t)u;
        break;
    case F_PROMPT_SET: {
        enum prompt_set s;
        if (prompts_set_from_name(value, &s) < 0) {
            util_errf(err, errcap, "--prompt-set: '%s' is not tiny, short, medium, long or very_long", value);
            return -1;
        }
        o->prompt_set = (int)s;
        break;
    }
    case F_INPUT_TOKENS:
    case F_OUTPUT_TOKENS: {
        uint32_t n;
        double sd;
        if (parse_len(value, &n, &sd) < 0) {
            util_errf(err, errcap, "%s: '%s' is not N or N:STDDEV (N tokens from 1 to 10M, STDDEV >= 0)",
                    flag, value);
            return -1;
        }
        if (opt->id == F_INPUT_TOKENS) {
            o->input_tokens = n;
            o->input_stddev = sd;
        } else {
            o->output_tokens = n;
            o->output_stddev = sd;
        }
        break;
    }
    case F_NONCE: o->nonce = 1; break;
    case F_NO_NONCE: o->nonce = 0; break;
    case F_SHARED_PREFIX:
        if (units_parse_count(value, &u) < 0 || u > WL_MAX_TOKENS) {
            util_errf(err, errcap, "--shared-prefix: '%s' is not a token count from 0 to 10M", value);
            return -1;
        }
        o->shared_prefix = (uint32_t)u;
        break;
    case F_TURNS:
        if (units_parse_count(value, &u) < 0 || u < 1 || u > WL_MAX_TURNS) {
            util_errf(err, errcap, "--turns: '%s' is not a turn count from 1 to %u", value, WL_MAX_TURNS);
            return -1;
        }
        o->turns = (uint32_t)u;
        break;
    case F_TOKENIZER: o->tokenizer = value; break;
    case F_ENCODING:
        if (strcmp(value, "cl100k_base") && strcmp(value, "o200k_base")) {
            util_errf(err, errcap, "--encoding: '%s' is not cl100k_base or o200k_base", value);
            return -1;
        }
        o->encoding = value;
        break;
    case F_FORCE_TOKENIZER: o->force_tokenizer = 1; break;
    case F_SYSTEM: o->system = *value ? value : NULL; break;
    }
    return 1;
}

/* ---------------------------------------------------------- randomness */

/* splitmix64 (rng.h): one step's output from x alone, for seeds. */
static uint64_t mix64(uint64_t x)
{
    return rng_mix64(x + RNG_GOLDEN);
}

struct rng { uint64_t s; };

static uint64_t rng_next(struct rng *r)
{
    return rng_splitmix64(&r->s);
}

static double rng_unit(struct rng *r)   /* (0, 1) */
{
    return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

static uint32_t sample_len(struct rng *r, uint32_t n, double sd)
{
    if (sd <= 0)
        return n;
    /* Box-Muller: one normal deviate from two uniforms. */
    double z = sqrt(-2.0 * log(rng_unit(r))) * cos(6.283185307179586 * rng_unit(r));
    double v = floor((double)n + sd * z + 0.5);
    if (v < 1)
        v = 1;
    if (v > WL_MAX_TOKENS)
        v = WL_MAX_TOKENS;
    return (uint32_t)v;
}

/* ------------------------------------------------------------ workload */

struct user {
    struct api_message *msgs; size_t msgcap;
    char **hist; int64_t *hist_tok; size_t nhist, histcap;   /* multi-turn */
    int pending;
    int64_t prompt_tokens;
};

struct workload {
    struct workload_opts o;
    uint64_t seed;
    struct tokenizer *tok;
    struct dataset *ds;                  /* --prompt-file or --dataset */
    char **strs; size_t nstrs;           /* --prompt, sets, synthetic pool */
    int64_t *body_tok;                   /* per entry, CACHE_UNKNOWN until used */
    int64_t *reply_tok;                  /* per dataset entry: output length */
    char *prefix; size_t prefix_len; int64_t prefix_tok;
    int64_t system_tok;
    struct user *users; size_t nusers;
    /* One scratch for every user: a request's content is encoded into its
     * body before the next is built, so one decoded entry and one built
     * prompt serve them all, and memory does not grow with concurrency. */
    char *text; size_t text_cap;         /* the built prompt / user message */
    struct dataset_scratch ds_scratch;   /* the decoded dataset entry */
    char desc[320];
};

static int64_t count_text(struct workload *w, const char *s, size_t n)
{
    if (!w->tok)
        return -1;
    long c = tokenizer_count(w->tok, s, n);
    return c < 0 ? -1 : c;
}

/* Word-list text, generated lazily: ends[k] is the byte length of the
 * first k words (each with its leading space). */
struct wordgen {
    struct rng r;
    const char *const *words; size_t nwords;
    char *b; size_t len, cap;
    size_t *ends; size_t made, ecap;
    char *tmp; size_t tcap;
};

static int wordgen_ensure(struct wordgen *g, size_t k)
{
    while (g->made < k) {
        const char *wd = g->words[rng_next(&g->r) % g->nwords];
        size_t wl = strlen(wd);
        if (g->len + wl + 1 > g->cap) {
            size_t nc = (g->len + wl + 1) * 2 + 256;
            char *nb = realloc(g->b, nc);
            if (!nb)
                return -1;
            g->b = nb;
            g->cap = nc;
        }
        if (g->made + 2 > g->ecap) {
            size_t nc = g->ecap * 2 + 1024;
            size_t *ne = realloc(g->ends, nc * sizeof *ne);
            if (!ne)
                return -1;
            g->ends = ne;
            g->ecap = nc;
        }
        g->b[g->len++] = ' ';
        memcpy(g->b + g->len, wd, wl);
        g->len += wl;
        g->ends[++g->made] = g->len;
    }
    return 0;
}

/* The first k words followed by suffix, NUL-terminated, in g->tmp. */
static int wordgen_text(struct wordgen *g, size_t k, const char *suffix, size_t *len)
{
    size_t sl = strlen(suffix);
    if (wordgen_ensure(g, k) < 0)
        return -1;
    size_t tl = g->ends[k] + sl;
    if (tl + 1 > g->tcap) {
        char *nt = realloc(g->tmp, tl + 1);
        if (!nt)
            return -1;
        g->tmp = nt;
        g->tcap = tl + 1;
    }
    if (k)
        memcpy(g->tmp, g->b, g->ends[k]);
    memcpy(g->tmp + g->ends[k], suffix, sl + 1);
    *len = tl;
    return 0;
}

static int64_t wordgen_count(struct workload *w, struct wordgen *g, size_t k, const char *suffix)
{
    size_t len;
    if (wordgen_text(g, k, suffix, &len) < 0)
        return -1;
    return count_text(w, g->tmp, len);
}

/* The next word would overshoot (a tokenizer where words are several
 * tokens): pads the first k words with short fillers, one token at a
 * time, up to target.  Returns the malloc'd text, or NULL. */
static char *words_pad(struct workload *w, struct wordgen *g, size_t k, const char *suffix,
                       uint32_t target, int64_t *tokens)
{
    static const char *const fill[] = { ".", " a", ",", " the", "a", " " };
    size_t len;
    if (wordgen_text(g, k, "", &len) < 0)
        return NULL;
    size_t sl = strlen(suffix), cap = len + sl + 64;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    memcpy(b, g->tmp, len);
    /* Each round appends the first filler that adds exactly one token; a
     * tokenizer where none does keeps the closest count below target. */
    for (int round = 0; round < 64 && *tokens < (int64_t)target; round++) {
        int added = 0;
        for (size_t f = 0; f < sizeof fill / sizeof fill[0] && !added; f++) {
            size_t fl = strlen(fill[f]);
            if (len + fl + sl + 1 > cap) {
                char *nb = realloc(b, cap = (len + fl + sl + 1) * 2);
                if (!nb) {
                    free(b);
                    return NULL;
                }
                b = nb;
            }
            memcpy(b + len, fill[f], fl);
            memcpy(b + len + fl, suffix, sl);
            int64_t c = count_text(w, b, len + fl + sl);
            if (c == *tokens + 1) {
                len += fl;
                *tokens = c;
                added = 1;
            }
        }
        if (!added)
            break;
    }
    memcpy(b + len, suffix, sl);
    b[len + sl] = '\0';
    return b;
}

/* Builds a text of `target` tokens from the word list, ending in suffix:
 * exact with a tokenizer (the word count is searched: the count grows with
 * the words), approximate without one (a word a token, as for cl100k and
 * o200k, where every listed word with its space is one token).  Returns a
 * malloc'd string and its token count in *tokens (-1 without a tokenizer);
 * NULL when out of memory. */
static char *words_text(struct workload *w, uint64_t seed, uint32_t target, const char *suffix,
                        int64_t *tokens)
{
    struct wordgen g = { .r = { seed } };
    g.nwords = prompts_words(&g.words);
    g.ends = malloc(1024 * sizeof *g.ends);
    g.ecap = 1024;
    char *out = NULL;
    size_t k, len;
    *tokens = -1;
    if (!g.ends)
        return NULL;
    g.ends[0] = 0;
    if (!w->tok) {
        k = target > 1 && *suffix ? target - 1 : target;
    } else {
        size_t lo = 0, hi = target;
        int64_t c = wordgen_count(w, &g, hi, suffix);
        while (c >= 0 && c < (int64_t)target && hi < (size_t)target * 8 + 16) {
            lo = hi;
            hi *= 2;
            c = wordgen_count(w, &g, hi, suffix);
        }
        if (c < 0)
            goto out;
        if (c <= (int64_t)target) {
            lo = hi;
        } else {
            while (lo + 1 < hi) {   /* the largest k with count(k) <= target */
                size_t mid = lo + (hi - lo) / 2;
                if ((c = wordgen_count(w, &g, mid, suffix)) < 0)
                    goto out;
                if (c <= (int64_t)target)
                    lo = mid;
                else
                    hi = mid;
            }
        }
        k = lo;
        if ((*tokens = wordgen_count(w, &g, k, suffix)) < 0)
            goto out;
        if (*tokens < (int64_t)target) {
            out = words_pad(w, &g, k, suffix, target, tokens);
            goto out;
        }
    }
    if (wordgen_text(&g, k, suffix, &len) == 0) {
        out = g.tmp;
        g.tmp = NULL;
    }
out:
    free(g.b);
    free(g.ends);
    free(g.tmp);
    return out;
}

static size_t nentries(const struct workload *w)
{
    return w->ds ? dataset_count(w->ds) : w->nstrs;
}

void workload_free(struct workload *w)
{
    if (!w)
        return;
    for (size_t u = 0; u < w->nusers; u++) {
        struct user *us = &w->users[u];
        free(us->msgs);
        for (size_t i = 0; i < us->nhist; i++)
            free(us->hist[i]);
        free(us->hist);
        free(us->hist_tok);
    }
    free(w->users);
    free(w->text);
    dataset_scratch_free(&w->ds_scratch);
    for (size_t i = 0; i < w->nstrs; i++)
        free(w->strs[i]);
    free(w->strs);
    free(w->body_tok);
    free(w->reply_tok);
    free(w->prefix);
    dataset_free(w->ds);
    tokenizer_free(w->tok);
    free(w);
}

static int add_str(struct workload *w, char *s)
{
    if (!s)
        return -1;
    char **ns = realloc(w->strs, (w->nstrs + 1) * sizeof *ns);
    if (!ns) {
        free(s);
        return -1;
    }
    w->strs = ns;
    w->strs[w->nstrs++] = s;
    return 0;
}

/* --input-tokens: the synthetic prompts, drawn from the seed (one, or a
 * pool of WL_POOL when the length varies). */
static int synthetic_pool(struct workload *w)
{
    const struct workload_opts *o = &w->o;
    int64_t nonce_tok = 0;
    if (o->nonce)
        nonce_tok = w->tok ? count_text(w, "Request 123456789:\n", 19) : NONCE_TOKENS_EST;
    size_t pool = o->input_stddev > 0 ? WL_POOL : 1;
    while (pool > 1 && (uint64_t)pool * o->input_tokens > WL_POOL_TOKENS)
        pool--;
    struct rng r = { w->seed ^ 0x1e57ull };
    for (size_t i = 0; i < pool; i++) {
        int64_t want = (int64_t)sample_len(&r, o->input_tokens, o->input_stddev) - w->prefix_tok - nonce_tok;
        int64_t got;
        if (want < 1)
            want = 1;
        if (add_str(w, words_text(w, w->seed + i * 7919, (uint32_t)want, "", &got)) < 0)
            return -1;
    }
    return 0;
}

static const char *source_flag(const struct workload_opts *o, int k)
{
    const char *names[] = {
        o->prompt ? "--prompt" : NULL, o->prompt_file ? "--prompt-file" : NULL,
        o->dataset ? "--dataset" : NULL, o->prompt_set >= 0 ? "--prompt-set" : NULL,
        o->input_tokens ? "--input-tokens" : NULL,
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i] && k-- == 0)
            return names[i];
    return NULL;
}

int workload_opts_default_source(const struct workload_opts *o)
{
    return !source_flag(o, 0);
}

struct workload *workload_open(const struct workload_opts *o, uint64_t seed, char *err, size_t errcap)
{
    const char *s1 = source_flag(o, 0), *s2 = source_flag(o, 1);
    if (s2) {
        util_errf(err, errcap, "%s and %s cannot be used together: give one prompt source", s1, s2);
        return NULL;
    }
    if (o->dataset_format != DATASET_AUTO && !o->dataset) {
        util_errf(err, errcap, "--dataset-format needs --dataset FILE");
        return NULL;
    }
    if (o->skip_bad_lines && !o->dataset && !o->prompt_file) {
        util_errf(err, errcap, "--skip-bad-lines needs --dataset FILE or --prompt-file FILE");
        return NULL;
    }
    if ((o->force_tokenizer || o->encoding) && !o->tokenizer) {
        util_errf(err, errcap, "%s needs --tokenizer FILE", o->force_tokenizer ? "--force-tokenizer" : "--encoding");
        return NULL;
    }
    if (o->input_tokens && o->shared_prefix >= o->input_tokens) {
        util_errf(err, errcap, "--shared-prefix %u must be smaller than --input-tokens %u",
                o->shared_prefix, o->input_tokens);
        return NULL;
    }
    if (o->turns < 1) {
        util_errf(err, errcap, "--turns must be at least 1");
        return NULL;
    }
    struct workload *w = calloc(1, sizeof *w);
    if (!w) {
        util_errf(err, errcap, "out of memory");
        return NULL;
    }
    w->o = *o;
    w->seed = seed;
    w->prefix_tok = 0;
    w->system_tok = 0;
    if (o->tokenizer) {
        w->tok = tokenizer_load(o->tokenizer, o->encoding, err, errcap);
        if (!w->tok)
            goto fail;
    }
    char what[200];
    if (o->dataset || o->prompt_file) {
        w->ds = dataset_open(o->dataset ? o->dataset : o->prompt_file,
                             o->dataset ? o->dataset_format : DATASET_LINES,
                             o->skip_bad_lines, o->max_prompt_bytes, err, errcap);
        if (!w->ds)
            goto fail;
        snprintf(what, sizeof what, "%s %s (%s, %zu prompts, sha256 %.12s", o->dataset ? "dataset" : "prompt file",
                 o->dataset ? o->dataset : o->prompt_file, dataset_format_name(dataset_format(w->ds)),
                 dataset_count(w->ds), dataset_sha256(w->ds));
        size_t l = strlen(what);
        if (dataset_skipped(w->ds))
            l += (size_t)snprintf(what + l, sizeof what - l, ", %zu bad lines skipped", dataset_skipped(w->ds));
        if (dataset_unusable(w->ds) && l < sizeof what)
            l += (size_t)snprintf(what + l, sizeof what - l, ", %zu without a prompt", dataset_unusable(w->ds));
        if (l < sizeof what)
            snprintf(what + l, sizeof what - l, ")");
    } else if (o->prompt) {
        size_t max = o->max_prompt_bytes ? o->max_prompt_bytes : DATASET_MAX_PROMPT;
        if (strlen(o->prompt) > max) {
            util_errf(err, errcap, "--prompt: %zu bytes, larger than --max-prompt-bytes %zu",
                      strlen(o->prompt), max);
            goto fail;
        }
        if (add_str(w, strdup(o->prompt)) < 0)
            goto oom;
        snprintf(what, sizeof what, "one prompt");
    } else if (o->input_tokens) {
        if (o->input_stddev > 0)
            snprintf(what, sizeof what, "synthetic %u:%g tokens%s", o->input_tokens, o->input_stddev,
                     w->tok ? "" : " (approximate: no --tokenizer)");
        else
            snprintf(what, sizeof what, "synthetic %u tokens%s", o->input_tokens,
                     w->tok ? "" : " (approximate: no --tokenizer)");
    } else if (o->prompt_set >= 0 || !o->default_prompt) {
        enum prompt_set s = o->prompt_set >= 0 ? (enum prompt_set)o->prompt_set : PROMPT_SET_TINY;
        for (size_t i = 0; i < PROMPTS_PER_SET; i++)
            if (add_str(w, prompts_build(s, i)) < 0)
                goto oom;
        snprintf(what, sizeof what, "prompt set %s (~%u tokens)", prompts_set_name(s), prompts_set_tokens(s));
    } else {
        if (add_str(w, strdup(o->default_prompt)) < 0)
            goto oom;
        snprintf(what, sizeof what, "default prompt");
    }
    if (o->shared_prefix) {
        w->prefix = words_text(w, 0x5eedull, o->shared_prefix, "\n", &w->prefix_tok);
        if (!w->prefix)
            goto oom;
        w->prefix_len = strlen(w->prefix);
        if (!w->tok)
            w->prefix_tok = o->shared_prefix;
    }
    if (o->system && w->tok)
        w->system_tok = count_text(w, o->system, strlen(o->system));
    if (o->input_tokens && synthetic_pool(w) < 0)
        goto oom;
    size_t n = nentries(w);
    w->body_tok = malloc(n * sizeof *w->body_tok);
    w->reply_tok = malloc(n * sizeof *w->reply_tok);
    if (!w->body_tok || !w->reply_tok)
        goto oom;
    for (size_t i = 0; i < n; i++)
        w->body_tok[i] = w->reply_tok[i] = CACHE_UNKNOWN;
    {
        size_t l = (size_t)snprintf(w->desc, sizeof w->desc, "%s", what);
        if (l < sizeof w->desc && o->shared_prefix)
            l += (size_t)snprintf(w->desc + l, sizeof w->desc - l, ", shared prefix %u tokens", o->shared_prefix);
        if (l < sizeof w->desc)
            l += (size_t)snprintf(w->desc + l, sizeof w->desc - l, ", %s", o->nonce ? "nonce" : "no nonce");
        if (l < sizeof w->desc && o->turns > 1)
            l += (size_t)snprintf(w->desc + l, sizeof w->desc - l, ", %u turns", o->turns);
        if (l < sizeof w->desc && o->output_tokens)
            l += (size_t)snprintf(w->desc + l, sizeof w->desc - l, ", output %u tokens%s", o->output_tokens,
                                  o->output_stddev > 0 ? " (normal)" : " (fixed)");
        if (l < sizeof w->desc && w->tok)
            snprintf(w->desc + l, sizeof w->desc - l, ", tokenizer %s", tokenizer_name(w->tok));
    }
    return w;
oom:
    util_errf(err, errcap, "out of memory");
fail:
    workload_free(w);
    return NULL;
}

static struct user *get_user(struct workload *w, uint32_t user)
{
    if (user >= w->nusers) {
        size_t n = w->nusers ? w->nusers : 16;
        while (n <= user)
            n *= 2;
        struct user *nu = realloc(w->users, n * sizeof *nu);
        if (!nu)
            return NULL;
        memset(nu + w->nusers, 0, (n - w->nusers) * sizeof *nu);
        w->users = nu;
        w->nusers = n;
    }
    return &w->users[user];
}

static int text_reserve(struct workload *w, size_t n)
{
    if (n <= w->text_cap)
        return 0;
    size_t c = w->text_cap ? w->text_cap : 256;
    while (c < n)
        c *= 2;
    char *t = realloc(w->text, c);
    if (!t)
        return -1;
    w->text = t;
    w->text_cap = c;
    return 0;
}

static int msgs_reserve(struct user *u, size_t n)
{
    if (n <= u->msgcap)
        return 0;
    size_t c = u->msgcap ? u->msgcap * 2 : 8;
    while (c < n)
        c *= 2;
    struct api_message *m = realloc(u->msgs, c * sizeof *m);
    if (!m)
        return -1;
    u->msgs = m;
    u->msgcap = c;
    return 0;
}

/* Builds prefix + nonce + body into w->text (the turn's user text). */
static int build_text(struct workload *w, int first, struct rng *r,
                      const char *body, int64_t *nonce_tok)
{
    char nonce[32] = "";
    size_t nl = 0;
    if (first && w->o.nonce) {
        nl = (size_t)snprintf(nonce, sizeof nonce, "Request %09llu:\n",
                              (unsigned long long)(rng_next(r) % 1000000000ull));
        *nonce_tok = w->tok ? count_text(w, nonce, nl) : 0;
    } else {
        *nonce_tok = 0;
    }
    size_t pl = first ? w->prefix_len : 0, bl = strlen(body);
    if (text_reserve(w, pl + nl + bl + 1) < 0)
        return -1;
    if (pl)
        memcpy(w->text, w->prefix, pl);
    memcpy(w->text + pl, nonce, nl);
    memcpy(w->text + pl + nl, body, bl + 1);
    return 0;
}

static void reset_history(struct user *u)
{
    for (size_t i = 0; i < u->nhist; i++)
        free(u->hist[i]);
    u->nhist = 0;
    u->pending = 0;
}

static int push_history(struct user *u, const char *s, size_t n, int64_t tok)
{
    if (u->nhist == u->histcap) {
        size_t c = u->histcap ? u->histcap * 2 : 8;
        char **h = realloc(u->hist, c * sizeof *h);
        if (!h)
            return -1;
        u->hist = h;
        int64_t *ht = realloc(u->hist_tok, c * sizeof *ht);
        if (!ht)
            return -1;
        u->hist_tok = ht;
        u->histcap = c;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    u->hist[u->nhist] = copy;
    u->hist_tok[u->nhist] = tok;
    u->nhist++;
    return 0;
}

int workload_reseed(struct workload *w, uint64_t seed)
{
    /* Conversations do not carry over from one run to the next. */
    for (size_t u = 0; u < w->nusers; u++)
        reset_history(&w->users[u]);
    if (seed == w->seed)
        return 0;
    w->seed = seed;
    if (!w->o.input_tokens)
        return 0;
    /* The synthetic prompts are drawn from the seed too: a new pool of the
     * same size, whose token counts are not known yet. */
    size_t n = nentries(w);
    for (size_t i = 0; i < n; i++) {
        free(w->strs[i]);
        w->body_tok[i] = CACHE_UNKNOWN;
    }
    w->nstrs = 0;
    if (synthetic_pool(w) < 0)
        return -1;
    assert(nentries(w) == n);
    return 0;
}

int workload_next(struct workload *w, uint32_t user, uint64_t index, struct api_request *req)
{
    struct user *u = get_user(w, user);
    if (!u)
        return -1;
    /* Not the user: which connection carries request `index` depends on
     * timing, and --seed must send the same requests again. */
    struct rng r = { mix64(w->seed ^ mix64(index)) };
    size_t n = nentries(w);
    size_t pick = (size_t)(rng_next(&r) % n);
    /* Decode the entry: a dataset item, or one of the in-memory strings. */
    struct dataset_item it = { .max_tokens = -1 };
    if (w->ds) {
        int want_reply = w->reply_tok[pick] == CACHE_UNKNOWN && !w->o.output_tokens;
        if (dataset_get(w->ds, pick, &w->ds_scratch, want_reply, &it) < 0)
            return -1;
        if (want_reply)
            w->reply_tok[pick] = !it.reply ? CACHE_NONE
                : w->tok ? count_text(w, it.reply, it.reply_len)
                : (int64_t)((it.reply_len + 3) / 4);
        if (w->reply_tok[pick] == 0)
            w->reply_tok[pick] = 1;   /* an empty reply still asks for one token */
    } else {
        it.prompt = w->strs[pick];
    }
    /* The body's token count is computed once per entry. */
    if (w->tok && w->body_tok[pick] == CACHE_UNKNOWN) {
        int64_t c = 0;
        if (it.prompt)
            c = count_text(w, it.prompt, strlen(it.prompt));
        for (size_t i = 0; i < it.nmessages && c >= 0; i++) {
            int64_t m = count_text(w, it.messages[i].content, strlen(it.messages[i].content));
            c = m < 0 ? -1 : c + m;
        }
        w->body_tok[pick] = c;
    }
    int64_t body_tok = w->tok ? w->body_tok[pick] : -1, nonce_tok = 0;
    req->system = w->o.system;
    if (w->o.turns > 1) {
        if (u->pending || u->nhist / 2 >= w->o.turns)
            reset_history(u);
        const char *body = it.prompt;
        int64_t turn_tok = body_tok;
        if (!body) {   /* a messages entry: its last user message is the turn */
            body = it.messages[it.nmessages - 1].content;
            for (size_t i = it.nmessages; i-- > 0; )
                if (!strcmp(it.messages[i].role, "user")) {
                    body = it.messages[i].content;
                    break;
                }
            turn_tok = w->tok ? count_text(w, body, strlen(body)) : -1;
        }
        int first = u->nhist == 0;
        if (build_text(w, first, &r, body, &nonce_tok) < 0)
            return -1;
        int64_t tok = w->tok ? turn_tok + nonce_tok + (first ? w->prefix_tok : 0) : -1;
        if (push_history(u, w->text, strlen(w->text), tok) < 0 || msgs_reserve(u, u->nhist) < 0)
            return -1;
        u->pending = 1;
        int64_t total = w->system_tok;
        for (size_t i = 0; i < u->nhist; i++) {
            u->msgs[i].role = i % 2 ? "assistant" : "user";
            u->msgs[i].content = u->hist[i];
            total = total < 0 || u->hist_tok[i] < 0 ? -1 : total + u->hist_tok[i];
        }
        req->prompt = NULL;
        req->messages = u->msgs;
        req->nmessages = u->nhist;
        u->prompt_tokens = w->tok ? total : -1;
    } else if (it.prompt) {
        if (build_text(w, 1, &r, it.prompt, &nonce_tok) < 0)
            return -1;
        req->prompt = w->text;
        req->messages = NULL;
        req->nmessages = 0;
        u->prompt_tokens = w->tok && body_tok >= 0
            ? body_tok + nonce_tok + w->prefix_tok + w->system_tok : -1;
    } else {
        /* Dataset messages: prefix and nonce go into the first user
         * message, so the whole conversation differs per request. */
        if (msgs_reserve(u, it.nmessages) < 0)
            return -1;
        size_t first_user = 0;
        for (size_t i = 0; i < it.nmessages; i++)
            if (!strcmp(it.messages[i].role, "user")) {
                first_user = i;
                break;
            }
        if (build_text(w, 1, &r, it.messages[first_user].content, &nonce_tok) < 0)
            return -1;
        for (size_t i = 0; i < it.nmessages; i++)
            u->msgs[i] = it.messages[i];
        u->msgs[first_user].content = w->text;
        req->prompt = NULL;
        req->messages = u->msgs;
        req->nmessages = it.nmessages;
        u->prompt_tokens = w->tok && body_tok >= 0
            ? body_tok + nonce_tok + w->prefix_tok + w->system_tok : -1;
    }
    /* Output length: the flag, then the entry's own, else the caller's. */
    if (w->o.output_tokens) {
        uint32_t len = sample_len(&r, w->o.output_tokens, w->o.output_stddev);
        req->max_tokens = len;
        req->min_tokens = len;
        req->ignore_eos = 1;
    } else if (it.max_tokens > 0) {
        req->max_tokens = it.max_tokens;
        req->min_tokens = 0;
        req->ignore_eos = 0;
    } else if (w->ds && w->reply_tok[pick] > 0) {
        req->max_tokens = w->reply_tok[pick];
        req->min_tokens = w->reply_tok[pick];
        req->ignore_eos = 1;
    }
    return 0;
}

void workload_turn_done(struct workload *w, uint32_t user, const char *reply, size_t len)
{
    if (w->o.turns <= 1 || user >= w->nusers)
        return;
    struct user *u = &w->users[user];
    if (!u->pending)
        return;
    int64_t tok = w->tok ? count_text(w, reply, len) : -1;
    if (push_history(u, reply ? reply : "", reply ? len : 0, tok) < 0) {
        reset_history(u);   /* out of memory: start a new conversation */
        return;
    }
    u->pending = 0;
}

int64_t workload_prompt_tokens(const struct workload *w, uint32_t user)
{
    if (!w->tok || user >= w->nusers)
        return -1;
    return w->users[user].prompt_tokens;
}

void workload_info(const struct workload *w, struct workload_info *out)
{
    const struct workload_opts *o = &w->o;
    memset(out, 0, sizeof *out);
    out->source = o->dataset ? "dataset" : o->prompt_file ? "prompt_file" : o->prompt ? "prompt"
                : o->input_tokens ? "input_tokens" : o->prompt_set >= 0 || !o->default_prompt
                ? "prompt_set" : "default";
    if (w->ds) {
        out->path = o->dataset ? o->dataset : o->prompt_file;
        out->format = dataset_format_name(dataset_format(w->ds));
        out->bytes = dataset_bytes(w->ds);
        out->sha256 = dataset_sha256(w->ds);
        out->prompts = dataset_count(w->ds);
        out->skipped = dataset_skipped(w->ds);
        out->unusable = dataset_unusable(w->ds);
    }
    if (!strcmp(out->source, "prompt_set"))
        out->prompt_set = prompts_set_name(o->prompt_set >= 0 ? (enum prompt_set)o->prompt_set
                                                              : PROMPT_SET_TINY);
    out->input_tokens = o->input_tokens;
    out->input_stddev = o->input_stddev;
    out->output_tokens = o->output_tokens;
    out->output_stddev = o->output_stddev;
    out->shared_prefix = o->shared_prefix;
    out->turns = o->turns;
    out->nonce = o->nonce;
    out->system = o->system;
    out->tokenizer = w->tok ? o->tokenizer : NULL;
    out->tokenizer_name = w->tok ? tokenizer_name(w->tok) : NULL;
    out->force_tokenizer = o->force_tokenizer;
}

struct tokenizer *workload_tokenizer(struct workload *w) { return w->tok; }
int workload_force_tokenizer(const struct workload *w) { return w->o.force_tokenizer; }
const char *workload_describe(const struct workload *w) { return w->desc; }
size_t workload_skipped_lines(const struct workload *w) { return w->ds ? dataset_skipped(w->ds) : 0; }
