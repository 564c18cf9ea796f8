/* --workers N: one run in N forked processes, each its own libuv loop on a
 * core of its own, merged exactly into the parent's result.
 *
 * Worker i is shard i of N (the engine's split), so N workers offer the
 * load one process would have.  A worker writes its result document (with
 * its counters and histograms) and its per-request files into a private
 * temporary directory; the parent merges the documents (scale_merge_stats)
 * and appends the files.  Workers sit in a process group of their own, so
 * a terminal's Ctrl-C reaches the parent only, which passes each one on
 * exactly once: the workers' engines then see one Ctrl-C per Ctrl-C. */
#include "scale.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "jdoc.h"
#include "report.h"
#include "result.h"
#include "status.h"

/* What each worker has finished so far, in memory shared with the parent,
 * for the one progress line. */
struct worker_progress {
    _Atomic uint64_t requests, failed, warmup;
};

struct worker_out {
    struct report_csv *csv;
    struct report_raw *raw;
    struct worker_progress *prog;
};

static void worker_record(void *ud, const struct req_record *r, uint64_t t0)
{
    struct worker_out *o = ud;
    if (o->csv)
        report_csv_row(o->csv, r);
    if (o->raw)
        report_raw_row(o->raw, r, t0);
    if (r->warmup)
        atomic_fetch_add(&o->prog->warmup, 1);
    else {
        atomic_fetch_add(&o->prog->requests, 1);
        if (r->err != ERR_NONE)
            atomic_fetch_add(&o->prog->failed, 1);
    }
}

static void worker_events(void *ud, struct req_record *r)
{
    struct worker_out *o = ud;
    if (o->raw)
        report_raw_events(o->raw, r);
}

static void path_of(char *buf, size_t cap, const char *dir, uint32_t i, const char *ext)
{
    snprintf(buf, cap, "%s/worker-%u.%s", dir, i, ext);
}

/* The i-th core this process may use (cyclically); -1 if unknown. */
static int nth_cpu(uint32_t i)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0 || CPU_COUNT(&set) == 0)
        return -1;
    uint32_t k = i % (uint32_t)CPU_COUNT(&set);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set) && k-- == 0)
            return c;
    return -1;
}

/* Worker i: shard i of n of cfg; never returns. */
static void worker_main(const struct run_config *cfg, struct run_stats *stats, uint32_t i,
                        uint32_t n, const char *dir, int want_csv, int want_raw,
                        struct worker_progress *prog, struct run_share *share, pid_t parent)
{
    char path[1100], err[1024] = "";
    struct run_config c = *cfg;
    struct worker_out o = { .prog = prog };
    struct engine_hooks hooks = { .on_record = worker_record, .on_events = worker_events, .ud = &o };
    int code = 3;
    setpgid(0, 0);
    /* A Ctrl-C passed on before the engine's loop listens (while it
     * resolves the target) must not kill the worker: it marks the run
     * interrupted, and the engine then runs nothing. */
    engine_catch_signals();
    /* A parent that dies (kill -9) takes its workers with it: SIGTERM is
     * their Ctrl-C, so even then they stop cleanly. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(3);
    int cpu = nth_cpu(i);
    if (cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        sched_setaffinity(0, sizeof one, &one);   /* a refusal (containers) costs only the pinning */
    }
    c.shard_index = i;
    c.shard_count = n;
    c.share = share;
    c.progress = 0;
    path_of(path, sizeof path, dir, i, "csv");
    if (want_csv && !(o.csv = report_csv_open(path, err, sizeof err)))
        goto fail;
    path_of(path, sizeof path, dir, i, "raw");
    if (want_raw && !(o.raw = report_raw_open(path, err, sizeof err)))
        goto fail;
    if (engine_run(&c, stats, &hooks, err, sizeof err) < 0)
        goto fail;
    if (report_csv_finish(o.csv, err, sizeof err) < 0 || report_raw_finish(o.raw, err, sizeof err) < 0)
        goto fail;
    o.csv = NULL;
    o.raw = NULL;
    cJSON *doc = report_result_json(&c, stats);
    path_of(path, sizeof path, dir, i, "json");
    if (!doc)
        snprintf(err, sizeof err, "out of memory");
    else if (report_write_json(path, doc, err, sizeof err) == 0)
        code = 0;
    cJSON_Delete(doc);
    if (code == 0)
        _exit(0);
