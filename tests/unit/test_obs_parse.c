/* The monitor's parsers on captured text (tests/fixtures/observe/README.md):
 * /proc files, nvidia-smi's CSV, the Prometheus text format and the known
 * metrics of vLLM, llama.cpp, TGI and SGLang. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obs_gpu.h"
#include "obs_procfs.h"
#include "obs_scrape.h"

static char buf[1 << 20];

/* The fixture $LLMLOAD_FIXTURES/name, in the static buffer. */
static const char *fixture(const char *name)
{
    char path[1024];
    const char *root = getenv("LLMLOAD_FIXTURES");
    snprintf(path, sizeof path, "%s/%s", root ? root : "tests/fixtures", name);
    if (obs_read_file(path, buf, sizeof buf) < 0)
        fail_msg("cannot read %s", path);
    return buf;
}

static void test_pid_stat(void **state)
{
    (void)state;
    struct obs_pid_stat s;
    assert_int_equal(obs_parse_pid_stat(fixture("observe/pid-stat.txt"), &s), 0);
    assert_int_equal(s.state, 'S');
    assert_int_equal(s.utime, 0);
    assert_int_equal(s.stime, 0);
    assert_int_equal(s.threads, 1);
    assert_int_equal(s.rss_pages, 645);
    /* a command name with spaces and parentheses */
    assert_int_equal(obs_parse_pid_stat("77 (a) b (c)) R 1 77 77 0 -1 4194560 10 0 0 0 250 31 0 0 "
                                        "20 0 9 0 100 5000 1234 18446744073709551615", &s), 0);
    assert_int_equal(s.state, 'R');
    assert_int_equal(s.utime, 250);
    assert_int_equal(s.stime, 31);
    assert_int_equal(s.threads, 9);
    assert_int_equal(s.rss_pages, 1234);
    assert_int_equal(obs_parse_pid_stat("garbage", &s), -1);
    assert_int_equal(obs_parse_pid_stat("1 (x) R 1", &s), -1);
}

static void test_system_files(void **state)
{
    (void)state;
    struct obs_cpu_times c;
    assert_int_equal(obs_parse_proc_stat(fixture("observe/proc-stat.txt"), &c), 0);
    assert_int_equal(c.user, 91071);
    assert_int_equal(c.nice, 139142);
    assert_int_equal(c.system, 132358);
    assert_int_equal(c.idle, 186734);
    assert_int_equal(c.iowait, 1736);
    assert_int_equal(c.softirq, 4748);
    assert_int_equal(c.steal, 0);
    assert_int_equal(obs_cpu_total(&c), c.user + c.nice + c.system + c.idle + c.iowait + c.irq +
                                        c.softirq + c.steal);
    assert_int_equal(obs_parse_proc_stat("cpu  1 2 3 4 5 6 7 8 9 10\n", &c), 0);
    assert_int_equal(c.steal, 8);
    assert_int_equal(obs_cpu_total(&c), 36);
    assert_int_equal(obs_parse_proc_stat("intr 1 2 3\n", &c), -1);

    struct obs_meminfo m;
    assert_int_equal(obs_parse_meminfo(fixture("observe/meminfo.txt"), &m), 0);
    assert_int_equal(m.total, 24683744ull * 1024);
    assert_true(m.available > 0 && m.available <= m.total);
    assert_int_equal(obs_parse_meminfo("MemTotal: 10 kB\n", &m), -1);

    double l[3];
    assert_int_equal(obs_parse_loadavg(fixture("observe/loadavg.txt"), l), 0);
    assert_true(l[0] >= 0 && l[1] >= 0 && l[2] >= 0);
    assert_int_equal(obs_parse_loadavg("0.50 1.25 2.00 1/100 42\n", l), 0);
    assert_true(l[0] == 0.5 && l[1] == 1.25 && l[2] == 2);
}

static void test_net_listen(void **state)
{
    (void)state;
    uint64_t ino[4];
    /* the simulators of the capture: 127.0.0.1:43313 and [::1]:37639 */
    assert_int_equal(obs_parse_net_listen(fixture("observe/net-tcp.txt"), 43313, ino, 4), 1);
    assert_int_equal(ino[0], 483403);
    assert_int_equal(obs_parse_net_listen(fixture("observe/net-tcp6.txt"), 37639, ino, 4), 1);
    assert_int_equal(ino[0], 483398);
    /* a port with only established connections is nobody's listener */
    assert_int_equal(obs_parse_net_listen(fixture("observe/net-tcp.txt"), 1, ino, 4), 0);
    assert_int_equal(obs_parse_net_listen(fixture("observe/net-tcp.txt"), 2024, ino, 4), 1);
    assert_int_equal(ino[0], 1145);
}

/* The thin readers on this process: a socket it listens on is found in
 * /proc/net, its owner is this process, which obs_socket_owner skips. */
