#ifndef LLMLOAD_OBS_MONITOR_H
#define LLMLOAD_OBS_MONITOR_H
/* The resource monitor: one sample a second of the client (this process),
 * the server process when it runs on this machine, the system, the GPUs
 * (nvidia-smi) and the server's own /metrics, kept as time series for the
 * result's "monitor" section and summarised (mean, max) on the terminal.
 * docs/observability.md lists every series.
 *
 * A sample reads a few small /proc files on the loop (measured: well under
 * a millisecond, docs/performance.md); nvidia-smi and the scrape run beside
 * the loop (a child process, a non-blocking request) and their answers are
 * taken at the next sample, so nothing waits on them.  Memory is bounded:
 * past OBS_MONITOR_MAX_ROWS points the series keep every other point and
 * the interval between points doubles; the mean and max still see every
 * sample. */
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "obs_opts.h"

#define OBS_MONITOR_MAX_ROWS 3600

struct obs_monitor_cfg {
    unsigned sources;                   /* OBS_SRC_* to sample */
    long server_pid;                    /* 0: the listener of a loopback target */
    const char *target_url;             /* the run's target; NULL: none */
    int target_ollama;                  /* its API is Ollama's: /api/ps, not /metrics */
    const char *server_metrics;         /* URL; NULL: the target's /metrics (or /api/ps) */
    int server_metrics_all;             /* keep the samples llmload does not know */
    const char *nvidia_smi;             /* the program; NULL: nvidia-smi on PATH */
    int loop_idle_metrics;              /* the loop measures its idle time
                                           (UV_METRICS_IDLE_TIME): sample its busy share */
    uint64_t interval_ms;               /* 0: 1000 */
};

struct obs_monitor;

/* Prepares the sources (finds the server's process, resolves the metrics
 * URL, looks for nvidia-smi: blocking, before the run).  A source that is
 * not available is left out and says why in the JSON.  NULL when out of
 * memory. */
struct obs_monitor *obs_monitor_new(uv_loop_t *loop, const struct obs_monitor_cfg *cfg);

/* Takes a sample every interval from a timer of its own (which never keeps
 * the loop alive); the timer's own lateness is the loop-lag series. */
void obs_monitor_start(struct obs_monitor *m);

/* Takes one sample now.  loop_lag_s: the caller's measure of the loop's
 * lag, NaN when it has none. */
void obs_monitor_sample(struct obs_monitor *m, double loop_lag_s);

/* Stops the timer and drops a scrape or nvidia-smi in flight; call it
 * before the loop's last run (its handles close there).  The samples stay
 * for the JSON and the summary. */
void obs_monitor_stop(struct obs_monitor *m);

struct cJSON;
/* The "monitor" section of the result document.  output_tokens (0: none)
 * gives the GPUs' energy per output token. */
struct cJSON *obs_monitor_json(const struct obs_monitor *m, uint64_t output_tokens);

/* The terminal summary: one line per source with mean and max, the energy,
 * and the warnings (high steal time). */
void obs_monitor_print(const struct obs_monitor *m, FILE *f, uint64_t output_tokens);

/* The series' latest values, for the live exposition: the name and value of
 * series i (NaN when the last sample had none), or 0 past the last. */
int obs_monitor_latest(const struct obs_monitor *m, size_t i, const char **name, double *value);

/* Samples taken so far. */
uint64_t obs_monitor_samples(const struct obs_monitor *m);

void obs_monitor_free(struct obs_monitor *m);   /* after obs_monitor_stop; NULL no-op */

#endif
