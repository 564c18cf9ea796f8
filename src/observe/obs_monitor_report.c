/* The monitor's report: the "monitor" section of the result document and
 * the terminal summary (obs_monitor.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "obs_monitor_int.h"

#define STEAL_WARN_MEAN 0.05
#define STEAL_WARN_MAX 0.20

static const struct col *col_get(const struct obs_monitor *m, const char *name)
{
    return obs_mon_col_find(m, name);
}

static double col_mean(const struct col *c)
{
    return c && c->n ? c->sum / (double)c->n : NAN;
}

static double energy_total(const struct obs_monitor *m, int *have)
{
    double j = 0;
    *have = 0;
    for (int i = 0; i < OBS_GPU_MAX; i++)
        if (m->energy_j[i] > 0) {
            j += m->energy_j[i];
            *have = 1;
        }
    return j;
}

/* The warnings of a run, one sentence each; returns how many were written. */
static int warnings(const struct obs_monitor *m, char w[][256], int max)
{
    int n = 0;
    const struct col *st = col_get(m, "system_cpu_steal");
    double mean = col_mean(st);
    if (st && n < max && (mean > STEAL_WARN_MEAN || st->max > STEAL_WARN_MAX))
        snprintf(w[n++], 256, "CPU steal time averaged %.1f %% (max %.1f %%): the hypervisor gave "
                 "this machine's CPU to others, and every timing includes those stalls",
                 mean * 100, st->max * 100);
    const struct col *busy = col_get(m, "client_loop_busy");
    if (busy && n < max && busy->max > 0.9)
        snprintf(w[n++], 256, "the client's event loop was busy %.0f %% of a second at its worst: "
                 "the client may have been the bottleneck", busy->max * 100);
    return n;
}

static void put_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *obs_monitor_json(const struct obs_monitor *m, uint64_t output_tokens)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    put_num(o, "interval_s", (double)(m->interval_ms * m->stride) / 1000);
    put_num(o, "samples", (double)m->ticks);
    cJSON *src = cJSON_AddObjectToObject(o, "sources");
    for (unsigned b = 1; b < OBS_SRC_ALL; b <<= 1) {
        /* a JSON key: "server_metrics", not the flag's "server-metrics" */
        char key[32];
        snprintf(key, sizeof key, "%s", obs_src_name(b));
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        cJSON *s = cJSON_AddObjectToObject(src, key);
        cJSON_AddBoolToObject(s, "on", (m->active & b) != 0 ||
                              (b == OBS_SRC_SERVER && m->srv_ok) ||
                              (b == OBS_SRC_SERVER_METRICS && m->sm_ok) ||
                              (b == OBS_SRC_GPU && m->gpu_seen));
        cJSON_AddStringToObject(s, "note", m->note[obs_mon_src_index(b)]);
        if (b == OBS_SRC_SERVER && m->server_pid)
            cJSON_AddNumberToObject(s, "pid", (double)m->server_pid);
        if (b == OBS_SRC_SERVER_METRICS && m->sm_ok && !m->sm_ollama)
            cJSON_AddStringToObject(s, "server", obs_srv_kind_name(m->sm.kind));
        if (b == OBS_SRC_SERVER_METRICS)
            cJSON_AddNumberToObject(s, "failures", (double)m->sm_failures);
        if (b == OBS_SRC_GPU && m->gpu_seen) {
            cJSON *names = cJSON_AddArrayToObject(s, "names");
            for (int i = 0; i < m->ngpu; i++)
                cJSON_AddItemToArray(names, cJSON_CreateString(m->gpu_names[i]));
        }
    }
    cJSON *t = cJSON_AddArrayToObject(o, "t");
    for (size_t r = 0; r < m->rows; r++)
        cJSON_AddItemToArray(t, cJSON_CreateNumber(round(m->t[r] * 1000) / 1000));
    cJSON *series = cJSON_AddObjectToObject(o, "series");
    cJSON *units = cJSON_AddObjectToObject(o, "units");
    cJSON *summary = cJSON_AddObjectToObject(o, "summary");
    for (size_t i = 0; i < m->ncols; i++) {
        const struct col *c = &m->cols[i];
        cJSON *a = cJSON_AddArrayToObject(series, c->name);
        for (size_t r = 0; r < m->rows; r++)
            cJSON_AddItemToArray(a, isfinite(c->v[r]) ? cJSON_CreateNumber(c->v[r]) : cJSON_CreateNull());
        cJSON_AddStringToObject(units, c->name, c->unit);
        cJSON *s = cJSON_AddObjectToObject(summary, c->name);
        put_num(s, "mean", col_mean(c));
        put_num(s, "max", c->max);
    }
    if (m->sm_ok && !m->sm_ollama) {
        /* What the server counted during this run, not since it started. */
        cJSON *d = cJSON_AddObjectToObject(o, "server_counters");
        for (int f = OBS_SF_FIRST_COUNTER; f < OBS_SF__COUNT; f++)
            if (m->delta[f].seen)
                put_num(d, obs_srv_field_name(f), m->delta[f].grown);
        double q = m->delta[OBS_SF_PREFIX_QUERIES].grown, h = m->delta[OBS_SF_PREFIX_HITS].grown;
        if (m->delta[OBS_SF_PREFIX_QUERIES].seen && m->delta[OBS_SF_PREFIX_HITS].seen)
            put_num(d, "prefix_cache_hit_rate", q > 0 ? h / q : NAN);
    }
    if (m->ollama_models)
        cJSON_AddItemToObject(o, "ollama_models", cJSON_Duplicate(m->ollama_models, 1));
    int have;
    double j = energy_total(m, &have);
    if (have) {
        cJSON *e = cJSON_AddObjectToObject(o, "energy");
        put_num(e, "joules", j);
        put_num(e, "joules_per_output_token", output_tokens ? j / (double)output_tokens : NAN);
    }
    char w[4][256];
    int nw = warnings(m, w, 4);
    cJSON *wa = cJSON_AddArrayToObject(o, "warnings");
    for (int i = 0; i < nw; i++)
        cJSON_AddItemToArray(wa, cJSON_CreateString(w[i]));
    return o;
}

