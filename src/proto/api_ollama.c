/* api_ollama: the adapters of Ollama's native /api/generate and /api/chat:
 * bodies and NDJSON lines (also the whole object a stream:false request
 * returns). */
#include <math.h>

#include "api_impl.h"

static void ollama_build(const struct api_adapter *a, const struct api_request *r, struct api_writer *w)
{
    int any_option = r->max_tokens >= 0 || isfinite(r->temperature) || r->seed >= 0;

    api_w_open(w, '{');
    if (r->model)
        api_w_kstr(w, "model", r->model);
    if (a->chat) {
        api_w_messages(w, r);
    } else {
        api_w_kstr(w, "prompt", api_req_prompt(r));
        if (r->system)
            api_w_kstr(w, "system", r->system);
    }
    /* stream is a pointer in Ollama (absent means true): always send it. */
    api_w_bool(w, "stream", r->stream);
    if (any_option) {
        api_w_key(w, "options");
        api_w_open(w, '{');
        if (r->max_tokens >= 0)
            api_w_int(w, "num_predict", r->max_tokens);
        if (isfinite(r->temperature))
            api_w_double(w, "temperature", r->temperature);
        if (r->seed >= 0)
            api_w_int(w, "seed", r->seed);
        api_w_close(w, '}');
    }
    api_w_close(w, '}');
}

/* The top-level keys it reads, after the error keys api.c reads; a chat
 * line's "message" is the error key API_K_MESSAGE. */
enum {
    L_RESPONSE = API_K__ERRORS, L_THINKING, L_DONE, L_DONE_REASON,
    L_EVAL_COUNT, L_PROMPT_EVAL_COUNT,
    L_TOTAL_DURATION, L_LOAD_DURATION, L_PROMPT_EVAL_DURATION, L_EVAL_DURATION,
    L__COUNT
};
static const struct json_key top_keys[L__COUNT] = {
    API_ERROR_KEYS,
    [L_RESPONSE] = JSON_KEY("response"),
    [L_THINKING] = JSON_KEY("thinking"),
    [L_DONE] = JSON_KEY("done"),
    [L_DONE_REASON] = JSON_KEY("done_reason"),
    [L_EVAL_COUNT] = JSON_KEY("eval_count"),
    [L_PROMPT_EVAL_COUNT] = JSON_KEY("prompt_eval_count"),
    [L_TOTAL_DURATION] = JSON_KEY("total_duration"),
    [L_LOAD_DURATION] = JSON_KEY("load_duration"),
    [L_PROMPT_EVAL_DURATION] = JSON_KEY("prompt_eval_duration"),
    [L_EVAL_DURATION] = JSON_KEY("eval_duration"),
};

static void ollama_interpret(const char *js, const jsmntok_t *t, int n, const int *top,
                             struct api_event *ev)
{
    static const struct json_key msg_keys[] = { JSON_KEY("content"), JSON_KEY("tool_calls"),
                                                JSON_KEY("thinking") };
    int m[3], done;

    api_take_text(ev, js, t, top[L_RESPONSE], API_TEXT_ANSWER);
    if (json_members(js, t, n, top[API_K_MESSAGE], msg_keys, 3, m) > 0) {
        api_take_text(ev, js, t, m[0], API_TEXT_ANSWER);
        api_take_tool_calls(ev, js, t, n, m[1]);
        api_take_text(ev, js, t, m[2], API_TEXT_REASONING);
    }
    api_take_text(ev, js, t, top[L_THINKING], API_TEXT_REASONING);
    if (top[L_DONE] >= 0 && json_bool(js, &t[top[L_DONE]], &done) == 0 && done)
        ev->done = 1;
    api_take_finish(ev, js, t, top[L_DONE_REASON]);
    /* eval_count is both the output count and the tokens of eval_duration. */
    api_take_int(js, t, top[L_EVAL_COUNT], &ev->completion_tokens);
    api_take_int(js, t, top[L_EVAL_COUNT], &ev->eval_tokens);
    api_take_int(js, t, top[L_PROMPT_EVAL_COUNT], &ev->prompt_tokens);
    api_take_int(js, t, top[L_PROMPT_EVAL_COUNT], &ev->prompt_eval_tokens);
    api_take_int(js, t, top[L_TOTAL_DURATION], &ev->total_duration_ns);
    api_take_int(js, t, top[L_LOAD_DURATION], &ev->load_duration_ns);
    api_take_int(js, t, top[L_PROMPT_EVAL_DURATION], &ev->prompt_eval_duration_ns);
    api_take_int(js, t, top[L_EVAL_DURATION], &ev->eval_duration_ns);
}

static const struct api_family ollama_family = {
    .protocol = "ollama",
    .version_path = "/api/version",
    .models_path = "/api/tags",
    .models_list = "models",
    .model_name = "name",
};

const struct api_adapter api_ollama_generate = {
    .name = "ollama-generate", .alias = "ollama",
    .path = "/api/generate", .suffix = "/api/generate",
    .framing = API_FRAME_NDJSON, .family = &ollama_family, .chat = 0,
    .keys = top_keys, .nkeys = L__COUNT,
    .build = ollama_build, .interpret = ollama_interpret,
};

const struct api_adapter api_ollama_chat = {
    .name = "ollama-chat",
    .path = "/api/chat", .suffix = "/api/chat",
    .framing = API_FRAME_NDJSON, .family = &ollama_family, .chat = 1,
    .keys = top_keys, .nkeys = L__COUNT,
    .build = ollama_build, .interpret = ollama_interpret,
};
