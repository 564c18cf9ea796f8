/* Request validation (mock_validate.h): route, method, then the JSON body of
 * a generation request, field by field, with the messages docs/mock.md
 * lists.  Reads the body with cJSON and keeps nothing of it: the verdict
 * holds numbers and a pointer into the config, so the caller can free the
 * body at once. */
#include "mock_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static void verdict_error(struct mock_verdict *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verdict_error(struct mock_verdict *v, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
    v->action = MOCK_ACT_ERROR;
    v->status = status;
}

/* Bytes of prompt text in a chat message's content: a string, or an array of
 * parts with "text". */
static size_t content_bytes(const cJSON *content)
{
    size_t n = 0;
    if (cJSON_IsString(content))
        return strlen(content->valuestring);
    if (cJSON_IsArray(content)) {
        const cJSON *part;
        cJSON_ArrayForEach(part, content) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(t))
                n += strlen(t->valuestring);
        }
    }
    return n;
}

/* Reads a token count field.  Returns 0 if absent, 1 if set, -1 if not a
 * number. */
static int get_count(const cJSON *obj, const char *key, double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsNumber(it))
        return -1;
    *v = it->valuedouble;
    return 1;
}

static int get_bool(const cJSON *obj, const char *key, int *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsBool(it))
        return -1;
    *v = cJSON_IsTrue(it);
    return 1;
}

/* The output length limits: OpenAI's max_completion_tokens or max_tokens,
 * Ollama's options.num_predict; min_tokens and ignore_eos as vLLM has them,
 * at the top level or (for Ollama users) in options.  Returns -1 after
 * setting the error. */
static int read_limits(const cJSON *root, const cJSON *opts, int openai, struct mock_verdict *v)
{
    struct mock_gen_req *g = &v->gen;
    double d;
    int r;
    if (openai) {
        const char *key = "max_completion_tokens";
        r = get_count(root, key, &d);
        if (r == 0)
            r = get_count(root, key = "max_tokens", &d);
        if (r < 0 || (r > 0 && (d < 1 || d > MOCK_MAX_TOKENS))) {
            verdict_error(v, 400, "%s must be an integer from 1 to %u", key, MOCK_MAX_TOKENS);
            return -1;
        }
        if (r > 0)
            g->max_tokens = (uint64_t)d;
    } else if (opts) {
        r = get_count(opts, "num_predict", &d);
        if (r < 0 || (r > 0 && d > MOCK_MAX_TOKENS)) {
            verdict_error(v, 400, "options.num_predict must be a number up to %u", MOCK_MAX_TOKENS);
            return -1;
        }
        /* -1 is "unlimited" in Ollama; the simulator then uses its default. */
        if (r > 0 && d >= 1)
            g->max_tokens = (uint64_t)d;
    }
    const cJSON *places[2] = { root, opts };
    for (int i = 0; i < 2; i++) {
        if (!places[i])
            continue;
        if (get_bool(places[i], "ignore_eos", &g->ignore_eos) < 0) {
            verdict_error(v, 400, "ignore_eos must be a boolean");
            return -1;
        }
        r = get_count(places[i], "min_tokens", &d);
        if (r < 0 || (r > 0 && (d < 0 || d > MOCK_MAX_TOKENS))) {
            verdict_error(v, 400, "min_tokens must be a non-negative integer");
            return -1;
        }
        if (r > 0)
            g->min_tokens = (uint64_t)d;
    }
    return 0;
}

/* The prompt's size in bytes (its token count is ceil(bytes/4)), and
 * whether it is empty, which Ollama answers with done_reason "load".
 * Returns -1 after setting the error. */
static int read_prompt(const cJSON *root, enum mock_api api, int *empty, struct mock_verdict *v)
{
    uint64_t bytes = 0;
    *empty = 0;
    if (api == MOCK_API_GENERATE) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
        if (p && !cJSON_IsNull(p) && !cJSON_IsString(p)) {
            verdict_error(v, 400, "prompt must be a string");
            return -1;
        }
        bytes = cJSON_IsString(p) ? strlen(p->valuestring) : 0;
        *empty = bytes == 0;
        if (cJSON_IsString(sys))
            bytes += strlen(sys->valuestring);
    } else if (api == MOCK_API_CHAT || api == MOCK_API_OAI_CHAT) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
        if (msgs && !cJSON_IsNull(msgs) && !cJSON_IsArray(msgs)) {
            verdict_error(v, 400, "messages must be an array");
            return -1;
        }
        if (api == MOCK_API_OAI_CHAT && cJSON_GetArraySize(msgs) == 0) {
            verdict_error(v, 400, "messages is required and must not be empty");
            return -1;
        }
        *empty = cJSON_GetArraySize(msgs) == 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs) {
            if (!cJSON_IsObject(m)) {
                verdict_error(v, 400, "each message must be an object");
                return -1;
            }
            bytes += content_bytes(cJSON_GetObjectItemCaseSensitive(m, "content"));
        }
    } else {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        if (cJSON_IsString(p)) {
            bytes = strlen(p->valuestring);
        } else if (cJSON_IsArray(p) && cJSON_GetArraySize(p) > 0) {
            /* A list of strings, or of token ids (each id is 4 "bytes"
             * so it counts as one token). */
            const cJSON *e;
            cJSON_ArrayForEach(e, p) {
                if (cJSON_IsString(e))
                    bytes += strlen(e->valuestring);
                else if (cJSON_IsNumber(e))
                    bytes += 4;
                else if (cJSON_IsArray(e))
                    bytes += 4 * (uint64_t)cJSON_GetArraySize(e);
                else {
                    verdict_error(v, 400, "prompt must be a string, a list of strings or a list "
                                          "of token ids");
                    return -1;
                }
            }
        } else {
            verdict_error(v, 400, "prompt is required");
            return -1;
        }
    }
    v->gen.prompt_bytes = bytes;
    return 0;
}

