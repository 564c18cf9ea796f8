/* The resource monitor (src/observe/obs_monitor.c) on a real loop: this
 * process as the client, the test runner as the "server" process, a fake
 * nvidia-smi printing the captured CSV, and a server /metrics served by
 * src/observe's own listener with counters that grow between scrapes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "obs_http.h"
#include "obs_monitor.h"

struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    struct obs_http *http;
    struct obs_monitor *m;
    int scrapes, samples, want;
    int ollama;
};

/* A vLLM-like server: 100 more prompt tokens, 100 prefix lookups and 50
 * hits each scrape, 7 running, 2 waiting, KV 0.25. */
static int provide(void *ud, FILE *out, enum obs_format fmt)
{
    struct fx *x = ud;
    int k = x->scrapes++;
    (void)fmt;
    if (x->ollama) {
        fprintf(out, "{\"models\":[{\"name\":\"a\",\"size\":1000,\"size_vram\":600},"
                     "{\"name\":\"b\",\"size\":500,\"size_vram\":0}]}");
        return 0;
    }
    fprintf(out, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 7\n"
                 "vllm:num_requests_waiting{model_name=\"m\"} 2\n"
                 "vllm:kv_cache_usage_perc{model_name=\"m\"} 0.25\n"
                 "vllm:prompt_tokens_total{model_name=\"m\"} %d\n"
                 "vllm:prefix_cache_queries_total{model_name=\"m\"} %d\n"
                 "vllm:prefix_cache_hits_total{model_name=\"m\"} %d\n"
                 "process_open_fds 12\n", 5000 + 100 * k, 100 * k, 50 * k);
    return 0;
}

static void on_tick(uv_timer_t *t)
{
    struct fx *x = t->data;
    obs_monitor_sample(x->m, NAN);
    if (++x->samples == x->want) {
        obs_monitor_stop(x->m);
        obs_http_stop(x->http);
        uv_close((uv_handle_t *)t, NULL);
    }
}

/* A fake nvidia-smi in a temporary directory: prints the capture. */
static void fake_smi(char *path, size_t cap)
{
    const char *root = getenv("LLMLOAD_FIXTURES");
    char dir[] = "/tmp/llmload-smi-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(path, cap, "%s/nvidia-smi", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nexec cat '%s/observe/nvidia-smi.csv'\n", root ? root : "tests/fixtures");
    fclose(f);
    chmod(path, 0755);
}

static const cJSON *at(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok(buf, "."); k && o; k = strtok(NULL, "."))
        o = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!o)
        fail_msg("no %s", path);
    return o;
}

static double num(const cJSON *o, const char *path)
{
    const cJSON *v = at(o, path);
    if (!cJSON_IsNumber(v))
        fail_msg("%s is not a number", path);
    return v->valuedouble;
}

static void run(struct fx *x, const struct obs_monitor_cfg *cfg, int samples, uint64_t every_ms)
{
    x->m = obs_monitor_new(&x->loop, cfg);
    assert_non_null(x->m);
    x->want = samples;
    uv_timer_init(&x->loop, &x->tick);
    x->tick.data = x;
    uv_timer_start(&x->tick, on_tick, every_ms, every_ms);
    uv_run(&x->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&x->loop), 0);
}

