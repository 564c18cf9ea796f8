/* What one resource-monitor sample costs the loop (issue 14: under 1 ms).
 *
 *   monitor_cost [SAMPLES] [NVIDIA_SMI]
 *
 * Times obs_monitor_sample() on the loop's thread (CPU time and wall time) for SAMPLES samples (default 2000) in these setups:
 *   - client + system + server process (the synchronous /proc reads),
 *     with 0, 1,000 and 10,000 extra open descriptors (the client's fd count
 *     reads /proc/self/fd, one entry per descriptor);
 *   - plus the server's /metrics: each sample starts a non-blocking scrape
 *     of a vLLM-sized text served on the same loop (the parse runs when the
 *     answer arrives, and is timed too);
 *   - plus nvidia-smi: each sample hands NVIDIA_SMI (default: a script that
 *     prints a captured answer) to the thread pool when the last one has
 *     ended;
 *   - the first setup again with a client of 512 MiB (a fork would copy
 *     its page tables; the monitor does not fork from the loop).
 * and, apart, the parse of those two answers, which the loop runs when
 * they arrive.  Prints mean, p99 and max in microseconds.  docs/performance.md has the
 * results. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "obs_gpu.h"
#include "obs_http.h"
#include "obs_monitor.h"
#include "obs_scrape.h"

/* Two clocks: the thread's CPU time is what a sample costs, without the
 * time other processes of a shared machine take the core away; the wall
 * clock is how long the loop was held, waits included (a spawn that waits
 * for its child, a blocking read). */
static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A vLLM /metrics of realistic size: gauges, counters and a few histograms
 * with labels, about 60 KB. */
static int provide(void *ud, FILE *out, enum obs_format fmt)
{
    (void)ud;
    (void)fmt;
    fputs("vllm:num_requests_running{model_name=\"m\"} 7\nvllm:num_requests_waiting{model_name=\"m\"} 2\n"
          "vllm:kv_cache_usage_perc{model_name=\"m\"} 0.25\nvllm:prompt_tokens_total{model_name=\"m\"} 5000\n",
          out);
    for (int h = 0; h < 20; h++)
        for (int b = 0; b < 30; b++)
            fprintf(out, "vllm:hist_%d_seconds_bucket{engine=\"0\",le=\"%g\",model_name=\"Qwen/Qwen2.5-7B-Instruct\"} %d\n",
                    h, 0.001 * (b + 1), b * 10);
    return 0;
}

static void stats(double *t, int n, double *mean, double *p99, double *max)
{
    double sum = 0;
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    for (int i = 0; i < n; i++)
        sum += t[i];
    *mean = sum / n;
    *p99 = t[(int)(0.99 * (n - 1))];
    *max = t[n - 1];
}

/* c: CPU times, w: wall times of the same calls. */
static void report(const char *what, double *c, double *w, int n)
{
    double cm, cp, cx, wm, wp, wx;
    stats(c, n, &cm, &cp, &cx);
    stats(w, n, &wm, &wp, &wx);
    printf("| %-52s | %6.1f | %6.1f | %6.1f | %6.1f | %7.1f |\n", what, cm, cp, wm, wp, wx);
}

