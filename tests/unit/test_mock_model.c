/* Unit tests of the simulator's pure parts: flags, the timing model, request
 * plans, payload formatting and the nanosecond timer heap. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <uv.h>

#include "mock.h"
#include "mock_out.h"
#include "mock_timer.h"

static void test_interval_formula(void **state)
{
    struct mock_config c;
    mock_config_defaults(&c);
    /* 45 tok/s alone; with b=8 and A=0.05 each stream gets 45/1.35. */
    assert_int_equal(mock_token_interval_ns(&c, 1), 22222222);
    assert_int_equal(mock_token_interval_ns(&c, 0), 22222222);
    assert_int_equal(mock_token_interval_ns(&c, 8), 30000000);
    c.batch_slowdown = 1.0;
    c.decode_rate = 1000;
    assert_int_equal(mock_token_interval_ns(&c, 4), 4000000);
    /* Aggregate throughput b * rate/(1+A(b-1)) grows with b. */
    c.batch_slowdown = 0.05;
    double prev = 0;
    for (uint32_t b = 1; b <= 64; b++) {
        double agg = b * 1e9 / (double)mock_token_interval_ns(&c, b);
        assert_true(agg > prev);
        prev = agg;
    }
}

static void test_ttft_and_prompt_tokens(void **state)
{
    struct mock_config c;
    mock_config_defaults(&c);
    assert_int_equal(mock_ttft_ns(&c, 0), 20000000);
    assert_int_equal(mock_ttft_ns(&c, 1000), 20000000 + 250000000);
    assert_int_equal(mock_prompt_tokens(0), 0);
    assert_int_equal(mock_prompt_tokens(1), 1);
    assert_int_equal(mock_prompt_tokens(4), 1);
    assert_int_equal(mock_prompt_tokens(5), 2);
    assert_int_equal(mock_prompt_tokens(4000), 1000);
}

static void test_plan_defaults(void **state)
{
    struct mock_config c;
    struct mock_plan p, p2;
    mock_config_defaults(&c);
    for (uint64_t seq = 0; seq < 1000; seq++) {
        mock_plan_request(&c, seq, 50, 0, 0, &p);
        assert_int_equal(p.tokens, 50);
        assert_int_equal(p.stop, 0);
        assert_int_equal(p.fault, MOCK_FAULT_NONE);
        mock_plan_request(&c, seq, 50, 0, 0, &p2);
        assert_memory_equal(&p, &p2, sizeof p);
    }
    mock_plan_request(&c, 1, 50, 0, 0, &p);
    mock_plan_request(&c, 2, 50, 0, 0, &p2);
    assert_int_not_equal(p.text_seed, p2.text_seed);
}

static void test_plan_eos(void **state)
{
    struct mock_config c;
    struct mock_plan p;
    mock_config_defaults(&c);
    c.eos_fraction = 1.0;
    for (uint64_t seq = 0; seq < 2000; seq++) {
        mock_plan_request(&c, seq, 40, 0, 0, &p);
        assert_int_equal(p.stop, 1);
        assert_in_range(p.tokens, 1, 39);
        mock_plan_request(&c, seq, 40, 25, 0, &p);
        assert_int_equal(p.stop, 1);
        assert_in_range(p.tokens, 25, 39);
        mock_plan_request(&c, seq, 40, 0, 1, &p);
        assert_int_equal(p.stop, 0);
        assert_int_equal(p.tokens, 40);
        mock_plan_request(&c, seq, 40, 40, 0, &p);
        assert_int_equal(p.tokens, 40);
        mock_plan_request(&c, seq, 1, 0, 0, &p);
        assert_int_equal(p.tokens, 1);
    }
    c.eos_fraction = 0.3;
    int stops = 0;
    for (uint64_t seq = 0; seq < 20000; seq++) {
        mock_plan_request(&c, seq, 40, 0, 0, &p);
        stops += p.stop;
    }
    assert_in_range(stops, 5400, 6600);
}

