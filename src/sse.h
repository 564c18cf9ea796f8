#ifndef LLMLOAD_SSE_H
#define LLMLOAD_SSE_H
/* Incremental Server-Sent Events decoder (WHATWG HTML 9.2.6 rules).
 *
 * Framing only: it knows nothing of HTTP or JSON.  The caller owns the
 * state struct and the carry buffer; the decoder never allocates.
 *
 * - Lines end in CRLF, LF or a lone CR, including a CR that ends one feed
 *   and an LF that starts the next (one line ending).
 * - One leading UTF-8 BOM is dropped.  ':' lines are comments (counted).
 * - "data" lines are joined with LF; "event" sets the type; "id"/"retry"
 *   are tracked as the spec says; unknown fields are ignored except the
 *   non-standard "error" field old llama.cpp sends, which is surfaced.
 * - An empty line dispatches; an event with no data and no error field is
 *   not dispatched.
 * - At EOF (sse_finish) a pending event is discarded, except that a
 *   trailing "data: [DONE]" with no blank line after it is dispatched.
 *
 * Event slices point into the bytes just fed when the whole event lies in
 * one feed and has a single data line (the common case: zero copies);
 * otherwise into the carry buffer.  Slices are valid only during the
 * callback. */
#include <stddef.h>
#include <stdint.h>

struct sse_event {
    const char *data;  size_t data_len;   /* joined data, last LF dropped */
    const char *type;  size_t type_len;   /* "event:" value, 0 len if none */
    const char *error; size_t error_len;  /* "error:" field value (llama.cpp) */
};

/* Return 0 to go on, non-zero to stop feeding (sse_feed returns SSE_STOPPED). */
typedef int (*sse_event_cb)(void *ud, const struct sse_event *ev);

enum {
    SSE_OK = 0,
    SSE_STOPPED = 1,     /* the callback asked to stop */
    SSE_FULL = -1,       /* the carry buffer is full: see sse_feed */
};

struct sse {
    /* private: fields below are the decoder's, zero-initialised by sse_init */
    char *buf; size_t cap;        /* carry buffer, owned by the caller */
    size_t len;                   /* bytes in buf */
    size_t line_start;            /* start of the current line in buf */
    size_t data_off, data_len;    /* data accumulated for this event (in buf) */
    size_t type_off, type_len;
    size_t err_off, err_len;
    uint32_t ndata;               /* data lines in this event */
    uint8_t cr;                   /* last byte seen was CR */
    uint8_t bom;                  /* BOM check state */
    uint8_t has_error;
    uint64_t comments;            /* comment lines seen (keep-alive pings) */
    uint64_t events;              /* events dispatched */
    char last_id[64];
    uint64_t retry_ms;
};

/* buf/cap: caller-owned carry space for events that span feeds. */
void sse_init(struct sse *s, char *buf, size_t cap);

/* Feed n bytes.  *consumed (may be NULL) is set to the bytes taken.
 * Returns SSE_OK when all were taken, SSE_STOPPED when the callback stopped
 * it, or SSE_FULL when an event does not fit the carry buffer: then the
 * caller may give a larger buffer with sse_rebuffer() and feed the rest
 * (p + *consumed), or treat the event as too large. */
int sse_feed(struct sse *s, const char *p, size_t n, size_t *consumed,
             sse_event_cb cb, void *ud);

/* Moves the carried bytes into newbuf (newcap >= current length). */
void sse_rebuffer(struct sse *s, char *newbuf, size_t newcap);

/* End of stream: dispatches a trailing "data: [DONE]" (see above). */
int sse_finish(struct sse *s, sse_event_cb cb, void *ud);

#endif