static void measure(const char *what, const struct obs_monitor_cfg *cfg, uv_loop_t *loop, int n)
{
    double *t = malloc((size_t)n * sizeof *t), *w = malloc((size_t)n * sizeof *w);
    struct obs_monitor *m = obs_monitor_new(loop, cfg);
    int async = (cfg->sources & (OBS_SRC_GPU | OBS_SRC_SERVER_METRICS)) != 0;
    if (!t || !w || !m) {
        fprintf(stderr, "monitor_cost: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        double t0 = cpu_us(), w0 = wall_us();
        obs_monitor_sample(m, 0);
        t[i] = cpu_us() - t0;
        w[i] = wall_us() - w0;
        /* Let the scrape (served by this same loop here) and nvidia-smi
         * answer before the next sample; their parsing is timed apart. */
        for (int k = 0; async && k < 4; k++) {
            uv_run(loop, UV_RUN_NOWAIT);
            usleep(1000);
        }
    }
    obs_monitor_stop(m);
    uv_run(loop, UV_RUN_NOWAIT);
    report(what, t, w, n);
    obs_monitor_free(m);
    free(t);
    free(w);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    const char *smi = argc > 2 ? argv[2] : NULL;
    char script[] = "/tmp/llmload-smi-XXXXXX";
    char err[256], url[64];
    uv_loop_t loop;
    if (n < 10)
        n = 10;
    uv_loop_init(&loop);
    uv_loop_configure(&loop, UV_METRICS_IDLE_TIME);
    if (!smi) {
        int fd = mkstemp(script);
        const char *body = "#!/bin/sh\necho '0, NVIDIA A100-SXM4-80GB, 87, 61234, 81920, 312.45, 64'\n";
        if (fd < 0 || write(fd, body, strlen(body)) < 0)
            return 1;
        close(fd);
        chmod(script, 0755);
        smi = script;
    }
    struct obs_http *h = obs_http_start(&loop, "127.0.0.1:0", provide, NULL, err, sizeof err);
    if (!h) {
        fprintf(stderr, "monitor_cost: %s\n", err);
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", obs_http_port(h));
    struct obs_monitor_cfg base = { .sources = OBS_SRC_CLIENT | OBS_SRC_SYSTEM | OBS_SRC_SERVER,
                                    .server_pid = (long)getppid(), .loop_idle_metrics = 1 };
    printf("one sample, %d samples each (a quarter of that for the variants), microseconds:\n\n", n);
    printf("| %-52s | %6s | %6s | %6s | %6s | %7s |\n", "sources", "CPU", "CPU", "wall", "wall",
           "wall");
    printf("| %-52s | %6s | %6s | %6s | %6s | %7s |\n", "", "mean", "p99", "mean", "p99", "max");
    printf("|------------------------------------------------------|--------|--------|--------|--------|---------|\n");
    measure("client + system + server process", &base, &loop, n);
    int extra[10000], nextra = 0;
    for (int want = 1000; want <= 10000; want *= 10) {
        char what[80];
        while (nextra < want && (extra[nextra] = open("/dev/null", O_RDONLY)) >= 0)
            nextra++;
        snprintf(what, sizeof what, "  the same with %d more open descriptors", nextra);
        measure(what, &base, &loop, n / 4);
    }
    while (nextra)
        close(extra[--nextra]);
    struct obs_monitor_cfg sm = base;
    sm.sources |= OBS_SRC_SERVER_METRICS;
    sm.server_metrics = url;
    measure("+ server /metrics scrape (60 KB, parsed on arrival)", &sm, &loop, n / 4);
    struct obs_monitor_cfg gpu = sm;
    gpu.sources |= OBS_SRC_GPU;
    gpu.nvidia_smi = smi;
    measure("+ nvidia-smi each sample (from the thread pool)", &gpu, &loop, n / 4);
    size_t big = (size_t)512 << 20;
    char *mem = malloc(big);
    if (mem) {
        memset(mem, 1, big);
        measure("all of the above, the client holding 512 MiB", &gpu, &loop, n / 4);
        free(mem);
    }

    /* What the loop does when those answers arrive: the parse. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    provide(NULL, f, OBS_FMT_PROMETHEUS);
    fclose(f);
    double *t = malloc((size_t)n * sizeof *t), *w = malloc((size_t)n * sizeof *w);
    for (int i = 0; i < n; i++) {
        struct obs_srv_metrics parsed;
        double t0 = cpu_us(), w0 = wall_us();
        obs_srv_parse(text, len, &parsed, NULL, NULL);
        t[i] = cpu_us() - t0;
        w[i] = wall_us() - w0;
    }
    char what[80];
    snprintf(what, sizeof what, "parsing the scrape's answer (%zu KB) on arrival", len / 1024);
    report(what, t, w, n);
    const char *csv = "0, NVIDIA A100-SXM4-80GB, 87, 61234, 81920, 312.45, 64\n"
                      "1, NVIDIA A100-SXM4-80GB, 0, 4, 81920, 61.20, 33\n";
    for (int i = 0; i < n; i++) {
        struct obs_gpu g[OBS_GPU_MAX];
        double t0 = cpu_us(), w0 = wall_us();
        obs_parse_nvidia_smi(csv, g, OBS_GPU_MAX);
        t[i] = cpu_us() - t0;
        w[i] = wall_us() - w0;
    }
    report("parsing nvidia-smi's answer (2 GPUs) on arrival", t, w, n);
    free(t);
    free(w);
    free(text);
    obs_http_stop(h);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (smi == script)
        unlink(script);
    return 0;
}
