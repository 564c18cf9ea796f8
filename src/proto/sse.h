#ifndef LLMLOAD_SSE_H
#define LLMLOAD_SSE_H
/* Incremental Server-Sent Events decoder (WHATWG HTML 9.2.6 rules).
 *
 * Framing only: it knows nothing of HTTP or JSON.  The caller owns the
 * state struct and the carry buffer; the decoder never allocates.
 *
 * - Lines end in CRLF, LF or a lone CR, including a CR that ends one feed
 *   and an LF that starts the next (one line ending).
 * - One leading UTF-8 BOM is dropped (also when split across feeds).
 *   ':' lines are comments (counted in `comments`).
 * - "data" lines are joined with LF; "event" sets the type; "id" is kept
 *   in last_id (ignored when it contains NUL; truncated to 63 bytes);
 *   "retry" is kept in retry_ms when it is ASCII digits only; unknown
 *   fields are ignored except the non-standard "error" field old llama.cpp
 *   sends, which is surfaced.  Field names are case-sensitive.
 * - An empty line dispatches; an event with no data and no error field is
 *   not dispatched.
 * - At EOF (sse_finish) a pending event is discarded, except that a
 *   trailing "data: [DONE]" with no blank line after it is dispatched.
 *
 * Event slices point into the bytes just fed when the whole event lies in
 * one feed and has a single data line (the common case: zero copies);
 * otherwise into the carry buffer, which holds the raw bytes of an event
 * that spans feeds, and the joined data of a multi-line event.  Slices are
 * valid only during the callback.  How much carry space is needed: the
 * raw size of the largest event that spans feeds, plus the size of its
 * data when it has several data lines. */
#include <stddef.h>
#include <stdint.h>

struct sse_event {
    const char *data;  size_t data_len;   /* joined data, last LF dropped; never NULL */
    const char *type;  size_t type_len;   /* "event:" value; NULL, 0 if none */
    const char *error; size_t error_len;  /* "error:" field value (llama.cpp); NULL, 0 if none */
    uint32_t ndata;                       /* data lines (0: an error-only event) */
};

/* Return 0 to go on, non-zero to stop feeding (sse_feed returns SSE_STOPPED). */
typedef int (*sse_event_cb)(void *ud, const struct sse_event *ev);

enum {
    SSE_OK = 0,
    SSE_STOPPED = 1,     /* the callback asked to stop */
    SSE_FULL = -1,       /* the carry buffer is full: see sse_feed */
};

struct sse {
    /* private: fields below are the decoder's, set by sse_init */
    char *buf; size_t cap;        /* carry buffer, owned by the caller */
    size_t len;                   /* raw bytes of the pending event in buf */
    size_t partial;               /* bytes of its last, unfinished line */
    uint8_t cr;                   /* the last byte taken was a CR */
    uint8_t bom;                  /* BOM bytes matched; 3 once decided */
    /* public, read-only: */
    uint64_t comments;            /* comment lines seen (keep-alive pings) */
    uint64_t events;              /* events dispatched */
    char last_id[64];             /* NUL-terminated */
    uint64_t retry_ms;            /* 0 until a retry field */
};

/* buf/cap: caller-owned carry space for events that span feeds (may be
 * NULL/0: then any such event reports SSE_FULL). */
void sse_init(struct sse *s, char *buf, size_t cap);

/* Feed n bytes.  *consumed (may be NULL) is set to the bytes taken.
 * Returns SSE_OK when all were taken, SSE_STOPPED when the callback stopped
 * it (the bytes after that event are not taken), or SSE_FULL when an event
 * does not fit the carry buffer: then the caller may give a larger buffer
 * with sse_rebuffer() and feed the rest (p + *consumed), or treat the
 * event as too large.  Either way the decoder state stays consistent. */
int sse_feed(struct sse *s, const char *p, size_t n, size_t *consumed,
             sse_event_cb cb, void *ud);

/* Moves the carried bytes into newbuf.  Returns 0, or -1 (nothing changed)
 * when newcap is smaller than the bytes carried.  The old buffer is no
 * longer used after a successful call. */
int sse_rebuffer(struct sse *s, char *newbuf, size_t newcap);

/* End of stream: dispatches a trailing "data: [DONE]" (see above), drops
 * any other pending bytes, and resets the framing state (not the
 * counters) so the struct can decode the next response.  Returns SSE_OK
 * or SSE_STOPPED. */
int sse_finish(struct sse *s, sse_event_cb cb, void *ud);

/* The end-of-stream sentinel of OpenAI-style streams: data that is exactly
 * "[DONE]" once spaces, tabs, CR and LF around it are dropped (the spec's
 * data has no other whitespace to trim).  "[DONE]x" or "[done]" is not
 * it.  The one test of it: the EOF rule above and the adapters use it. */
int sse_is_done(const char *data, size_t len);

#endif
