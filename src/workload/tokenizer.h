#ifndef LLMLOAD_TOKENIZER_H
#define LLMLOAD_TOKENIZER_H
/* Local byte-level BPE tokenizer, for counting tokens when the server does
 * not (or with --force-tokenizer), for exact synthetic prompt lengths, and
 * for `llmload tokenize`.
 *
 * Two file formats (docs/workloads.md, "Tokenizers"):
 *   - a tiktoken ranks file (`base64 SP rank LF`), whose pre-tokenizer
 *     pattern is chosen by the encoding name (cl100k_base, o200k_base);
 *   - a Hugging Face tokenizer.json with a byte-level BPE model.
 * The merge rule is tiktoken's: lowest rank first, leftmost on ties.
 *
 * A loaded tokenizer is read-only except for its match scratch, so one
 * tokenizer serves one thread at a time. */
#include <stddef.h>
#include <stdint.h>

struct tokenizer;

enum tokenizer_kind { TOKENIZER_TIKTOKEN = 1, TOKENIZER_HF = 2 };

/* Loads a tokenizer file.  The format is detected from its content (a JSON
 * object is tokenizer.json, anything else must be a ranks file).  encoding
 * selects the pattern of a ranks file: "cl100k_base" or "o200k_base"; when
 * NULL it is guessed from the rank count (100256 / 199998) or the file
 * name, and an error asks for --encoding when neither tells.  encoding must
 * be NULL for tokenizer.json.  Returns NULL with a one-line message in err
 * (naming the file, and the line for ranks files) on any error. */
struct tokenizer *tokenizer_load(const char *path, const char *encoding,
                                 char *err, size_t errcap);

/* Same, from a buffer (what the fuzz target and unit tests use).  name is
 * used in messages and for the encoding guess. */
struct tokenizer *tokenizer_load_mem(const char *data, size_t len, const char *name,
                                     const char *encoding, char *err, size_t errcap);

/* NULL is a no-op. */
void tokenizer_free(struct tokenizer *t);

/* Encodes text[0..len) (UTF-8; invalid bytes are encoded byte by byte).
 * Writes at most cap ids into ids (ids may be NULL when cap is 0) and
 * returns the full token count, which may exceed cap; -1 on an internal
 * error (out of memory, a regex engine failure). */
long tokenizer_encode(struct tokenizer *t, const char *text, size_t len,
                      uint32_t *ids, size_t cap);

/* The token count of text[0..len); -1 on an internal error. */
long tokenizer_count(struct tokenizer *t, const char *text, size_t len);

/* Writes the bytes of ids[0..n) into out and returns their total length
 * (which may exceed cap: only cap bytes are written); -1 when an id is not
 * in the vocabulary. */
long tokenizer_decode(const struct tokenizer *t, const uint32_t *ids, size_t n,
                      char *out, size_t cap);

enum tokenizer_kind tokenizer_kind(const struct tokenizer *t);

/* A short description for reports: "cl100k_base (tiktoken, 100256 ranks)". */
const char *tokenizer_name(const struct tokenizer *t);

/* Number of ids in the vocabulary (highest id + 1). */
size_t tokenizer_vocab_size(const struct tokenizer *t);

/* For tests: pieces of at least this many bytes use the heap-based merge
 * (default 64); 0 restores the default.  Both must give the same ids. */
void tokenizer_set_heap_threshold(struct tokenizer *t, size_t bytes);

#endif
