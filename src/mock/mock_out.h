#ifndef LLMLOAD_MOCK_OUT_H
#define LLMLOAD_MOCK_OUT_H
/* What the simulator writes: the payload of each event and each body, in the
 * shape of the real servers (docs/protocols.md, the OpenAI and Ollama
 * sections).  These functions only append bytes to a growable buffer; HTTP
 * framing is mock_http.c's job. */
#include <stddef.h>
#include <stdint.h>

#include "mock.h"

/* A growable byte buffer.  Zero-initialise.  On allocation failure `failed`
 * is set and later appends are dropped, so callers check once at the end. */
struct mbuf {
    char *p;
    size_t len, cap;
    int failed;
};

int mbuf_reserve(struct mbuf *b, size_t extra);
void mbuf_put(struct mbuf *b, const void *p, size_t n);
void mbuf_puts(struct mbuf *b, const char *s);
void mbuf_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mbuf_free(struct mbuf *b);

/* Everything the formatters need to know about one generation. */
struct mock_resp {
    enum mock_api api;
    const char *model;
    uint64_t seq;               /* makes the OpenAI id unique */
    int64_t created;            /* Unix seconds, for OpenAI `created` */
    int include_usage;
    int timings;                /* llama.cpp `timings` in the OpenAI finish chunk and body */
    uint64_t prompt_tokens, completion_tokens;
    int stop;                   /* finish reason: 1 "stop", 0 "length" */
    /* Ollama's final durations, ns */
    uint64_t total_ns, load_ns, prompt_eval_ns, eval_ns;
    uint64_t text_seed;
    /* Reasoning and tool calls (docs/mock.md): the first reasoning_tokens
     * tokens are reasoning; tool_calls makes a chat answer one tool call. */
    uint64_t reasoning_tokens;
    int reasoning_content;      /* OpenAI key "reasoning_content", else "reasoning" */
    int tool_calls;
    /* What the next content event carries, set before each one. */
    enum mock_text { MOCK_TEXT_ANSWER, MOCK_TEXT_REASONING, MOCK_TEXT_TOOL } kind;
    int tool_start;             /* the event begins the tool call (id and name) */
};

/* The tool the simulator calls. */
#define MOCK_TOOL_NAME "get_weather"

/* RFC 3339 UTC time with nanoseconds ("2024-05-01T12:00:00.123456789Z") of
 * the Unix time wall_ns, into dst (cap >= 40). */
void mock_out_time(char *dst, size_t cap, int64_t wall_ns);

/* Appends `count` words (" w1 w2 ...") drawn from rng: the text of `count`
 * tokens. */
void mock_out_words(struct mbuf *b, struct mock_rng *rng, uint64_t count);

/* Streamed events.  Each appends one whole event: an NDJSON line ending in
 * "\n" for Ollama, or "data: ...\n\n" for OpenAI. */
void mock_out_role(struct mbuf *b, const struct mock_resp *r);
void mock_out_content(struct mbuf *b, const struct mock_resp *r, const char *created_at,
                      const char *text, size_t len);
/* The same event cut short in the middle of its JSON (fault "malformed"). */
void mock_out_malformed(struct mbuf *b, const struct mock_resp *r, const char *created_at,
                        const char *text, size_t len);
void mock_out_finish(struct mbuf *b, const struct mock_resp *r);
void mock_out_usage(struct mbuf *b, const struct mock_resp *r);
void mock_out_done(struct mbuf *b);
/* Ollama's final line, done:true with durations (and `context` for
 * generate). */
void mock_out_final(struct mbuf *b, const struct mock_resp *r, const char *created_at);
/* The in-stream error of each API. */
void mock_out_stream_error(struct mbuf *b, const struct mock_resp *r, const char *msg);

/* A whole non-streamed JSON body. */
void mock_out_body(struct mbuf *b, const struct mock_resp *r, const char *created_at);

/* Error bodies: Ollama {"error":"msg"} or OpenAI
 * {"error":{"message","type","param","code"}} with the type OpenAI uses for
 * the status.  msg must need no JSON escaping beyond what this does. */
void mock_out_error(struct mbuf *b, int openai, int status, const char *msg);

#endif
