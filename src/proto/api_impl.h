#ifndef LLMLOAD_API_IMPL_H
#define LLMLOAD_API_IMPL_H
/* Private to api.c and its adapters (api_openai.c, api_ollama.c): the
 * body writer and the field readers they share.  Not for other modules. */
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

/* The top-level keys any adapter reads, found in one pass by
 * api_parse_event; top[K_x] is the value's token index or -1. */
enum api_top_key {
    K_ERROR, K_OBJECT, K_ERROR_TYPE, K_MESSAGE, K_TYPE,
    K_CHOICES, K_USAGE, K_TIMINGS, K_CONTENT, K_TOKENS, K_STOP, K_STOP_TYPE,
    K_RESPONSE, K_THINKING, K_DONE, K_DONE_REASON, K_EVAL_COUNT, K_PROMPT_EVAL_COUNT,
    K_TOTAL_DURATION, K_LOAD_DURATION, K_PROMPT_EVAL_DURATION, K_EVAL_DURATION,
    K__COUNT
};

/* Field readers over a tokenised event: each sets its outputs only when
 * the token (index i, -1 for absent) is present with the right type. */
void api_take_text(struct api_event *ev, const char *js, const jsmntok_t *t, int i, int reasoning);
void api_take_int(const char *js, const jsmntok_t *t, int i, int64_t *out);
void api_take_ms_as_ns(const char *js, const jsmntok_t *t, int i, int64_t *out);
void api_take_finish(struct api_event *ev, const char *js, const jsmntok_t *t, int i);

void api_openai_build(enum api_kind k, const struct api_request *r, struct api_writer *w);
void api_ollama_build(enum api_kind k, const struct api_request *r, struct api_writer *w);
void api_openai_interpret(const char *js, const jsmntok_t *t, int n, const int *top, struct api_event *ev);
void api_ollama_interpret(const char *js, const jsmntok_t *t, int n, const int *top, struct api_event *ev);

#endif