static void test_plan_faults(void **state)
{
    struct mock_config c;
    struct mock_plan p;
    int n[MOCK_FAULT_COUNT] = { 0 };
    mock_config_defaults(&c);
    c.fault[MOCK_FAULT_429] = 0.25;
    c.fault[MOCK_FAULT_CLOSE] = 0.25;
    c.fault[MOCK_FAULT_MALFORMED] = 0.1;
    for (uint64_t seq = 0; seq < 20000; seq++) {
        mock_plan_request(&c, seq, 30, 0, 0, &p);
        n[p.fault]++;
        assert_in_range(p.fault_at, 1, 29);
    }
    assert_in_range(n[MOCK_FAULT_429], 4700, 5300);
    assert_in_range(n[MOCK_FAULT_CLOSE], 4700, 5300);
    assert_in_range(n[MOCK_FAULT_MALFORMED], 1800, 2200);
    assert_int_equal(n[MOCK_FAULT_500] + n[MOCK_FAULT_STALL], 0);
    /* One-token requests: the fault comes after that token. */
    c.fault[MOCK_FAULT_429] = 0;
    c.fault[MOCK_FAULT_CLOSE] = 1;
    c.fault[MOCK_FAULT_MALFORMED] = 0;
    mock_plan_request(&c, 5, 1, 0, 0, &p);
    assert_int_equal(p.fault, MOCK_FAULT_CLOSE);
    assert_int_equal(p.fault_at, 1);
}

static int parse(struct mock_config *c, char *err, const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    argv[argc++] = "mock";
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return mock_config_parse(c, argc, argv, err, 256);
}

static void test_config_parse(void **state)
{
    struct mock_config c;
    char err[256];
    assert_int_equal(parse(&c, err, NULL), 0);
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 8000);
    assert_int_equal(c.slots, 8);
    assert_int_equal(c.default_max_tokens, 128);
    assert_int_equal(c.idle_timeout_ns, 5000000000ull);
    assert_int_equal(c.header_timeout_ns, 10000000000ull);
    assert_int_equal(c.max_body, 1048576);
    /* An explicit flag wins over the profile, whatever the order. */
    assert_int_equal(parse(&c, err, "--decode-rate", "77", "--profile", "fast", NULL), 0);
    assert_true(c.decode_rate == 77);
    assert_int_equal(c.ttft_base_ns, 1000000);
    assert_int_equal(parse(&c, err, "--profile=large", "--slots=3", NULL), 0);
    assert_int_equal(c.slots, 3);
    assert_true(c.decode_rate == 15);
    assert_int_equal(parse(&c, err, "--listen", "[::1]:0", "--model", "a,b,c", NULL), 0);
    assert_string_equal(c.host, "::1");
    assert_int_equal(c.port, 0);
    assert_int_equal(c.nmodels, 3);
    assert_string_equal(c.models[2], "c");
    assert_int_equal(parse(&c, err, "--listen", ":9000", "--fault-stall", "5%", "--stall", "250ms",
                           NULL), 0);
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 9000);
    assert_true(fabs(c.fault[MOCK_FAULT_STALL] - 0.05) < 1e-12);
    assert_int_equal(c.stall_ns, 250000000);
    assert_int_equal(parse(&c, err, "--header-timeout", "1.5s", NULL), 0);
    assert_int_equal(c.header_timeout_ns, 1500000000);
    assert_int_equal(parse(&c, err, "--reasoning-tokens", "4", "--reasoning-field", "reasoning_content",
                           "--tool-calls", NULL), 0);
    assert_int_equal(c.reasoning_tokens, 4);
    assert_true(c.reasoning_content);
    assert_true(c.tool_calls);
    assert_int_equal(parse(&c, err, NULL), 0);
    assert_int_equal(c.reasoning_tokens, 0);
    assert_false(c.reasoning_content);
    assert_false(c.tool_calls);
    assert_int_equal(parse(&c, err, "--help", NULL), 1);
}

/* --batch-profile: a llama-server's measured aggregate rates, whose dip at
 * 2 and 4 streams is what the knee must survive (issue 10). */
