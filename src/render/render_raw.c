/* Reading a run's --raw JSONL (docs/schema.md) into the few numbers per
 * request the per-request figures need.  100,000 requests are about 5 MB
 * here, whatever their event count. */
#include "render_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "jdoc.h"

static double num_or_nan(const cJSON *o, const char *key)
{
    return jdoc_num(o, key);
}

static int class_index(struct raw_data *r, const char *name)
{
    for (size_t i = 0; i < r->nclasses; i++)
        if (!strcmp(r->classes[i], name))
            return (int)i;
    if (r->nclasses == RAW_MAX_CLASSES)
        return (int)r->nclasses - 1;   /* more classes than llmload has: lump the rest */
    if (!(r->classes[r->nclasses] = strdup(name)))
        return -2;
    return (int)r->nclasses++;
}

/* The event times are most of a line and no figure needs them: their
 * array is replaced by 0 before the line is parsed, which makes reading a
 * --raw file about four times faster.  The array holds numbers only, so
 * its first ']' ends it. */
static size_t drop_events(char *line, size_t len)
{
    static const char key[] = "\"events_s\":[";
    char *k = strstr(line, key);
    if (!k)
        return len;
    char *open = k + sizeof key - 2;
    char *close = memchr(open, ']', len - (size_t)(open - line));
    if (!close)
        return len;
    *open = '0';
    size_t tail = len - (size_t)(close + 1 - line);
    memmove(open + 1, close + 1, tail + 1);   /* with the terminating NUL */
    return (size_t)(open + 1 - line) + tail;
}

static int by_start(const void *a, const void *b)
{
    const struct raw_req *x = a, *y = b;
    if (x->start != y->start)
        return (x->start > y->start) - (x->start < y->start);
    return (x->end > y->end) - (x->end < y->end);
}

int raw_load(const char *path, struct raw_data *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = -1;
    char *line = NULL;
    size_t lcap = 0, cap = 0, lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if (len <= 1)
            continue;
        cJSON *o = cJSON_ParseWithLength(line, drop_events(line, (size_t)len));
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            snprintf(err, errcap, "%s:%zu: not a JSON object (is this a --raw file?)", path, lineno);
            goto out;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "warmup"))) {
            cJSON_Delete(o);
            continue;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            struct raw_req *nr = realloc(out->req, ncap * sizeof *nr);
            if (!nr) {
                cJSON_Delete(o);
                snprintf(err, errcap, "%s: out of memory", path);
                goto out;
            }
            out->req = nr;
            cap = ncap;
        }
        struct raw_req *q = &out->req[out->n];
        q->start = num_or_nan(o, "start_s");
        q->end = num_or_nan(o, "end_s");
        q->sched = num_or_nan(o, "scheduled_s");
        q->first = num_or_nan(o, "first_token_s");
        q->last = num_or_nan(o, "last_token_s");
        double t = num_or_nan(o, "output_tokens");
        q->tokens = isfinite(t) ? t : 0;
        q->ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
        q->cls = -1;
        if (!q->ok) {
            const char *e = jdoc_str(o, "error");
            q->cls = class_index(out, e ? e : "unknown");
        }
        cJSON_Delete(o);
        if (q->cls == -2) {
            snprintf(err, errcap, "%s: out of memory", path);
            goto out;
        }
        if (!isfinite(q->start) || !isfinite(q->end)) {
            snprintf(err, errcap, "%s:%zu: no start_s/end_s (is this a --raw file?)", path, lineno);
            goto out;
        }
        out->n++;
    }
    if (ferror(f)) {
        snprintf(err, errcap, "%s: read error", path);
        goto out;
    }
    /* The file is in completion order; the figures want start order. */
    if (out->n)
        qsort(out->req, out->n, sizeof *out->req, by_start);
    rc = 0;
out:
    free(line);
    fclose(f);
    if (rc < 0)
        raw_free(out);
    return rc;
}

void raw_free(struct raw_data *r)
{
    if (!r)
        return;
    free(r->req);
    for (size_t i = 0; i < r->nclasses; i++)
        free(r->classes[i]);
    memset(r, 0, sizeof *r);
}
