/* api_openai: the OpenAI chat and completions adapters: bodies and chunks
 * as served by OpenAI, vLLM, SGLang, TGI, Ollama's /v1 and llama.cpp
 * (whose native /completion events and timings are read here too). */
#include <math.h>
#include <string.h>

#include "api_impl.h"

static void openai_build(const struct api_adapter *a, const struct api_request *r, struct api_writer *w)
{
    api_w_open(w, '{');
    if (r->model)
        api_w_kstr(w, "model", r->model);
    if (a->chat) {
        api_w_messages(w, r);
    } else {
        /* Legacy completions have no system role: it is prepended. */
        api_w_key(w, "prompt");
        if (r->system)
            api_w_str_join(w, r->system, "\n\n", api_req_prompt(r));
        else
            api_w_str(w, api_req_prompt(r));
    }
    api_w_bool(w, "stream", r->stream);
    if (r->stream && r->include_usage) {
        api_w_key(w, "stream_options");
        api_w_open(w, '{');
        api_w_bool(w, "include_usage", 1);
        api_w_close(w, '}');
    }
    /* max_tokens, not max_completion_tokens: llama.cpp ignores the latter
     * and Ollama does not know it, while vLLM and SGLang take both. */
    if (r->max_tokens >= 0)
        api_w_int(w, "max_tokens", r->max_tokens);
    if (isfinite(r->temperature))
        api_w_double(w, "temperature", r->temperature);
    if (r->seed >= 0)
        api_w_int(w, "seed", r->seed);
    if (r->ignore_eos)
        api_w_bool(w, "ignore_eos", 1);
    if (r->min_tokens > 0)
        api_w_int(w, "min_tokens", r->min_tokens);
    api_w_close(w, '}');
}

/* The top-level keys it reads, after the error keys api.c reads. */
enum {
    O_CHOICES = API_K__ERRORS, O_USAGE, O_TIMINGS,
    O_CONTENT, O_TOKENS, O_STOP, O_STOP_TYPE, O_TRUNCATED,    /* llama.cpp native /completion */
    O__COUNT
};
static const struct json_key top_keys[O__COUNT] = {
    API_ERROR_KEYS,
    [O_CHOICES] = JSON_KEY("choices"),
    [O_USAGE] = JSON_KEY("usage"),
    [O_TIMINGS] = JSON_KEY("timings"),
    [O_CONTENT] = JSON_KEY("content"),
    [O_TOKENS] = JSON_KEY("tokens"),
    [O_STOP] = JSON_KEY("stop"),
    [O_STOP_TYPE] = JSON_KEY("stop_type"),
    [O_TRUNCATED] = JSON_KEY("truncated"),
};

enum { C_DELTA, C_MESSAGE, C_TEXT, C_FINISH_REASON, C__COUNT };
static const struct json_key choice_keys[C__COUNT] = {
    [C_DELTA] = JSON_KEY("delta"),
    [C_MESSAGE] = JSON_KEY("message"),
    [C_TEXT] = JSON_KEY("text"),
    [C_FINISH_REASON] = JSON_KEY("finish_reason"),
};

/* reasoning_content: DeepSeek, SGLang, older vLLM; reasoning: vLLM since
 * its field was renamed (docs/protocols.md). */
enum { D_CONTENT, D_REASONING_CONTENT, D_REASONING, D_TOOL_CALLS, D__COUNT };
static const struct json_key delta_keys[D__COUNT] = {
    [D_CONTENT] = JSON_KEY("content"),
    [D_REASONING_CONTENT] = JSON_KEY("reasoning_content"),
    [D_REASONING] = JSON_KEY("reasoning"),
    [D_TOOL_CALLS] = JSON_KEY("tool_calls"),
};

enum { U_COMPLETION_TOKENS, U_PROMPT_TOKENS, U_COMPLETION_DETAILS, U__COUNT };
static const struct json_key usage_keys[U__COUNT] = {
    [U_COMPLETION_TOKENS] = JSON_KEY("completion_tokens"),
    [U_PROMPT_TOKENS] = JSON_KEY("prompt_tokens"),
    [U_COMPLETION_DETAILS] = JSON_KEY("completion_tokens_details"),
};
static const struct json_key details_keys[] = { JSON_KEY("reasoning_tokens") };

enum { T_PREDICTED_N, T_PROMPT_N, T_CACHE_N, T_PREDICTED_MS, T_PROMPT_MS, T__COUNT };
static const struct json_key timing_keys[T__COUNT] = {
    [T_PREDICTED_N] = JSON_KEY("predicted_n"),
    [T_PROMPT_N] = JSON_KEY("prompt_n"),
    [T_CACHE_N] = JSON_KEY("cache_n"),
    [T_PREDICTED_MS] = JSON_KEY("predicted_ms"),
    [T_PROMPT_MS] = JSON_KEY("prompt_ms"),
};

