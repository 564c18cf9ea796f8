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

void api_ollama_interpret(const char *js, const jsmntok_t *t, int n, struct api_event *ev)
{
    int m = json_find(js, t, n, 0, "message");
    int i, done;

    api_take_text(ev, js, t, json_find(js, t, n, 0, "response"), 0);
    if (m >= 0 && t[m].type == JSMN_OBJECT) {
        api_take_text(ev, js, t, json_find(js, t, n, m, "content"), 0);
        api_take_text(ev, js, t, json_find(js, t, n, m, "thinking"), 1);
    }
    api_take_text(ev, js, t, json_find(js, t, n, 0, "thinking"), 1);
    i = json_find(js, t, n, 0, "done");
    if (i >= 0 && json_bool(js, &t[i], &done) == 0 && done)
        ev->done = 1;
    api_take_finish(ev, js, t, json_find(js, t, n, 0, "done_reason"));
    api_take_int(js, t, n, 0, "eval_count", &ev->completion_tokens);
    api_take_int(js, t, n, 0, "prompt_eval_count", &ev->prompt_tokens);
    api_take_int(js, t, n, 0, "total_duration", &ev->total_duration_ns);
    api_take_int(js, t, n, 0, "load_duration", &ev->load_duration_ns);
    api_take_int(js, t, n, 0, "prompt_eval_duration", &ev->prompt_eval_duration_ns);
    api_take_int(js, t, n, 0, "eval_duration", &ev->eval_duration_ns);
}