fail:
    report_csv_close(o.csv);
    report_raw_close(o.raw);
    path_of(path, sizeof path, dir, i, "err");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (write(fd, err, strlen(err)) < 0)
            code = 3;   /* nothing more to say it with */
        close(fd);
    }
    _exit(code);
}

static volatile sig_atomic_t g_signals;

static void on_parent_signal(int sig)
{
    (void)sig;
    g_signals++;
}

static void progress_line(const struct run_config *cfg, const struct worker_progress *p, uint32_t n,
                          uint64_t t0)
{
    uint64_t done = 0, failed = 0;
    for (uint32_t i = 0; i < n; i++) {
        done += atomic_load(&p[i].requests);
        failed += atomic_load(&p[i].failed);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double el = ((double)ts.tv_sec * 1e9 + (double)ts.tv_nsec - (double)t0) / 1e9;
    if (cfg->requests)
        fprintf(stderr, "\r\033[K%u workers: %llu/%llu requests, %llu failed, %.1f req/s", n,
                (unsigned long long)done, (unsigned long long)cfg->requests,
                (unsigned long long)failed, el > 0 ? (double)done / el : 0.0);
    else
        fprintf(stderr, "\r\033[K%u workers: %llu requests, %llu failed, %.0f s", n,
                (unsigned long long)done, (unsigned long long)failed, el);
}

/* The parent's wait: passes each Ctrl-C on, draws the progress line, and
 * collects every worker's status into status[].  Returns how many Ctrl-Cs
 * were passed on. */
static int wait_workers(const struct run_config *cfg, pid_t *pids, int *status, uint32_t n,
                        const struct worker_progress *prog)
{
    uint32_t alive = n;
    int forwarded = 0, ticks = 0;
    struct timespec ts, nap = { 0, 100000000 };
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    while (alive) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        for (uint32_t i = 0; p > 0 && i < n; i++)
            if (pids[i] == p) {
                status[i] = st;
                pids[i] = 0;
                alive--;
            }
        if (p > 0)
            continue;
        for (; forwarded < g_signals; forwarded++)
            for (uint32_t i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGINT);
        if (cfg->progress && ++ticks % 5 == 0)
            progress_line(cfg, prog, n, t0);
        nanosleep(&nap, NULL);   /* a signal ends it early: passed on at once */
    }
    if (cfg->progress)
        fprintf(stderr, "\r\033[K");
    return forwarded;
}

