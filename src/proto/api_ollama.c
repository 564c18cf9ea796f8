/* api_ollama: Ollama's native /api/generate and /api/chat bodies and
 * NDJSON lines (also the whole object a stream:false request returns). */
#include <math.h>

#include "api_impl.h"

void api_ollama_build(enum api_kind k, const struct api_request *r, struct api_writer *w)
{
    int any_option = r->max_tokens >= 0 || isfinite(r->temperature) || r->seed >= 0;

    api_w_open(w, '{');
    if (r->model)
        api_w_kstr(w, "model", r->model);
    if (k == API_OLLAMA_CHAT) {
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

void api_ollama_interpret(const char *js, const jsmntok_t *t, int n, const int *top, struct api_event *ev)
{
    static const struct json_key msg_keys[] = { JSON_KEY("content"), JSON_KEY("thinking") };
    int m[2], done;

    api_take_text(ev, js, t, top[K_RESPONSE], 0);
    if (json_members(js, t, n, top[K_MESSAGE], msg_keys, 2, m) > 0) {
        api_take_text(ev, js, t, m[0], 0);
        api_take_text(ev, js, t, m[1], 1);
    }
    api_take_text(ev, js, t, top[K_THINKING], 1);
    if (top[K_DONE] >= 0 && json_bool(js, &t[top[K_DONE]], &done) == 0 && done)
        ev->done = 1;
    api_take_finish(ev, js, t, top[K_DONE_REASON]);
    api_take_int(js, t, top[K_EVAL_COUNT], &ev->completion_tokens);
    api_take_int(js, t, top[K_PROMPT_EVAL_COUNT], &ev->prompt_tokens);
    api_take_int(js, t, top[K_TOTAL_DURATION], &ev->total_duration_ns);
    api_take_int(js, t, top[K_LOAD_DURATION], &ev->load_duration_ns);
    api_take_int(js, t, top[K_PROMPT_EVAL_DURATION], &ev->prompt_eval_duration_ns);
    api_take_int(js, t, top[K_EVAL_DURATION], &ev->eval_duration_ns);
}