static void test_readers(void **state)
{
    (void)state;
    int listed;
    long fds = obs_count_fds(0, &listed);
    assert_true(fds >= 3);
    FILE *f = fopen("/proc/self/stat", "r");
    assert_non_null(f);
    assert_int_equal(obs_count_fds(0, &listed), fds + 1);
    fclose(f);
    assert_int_equal(obs_count_fds((long)getpid(), &listed), fds);
    assert_int_equal(obs_count_fds(0x7ffffff0, &listed), -1);
    struct obs_pid_stat s;
    assert_true(obs_read_file("/proc/self/stat", buf, sizeof buf) > 0);
    assert_int_equal(obs_parse_pid_stat(buf, &s), 0);
    assert_true(s.rss_pages > 0);
    assert_int_equal(obs_read_file("/nonexistent/x", buf, sizeof buf), -1);
    /* a port nobody listens on */
    assert_int_equal(obs_find_listener(1), 0);
}

static void test_nvidia_smi(void **state)
{
    (void)state;
    struct obs_gpu g[OBS_GPU_MAX];
    assert_int_equal(obs_parse_nvidia_smi(fixture("observe/nvidia-smi.csv"), g, OBS_GPU_MAX), 3);
    assert_int_equal(g[0].index, 0);
    assert_string_equal(g[0].name, "NVIDIA A100-SXM4-80GB");
    assert_true(fabs(g[0].util - 0.87) < 1e-12);
    assert_true(g[0].mem_used == 61234.0 * 1048576);
    assert_true(g[0].mem_total == 81920.0 * 1048576);
    assert_true(g[0].power_w == 312.45);
    assert_true(g[0].temp_c == 64);
    assert_int_equal(g[1].index, 1);
    assert_true(g[1].util == 0);
    assert_string_equal(g[2].name, "NVIDIA GeForce RTX 3060 Laptop GPU");
    assert_true(isnan(g[2].power_w));          /* [N/A] */
    assert_true(g[2].temp_c == 51);
    /* a name with a comma; CRLF; a blank line */
    assert_int_equal(obs_parse_nvidia_smi("3, Tesla T4, rev 2, 5, 10, 15109, 27.1, 40\r\n\n", g, 4), 1);
    assert_string_equal(g[0].name, "Tesla T4, rev 2");
    assert_true(g[0].mem_total == 15109.0 * 1048576 && g[0].temp_c == 40);
    assert_int_equal(obs_parse_nvidia_smi("", g, 4), 0);
    assert_int_equal(obs_parse_nvidia_smi("NVIDIA-SMI has failed\n", g, 4), -1);
    assert_int_equal(obs_parse_nvidia_smi("0, x, 1, 2, 3, 4, five\n", g, 4), -1);
    /* more GPUs than room: the first max */
    assert_int_equal(obs_parse_nvidia_smi(fixture("observe/nvidia-smi.csv"), g, 2), 2);
}

struct collect {
    char names[64][128];
    double values[64];
    int n;
};

static int collect(void *ud, const struct obs_prom_sample *s)
{
    struct collect *c = ud;
    if (c->n < 64) {
        snprintf(c->names[c->n], sizeof c->names[0], "%.*s{%.*s}", (int)s->name_len, s->name,
                 (int)s->labels_len, s->labels);
        c->values[c->n++] = s->value;
    }
    return 0;
}

static void test_prom_text(void **state)
{
    (void)state;
    static struct collect c;
    const char *t = "# HELP x help\n# TYPE x gauge\nx 1\n  y{a=\"1\",b=\"q\\\"}z\\\\\"} 2.5e3 1700000000\n"
                    "z{} NaN\nw -Inf\r\nnot a sample\nbad{a=\"1\" 3\n\n# EOF\n";
    memset(&c, 0, sizeof c);
    assert_int_equal(obs_prom_parse(t, strlen(t), collect, &c), 2);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.names[0], "x{}");
    assert_true(c.values[0] == 1);
    assert_string_equal(c.names[1], "y{a=\"1\",b=\"q\\\"}z\\\\\"}");
    assert_true(c.values[1] == 2500);
    assert_true(isnan(c.values[2]));
    assert_true(isinf(c.values[3]) && c.values[3] < 0);
    /* label values, unescaped */
    const char *lab = "a=\"1\",b=\"q\\\"}z\\\\\"";
    struct obs_prom_sample s = { "y", 1, lab, strlen(lab), 0 };
    char v[32];
    assert_int_equal(obs_prom_label(&s, "b", v, sizeof v), 0);
    assert_string_equal(v, "q\"}z\\");
    assert_int_equal(obs_prom_label(&s, "a", v, sizeof v), 0);
    assert_string_equal(v, "1");
    assert_int_equal(obs_prom_label(&s, "c", v, sizeof v), -1);
}

