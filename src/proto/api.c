/* api: the table of adapters and the accessors that read it, the shared
 * body writer, the error shapes every server uses, and the parse that
 * hands an event to its adapter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"
#include "sse.h"

static void auto_interpret(const char *js, const jsmntok_t *t, int n, const int *top,
                           struct api_event *ev);

static const struct json_key auto_keys[] = { API_ERROR_KEYS };

/* --api auto before the server is known: no body of its own, and every
 * adapter's reading of an event at once (their keys do not overlap). */
static const struct api_adapter api_auto = {
    .name = "auto",
    .keys = auto_keys, .nkeys = API_K__ERRORS,
    .interpret = auto_interpret,
};

const struct api_adapter *const api_adapters[API__COUNT] = {
    [API_AUTO] = &api_auto,
    [API_OLLAMA_GENERATE] = &api_ollama_generate,
    [API_OLLAMA_CHAT] = &api_ollama_chat,
    [API_OPENAI_CHAT] = &api_openai_chat,
    [API_OPENAI_COMPLETIONS] = &api_openai_completions,
};

static const struct api_adapter *adapter(enum api_kind k)
{
    return (unsigned)k < API__COUNT ? api_adapters[k] : NULL;
}

const char *api_name(enum api_kind k)
{
    return adapter(k) ? adapter(k)->name : "?";
}

int api_from_name(const char *s, enum api_kind *out)
{
    if (!s)
        return -1;
    for (unsigned k = 0; k < API__COUNT; k++) {
        const struct api_adapter *a = api_adapters[k];
        if (strcmp(s, a->name) == 0 || (a->alias && strcmp(s, a->alias) == 0)) {
            *out = (enum api_kind)k;
            return 0;
        }
    }
    return -1;
}

const char *api_path(enum api_kind k)
{
    return adapter(k) ? adapter(k)->path : NULL;
}

enum api_kind api_from_endpoint(const char *path)
{
    size_t n = path ? strlen(path) : 0, best = 0;
    enum api_kind kind = API_AUTO;

    for (unsigned k = 0; k < API__COUNT; k++) {
        const char *sfx[2] = { api_adapters[k]->suffix, api_adapters[k]->native_suffix };
        for (int i = 0; i < 2; i++) {
            size_t m = sfx[i] ? strlen(sfx[i]) : 0;
            if (m > best && m <= n && strcmp(path + n - m, sfx[i]) == 0) {
                best = m;
                kind = (enum api_kind)k;
            }
        }
    }
    return kind;
}

const char *api_accept(enum api_kind k)
{
    if (!adapter(k) || !adapter(k)->build)
        return NULL;
    return adapter(k)->framing == API_FRAME_NDJSON ? "application/x-ndjson" : "text/event-stream";
}

const struct api_family *api_family(enum api_kind k)
{
    return adapter(k) ? adapter(k)->family : NULL;
}

int api_is_chat(enum api_kind k)
{
    return adapter(k) && adapter(k)->chat;
}

int api_is_ollama(enum api_kind k)
{
    return api_family(k) && api_family(k) == api_ollama_generate.family;
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
    const struct api_adapter *a = adapter(k);

    if (!r || !buf || !a || !a->build)
        return -1;
    a->build(a, r, &w);
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
    ev->reasoning_tokens = -1;
    ev->event_tokens = -1;
    ev->eval_tokens = -1;
    ev->eval_duration_ns = -1;
    ev->prompt_eval_tokens = -1;
    ev->prompt_eval_duration_ns = -1;
    ev->cached_tokens = -1;
    ev->total_duration_ns = -1;
    ev->load_duration_ns = -1;
}

