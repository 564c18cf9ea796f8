/* Option handling: units (units.c), the run flags (cli_run.c), which sweep
 * and compare share, and every command's generated --help.  Every error is
 * one line naming the flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_run.h"
#include "cmd_sweep.h"
#include "gate.h"
#include "units.h"

static void test_durations(void **state)
{
    (void)state;
    static const struct { const char *s; uint64_t ns; } ok[] = {
        { "30s", 30000000000ull }, { "500ms", 500000000ull }, { "250us", 250000ull },
        { "100ns", 100ull }, { "2m", 120000000000ull }, { "1h", 3600000000000ull },
        { "1.5s", 1500000000ull }, { "2", 2000000000ull }, { "0", 0 }, { "0.001ms", 1000ull },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t ns = 7;
        assert_int_equal(units_parse_duration(ok[i].s, &ns), 0);
        assert_true(ns == ok[i].ns);
    }
    static const char *bad[] = { "", "s", "-1s", "5 s", " 5s", "5sec", "1e30h", "nan", "inf", "5x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ns;
        assert_int_equal(units_parse_duration(bad[i], &ns), -1);
    }
}

static void test_counts_and_fractions(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(units_parse_count("1k", &v), 0);
    assert_true(v == 1000);
    assert_int_equal(units_parse_count("2M", &v), 0);
    assert_true(v == 2000000);
    assert_int_equal(units_parse_count("1.5k", &v), 0);
    assert_true(v == 1500);
    assert_int_equal(units_parse_count("1.5", &v), -1);   /* not whole */
    assert_int_equal(units_parse_count("-3", &v), -1);
    assert_int_equal(units_parse_count("3q", &v), -1);
    double d;
    assert_int_equal(units_parse_fraction("5%", &d), 0);
    assert_true(fabs(d - 0.05) < 1e-12);
    assert_int_equal(units_parse_fraction("0.1", &d), 0);
    assert_true(fabs(d - 0.1) < 1e-12);
    assert_int_equal(units_parse_fraction("5%%", &d), -1);
    assert_int_equal(units_parse_double("1e3", &d), 0);
    assert_true(d == 1000);
    assert_int_equal(units_parse_double("1e999", &d), -1);
}

static void test_human_units(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(units_fmt_seconds(0.000000250, b, sizeof b), "250 ns");
    assert_string_equal(units_fmt_seconds(0.0000123, b, sizeof b), "12.3 us");
    assert_string_equal(units_fmt_seconds(0.0123, b, sizeof b), "12.3 ms");
    assert_string_equal(units_fmt_seconds(0.250, b, sizeof b), "250 ms");
    assert_string_equal(units_fmt_seconds(1.5, b, sizeof b), "1.50 s");
    assert_string_equal(units_fmt_seconds(125, b, sizeof b), "2m 05s");
    assert_string_equal(units_fmt_seconds(NAN, b, sizeof b), "-");
    /* An absurd value (found by fuzz_gate_expr: `p95(ttft) <= 2e26`) is
     * printed, not converted to an int. */
    assert_string_equal(units_fmt_seconds(2.2e26, b, sizeof b), "2.2e+26 s");
    assert_string_equal(units_fmt_seconds(INFINITY, b, sizeof b), "inf s");
    assert_string_equal(units_fmt_si(12345, b, sizeof b), "12.3 k");
    assert_string_equal(units_fmt_si(2500000, b, sizeof b), "2.50 M");
}

/* argv from a space-separated line; argv[0] is "run". */
static int split(const char *cmd, const char *line, char ***argvp)
{
    static char buf[1024];
    static char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s %s", cmd, line);
    for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    *argvp = argv;
    return argc;
}

static int parse(struct run_cli *rc, const char *line, char *err, size_t cap)
{
    char **argv;
    int argc = split("run", line, &argv);
    struct gate_opts g;
    gate_opts_init(&g);
    int r = cmd_run_parse(rc, &g, argc, argv, err, cap);
    gate_opts_free(&g);
    return r;
}

