/* The resource monitor (obs_monitor.h). */
#include "obs_monitor.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "obs_monitor_int.h"

#define SCRAPE_MAX_BYTES (8u << 20)
#define GPU_OUT_MAX 65536
#define OTHER_MAX 256                   /* unknown server samples kept (--server-metrics-all) */
#define FDS_LIST_MAX 1000
#define GPU_TIMEOUT_MS 5000

/* --- storage ---------------------------------------------------------------- */

struct col *obs_mon_col_find(const struct obs_monitor *m, const char *name)
{
    for (size_t i = 0; i < m->ncols; i++)
        if (!strcmp(m->cols[i].name, name))
            return &m->cols[i];
    return NULL;
}

static struct col *col_add(struct obs_monitor *m, const char *name, const char *unit)
{
    if (m->ncols == m->colcap) {
        size_t cap = m->colcap ? m->colcap * 2 : 32;
        struct col *nc = realloc(m->cols, cap * sizeof *nc);
        if (!nc)
            return NULL;
        m->cols = nc;
        m->colcap = cap;
    }
    struct col *c = &m->cols[m->ncols];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    c->v = malloc(m->cap * sizeof *c->v);
    if (!c->name || !c->v) {
        free(c->name);
        free(c->v);
        return NULL;
    }
    for (size_t i = 0; i < m->cap; i++)
        c->v[i] = NAN;
    c->unit = unit;
    c->max = c->last = NAN;
    m->ncols++;
    return c;
}

/* The value of series name in this sample.  NaN: none (a series is not
 * made for a value that never was). */
static void put(struct obs_monitor *m, const char *name, const char *unit, double v)
{
    struct col *c = obs_mon_col_find(m, name);
    if (!c && (isnan(v) || !(c = col_add(m, name, unit))))
        return;
    c->last = v;
    if (isnan(v))
        return;
    c->sum += v;
    c->n++;
    if (isnan(c->max) || v > c->max)
        c->max = v;
    if (m->storing)
        c->v[m->rows - 1] = v;
}

/* Opens the point of this sample (or not, once decimating). */
static void row_begin(struct obs_monitor *m, uint64_t now)
{
    m->storing = (m->ticks++ % m->stride) == 0;
    for (size_t i = 0; i < m->ncols; i++)
        m->cols[i].last = NAN;
    if (!m->storing)
        return;
    if (m->rows == m->cap) {
        /* Full: keep every other point, and from now on every other sample. */
        size_t keep = (m->rows + 1) / 2;
        for (size_t r = 0; r < keep; r++) {
            m->t[r] = m->t[2 * r];
            for (size_t i = 0; i < m->ncols; i++)
                m->cols[i].v[r] = m->cols[i].v[2 * r];
        }
        for (size_t i = 0; i < m->ncols; i++)
            for (size_t r = keep; r < m->cap; r++)
                m->cols[i].v[r] = NAN;
        m->rows = keep;
        m->stride *= 2;
        /* this sample is stored only if it falls on the new stride */
        if ((m->ticks - 1) % m->stride != 0) {
            m->storing = 0;
            return;
        }
    }
    m->t[m->rows++] = (double)(now - m->t0) / 1e9;
}

/* --- sources ------------------------------------------------------------------ */

