/* The dashboard's security checks and run requests, without a socket:
 * token sources, Host and Origin matching, loopback, the run body's
 * refusals and the child's arguments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "serve.h"
#include "serve_relay.h"
#include "serve_run.h"
#include "serve_sec.h"

static struct sockaddr_storage v4(const char *ip, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    return ss;
}

static void test_loopback(void **state)
{
    (void)state;
    struct sockaddr_storage a = v4("127.0.0.1", 1), b = v4("127.8.9.1", 1), c = v4("10.0.0.1", 1),
                            d = v4("0.0.0.0", 1);
    assert_true(serve_sec_loopback(&a));
    assert_true(serve_sec_loopback(&b));
    assert_false(serve_sec_loopback(&c));
    assert_false(serve_sec_loopback(&d));
    assert_true(serve_sec_wildcard(&d));
    struct sockaddr_storage e;
    memset(&e, 0, sizeof e);
    e.ss_family = AF_INET6;
    inet_pton(AF_INET6, "::1", &((struct sockaddr_in6 *)&e)->sin6_addr);
    assert_true(serve_sec_loopback(&e));
    char t[64];
    serve_sec_host_text(&e, t, sizeof t);
    assert_string_equal(t, "[::1]");
}

static void test_token(void **state)
{
    (void)state;
    const char *tok = "abcdefghijklmnop";
    int q;
    assert_true(serve_sec_token_ok("", "", "", "", &q));
    assert_false(serve_sec_token_ok(tok, "", "", "", &q));
    assert_true(serve_sec_token_ok(tok, "Bearer abcdefghijklmnop", "", "", &q));
    assert_false(q);
    assert_true(serve_sec_token_ok(tok, "bearer abcdefghijklmnop", "", "", &q));
    assert_false(serve_sec_token_ok(tok, "Bearer abcdefghijklmno", "", "", &q));
    assert_false(serve_sec_token_ok(tok, "Bearer abcdefghijklmnopq", "", "", &q));
    assert_true(serve_sec_token_ok(tok, "", "a=1; llmload_token=abcdefghijklmnop; b=2", "", &q));
    assert_false(serve_sec_token_ok(tok, "", "xllmload_token=abcdefghijklmnop", "", &q));
    assert_false(serve_sec_token_ok(tok, "", "llmload_token=abcdefghijklmnopX", "", &q));
    assert_true(serve_sec_token_ok(tok, "", "", "x=1&token=abcdefghijklmnop", &q));
    assert_true(q);
    assert_false(serve_sec_token_ok(tok, "", "", "mytoken=abcdefghijklmnop", &q));
}

static void test_host_origin(void **state)
{
    (void)state;
    struct sockaddr_storage lo = v4("127.0.0.1", 0), lan = v4("192.168.1.5", 0), any = v4("0.0.0.0", 0);
    assert_true(serve_sec_host_ok("127.0.0.1:8089", &lo, 8089));
    assert_true(serve_sec_host_ok("localhost:8089", &lo, 8089));
    assert_true(serve_sec_host_ok("LOCALHOST:8089", &lo, 8089));
    assert_true(serve_sec_host_ok("[::1]:8089", &lo, 8089));
    assert_false(serve_sec_host_ok("127.0.0.1:8090", &lo, 8089));
    assert_false(serve_sec_host_ok("127.0.0.1", &lo, 8089));
    assert_false(serve_sec_host_ok("evil.example:8089", &lo, 8089));
    assert_false(serve_sec_host_ok("", &lo, 8089));
    assert_true(serve_sec_host_ok("192.168.1.5:80", &lan, 80));
    assert_false(serve_sec_host_ok("localhost:80", &lan, 80));
    assert_true(serve_sec_host_ok("anything:1", &any, 80));
    assert_true(serve_sec_origin_ok("", "127.0.0.1:80"));
    assert_true(serve_sec_origin_ok("http://127.0.0.1:80", "127.0.0.1:80"));
    assert_false(serve_sec_origin_ok("http://evil.example", "127.0.0.1:80"));
    assert_false(serve_sec_origin_ok("null", "127.0.0.1:80"));
    assert_false(serve_sec_origin_ok("https://127.0.0.1:80", "127.0.0.1:80"));
    assert_false(serve_sec_origin_ok("http://127.0.0.1:80.evil", "127.0.0.1:80"));
}

static void opts2(struct serve_opts *o)
{
    char err[256];
    serve_opts_init(o);
    assert_int_equal(serve_opts_add_target(o, "a=http://127.0.0.1:1", err, sizeof err), 0);
    assert_int_equal(serve_opts_add_target(o, "b=http://127.0.0.1:2/v1", err, sizeof err), 0);
    o->max_concurrency = 10;
    o->max_requests = 50;
}

static void test_opts(void **state)
{
    (void)state;
    struct serve_opts o;
    char err[256];
    opts2(&o);
    assert_int_equal(serve_opts_add_target(&o, "a=http://x", err, sizeof err), -1);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(serve_opts_add_target(&o, "a b=http://x", err, sizeof err), -1);
    assert_int_equal(serve_opts_add_target(&o, "c=file:///etc", err, sizeof err), -1);
    assert_int_equal(serve_opts_add_target(&o, "=http://x", err, sizeof err), -1);
    assert_int_equal(serve_opts_check(&o, err, sizeof err), 0);
    o.listen = "0.0.0.0:80";
    assert_int_equal(serve_opts_check(&o, err, sizeof err), -1);
    assert_non_null(strstr(err, "--token"));
    snprintf(o.token, sizeof o.token, "0123456789abcdef");
    assert_int_equal(serve_opts_check(&o, err, sizeof err), 0);
    snprintf(o.token, sizeof o.token, "0123456789abcdef&x");
    assert_int_equal(serve_opts_check(&o, err, sizeof err), -1);
    snprintf(o.token, sizeof o.token, "short");
    assert_int_equal(serve_opts_check(&o, err, sizeof err), -1);
}

static const char *arg_with(const struct serve_run_args *a, const char *prefix)
{
    for (int i = 0; i < a->argc; i++)
        if (!strncmp(a->argv[i], prefix, strlen(prefix)))
            return a->argv[i];
    return NULL;
}

static void test_run_args(void **state)
{
    (void)state;
    struct serve_opts o;
    struct serve_run_args a;
    char err[256];
    opts2(&o);
    assert_int_equal(serve_run_parse(&o, "{\"prompt\":\"--url=http://evil\",\"levels\":[1,2,5],"
                                         "\"requests\":7,\"max_tokens\":9,\"model\":\"m:1\","
                                         "\"slo\":\"p95(ttft)<=500ms\"}",
                                     "/r/x.json", "/r/x.csv", &a, err, sizeof err), 0);
    assert_string_equal(a.argv[0], "compare");
    assert_string_equal(arg_with(&a, "--target=a"), "--target=a=http://127.0.0.1:1");
    assert_string_equal(arg_with(&a, "--target=b"), "--target=b=http://127.0.0.1:2/v1");
    assert_string_equal(arg_with(&a, "--prompt"), "--prompt=--url=http://evil");
    assert_string_equal(arg_with(&a, "--concurrency"), "--concurrency=1,2,5");
    assert_string_equal(arg_with(&a, "--requests"), "--requests=7");
    assert_string_equal(arg_with(&a, "--max-tokens"), "--max-tokens=9");
    assert_string_equal(arg_with(&a, "--model"), "--model=m:1");
    assert_string_equal(arg_with(&a, "--slo"), "--slo=p95(ttft)<=500ms");
    assert_string_equal(arg_with(&a, "--json"), "--json=/r/x.json");
    assert_null(arg_with(&a, "--url"));
    assert_null(a.argv[a.argc]);
    serve_run_args_free(&a);

    /* The defaults: every target, the default levels cut at the limit. */
    assert_int_equal(serve_run_parse(&o, "{}", "j", "c", &a, err, sizeof err), 0);
    assert_string_equal(arg_with(&a, "--concurrency"), "--concurrency=1,2,5,10");
    assert_string_equal(arg_with(&a, "--requests"), "--requests=20");
    assert_int_equal(a.ntargets, 2);
    serve_run_args_free(&a);

    static const struct { const char *body, *want; } bad[] = {
        { "{\"url\":\"http://10.0.0.1\"}", "unknown field" },
        { "{\"targets\":[\"a\",\"http://10.0.0.1\"]}", "not a target" },
        { "{\"targets\":[\"a\",\"a\"]}", "twice" },
        { "{\"targets\":[\"b\"]}", "at least two" },
        { "{\"levels\":[1,11]}", "--max-concurrency 10" },
        { "{\"levels\":[1.5]}", "whole number" },
        { "{\"levels\":[]}", "levels" },
        { "{\"requests\":51}", "--max-requests 50" },
        { "{\"requests\":0}", "requests" },
        { "{\"max_tokens\":1e9}", "max_tokens" },
        { "{\"model\":\"a b\"}", "model" },
        { "{\"prompt\":\"\"}", "prompt" },
        { "{\"slo\":\"ttft<=1s --url=x\"}", "slo" },
        { "{\"slo\":\"$(rm)\"}", "slo" },
        { "[1]", "not a JSON object" },
        { "{", "not a JSON object" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(serve_run_parse(&o, bad[i].body, "j", "c", &a, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: %s (want %s)", bad[i].body, err, bad[i].want);
        assert_int_equal(a.argc, 0);
    }
}

/* A model per target (the operator's @MODEL, the page's "models"), and
 * prompt files chosen by name only. */
static void test_models_and_sources(void **state)
{
    (void)state;
    struct serve_opts o;
    struct serve_run_args a;
    char err[256];
    opts2(&o);
    assert_int_equal(serve_opts_add_target(&o, "c=http://u:p@127.0.0.1:3/v1@org/m-1.5", err, sizeof err), 0);
    assert_string_equal(o.targets[2].url, "http://u:p@127.0.0.1:3/v1");
    assert_string_equal(o.targets[2].model, "org/m-1.5");
    assert_int_equal(serve_opts_add_target(&o, "d=http://127.0.0.1:4@", err, sizeof err), -1);
    assert_int_equal(serve_opts_add_target(&o, "d=http://127.0.0.1:4/@a b", err, sizeof err), -1);
    /* The unit test binary itself is a readable file with a known name. */
    assert_int_equal(serve_opts_add_source(&o, "--dataset", "/proc/self/status", err, sizeof err), 0);
    assert_int_equal(serve_opts_add_source(&o, "--prompt-file", "/proc/1/status", err, sizeof err), -1);
    assert_non_null(strstr(err, "named status too"));
    assert_int_equal(serve_opts_add_source(&o, "--prompt-file", "/nonexistent/p.txt", err, sizeof err), -1);
    assert_int_equal(serve_run_parse(&o, "{\"targets\":[\"a\",\"c\"],\"models\":{\"a\":\"llama3:8b\"},"
                                         "\"prompts\":\"status\"}", "j", "c", &a, err, sizeof err), 0);
    assert_string_equal(arg_with(&a, "--target=a"), "--target=a=http://127.0.0.1:1@llama3:8b");
    assert_string_equal(arg_with(&a, "--target=c"), "--target=c=http://u:p@127.0.0.1:3/v1@org/m-1.5");
    assert_string_equal(arg_with(&a, "--dataset"), "--dataset=/proc/self/status");
    assert_null(arg_with(&a, "--prompt="));
    serve_run_args_free(&a);
    assert_int_equal(serve_run_parse(&o, "{\"models\":{\"c\":\"x\"}}", "j", "c", &a, err, sizeof err), 0);
    assert_string_equal(arg_with(&a, "--target=c"), "--target=c=http://u:p@127.0.0.1:3/v1@x");
    assert_string_equal(arg_with(&a, "--target=b"), "--target=b=http://127.0.0.1:2/v1");
    serve_run_args_free(&a);
    static const struct { const char *body, *want; } bad[] = {
        { "{\"prompts\":\"/etc/passwd\"}", "not a prompt file or dataset this server allows" },
        { "{\"prompts\":\"../status\"}", "not a prompt file" },
        { "{\"prompts\":1}", "not a prompt file" },
        { "{\"prompts\":\"status\",\"prompt\":\"hi\"}", "give one of them" },
        { "{\"models\":[\"m\"]}", "not an object" },
        { "{\"targets\":[\"a\",\"b\"],\"models\":{\"c\":\"m\"}}", "not a target of this run" },
        { "{\"models\":{\"a\":\"--url=x y\"}}", "not a model name" },
        { "{\"models\":{\"a\":3}}", "not a model name" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(serve_run_parse(&o, bad[i].body, "j", "c", &a, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("%s: %s (want %s)", bad[i].body, err, bad[i].want);
    }
}

/* The child's pushes read and relayed with their grouping labels. */
static void test_relay(void **state)
{
    (void)state;
    static const char push1[] =
        "# HELP llmload_requests_total Finished requests.\n"
        "# TYPE llmload_requests_total counter\n"
        "llmload_requests_total{model=\"m\",outcome=\"ok\"} 7\n"
        "llmload_requests_total{model=\"m\",outcome=\"error\"} 1\n"
        "# HELP llmload_requests_in_flight In flight.\n"
        "# TYPE llmload_requests_in_flight gauge\n"
        "llmload_requests_in_flight 3\n";
    static const char push2[] =
        "# HELP llmload_requests_in_flight In flight.\n"
        "# TYPE llmload_requests_in_flight gauge\n"
        "llmload_requests_in_flight{} 2\n"
        "# HELP llmload_latency_percentile_seconds P.\n"
        "# TYPE llmload_latency_percentile_seconds gauge\n"
        "llmload_latency_percentile_seconds{model=\"a}b\",metric=\"ttft\",percentile=\"95\"} 0.25\n";
    const char *ok[] = { "outcome=\"ok\"", NULL }, *p95[] = { "metric=\"ttft\"", "percentile=\"95\"", NULL };
    assert_true(serve_relay_sum(push1, "llmload_requests_total", ok) == 7);
    assert_true(serve_relay_sum(push1, "llmload_requests_total", NULL) == 8);
    assert_true(serve_relay_sum(push1, "llmload_requests_in_flight", NULL) == 3);
    assert_true(isnan(serve_relay_sum(push1, "llmload_requests", NULL)));
    assert_true(serve_relay_sum(push2, "llmload_latency_percentile_seconds", p95) == 0.25);
    assert_true(isnan(serve_relay_sum(push2, "llmload_latency_percentile_seconds", ok)));

    static struct serve_relay r;
    assert_int_equal(serve_relay_put(&r, "a", "1", push1, 10), 0);
    assert_int_equal(serve_relay_put(&r, "a", "1", push1, strlen(push1)), 0);     /* replaces */
    assert_int_equal(serve_relay_put(&r, "b", "2", push2, strlen(push2)), 0);
    assert_int_equal(r.n, 2);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    serve_relay_write(&r, f);
    fclose(f);
    assert_string_equal(text,
        "# HELP llmload_requests_total Finished requests.\n"
        "# TYPE llmload_requests_total counter\n"
        "llmload_requests_total{target=\"a\",sweep_level=\"1\",model=\"m\",outcome=\"ok\"} 7\n"
        "llmload_requests_total{target=\"a\",sweep_level=\"1\",model=\"m\",outcome=\"error\"} 1\n"
        "# HELP llmload_requests_in_flight In flight.\n"
        "# TYPE llmload_requests_in_flight gauge\n"
        "llmload_requests_in_flight{target=\"a\",sweep_level=\"1\"} 3\n"
        "llmload_requests_in_flight{target=\"b\",sweep_level=\"2\"} 2\n"
        "# HELP llmload_latency_percentile_seconds P.\n"
        "# TYPE llmload_latency_percentile_seconds gauge\n"
        "llmload_latency_percentile_seconds{target=\"b\",sweep_level=\"2\",model=\"a}b\",metric=\"ttft\","
        "percentile=\"95\"} 0.25\n");
    free(text);
    serve_relay_clear(&r);
    assert_int_equal(r.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_host_origin),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_run_args),
        cmocka_unit_test(test_models_and_sources),
        cmocka_unit_test(test_relay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