static void test_run_defaults(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    assert_int_equal(parse(&rc, "", err, sizeof err), 0);
    const struct run_config *c = &rc.cfg;
    assert_int_equal(c->concurrency, 32);
    assert_true(c->requests == 100);
    assert_true(c->max_tokens == 128);
    assert_true(c->stream);
    assert_int_equal(c->api, API_AUTO);
    assert_string_equal(c->prompt, "Say 'hello, world!' in Korean.");
    assert_true(isnan(c->temperature));
    assert_true(c->rate == 0);
    assert_true(c->connect_timeout_ns == 10000000000ull);
    assert_string_equal(c->url, "");
}

static void test_run_forms_and_aliases(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    assert_int_equal(parse(&rc, "--host http://h:1/v1 -m llama -c8 -n=5 --tokens 64 "
                                "--temperature=0.7 --no-stream --api openai-chat", err, sizeof err), -1);
    /* -n=5 is not a form: short flags take "-n5" or "-n 5". */
    assert_non_null(strstr(err, "-n"));
    assert_int_equal(parse(&rc, "--host http://h:1/v1 -m llama -c8 -n 5 --tokens 64 "
                                "--temperature=0.7 --no-stream --api openai-chat", err, sizeof err), 0);
    assert_string_equal(rc.cfg.url, "http://h:1/v1");
    assert_string_equal(rc.cfg.model, "llama");
    assert_int_equal(rc.cfg.concurrency, 8);
    assert_true(rc.cfg.requests == 5);
    assert_true(rc.cfg.max_tokens == 64);
    assert_true(fabs(rc.cfg.temperature - 0.7) < 1e-12);
    assert_false(rc.cfg.stream);
    assert_int_equal(rc.cfg.api, API_OPENAI_CHAT);
    assert_int_equal(parse(&rc, "--base-url http://x:2", err, sizeof err), 0);
    assert_string_equal(rc.cfg.url, "http://x:2");
    /* The workload's flags go through the same parser. */
    assert_int_equal(parse(&rc, "--prompt hi --no-nonce --system sys", err, sizeof err), 0);
    assert_string_equal(rc.cfg.prompt, "hi");
    assert_string_equal(rc.cfg.system, "sys");
    assert_int_equal(rc.wopts.nonce, 0);
}

/* The flags of the scripts llmload replaces (docs/cli.md, "Coming from
 * other tools"): ollama_tps_openai.py's --base-url, --requests-per-thread
 * with -c as its threads and --force-tiktoken; run.py's --host, --tokens
 * and --csv; vllm bench serve's --host H --port P. */