static void sample_client(struct obs_monitor *m, double dt, double lag_s)
{
    char buf[1024];
    struct obs_pid_stat s;
    if (obs_read_file("/proc/self/stat", buf, sizeof buf) > 0 && obs_parse_pid_stat(buf, &s) == 0) {
        if (m->self_ok && dt > 0) {
            put(m, "client_cpu_user", "fraction of one CPU",
                (double)(s.utime - m->self_prev.utime) / (double)m->hz / dt);
            put(m, "client_cpu_system", "fraction of one CPU",
                (double)(s.stime - m->self_prev.stime) / (double)m->hz / dt);
        }
        put(m, "client_rss_bytes", "bytes", (double)s.rss_pages * (double)m->page);
        m->self_prev = s;
        m->self_ok = 1;
    }
    if (!m->fds_off) {
        int listed;
        long fds = obs_count_fds(0, &listed);
        put(m, "client_fds", "descriptors", fds >= 0 ? (double)fds : NAN);
        /* Listing thousands of descriptors every second would cost the
         * loop milliseconds (kernels before 6.2 give no count). */
        if (listed && fds > FDS_LIST_MAX) {
            m->fds_off = 1;
            snprintf(m->note[NOTE_CLIENT], sizeof m->note[NOTE_CLIENT], "pid %ld; descriptors "
                     "not counted past %d on this kernel (before Linux 6.2 that lists them)",
                     (long)getpid(), FDS_LIST_MAX);
        }
    }
    if (m->cfg.loop_idle_metrics) {
        uint64_t idle = uv_metrics_idle_time(m->loop);
        if (dt > 0 && m->ticks > 1)
            put(m, "client_loop_busy", "fraction", 1 - (double)(idle - m->idle_prev) / 1e9 / dt);
        m->idle_prev = idle;
    }
    put(m, "client_loop_lag_s", "s", lag_s);
}

static void sample_server(struct obs_monitor *m, double dt)
{
    char path[64], buf[1024];
    struct obs_pid_stat s;
    snprintf(path, sizeof path, "/proc/%ld/stat", m->server_pid);
    if (obs_read_file(path, buf, sizeof buf) <= 0 || obs_parse_pid_stat(buf, &s) < 0) {
        snprintf(m->note[NOTE_SERVER], sizeof m->note[NOTE_SERVER],
                 "process %ld exited during the run", m->server_pid);
        m->active &= ~(unsigned)OBS_SRC_SERVER;
        return;
    }
    if (m->srv_ok && dt > 0) {
        put(m, "server_cpu_user", "fraction of one CPU",
            (double)(s.utime - m->srv_prev.utime) / (double)m->hz / dt);
        put(m, "server_cpu_system", "fraction of one CPU",
            (double)(s.stime - m->srv_prev.stime) / (double)m->hz / dt);
    }
    put(m, "server_rss_bytes", "bytes", (double)s.rss_pages * (double)m->page);
    put(m, "server_threads", "threads", (double)s.threads);
    m->srv_prev = s;
    m->srv_ok = 1;
}

static void sample_system(struct obs_monitor *m)
{
    char buf[2048];
    struct obs_cpu_times c;
    struct obs_meminfo mi;
    double load[3];
    /* Only the first line of /proc/stat is needed; the rest (a line per
     * CPU and the interrupt counts) can be long. */
    if (obs_read_file("/proc/stat", buf, 512) > 0 && obs_parse_proc_stat(buf, &c) == 0) {
        uint64_t total = obs_cpu_total(&c), ptotal = obs_cpu_total(&m->sys_prev);
        if (m->sys_ok && total > ptotal) {
            double d = (double)(total - ptotal);
#define FRAC(f) ((double)(c.f - m->sys_prev.f) / d)
            put(m, "system_cpu_user", "fraction of all CPUs", FRAC(user) + FRAC(nice));
            put(m, "system_cpu_system", "fraction of all CPUs", FRAC(system));
            put(m, "system_cpu_iowait", "fraction of all CPUs", FRAC(iowait));
            put(m, "system_cpu_irq", "fraction of all CPUs", FRAC(irq) + FRAC(softirq));
            put(m, "system_cpu_steal", "fraction of all CPUs", FRAC(steal));
            put(m, "system_cpu_idle", "fraction of all CPUs", FRAC(idle));
#undef FRAC
        }
        m->sys_prev = c;
        m->sys_ok = 1;
    }
    if (obs_read_file("/proc/meminfo", buf, sizeof buf) > 0 && obs_parse_meminfo(buf, &mi) == 0) {
        put(m, "system_mem_used_bytes", "bytes", (double)(mi.total - mi.available));
        put(m, "system_mem_available_bytes", "bytes", (double)mi.available);
    }
    if (obs_read_file("/proc/loadavg", buf, sizeof buf) > 0 && obs_parse_loadavg(buf, load) == 0)
        put(m, "system_load1", "runnable tasks", load[0]);
}