void api_take_text(struct api_event *ev, const char *js, const jsmntok_t *t, int i, int kind)
{
    /* llama.cpp sends "content":"" before its final event and vLLM sends it
     * with the role: only non-empty text is generated output.  Content
     * wins over tool calls and reasoning because callers read it first. */
    if (i < 0 || ev->content || t[i].type != JSMN_STRING || t[i].end <= t[i].start)
        return;
    ev->content = 1;
    ev->reasoning = kind == API_TEXT_REASONING;
    ev->tool = kind == API_TEXT_TOOL;
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

void api_take_tool_calls(struct api_event *ev, const char *js, const jsmntok_t *t, int n, int arr)
{
    static const struct json_key call_keys[] = { JSON_KEY("function") };
    static const struct json_key fn_keys[] = { JSON_KEY("name"), JSON_KEY("arguments") };
    int name = -1, args = -1;

    if (arr < 0 || t[arr].type != JSMN_ARRAY)
        return;
    for (int k = 0; k < t[arr].size; k++) {
        int e = json_index(t, n, arr, k), fn, f[2];

        if (json_members(js, t, n, e, call_keys, 1, &fn) == 0 ||
            json_members(js, t, n, fn, fn_keys, 2, f) == 0)
            continue;
        /* A call begins with its name; later deltas carry only arguments. */
        if (f[0] >= 0 && t[f[0]].type == JSMN_STRING && t[f[0]].end > t[f[0]].start) {
            ev->tool_calls++;
            if (name < 0)
                name = f[0];
        }
        if (args < 0 && f[1] >= 0 && t[f[1]].type == JSMN_STRING && t[f[1]].end > t[f[1]].start)
            args = f[1];
    }
    api_take_text(ev, js, t, args >= 0 ? args : name, API_TEXT_TOOL);
}

void api_take_finish(struct api_event *ev, const char *js, const jsmntok_t *t, int i)
{
    if (i < 0 || t[i].type != JSMN_STRING || t[i].end <= t[i].start)
        return;
    ev->finish = 1;
    ev->finish_reason = js + t[i].start;
    ev->finish_reason_len = (size_t)(t[i].end - t[i].start);
}

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
    int e = top[API_K_ERROR], o = top[API_K_OBJECT];

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
        take_string(js, t, top[API_K_ERROR_TYPE], &ev->errtype, &ev->errtype_len);
    } else if (o >= 0 && json_eq(js, &t[o], "error")) {
        ev->error = 1;
        take_string(js, t, top[API_K_MESSAGE], &ev->errmsg, &ev->errmsg_len);
        take_string(js, t, top[API_K_TYPE], &ev->errtype, &ev->errtype_len);
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

int api_tokenize_event(const char **data, size_t *len, struct api_event *ev,
                       jsmntok_t *t, unsigned ntokens, int elide, int *n)
{
    api_event_clear(ev);
    if (!*data)
        return *len ? -1 : 0;
    trim(data, len);
    if (*len == 0)
        return 0;
    if (sse_is_done(*data, *len)) {
        ev->done = 1;
        return 0;
    }
    if (!t || ntokens == 0)
        return -2;
    *n = elide ? json_tokenize_elide(*data, *len, t, ntokens) : json_tokenize(*data, *len, t, ntokens);
    if (*n == JSMN_ERROR_NOMEM)
        return -2;
    if (*n <= 0 || t[0].type != JSMN_OBJECT)
        return -1;
    return 1;
}

void api_interpret(const struct api_adapter *a, const char *js, const jsmntok_t *t, int n,
                   struct api_event *ev)
{
    int top[API_TOP_MAX];

    json_members(js, t, n, 0, a->keys, a->nkeys, top);
    read_error(js, t, n, top, ev);
    a->interpret(js, t, n, top, ev);
}

int api_readings(const struct api_adapter **out)
{
    int m = 0;

    for (unsigned k = 0; k < API__COUNT; k++) {
        int seen = 0;
        for (int j = 0; j < m && !seen; j++)
            seen = out[j]->interpret == api_adapters[k]->interpret;
        if (!seen)
            out[m++] = api_adapters[k];
    }
    return m;
}

/* Every other adapter's reading, each with its own keys, in table order. */
static void auto_interpret(const char *js, const jsmntok_t *t, int n, const int *top,
                           struct api_event *ev)
{
    const struct api_adapter *r[API__COUNT];
    int nr = api_readings(r);

    (void)top;
    for (int i = 0; i < nr; i++) {
        int own[API_TOP_MAX];
        if (r[i] == &api_auto)
            continue;
        json_members(js, t, n, 0, r[i]->keys, r[i]->nkeys, own);
        r[i]->interpret(js, t, n, own, ev);
    }
}

int api_parse_event(enum api_kind k, const char *data, size_t len,
                    struct api_event *ev, void *tokens, unsigned ntokens)
{
    const struct api_adapter *a = adapter(k) ? adapter(k) : &api_auto;
    int n = 0;
    int rc = api_tokenize_event(&data, &len, ev, tokens, ntokens, 1, &n);

    if (rc <= 0)
        return rc;
    api_interpret(a, data, tokens, n, ev);
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
        int top[API_K__ERRORS];

        json_members(data, t, n, 0, auto_keys, API_K__ERRORS, top);
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