static void test_run_script_flags(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    assert_int_equal(parse(&rc, "-c 16 --requests-per-thread 10 --base-url http://h:11434/v1 "
                                "--max-tokens 64 --force-tiktoken --tokenizer t.tiktoken", err, sizeof err), 0);
    assert_int_equal(rc.cfg.concurrency, 16);
    assert_true(rc.cfg.requests == 160);
    assert_string_equal(rc.cfg.url, "http://h:11434/v1");
    assert_int_equal(rc.wopts.force_tokenizer, 1);
    /* The order of -c and --requests-per-thread does not matter. */
    assert_int_equal(parse(&rc, "--requests-per-thread 3 -c 4", err, sizeof err), 0);
    assert_true(rc.cfg.requests == 12);
    assert_int_equal(parse(&rc, "--requests-per-thread=5", err, sizeof err), 0);
    assert_true(rc.cfg.requests == 5 * 32);
    /* With -d it bounds the run like -n does. */
    assert_int_equal(parse(&rc, "--requests-per-thread 2 -c 3 -d 10s", err, sizeof err), 0);
    assert_true(rc.cfg.requests == 6);
    assert_int_equal(parse(&rc, "-n 10 --requests-per-thread 2", err, sizeof err), -1);
    assert_string_equal(err, "-n and --requests-per-thread: give one of them");
    assert_int_equal(parse(&rc, "--requests-per-thread 0", err, sizeof err), -1);
    assert_non_null(strstr(err, "--requests-per-thread 0"));

    assert_int_equal(parse(&rc, "--host http://127.0.0.1:11434 --tokens 256 --csv r.csv -m m",
                           err, sizeof err), 0);
    assert_string_equal(rc.cfg.url, "http://127.0.0.1:11434");
    assert_true(rc.cfg.max_tokens == 256);

    /* --port completes a URL without one; alone it names 127.0.0.1. */
    static const struct { const char *line, *url; } port[] = {
        { "--host localhost --port 8000", "localhost:8000" },
        { "--port 8000 --host 10.0.0.1", "10.0.0.1:8000" },
        { "--base-url http://h/v1 --port 8001", "http://h:8001/v1" },
        { "--url http://[::1]/v1 --port 9", "http://[::1]:9/v1" },
        { "--port 8000", "http://127.0.0.1:8000" },
    };
    for (size_t i = 0; i < sizeof port / sizeof port[0]; i++) {
        assert_int_equal(parse(&rc, port[i].line, err, sizeof err), 0);
        assert_string_equal(rc.cfg.url, port[i].url);
    }
    assert_int_equal(parse(&rc, "--url http://h:1/v1 --port 2", err, sizeof err), -1);
    assert_string_equal(err, "--port 2: the URL http://h:1/v1 has a port already");
    assert_int_equal(parse(&rc, "--port 70000", err, sizeof err), -1);
    assert_non_null(strstr(err, "--port 70000"));

}

static void test_run_load_shapes(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    /* -d alone is time-bound; with -n both apply. */
    assert_int_equal(parse(&rc, "-d 2m", err, sizeof err), 0);
    assert_true(rc.cfg.duration_ns == 120000000000ull);
    assert_true(rc.cfg.requests == 0);
    assert_int_equal(parse(&rc, "-d 10s -n 50", err, sizeof err), 0);
    assert_true(rc.cfg.requests == 50);
    assert_int_equal(parse(&rc, "--warmup 10", err, sizeof err), 0);
    assert_true(rc.cfg.warmup_requests == 10 && rc.cfg.warmup_ns == 0);
    assert_int_equal(parse(&rc, "--warmup 30s", err, sizeof err), 0);
    assert_true(rc.cfg.warmup_requests == 0 && rc.cfg.warmup_ns == 30000000000ull);
    assert_int_equal(parse(&rc, "--rate 4 --arrival gamma --burstiness 0.5 --seed 9", err, sizeof err), 0);
    assert_true(rc.cfg.rate == 4 && rc.cfg.arrival == ARRIVAL_GAMMA && rc.cfg.burstiness == 0.5);
    /* --seed seeds the schedule and the workload; the server gets
     * --sampling-seed only. */
    assert_true(rc.cfg.seed == 9 && rc.cfg.seed_given && rc.cfg.sampling_seed == -1);
    assert_int_equal(parse(&rc, "--sampling-seed 7", err, sizeof err), 0);
    assert_true(rc.cfg.sampling_seed == 7 && !rc.cfg.seed_given && rc.cfg.seed <= CONFIG_SEED_MAX);
    assert_int_equal(parse(&rc, "--stop-on-error-rate 10%", err, sizeof err), 0);
    assert_true(fabs(rc.cfg.stop_error_rate - 0.1) < 1e-12);
    assert_int_equal(parse(&rc, "--ttft-timeout 500ms --idle-timeout 2s --timeout 5m --grace 0",
                           err, sizeof err), 0);
    assert_true(rc.cfg.ttft_timeout_ns == 500000000ull && rc.cfg.idle_timeout_ns == 2000000000ull);
    assert_true(rc.cfg.request_timeout_ns == 300000000000ull && rc.cfg.grace_ns == 0);
}

