#ifndef LLMLOAD_DATASET_H
#define LLMLOAD_DATASET_H
/* Prompt datasets: JSONL, ShareGPT JSON, and plain prompt files (one
 * prompt a line).
 *
 * The file is memory-mapped and scanned once at open: every entry is
 * validated (so a bad line fails before any request is sent) and only its
 * position is kept, about 40 bytes an entry.  Text is unescaped on demand
 * into a caller-owned scratch, so a 700 MB ShareGPT file costs the page
 * cache, not a DOM: pages already scanned are released during the scan,
 * and peak RSS stays well under the file size.
 *
 * Formats (docs/workloads.md):
 *   jsonl     one object a line: {"prompt": S} or {"messages": [{role,
 *             content}...]}, optional "max_tokens"; a line holding a
 *             ShareGPT entry ({"conversations": ...}) is accepted too.
 *   sharegpt  a JSON array of {"conversations": [{"from","value"}...]}:
 *             the first human turn is the prompt, and the gpt turn after
 *             it gives the output length.  Entries without that pair are
 *             counted as unusable and left out, as other benchmarks do.
 *   lines     each non-empty line is a prompt (--prompt-file). */
#include <stddef.h>
#include <stdint.h>
#include "api.h"

enum dataset_format { DATASET_AUTO = 0, DATASET_JSONL, DATASET_SHAREGPT, DATASET_LINES };

/* "auto", "jsonl", "sharegpt", "lines".  -1 if unknown. */
int dataset_format_from_name(const char *s, enum dataset_format *out);
const char *dataset_format_name(enum dataset_format f);

struct dataset;

/* The largest prompt an entry may hold by default (--max-prompt-bytes):
 * its text, or the sum of its messages' contents, decoded. */
#define DATASET_MAX_PROMPT ((size_t)1 << 20)
/* The largest --max-prompt-bytes. */
#define DATASET_MAX_PROMPT_LIMIT ((size_t)256 << 20)

/* Opens and validates path.  AUTO detects the format from the first
 * non-blank byte ('[' ShareGPT, '{' JSONL).  Without skip_bad, the first
 * bad entry fails the open with "path:line: why"; with it, bad entries are
 * skipped and counted (dataset_skipped).  A file with no usable entry is an
 * error either way.  An entry whose prompt is larger than max_prompt bytes
 * (0: DATASET_MAX_PROMPT) is bad, and so is a JSON entry too large to hold
 * a prompt within it (DATASET_ENTRY_MAX), found without reading it whole.
 * What cannot be mapped (a pipe, a device) is read with the same bounds,
 * and a NUL byte, which no text dataset holds, fails it at once (/dev/zero).
 * NULL on error, with a one-line message in err. */
struct dataset *dataset_open(const char *path, enum dataset_format fmt, int skip_bad,
                             size_t max_prompt, char *err, size_t errcap);

/* Same over a buffer that the caller keeps alive and unchanged until
 * dataset_free (the fuzz target and tests use it).  name is for messages. */
struct dataset *dataset_open_mem(const char *data, size_t len, const char *name,
                                 enum dataset_format fmt, int skip_bad, size_t max_prompt,
                                 char *err, size_t errcap);

/* The largest JSON entry (a JSONL line, a ShareGPT element) that can hold a
 * prompt of max_prompt bytes: every byte escaped (6 bytes), and room for
 * the rest of the entry. */
#define DATASET_ENTRY_MAX(max_prompt) ((max_prompt) * 6 + ((size_t)1 << 20))

/* NULL is a no-op. */
void dataset_free(struct dataset *d);

size_t dataset_count(const struct dataset *d);     /* usable entries */
size_t dataset_bytes(const struct dataset *d);     /* the file's size */
/* The SHA-256 of the whole file, 64 lowercase hex digits: what identifies
 * the data, wherever the file lies. */
const char *dataset_sha256(const struct dataset *d);
size_t dataset_skipped(const struct dataset *d);   /* bad entries skipped */
size_t dataset_unusable(const struct dataset *d);  /* valid, but no prompt pair */
enum dataset_format dataset_format(const struct dataset *d);

/* Caller-owned scratch that dataset_get fills; zero-initialise it, and
 * release it with dataset_scratch_free.  One per concurrent user. */
struct dataset_scratch {
    char *buf; size_t cap;
    struct api_message *msgs; size_t msgcap;
    void *toks; unsigned ntoks;
};
void dataset_scratch_free(struct dataset_scratch *s);

struct dataset_item {
    const char *prompt;            /* the prompt text, or NULL when messages */
    const struct api_message *messages; size_t nmessages;
    int64_t max_tokens;            /* the entry's max_tokens, -1 none */
    const char *reply;             /* ShareGPT: the gpt reply, NULL none */
    size_t reply_len;
};

/* Decodes entry i (< dataset_count) into s; the pointers in out stay valid
 * until the next call with the same scratch.  The ShareGPT reply is decoded
 * only when with_reply is set (it can be long).  Returns 0, or -1 when out
 * of memory. */
int dataset_get(struct dataset *d, size_t i, struct dataset_scratch *s, int with_reply,
                struct dataset_item *out);

#endif
