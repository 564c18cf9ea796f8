#ifndef LLMLOAD_OBS_EXPO_H
#define LLMLOAD_OBS_EXPO_H
/* A run's measurements as Prometheus exposition text (format 0.0.4) or
 * OpenMetrics 1.0.0, written from a small struct the caller fills: the
 * engine from its live counters on every scrape, `llmload export` from a
 * saved result document.  Metric names, labels and buckets are listed in
 * docs/observability.md.
 *
 * Conventions: every name starts with llmload_, times are in seconds,
 * counters end in _total.  Every sample carries the run's constant labels
 * (target, model, api, run_id); the only other labels come from fixed
 * tables (outcome, error class, quantile, bucket bound), so the number of
 * series is bounded whatever the run does. */
#include <stdint.h>
#include <stdio.h>

#include "result.h"

struct obs_monitor;

enum obs_format { OBS_FMT_PROMETHEUS = 0, OBS_FMT_OPENMETRICS };

#define OBS_CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"
#define OBS_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The run's constant labels.  NULL or "" leaves a label out (a Pushgateway
 * grouping label must not be repeated in the body).  target must already
 * have its credentials removed. */
struct obs_labels {
    const char *target, *model, *api, *run_id;
};

/* What a scrape shows.  Fill it with zeroes first: a NULL histogram, a NaN
 * value and a NULL sweep_param leave their metrics out. */
struct obs_live {
    struct obs_labels labels;
    uint64_t ok, failed;                /* finished, warm-up excluded */
    uint64_t errors[ERR__COUNT];        /* failed requests by class */
    uint64_t input_tokens, output_tokens;
    uint64_t retries, late;
    uint64_t in_flight;                 /* requests being sent or read now */
    uint64_t queued;                    /* open loop: arrivals waiting for the cap */
    uint64_t concurrency;               /* the cap; 0: leave out */
    const struct hist *ttft, *itl, *tpot, *e2e, *queue_time;   /* ns */
    const char *sweep_param;            /* "concurrency", "rate", ...; NULL: not a sweep */
    double sweep_level;                 /* the level's value (a prompt set: its index) */
    uint64_t sweep_index;               /* 0-based */
    double start_unix_s;                /* wall clock at the start; NaN: unknown */
    double elapsed_s;                   /* measured so far; NaN: unknown */
    int finished;                       /* the run is over: these are the final values */
    double loop_busy_frac;              /* client self-check; NaN: unknown */
    double loop_lag_max_s, loop_lag_p99_s;
    const struct obs_monitor *monitor;  /* its latest sample; NULL: none */
};

/* Sets every field to "nothing known": zero counters, NaN values. */
void obs_live_init(struct obs_live *l);

/* Copies the counters and histogram pointers of s into l (labels, queue,
 * in-flight and sweep fields are the caller's).  The pointers stay valid as
 * long as s does. */
void obs_live_from_stats(struct obs_live *l, const struct run_stats *s);

/* The bucket upper bounds of every latency histogram, in seconds (+Inf is
 * implied): a 1-2-5 series from 0.5 ms to 10 min. */
extern const double obs_buckets_s[];
extern const size_t obs_nbuckets;

/* Writes the exposition.  0, or -1 when writing to f failed. */
int obs_expo_write(FILE *f, const struct obs_live *l, enum obs_format fmt);

/* The content type of fmt, for an HTTP answer or a push. */
const char *obs_content_type(enum obs_format fmt);

/* Appends s to f as a label value: quotes, backslashes and line breaks
 * escaped, invalid UTF-8 and control characters replaced (at most 512
 * bytes of s are kept). */
void obs_put_label_value(FILE *f, const char *s);

/* 1 when name is a valid label name that is not reserved (no leading
 * "__"), else 0. */
int obs_label_name_ok(const char *name);

#endif