static void test_run_errors_name_the_flag(void **state)
{
    (void)state;
    static const struct { const char *line, *word; } bad[] = {
        { "-c 0", "-c" }, { "-c lots", "-c" }, { "--duration 5parsecs", "--duration" },
        { "--api grpc", "--api" }, { "--bogus", "--bogus" }, { "--temperature", "--temperature" },
        { "--no-stream=yes", "--no-stream" }, { "-n 0", "-n 0" }, { "--rate -1", "--rate" },
        { "--arrival gamma", "--arrival" }, { "--burstiness 2 --rate 1", "--burstiness" },
        { "--stop-on-error-rate 2", "--stop-on-error-rate" }, { "stray", "stray" },
        { "--output-tokens x", "--output-tokens" }, { "--turns 0", "--turns" },
        { "--concurency 4", "did you mean --concurrency?" }, { "-c", "-c needs a value (N)" },
        { "--assert", "--assert needs a value (EXPR)" }, { "--repeat 0", "--repeat: '0'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run_cli rc;
        char err[512] = "";
        assert_int_equal(parse(&rc, bad[i].line, err, sizeof err), -1);
        if (!strstr(err, bad[i].word))
            fail_msg("'%s' gave '%s', which does not name '%s'", bad[i].line, err, bad[i].word);
        assert_null(strchr(err, '\n'));
    }
}

static void test_model_required_with_url(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    assert_int_equal(parse(&rc, "--url http://h:1/v1", err, sizeof err), 0);
    assert_int_equal(cli_run_validate(&rc, err, sizeof err), -1);
    assert_non_null(strstr(err, "--model"));
    assert_int_equal(parse(&rc, "", err, sizeof err), 0);   /* the simulator needs none */
    assert_int_equal(cli_run_validate(&rc, err, sizeof err), 0);
}

static void test_run_repeated_flags(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    /* The last value wins; --mock-arg adds one each time. */
    assert_int_equal(parse(&rc, "-c 2 --concurrency=3 -c4 --mock-arg=--slots=4 --mock-arg --seed=2",
                           err, sizeof err), 0);
    assert_int_equal(rc.cfg.concurrency, 4);
    assert_int_equal(rc.nmock, 2);
    assert_string_equal(rc.mock_args[0], "--slots=4");
    assert_string_equal(rc.mock_args[1], "--seed=2");
    assert_int_equal(parse(&rc, "--quiet --help --bogus", err, sizeof err), OPT_HELP);
}

/* Runs sweep_opts_parse on a line; returns its result, err set. */
static int sweep_parse(int compare, const char *line, struct sweep_opts *o, struct run_cli *rc,
                       char *err, size_t cap)
{
    char **argv;
    int argc = split(compare ? "compare" : "sweep", line, &argv);
    return sweep_opts_parse(o, rc, argc, argv, compare, err, cap);
}

/* A value that would silently become 0 (off, or nothing sent) is refused
 * with the smallest allowed or the limit it breaks (#11.10). */
static void test_no_silent_zero(void **state)
{
    (void)state;
    struct run_cli rc;
    char err[512];
    static const char *small[] = { "--timeout 1e-10", "--ttft-timeout 1e-10", "--idle-timeout 500us",
                                   "--connect-timeout 0.0001", "--grace 1ns" };
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        assert_int_equal(parse(&rc, small[i], err, sizeof err), OPT_ERROR);
        if (!strstr(err, "at least 1ms") || strncmp(err, small[i], strcspn(small[i], " ")))
            fail_msg("'%s' gave '%s'", small[i], err);
    }
    assert_int_equal(parse(&rc, "--timeout 0 --ttft-timeout 0s --grace 1ms", err, sizeof err), OPT_OK);
    assert_true(rc.cfg.request_timeout_ns == 0 && rc.cfg.ttft_timeout_ns == 0);
    assert_true(rc.cfg.grace_ns == 1000000);

    assert_int_equal(parse(&rc, "--rate 1e-11 -n 2", err, sizeof err), OPT_ERROR);
    assert_non_null(strstr(err, "--rate 1e-11: 2 requests at this rate take 2e+11 s"));
    assert_int_equal(parse(&rc, "--rate 0.01 -d 10s", err, sizeof err), OPT_ERROR);
    assert_non_null(strstr(err, "about 0.1 arrivals are expected within --duration 10 s"));
    /* The ramp-up halves what it covers. */
    assert_int_equal(parse(&rc, "--rate 0.15 -d 10s --ramp-up 10s", err, sizeof err), OPT_ERROR);
    assert_int_equal(parse(&rc, "--rate 0.3 -d 10s --ramp-up 10s", err, sizeof err), OPT_OK);
    /* Slow but possible: one a minute for 10 requests; -d bounds -n. */
    assert_int_equal(parse(&rc, "--rate 0.0167 -n 10", err, sizeof err), OPT_OK);
    assert_int_equal(parse(&rc, "--rate 1e-6 -n 1000 -d 720h", err, sizeof err), OPT_OK);
    assert_int_equal(parse(&rc, "--rate 1e-5 -n 1000000 -d 2h", err, sizeof err), OPT_ERROR);
    assert_int_equal(parse(&rc, "--rate 1 -n 1000000 -d 2h", err, sizeof err), OPT_OK);

    struct sweep_opts o;
    assert_int_equal(sweep_parse(0, "--rate 0.001,1 -d 60s", &o, &rc, err, sizeof err), OPT_ERROR);
    assert_non_null(strstr(err, "--rate 0.001: about 0.06 arrivals"));
    sweep_cmd_free(&o, &rc);
}

