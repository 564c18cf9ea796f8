#ifndef LLMLOAD_API_H
#define LLMLOAD_API_H
/* API adapters: what the fields of each server's request and events mean.
 *
 * An adapter never sees bytes split across reads: the decoders (sse.h,
 * ndjson.h) hand it whole events.  It never allocates: JSON is tokenised
 * with jsmn into a caller-provided token array, and text comes back as
 * slices of the event (still JSON-escaped: json_unescape() decodes them).
 *
 * The OpenAI adapter (api_openai.c) also understands llama.cpp's native
 * /completion events (top-level content/stop/timings) and the error
 * shapes of vLLM, TGI and SGLang; the Ollama adapter (api_ollama.c) reads
 * /api/generate and /api/chat lines.  API_AUTO applies both. */
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
                                 reasoning, reasoning_content, thinking) */
    unsigned reasoning : 1;   /* that text was reasoning/thinking */
    unsigned done : 1;        /* terminal: [DONE], done:true, llama.cpp stop:true */
    unsigned error : 1;       /* in-stream error: {"error":...} in any form */
    unsigned finish : 1;      /* carried a finish_reason / done_reason / stop_type */
    const char *text; size_t text_len;        /* escaped JSON string content */
    const char *errmsg; size_t errmsg_len;    /* escaped; error.message or error string
                                                 (the raw error JSON when it has no message) */
    const char *errtype; size_t errtype_len;  /* error.type, TGI error_type; NULL if none */
    const char *finish_reason; size_t finish_reason_len;
    int64_t completion_tokens;     /* usage.completion_tokens, eval_count, else timings.predicted_n */
    int64_t prompt_tokens;         /* usage.prompt_tokens, prompt_eval_count, else timings.prompt_n */
    int64_t timings_predicted_n;   /* llama.cpp timings.predicted_n */
    int64_t timings_prompt_n;      /* llama.cpp timings.prompt_n (prompt tokens not from cache) */
    int64_t event_tokens;          /* tokens in this event when the server says (llama.cpp
                                      native `tokens` array length) */
    int64_t total_duration_ns;     /* Ollama */
    int64_t load_duration_ns;
    int64_t prompt_eval_duration_ns; /* Ollama prompt_eval_duration, llama.cpp prompt_ms*1e6 */
    int64_t eval_duration_ns;      /* Ollama eval_duration, llama.cpp predicted_ms*1e6 */
};

void api_event_clear(struct api_event *ev);

/* Interprets one event's JSON (or the literal [DONE]).  tokens/ntokens is
 * scratch space for jsmn (jsmntok_t of json.h, 20 bytes; 1024 is plenty
 * for chunks).  When the array is too small for the event, top-level member
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

/* The shape of a stream's plain content events, to skip JSON work.
 *
 * Successive content chunks of one stream are byte-identical except for
 * their text and a few numbers: an Ollama line's created_at, a `created`
 * second that ticks, the usage counts vLLM's continuous_usage_stats puts
 * in every chunk.  After a full parse of a plain content event (text, and
 * no done, finish or error), api_shape_learn keeps the bytes before and
 * after the text, where some maximal runs of ASCII digits are variable.
 * api_shape_match accepts an event only when it has exactly the other
 * bytes around a valid, non-empty JSON string body, and one or more digits
 * at each variable run; it then fills ev as api_parse_event would, reading
 * the count fields a run carries (usage.completion_tokens...) from its
 * digits.  Anything else falls back to the parse.
 *
 * Which runs vary is learned from two events of the same shape: the runs
 * that changed between them (with the rest of their string or number),
 * and the whole numbers the counts copy, found by giving each candidate a
 * value of its own and seeing which count follows which.  They become
 * variable only when full parses of the event with all of them replaced
 * at once, by distinct large values, distinct small ones and zero, give
 * the same event but for counts that took exactly their run's new value.
 * Digits in keys, in \u escapes and in malformed numbers stay exact.  A
 * new shape is kept as it is (with counts it cannot match before a second
 * event); when a run that changed cannot vary (a float of milliseconds)
 * or a count is not a whole number of its own, the shape is kept but
 * marked unusable, and the next events of that shape cost next to no work.
 * Learning costs a handful of parses when a shape first varies, a few
 * times per stream.
 *
 * This is hand-written because no JSON library offers template matching.
 * It only ever answers "same as before, with these digits", and learns
 * what digits mean from api_parse_event itself, never by interpreting
 * JSON on its own. */
/* A vLLM chunk with usage and a long model name is about 300 bytes
 * besides its text; Ollama's created_at has 7 runs of digits.  The struct
 * is 394 bytes. */
#define API_SHAPE_MAX 336
#define API_SHAPE_RUNS 12
struct api_shape_run {
    uint16_t at;                 /* the digits go just before b[at] */
    uint8_t number;              /* a number's integer part: no leading zero */
    uint8_t fields;              /* count fields of api_event set to its value (bits, api.c) */
};
struct api_shape {
    uint16_t pre, post;          /* template bytes before/after the text; 0/0: nothing learned */
    uint8_t nruns, npre;         /* variable runs in run[], the first npre in pre */
    uint8_t reasoning;
    uint8_t state;               /* 0: matches; else learned only to compare later events with */
    uint8_t skip;                /* unusable: events to let pass before comparing again */
    struct api_shape_run run[API_SHAPE_RUNS];
    char b[API_SHAPE_MAX];       /* pre bytes, then post bytes, less the variable digits */
};

/* Forgets everything learned (a new stream). */
void api_shape_reset(struct api_shape *s);
/* Learns from data, an event api_parse_event has just read as ev (in the
 * same buffer) and api_shape_match had declined.  Events that are not plain
 * content leave s as it was.  Never allocates; uses about 9 KiB of stack. */
void api_shape_learn(struct api_shape *s, const char *data, size_t len, const struct api_event *ev);
/* 1 and ev filled when data has the learned shape, else 0 (ev untouched). */
int api_shape_match(const struct api_shape *s, const char *data, size_t len, struct api_event *ev);

#endif
