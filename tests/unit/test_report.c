/* Unit tests for run aggregates (src/result.c) and the outputs of a run
 * (src/report_*.c): synthetic requests with known timings in, exact
 * numbers out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "report.h"
#include "result.h"

#define MS 1000000ull

static uint32_t ev1[] = { 10000, 5000, 5000, 10000 };    /* us deltas */
static uint32_t ev2[] = { 20000, 10000 };

static struct req_record rec(uint64_t index)
{
    struct req_record r;
    memset(&r, 0, sizeof r);
    r.index = index;
    r.out_tokens = r.server_tokens = r.local_tokens = r.in_tokens = -1;
    r.total_duration_ns = r.eval_count = r.eval_duration_ns = -1;
    r.prompt_eval_count = r.prompt_eval_duration_ns = r.cached_tokens = r.load_duration_ns = -1;
    r.prompt_chars = 30;
    r.max_tokens = 128;
    r.exact_tokens = -1;
    r.reasoning_tokens = r.server_reasoning_tokens = -1;
    return r;
}

/* The run every test below reports on:
 *   #0 ok: start 1 ms, first token 11 ms, 4 events, end 41 ms, 5 tokens (server),
 *          llama.cpp timings: prompt 4 ms (3 tokens cached), 5 tokens in 20 ms;
 *          the local tokenizer counted 6
 *   #1 ok: start 2 ms, first token 22 ms, 2 events, end 62 ms, 2 tokens (chunks),
 *          Ollama eval 2 tokens in 50 ms, prompt 8 ms, load 1 ms; asked for
 *          exactly 3 tokens
 *   #2, #3 timeout_ttft, #4 HTTP 503, and one warm-up request. */
static void fill(struct run_stats *s, struct req_record rs[6])
{
    rs[0] = rec(0);
    rs[0].start_ns = 1 * MS; rs[0].first_ns = 11 * MS; rs[0].last_ns = 31 * MS;
    rs[0].end_ns = 41 * MS; rs[0].status = 200; rs[0].events = 4;
    rs[0].out_tokens = rs[0].server_tokens = 5; rs[0].tok_src = TOK_SERVER;
    rs[0].in_tokens = 7; rs[0].ev_us = ev1; rs[0].ev_n = 4;
    rs[0].local_tokens = 6;
    rs[0].prompt_eval_count = 4; rs[0].prompt_eval_duration_ns = 4 * MS; rs[0].cached_tokens = 3;
    rs[0].eval_count = 5; rs[0].eval_duration_ns = 20 * MS;
    /* Reasoned first, then called a tool. */
    rs[0].t_first_reasoning = 11 * MS; rs[0].t_first_output = 21 * MS;
    rs[0].reasoning_events = 2; rs[0].tool_events = 1; rs[0].tool_calls = 1;
    rs[0].server_reasoning_tokens = 2;
    req_record_reasoning(&rs[0]);

    rs[1] = rec(1);
    rs[1].start_ns = 2 * MS; rs[1].first_ns = 22 * MS; rs[1].last_ns = 32 * MS;
    rs[1].end_ns = 62 * MS; rs[1].status = 200; rs[1].events = 2;
    rs[1].out_tokens = 2; rs[1].tok_src = TOK_CHUNKS; rs[1].ev_us = ev2; rs[1].ev_n = 2;
    rs[1].eval_count = 2; rs[1].eval_duration_ns = 50 * MS; rs[1].total_duration_ns = 70 * MS;
    rs[1].prompt_eval_duration_ns = 8 * MS; rs[1].load_duration_ns = 1 * MS;
    rs[1].exact_tokens = 3; rs[1].max_tokens = 3; rs[1].prompt_chars = 40;
    rs[1].t_first_output = 22 * MS;
    req_record_reasoning(&rs[1]);

    rs[2] = rec(2);
    rs[2].start_ns = 3 * MS; rs[2].end_ns = 1003 * MS; rs[2].status = 200;
    rs[2].err = ERR_TIMEOUT_TTFT;
    snprintf(rs[2].errmsg, sizeof rs[2].errmsg, "no first token after 1 s, \"quoted\"");

    rs[3] = rec(3);
    rs[3].start_ns = 4 * MS; rs[3].end_ns = 1004 * MS; rs[3].err = ERR_TIMEOUT_TTFT;
    snprintf(rs[3].errmsg, sizeof rs[3].errmsg, "a later message");

    rs[4] = rec(4);
    rs[4].start_ns = 5 * MS; rs[4].end_ns = 6 * MS; rs[4].status = 503; rs[4].err = ERR_STATUS;
    rs[4].max_tokens = -1;
    snprintf(rs[4].errmsg, sizeof rs[4].errmsg, "HTTP 503: bad \xff byte");

    rs[5] = rec(5);
    rs[5].warmup = 1; rs[5].start_ns = 0; rs[5].first_ns = 1 * MS; rs[5].end_ns = 500 * MS;
    rs[5].out_tokens = 1000; rs[5].tok_src = TOK_SERVER;

    for (int i = 0; i < 6; i++) {
        rs[i].run_id = "20231114T221320Z-0badf00d";
        run_stats_add(s, &rs[i]);
    }
    s->start_ns = 0;
    s->end_ns = 2000 * MS;          /* 2 s of wall time */
    s->start_wall_ns = 1700000000123456789ll;
    s->loop_busy_frac = 0.95;
    s->loop_lag_max_ns = 40 * MS;
    s->loop_lag_p99_ns = 25 * MS;
}

