/* Pushgateway paths and grouping labels (src/observe/obs_push.c), and the
 * observability flags (obs_opts.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "obs_opts.h"
#include "obs_push.h"

static void test_path(void **state)
{
    (void)state;
    struct obs_push_cfg c;
    char path[512], err[256];
    obs_push_cfg_init(&c);
    assert_int_equal(obs_push_path(&c, path, sizeof path), 0);
    assert_string_equal(path, "/metrics/job/llmload");

    snprintf(c.url.path, sizeof c.url.path, "/gw");
    assert_int_equal(obs_push_label_add(&c, "instance=host-1.example", err, sizeof err), 0);
    /* values that are not plain URL text go in URL-safe base64 (RFC 4648 §5) */
    assert_int_equal(obs_push_label_add(&c, "path=/var/tmp", err, sizeof err), 0);
    assert_int_equal(obs_push_label_add(&c, "empty=", err, sizeof err), 0);
    assert_int_equal(obs_push_label_add(&c, "q=a?b>", err, sizeof err), 0);
    assert_int_equal(obs_push_path(&c, path, sizeof path), 0);
    assert_string_equal(path, "/gw/metrics/job/llmload/instance/host-1.example"
                              "/path@base64/L3Zhci90bXA=/empty@base64/=/q@base64/YT9iPg==");
    /* a label given again replaces the first */
    assert_int_equal(obs_push_label_add(&c, "path=x", err, sizeof err), 0);
    assert_int_equal(c.nlabels, 4);
    assert_int_equal(obs_push_path(&c, path, sizeof path), 0);
    assert_non_null(strstr(path, "/path/x/"));
    /* a path that does not fit */
    assert_int_equal(obs_push_path(&c, path, 20), -1);

    assert_int_equal(obs_push_label_add(&c, "novalue", err, sizeof err), -1);
    assert_non_null(strstr(err, "NAME=VALUE"));
    assert_int_equal(obs_push_label_add(&c, "bad-name=1", err, sizeof err), -1);
    assert_int_equal(obs_push_label_add(&c, "__x=1", err, sizeof err), -1);
    assert_int_equal(obs_push_label_add(&c, "job=x", err, sizeof err), -1);
    assert_non_null(strstr(err, "--push-job"));
    /* job values are encoded the same way */
    snprintf(c.job, sizeof c.job, "a b");
    c.nlabels = 0;
    c.url.path[0] = '\0';
    assert_int_equal(obs_push_path(&c, path, sizeof path), 0);
    assert_string_equal(path, "/metrics/job@base64/YSBi");
}

static void test_strip(void **state)
{
    (void)state;
    struct obs_push_cfg c;
    char err[256];
    struct obs_labels l = { "http://t/", "m", "openai-chat", "r1" };
    obs_push_cfg_init(&c);
    assert_int_equal(obs_push_label_add(&c, "run_id=r1", err, sizeof err), 0);
    assert_int_equal(obs_push_label_add(&c, "model=m", err, sizeof err), 0);
    assert_int_equal(obs_push_label_add(&c, "env=ci", err, sizeof err), 0);
    obs_push_strip_labels(&c, &l);
    assert_null(l.run_id);
    assert_null(l.model);
    assert_string_equal(l.target, "http://t/");
    assert_string_equal(l.api, "openai-chat");
}

static int parse(struct obs_opts *o, char **argv, int argc, char *err, size_t cap)
{
    static const struct opt_table *const tables[] = { &obs_push_opt_table, &obs_run_opt_table,
                                                      NULL };
    static const struct opt_cmd cmd = { .name = "t", .tables = tables };
    void *ud[] = { o, o };
    obs_opts_init(o);
    int r = opt_parse(&cmd, ud, argc, argv, 0, NULL, NULL, err, cap);
    return r == OPT_OK ? obs_opts_check(o, err, cap) : -1;
}

static void test_flags(void **state)
{
    (void)state;
    struct obs_opts o;
    char err[512];
    char *ok[] = { "--push", "http://127.0.0.1:9091/", "--push-label", "env=ci",
                   "--push-interval", "10s", "--push-job", "bench", "--prometheus", "127.0.0.1:0",
                   "--monitor", "client,system", "--monitor-off", "system", "--server-pid", "42" };
    assert_int_equal(parse(&o, ok, 16, err, sizeof err), 0);
    assert_true(o.push);
    assert_string_equal(o.push_cfg.url.host, "127.0.0.1");
    assert_string_equal(o.push_cfg.url.port, "9091");
    assert_string_equal(o.push_cfg.url.path, "");
    assert_string_equal(o.push_cfg.job, "bench");
    assert_int_equal(o.push_interval_ns, 10000000000ull);
    assert_string_equal(o.prometheus, "127.0.0.1:0");
    assert_int_equal(o.monitor, OBS_SRC_CLIENT);
    assert_int_equal(o.server_pid, 42);

    char *none[] = { "--monitor", "none" };
    assert_int_equal(parse(&o, none, 2, err, sizeof err), 0);
    assert_int_equal(o.monitor, 0);
    char *dflt[] = { "--monitor-off", "gpu,server-metrics" };
    assert_int_equal(parse(&o, dflt, 2, err, sizeof err), 0);
    assert_int_equal(o.monitor, OBS_SRC_CLIENT | OBS_SRC_SYSTEM | OBS_SRC_SERVER);

    struct { char *argv[2]; const char *msg; } bad[] = {
        { { "--push", "https://gw:9091" }, "https is not supported" },
        { { "--push", "gw:9091" }, "expected http://HOST" },
        { { "--push", "http://u:p@gw:9091" }, "credentials" },
        { { "--push-label", "env=ci" }, "need --push URL" },
        { { "--push-interval", "50ms" }, "100ms or more" },
        { { "--prometheus", "9101" }, "expected HOST:PORT" },
        { { "--monitor", "cpu" }, "unknown source 'cpu'" },
        { { "--server-pid", "0" }, "not a process id" },
        { { "--server-metrics", "ftp://x" }, "expected http://HOST" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&o, bad[i].argv, 2, err, sizeof err), -1);
        if (!strstr(err, bad[i].msg))
            fail_msg("%s %s: %s", bad[i].argv[0], bad[i].argv[1], err);
    }
    char *ipv6[] = { "--push", "http://[::1]:9091/gw/" };
    assert_int_equal(parse(&o, ipv6, 2, err, sizeof err), 0);
    assert_string_equal(o.push_cfg.url.host, "::1");
    assert_string_equal(o.push_cfg.url.path, "/gw");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_strip),
        cmocka_unit_test(test_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
