#ifndef LLMLOAD_PROMPTS_H
#define LLMLOAD_PROMPTS_H
/* Built-in prompt sets, for --prompt-set and for sweeps over prompt length.
 *
 * Each set holds PROMPTS_PER_SET English prompts (an instruction, and for
 * the longer sets a document built from a fixed corpus of paragraphs).  The
 * texts are fixed: the same set gives the same prompts on every machine, so
 * results are comparable.  Their lengths in cl100k_base tokens are measured
 * and documented in docs/workloads.md (the unit test checks the byte
 * lengths that go with them). */
#include <stddef.h>
#include <stdint.h>

enum prompt_set {
    PROMPT_SET_TINY = 0,     /* ~10 cl100k tokens: one short question */
    PROMPT_SET_SHORT,        /* ~100 tokens */
    PROMPT_SET_MEDIUM,       /* ~500 tokens */
    PROMPT_SET_LONG,         /* ~2000 tokens */
    PROMPT_SET_VERY_LONG,    /* ~8000 tokens */
    PROMPT_SET__COUNT
};

#define PROMPTS_PER_SET 8

/* "tiny", "short", "medium", "long", "very_long" (also "very-long").
 * Returns 0, or -1 when the name is not a set. */
int prompts_set_from_name(const char *name, enum prompt_set *out);

const char *prompts_set_name(enum prompt_set s);

/* The nominal length of the set's prompts in cl100k_base tokens. */
uint32_t prompts_set_tokens(enum prompt_set s);

/* Builds prompt i (0 <= i < PROMPTS_PER_SET) of set s.  Returns a string
 * the caller frees, or NULL when out of memory or out of range. */
char *prompts_build(enum prompt_set s, size_t i);

/* The word list synthetic prompts are made of (--input-tokens, shared
 * prefixes): common English words, each one cl100k token with its leading
 * space.  Returns the number of words and sets *words. */
size_t prompts_words(const char *const **words);

#endif
