/* api: names and paths of the API kinds, the shared body writer, the
 * error shapes every server uses, and dispatch to the adapters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"

static const char *const kind_names[API__COUNT] = {
    [API_AUTO] = "auto",
    [API_OLLAMA_GENERATE] = "ollama-generate",
    [API_OLLAMA_CHAT] = "ollama-chat",
    [API_OPENAI_CHAT] = "openai-chat",
    [API_OPENAI_COMPLETIONS] = "openai-completions",
};

static const char *const kind_paths[API__COUNT] = {
    [API_AUTO] = NULL,
    [API_OLLAMA_GENERATE] = "/api/generate",
    [API_OLLAMA_CHAT] = "/api/chat",
    [API_OPENAI_CHAT] = "/v1/chat/completions",
    [API_OPENAI_COMPLETIONS] = "/v1/completions",
};

const char *api_name(enum api_kind k)
{
    return (unsigned)k < API__COUNT ? kind_names[k] : "?";
}

int api_from_name(const char *s, enum api_kind *out)
{
    if (!s)
        return -1;
    for (unsigned k = 0; k < API__COUNT; k++) {
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (enum api_kind)k;
            return 0;
        }
    }
    if (strcmp(s, "ollama") == 0) {
        *out = API_OLLAMA_GENERATE;
        return 0;
    }
    if (strcmp(s, "openai") == 0) {
        *out = API_OPENAI_CHAT;
        return 0;
    }
    return -1;
}

const char *api_path(enum api_kind k)
{
    return (unsigned)k < API__COUNT ? kind_paths[k] : NULL;
}

int api_is_ollama(enum api_kind k)
{
    return k == API_OLLAMA_GENERATE || k == API_OLLAMA_CHAT;
}

/* ---- body writer --------------------------------------------------------- */

void api_w_raw(struct api_writer *w, const char *s)
{
    size_t n = strlen(s);

    if (w->err)
        return;
    if (n > w->cap - w->pos) {
        w->err = 1;
        return;
    }
    memcpy(w->buf + w->pos, s, n);
    w->pos += n;
}

void api_w_str(struct api_writer *w, const char *s)
{
    if (!w->err && json_put_string(w->buf, w->cap, &w->pos, s ? s : "") < 0)
        w->err = 1;
}

void api_w_str_join(struct api_writer *w, const char *a, const char *sep, const char *b)
{
    const char *parts[3] = { a ? a : "", sep ? sep : "", b ? b : "" };

    api_w_str(w, parts[0]);
    for (int i = 1; i < 3 && !w->err; i++) {
        size_t at = w->pos - 1;   /* the closing quote written last */

        /* Escape the next part over the closing quote, then drop the
         * opening quote it brought along. */
        w->pos = at;
        api_w_str(w, parts[i]);
        if (w->err)
            break;
        memmove(w->buf + at, w->buf + at + 1, w->pos - at - 1);
        w->pos--;
    }
}

void api_w_elem(struct api_writer *w)
{
    if (!w->first)
        api_w_raw(w, ",");
    w->first = 0;
}

void api_w_key(struct api_writer *w, const char *key)
{
    api_w_elem(w);
    api_w_str(w, key);
    api_w_raw(w, ":");
}

void api_w_open(struct api_writer *w, char c)
{
    api_w_raw(w, c == '{' ? "{" : "[");
    w->first = 1;
}

void api_w_close(struct api_writer *w, char c)
{
    api_w_raw(w, c == '}' ? "}" : "]");
    w->first = 0;
}

void api_w_int(struct api_writer *w, const char *key, int64_t v)
{
    char tmp[32];

    snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    api_w_key(w, key);
    api_w_raw(w, tmp);
}

void api_w_double(struct api_writer *w, const char *key, double v)
{
    char tmp[40];

    /* The shortest of %.15g/%.17g that reads back as the same double, so
     * 0.7 is sent as 0.7 and not as 0.69999999999999996. */
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", v);
    api_w_key(w, key);
    api_w_raw(w, tmp);
}

void api_w_bool(struct api_writer *w, const char *key, int v)
{
    api_w_key(w, key);
    api_w_raw(w, v ? "true" : "false");
}

void api_w_kstr(struct api_writer *w, const char *key, const char *s)
{
    api_w_key(w, key);
    api_w_str(w, s);
}