/* --- GPUs: nvidia-smi from the thread pool ---------------------------------------- */

/* Spawning from the loop would stop it until the child has exec'd (libuv's
 * uv_spawn waits for that, and its fork copies the page tables of a client
 * with thousands of connections): milliseconds.  A pool thread spawns (with
 * posix_spawn, which does not copy them), reads and waits; the loop only
 * parses the answer. */

static void io_release(struct mon_io *io)
{
    if (--io->open == 0) {
        free(io->smi);
        free(io->gbuf);
        free(io);
    }
}

static void io_closed(uv_handle_t *h)
{
    io_release(h->data);
}

static void gpu_work(uv_work_t *w)
{
    struct mon_io *io = w->data;
    int pfd[2] = { -1, -1 };
    pid_t pid = 0;
    posix_spawn_file_actions_t fa;
    char *args[8];
    int k = 0;
    io->glen = 0;
    io->status = -1;
    io->err[0] = '\0';
    args[k++] = io->smi;
    for (const char *const *a = obs_nvidia_smi_args; *a; a++)
        args[k++] = (char *)*a;
    args[k] = NULL;
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(io->err, sizeof io->err, "pipe: %s", strerror(errno));
        return;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid, io->smi, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        snprintf(io->err, sizeof io->err, "cannot run %.60s: %s", io->smi, strerror(rc));
        close(pfd[0]);
        return;
    }
    atomic_store(&io->child, (int)pid);
    if (atomic_load(&io->cancel))
        kill(pid, SIGKILL);
    uint64_t deadline = uv_hrtime() + GPU_TIMEOUT_MS * 1000000ull;
    for (;;) {
        uint64_t now = uv_hrtime();
        struct pollfd p = { .fd = pfd[0], .events = POLLIN };
        int left = now < deadline ? (int)((deadline - now) / 1000000) : 0;
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(io->err, sizeof io->err, "no answer within %d ms", GPU_TIMEOUT_MS);
            kill(pid, SIGKILL);
            break;
        }
        ssize_t n = read(pfd[0], io->gbuf + io->glen, GPU_OUT_MAX - 1 - io->glen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        io->glen += (size_t)n;
        if (io->glen == GPU_OUT_MAX - 1) {
            kill(pid, SIGKILL);
            break;
        }
    }
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    atomic_store(&io->child, 0);
    io->gbuf[io->glen] = '\0';
    io->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void gpu_after(uv_work_t *w, int status)
{
    struct mon_io *io = w->data;
    struct obs_monitor *m = io->m;
    struct obs_gpu g[OBS_GPU_MAX];
    io->work_on = 0;
    if (!m || status == UV_ECANCELED)
        goto out;
    int n = io->status == 0 ? obs_parse_nvidia_smi(io->gbuf, g, OBS_GPU_MAX) : -1;
    if (n < 0) {
        m->gpu_errors++;
        if (io->err[0])
            snprintf(m->note[NOTE_GPU], sizeof m->note[NOTE_GPU], "nvidia-smi: %s", io->err);
        else
            snprintf(m->note[NOTE_GPU], sizeof m->note[NOTE_GPU],
                     "nvidia-smi failed (exit %d): %.120s", io->status, io->gbuf);
        goto out;
    }
    uint64_t now = uv_hrtime();
    double dt = m->gpu_prev_at ? (double)(now - m->gpu_prev_at) / 1e9 : 0;
    for (int i = 0; i < n; i++) {
        /* energy: the trapezoid between two readings of the same GPU */
        if (dt > 0 && i < m->ngpu && !isnan(g[i].power_w) && !isnan(m->gpu_prev_power[i]))
            m->energy_j[i] += (g[i].power_w + m->gpu_prev_power[i]) / 2 * dt;
        m->gpu_prev_power[i] = g[i].power_w;
        snprintf(m->gpu_names[i], sizeof m->gpu_names[i], "%s", g[i].name);
    }
    memcpy(m->gpus, g, (size_t)n * sizeof g[0]);
    m->ngpu = n;
    m->gpu_seen = 1;
    m->gpu_fresh = 1;
    m->gpu_prev_at = now;
out:
    io_release(io);
}