/* "12.3 MiB" */
static const char *fmt_bytes(double v, char *buf, size_t cap)
{
    static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int k = 0;
    if (isnan(v))
        return "-";
    while (v >= 1024 && k < 4) {
        v /= 1024;
        k++;
    }
    snprintf(buf, cap, k ? "%.1f %s" : "%.0f %s", v, u[k]);
    return buf;
}

/* " NAME mean X (max Y)" for a series of fractions shown in percent. */
static void pct(FILE *f, const struct obs_monitor *m, const char *label, const char *name)
{
    const struct col *c = col_get(m, name);
    if (c && c->n)
        fprintf(f, " %s %.1f %% (max %.1f %%)", label, col_mean(c) * 100, c->max * 100);
}

static void num(FILE *f, const struct obs_monitor *m, const char *label, const char *name,
                const char *fmt)
{
    const struct col *c = col_get(m, name);
    if (c && c->n) {
        fprintf(f, " %s ", label);
        fprintf(f, fmt, col_mean(c));
        fputs(" (max ", f);
        fprintf(f, fmt, c->max);
        fputc(')', f);
    }
}

static void bytes(FILE *f, const struct obs_monitor *m, const char *label, const char *name)
{
    const struct col *c = col_get(m, name);
    char a[32], b[32];
    if (c && c->n)
        fprintf(f, " %s %s (max %s)", label, fmt_bytes(col_mean(c), a, sizeof a),
                fmt_bytes(c->max, b, sizeof b));
}

void obs_monitor_print(const struct obs_monitor *m, FILE *f, uint64_t output_tokens)
{
    if (!m->ticks)
        return;
    fprintf(f, "Monitor: %llu samples, every %.3g s (mean, max)\n", (unsigned long long)m->ticks,
            (double)m->interval_ms / 1000);
    if (col_get(m, "client_rss_bytes")) {
        fputs("  client:", f);
        pct(f, m, "CPU user", "client_cpu_user");
        pct(f, m, "sys", "client_cpu_system");
        bytes(f, m, "RSS", "client_rss_bytes");
        num(f, m, "fds", "client_fds", "%.0f");
        pct(f, m, "loop busy", "client_loop_busy");
        fputc('\n', f);
    }
    if (col_get(m, "server_rss_bytes")) {
        fprintf(f, "  server pid %ld:", m->server_pid);
        pct(f, m, "CPU user", "server_cpu_user");
        pct(f, m, "sys", "server_cpu_system");
        bytes(f, m, "RSS", "server_rss_bytes");
        num(f, m, "threads", "server_threads", "%.0f");
        fputc('\n', f);
    }
    if (col_get(m, "system_mem_used_bytes")) {
        fputs("  system:", f);
        pct(f, m, "CPU user", "system_cpu_user");
        pct(f, m, "sys", "system_cpu_system");
        pct(f, m, "iowait", "system_cpu_iowait");
        pct(f, m, "steal", "system_cpu_steal");
        bytes(f, m, "memory used", "system_mem_used_bytes");
        num(f, m, "load", "system_load1", "%.2f");
        fputc('\n', f);
    }
    for (int i = 0; i < OBS_GPU_MAX && m->gpu_seen && i < m->ngpu; i++) {
        char n[48];
        fprintf(f, "  gpu%d %s:", i, m->gpu_names[i]);
        snprintf(n, sizeof n, "gpu%d_util", i);
        pct(f, m, "util", n);
        snprintf(n, sizeof n, "gpu%d_mem_used_bytes", i);
        bytes(f, m, "memory", n);
        snprintf(n, sizeof n, "gpu%d_power_w", i);
        num(f, m, "power", n, "%.0f W");
        snprintf(n, sizeof n, "gpu%d_temp_c", i);
        num(f, m, "temp", n, "%.0f C");
        fputc('\n', f);
    }
    int have;
    double j = energy_total(m, &have);
    if (have) {
        fprintf(f, "  energy: %.1f kJ", j / 1000);
        if (output_tokens)
            fprintf(f, ", %.3g J per output token", j / (double)output_tokens);
        fputc('\n', f);
    }
    if (m->sm_ok) {
        fprintf(f, "  server metrics (%s):", m->sm_ollama ? "ollama" : obs_srv_kind_name(m->sm.kind));
        num(f, m, "running", "server_requests_running", "%.1f");
        num(f, m, "waiting", "server_requests_waiting", "%.1f");
        pct(f, m, "KV cache", "server_kv_cache_usage");
        num(f, m, "VRAM", "server_vram_bytes", "%.0f B");
        double q = m->delta[OBS_SF_PREFIX_QUERIES].grown, h = m->delta[OBS_SF_PREFIX_HITS].grown;
        if (q > 0)
            fprintf(f, " prefix-cache hits %.1f %% of this run's lookups", h / q * 100);
        fputc('\n', f);
    }
    char w[4][256];
    int nw = warnings(m, w, 4);
    for (int i = 0; i < nw; i++)
        fprintf(f, "  warning: %s\n", w[i]);
}