const char *api_req_prompt(const struct api_request *r)
{
    if (r->prompt || r->nmessages == 0 || !r->messages)
        return r->prompt ? r->prompt : "";
    return r->messages[r->nmessages - 1].content;
}

static void w_message(struct api_writer *w, const char *role, const char *content)
{
    api_w_elem(w);
    api_w_open(w, '{');
    api_w_kstr(w, "role", role ? role : "user");
    api_w_kstr(w, "content", content);
    api_w_close(w, '}');
}

void api_w_messages(struct api_writer *w, const struct api_request *r)
{
    api_w_key(w, "messages");
    api_w_open(w, '[');
    if (r->system && !(r->nmessages > 0 && r->messages && r->messages[0].role &&
                       strcmp(r->messages[0].role, "system") == 0))
        w_message(w, "system", r->system);
    if (r->nmessages > 0 && r->messages) {
        for (size_t i = 0; i < r->nmessages; i++)
            w_message(w, r->messages[i].role, r->messages[i].content);
    } else {
        w_message(w, "user", r->prompt ? r->prompt : "");
    }
    api_w_close(w, ']');
}

long api_build_body(enum api_kind k, const struct api_request *r, char *buf, size_t cap)
{
    struct api_writer w = { .buf = buf, .cap = cap, .pos = 0, .err = 0, .first = 1 };

    if (!r || !buf)
        return -1;
    switch (k) {
    case API_OPENAI_CHAT:
    case API_OPENAI_COMPLETIONS:
        api_openai_build(k, r, &w);
        break;
    case API_OLLAMA_GENERATE:
    case API_OLLAMA_CHAT:
        api_ollama_build(k, r, &w);
        break;
    default:
        return -1;
    }
    if (w.err)
        return -1;
    if (w.pos < cap)
        buf[w.pos] = '\0';
    return (long)w.pos;
}

/* ---- field readers ------------------------------------------------------- */

void api_event_clear(struct api_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->completion_tokens = -1;
    ev->prompt_tokens = -1;
    ev->timings_predicted_n = -1;
    ev->timings_prompt_n = -1;
    ev->event_tokens = -1;
    ev->total_duration_ns = -1;
    ev->load_duration_ns = -1;
    ev->prompt_eval_duration_ns = -1;
    ev->eval_duration_ns = -1;
}

void api_take_text(struct api_event *ev, const char *js, const jsmntok_t *t, int i, int reasoning)
{
    /* llama.cpp sends "content":"" before its final event and vLLM sends it
     * with the role: only non-empty text is generated output.  Content
     * wins over reasoning because callers read content first. */
    if (i < 0 || ev->content || t[i].type != JSMN_STRING || t[i].end <= t[i].start)
        return;
    ev->content = 1;
    ev->reasoning = reasoning ? 1 : 0;
    ev->text = js + t[i].start;
    ev->text_len = (size_t)(t[i].end - t[i].start);
}

void api_take_int(const char *js, const jsmntok_t *t, int i, int64_t *out)
{
    int64_t v;

    if (i >= 0 && json_int64(js, &t[i], &v) == 0)
        *out = v;
}

void api_take_ms_as_ns(const char *js, const jsmntok_t *t, int i, int64_t *out)
{
    double ms;

    if (i >= 0 && json_double(js, &t[i], &ms) == 0 && ms >= 0 && ms < 9.2e12)
        *out = (int64_t)(ms * 1e6 + 0.5);
}

void api_take_finish(struct api_event *ev, const char *js, const jsmntok_t *t, int i)
{
    if (i < 0 || t[i].type != JSMN_STRING || t[i].end <= t[i].start)
        return;
    ev->finish = 1;
    ev->finish_reason = js + t[i].start;
    ev->finish_reason_len = (size_t)(t[i].end - t[i].start);
}