static void test_every_source(void **state)
{
    (void)state;
    struct fx x = { 0 };
    char err[256], smi[256], url[64];
    fake_smi(smi, sizeof smi);
    assert_int_equal(uv_loop_init(&x.loop), 0);
    uv_loop_configure(&x.loop, UV_METRICS_IDLE_TIME);
    x.http = obs_http_start(&x.loop, "127.0.0.1:0", provide, &x, err, sizeof err);
    assert_non_null(x.http);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", obs_http_port(x.http));
    struct obs_monitor_cfg cfg = { .sources = OBS_SRC_ALL, .server_pid = (long)getppid(),
                                   .target_url = url, .nvidia_smi = smi,
                                   .server_metrics_all = 1, .loop_idle_metrics = 1 };
    run(&x, &cfg, 8, 100);
    assert_int_equal(obs_monitor_samples(x.m), 8);

    cJSON *j = obs_monitor_json(x.m, 1000);
    assert_non_null(j);
    assert_int_equal(num(j, "samples"), 8);
    assert_true(num(j, "interval_s") == 1);
    assert_int_equal(cJSON_GetArraySize(at(j, "t")), 8);
    const cJSON *series = at(j, "series");
    /* every source sampled */
    static const char *const names[] = {
        "client_cpu_user", "client_cpu_system", "client_rss_bytes", "client_fds", "client_loop_busy",
        "server_cpu_user", "server_rss_bytes", "server_threads", "system_cpu_user",
        "system_cpu_steal", "system_cpu_iowait", "system_mem_used_bytes", "system_load1",
        "gpu0_util", "gpu0_power_w", "gpu1_mem_used_bytes", "gpu2_temp_c",
        "server_requests_running", "server_requests_waiting", "server_kv_cache_usage",
        "server_prompt_tokens_per_s", "metric:process_open_fds",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(series, names[i]);
        if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 8)
            fail_msg("series %s missing or short", names[i]);
    }
    /* rates need two readings: none at the first sample */
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(at(series, "client_cpu_user"), 0)));
    assert_true(cJSON_GetArrayItem(at(series, "client_rss_bytes"), 0)->valuedouble > 0);
    /* a GPU without power reading never gets a power series */
    assert_null(cJSON_GetObjectItemCaseSensitive(series, "gpu2_power_w"));
    assert_true(num(j, "summary.gpu0_util.max") == 0.87);
    assert_true(num(j, "summary.gpu0_power_w.mean") == 312.45);
    assert_true(num(j, "summary.server_requests_running.mean") == 7);
    assert_true(num(j, "summary.server_kv_cache_usage.max") == 0.25);
    assert_true(num(j, "summary.metric:process_open_fds.max") == 12);
    assert_true(num(j, "summary.client_fds.max") >= 3);
    assert_string_equal(at(j, "units.client_rss_bytes")->valuestring, "bytes");
    /* this run's counters: 100 a scrape, whatever the server had before */
    double p = num(j, "server_counters.prompt_tokens");
    assert_true(p >= 100 && fmod(p, 100) == 0);
    assert_true(num(j, "server_counters.prefix_cache_hit_rate") == 0.5);
    assert_string_equal(at(j, "sources.server_metrics.server")->valuestring, "vllm");
    assert_true(cJSON_IsTrue(at(j, "sources.gpu.on")));
    assert_string_equal(cJSON_GetArrayItem(at(j, "sources.gpu.names"), 2)->valuestring,
                        "NVIDIA GeForce RTX 3060 Laptop GPU");
    assert_true(num(j, "sources.server.pid") == (double)getppid());
    /* two GPUs report power (373.65 W together) for the time between the
     * first and the last reading, under 0.8 s */
    double joules = num(j, "energy.joules");
    assert_true(joules > 0 && joules < 373.65 * 0.8);
    assert_true(fabs(num(j, "energy.joules_per_output_token") - joules / 1000) < 1e-12);
    assert_true(cJSON_IsArray(at(j, "warnings")));

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    obs_monitor_print(x.m, f, 1000);
    fclose(f);
    assert_non_null(strstr(text, "Monitor: 8 samples"));
    assert_non_null(strstr(text, "  client: CPU user"));
    assert_non_null(strstr(text, "  gpu0 NVIDIA A100-SXM4-80GB: util 87.0 % (max 87.0 %)"));
    assert_non_null(strstr(text, "  server metrics (vllm): running 7.0 (max 7.0) waiting 2.0"));
    assert_non_null(strstr(text, "prefix-cache hits 50.0 % of this run's lookups"));
    assert_non_null(strstr(text, "J per output token"));
    free(text);
    cJSON_Delete(j);
    obs_monitor_free(x.m);
    unlink(smi);
    *strrchr(smi, '/') = '\0';
    rmdir(smi);
}

/* Sources that are not there say why; a target without /metrics is
 * dropped at its first answer; Ollama's /api/ps is read as JSON. */
