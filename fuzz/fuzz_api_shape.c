/* libFuzzer target: the shape fast path (api_shape_match / _learn in
 * src/proto/api_shape.c) must never disagree with the full parse.
 *
 * Input: one byte selecting the API kind, then events separated by '\n'.
 * They go through the same match-else-parse-and-learn flow as conn.c; every
 * event the shape accepts is parsed in full too, and the two events must be
 * equal field by field (text slices by content).  Each event is copied to
 * its own allocation, so ASan catches any read past its end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_shape.h"
#include "json.h"

static jsmntok_t toks[1024];

static int same_slice(const char *a, size_t an, const char *b, size_t bn)
{
    return (a == NULL) == (b == NULL) && an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void check_same(const struct api_event *a, const struct api_event *b)
{
    if (a->content != b->content || a->reasoning != b->reasoning || a->tool != b->tool ||
        a->tool_calls != b->tool_calls || a->done != b->done ||
        a->error != b->error || a->finish != b->finish ||
        !same_slice(a->text, a->text_len, b->text, b->text_len) ||
        !same_slice(a->errmsg, a->errmsg_len, b->errmsg, b->errmsg_len) ||
        !same_slice(a->errtype, a->errtype_len, b->errtype, b->errtype_len) ||
        !same_slice(a->finish_reason, a->finish_reason_len, b->finish_reason, b->finish_reason_len) ||
        a->completion_tokens != b->completion_tokens || a->prompt_tokens != b->prompt_tokens ||
        a->reasoning_tokens != b->reasoning_tokens ||
        a->event_tokens != b->event_tokens || a->eval_tokens != b->eval_tokens ||
        a->eval_duration_ns != b->eval_duration_ns || a->prompt_eval_tokens != b->prompt_eval_tokens ||
        a->prompt_eval_duration_ns != b->prompt_eval_duration_ns ||
        a->cached_tokens != b->cached_tokens || a->total_duration_ns != b->total_duration_ns ||
        a->load_duration_ns != b->load_duration_ns)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum api_kind k = (enum api_kind)(data[0] % API__COUNT);
    struct api_shape s;
    api_shape_reset(&s);
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        size_t n = (size_t)(nl - p);
        char *ev = malloc(n ? n : 1);
        if (!ev)
            return 0;
        memcpy(ev, p, n);
        struct api_event fast, full;
        int m = api_shape_match(&s, ev, n, &fast);
        int rc = api_parse_event(k, ev, n, &full, toks, 1024);
        if (m) {
            if (rc != 0)
                abort();
            check_same(&fast, &full);
        } else if (rc == 0) {
            api_shape_learn(&s, ev, n, &full);
        }
        free(ev);
        p = nl + 1;
    }
    return 0;
}