static const struct json_key top_keys[K__COUNT] = {
    [K_ERROR] = JSON_KEY("error"),
    [K_OBJECT] = JSON_KEY("object"),
    [K_ERROR_TYPE] = JSON_KEY("error_type"),
    [K_MESSAGE] = JSON_KEY("message"),
    [K_TYPE] = JSON_KEY("type"),
    [K_CHOICES] = JSON_KEY("choices"),
    [K_USAGE] = JSON_KEY("usage"),
    [K_TIMINGS] = JSON_KEY("timings"),
    [K_CONTENT] = JSON_KEY("content"),
    [K_TOKENS] = JSON_KEY("tokens"),
    [K_STOP] = JSON_KEY("stop"),
    [K_STOP_TYPE] = JSON_KEY("stop_type"),
    [K_RESPONSE] = JSON_KEY("response"),
    [K_THINKING] = JSON_KEY("thinking"),
    [K_DONE] = JSON_KEY("done"),
    [K_DONE_REASON] = JSON_KEY("done_reason"),
    [K_EVAL_COUNT] = JSON_KEY("eval_count"),
    [K_PROMPT_EVAL_COUNT] = JSON_KEY("prompt_eval_count"),
    [K_TOTAL_DURATION] = JSON_KEY("total_duration"),
    [K_LOAD_DURATION] = JSON_KEY("load_duration"),
    [K_PROMPT_EVAL_DURATION] = JSON_KEY("prompt_eval_duration"),
    [K_EVAL_DURATION] = JSON_KEY("eval_duration"),
};

static void take_string(const char *js, const jsmntok_t *t, int i, const char **p, size_t *n)
{
    if (i >= 0 && t[i].type == JSMN_STRING) {
        *p = js + t[i].start;
        *n = (size_t)(t[i].end - t[i].start);
    }
}

/* The message and type of an error object: {"message","type",...}. */
static void error_object(const char *js, const jsmntok_t *t, int n, int obj, struct api_event *ev)
{
    static const struct json_key keys[] = { JSON_KEY("message"), JSON_KEY("type") };
    int at[2];

    json_members(js, t, n, obj, keys, 2, at);
    take_string(js, t, at[0], &ev->errmsg, &ev->errmsg_len);
    take_string(js, t, at[1], &ev->errtype, &ev->errtype_len);
}

/* The error shapes: {"error":{"message","type",...}} (OpenAI, vLLM,
 * llama.cpp, SGLang, TGI chat), {"error":"text","error_type":...} (TGI,
 * Ollama), and the flat {"object":"error","message":...} of old vLLM.
 * "error": null, false or "" is no error. */
static void read_error(const char *js, const jsmntok_t *t, int n, const int *top, struct api_event *ev)
{
    int e = top[K_ERROR], o = top[K_OBJECT];

    if (e >= 0 && !json_is_null(js, &t[e]) && !json_eq(js, &t[e], "false") &&
        !(t[e].type == JSMN_STRING && t[e].end == t[e].start)) {
        ev->error = 1;
        if (t[e].type == JSMN_OBJECT)
            error_object(js, t, n, e, ev);
        if (!ev->errmsg) {
            /* A string error, or an error object with no message. */
            ev->errmsg = js + t[e].start;
            ev->errmsg_len = (size_t)(t[e].end - t[e].start);
        }
        take_string(js, t, top[K_ERROR_TYPE], &ev->errtype, &ev->errtype_len);
    } else if (o >= 0 && json_eq(js, &t[o], "error")) {
        ev->error = 1;
        take_string(js, t, top[K_MESSAGE], &ev->errmsg, &ev->errmsg_len);
        take_string(js, t, top[K_TYPE], &ev->errtype, &ev->errtype_len);
    }
}

static void trim(const char **data, size_t *len)
{
    const char *p = *data;
    size_t n = *len;

    while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    *data = p;
    *len = n;
}

int api_parse_event(enum api_kind k, const char *data, size_t len,
                    struct api_event *ev, void *tokens, unsigned ntokens)
{
    jsmntok_t *t = tokens;
    int n, top[K__COUNT];

