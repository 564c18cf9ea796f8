/* The route table and its lookups (mock_routes.h): which path does what. */
#include "mock_routes.h"

#include <string.h>

#define GET_HEAD (MOCK_M_GET | MOCK_M_HEAD)

const struct mock_route_def mock_routes[MOCK_R_COUNT] = {
    [MOCK_R_ROOT] = { "/", GET_HEAD, "GET, HEAD", MOCK_ANS_RUNNING, 0 },
    [MOCK_R_TAGS] = { "/api/tags", GET_HEAD, "GET, HEAD", MOCK_ANS_MODELS, 0 },
    [MOCK_R_PS] = { "/api/ps", MOCK_M_GET, "GET", MOCK_ANS_MODELS, 0 },
    [MOCK_R_VERSION] = { "/api/version", GET_HEAD, "GET, HEAD", MOCK_ANS_VERSION, 0 },
    [MOCK_R_GENERATE] = { "/api/generate", MOCK_M_POST, "POST", MOCK_ANS_GENERATE,
                          MOCK_API_GENERATE },
    [MOCK_R_CHAT] = { "/api/chat", MOCK_M_POST, "POST", MOCK_ANS_GENERATE, MOCK_API_CHAT },
    [MOCK_R_OAI_CHAT] = { "/v1/chat/completions", MOCK_M_POST, "POST", MOCK_ANS_GENERATE,
                          MOCK_API_OAI_CHAT },
    [MOCK_R_OAI_COMPLETIONS] = { "/v1/completions", MOCK_M_POST, "POST", MOCK_ANS_GENERATE,
                                 MOCK_API_OAI_COMPLETIONS },
    [MOCK_R_MODELS] = { "/v1/models", MOCK_M_GET, "GET", MOCK_ANS_MODELS, 0 },
    [MOCK_R_HEALTH] = { "/health", GET_HEAD, "GET, HEAD", MOCK_ANS_HEALTH, 0 },
    [MOCK_R_METRICS] = { "/metrics", MOCK_M_GET, "GET", MOCK_ANS_METRICS, 0 },
    [MOCK_R_OTHER] = { "other", 0, "", MOCK_ANS_NONE, 0 },
};

size_t mock_url_path_len(const char *url, size_t len)
{
    /* an empty URL may come as NULL, which memchr must not see */
    const char *q = len ? memchr(url, '?', len) : NULL;
    return q ? (size_t)(q - url) : len;
}

enum mock_route mock_route_find(const char *url, size_t len, int truncated)
{
    size_t n = mock_url_path_len(url, len);
    if (truncated && n == len)
        return MOCK_R_OTHER;
    for (int i = 0; i < MOCK_R_OTHER; i++)
        if (strlen(mock_routes[i].path) == n && !memcmp(mock_routes[i].path, url, n))
            return (enum mock_route)i;
    return MOCK_R_OTHER;
}

enum mock_style mock_path_style(const char *url, size_t len)
{
    size_t n = mock_url_path_len(url, len);
    if (n >= 4 && !memcmp(url, "/v1/", 4))
        return MOCK_STYLE_OPENAI;
    if ((n >= 5 && !memcmp(url, "/api/", 5)) || (n == 1 && url[0] == '/'))
        return MOCK_STYLE_OLLAMA;
    return MOCK_STYLE_TEXT;
}