static void test_batch_profile(void **state)
{
    (void)state;
    struct mock_config c;
    char err[256];
    assert_int_equal(parse(&c, err, "--batch-profile", "1:363,2:279,4:311,8:683", "--slots", "8",
                           NULL), 0);
    assert_int_equal(c.batch_npoints, 4);
    assert_int_equal(c.batch_profile[3].batch, 8);
    assert_true(c.batch_profile[3].tps == 683);
    /* The points themselves, linear between them, flat after the last. */
    assert_true(mock_batch_tps(&c, 1) == 363);
    assert_true(mock_batch_tps(&c, 2) == 279);
    assert_true(fabs(mock_batch_tps(&c, 3) - 295) < 1e-9);
    assert_true(fabs(mock_batch_tps(&c, 6) - 497) < 1e-9);
    assert_true(mock_batch_tps(&c, 16) == 683);
    /* Each of b streams gets aggregate/b: b / aggregate seconds a token. */
    assert_int_equal(mock_token_interval_ns(&c, 1), 2754821);
    assert_int_equal(mock_token_interval_ns(&c, 2), 7168459);
    assert_int_equal(mock_token_interval_ns(&c, 8), 11713031);
    /* The aggregate really dips: 2 streams make fewer tokens than 1. */
    assert_true(2e9 / (double)mock_token_interval_ns(&c, 2) < 1e9 / (double)mock_token_interval_ns(&c, 1));
    /* Below a first point above 1: the first point's per-stream rate. */
    assert_int_equal(parse(&c, err, "--batch-profile", "4:400", NULL), 0);
    assert_true(mock_batch_tps(&c, 2) == 200);
    assert_int_equal(mock_token_interval_ns(&c, 2), 10000000);
    /* Without a profile, the formula. */
    assert_int_equal(parse(&c, err, NULL), 0);
    assert_true(mock_batch_tps(&c, 2) == 0);
    assert_int_equal(mock_token_interval_ns(&c, 1), 22222222);

    static const char *const bad[][2] = {
        { "", "item 1 is empty" },
        { "1:10,,4:20", "item 2 is empty" },
        { "1-10", "item 1 '1-10' is not BATCH:TOK/S" },
        { "0:10", "item 1: batch '0'" },
        { "1:0", "item 1: '0' is not a rate" },
        { "1:x", "item 1: 'x' is not a rate" },
        { "4:10,2:20", "item 2: batch 2 is not above" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&c, err, "--batch-profile", bad[i][0], NULL), -1);
        if (!strstr(err, bad[i][1]) || !strstr(err, "--batch-profile"))
            fail_msg("'%s': error '%s' does not say '%s'", bad[i][0], err, bad[i][1]);
    }
}

static void test_config_errors(void **state)
{
    static const char *const bad[][3] = {
        { "--slots", "0", "--slots" },
        { "--slots", "x", "--slots" },
        { "--decode-rate", "0", "--decode-rate" },
        { "--eos-fraction", "2", "--eos-fraction" },
        { "--listen", "1.2.3.4", "--listen" },
        { "--listen", "[::1]", "--listen" },
        { "--listen", "h:99999", "--listen" },
        { "--model", "a,,b", "--model" },
        { "--model", "a\"b", "--model" },
        { "--tokens-per-chunk", "0", "--tokens-per-chunk" },
        { "--stall", "soon", "--stall" },
        { "--header-timeout", "10 parsecs", "--header-timeout" },
        { "--nope", "1", "--nope" },
        { "--profile", "tiny", "--profile" },
        { "--reasoning-field", "thoughts", "--reasoning-field" },
        { "--reasoning-tokens", "-1", "--reasoning-tokens" },
    };
    struct mock_config c;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&c, err, bad[i][0], bad[i][1], NULL), -1);
        assert_non_null(strstr(err, bad[i][2]));
        assert_null(strchr(err, '\n'));
    }
    assert_int_equal(parse(&c, err, "--slots", NULL), -1);
    assert_non_null(strstr(err, "--slots needs a value"));
    assert_int_equal(parse(&c, err, "--fault-429", "0.7", "--fault-close", "0.7", NULL), -1);
    assert_non_null(strstr(err, "add up"));
}