    api_event_clear(ev);
    if (!data)
        return len ? -1 : 0;
    trim(&data, &len);
    if (len == 0)
        return 0;
    if (len >= 6 && memcmp(data, "[DONE]", 6) == 0) {
        ev->done = 1;
        return 0;
    }
    if (!t || ntokens == 0)
        return -2;
    n = json_tokenize_elide(data, len, t, ntokens);
    if (n == JSMN_ERROR_NOMEM)
        return -2;
    if (n <= 0 || t[0].type != JSMN_OBJECT)
        return -1;
    json_members(data, t, n, 0, top_keys, K__COUNT, top);
    read_error(data, t, n, top, ev);
    switch (k) {
    case API_OLLAMA_GENERATE:
    case API_OLLAMA_CHAT:
        api_ollama_interpret(data, t, n, top, ev);
        break;
    case API_OPENAI_CHAT:
    case API_OPENAI_COMPLETIONS:
        api_openai_interpret(data, t, n, top, ev);
        break;
    default:
        api_openai_interpret(data, t, n, top, ev);
        api_ollama_interpret(data, t, n, top, ev);
        break;
    }
    return 0;
}

int api_parse_error(const char *data, size_t len, struct api_event *ev,
                    void *tokens, unsigned ntokens)
{
    jsmntok_t *t = tokens;
    int n = -1;

    api_event_clear(ev);
    if (!data)
        len = 0;
    else
        trim(&data, &len);
    if (len > 0 && t && ntokens > 0)
        n = json_tokenize_elide(data, len, t, ntokens);
    if (n > 0 && t[0].type == JSMN_OBJECT) {
        int top[K__COUNT];

        json_members(data, t, n, 0, top_keys, K__COUNT, top);
        read_error(data, t, n, top, ev);
        /* Else the bare error object old llama.cpp puts in its field. */
        if (!ev->error)
            error_object(data, t, n, 0, ev);
    }
    ev->error = 1;
    if (!ev->errmsg) {
        ev->errmsg = data ? data : "";
        ev->errmsg_len = len;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Shapes of plain content events (api.h).                             */

void api_shape_reset(struct api_shape *s)
{
    s->pre = s->post = 0;
}

void api_shape_learn(struct api_shape *s, const char *data, size_t len, const struct api_event *ev)
{
    s->pre = s->post = 0;
    if (!ev->content || ev->done || ev->error || ev->finish || ev->errmsg || ev->finish_reason ||
        ev->completion_tokens >= 0 || ev->prompt_tokens >= 0 || ev->timings_predicted_n >= 0 ||
        ev->timings_prompt_n >= 0 || ev->event_tokens >= 0 || ev->total_duration_ns >= 0 ||
        ev->load_duration_ns >= 0 || ev->prompt_eval_duration_ns >= 0 || ev->eval_duration_ns >= 0)
        return;
    if (!ev->text || ev->text < data || ev->text + ev->text_len > data + len)
        return;
    size_t pre = (size_t)(ev->text - data), post = len - pre - ev->text_len;
    /* The text must be a JSON string's body: a quote on each side. */
    if (pre == 0 || post == 0 || data[pre - 1] != '"' || data[pre + ev->text_len] != '"')
        return;
    if (pre + post > API_SHAPE_MAX)
        return;
    memcpy(s->b, data, pre);
    memcpy(s->b + pre, data + pre + ev->text_len, post);
    s->pre = (uint16_t)pre;
    s->post = (uint16_t)post;
    s->reasoning = (uint8_t)ev->reasoning;
}

static int hexdig(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A JSON string body (between the quotes): no bare quote or control
 * character, and only valid escapes. */
static int json_string_body_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c < 0x20)
            return 0;
        if (c != '\\')
            continue;
        if (++i >= n)
            return 0;
        switch (p[i]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            break;
        case 'u':
            if (i + 4 >= n || !hexdig(p[i + 1]) || !hexdig(p[i + 2]) || !hexdig(p[i + 3]) ||
                !hexdig(p[i + 4]))
                return 0;
            i += 4;
            break;
        default:
            return 0;
        }
    }
    return 1;
}

int api_shape_match(const struct api_shape *s, const char *data, size_t len, struct api_event *ev)
{
    size_t pre = s->pre, post = s->post;
    if (pre == 0 || len < pre + post)
        return 0;
    if (memcmp(data, s->b, pre) != 0 || memcmp(data + len - post, s->b + pre, post) != 0)
        return 0;
    const char *text = data + pre;
    size_t n = len - pre - post;
    if (!json_string_body_ok(text, n))
        return 0;
    api_event_clear(ev);
    ev->text = text;
    ev->text_len = n;
    ev->content = n > 0;
    ev->reasoning = n > 0 && s->reasoning;
    return 1;
}