static void gpu_start(struct obs_monitor *m)
{
    struct mon_io *io = m->io;
    if (io->work_on)
        return;                         /* the last one is still going: no pile-up */
    io->work.data = io;
    if (uv_queue_work(m->loop, &io->work, gpu_work, gpu_after) < 0)
        return;
    io->work_on = 1;
    io->open++;
}

static void sample_gpu(struct obs_monitor *m)
{
    if (m->gpu_fresh) {
        char name[48];
        for (int i = 0; i < m->ngpu; i++) {
            const struct obs_gpu *g = &m->gpus[i];
#define GPUT(suffix, unit, v) (snprintf(name, sizeof name, "gpu%d_" suffix, i), put(m, name, unit, v))
            GPUT("util", "fraction", g->util);
            GPUT("mem_used_bytes", "bytes", g->mem_used);
            GPUT("mem_total_bytes", "bytes", g->mem_total);
            GPUT("power_w", "W", g->power_w);
            GPUT("temp_c", "degrees C", g->temp_c);
#undef GPUT
        }
        m->gpu_fresh = 0;
    }
    gpu_start(m);
}

/* --- the server's metrics --------------------------------------------------------- */

static int keep_other(void *ud, const struct obs_prom_sample *s)
{
    struct obs_monitor *m = ud;
    if (m->nother == OTHER_MAX) {
        m->other_dropped++;
        return 0;
    }
    struct other_sample *o = &m->other[m->nother++];
    snprintf(o->key, sizeof o->key, "%.*s%s%.*s%s", (int)s->name_len, s->name,
             s->labels_len ? "{" : "", (int)s->labels_len, s->labels, s->labels_len ? "}" : "");
    o->v = s->value;
    return 0;
}

static double json_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Ollama has no /metrics; /api/ps says which models are loaded and how
 * much of each sits in VRAM. */
static int read_ollama_ps(struct obs_monitor *m, const char *body, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    cJSON *models = cJSON_DetachItemFromObjectCaseSensitive(j, "models");
    cJSON_Delete(j);
    if (!cJSON_IsArray(models)) {
        cJSON_Delete(models);
        return -1;
    }
    double vram = 0, size = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, models) {
        double v = json_num(x, "size_vram"), s = json_num(x, "size");
        vram += isnan(v) ? 0 : v;
        size += isnan(s) ? 0 : s;
    }
    m->ollama_vram = vram;
    m->ollama_size = size;
    m->ollama_count = cJSON_GetArraySize(models);
    cJSON_Delete(m->ollama_models);
    m->ollama_models = models;
    return 0;
}

static void scraped(void *ud, int status, const char *body, size_t len, const char *err)
{
    struct obs_monitor *m = ud;
    m->sm_fetch = NULL;
    if (err || status != 200) {
        m->sm_failures++;
        if (err)
            snprintf(m->note[NOTE_SM], sizeof m->note[NOTE_SM], "%s: %.150s", m->sm_where, err);
        else
            snprintf(m->note[NOTE_SM], sizeof m->note[NOTE_SM], "%s: HTTP %d", m->sm_where, status);
        /* A target that has no metrics at all is not an error to repeat
         * every second: the default URL is dropped on its first failure. */
        if (m->sm_default && !m->sm_ok)
            m->active &= ~(unsigned)OBS_SRC_SERVER_METRICS;
        return;
    }
    uint64_t now = uv_hrtime();
    /* Ollama's /api/ps is JSON; every /metrics is text that never starts
     * with a brace. */
    size_t sp = 0;
    while (sp < len && (body[sp] == ' ' || body[sp] == '\n'))
        sp++;
    m->sm_ollama = sp < len && body[sp] == '{';
    if (m->sm_ollama) {
        if (read_ollama_ps(m, body, len) < 0) {
            m->sm_failures++;
            return;
        }
    } else {
        m->nother = 0;
        obs_srv_parse(body, len, &m->sm, m->cfg.server_metrics_all ? keep_other : NULL, m);
        for (int f = OBS_SF_FIRST_COUNTER; f < OBS_SF__COUNT; f++)
            obs_counter_add(&m->delta[f], m->sm.v[f]);
        double p = m->delta[OBS_SF_PROMPT_TOKENS].grown, g = m->delta[OBS_SF_GEN_TOKENS].grown;
        double dt = m->sm_prev_at ? (double)(now - m->sm_prev_at) / 1e9 : 0;
        m->sm_rate_prompt = dt > 0 && m->delta[OBS_SF_PROMPT_TOKENS].seen ? (p - m->sm_prev_prompt) / dt : NAN;
        m->sm_rate_gen = dt > 0 && m->delta[OBS_SF_GEN_TOKENS].seen ? (g - m->sm_prev_gen) / dt : NAN;
        m->sm_prev_prompt = p;
        m->sm_prev_gen = g;
        m->sm_prev_at = now;
    }
    m->sm_ok = 1;
    m->sm_fresh = 1;
    m->sm_at = now;
}