static void test_servers(void **state)
{
    (void)state;
    struct obs_srv_metrics m;
    static struct collect other;
    const char *t = fixture("observe/vllm-metrics.txt");
    memset(&other, 0, sizeof other);
    obs_srv_parse(t, strlen(t), &m, collect, &other);
    assert_int_equal(m.kind, OBS_SRV_VLLM);
    assert_string_equal(obs_srv_kind_name(m.kind), "vllm");
    assert_true(m.v[OBS_SF_RUNNING] == 14 && m.v[OBS_SF_WAITING] == 3);
    assert_true(m.v[OBS_SF_KV_USAGE] == 0.4171875);
    assert_true(m.v[OBS_SF_PROMPT_TOKENS] == 184320 && m.v[OBS_SF_GEN_TOKENS] == 73728);
    assert_true(m.v[OBS_SF_PREFIX_QUERIES] == 182944 && m.v[OBS_SF_PREFIX_HITS] == 91232);
    assert_true(m.v[OBS_SF_PREEMPTIONS] == 2);
    assert_true(m.v[OBS_SF_REQUESTS] == 360);          /* stop + length + abort */
    assert_true(isnan(m.v[OBS_SF_KV_TOKENS]));
    assert_int_equal(m.malformed, 0);
    assert_int_equal(m.known, 11);
    assert_int_equal(m.other, (size_t)other.n);
    assert_string_equal(other.names[0], "python_gc_objects_collected_total{generation=\"0\"}");

    t = fixture("llama-server-b4748/metrics.txt");
    obs_srv_parse(t, strlen(t), &m, NULL, NULL);
    assert_int_equal(m.kind, OBS_SRV_LLAMACPP);
    assert_string_equal(obs_srv_kind_name(m.kind), "llama.cpp");
    assert_true(m.v[OBS_SF_RUNNING] == 0 && m.v[OBS_SF_WAITING] == 0);
    assert_true(m.v[OBS_SF_KV_USAGE] == 0.22522 && m.v[OBS_SF_KV_TOKENS] == 3690);
    assert_true(m.v[OBS_SF_PROMPT_TOKENS] == 2484 && m.v[OBS_SF_GEN_TOKENS] == 7366);
    assert_true(isnan(m.v[OBS_SF_PREFIX_HITS]));

    t = fixture("observe/tgi-metrics.txt");
    obs_srv_parse(t, strlen(t), &m, NULL, NULL);
    assert_int_equal(m.kind, OBS_SRV_TGI);
    assert_true(m.v[OBS_SF_RUNNING] == 32 && m.v[OBS_SF_WAITING] == 5);
    assert_true(m.v[OBS_SF_PROMPT_TOKENS] == 412870 && m.v[OBS_SF_GEN_TOKENS] == 389120);
    assert_true(m.v[OBS_SF_REQUESTS] == 1519);
    assert_true(isnan(m.v[OBS_SF_KV_USAGE]));

    t = fixture("observe/sglang-metrics.txt");
    obs_srv_parse(t, strlen(t), &m, NULL, NULL);
    assert_int_equal(m.kind, OBS_SRV_SGLANG);
    assert_true(m.v[OBS_SF_RUNNING] == 28 && m.v[OBS_SF_WAITING] == 11);
    assert_true(m.v[OBS_SF_KV_USAGE] == 0.28 && m.v[OBS_SF_KV_TOKENS] == 123859);
    assert_true(m.v[OBS_SF_PREFIX_HIT_RATE] == 0.007507552643049313);
    assert_true(m.v[OBS_SF_PROMPT_TOKENS] == 8128902 && m.v[OBS_SF_GEN_TOKENS] == 7557572);

    /* a server llmload does not know */
    t = "# TYPE up gauge\nup 1\n";
    obs_srv_parse(t, strlen(t), &m, NULL, NULL);
    assert_int_equal(m.kind, OBS_SRV_UNKNOWN);
    assert_int_equal(m.other, 1);
}

static void test_counter_delta(void **state)
{
    (void)state;
    struct obs_counter_delta d = { 0 };
    obs_counter_add(&d, NAN);
    assert_false(d.seen);
    obs_counter_add(&d, 1000);      /* since the server started: not this run's */
    obs_counter_add(&d, 1100);
    obs_counter_add(&d, 1250);
    assert_true(d.grown == 250);
    obs_counter_add(&d, 40);        /* the server restarted */
    obs_counter_add(&d, 60);
    assert_true(d.grown == 250 + 40 + 20);
    assert_true(d.first == 1000 && d.last == 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pid_stat),
        cmocka_unit_test(test_system_files),
        cmocka_unit_test(test_net_listen),
        cmocka_unit_test(test_readers),
        cmocka_unit_test(test_nvidia_smi),
        cmocka_unit_test(test_prom_text),
        cmocka_unit_test(test_servers),
        cmocka_unit_test(test_counter_delta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