static void config(struct run_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->url, sizeof c->url, "http://127.0.0.1:8000/v1");
    snprintf(c->model, sizeof c->model, "tiny-model");
    c->api = API_OPENAI_CHAT;
    c->stream = 1;
    c->api_key = "sk-SECRET-do-not-print";
    c->prompt = "Say 'hello, world!' in Korean.";
    c->max_tokens = 128;
    c->temperature = NAN;
    c->sampling_seed = -1;
    c->seed = 42;
    c->concurrency = 4;
    c->requests = 5;
    c->request_timeout_ns = 30000 * MS;
    c->csv_path = "out.csv";
}

/* --- tiny helpers -------------------------------------------------------- */

static double num(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *v = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        v = cJSON_GetObjectItemCaseSensitive(v, k);
    if (!cJSON_IsNumber(v))
        fail_msg("%s is not a number", path);
    return v->valuedouble;
}

static int is_null(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *v = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        v = cJSON_GetObjectItemCaseSensitive(v, k);
    return cJSON_IsNull(v);
}

#define assert_near(got, want)                                                      \
    do {                                                                            \
        double g_ = (got), w_ = (want);                                             \
        if (!(fabs(g_ - w_) <= 1e-12 * fabs(w_) + 1e-15))                           \
            fail_msg("%s = %.17g, want %.17g", #got, g_, w_);                       \
    } while (0)

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llmload-test-report-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    return rmdir(tmpdir);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* --- tests --------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(err_class_name(ERR_NONE), "none");
    assert_string_equal(err_class_name(ERR_TIMEOUT_TTFT), "timeout_ttft");
    assert_string_equal(err_class_name(ERR_ABORTED), "aborted");
    assert_string_equal(err_class_name(ERR_RATE_LIMITED), "rate_limited");
    assert_string_equal(err_class_name(ERR__COUNT), "unknown");
    for (int c = 0; c < ERR__COUNT; c++)
        assert_true(strlen(err_class_name(c)) > 0);
    assert_string_equal(tok_source_name(TOK_CHUNKS), "chunks");
    assert_string_equal(tok_source_name(TOK_SERVER), "server");
    assert_string_equal(tok_source_name(TOK_TOKENIZER), "tokenizer");

    char out[16];
    assert_int_equal(result_text_clean(out, sizeof out, "a\xff" "b\n\xc3\xa9"), 6);
    assert_string_equal(out, "a?b \xc3\xa9");
    /* A character cut by the cap is dropped, not split. */
    assert_int_equal(result_text_clean(out, 4, "ab\xc3\xa9"), 2);
    assert_string_equal(out, "ab");
    /* Surrogates and overlong forms are not UTF-8. */
    result_text_clean(out, sizeof out, "\xed\xa0\x80\xc0\xaf");
    assert_string_equal(out, "?????");
}