static void test_missing_sources(void **state)
{
    (void)state;
    struct fx x = { 0 };
    char err[256], url[96];
    assert_int_equal(uv_loop_init(&x.loop), 0);
    x.http = obs_http_start(&x.loop, "127.0.0.1:0", provide, &x, err, sizeof err);
    assert_non_null(x.http);
    /* the listener answers 404 to anything but /metrics: an Ollama-like
     * target's /api/ps */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", obs_http_port(x.http));
    struct obs_monitor_cfg cfg = { .sources = OBS_SRC_ALL & ~(unsigned)OBS_SRC_CLIENT,
                                   .target_url = url, .target_ollama = 1,
                                   .nvidia_smi = "/nonexistent/nvidia-smi" };
    run(&x, &cfg, 3, 50);
    cJSON *j = obs_monitor_json(x.m, 0);
    /* this process is the listener, and the monitor never picks itself */
    assert_false(cJSON_IsTrue(at(j, "sources.server.on")));
    assert_non_null(strstr(at(j, "sources.server.note")->valuestring, "no visible process"));
    assert_false(cJSON_IsTrue(at(j, "sources.gpu.on")));
    assert_string_equal(at(j, "sources.gpu.note")->valuestring, "nvidia-smi not found");
    assert_false(cJSON_IsTrue(at(j, "sources.server_metrics.on")));
    assert_non_null(strstr(at(j, "sources.server_metrics.note")->valuestring, "/api/ps: HTTP 404"));
    assert_string_equal(at(j, "sources.client.note")->valuestring, "off (--monitor)");
    assert_null(cJSON_GetObjectItemCaseSensitive(at(j, "series"), "client_rss_bytes"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(at(j, "series"), "system_load1"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "energy"));
    assert_int_equal(x.scrapes, 0);      /* 404s never reach the provider */
    cJSON_Delete(j);
    obs_monitor_free(x.m);

    /* an explicit URL that answers JSON: Ollama's /api/ps */
    memset(&x, 0, sizeof x);
    x.ollama = 1;
    assert_int_equal(uv_loop_init(&x.loop), 0);
    x.http = obs_http_start(&x.loop, "127.0.0.1:0", provide, &x, err, sizeof err);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", obs_http_port(x.http));
    struct obs_monitor_cfg c2 = { .sources = OBS_SRC_SERVER_METRICS, .server_metrics = url };
    run(&x, &c2, 4, 50);
    j = obs_monitor_json(x.m, 0);
    assert_true(num(j, "summary.server_vram_bytes.max") == 600);
    assert_true(num(j, "summary.server_models_loaded.max") == 2);
    assert_int_equal(cJSON_GetArraySize(at(j, "ollama_models")), 2);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "server_counters"));
    cJSON_Delete(j);
    obs_monitor_free(x.m);
}

/* Past OBS_MONITOR_MAX_ROWS points every other one is kept and the interval
 * doubles; the mean and max still see every sample. */
static void test_bounded(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct obs_monitor_cfg cfg = { .sources = OBS_SRC_CLIENT };
    struct obs_monitor *m = obs_monitor_new(&loop, &cfg);
    int n = 2 * OBS_MONITOR_MAX_ROWS + 5;
    for (int i = 0; i < n; i++)
        obs_monitor_sample(m, i == 100 ? 0.5 : 0.001 * (i % 3));
    obs_monitor_stop(m);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    cJSON *j = obs_monitor_json(m, 0);
    assert_int_equal(num(j, "samples"), n);
    assert_true(num(j, "interval_s") == 4);
    int rows = cJSON_GetArraySize(at(j, "t"));
    assert_true(rows <= OBS_MONITOR_MAX_ROWS && rows >= n / 4);
    assert_int_equal(cJSON_GetArraySize(at(j, "series.client_loop_lag_s")), rows);
    /* the summary saw every sample, stored or not */
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += i == 100 ? 0.5 : 0.001 * (i % 3);
    assert_true(num(j, "summary.client_loop_lag_s.max") == 0.5);
    assert_true(fabs(num(j, "summary.client_loop_lag_s.mean") - sum / n) < 1e-12);
    /* times rise */
    double prev = -1;
    const cJSON *t;
    cJSON_ArrayForEach(t, at(j, "t")) {
        assert_true(t->valuedouble >= prev);
        prev = t->valuedouble;
    }
    cJSON_Delete(j);
    obs_monitor_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_source),
        cmocka_unit_test(test_missing_sources),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