static void sample_server_metrics(struct obs_monitor *m)
{
    if (m->sm_fresh) {
        if (m->sm_ollama) {
            put(m, "server_models_loaded", "models", m->ollama_count);
            put(m, "server_model_bytes", "bytes", m->ollama_size);
            put(m, "server_vram_bytes", "bytes", m->ollama_vram);
        } else {
            static const struct { enum obs_srv_field f; const char *name, *unit; } gauges[] = {
                { OBS_SF_RUNNING, "server_requests_running", "requests" },
                { OBS_SF_WAITING, "server_requests_waiting", "requests" },
                { OBS_SF_KV_USAGE, "server_kv_cache_usage", "fraction" },
                { OBS_SF_KV_TOKENS, "server_kv_cache_tokens", "tokens" },
                { OBS_SF_PREFIX_HIT_RATE, "server_prefix_cache_hit_rate", "fraction" },
            };
            for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++)
                put(m, gauges[i].name, gauges[i].unit, m->sm.v[gauges[i].f]);
            put(m, "server_prompt_tokens_per_s", "tokens/s", m->sm_rate_prompt);
            put(m, "server_generation_tokens_per_s", "tokens/s", m->sm_rate_gen);
            for (size_t i = 0; i < m->nother; i++) {
                char name[200];
                snprintf(name, sizeof name, "metric:%s", m->other[i].key);
                put(m, name, "as the server reports it", m->other[i].v);
            }
        }
        m->sm_fresh = 0;
    }
    if (m->sm_fetch)
        return;                         /* the last scrape is still going */
    struct obs_fetch_req rq = { .url = &m->sm_url, .method = "GET",
                                .timeout_ms = m->interval_ms * 9 / 10,
                                .max_body = SCRAPE_MAX_BYTES };
    m->sm_fetch = obs_fetch_start(m->loop, &rq, scraped, m);
}

/* --- the sample --------------------------------------------------------------------- */

void obs_monitor_sample(struct obs_monitor *m, double loop_lag_s)
{
    uint64_t now = uv_hrtime();
    double dt = m->last_ns ? (double)(now - m->last_ns) / 1e9 : 0;
    row_begin(m, now);
    if (m->active & OBS_SRC_CLIENT)
        sample_client(m, dt, loop_lag_s);
    if (m->active & OBS_SRC_SERVER)
        sample_server(m, dt);
    if (m->active & OBS_SRC_SYSTEM)
        sample_system(m);
    if (m->active & OBS_SRC_GPU)
        sample_gpu(m);
    if (m->active & OBS_SRC_SERVER_METRICS)
        sample_server_metrics(m);
    m->last_ns = now;
}

static void on_tick(uv_timer_t *t)
{
    struct mon_io *io = t->data;
    struct obs_monitor *m = io->m;
    if (!m)
        return;
    uint64_t now = uv_hrtime();
    double lag = now > m->due_ns ? (double)(now - m->due_ns) / 1e9 : 0;
    obs_monitor_sample(m, lag);
    /* The next sample is due a whole interval after this one was due, so a
     * late tick does not move every later one. */
    m->due_ns += m->interval_ms * 1000000;
    uint64_t after = uv_hrtime();
    uint64_t wait_ms = m->due_ns > after ? (m->due_ns - after + 999999) / 1000000 : 0;
    uv_timer_start(&io->timer, on_tick, wait_ms, 0);
}