static void test_stats(void **state)
{
    (void)state;
    struct run_stats s;
    struct req_record rs[6];
    assert_int_equal(run_stats_init(&s), 0);
    fill(&s, rs);
    assert_int_equal(s.requests, 5);
    assert_int_equal(s.ok, 2);
    assert_int_equal(s.failed, 3);
    assert_int_equal(s.warmup_requests, 1);
    assert_int_equal(s.errors[ERR_TIMEOUT_TTFT], 2);
    assert_int_equal(s.errors[ERR_STATUS], 1);
    assert_string_equal(s.err_sample[ERR_TIMEOUT_TTFT], "no first token after 1 s, \"quoted\"");
    assert_string_equal(s.err_sample[ERR_STATUS], "HTTP 503: bad ? byte");
    assert_int_equal(s.output_tokens, 7);       /* warm-up's 1000 not counted */
    assert_int_equal(s.input_tokens, 7);
    assert_int_equal(s.events, 6);
    assert_int_equal(s.tok_src_count[TOK_SERVER], 1);
    assert_int_equal(s.tok_src_count[TOK_CHUNKS], 1);
    assert_int_equal(hist_count(s.ttft), 2);
    assert_int_equal(hist_count(s.itl), 4);     /* 3 gaps + 1 gap */
    assert_int_equal(hist_min(s.itl), 5 * MS);
    assert_int_equal(hist_max(s.itl), 10 * MS);
    assert_int_equal(hist_min(s.tpot), 7500000);  /* (40 - 10) ms / 4 */
    assert_int_equal(hist_max(s.tpot), 40 * MS);  /* (60 - 20) ms / 1 */
    assert_int_equal(hist_max(s.request_tps), 125000);   /* 5 tok / 40 ms, milli */
    assert_int_equal(hist_min(s.request_tps), 33333);    /* 2 tok / 60 ms */
    assert_int_equal(hist_max(s.tokens_per_event), 1250);
    assert_int_equal(s.ollama_eval_count, 7);
    assert_int_equal(s.ollama_eval_duration_ns, 70 * MS);
    /* Server timings: per request, as reported. */
    assert_int_equal(hist_count(s.srv_prefill), 2);
    assert_int_equal(hist_min(s.srv_prefill), 4 * MS);
    assert_int_equal(hist_max(s.srv_prefill), 8 * MS);
    assert_int_equal(hist_min(s.srv_decode), 4 * MS);     /* 20 ms / 5 */
    assert_int_equal(hist_max(s.srv_decode), 25 * MS);    /* 50 ms / 2 */
    assert_int_equal(hist_count(s.srv_load), 1);
    assert_int_equal(hist_count(s.srv_cached), 1);
    assert_int_equal(hist_max(s.srv_cached), 3);
    assert_int_equal(hist_min(s.ttft_minus_prefill), 6 * MS);   /* 10 - 4 */
    assert_int_equal(hist_max(s.ttft_minus_prefill), 12 * MS);  /* 20 - 8 */
    /* What was sent: every measured request, failed ones too. */
    assert_int_equal(hist_count(s.prompt_chars), 5);
    assert_int_equal(hist_max(s.prompt_chars), 40);
    assert_int_equal(hist_count(s.max_tokens), 4);
    assert_int_equal(hist_min(s.max_tokens), 3);
    assert_int_equal(s.max_tokens_unset, 1);
    assert_int_equal(hist_count(s.prompt_tokens), 1);
    /* Counts: 6 local against 5 from the server is 20 % off; #1 got 2 of
     * the exact 3 it asked for. */
    assert_int_equal(s.tok_compared, 1);
    assert_int_equal(s.tok_differ, 1);
    assert_near(s.tok_diff_max, 0.2);
    assert_int_equal(s.short_outputs, 1);
    assert_true(run_stats_wall_s(&s) == 2.0);
    run_stats_free(&s);
    run_stats_free(&s);     /* idempotent */
}

static void test_summary(void **state)
{
    (void)state;
    struct run_stats s;
    struct req_record rs[6];
    assert_int_equal(run_stats_init(&s), 0);
    fill(&s, rs);
    cJSON *o = report_summary_json(&s);
    assert_non_null(o);
    assert_near(num(o, "requests"), 5);
    assert_near(num(o, "ok"), 2);
    assert_near(num(o, "failed"), 3);
    assert_near(num(o, "error_rate"), 0.6);
    assert_near(num(o, "duration_s"), 2.0);
    assert_near(num(o, "rps"), 1.0);
    assert_near(num(o, "output_tokens"), 7);
    assert_near(num(o, "input_tokens"), 7);
    assert_near(num(o, "output_tps"), 3.5);
    assert_near(num(o, "ttft.min"), 0.010);
    assert_near(num(o, "ttft.mean"), 0.015);
    assert_near(num(o, "ttft.p50"), 0.010);     /* nearest rank: ceil(0.5*2) = 1st */
    assert_near(num(o, "ttft.p90"), 0.020);
    assert_near(num(o, "ttft.p99"), 0.020);
    assert_near(num(o, "ttft.max"), 0.020);
    assert_near(num(o, "ttft.n"), 2);
    assert_near(num(o, "itl.p50"), 0.005);      /* 5, 5, 10, 10 ms */
    assert_near(num(o, "itl.p95"), 0.010);
    assert_near(num(o, "itl.mean"), 0.0075);
    assert_near(num(o, "tpot.min"), 0.0075);
    assert_near(num(o, "tpot.max"), 0.040);
    assert_near(num(o, "e2e.p50"), 0.040);
    assert_near(num(o, "e2e.max"), 0.060);
    assert_near(num(o, "request_tps.mean"), (125000 + 33333) / 2.0 / 1000);
    assert_near(num(o, "request_tps.p05"), 33.333);
    assert_near(num(o, "request_tps.p50"), 33.333);
    assert_near(num(o, "request_tps.p95"), 125.0);
    assert_near(num(o, "errors.timeout_ttft"), 2);
    assert_near(num(o, "errors.status"), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "errors")), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error_samples"),
                                            "timeout_ttft")->valuestring,
                        "no first token after 1 s, \"quoted\"");
    assert_near(num(o, "queue_time.min"), 0.001);
    assert_near(num(o, "queue_time.max"), 0.002);
    assert_near(num(o, "ttft_from_schedule.max"), 0.022);
    assert_near(num(o, "e2e_from_schedule.max"), 0.062);
    assert_near(num(o, "tokens_per_event.mean"), 1.125);
    assert_near(num(o, "tokens_per_event.p50"), 1.0);
    assert_near(num(o, "tokens_per_event.max"), 1.25);
    assert_near(num(o, "token_source.server"), 1);
    assert_near(num(o, "token_source.tokenizer"), 0);
    assert_near(num(o, "token_source.chunks"), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "chunk_counted")));
    assert_near(num(o, "server_eval_rate"), 100.0);  /* 7 tokens / 70 ms */
    assert_near(num(o, "server.eval_rate"), 100.0);
    assert_near(num(o, "server.prefill.n"), 2);
    assert_near(num(o, "server.prefill.mean"), 0.006);
    assert_near(num(o, "server.decode_per_token.min"), 0.004);
    assert_near(num(o, "server.decode_per_token.max"), 0.025);
    assert_near(num(o, "server.load.max"), 0.001);
    assert_near(num(o, "server.ttft_minus_prefill.mean"), 0.009);
    assert_near(num(o, "server.cached_prompt_tokens.max"), 3);
    assert_near(num(o, "server.cached_prompt_tokens.sum"), 3);
    assert_near(num(o, "sent.prompt_chars.mean"), 32);
    assert_near(num(o, "sent.prompt_chars.max"), 40);
    assert_near(num(o, "sent.max_tokens.min"), 3);
    assert_near(num(o, "sent.max_tokens.max"), 128);
    assert_near(num(o, "sent.max_tokens_unset"), 1);
    assert_near(num(o, "sent.prompt_tokens.sum"), 7);
    assert_near(num(o, "token_check.compared"), 1);
    assert_near(num(o, "token_check.differ"), 1);
    assert_near(num(o, "token_check.mean_diff"), 0.2);
    assert_near(num(o, "token_check.max_diff"), 0.2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "token_check"), "warning")));
    assert_near(num(o, "short_outputs"), 1);
    assert_near(num(o, "client.loop_busy_frac"), 0.95);
    assert_near(num(o, "client.loop_lag_p99_s"), 0.025);
    assert_near(num(o, "client.loop_lag_max_s"), 0.040);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "client"), "bottleneck")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "interrupted")));
    assert_string_equal(cJSON_GetObjectItem(o, "stop_reason")->valuestring, "completed");
    assert_near(num(o, "warmup_requests"), 1);
    cJSON_Delete(o);
    run_stats_free(&s);
}

