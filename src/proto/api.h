#ifndef LLMLOAD_API_H
#define LLMLOAD_API_H
/* API adapters: what the fields of each server's request and events mean.
 *
 * An adapter never sees bytes split across reads: the decoders (sse.h,
 * ndjson.h) hand it whole events.  It never allocates: JSON is tokenised
 * with jsmn into a caller-provided token array, and text comes back as
 * slices of the event (still JSON-escaped: json_unescape() decodes them).
 *
 * Each kind is one entry of a table of adapters (api_impl.h): name, path,
 * framing, body builder and event reader.  The accessors below read that
 * table; nothing outside it asks which server it talks to.  The OpenAI
 * adapters (api_openai.c) also understand llama.cpp's native /completion
 * events (top-level content/stop/timings) and the error shapes of vLLM,
 * TGI and SGLang; the Ollama adapters (api_ollama.c) read /api/generate
 * and /api/chat lines.  API_AUTO applies every adapter's reading. */
#include <stddef.h>
#include <stdint.h>

enum api_kind {
    API_AUTO = 0,
    API_OLLAMA_GENERATE,     /* POST /api/generate, NDJSON */
    API_OLLAMA_CHAT,         /* POST /api/chat, NDJSON */
    API_OPENAI_CHAT,         /* POST /v1/chat/completions, SSE */
    API_OPENAI_COMPLETIONS,  /* POST /v1/completions, SSE */
    API__COUNT
};

/* "auto", "ollama-generate", "ollama-chat", "openai-chat",
 * "openai-completions"; "?" for a value out of range. */
const char *api_name(enum api_kind k);
/* Accepts the names above (and "ollama" = ollama-generate, "openai" =
 * openai-chat); 0, or -1 if unknown (*out untouched). */
int api_from_name(const char *s, enum api_kind *out);
/* "/v1/chat/completions" ...; NULL for API_AUTO and out-of-range values. */
const char *api_path(enum api_kind k);
/* The kind a URL path names by its ending ("/v1/chat/completions",
 * "/x/completions", "/api/generate", or another server's native endpoint
 * that takes that kind's body: llama.cpp's "/completion"; the longest
 * ending wins), else API_AUTO. */
enum api_kind api_from_endpoint(const char *path);
/* The Accept header of a streamed request: "text/event-stream" or
 * "application/x-ndjson"; NULL for API_AUTO and out-of-range values. */
const char *api_accept(enum api_kind k);

/* What a family of servers answers besides generation (llmload check). */
struct api_family {
    const char *protocol;          /* "openai", "ollama" */
    const char *version_path;      /* "/version", "/api/version" */
    const char *models_path;       /* "/v1/models" (next to the URL's own /v1), "/api/tags" */
    const char *models_list;       /* the array of models in its reply: "data", "models" */
    const char *model_name;        /* a model's name in that array: "id", "name" */
};
/* NULL for API_AUTO and out-of-range values. */
const struct api_family *api_family(enum api_kind k);
/* The kind's requests carry messages (a conversation), not one prompt. */
int api_is_chat(enum api_kind k);
/* The kind is one of Ollama's native APIs. */
int api_is_ollama(enum api_kind k);

/* One chat message (multi-turn workloads).  role NULL means "user". */
struct api_message { const char *role; const char *content; };

/* What one request asks for.  Strings are UTF-8, not yet JSON-escaped. */
struct api_request {
    const char *model;             /* NULL: the key is not sent */
    const char *prompt;            /* used when nmessages == 0; NULL = "" */
    const char *system;            /* NULL: none */
    const struct api_message *messages; size_t nmessages;
    int64_t max_tokens;            /* < 0: not sent */
    int64_t min_tokens;            /* > 0: ask for at least this many (vLLM, llama.cpp, SGLang) */
    int ignore_eos;                /* ask the server not to stop early */
    double temperature;            /* NaN (or inf): not sent */
    int64_t seed;                  /* < 0: not sent */
    int stream;
    int include_usage;             /* OpenAI: stream_options.include_usage */
};

/* Writes the JSON body into buf (NUL-terminated when room is left).
 * Returns its length, or -1 when it does not fit (the caller may retry
 * with a larger buffer) or k is not one of the four concrete kinds. */
long api_build_body(enum api_kind k, const struct api_request *r, char *buf, size_t cap);

