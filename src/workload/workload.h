#ifndef LLMLOAD_WORKLOAD_H
#define LLMLOAD_WORKLOAD_H
/* Workloads: what each request asks for (docs/workloads.md).
 *
 * A workload turns the prompt flags into the content of each request:
 * the prompt source (one --prompt, a --prompt-file, a --dataset, a built-in
 * --prompt-set, or synthetic --input-tokens prompts), the output length,
 * the cache-busting nonce, a shared prefix, multi-turn history, and the
 * local tokenizer that counts tokens when the server does not.
 *
 * Reproducible: the content of request `index` depends only on (seed,
 * index) and the files, not on timing nor on the virtual user (the
 * connection) that carries it; a multi-turn request also carries its
 * user's conversation so far. */
#include <stdint.h>
#include <stdio.h>
#include "api.h"
#include "dataset.h"
#include "opt.h"

struct tokenizer;

struct workload_opts {
    /* prompt sources: at most one of prompt, prompt_file, dataset,
     * prompt_set, input_tokens */
    const char *prompt;            /* --prompt TEXT */
    const char *prompt_file;       /* --prompt-file FILE: one prompt a line */
    const char *dataset;           /* --dataset FILE */
    enum dataset_format dataset_format;   /* --dataset-format, AUTO */
    int skip_bad_lines;            /* --skip-bad-lines */
    size_t max_prompt_bytes;       /* --max-prompt-bytes, 0: DATASET_MAX_PROMPT */
    int prompt_set;                /* --prompt-set NAME: enum prompt_set, -1 none */
    uint32_t input_tokens;         /* --input-tokens N[:STDDEV], 0 off */
    double input_stddev;
    /* used when no source is given; NULL means the built-in `tiny` set */
    const char *default_prompt;
    /* output length */
    uint32_t output_tokens;        /* --output-tokens N[:STDDEV], 0 off */
    double output_stddev;
    /* cache behaviour */
    int nonce;                     /* --nonce (default) / --no-nonce */
    uint32_t shared_prefix;        /* --shared-prefix N tokens, 0 off */
    uint32_t turns;                /* --turns K, 1 = single-turn */
    /* tokens */
    const char *tokenizer;         /* --tokenizer FILE */
    const char *encoding;          /* --encoding E */
    int force_tokenizer;           /* --force-tokenizer */
    const char *system;            /* --system TEXT */
};

/* Defaults: no source, nonce on, one turn, no tokenizer. */
void workload_opts_defaults(struct workload_opts *o);

/* The prompt flags in the option format (opt.h); the handler's user data
 * is a struct workload_opts.  The strings are kept by pointer: they must
 * outlive the options (argv does).  `run`, `sweep` and `compare` accept
 * this table. */
extern const struct opt_table workload_opt_table;

/* Applies one flag through the table.  flag is the name
 * ("--input-tokens"); value is its argument, or NULL for flags that take
 * none.  Returns 1 when the flag was consumed, 0 when it is not a workload
 * flag, and -1 on a bad value (or a missing one) with a one-line message in
 * err naming the flag and value. */
int workload_opt(struct workload_opts *o, const char *flag, const char *value,
                 char *err, size_t errcap);

/* 1 when flag takes a value, 0 when it takes none, -1 when it is not a
 * workload flag. */
int workload_flag_takes_value(const char *flag);

/* No prompt source is given: every request sends the default prompt. */
int workload_opts_default_source(const struct workload_opts *o);

/* Prints the help lines of the workload flags (from the table). */
void workload_help(FILE *f);

struct workload;

/* Opens the workload: checks that the flags agree, loads the tokenizer,
 * reads and validates the prompt file or dataset (a bad line fails here,
 * before any request, unless skip_bad_lines), builds the synthetic prompts.
 * NULL on error with a one-line message in err (with file:line for data). */
struct workload *workload_open(const struct workload_opts *o, uint64_t seed,
                               char *err, size_t errcap);

/* NULL is a no-op. */
void workload_free(struct workload *w);

/* Starts a run with seed: what workload_next gives then depends only on
 * (seed, index), whatever ran before; multi-turn conversations start
 * over, and synthetic prompts are drawn again from the new seed.  The
 * engine calls it at the start of every run.  0, or -1 when out of memory
 * (the workload is then unusable). */
int workload_reseed(struct workload *w, uint64_t seed);

/* Fills the content of request `index` of virtual user `user` into req:
 * prompt or messages, system, and, when the workload knows an output
 * length (--output-tokens, a dataset's max_tokens or ShareGPT reply),
 * max_tokens, min_tokens and ignore_eos.  Fields the workload does not own
 * (model, temperature, seed, stream, and max_tokens when it knows no
 * length) are left as the caller set them.  Strings stay valid until the
 * next workload_next, for any user: every user shares one scratch for the
 * decoded entry and the built prompt (the caller encodes the request at
 * once), so memory does not grow with concurrency.  Users are numbered
 * from 0; their conversations (multi-turn) grow with the highest user
 * seen.  Returns 0, or -1 when out of memory. */
int workload_next(struct workload *w, uint32_t user, uint64_t index, struct api_request *req);

/* Multi-turn: records the assistant's reply (UTF-8, unescaped) to the last
 * request of user, so that the next turn carries it.  A turn that never
 * gets here (the request failed) ends that user's conversation.  A no-op
 * for single-turn workloads. */
void workload_turn_done(struct workload *w, uint32_t user, const char *reply, size_t len);

/* The local token count of the last request's prompt for user (prompt or
 * message texts, the system prompt, nonce and prefix; not the server's chat
 * template), or -1 when no tokenizer is loaded. */
int64_t workload_prompt_tokens(const struct workload *w, uint32_t user);

/* The tokenizer, or NULL when none was loaded.  It counts output text. */
struct tokenizer *workload_tokenizer(struct workload *w);

/* --force-tokenizer: count output tokens locally even when the server
 * reports a count. */
int workload_force_tokenizer(const struct workload *w);

/* One line for reports: "dataset sharegpt.json (sharegpt, 9 prompts, 1
 * skipped), nonce, output 128 tokens (fixed)". */
const char *workload_describe(const struct workload *w);

/* The workload as a result records it (docs/schema.md, config.workload):
 * every setting that shapes what the requests ask for.  Strings belong to
 * the workload or its options. */
struct workload_info {
    const char *source;            /* "prompt", "prompt_file", "dataset",
                                      "prompt_set", "input_tokens", "default" */
    const char *path;              /* the prompt file or dataset, else NULL */
    const char *format;            /* its format: "jsonl", "sharegpt", "lines" */
    uint64_t bytes;                /* its size */
    const char *sha256;            /* its SHA-256 (hex) */
    size_t prompts, skipped, unusable;   /* its entries: usable, bad skipped, without a prompt */
    const char *prompt_set;        /* --prompt-set (or the built-in default), else NULL */
    uint32_t input_tokens, output_tokens;   /* 0: not set */
    double input_stddev, output_stddev;
    uint32_t shared_prefix, turns;
    int nonce;
    const char *system;            /* NULL: none */
    const char *tokenizer;         /* --tokenizer FILE, else NULL */
    const char *tokenizer_name;    /* what was loaded ("cl100k_base" ...) */
    int force_tokenizer;
};
void workload_info(const struct workload *w, struct workload_info *out);

/* Counters for the report: bad dataset lines skipped. */
size_t workload_skipped_lines(const struct workload *w);

#endif
