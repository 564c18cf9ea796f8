#ifndef LLMLOAD_NDJSON_H
#define LLMLOAD_NDJSON_H
/* Incremental newline-delimited JSON framing (Ollama streams).
 *
 * Splits the byte stream into lines at LF, drops a trailing CR, skips
 * blank lines (empty or only spaces/tabs/CR), and hands each line to the
 * callback.  Lines that lie whole in one feed are passed as slices of the
 * input (zero copies); a line that spans feeds is assembled in the
 * caller-owned carry buffer.  Never allocates.  Same NDJSON_FULL contract
 * as SSE_FULL in sse.h: the carry buffer must hold the longest line that
 * spans feeds. */
#include <stddef.h>
#include <stdint.h>

/* Return 0 to go on, non-zero to stop (ndjson_feed returns NDJSON_STOPPED).
 * The line excludes its LF (and CR); valid only during the callback. */
typedef int (*ndjson_line_cb)(void *ud, const char *line, size_t len);

enum { NDJSON_OK = 0, NDJSON_STOPPED = 1, NDJSON_FULL = -1 };

struct ndjson {
    char *buf; size_t cap; size_t len;   /* private: carry of a partial line */
    uint64_t lines;                      /* public: lines dispatched */
};

void ndjson_init(struct ndjson *d, char *buf, size_t cap);

/* Feed n bytes; *consumed (may be NULL) gets the bytes taken.  Returns
 * NDJSON_OK (all taken), NDJSON_STOPPED (the callback stopped it; bytes
 * after that line not taken) or NDJSON_FULL (a line does not fit the carry:
 * ndjson_rebuffer() and feed p + *consumed, or give up). */
int ndjson_feed(struct ndjson *d, const char *p, size_t n, size_t *consumed,
                ndjson_line_cb cb, void *ud);

/* Moves the carried bytes into newbuf; 0, or -1 (nothing changed) when
 * newcap is smaller than the bytes carried. */
int ndjson_rebuffer(struct ndjson *d, char *newbuf, size_t newcap);

/* End of stream: a last line without LF is still dispatched; the carry is
 * then emptied so the struct can decode the next response.  Returns
 * NDJSON_OK or NDJSON_STOPPED. */
int ndjson_finish(struct ndjson *d, ndjson_line_cb cb, void *ud);

#endif