/* Strips the event framing and checks the JSON parses (or does not). */
static void check_event(const struct mbuf *b, int sse, int valid)
{
    char tmp[4096];
    size_t skip = sse ? 6 : 0, trail = sse ? 2 : 1;
    assert_true(b->len > skip + trail && b->len < sizeof tmp);
    if (sse) {
        assert_memory_equal(b->p, "data: ", 6);
        assert_memory_equal(b->p + b->len - 2, "\n\n", 2);
    } else {
        assert_int_equal(b->p[b->len - 1], '\n');
    }
    memcpy(tmp, b->p + skip, b->len - skip - trail);
    tmp[b->len - skip - trail] = 0;
    assert_null(memchr(tmp, '\n', strlen(tmp)));
    cJSON *j = cJSON_Parse(tmp);
    if (valid)
        assert_non_null(j);
    else
        assert_null(j);
    cJSON_Delete(j);
}

static void test_out_events(void **state)
{
    struct mock_resp r = { .model = "m", .seq = 3, .created = 1700000000, .prompt_tokens = 4,
                           .completion_tokens = 2, .text_seed = 9, .total_ns = 10,
                           .load_ns = 1, .prompt_eval_ns = 2, .eval_ns = 3 };
    char ts[48];
    mock_out_time(ts, sizeof ts, 1700000000123456789ll);
    assert_string_equal(ts, "2023-11-14T22:13:20.123456789Z");
    for (int api = MOCK_API_GENERATE; api <= MOCK_API_OAI_COMPLETIONS; api++) {
        struct mbuf b = { 0 };
        int sse = api >= MOCK_API_OAI_CHAT;
        r.api = (enum mock_api)api;
        r.include_usage = api == MOCK_API_OAI_CHAT;
        mock_out_content(&b, &r, ts, " hello", 6);
        check_event(&b, sse, 1);
        b.len = 0;
        mock_out_malformed(&b, &r, ts, " hello", 6);
        check_event(&b, sse, 0);
        b.len = 0;
        mock_out_stream_error(&b, &r, "boom");
        check_event(&b, sse, 1);
        b.len = 0;
        if (sse) {
            mock_out_finish(&b, &r);
            check_event(&b, 1, 1);
            b.len = 0;
            mock_out_usage(&b, &r);
            check_event(&b, 1, 1);
        } else {
            mock_out_final(&b, &r, ts);
            check_event(&b, 0, 1);
            cJSON *j = cJSON_ParseWithLength(b.p, b.len - 1);
            assert_int_equal(cJSON_GetObjectItem(j, "eval_count")->valueint, 2);
            cJSON *ctx = cJSON_GetObjectItem(j, "context");
            if (api == MOCK_API_GENERATE)
                assert_int_equal(cJSON_GetArraySize(ctx), 6);
            else
                assert_null(ctx);
            cJSON_Delete(j);
        }
        b.len = 0;
        mock_out_body(&b, &r, ts);
        cJSON *j = cJSON_ParseWithLength(b.p, b.len);
        assert_non_null(j);
        cJSON_Delete(j);
        mbuf_free(&b);
    }
    struct mbuf b = { 0 };
    mock_out_error(&b, 1, 404, "no \"x\"");
    mbuf_put(&b, "", 1);
    assert_string_equal(b.p, "{\"error\":{\"message\":\"no \\\"x\\\"\",\"type\":\"not_found_error\","
                             "\"param\":null,\"code\":null}}");
    b.len = 0;
    mock_out_error(&b, 0, 404, "model 'x' not found");
    mbuf_put(&b, "", 1);
    assert_string_equal(b.p, "{\"error\":\"model 'x' not found\"}");
    mbuf_free(&b);
}

