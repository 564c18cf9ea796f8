#ifndef LLMLOAD_TEST_GATE_DOCS_H
#define LLMLOAD_TEST_GATE_DOCS_H
/* Literal "llmload.result/1" documents for the gate's unit tests. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A result of one run: p95(ttft) and output_tps vary, the rest is fixed.
 * concurrency shapes the config; interrupted and ok as given. */
static inline cJSON *doc_make(double ttft_p95, double tps, double error_rate, int concurrency,
                              int ok, int interrupted)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
        "{\"schema\":\"llmload.result/1\","
        "\"config\":{\"url\":\"http://127.0.0.1:%d\",\"api\":\"openai-chat\",\"model\":\"m\","
        "\"prompt\":\"hello\",\"max_tokens\":64,\"concurrency\":%d,\"requests\":1234567,"
        "\"duration_s\":0,\"rate\":0,\"stream\":true,\"temperature\":null,\"json_path\":\"/tmp/x%d.json\"},"
        "\"environment\":{\"llmload_version\":\"0.1.0\",\"host\":\"ci-runner-%d\",\"start_time\":\"2025-01-01T00:00:0%dZ\"},"
        "\"summary\":{\"requests\":100,\"ok\":%d,\"failed\":%d,\"error_rate\":%.17g,\"duration_s\":2.0,"
        "\"rps\":50.0,\"output_tokens\":6400,\"input_tokens\":900,\"output_tps\":%.17g,"
        "\"ttft\":{\"min\":0.005,\"mean\":0.02,\"p50\":0.018,\"p90\":0.03,\"p95\":%.17g,\"p99\":0.05,\"max\":0.06},"
        "\"tpot\":{\"min\":0.001,\"mean\":0.002,\"p50\":0.002,\"p90\":0.003,\"p95\":0.0031,\"p99\":0.004,\"max\":0.005},"
        "\"itl\":{\"min\":null,\"mean\":null,\"p50\":null,\"p90\":null,\"p95\":null,\"p99\":null,\"max\":null},"
        "\"e2e\":{\"min\":0.1,\"mean\":0.15,\"p50\":0.14,\"p90\":0.2,\"p95\":0.22,\"p99\":0.25,\"max\":0.3},"
        "\"errors\":{},\"retries\":0,\"late\":0,\"server_eval_rate\":null},"
        "\"interrupted\":%s}",
        4000 + concurrency, concurrency, concurrency, concurrency, concurrency % 10,
        ok, 100 - ok, error_rate, tps, ttft_p95, interrupted ? "true" : "false");
    cJSON *d = cJSON_Parse(buf);
    if (!d)
        abort();
    return d;
}

static inline cJSON *doc_simple(double ttft_p95, double tps)
{
    return doc_make(ttft_p95, tps, 0.0, 4, 100, 0);
}

/* A fresh temporary directory; the caller removes its files. */
static inline void tmp_dir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/llmload-gate-XXXXXX");
    if (!mkdtemp(buf))
        abort();
}

static inline char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, r;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *n = realloc(buf, cap);
            if (!n)
                abort();
            buf = n;
        }
        r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
    } while (r > 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static inline void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

#endif
