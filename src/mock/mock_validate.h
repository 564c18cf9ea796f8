#ifndef LLMLOAD_MOCK_VALIDATE_H
#define LLMLOAD_MOCK_VALIDATE_H
/* Request validation: from what the HTTP layer read of one request (method,
 * target, body, or why it could not be read) to what the simulator does
 * with it: answer a route, start a generation, or send which HTTP error
 * with which message.
 *
 * Pure: no sockets, no clock, no counters.  The HTTP layer records facts and
 * this module makes every decision about them, so each 400/404/405/413 and
 * its message is a unit test (tests/unit/test_mock_validate.c). */
#include <stddef.h>
#include <stdint.h>

#include "mock.h"
#include "mock_routes.h"

/* Why a request could not be read as HTTP; MOCK_READ_OK when it was. */
enum mock_read_fail {
    MOCK_READ_OK = 0,
    MOCK_READ_MALFORMED,        /* not HTTP: 400 */
    MOCK_READ_BODY_TOO_LARGE,   /* over --max-body: 413 */
    MOCK_READ_HEADERS_TOO_LARGE, /* over MOCK_HEADER_BYTES_MAX: 431 */
    MOCK_READ_HEADER_TIMEOUT,   /* not complete within --header-timeout: 408 */
};

/* What the HTTP layer read.  url and body need not be NUL-terminated. */
struct mock_request {
    enum mock_method method;
    const char *url;
    size_t url_len;
    int url_truncated;          /* the target was longer than url_len */
    const char *body;
    size_t body_len;
    enum mock_read_fail fail;
};

/* A valid generation request: what it asks for. */
struct mock_gen_req {
    enum mock_api api;
    const char *model;          /* one of the config's model names */
    int stream;
    int include_usage;          /* OpenAI stream_options.include_usage */
    int ignore_eos;
    uint64_t max_tokens;        /* the request's, or --default-max-tokens */
    uint64_t min_tokens;
    uint64_t prompt_bytes;      /* prompt tokens = ceil(prompt_bytes / 4) */
};

enum mock_action {
    MOCK_ACT_ERROR,             /* send status with msg, in the path's style */
    MOCK_ACT_ANSWER,            /* the route's own answer (not a generation) */
    MOCK_ACT_LOAD,              /* Ollama's empty-prompt answer: done_reason "load" */
    MOCK_ACT_GENERATE,          /* queue for a slot and generate gen */
};

struct mock_verdict {
    enum mock_route route;
    enum mock_action action;
    int status;                 /* 200, or the error's status */
    char msg[256];              /* MOCK_ACT_ERROR: the message */
    const char *allow;          /* 405: the route's Allow value */
    int close;                  /* the request could not be read: close after */
    struct mock_gen_req gen;    /* MOCK_ACT_LOAD (api, model), MOCK_ACT_GENERATE */
};

/* Decides what to do with request rq under the settings c. */
void mock_validate(const struct mock_config *c, const struct mock_request *rq,
                   struct mock_verdict *v);

#endif