/* The JSON of one event, without its framing. */
static cJSON *event_json(const struct mbuf *b, int sse)
{
    size_t skip = sse ? 6 : 0, trail = sse ? 2 : 1;
    check_event(b, sse, 1);
    return cJSON_ParseWithLength(b->p + skip, b->len - skip - trail);
}

static const char *path_str(cJSON *j, const char *const *path)
{
    for (; *path; path++)
        j = **path >= '0' && **path <= '9' ? cJSON_GetArrayItem(j, atoi(*path))
                                           : cJSON_GetObjectItem(j, *path);
    return cJSON_GetStringValue(j);
}

/* Reasoning and tool calls in each API's shape (docs/mock.md). */
static void test_out_reasoning_tools(void **state)
{
    struct mock_config c;
    struct mock_resp r = { .model = "m", .seq = 3, .prompt_tokens = 4, .completion_tokens = 6,
                           .reasoning_tokens = 2, .text_seed = 9 };
    struct mbuf b = { 0 };
    cJSON *j;
    (void)state;
    mock_config_defaults(&c);
    c.reasoning_tokens = 5;
    assert_int_equal(mock_reasoning_tokens(&c, MOCK_API_OAI_CHAT, 12), 5);
    assert_int_equal(mock_reasoning_tokens(&c, MOCK_API_CHAT, 3), 2);     /* one left to answer */
    assert_int_equal(mock_reasoning_tokens(&c, MOCK_API_GENERATE, 1), 0);
    assert_int_equal(mock_reasoning_tokens(&c, MOCK_API_OAI_COMPLETIONS, 12), 0);

    r.api = MOCK_API_OAI_CHAT;
    r.kind = MOCK_TEXT_REASONING;
    mock_out_content(&b, &r, "", " hm", 3);
    j = event_json(&b, 1);
    assert_string_equal(path_str(j, (const char *const[]){ "choices", "0", "delta", "reasoning", NULL }), " hm");
    cJSON_Delete(j);
    b.len = 0;
    r.reasoning_content = 1;
    mock_out_content(&b, &r, "", " hm", 3);
    j = event_json(&b, 1);
    assert_string_equal(path_str(j, (const char *const[]){ "choices", "0", "delta", "reasoning_content", NULL }), " hm");
    cJSON_Delete(j);
    b.len = 0;
    r.kind = MOCK_TEXT_TOOL;
    r.tool_calls = r.tool_start = 1;
    mock_out_content(&b, &r, "", " a", 2);
    j = event_json(&b, 1);
    const char *call[] = { "choices", "0", "delta", "tool_calls", "0", "function", "name", NULL };
    assert_string_equal(path_str(j, call), MOCK_TOOL_NAME);
    call[6] = "arguments";
    assert_string_equal(path_str(j, call), " a");
    assert_string_equal(path_str(j, (const char *const[]){ "choices", "0", "delta", "tool_calls", "0", "id", NULL }), "call_3");
    cJSON_Delete(j);
    b.len = 0;
    r.tool_start = 0;
    mock_out_content(&b, &r, "", " b", 2);
    j = event_json(&b, 1);
    assert_string_equal(path_str(j, call), " b");
    call[6] = "name";
    assert_null(path_str(j, call));
    cJSON_Delete(j);
    b.len = 0;
    mock_out_finish(&b, &r);
    j = event_json(&b, 1);
    assert_string_equal(path_str(j, (const char *const[]){ "choices", "0", "finish_reason", NULL }), "tool_calls");
    cJSON_Delete(j);
    b.len = 0;
    mock_out_usage(&b, &r);
    j = event_json(&b, 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"),
                                         "completion_tokens_details"), "reasoning_tokens")->valueint, 2);
    cJSON_Delete(j);
    b.len = 0;
    mock_out_body(&b, &r, "");
    j = cJSON_ParseWithLength(b.p, b.len);
    assert_non_null(path_str(j, (const char *const[]){ "choices", "0", "message", "reasoning_content", NULL }));
    cJSON_Delete(j);

    b.len = 0;
    r.api = MOCK_API_CHAT;
    r.kind = MOCK_TEXT_TOOL;
    mock_out_content(&b, &r, "t", " x y", 4);
    j = event_json(&b, 0);
    assert_string_equal(path_str(j, (const char *const[]){ "message", "tool_calls", "0", "function", "arguments",
                                                           "query", NULL }), " x y");
    assert_string_equal(path_str(j, (const char *const[]){ "message", "content", NULL }), "");
    cJSON_Delete(j);
    b.len = 0;
    r.kind = MOCK_TEXT_REASONING;
    mock_out_content(&b, &r, "t", " x", 2);
    j = event_json(&b, 0);
    assert_string_equal(path_str(j, (const char *const[]){ "message", "thinking", NULL }), " x");
    cJSON_Delete(j);
    b.len = 0;
    r.api = MOCK_API_GENERATE;
    mock_out_content(&b, &r, "t", " x", 2);
    j = event_json(&b, 0);
    assert_string_equal(path_str(j, (const char *const[]){ "thinking", NULL }), " x");
    assert_string_equal(path_str(j, (const char *const[]){ "response", NULL }), "");
    cJSON_Delete(j);
    b.len = 0;
    mock_out_body(&b, &r, "t");
    j = cJSON_ParseWithLength(b.p, b.len);
    assert_non_null(path_str(j, (const char *const[]){ "thinking", NULL }));
    cJSON_Delete(j);
    mbuf_free(&b);
}