static void test_summary_empty(void **state)
{
    (void)state;
    struct run_stats s;
    assert_int_equal(run_stats_init(&s), 0);
    cJSON *o = report_summary_json(&s);
    assert_non_null(o);
    assert_near(num(o, "requests"), 0);
    assert_near(num(o, "error_rate"), 0);
    assert_true(is_null(o, "rps"));
    assert_true(is_null(o, "output_tps"));
    static const char *nulls[] = { "ttft.min", "ttft.p50", "ttft.max", "itl.mean", "tpot.p99",
                                   "e2e.p95", "request_tps.mean", "request_tps.p05",
                                   "tokens_per_event.max", "server_eval_rate", "queue_time.p50",
                                   "server.prefill.p50", "server.decode_per_token.mean",
                                   "server.load.max", "server.ttft_minus_prefill.p99",
                                   "server.cached_prompt_tokens.mean", "server.eval_rate",
                                   "sent.prompt_chars.mean", "token_check.mean_diff",
                                   "token_check.max_diff" };
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (!is_null(o, nulls[i]))
            fail_msg("%s is not null", nulls[i]);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "errors")), 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "chunk_counted")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "client"), "bottleneck")));
    char *text = cJSON_PrintUnformatted(o);
    assert_null(strstr(text, "nan"));
    assert_null(strstr(text, "inf"));
    free(text);
    cJSON_Delete(o);
    run_stats_free(&s);
}