static void openai_interpret(const char *js, const jsmntok_t *t, int n, const int *top, struct api_event *ev)
{
    int c0 = json_index(t, n, top[O_CHOICES], 0);
    int stop;

    if (c0 >= 0 && t[c0].type == JSMN_OBJECT) {
        int c[C__COUNT], d[D__COUNT], at;

        json_members(js, t, n, c0, choice_keys, C__COUNT, c);
        /* delta in chunks, message in a non-streamed chat body. */
        at = c[C_DELTA] >= 0 && t[c[C_DELTA]].type == JSMN_OBJECT ? c[C_DELTA] : c[C_MESSAGE];
        if (json_members(js, t, n, at, delta_keys, D__COUNT, d) > 0) {
            api_take_text(ev, js, t, d[D_CONTENT], API_TEXT_ANSWER);
            api_take_tool_calls(ev, js, t, n, d[D_TOOL_CALLS]);
            api_take_text(ev, js, t, d[D_REASONING_CONTENT], API_TEXT_REASONING);
            api_take_text(ev, js, t, d[D_REASONING], API_TEXT_REASONING);
        }
        api_take_text(ev, js, t, c[C_TEXT], API_TEXT_ANSWER);
        api_take_finish(ev, js, t, c[C_FINISH_REASON]);
    }
    /* llama.cpp's server timings: the generation's tokens and time, and
     * the prompt's, split between evaluated and cached tokens. */
    if (top[O_TIMINGS] >= 0) {
        int tm[T__COUNT];

        json_members(js, t, n, top[O_TIMINGS], timing_keys, T__COUNT, tm);
        api_take_int(js, t, tm[T_PREDICTED_N], &ev->eval_tokens);
        api_take_int(js, t, tm[T_PROMPT_N], &ev->prompt_eval_tokens);
        api_take_int(js, t, tm[T_CACHE_N], &ev->cached_tokens);
        api_take_ms_as_ns(js, t, tm[T_PREDICTED_MS], &ev->eval_duration_ns);
        api_take_ms_as_ns(js, t, tm[T_PROMPT_MS], &ev->prompt_eval_duration_ns);
        ev->completion_tokens = ev->eval_tokens;
        ev->prompt_tokens = ev->prompt_eval_tokens;
    }
    /* usage (null until the last chunk, or on every chunk with vLLM's
     * continuous_usage_stats) outranks timings in the same event. */
    if (top[O_USAGE] >= 0) {
        int u[U__COUNT], r;

        json_members(js, t, n, top[O_USAGE], usage_keys, U__COUNT, u);
        api_take_int(js, t, u[U_COMPLETION_TOKENS], &ev->completion_tokens);
        api_take_int(js, t, u[U_PROMPT_TOKENS], &ev->prompt_tokens);
        if (json_members(js, t, n, u[U_COMPLETION_DETAILS], details_keys, 1, &r) > 0)
            api_take_int(js, t, r, &ev->reasoning_tokens);
    }
    /* llama.cpp native /completion: {"content","tokens":[..],"stop":bool}. */
    if (top[O_CONTENT] >= 0) {
        api_take_text(ev, js, t, top[O_CONTENT], API_TEXT_ANSWER);
        if (top[O_TOKENS] >= 0 && t[top[O_TOKENS]].type == JSMN_ARRAY)
            ev->event_tokens = t[top[O_TOKENS]].size;
    }
    if (top[O_STOP] >= 0 && json_bool(js, &t[top[O_STOP]], &stop) == 0 && stop) {
        ev->done = 1;
        api_take_finish(ev, js, t, top[O_STOP_TYPE]);
    }
    /* llama.cpp says so when it cut the prompt to its context: the output
     * then answers a different question, which a benchmark must not hide. */
    int trunc;
    if (top[O_TRUNCATED] >= 0 && json_bool(js, &t[top[O_TRUNCATED]], &trunc) == 0 && trunc)
        ev->truncated = 1;
}

static const struct api_family openai_family = {
    .protocol = "openai",
    .version_path = "/version",          /* vLLM, SGLang */
    .models_path = "/v1/models",
    .models_list = "data",
    .model_name = "id",
};

const struct api_adapter api_openai_chat = {
    .name = "openai-chat", .alias = "openai",
    .path = "/v1/chat/completions", .suffix = "/chat/completions",
    .framing = API_FRAME_SSE, .family = &openai_family, .chat = 1,
    .keys = top_keys, .nkeys = O__COUNT,
    .build = openai_build, .interpret = openai_interpret,
};

const struct api_adapter api_openai_completions = {
    .name = "openai-completions",
    .path = "/v1/completions", .suffix = "/completions",
    /* llama.cpp's native endpoint: it takes prompt, max_tokens, stream and
     * ignore_eos, and its events (top-level content, stop) are read here. */
    .native_suffix = "/completion",
    .framing = API_FRAME_SSE, .family = &openai_family, .chat = 0,
    .keys = top_keys, .nkeys = O__COUNT,
    .build = openai_build, .interpret = openai_interpret,
};