/* The body of a generation request. */
static void validate_gen(const struct mock_config *c, const struct mock_request *rq,
                         struct mock_verdict *v)
{
    struct mock_gen_req *g = &v->gen;
    g->api = mock_routes[v->route].api;
    int openai = mock_api_is_openai(g->api);
    cJSON *root = NULL;

    if (!rq->body_len) {
        verdict_error(v, 400, "missing request body");
        goto out;
    }
    root = cJSON_ParseWithLength(rq->body, rq->body_len);
    if (!root) {
        verdict_error(v, 400, "invalid JSON in request body");
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        verdict_error(v, 400, "request body must be a JSON object");
        goto out;
    }
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsString(jm) || !jm->valuestring[0]) {
        verdict_error(v, 400, "model is required");
        goto out;
    }
    for (size_t i = 0; i < c->nmodels && !g->model; i++)
        if (!strcmp(c->models[i], jm->valuestring))
            g->model = c->models[i];
    if (!g->model) {
        verdict_error(v, 404, openai ? "The model '%.200s' does not exist."
                                     : "model '%.200s' not found", jm->valuestring);
        goto out;
    }

    /* Ollama streams unless told not to; OpenAI only when asked. */
    g->stream = !openai;
    if (get_bool(root, "stream", &g->stream) < 0) {
        verdict_error(v, 400, "stream must be a boolean");
        goto out;
    }
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (cJSON_IsNull(opts))
        opts = NULL;
    if (opts && !cJSON_IsObject(opts)) {
        verdict_error(v, 400, "options must be an object");
        goto out;
    }
    g->max_tokens = c->default_max_tokens;
    if (read_limits(root, opts, openai, v) < 0)
        goto out;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (cJSON_IsObject(so) && get_bool(so, "include_usage", &g->include_usage) < 0) {
        verdict_error(v, 400, "stream_options.include_usage must be a boolean");
        goto out;
    }
    int empty;
    if (read_prompt(root, g->api, &empty, v) < 0)
        goto out;
    v->action = empty && !openai ? MOCK_ACT_LOAD : MOCK_ACT_GENERATE;
out:
    cJSON_Delete(root);
}

void mock_validate(const struct mock_config *c, const struct mock_request *rq,
                   struct mock_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->route = mock_route_find(rq->url, rq->url_len, rq->url_truncated);
    v->status = 200;
    v->action = MOCK_ACT_ANSWER;
    if (rq->fail != MOCK_READ_OK) {
        v->close = 1;
        if (rq->fail == MOCK_READ_BODY_TOO_LARGE)
            verdict_error(v, 413, "request body too large");
        else if (rq->fail == MOCK_READ_HEADERS_TOO_LARGE)
            verdict_error(v, 431, "request headers too large");
        else if (rq->fail == MOCK_READ_HEADER_TIMEOUT)
            verdict_error(v, 408, "request header not received in time");
        else
            verdict_error(v, 400, "malformed HTTP request");
        return;
    }
    const struct mock_route_def *rt = &mock_routes[v->route];
    if (v->route == MOCK_R_OTHER) {
        verdict_error(v, 404, "%s", mock_path_style(rq->url, rq->url_len) == MOCK_STYLE_TEXT
                                        ? "page not found" : "the requested path does not exist");
        return;
    }
    if (!(rt->methods & rq->method)) {
        verdict_error(v, 405, "method not allowed");
        v->allow = rt->allow;
        return;
    }
    /* The HTTP layer stops reading at --max-body; this holds for callers
     * that hand over a body from elsewhere. */
    if (rq->body_len > c->max_body) {
        v->close = 1;
        verdict_error(v, 413, "request body too large");
        return;
    }
    if (rt->answer == MOCK_ANS_GENERATE)
        validate_gen(c, rq, v);
}