static void test_result_doc(void **state)
{
    (void)state;
    struct run_stats s;
    struct run_config c;
    struct req_record rs[6];
    assert_int_equal(run_stats_init(&s), 0);
    fill(&s, rs);
    s.interrupted = 1;
    snprintf(s.stop_reason, sizeof s.stop_reason, "interrupted");
    config(&c);
    cJSON *doc = report_result_json(&c, &s);
    assert_non_null(doc);
    char *text = cJSON_Print(doc);
    assert_null(strstr(text, "sk-SECRET"));
    assert_string_equal(cJSON_GetObjectItem(doc, "schema")->valuestring, "llmload.result/1");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "environment"), "run_id")->valuestring,
                        s.run_id);
    assert_int_equal(strlen(s.run_id), 25);   /* 20231114T221320Z-0badf00d */
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(doc, "interrupted")));
    cJSON *cfg = cJSON_GetObjectItem(doc, "config");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cfg, "api_key_set")));
    assert_null(cJSON_GetObjectItem(cfg, "api_key"));
    assert_string_equal(cJSON_GetObjectItem(cfg, "api")->valuestring, "openai-chat");
    assert_string_equal(cJSON_GetObjectItem(cfg, "model")->valuestring, "tiny-model");
    assert_string_equal(cJSON_GetObjectItem(cfg, "arrival")->valuestring, "closed");
    assert_true(is_null(cfg, "temperature"));
    assert_true(is_null(cfg, "seed"));          /* no --sampling-seed */
    assert_near(num(cfg, "seed_used"), 42);
    assert_near(num(cfg, "schedule_seed"), 42);
    assert_true(is_null(cfg, "json_path"));
    assert_near(num(cfg, "request_timeout_s"), 30.0);
    assert_near(num(cfg, "concurrency"), 4);
    assert_near(num(cfg, "max_tokens"), 128);
    cJSON *env = cJSON_GetObjectItem(doc, "environment");
    assert_string_equal(cJSON_GetObjectItem(env, "start_time")->valuestring,
                        "2023-11-14T22:13:20.123Z");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(env, "llmload_version")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(env, "kernel")));
    assert_true(num(env, "cpus") >= 1);
    assert_near(num(doc, "summary.ok"), 2);
    /* The histograms travel with the document and come back intact. */
    struct hist *h = hist_from_json(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "histograms"),
                                                        "itl_ns"));
    assert_non_null(h);
    assert_int_equal(hist_count(h), 4);
    assert_int_equal(hist_percentile(h, 50), 5 * MS);
    hist_free(h);

    /* Credentials in the URL are hidden like the key. */
    char buf[600];
    assert_string_equal(report_url_redacted("http://u:pw@h:1/v1?x=@", buf, sizeof buf),
                        "http://***@h:1/v1?x=@");
    assert_string_equal(report_url_redacted("h:8000/a@b", buf, sizeof buf), "h:8000/a@b");
    snprintf(c.url, sizeof c.url, "http://bob:sk-SECRET@127.0.0.1:1/v1");
    cJSON *cj = report_config_json(&c);
    assert_string_equal(cJSON_GetObjectItem(cj, "url")->valuestring, "http://***@127.0.0.1:1/v1");
    cJSON_Delete(cj);

    /* Every seed survives the trip through JSON text exactly: --seed with
     * the saved one repeats the run.  (cJSON may print a 16-digit integer
     * with 15 digits.) */
    for (uint64_t seed = CONFIG_SEED_MAX; seed > CONFIG_SEED_MAX - 2000; seed--) {
        c.seed = seed;
        cj = report_config_json(&c);
        char *txt = cJSON_PrintUnformatted(cj);
        cJSON *back = cJSON_Parse(txt);
        if (cJSON_GetObjectItem(back, "seed_used")->valuedouble != (double)seed)
            fail_msg("seed %llu came back as %s", (unsigned long long)seed, txt);
        cJSON_Delete(back);
        free(txt);
        cJSON_Delete(cj);
    }
    c.seed = 42;

    /* No key, no "api_key_set": true. */
    c.api_key = NULL;
    cj = report_config_json(&c);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cj, "api_key_set")));
    cJSON_Delete(cj);

    /* A prompt that is not UTF-8 still makes a valid document: U+FFFD. */
    c.prompt = "caf\xe9 \xff";
    cj = report_config_json(&c);
    assert_string_equal(cJSON_GetObjectItem(cj, "prompt")->valuestring,
                        "caf\xef\xbf\xbd \xef\xbf\xbd");
    cJSON_Delete(cj);
    free(text);
    cJSON_Delete(doc);
    run_stats_free(&s);
}