static void test_sweep_flags(void **state)
{
    (void)state;
    struct sweep_opts o;
    struct run_cli rc;
    char err[1024];
    /* A list is the swept parameter; one number stays the run's. */
    assert_int_equal(sweep_parse(0, "--rate 1,2,4 -c 8 --arrival constant --json s.json", &o, &rc,
                                 err, sizeof err), OPT_OK);
    assert_int_equal(o.param, SWEEP_RATE);
    assert_int_equal(o.nlevels, 3);
    assert_int_equal(rc.cfg.concurrency, 8);
    assert_string_equal(o.json_path, "s.json");
    assert_null(rc.cfg.json_path);
    sweep_cmd_free(&o, &rc);
    /* A sweep's -c is a list of levels: it refuses --requests-per-thread. */
    assert_int_equal(sweep_parse(0, "-c 1,2 --requests-per-thread 2", &o, &rc, err, sizeof err),
                     OPT_ERROR);
    assert_string_equal(err, "--requests-per-thread is not a flag of llmload sweep (a sweep's -c is "
                             "a list of levels: give -n)");
    assert_int_equal(sweep_parse(0, "-c 6 --tokens 64 --warmup 0", &o, &rc, err, sizeof err), OPT_OK);
    assert_int_equal(o.param, SWEEP_CONCURRENCY);
    assert_int_equal(o.nlevels, 1);
    assert_true(o.levels[0] == 6);
    assert_true(rc.cfg.max_tokens == 64);
    assert_int_equal(o.warmup_given, 1);
    sweep_cmd_free(&o, &rc);
    static const struct { int compare; const char *line, *msg; } bad[] = {
        { 0, "--raw r.jsonl", "--raw is not a flag of llmload sweep (use llmload run for per-request files)" },
        { 1, "--baseline b.json", "--baseline is not a flag of llmload compare (a sweep has many levels; "
                                  "baselines are for llmload run)" },
        { 0, "-c 1,2 --max-tokens 5,6", "--max-tokens 5,6: only one parameter can be swept (--concurrency already has a list)" },
        { 0, "--target a=http://h:1", "unknown flag '--target' (see llmload sweep --help)" },
        { 0, "results.json", "unexpected argument 'results.json' (llmload sweep takes only flags; see --help)" },
        { 1, "a.json", "one result file: give at least two to compare" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sweep_parse(bad[i].compare, bad[i].line, &o, &rc, err, sizeof err), OPT_ERROR);
        if (strcmp(err, bad[i].msg))
            fail_msg("'%s' gave '%s', not '%s'", bad[i].line, err, bad[i].msg);
        sweep_cmd_free(&o, &rc);
    }
    /* compare: result files anywhere among the flags. */
    assert_int_equal(sweep_parse(1, "a.json --knee-threshold 5% b.json", &o, &rc, err, sizeof err), OPT_OK);
    assert_int_equal(o.nfiles, 2);
    assert_string_equal(o.files[1], "b.json");
    sweep_cmd_free(&o, &rc);
}

