#ifndef LLMLOAD_API_IMPL_H
#define LLMLOAD_API_IMPL_H
/* Private to the api_* files of proto: the adapter table, the body writer
 * and the field readers the adapters share.  Not for other modules: they
 * use the accessors of api.h, which read the table. */
#include "api.h"
#include "json.h"

/* Appends to a fixed buffer; the first overflow sets err and every later
 * call is a no-op, so builders check once at the end. */
struct api_writer {
    char *buf; size_t cap; size_t pos;
    int err;
    int first;      /* no member written yet in the current object/array */
};

void api_w_raw(struct api_writer *w, const char *s);
void api_w_str(struct api_writer *w, const char *s);
/* Writes a, sep and b as one JSON string. */
void api_w_str_join(struct api_writer *w, const char *a, const char *sep, const char *b);
/* Writes the separator (when needed) and "key": */
void api_w_key(struct api_writer *w, const char *key);
void api_w_open(struct api_writer *w, char c);   /* '{' or '[' */
void api_w_close(struct api_writer *w, char c);  /* '}' or ']' */
void api_w_elem(struct api_writer *w);           /* separator before an array element */
void api_w_int(struct api_writer *w, const char *key, int64_t v);
void api_w_double(struct api_writer *w, const char *key, double v);
void api_w_bool(struct api_writer *w, const char *key, int v);
void api_w_kstr(struct api_writer *w, const char *key, const char *s);
/* The prompt a single-prompt API gets: prompt, else the last message. */
const char *api_req_prompt(const struct api_request *r);
/* Writes "messages":[...] (system first when set and not already there). */
void api_w_messages(struct api_writer *w, const struct api_request *r);

/* The top-level keys of the error shapes every server uses, which api.c
 * reads whatever the adapter.  Every adapter's key table starts with
 * them (API_ERROR_KEYS), so one pass over an event's members finds the
 * error keys and the adapter's own.  An adapter that needs one of these
 * names for itself (Ollama's chat "message") reads it at its index here:
 * json_members fills only the first of two equal keys. */
enum api_error_key { API_K_ERROR, API_K_OBJECT, API_K_ERROR_TYPE, API_K_MESSAGE, API_K_TYPE,
                     API_K__ERRORS };
#define API_ERROR_KEYS \
    [API_K_ERROR] = JSON_KEY("error"), [API_K_OBJECT] = JSON_KEY("object"), \
    [API_K_ERROR_TYPE] = JSON_KEY("error_type"), [API_K_MESSAGE] = JSON_KEY("message"), \
    [API_K_TYPE] = JSON_KEY("type")
/* Room for the top-level key indexes of any adapter. */
#define API_TOP_MAX 32

enum api_framing { API_FRAME_SSE, API_FRAME_NDJSON };

/* One server API, the way wrk's `struct sock` is one transport: the
 * engine and the decoders call through it and never ask which it is.
 * Adding a server's native API is one file that defines its adapter and
 * one entry in api_adapters[] (api.c), under a new enum api_kind. */
struct api_adapter {
    const char *name;              /* the --api value: "openai-chat" */
    const char *alias;             /* a shorter name for it ("openai"), or NULL */
    const char *path;              /* the endpoint a base URL gets: "/v1/chat/completions" */
    const char *suffix;            /* a URL path ending in this names this API ("/chat/completions") */
    const char *native_suffix;     /* another server's own endpoint that takes this API's body
                                      and sends events it reads ("/completion"), or NULL */
    enum api_framing framing;      /* how a streamed response is framed (the Accept header) */
    const struct api_family *family;
    unsigned chat : 1;             /* the body carries messages, not a prompt */
    /* The top-level keys interpret reads: the API_ERROR_KEYS first, then
     * the adapter's own (an enum of its own indexes them). */
    const struct json_key *keys; int nkeys;
    /* Writes the request body.  NULL: this kind sends nothing (auto). */
    void (*build)(const struct api_adapter *a, const struct api_request *r, struct api_writer *w);
    /* Sets what the event means: text, terminal flags (done:true,
     * stop:true; the SSE [DONE] sentinel is api.c's, sse_is_done), finish
     * reason, counts and server timings.  top[k] is the token index of
     * keys[k] in the top-level object, -1 when absent; errors are read
     * already. */
    void (*interpret)(const char *js, const jsmntok_t *t, int n, const int *top, struct api_event *ev);
};

/* Indexed by enum api_kind. */
extern const struct api_adapter *const api_adapters[API__COUNT];
extern const struct api_adapter api_openai_chat, api_openai_completions;
extern const struct api_adapter api_ollama_generate, api_ollama_chat;

/* Field readers over a tokenised event: each sets its outputs only when
 * the token (index i, -1 for absent) is present with the right type. */
/* What a text is: the answer, reasoning, or a tool call's. */
enum { API_TEXT_ANSWER, API_TEXT_REASONING, API_TEXT_TOOL };
void api_take_text(struct api_event *ev, const char *js, const jsmntok_t *t, int i, int kind);
/* The tool calls of the array at arr (OpenAI delta.tool_calls, Ollama
 * message.tool_calls): counts the calls that begin (a function name) and
 * takes as text the first non-empty string arguments, else the first name.
 * Ollama's arguments are an object, so its text is the name. */
void api_take_tool_calls(struct api_event *ev, const char *js, const jsmntok_t *t, int n, int arr);
void api_take_int(const char *js, const jsmntok_t *t, int i, int64_t *out);
void api_take_ms_as_ns(const char *js, const jsmntok_t *t, int i, int64_t *out);
void api_take_finish(struct api_event *ev, const char *js, const jsmntok_t *t, int i);

/* The two halves of api_parse_event, for api_shape.c, which reads one
 * tokenised event several ways.  api_tokenize_event clears ev, trims
 * data, and returns 1 with *n tokens ready, 0 when ev is already final
 * (empty data, [DONE]), or api_parse_event's negative code; elide = 0
 * refuses an event too large for the tokens.  api_interpret reads the
 * errors and lets adapter a say the rest. */
int api_tokenize_event(const char **data, size_t *len, struct api_event *ev,
                       jsmntok_t *t, unsigned ntokens, int elide, int *n);
void api_interpret(const struct api_adapter *a, const char *js, const jsmntok_t *t, int n,
                   struct api_event *ev);
/* The adapters that read events differently (one per interpret, auto
 * included), in table order, into out[API__COUNT]; returns their count. */
int api_readings(const struct api_adapter **out);

#endif