int scale_workers_run(const struct run_config *cfg, struct run_stats *stats,
                      struct report_csv *csv, struct report_raw *raw, char *err, size_t errcap)
{
    uint32_t n = cfg->workers;
    char dir[1024], path[1100];
    const char *tmp = getenv("TMPDIR");
    pid_t *pids = calloc(n, sizeof *pids), self = getpid();
    int *status = calloc(n, sizeof *status), rc = LL_OK, dir_ok = 0;
    struct worker_progress *prog = mmap(NULL, n * sizeof *prog, PROT_READ | PROT_WRITE,
                                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    /* The workers' shared -n (config.h), used where `shared` says below. */
    struct run_share *share = mmap(NULL, sizeof *share, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa, old_int, old_term;
    if (prog == MAP_FAILED)
        prog = NULL;
    if (share == MAP_FAILED)
        share = NULL;
    snprintf(dir, sizeof dir, "%s/llmload-workers-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!pids || !status || !prog || !share || !(dir_ok = mkdtemp(dir) != NULL)) {
        snprintf(err, errcap, "cannot start %u workers: %s", n, !pids || !status ? "out of memory"
                 : strerror(errno));
        rc = !pids || !status ? LL_ENOMEM : LL_EUNAVAIL;
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_parent_signal;
    sigemptyset(&sa.sa_mask);
    g_signals = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    /* A closed loop of -n requests (a -d run's parts all run the whole
     * duration), without a timed warm-up; the counter must be atomic across
     * processes, which a lock-based atomic (private to each) is not. */
    int shared = cfg->rate <= 0 && cfg->requests && !(cfg->warmup_ns && !cfg->warmup_requests) &&
                 atomic_is_lock_free(&share->measured) && atomic_is_lock_free(&share->stop);
    fflush(NULL);   /* nothing buffered is written twice */
    for (uint32_t i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0)
            worker_main(cfg, stats, i, n, dir, csv != NULL, raw != NULL, &prog[i],
                        shared ? share : NULL, self);
        if (p < 0) {
            snprintf(err, errcap, "cannot start worker %u: %s", i, strerror(errno));
            rc = LL_EUNAVAIL;
            g_signals += 2;   /* the others abort at once */
            break;
        }
        pids[i] = p;
    }
    int forwarded = wait_workers(cfg, pids, status, n, prog);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    /* Too late for any worker: the caller's handler has it, so a sweep
     * stops before its next level.  Under the default action (run) the
     * run is complete and is written as such. */
    if (g_signals > forwarded && !(old_int.sa_flags & SA_SIGINFO) && old_int.sa_handler != SIG_DFL &&
        old_int.sa_handler != SIG_IGN)
        old_int.sa_handler(SIGINT);
    /* Every worker's outputs, in worker order; the first failure is the
     * run's. */
    for (uint32_t i = 0; i < n && rc == LL_OK; i++) {
        if (!WIFEXITED(status[i]) || WEXITSTATUS(status[i]) != 0) {
            char why[900] = "";
            path_of(path, sizeof path, dir, i, "err");
            FILE *f = fopen(path, "re");
            if (!f || !fgets(why, sizeof why, f))
                snprintf(why, sizeof why, WIFSIGNALED(status[i]) ? "killed by signal %d"
                         : "exited with status %d", WIFSIGNALED(status[i]) ? WTERMSIG(status[i])
                         : WEXITSTATUS(status[i]));
            if (f)
                fclose(f);
            snprintf(err, errcap, "worker %u of %u: %s", i, n, why);
            rc = LL_EUNAVAIL;
            break;
        }
        path_of(path, sizeof path, dir, i, "json");
        cJSON *doc = jdoc_read_file(path, err, errcap);
        if (!doc || scale_merge_stats(stats, doc, path, i == 0, err, errcap) < 0)
            rc = LL_ENOMEM;
        cJSON_Delete(doc);
        path_of(path, sizeof path, dir, i, "csv");
        if (csv && rc == LL_OK)
            report_csv_splice(csv, path);
        path_of(path, sizeof path, dir, i, "raw");
        if (raw && rc == LL_OK)
            report_raw_splice(raw, path);
    }
out:
    if (dir_ok) {
        static const char *const ext[] = { "json", "csv", "raw", "err" };
        for (uint32_t i = 0; i < n; i++)
            for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++) {
                path_of(path, sizeof path, dir, i, ext[k]);
                unlink(path);
            }
        rmdir(dir);
    }
    if (prog)
        munmap(prog, n * sizeof *prog);
    if (share)
        munmap(share, sizeof *share);
    free(pids);
    free(status);
    return rc;
}

int scale_run(const struct run_config *cfg, struct run_stats *stats, const struct engine_hooks *hooks,
              struct report_csv *csv, struct report_raw *raw, char *err, size_t errcap)
{
    if (cfg->workers <= 1 || cfg->concurrency <= 1)
        return engine_run(cfg, stats, hooks, err, errcap);
    struct run_config c = *cfg;
    if (c.workers > c.concurrency)
        c.workers = c.concurrency;   /* every worker needs a connection */
    return scale_workers_run(&c, stats, csv, raw, err, errcap);
}