static char *help_of(const struct opt_cmd *cmd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    opt_help(f, cmd);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* How many times spelling stands in the left column of help (the lines
 * that start with "  -": flags and their long aliases). */
static int left_count(const char *help, const char *spelling)
{
    int n = 0;
    for (const char *l = help; *l; ) {
        size_t len = strcspn(l, "\n");
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)len, l);
        l += len + (l[len] == '\n');
        if (strncmp(line, "  -", 3))
            continue;
        char *gap = strstr(line + 2, "  ");     /* the help text starts after it */
        if (gap)
            *gap = '\0';
        char *save;
        for (char *t = strtok_r(line + 2, " ,", &save); t; t = strtok_r(NULL, " ,", &save))
            n += !strcmp(t, spelling);
    }
    return n;
}

/* Every command's --help, generated from its tables: each flag it accepts
 * is there exactly once with all its spellings, each spelling parses to
 * the entry shown, and nothing else is listed. */
/* The built-in flags reach every command: none can shadow or miss them. */
static void test_builtins_every_command(void **state)
{
    (void)state;
    for (const struct cli_command *c = cli_commands; c->spec; c++) {
        const struct opt_cmd *cmd = c->spec;
        for (size_t i = 0; opt_builtin_entries[i]; i++)
            if (opt_lookup(cmd, opt_builtin_entries[i]->name, NULL) != opt_builtin_entries[i])
                fail_msg("llmload %s does not take %s", cmd->name, opt_builtin_entries[i]->name);
        char *argv[] = { (char *)cmd->name, (char *)"--version", NULL };
        char err[256];
        /* Each command's handlers never run for --version: no user data needed. */
        void *ud[16] = { NULL };
        assert_int_equal(opt_parse(cmd, ud, 2, argv, 1, NULL, NULL, err, sizeof err), OPT_VERSION);
        assert_int_equal(cli_parse_result(cmd, OPT_VERSION, ""), EXIT_OK);
    }
}

static void test_generated_help_every_command(void **state)
{
    (void)state;
    int ncmd = 0;
    for (const struct cli_command *c = cli_commands; c->spec; c++, ncmd++) {
        const struct opt_cmd *cmd = c->spec;
        assert_ptr_equal(cli_command_find(cmd->name), c);
        char *h = help_of(cmd);
        size_t spellings = 0;
        struct opt_iter it = { 0 };
        for (const struct opt *o; (o = opt_next(cmd, &it)); ) {
            for (size_t i = 0; o->name && i <= OPT_ALIASES; i++) {
                const char *sp = i ? o->alias[i - 1] : o->name;
                if (!sp)
                    continue;
                spellings++;
                if (left_count(h, sp) != 1)
                    fail_msg("llmload %s --help lists %s %d times", cmd->name, sp, left_count(h, sp));
                assert_ptr_equal(opt_lookup(cmd, sp, NULL), o);
            }
        }
        /* Every flag-looking word of the left column is one of them. */
        size_t words = 0;
        for (const char *l = h; (l = strstr(l, "\n  -")); l++)
            words++;
        assert_true(words <= spellings);
        for (size_t k = 0; cmd->tables[k]; k++)
            for (size_t e = 0; e < cmd->tables[k]->n; e++) {
                const struct opt *o = &cmd->tables[k]->opts[e];
                if (o->name && opt_lookup(cmd, o->name, NULL))
                    assert_int_equal(left_count(h, o->name), 1);
            }
        free(h);
    }
    assert_int_equal(ncmd, 10);
}

