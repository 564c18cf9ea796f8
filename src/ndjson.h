#ifndef LLMLOAD_NDJSON_H
#define LLMLOAD_NDJSON_H
/* Incremental newline-delimited JSON framing (Ollama streams).
 *
 * Splits the byte stream into lines at LF, drops a trailing CR, skips empty
 * lines, and hands each line to the callback.  Lines that lie whole in one
 * feed are passed as slices of the input (zero copies); a line that spans
 * feeds is assembled in the caller-owned carry buffer.  Never allocates.
 * Same contract for SSE_FULL-like overflow as sse.h. */
#include <stddef.h>
#include <stdint.h>

typedef int (*ndjson_line_cb)(void *ud, const char *line, size_t len);

enum { NDJSON_OK = 0, NDJSON_STOPPED = 1, NDJSON_FULL = -1 };

struct ndjson {
    char *buf; size_t cap; size_t len;   /* private */
    uint64_t lines;
};

void ndjson_init(struct ndjson *d, char *buf, size_t cap);
int ndjson_feed(struct ndjson *d, const char *p, size_t n, size_t *consumed,
                ndjson_line_cb cb, void *ud);
void ndjson_rebuffer(struct ndjson *d, char *newbuf, size_t newcap);
/* End of stream: a last line without LF is still dispatched. */
int ndjson_finish(struct ndjson *d, ndjson_line_cb cb, void *ud);

#endif
