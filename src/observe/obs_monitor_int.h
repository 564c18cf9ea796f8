#ifndef LLMLOAD_OBS_MONITOR_INT_H
#define LLMLOAD_OBS_MONITOR_INT_H
/* The monitor's state, shared by its sampling (obs_monitor.c) and its
 * report (obs_monitor_report.c); private to src/observe. */
#include <stdatomic.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "obs_gpu.h"
#include "obs_monitor.h"
#include "obs_net.h"
#include "obs_procfs.h"
#include "obs_scrape.h"

/* One time series: a value per stored point, and over every sample its
 * mean and max. */
struct col {
    char *name;
    const char *unit;
    double *v;
    double sum, max, last;
    uint64_t n;
};

/* The monitor's handles live apart from it, so that stopping closes them on
 * the loop while the samples stay for the report: io outlives the monitor
 * until its timer has closed and its nvidia-smi has returned, and m is NULL
 * once stopped. */
struct mon_io {
    struct obs_monitor *m;
    uv_timer_t timer;
    uv_work_t work;                     /* nvidia-smi, run from the thread pool */
    int open;                           /* the timer, and the work while it runs */
    int timer_on, work_on;
    /* the work's own, untouched by the loop while it runs (but child and
     * cancel, which stopping uses to end it early) */
    char *smi;
    char *gbuf;
    size_t glen;
    int status;                         /* exit status; -1: did not run */
    char err[120];
    _Atomic int child;                  /* its pid while it runs */
    _Atomic int cancel;
};

struct other_sample {
    char key[160];
    double v;
};

struct obs_monitor {
    uv_loop_t *loop;
    struct mon_io *io;
    struct obs_monitor_cfg cfg;
    unsigned active;                    /* sources being sampled */
    char note[5][400];                  /* per source: how it was found, or why it is off */
    char sm_where[200];                 /* the metrics URL, for the notes */
    uint64_t interval_ms, t0, last_ns, due_ns;
    long hz, page;
    /* previous readings for rates */
    struct obs_pid_stat self_prev, srv_prev;
    int self_ok, srv_ok;
    struct obs_cpu_times sys_prev;
    int sys_ok;
    uint64_t idle_prev;
    long server_pid;
    int fds_off;                        /* the count costs too much here */
    /* storage */
    double *t;
    size_t rows, cap;
    uint64_t stride, ticks;
    int storing;                        /* this sample has a stored point */
    struct col *cols;
    size_t ncols, colcap;
    /* GPUs */
    struct obs_gpu gpus[OBS_GPU_MAX];
    int ngpu, gpu_fresh, gpu_errors;
    uint64_t gpu_at, gpu_prev_at;
    double gpu_prev_power[OBS_GPU_MAX];
    double energy_j[OBS_GPU_MAX];
    char gpu_names[OBS_GPU_MAX][96];
    int gpu_seen;
    /* the server's metrics */
    struct obs_url sm_url;
    int sm_default, sm_ollama, sm_fresh, sm_ok;
    unsigned long sm_failures;
    struct obs_fetch *sm_fetch;
    struct obs_srv_metrics sm;
    struct obs_counter_delta delta[OBS_SF__COUNT];
    double sm_rate_prompt, sm_rate_gen, sm_prev_prompt, sm_prev_gen;
    uint64_t sm_at, sm_prev_at;
    struct other_sample *other;
    size_t nother, other_dropped;
    cJSON *ollama_models;               /* the last /api/ps "models" */
    double ollama_vram, ollama_size, ollama_count;
};

enum { NOTE_CLIENT, NOTE_SYSTEM, NOTE_SERVER, NOTE_GPU, NOTE_SM };

/* The note of a source (OBS_SRC_* bit). */
static inline int obs_mon_src_index(unsigned bit)
{
    return bit == OBS_SRC_CLIENT ? NOTE_CLIENT : bit == OBS_SRC_SYSTEM ? NOTE_SYSTEM
         : bit == OBS_SRC_SERVER ? NOTE_SERVER : bit == OBS_SRC_GPU ? NOTE_GPU : NOTE_SM;
}

/* The series called name, or NULL. */
struct col *obs_mon_col_find(const struct obs_monitor *m, const char *name);

#endif