/* sweep --help used to list --json and --csv twice, with the run's meaning
 * too; a command's table now owns the flags it redefines. */
static void test_sweep_help_own_meaning(void **state)
{
    (void)state;
    char *h = help_of(&cli_sweep_cmd);
    assert_non_null(strstr(h, "--json FILE                the sweep document"));
    assert_null(strstr(h, "write the result document"));
    assert_null(strstr(h, "one row per request"));
    assert_null(strstr(h, "--raw"));
    assert_null(strstr(h, "--baseline"));
    assert_non_null(strstr(h, "-c, --concurrency LIST"));
    assert_null(strstr(h, "-c, --concurrency N"));
    assert_non_null(strstr(h, "--assert EXPR"));
    assert_non_null(strstr(h, "--prompt-set LIST"));
    free(h);
    h = help_of(&cli_compare_cmd);
    assert_non_null(strstr(h, "--json FILE                the compare document"));
    assert_null(strstr(h, "the sweep document"));
    assert_non_null(strstr(h, "--target NAME=URL"));
    free(h);
    h = help_of(&cli_run_cmd);
    assert_non_null(strstr(h, "--json FILE                write the result document"));
    assert_non_null(strstr(h, "\n  --host, --base-url         aliases of --url\n"));
    free(h);
}

/* A small result document: streamed ttft/itl, a non-streamed-style empty
 * tpot (no samples: nulls), and counts. */
static const char result_doc[] =
    "{\"schema\":\"llmload.result/1\","
    "\"config\":{\"model\":\"m1\",\"api\":\"openai-chat\",\"concurrency\":8,\"rate\":0,\"burstiness\":1,"
    "\"max_tokens\":64},"
    "\"environment\":{\"start_time\":\"2026-01-31T12:34:56.789Z\",\"run_id\":\"r,1\"},"
    "\"summary\":{\"requests\":10,\"ok\":9,\"failed\":1,\"error_rate\":0.1,\"duration_s\":2,"
    "\"rps\":4.5,\"output_tps\":100,\"input_tokens\":300,\"output_tokens\":200,"
    "\"ttft\":{\"n\":4,\"min\":0.01,\"mean\":0.02,\"p50\":0.015,\"p90\":0.03,\"p95\":0.035,\"p99\":0.04,"
    "\"max\":0.04,\"stdev\":0.002},"
    "\"tpot\":{\"n\":0,\"min\":null,\"mean\":null,\"p50\":null,\"p90\":null,\"p95\":null,\"p99\":null,"
    "\"max\":null,\"stdev\":null},"
    "\"itl\":{\"n\":1,\"min\":0.005,\"mean\":0.005,\"p50\":0.005,\"p90\":0.005,\"p95\":0.005,\"p99\":0.005,"
    "\"max\":0.005,\"stdev\":0}}}";

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        fail_msg("%s is not a number", k);
    return v->valuedouble;
}