/* --- the timer heap, on a real loop -------------------------------------- */

struct fired {
    struct mtimers *ts;
    uint64_t last_due;
    int count, order_ok;
    uv_timer_t guard;
};

struct tnode {
    struct mtimer t;
    struct fired *f;
};

static struct tnode nodes[200];

static void on_fire(struct mtimer *t)
{
    struct tnode *n = (struct tnode *)(void *)t;
    struct fired *f = n->f;
    if (t->due < f->last_due)
        f->order_ok = 0;
    f->last_due = t->due;
    /* The heap fires at its deadline, never before. */
    if (uv_hrtime() < t->due)
        f->order_ok = 0;
    if (++f->count == 150)
        mtimers_close(f->ts);
}

static void on_guard(uv_timer_t *h)
{
    struct fired *f = h->data;
    mtimers_close(f->ts);
}

static void test_timer_heap(void **state)
{
    uv_loop_t loop;
    struct mtimers ts;
    struct fired f = { .ts = &ts, .order_ok = 1 };
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(mtimers_init(&ts, &loop), 0);
    uint64_t now = uv_hrtime();
    for (int i = 0; i < 200; i++) {
        nodes[i].t.cb = on_fire;
        nodes[i].f = &f;
        /* Spread over 0..20 ms, some in the past, in scrambled order. */
        uint64_t due = now - 1000000 + (uint64_t)((i * 7919) % 200) * 105000;
        assert_int_equal(mtimer_start(&ts, &nodes[i].t, due), 0);
    }
    /* Stop 50 of them, re-schedule a few: exactly 150 must fire. */
    for (int i = 0; i < 200; i += 4)
        mtimer_stop(&ts, &nodes[i].t);
    for (int i = 1; i < 40; i += 4)
        assert_int_equal(mtimer_start(&ts, &nodes[i].t, now + 3000000), 0);
    uv_timer_init(&loop, &f.guard);
    f.guard.data = &f;
    uv_timer_start(&f.guard, on_guard, 5000, 0);
    uv_unref((uv_handle_t *)&f.guard);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(f.count, 150);
    assert_true(f.order_ok);
    uv_close((uv_handle_t *)&f.guard, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_formula),
        cmocka_unit_test(test_batch_profile),
        cmocka_unit_test(test_ttft_and_prompt_tokens),
        cmocka_unit_test(test_plan_defaults),
        cmocka_unit_test(test_plan_eos),
        cmocka_unit_test(test_plan_faults),
        cmocka_unit_test(test_config_parse),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_out_events),
        cmocka_unit_test(test_out_reasoning_tools),
        cmocka_unit_test(test_timer_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