static int count_files(void)
{
    int n = 0;
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while ((e = readdir(d)))    /* dot files too: a temporary file is one */
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_write_json(void **state)
{
    (void)state;
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/result.json", tmpdir);
    cJSON *doc = cJSON_Parse("{\"schema\":\"llmload.result/1\",\"x\":[1,2]}");
    assert_int_equal(report_check_writable(path, err, sizeof err), 0);
    assert_int_equal(report_write_json(path, doc, err, sizeof err), 0);
    assert_int_equal(report_write_json(path, doc, err, sizeof err), 0);   /* replaces */
    char *text = slurp(path);
    size_t n = strlen(text);
    assert_true(n > 2 && text[n - 1] == '\n' && text[n - 2] == '}');
    cJSON *back = cJSON_Parse(text);
    assert_non_null(back);
    assert_true(cJSON_Compare(doc, back, 1));
    cJSON_Delete(back);
    assert_int_equal(count_files(), 1);     /* no temp file left behind */
    unlink(path);

    /* A directory that does not exist, and a "directory" that is a file. */
    snprintf(path, sizeof path, "%s/missing/result.json", tmpdir);
    assert_int_equal(report_check_writable(path, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_int_equal(report_write_json(path, doc, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "does not exist"));
    char file[256];
    snprintf(file, sizeof file, "%s/plain", tmpdir);
    fclose(fopen(file, "w"));
    snprintf(path, sizeof path, "%s/plain/result.json", tmpdir);
    assert_int_equal(report_check_writable(path, err, sizeof err), -1);
    assert_non_null(strstr(err, "Not a directory"));
    assert_int_equal(report_check_writable(tmpdir, err, sizeof err), -1);   /* a directory */
    assert_int_equal(count_files(), 1);
    unlink(file);

    /* Opened before the run, committed after it; a full disk is an error
     * naming the file, and /dev/null stays a device. */
    snprintf(path, sizeof path, "%s/later.json", tmpdir);
    struct out_file *f = out_open(path, err, sizeof err);
    assert_non_null(f);
    assert_int_equal(report_commit_json(f, doc, err, sizeof err), 0);
    out_close(f);
    back = cJSON_Parse(slurp(path));
    assert_true(cJSON_Compare(doc, back, 1));
    cJSON_Delete(back);
    assert_int_equal(count_files(), 1);
    unlink(path);
    assert_int_equal(report_write_json("/dev/null", doc, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(report_write_json("/dev/full", doc, err, sizeof err), -1);
        assert_string_equal(err, "cannot write /dev/full: No space left on device");
    }
    cJSON_Delete(doc);
}

static void test_csv(void **state)
{
    (void)state;
    char path[256], err[512];
    struct run_stats s;
    struct req_record rs[6];
    assert_int_equal(run_stats_init(&s), 0);
    fill(&s, rs);
    snprintf(path, sizeof path, "%s/runs.csv", tmpdir);

    struct report_csv *w = report_csv_open(path, err, sizeof err);
    assert_non_null(w);
    /* The header is there before any row: the file is checked up front. */
    assert_string_equal(slurp(path), REPORT_CSV_HEADER "\n");
    /* Judged by ttft<=15ms: the second request is late, failures miss. */
    struct slo_spec slo;
    memset(&slo, 0, sizeof slo);
    assert_int_equal(slo_parse_item(&slo, "ttft<=15ms", err, sizeof err), 1);
    report_csv_slo(w, &slo);
    rs[0].itl_max_ns = 12000000;
    for (int i = 0; i < 6; i++)
        report_csv_row(w, &rs[i]);
    assert_int_equal(report_csv_close(w), 0);
    static const char *want =
        "run_id,index,start_s,status,ok,error,ttft_s,latency_s,output_tokens,input_tokens,"
        "request_tps,total_duration_s,events,prefill_s,decode_per_token_s,load_s,cached_tokens,"
        "ttft_minus_prefill_s,server_tokens,local_tokens,ttft_reasoning_s,ttft_output_s,"
        "reasoning_tokens,answer_tokens,tool_calls,ttft_server_s,ttft_rest_s,itl_max_s,slo_good,slo_missed\n"
        "20231114T221320Z-0badf00d,0,0.001000,200,1,,0.010000,0.040000,5,7,125.000,,4,"
        "0.004000,0.004000000,,3,0.006000,5,6,0.010000,0.020000,2,3,1,0.004000,0.006000,0.012000,1,\n"
        "20231114T221320Z-0badf00d,1,0.002000,200,1,,0.020000,0.060000,2,,33.333,0.070000,2,"
        "0.008000,0.025000000,0.001000,,0.012000,,,,0.020000,0,2,0,0.009000,0.011000,0.000000,0,ttft\n"
        "20231114T221320Z-0badf00d,2,0.003000,200,0,timeout_ttft,,1.000000,,,,,0,,,,,,,,,,,,0,,,,0,error\n"
        "20231114T221320Z-0badf00d,3,0.004000,,0,timeout_ttft,,1.000000,,,,,0,,,,,,,,,,,,0,,,,0,error\n"
        "20231114T221320Z-0badf00d,4,0.005000,503,0,status,,0.001000,,,,,0,,,,,,,,,,,,0,,,,0,error\n";
    assert_string_equal(slurp(path), want);

    /* Same header: appends, header not repeated. */
    w = report_csv_open(path, err, sizeof err);
    assert_non_null(w);
    report_csv_slo(w, &slo);
    report_csv_row(w, &rs[0]);
    assert_int_equal(report_csv_close(w), 0);
    char *text = slurp(path);
    const char *row0 = strstr(want, "\n20231114T221320Z-0badf00d,0,") + 1;
    assert_int_equal(strlen(text), strlen(want) + (size_t)(strchr(row0, '\n') - row0) + 1);
    assert_null(strstr(text + 1, "run_id,"));

    /* A file cut mid-row gets its line ended before ours. */
    FILE *f = fopen(path, "a");
    fputs("9,0.5", f);
    fclose(f);
    w = report_csv_open(path, err, sizeof err);
    assert_non_null(w);
    report_csv_row(w, &rs[4]);
    assert_int_equal(report_csv_close(w), 0);
    assert_non_null(strstr(slurp(path), "\n9,0.5\n20231114T221320Z-0badf00d,4,0.005000,503,0,status,"));

    /* Another header: refused, and the file is untouched. */
    char other[256];
    snprintf(other, sizeof other, "%s/other.csv", tmpdir);
    f = fopen(other, "w");
    fputs("index,start,status\n1,2,3\n", f);
    fclose(f);
    assert_null(report_csv_open(other, err, sizeof err));
    assert_non_null(strstr(err, other));
    assert_non_null(strstr(err, "different header"));
    assert_string_equal(slurp(other), "index,start,status\n1,2,3\n");

    /* Unwritable: under a plain file, and a directory. */
    snprintf(other, sizeof other, "%s/runs.csv/x.csv", tmpdir);
    assert_null(report_csv_open(other, err, sizeof err));
    assert_non_null(strstr(err, other));
    assert_null(report_csv_open(tmpdir, err, sizeof err));
    assert_non_null(strstr(err, tmpdir));
    assert_int_equal(report_csv_close(NULL), 0);
    run_stats_free(&s);
}

static void test_raw(void **state)
{
    (void)state;
    char path[256], err[512];
    struct run_stats s;
    struct req_record rs[6];
    assert_int_equal(run_stats_init(&s), 0);
    fill(&s, rs);
    snprintf(path, sizeof path, "%s/raw.jsonl", tmpdir);
    struct report_raw *w = report_raw_open(path, err, sizeof err);
    assert_non_null(w);
    for (int i = 0; i < 6; i++)
        report_raw_row(w, &rs[i], 123456789012345ull);
    assert_int_equal(report_raw_close(w), 0);

    char *text = slurp(path), *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        if (!o)
            fail_msg("line %d is not JSON: %s", lines, line);
        const struct req_record *r = &rs[lines];
        assert_near(num(o, "index"), (double)r->index);
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(o, "warmup")), r->warmup);
        assert_near(num(o, "t0_mono_ns"), 123456789012345.0);
        assert_near(num(o, "start_s"), (double)r->start_ns / 1e9);
        assert_near(num(o, "end_s"), (double)r->end_ns / 1e9);
        assert_near(num(o, "scheduled_s"), 0);
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")), r->err == ERR_NONE);
        if (r->first_ns)
            assert_near(num(o, "first_token_s"), (double)r->first_ns / 1e9);
        else
            assert_true(is_null(o, "first_token_s"));
        cJSON *ev = cJSON_GetObjectItem(o, "events_s");
        assert_int_equal(cJSON_GetArraySize(ev), (int)r->ev_n);
        /* Each event's offset from start: the running sum of the deltas,
         * and the first one is TTFT. */
        uint64_t us = 0;
        for (size_t i = 0; i < r->ev_n; i++) {
            us += r->ev_us[i];
            assert_near(cJSON_GetArrayItem(ev, (int)i)->valuedouble, (double)us / 1e6);
        }
        if (r->ev_n)
            assert_near(cJSON_GetArrayItem(ev, 0)->valuedouble,
                        (double)(r->first_ns - r->start_ns) / 1e9);
        if (lines == 0) {
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
            assert_string_equal(cJSON_GetObjectItem(o, "token_source")->valuestring, "server");
            assert_near(num(o, "output_tokens"), 5);
            assert_near(num(o, "input_tokens"), 7);
            assert_string_equal(cJSON_GetObjectItem(o, "run_id")->valuestring,
                                "20231114T221320Z-0badf00d");
            assert_near(num(o, "prompt_eval_count"), 4);
            assert_near(num(o, "prompt_eval_duration_ns"), 4e6);
            assert_near(num(o, "cached_tokens"), 3);
            assert_true(is_null(o, "load_duration_ns"));
        }
        if (lines == 1) {
            assert_true(is_null(o, "input_tokens"));
            assert_near(num(o, "load_duration_ns"), 1e6);
            assert_true(is_null(o, "cached_tokens"));
        }
        if (lines == 2) {
            assert_string_equal(cJSON_GetObjectItem(o, "error")->valuestring, "timeout_ttft");
            assert_string_equal(cJSON_GetObjectItem(o, "error_message")->valuestring,
                                "no first token after 1 s, \"quoted\"");
        }
        if (lines == 4)
            assert_string_equal(cJSON_GetObjectItem(o, "error_message")->valuestring,
                                "HTTP 503: bad ? byte");
        cJSON_Delete(o);
        lines++;
    }
    assert_int_equal(lines, 6);

    snprintf(path, sizeof path, "%s/nope/raw.jsonl", tmpdir);
    assert_null(report_raw_open(path, err, sizeof err));
    assert_non_null(strstr(err, path));
    assert_int_equal(report_raw_close(NULL), 0);

    /* A write error is reported when the file is finished, with its name. */
    if (access("/dev/full", W_OK) == 0) {
        w = report_raw_open("/dev/full", err, sizeof err);
        assert_non_null(w);
        report_raw_row(w, &rs[0], 0);
        assert_int_equal(report_raw_finish(w, err, sizeof err), -ENOSPC);
        assert_string_equal(err, "cannot write raw file /dev/full: No space left on device");
    }
    run_stats_free(&s);
}

static void test_print_summary(void **state)
{
    (void)state;
    struct run_stats s;
    struct run_config c;
    struct req_record rs[6];
    assert_int_equal(run_stats_init(&s), 0);
    fill(&s, rs);
    config(&c);
    FILE *f = tmpfile();
    assert_non_null(f);
    report_print_summary(f, &c, &s);
    static char text[1 << 15];
    rewind(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    static const char *want[] = {
        "timestamp:   2023-11-14T22:13:20.123Z", "model:       tiny-model",
        "host:        http://127.0.0.1:8000/v1", "concurrency: 4 ", "requests:    5 requests",
        "prompt_len:  mean 32.0 chars (p50 30, max 40), 7 tokens",
        "tokens:      3..128 tokens at most per request (mean 96.8); 1 request sent no limit",
        "p50_latency: 40.0 ms",
        "p95_latency: 60.0 ms", "rps:         1.00 req/s", "error_rate:  60.00 %",
        "total_time:  2.00 s",
        "Samples: 2 ok / 3 failed",
        "mean 79.17 tok/s", "median 33.33 tok/s", "p05 33.33 tok/s", "p95 125.00 tok/s",
        "min", "mean", "p50", "p90", "p95", "p99", "max",
        "TTFT", "ITL", "TPOT", "E2E", "10.0 ms", "7.50 ms", "5.00 ms",
        "Output throughput: 3.50 tok/s", "7 tokens in 2.00 s",
        "Server eval rate (tokens generated / decode time, as the server reported them): 100.00 tok/s",
        "Token count source: server 1 request, chunks 1 request", "(counted from chunks",
        "server-side timings", "prefill", "decode/token", "TTFT - prefill", "25.0 ms",
        "Cached prompt tokens (server): mean 3.0 tok", "(3 of 7 prompt tokens)",
        "Token counts, local tokenizer vs server: differ in 1 of 1 request, mean 20.0 %, max 20.0 %",
        "WARNING: the local tokenizer's counts differ from the server's by 20.0 %",
        "WARNING: 1 request returned fewer tokens than the exact length asked for",
        "api:         openai-chat\n", "load:        closed loop, 4 requests in flight",
        "run:         ", "seed 42 (drawn; --seed 42 repeats it)",
        "Tokens per event: mean 1.12 tok", "max 1.25 tok",
        "timeout_ttft     2 requests", "no first token after 1 s",
        "status           1 request ", "Errors: 3 requests failed",
        "Client self-check: event loop busy 95.0 %", "timer lag p99 25.0 ms",
        "WARNING: the client was the bottleneck", "5.0 points over", "2.5x over",
        "+1 warm-up",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("summary lacks \"%s\":\n%s", want[i], text);
    assert_null(strstr(text, "sk-SECRET"));
    assert_null(strstr(text, "nan"));
    assert_null(strstr(text, "INTERRUPTED"));

    /* Interrupted, healthy client, nothing succeeded: still every field. */
    run_stats_free(&s);
    assert_int_equal(run_stats_init(&s), 0);
    s.interrupted = 1;
    s.errors[ERR_ABORTED] = 2;      /* the engine counts aborts without failing them */
    snprintf(s.stop_reason, sizeof s.stop_reason, "interrupted");
    f = tmpfile();
    report_print_summary(f, &c, &s);
    rewind(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    static const char *want2[] = { "INTERRUPTED: these results", "Samples: 0 ok / 0 failed",
                                   "p50_latency: -", "rps:         - req/s", ": ok\n",
                                   "error_rate:  0.00 %", "aborted          2 requests", "Ctrl-C",
                                   "prompt_len:  - chars (no request sent)",
                                   "tokens:      - tokens (no request sent)" };
    for (size_t i = 0; i < sizeof want2 / sizeof want2[0]; i++)
        if (!strstr(text, want2[i]))
            fail_msg("summary lacks \"%s\":\n%s", want2[i], text);
    assert_null(strstr(text, "WARNING"));
    assert_null(strstr(text, "nan"));
    assert_null(strstr(text, "(interrupted)"));
    assert_null(strstr(text, "server-side timings"));
    run_stats_free(&s);
}

/* Not streamed: the client saw no first token and no gaps, so TTFT, ITL
 * and TPOT are dashes with the reason, not E2E and not 0 ns. */
static void test_print_summary_no_stream(void **state)
{
    (void)state;
    struct run_stats s;
    struct run_config c;
    struct req_record r = rec(0);
    assert_int_equal(run_stats_init(&s), 0);
    r.start_ns = 1 * MS; r.end_ns = 41 * MS; r.status = 200; r.events = 1;
    r.out_tokens = r.server_tokens = 5; r.tok_src = TOK_SERVER;
    run_stats_add(&s, &r);
    s.end_ns = 1000 * MS;
    config(&c);
    c.stream = 0;
    static char text[1 << 15];
    FILE *f = tmpfile();
    report_print_summary(f, &c, &s);
    rewind(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    static const char *want[] = {
        "api:         openai-chat (not streamed)",
        "  TTFT                    \xe2\x80\x94          \xe2\x80\x94", "(not streamed)", "  ITL ", "  TPOT ",
        "  E2E               40.0 ms", "(1 sample)",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("summary lacks \"%s\":\n%s", want[i], text);
    for (const char *row = strstr(text, "  TTFT "); *row && *row != '\n'; row++)
        assert_false(*row >= '0' && *row <= '9');   /* no number at all, not 0 ns */
    cJSON *o = report_summary_json(&s);
    assert_true(is_null(o, "ttft.p50") && is_null(o, "tpot.mean") && is_null(o, "itl.max"));
    assert_near(num(o, "ttft.n"), 0);
    cJSON_Delete(o);
    run_stats_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_summary_empty),
        cmocka_unit_test(test_result_doc),
        cmocka_unit_test(test_write_json),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_print_summary),
        cmocka_unit_test(test_print_summary_no_stream),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
