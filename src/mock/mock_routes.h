#ifndef LLMLOAD_MOCK_ROUTES_H
#define LLMLOAD_MOCK_ROUTES_H
/* Which path does what: the simulator's route table.
 *
 * One row per path, naming the methods it takes, the Allow value of its 405
 * and the kind of answer it gives.  The table is the single place a new
 * endpoint goes; validation (mock_validate.c), dispatch (mock_server.c) and
 * the endpoint labels of /metrics all read it.  Pure lookups, no I/O. */
#include <stddef.h>

#include "mock.h"

enum mock_route {
    MOCK_R_ROOT, MOCK_R_TAGS, MOCK_R_PS, MOCK_R_VERSION, MOCK_R_GENERATE, MOCK_R_CHAT,
    MOCK_R_OAI_CHAT, MOCK_R_OAI_COMPLETIONS, MOCK_R_MODELS, MOCK_R_HEALTH, MOCK_R_METRICS,
    MOCK_R_OTHER,               /* no such path: 404 */
    MOCK_R_COUNT
};

/* Method bits of the table.  Methods the simulator serves nowhere are
 * MOCK_M_OTHER, which no route allows. */
enum mock_method { MOCK_M_OTHER = 0, MOCK_M_GET = 1, MOCK_M_HEAD = 2, MOCK_M_POST = 4 };

/* What a route answers. */
enum mock_answer {
    MOCK_ANS_NONE,              /* MOCK_R_OTHER */
    MOCK_ANS_RUNNING,           /* Ollama's "Ollama is running" */
    MOCK_ANS_VERSION,           /* {"version":...} */
    MOCK_ANS_HEALTH,            /* 200 with an empty body, as vLLM */
    MOCK_ANS_MODELS,            /* the served models, in the route's shape */
    MOCK_ANS_METRICS,           /* Prometheus text */
    MOCK_ANS_GENERATE,          /* a generation in the route's API */
};

struct mock_route_def {
    const char *path;           /* also the endpoint label in /metrics */
    unsigned methods;           /* enum mock_method bits */
    const char *allow;          /* the Allow header of a 405 */
    enum mock_answer answer;
    enum mock_api api;          /* MOCK_ANS_GENERATE only */
};

extern const struct mock_route_def mock_routes[MOCK_R_COUNT];

/* Length of the path part of a request target (up to '?'). */
size_t mock_url_path_len(const char *url, size_t len);

/* The route of a request target (the query is ignored).  truncated says
 * the target was longer than what the caller kept: unless the kept part
 * already holds the '?', the path is unknown and the route is MOCK_R_OTHER. */
enum mock_route mock_route_find(const char *url, size_t len, int truncated);

/* Error bodies follow the path, as the real servers do: OpenAI JSON under
 * /v1/, Ollama JSON under /api/ (and at "/"), gin's plain text elsewhere. */
enum mock_style { MOCK_STYLE_TEXT, MOCK_STYLE_OLLAMA, MOCK_STYLE_OPENAI };
enum mock_style mock_path_style(const char *url, size_t len);

#endif
