/* A result document into an obs_live (obs_doc.h). */
#include "obs_doc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jdoc.h"

#define RESULT_SCHEMA "llmload.result/1"

double obs_iso8601_unix(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p)
        return NAN;
    double frac = 0;
    if (*p == '.') {
        char *end;
        frac = strtod(p, &end);
        p = end;
    }
    if (strcmp(p, "Z"))
        return NAN;
    return (double)timegm(&tm) + frac;
}

/* A whole, non-negative count at o[key]; 0 when absent. */
static uint64_t count_of(const cJSON *o, const char *key)
{
    double v = jdoc_num(o, key);
    return v >= 0 && v < 1.8e19 ? (uint64_t)v : 0;
}

void obs_doc_free(struct obs_doc *d)
{
    for (size_t i = 0; i < sizeof d->h / sizeof d->h[0]; i++)
        hist_free(d->h[i]);
    memset(d, 0, sizeof *d);
    obs_live_init(&d->live);
}

int obs_doc_load(struct obs_doc *d, const cJSON *doc, char *err, size_t errcap)
{
    memset(d, 0, sizeof *d);
    struct obs_live *l = &d->live;
    obs_live_init(l);
    const char *schema = jdoc_str(doc, "schema");
    if (!schema || strcmp(schema, RESULT_SCHEMA)) {
        snprintf(err, errcap, "not a result document (schema %s; want %s)",
                 schema ? schema : "missing", RESULT_SCHEMA);
        return -1;
    }
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(doc, "environment");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    if (!cJSON_IsObject(sum)) {
        snprintf(err, errcap, "result document without a summary");
        return -1;
    }
    l->labels.target = jdoc_str(cfg, "url");
    l->labels.model = jdoc_str(cfg, "model");
    l->labels.api = jdoc_str(cfg, "api");
    /* The run's own id when the document has one (the one its live metrics
     * carried), else its start time: two runs never share it, and the same
     * document exported twice gets the same series. */
    l->labels.run_id = jdoc_str(env, "run_id");
    if (!l->labels.run_id)
        l->labels.run_id = jdoc_str(env, "start_time");
    l->concurrency = count_of(cfg, "concurrency");
    l->start_unix_s = obs_iso8601_unix(jdoc_str(env, "start_time"));
    l->ok = count_of(sum, "ok");
    l->failed = count_of(sum, "failed");
    l->input_tokens = count_of(sum, "input_tokens");
    l->output_tokens = count_of(sum, "output_tokens");
    l->retries = count_of(sum, "retries");
    l->late = count_of(sum, "late");
    l->elapsed_s = jdoc_num(sum, "duration_s");
    l->finished = 1;
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(sum, "errors");
    for (int c = ERR_NONE + 1; c < ERR__COUNT; c++)
        l->errors[c] = count_of(errs, err_class_name((enum err_class)c));
    const cJSON *client = cJSON_GetObjectItemCaseSensitive(sum, "client");
    l->loop_busy_frac = jdoc_num(client, "loop_busy_frac");
    l->loop_lag_max_s = jdoc_num(client, "loop_lag_max_s");
    l->loop_lag_p99_s = jdoc_num(client, "loop_lag_p99_s");

    static const struct { const char *key; size_t off; } tab[] = {
        { "ttft_ns", offsetof(struct obs_live, ttft) },
        { "itl_ns", offsetof(struct obs_live, itl) },
        { "tpot_ns", offsetof(struct obs_live, tpot) },
        { "e2e_ns", offsetof(struct obs_live, e2e) },
        { "queue_time_ns", offsetof(struct obs_live, queue_time) },
    };
    _Static_assert(sizeof tab / sizeof tab[0] == sizeof d->h / sizeof d->h[0],
                   "one owned histogram per entry");
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(doc, "histograms");
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(hs, tab[i].key);
        if (!j)
            continue;
        if (!(d->h[i] = hist_from_json(j))) {
            snprintf(err, errcap, "histograms.%s is not a valid histogram", tab[i].key);
            obs_doc_free(d);
            return -1;
        }
        *(const struct hist **)(void *)((char *)l + tab[i].off) = d->h[i];
    }
    return 0;
}