void obs_monitor_start(struct obs_monitor *m)
{
    struct mon_io *io = m->io;
    if (io->timer_on)
        return;
    io->timer_on = 1;
    m->due_ns = uv_hrtime();
    uv_timer_start(&io->timer, on_tick, 0, 0);
}

/* --- setup -------------------------------------------------------------------------- */

/* The program on PATH, malloc'd; NULL when there is none. */
static char *find_program(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? strdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        char buf[4096];
        if (n && n + strlen(name) + 2 < sizeof buf) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
            if (access(buf, X_OK) == 0)
                return strdup(buf);
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return NULL;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

static void setup_server(struct obs_monitor *m, const struct obs_monitor_cfg *cfg)
{
    char *note = m->note[NOTE_SERVER], err[256];
    size_t cap = sizeof m->note[NOTE_SERVER];
    struct obs_url u;
    m->server_pid = cfg->server_pid;
    if (m->server_pid) {
        snprintf(note, cap, "--server-pid %ld", m->server_pid);
    } else if (!cfg->target_url || obs_url_parse(cfg->target_url, &u, err, sizeof err) < 0) {
        snprintf(note, cap, "no target URL to find it by (use --server-pid)");
    } else if (!is_loopback(&u.addr)) {
        snprintf(note, cap, "the target is not on this machine (or use --server-pid)");
    } else if (!(m->server_pid = obs_find_listener((unsigned)atoi(u.port)))) {
        snprintf(note, cap, "no visible process listens on port %s (another user's needs root;"
                 " or use --server-pid)", u.port);
    } else {
        snprintf(note, cap, "the listener of port %s", u.port);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", m->server_pid);
    if (m->server_pid && access(path, R_OK) == 0)
        m->active |= OBS_SRC_SERVER;
    else if (m->server_pid)
        snprintf(note, cap, "process %ld is not readable", m->server_pid);
}

static void setup_server_metrics(struct obs_monitor *m, const struct obs_monitor_cfg *cfg)
{
    char *note = m->note[NOTE_SM], err[256];
    size_t cap = sizeof m->note[NOTE_SM];
    if (cfg->server_metrics) {
        if (obs_url_parse(cfg->server_metrics, &m->sm_url, err, sizeof err) < 0) {
            snprintf(note, cap, "%.300s", err);
            return;
        }
    } else {
        if (!cfg->target_url || obs_url_parse(cfg->target_url, &m->sm_url, err, sizeof err) < 0) {
            snprintf(note, cap, "no target URL (use --server-metrics URL)");
            return;
        }
        /* the server's root, whatever API path the target names */
        snprintf(m->sm_url.path, sizeof m->sm_url.path, "%s",
                 cfg->target_ollama ? "/api/ps" : "/metrics");
        m->sm_default = 1;
    }
    int v6 = strchr(m->sm_url.host, ':') != NULL;
    snprintf(m->sm_where, sizeof m->sm_where, "http://%s%.100s%s:%s%.60s", v6 ? "[" : "",
             m->sm_url.host, v6 ? "]" : "", m->sm_url.port, m->sm_url.path);
    snprintf(note, cap, "%s", m->sm_where);
    m->active |= OBS_SRC_SERVER_METRICS;
}

struct obs_monitor *obs_monitor_new(uv_loop_t *loop, const struct obs_monitor_cfg *cfg)
{
    struct obs_monitor *m = calloc(1, sizeof *m);
    struct mon_io *io = calloc(1, sizeof *io);
    if (!m || !io)
        goto fail;
    m->loop = loop;
    m->io = io;
    m->cfg = *cfg;
    m->cfg.target_url = m->cfg.server_metrics = m->cfg.nvidia_smi = NULL;  /* not kept */
    m->interval_ms = cfg->interval_ms ? cfg->interval_ms : 1000;
    m->hz = sysconf(_SC_CLK_TCK);
    m->page = sysconf(_SC_PAGESIZE);
    m->stride = 1;
    m->cap = OBS_MONITOR_MAX_ROWS;
    m->t0 = uv_hrtime();
    m->sm_rate_prompt = m->sm_rate_gen = NAN;
    if (!(m->t = malloc(m->cap * sizeof *m->t)) || !(io->gbuf = malloc(GPU_OUT_MAX)) ||
        (cfg->server_metrics_all && !(m->other = calloc(OTHER_MAX, sizeof *m->other))))
        goto fail;
    for (int i = 0; i < OBS_GPU_MAX; i++)
        m->gpu_prev_power[i] = NAN;
    io->m = m;
    uv_timer_init(loop, &io->timer);
    io->timer.data = io;
    io->open = 1;
    uv_unref((uv_handle_t *)&io->timer);

    m->active = cfg->sources & (OBS_SRC_CLIENT | OBS_SRC_SYSTEM);
    if (m->active & OBS_SRC_CLIENT)
        snprintf(m->note[NOTE_CLIENT], sizeof m->note[0], "pid %ld", (long)getpid());
    if (m->active & OBS_SRC_SYSTEM)
        snprintf(m->note[NOTE_SYSTEM], sizeof m->note[0], "%ld CPUs", sysconf(_SC_NPROCESSORS_ONLN));
    if (cfg->sources & OBS_SRC_SERVER)
        setup_server(m, cfg);
    if (cfg->sources & OBS_SRC_GPU) {
        io->smi = find_program(cfg->nvidia_smi ? cfg->nvidia_smi : "nvidia-smi");
        if (io->smi) {
            snprintf(m->note[NOTE_GPU], sizeof m->note[0], "%.300s", io->smi);
            m->active |= OBS_SRC_GPU;
        } else {
            snprintf(m->note[NOTE_GPU], sizeof m->note[0], "nvidia-smi not found");
        }
    }
    if (cfg->sources & OBS_SRC_SERVER_METRICS)
        setup_server_metrics(m, cfg);
    for (unsigned b = 1; b < OBS_SRC_ALL; b <<= 1)
        if (!(cfg->sources & b))
            snprintf(m->note[obs_mon_src_index(b)], sizeof m->note[0], "off (--monitor)");
    return m;
fail:
    if (io)
        free(io->gbuf);
    free(io);
    if (m) {
        free(m->t);
        free(m->other);
    }
    free(m);
    return NULL;
}

void obs_monitor_stop(struct obs_monitor *m)
{
    struct mon_io *io = m->io;
    if (!io)
        return;
    m->io = NULL;
    io->m = NULL;
    if (m->sm_fetch)
        obs_fetch_cancel(m->sm_fetch);
    m->sm_fetch = NULL;
    if (io->work_on && uv_cancel((uv_req_t *)&io->work) != 0) {
        /* Running: end its child now, so that the loop's last run does not
         * wait for nvidia-smi. */
        atomic_store(&io->cancel, 1);
        int pid = atomic_load(&io->child);
        if (pid > 0)
            kill(pid, SIGKILL);
    }
    uv_close((uv_handle_t *)&io->timer, io_closed);
}

void obs_monitor_free(struct obs_monitor *m)
{
    if (!m)
        return;
    if (m->io)
        obs_monitor_stop(m);
    for (size_t i = 0; i < m->ncols; i++) {
        free(m->cols[i].name);
        free(m->cols[i].v);
    }
    free(m->cols);
    free(m->t);
    free(m->other);
    cJSON_Delete(m->ollama_models);
    free(m);
}

uint64_t obs_monitor_samples(const struct obs_monitor *m)
{
    return m->ticks;
}

int obs_monitor_latest(const struct obs_monitor *m, size_t i, const char **name, double *value)
{
    if (i >= m->ncols)
        return 0;
    *name = m->cols[i].name;
    *value = m->cols[i].last;
    return 1;
}

