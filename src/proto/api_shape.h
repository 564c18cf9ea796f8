#ifndef LLMLOAD_API_SHAPE_H
#define LLMLOAD_API_SHAPE_H
/* The fast path of api_parse_event: an event with the shape of the last
 * ones is read without JSON work.  The engine can switch it off
 * (LLMLOAD_NO_FAST_PATH=1, docs/decoders.md): every event then takes the
 * full parse, which is what the fast path must always agree with. */
#include <stddef.h>
#include <stdint.h>

#include "api.h"

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
    unsigned at : 10;            /* the digits go just before b[at] */
    unsigned number : 1;         /* a number's integer part: no leading zero */
    unsigned fields : 16;        /* count fields of api_event set to its value (bits, api_shape.c) */
};
struct api_shape {
    uint16_t pre, post;          /* template bytes before/after the text; 0/0: nothing learned */
    uint8_t nruns, npre;         /* variable runs in run[], the first npre in pre */
    uint8_t kind;                /* the text's kind: reasoning, tool call (api_shape.c) */
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
