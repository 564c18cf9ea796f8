#ifndef LLMLOAD_OBS_PUSH_H
#define LLMLOAD_OBS_PUSH_H
/* Pushes to a Prometheus Pushgateway (--push URL): the exposition of a run
 * sent to URL/metrics/job/JOB[/LABEL/VALUE...], the group named by the job
 * and the grouping labels (--push-label).
 *
 * POST by default: it replaces only the metrics of the same names in the
 * group, so nothing else a user pushed there is lost.  PUT (--push-replace)
 * replaces the whole group.  Nothing here ever sends DELETE.
 *
 * The final push is blocking (after the run's loop has ended); the pushes
 * every --push-interval run on the run's loop, one at a time: a push still
 * going when the next is due makes that one skipped, never queued. */
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "obs_expo.h"
#include "obs_http.h"
#include "obs_net.h"

#define OBS_PUSH_LABELS_MAX 16
#define OBS_PUSH_TIMEOUT_MS 10000

struct obs_push_label {
    char name[64];
    char value[256];
};

struct obs_push_cfg {
    struct obs_url url;                 /* the gateway, resolved */
    char job[128];                      /* default "llmload" */
    struct obs_push_label labels[OBS_PUSH_LABELS_MAX];
    size_t nlabels;
    int replace;                        /* PUT instead of POST */
};

void obs_push_cfg_init(struct obs_push_cfg *c);

/* Adds a grouping label from "NAME=VALUE" (a later one with the same name
 * replaces it).  0, or -1 with err: a bad name ("job" is --push-job's),
 * no '=', or too many labels. */
int obs_push_label_add(struct obs_push_cfg *c, const char *kv, char *err, size_t errcap);

/* The request path: the URL's path, then /metrics/job/JOB and each label
 * as /NAME/VALUE, a value that is not plain URL text (or is empty) written
 * NAME@base64/VALUE in URL-safe base64, as the Pushgateway reads it.
 * 0, or -1 when it does not fit in cap. */
int obs_push_path(const struct obs_push_cfg *c, char *buf, size_t cap);

/* Leaves out of l the labels the grouping key already sets: the gateway
 * refuses a push whose samples repeat them. */
void obs_push_strip_labels(const struct obs_push_cfg *c, struct obs_labels *l);

/* One blocking push of body (exposition text 0.0.4).  0, or -1 with a
 * one-line err naming the gateway (connect error, timeout, the status and
 * the start of the gateway's answer). */
int obs_push_sync(const struct obs_push_cfg *c, const char *body, size_t len, char *err,
                  size_t errcap);

/* Pushes every interval_ms from loop, the body from fn (Prometheus 0.0.4
 * format).  Its handles do not keep the loop alive.  NULL when out of
 * memory. */
struct obs_pusher;
struct obs_pusher *obs_pusher_start(uv_loop_t *loop, const struct obs_push_cfg *c,
                                    uint64_t interval_ms, obs_provider_fn fn, void *ud);

struct obs_pusher_stats {
    unsigned long pushed, failed, skipped;
    char last_error[400];               /* "" when the last push succeeded */
};
void obs_pusher_stats(const struct obs_pusher *p, struct obs_pusher_stats *out);

/* Stops the timer and drops a push in flight; the struct is freed once its
 * handles have closed (the loop must run again).  NULL is a no-op. */
void obs_pusher_stop(struct obs_pusher *p);

#endif