static void test_export_vllm(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(result_doc), *v = export_vllm_doc(doc);
    assert_non_null(v);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(v, "model_id")->valuestring, "m1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(v, "date")->valuestring, "20260131-123456");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(v, "request_rate")->valuestring, "inf");
    assert_true(num(v, "max_concurrency") == 8 && num(v, "num_prompts") == 10);
    assert_true(num(v, "completed") == 9 && num(v, "failed") == 1 && num(v, "duration") == 2);
    assert_true(num(v, "total_input_tokens") == 300 && num(v, "total_output_tokens") == 200);
    assert_true(num(v, "request_throughput") == 4.5 && num(v, "output_throughput") == 100);
    assert_true(num(v, "total_token_throughput") == 250);     /* (300 + 200) / 2 s */
    /* Seconds become milliseconds; median is p50. */
    assert_true(fabs(num(v, "mean_ttft_ms") - 20) < 1e-9);
    assert_true(fabs(num(v, "median_ttft_ms") - 15) < 1e-9);
    assert_true(fabs(num(v, "p50_ttft_ms") - 15) < 1e-9);
    assert_true(fabs(num(v, "p90_ttft_ms") - 30) < 1e-9);
    assert_true(fabs(num(v, "p95_ttft_ms") - 35) < 1e-9);
    assert_true(fabs(num(v, "p99_ttft_ms") - 40) < 1e-9);
    /* numpy's population std: 2 ms * sqrt(3/4). */
    assert_true(fabs(num(v, "std_ttft_ms") - 2 * sqrt(0.75)) < 1e-9);
    assert_true(fabs(num(v, "mean_itl_ms") - 5) < 1e-9);
    assert_true(num(v, "std_itl_ms") == 0);
    /* No samples, no value: null, never 0.  E2E absent altogether: null. */
    static const char *const nulls[] = { "mean_tpot_ms", "median_tpot_ms", "std_tpot_ms", "p99_tpot_ms",
                                         "mean_e2el_ms", "p99_e2el_ms", "request_goodput", "tokenizer_id" };
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, nulls[i])))
            fail_msg("%s is not null", nulls[i]);
    cJSON_Delete(v);
    /* An open loop has its rate. */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItemCaseSensitive(doc, "config"), "rate", cJSON_CreateNumber(2.5));
    v = export_vllm_doc(doc);
    assert_true(num(v, "request_rate") == 2.5);
    cJSON_Delete(v);
    cJSON_Delete(doc);
}

static void test_export_csv_summary(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(result_doc);
    const cJSON *docs[] = { doc, doc };
    const char *names[] = { "a.json", "b.json" };
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(export_csv_summary(f, docs, names, 2, err, sizeof err), 0);
    fclose(f);
    char *line2 = strchr(buf, '\n') + 1;
    assert_true(!strncmp(buf, "file,run_id,start_time,model,api,concurrency,", 45));
    assert_non_null(strstr(buf, ",ttft_mean_ms,ttft_p50_ms,"));
    assert_true(!strncmp(line2, "a.json,\"r,1\",2026-01-31T12:34:56.789Z,m1,openai-chat,8,0,64,10,9,1,0.1,2,"
                                "4.5,100,300,200,20,15,30,35,40,,,,,,5,5,5,5,5,,,,,\n", 103));
    assert_non_null(strstr(line2, "\nb.json,"));
    free(buf);
    /* A document of another kind is refused, by its name. */
    cJSON *other = cJSON_Parse("{\"schema\":\"llmload.sweep/1\"}");
    docs[1] = other;
    f = open_memstream(&buf, &len);
    assert_int_equal(export_csv_summary(f, docs, names, 2, err, sizeof err), -1);
    fclose(f);
    free(buf);
    assert_string_equal(err, "b.json: not a result document of llmload run (schema llmload.result/1)");
    cJSON_Delete(other);
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_counts_and_fractions),
        cmocka_unit_test(test_human_units),
        cmocka_unit_test(test_run_defaults),
        cmocka_unit_test(test_run_forms_and_aliases),
        cmocka_unit_test(test_run_script_flags),
        cmocka_unit_test(test_run_load_shapes),
        cmocka_unit_test(test_run_errors_name_the_flag),
        cmocka_unit_test(test_model_required_with_url),
        cmocka_unit_test(test_run_repeated_flags),
        cmocka_unit_test(test_no_silent_zero),
        cmocka_unit_test(test_sweep_flags),
        cmocka_unit_test(test_builtins_every_command),
        cmocka_unit_test(test_generated_help_every_command),
        cmocka_unit_test(test_sweep_help_own_meaning),
        cmocka_unit_test(test_export_vllm),
        cmocka_unit_test(test_export_csv_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
