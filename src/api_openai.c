/* api_openai: OpenAI chat/completions bodies and chunks, as served by
 * OpenAI, vLLM, SGLang, TGI, Ollama's /v1 and llama.cpp (whose native
 * /completion events are read here too). */
#include <math.h>
#include <string.h>

#include "api_impl.h"

void api_openai_build(enum api_kind k, const struct api_request *r, struct api_writer *w)
{
    api_w_open(w, '{');
    if (r->model)
        api_w_kstr(w, "model", r->model);
    if (k == API_OPENAI_CHAT) {
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

void api_openai_interpret(const char *js, const jsmntok_t *t, int n, struct api_event *ev)
{
    int ch = json_find(js, t, n, 0, "choices");
    int c0 = json_index(t, n, ch, 0);
    int u = json_find(js, t, n, 0, "usage");
    int tm = json_find(js, t, n, 0, "timings");
    int i, stop;

    if (c0 >= 0 && t[c0].type == JSMN_OBJECT) {
        /* delta in chunks, message in a non-streamed chat body. */
        int d = json_find(js, t, n, c0, "delta");
        if (d < 0 || t[d].type != JSMN_OBJECT)
            d = json_find(js, t, n, c0, "message");
        if (d >= 0 && t[d].type == JSMN_OBJECT) {
            api_take_text(ev, js, t, json_find(js, t, n, d, "content"), 0);
            api_take_text(ev, js, t, json_find(js, t, n, d, "reasoning_content"), 1);
            api_take_text(ev, js, t, json_find(js, t, n, d, "reasoning"), 1);
        }
        api_take_text(ev, js, t, json_find(js, t, n, c0, "text"), 0);
        api_take_finish(ev, js, t, json_find(js, t, n, c0, "finish_reason"));
    }
    if (tm >= 0 && t[tm].type == JSMN_OBJECT) {
        api_take_int(js, t, n, tm, "predicted_n", &ev->timings_predicted_n);
        api_take_int(js, t, n, tm, "prompt_n", &ev->timings_prompt_n);
        api_take_ms_as_ns(js, t, n, tm, "predicted_ms", &ev->eval_duration_ns);
        api_take_ms_as_ns(js, t, n, tm, "prompt_ms", &ev->prompt_eval_duration_ns);
        ev->completion_tokens = ev->timings_predicted_n;
        ev->prompt_tokens = ev->timings_prompt_n;
    }
    /* usage (null until the last chunk, or on every chunk with vLLM's
     * continuous_usage_stats) outranks timings in the same event. */
    if (u >= 0 && t[u].type == JSMN_OBJECT) {
        api_take_int(js, t, n, u, "completion_tokens", &ev->completion_tokens);
        api_take_int(js, t, n, u, "prompt_tokens", &ev->prompt_tokens);
    }
    /* llama.cpp native /completion: {"content","tokens":[..],"stop":bool}. */
    i = json_find(js, t, n, 0, "content");
    if (i >= 0) {
        int tk = json_find(js, t, n, 0, "tokens");
        api_take_text(ev, js, t, i, 0);
        if (tk >= 0 && t[tk].type == JSMN_ARRAY)
            ev->event_tokens = t[tk].size;
    }
    i = json_find(js, t, n, 0, "stop");
    if (i >= 0 && json_bool(js, &t[i], &stop) == 0 && stop) {
        ev->done = 1;
        api_take_finish(ev, js, t, json_find(js, t, n, 0, "stop_type"));
    }
}