/* The meaning of one event (a streamed chunk, or a whole non-streamed
 * body).  Integer fields are -1 when the event did not carry them. */
struct api_event {
    unsigned content : 1;     /* carries generated text of non-zero length
                                 (content, text, response, message.content,
                                 reasoning, reasoning_content, thinking, or a
                                 tool call's arguments or name) */
    unsigned reasoning : 1;   /* that text was reasoning/thinking */
    unsigned tool : 1;        /* that text was a tool call's: a piece of its arguments,
                                 else its function name (OpenAI delta.tool_calls[],
                                 Ollama message.tool_calls[]) */
    unsigned done : 1;        /* terminal: [DONE], done:true, llama.cpp stop:true */
    unsigned error : 1;       /* in-stream error: {"error":...} in any form */
    unsigned finish : 1;      /* carried a finish_reason / done_reason / stop_type */
    unsigned truncated : 1;   /* the server cut the prompt to fit its context
                                 (llama.cpp's "truncated": true on the last event) */
    const char *text; size_t text_len;        /* escaped JSON string content */
    const char *errmsg; size_t errmsg_len;    /* escaped; error.message or error string
                                                 (the raw error JSON when it has no message) */
    const char *errtype; size_t errtype_len;  /* error.type, TGI error_type; NULL if none */
    const char *finish_reason; size_t finish_reason_len;
    int tool_calls;                /* tool calls this event begins: OpenAI delta.tool_calls[]
                                      elements with a function name, Ollama message.tool_calls[]
                                      elements; 0 none */
    int64_t completion_tokens;     /* the server's output count: usage.completion_tokens,
                                      Ollama eval_count, else llama.cpp timings.predicted_n */
    int64_t prompt_tokens;         /* usage.prompt_tokens, prompt_eval_count, else timings.prompt_n */
    int64_t reasoning_tokens;      /* of completion_tokens, those that were reasoning:
                                      usage.completion_tokens_details.reasoning_tokens */
    int64_t event_tokens;          /* tokens in this event when the server says (llama.cpp
                                      native `tokens` array length) */
    /* Server-side timings, in the same terms whichever server sent them:
     * the engine copies them to the request's record as they are. */
    int64_t eval_tokens;           /* tokens generated within eval_duration_ns: Ollama
                                      eval_count, llama.cpp timings.predicted_n */
    int64_t eval_duration_ns;      /* Ollama eval_duration, llama.cpp predicted_ms*1e6 */
    int64_t prompt_eval_tokens;    /* prompt tokens evaluated, not served from a cache:
                                      Ollama prompt_eval_count, llama.cpp timings.prompt_n */
    int64_t prompt_eval_duration_ns; /* Ollama prompt_eval_duration, llama.cpp prompt_ms*1e6 */
    int64_t cached_tokens;         /* prompt tokens served from a cache: llama.cpp timings.cache_n */
    int64_t total_duration_ns;     /* Ollama total_duration */
    int64_t load_duration_ns;      /* Ollama load_duration */
};

void api_event_clear(struct api_event *ev);

/* Interprets one event's JSON, or the [DONE] sentinel (sse_is_done: it
 * gives done).  tokens/ntokens is scratch space for jsmn (jsmntok_t of
 * json.h, 20 bytes; 1024 is plenty for chunks).  When the array is too small for the event, top-level member
 * values that do not fit are skipped (json_tokenize_elide), so Ollama's
 * final generate line still yields its counts and durations however long
 * its `context` array.  Data that is empty or only whitespace yields a
 * cleared event.  Returns 0; -1 when the JSON is malformed or not an
 * object (a protocol error); -2 when tokens is too small even for the
 * top-level keys. */
int api_parse_event(enum api_kind k, const char *data, size_t len,
                    struct api_event *ev, void *tokens, unsigned ntokens);

/* Interprets the value of a non-standard SSE "error:" field (old
 * llama.cpp: `error: {"code":500,"message":"...","type":"server_error"}`)
 * or the data of an "event: error" event.  Always sets ev->error; errmsg
 * is the message when the value is JSON that has one, else the raw value.
 * Returns 0. */
int api_parse_error(const char *data, size_t len, struct api_event *ev,
                    void *tokens, unsigned ntokens);

#endif
