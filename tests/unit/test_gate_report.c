/* Unit tests for gate_evaluate and its outputs (src/gate.c, src/gate_report.c)
 * on literal result documents: console lines, exit codes, noise, baselines,
 * JUnit XML (validated with xmllint) and the Markdown table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitcode.h"
#include "gate.h"
#include "baseline.h"
#include "gate_docs.h"

struct fixture {
    char dir[64];
    char old_cwd[4096];
};

/* Each test runs in a fresh temporary directory, so report paths are
 * short and stable ("base.json"), as the expected texts need. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || !getcwd(f->old_cwd, sizeof f->old_cwd))
        return -1;
    tmp_dir(f->dir, sizeof f->dir);
    if (chdir(f->dir) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[256];
    if (chdir(f->old_cwd) < 0)
        return -1;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Runs gate_evaluate with flags given as "--flag", "value" pairs (NULL
 * terminated); returns the exit code and the console text in *out. */
static int evaluate(cJSON **docs, size_t n, char **out, char *err, size_t errcap, ...)
{
    struct gate_opts g;
    va_list ap;
    const char *flag;
    char e[2048];
    gate_opts_init(&g);
    va_start(ap, errcap);
    while ((flag = va_arg(ap, const char *))) {
        const char *value = va_arg(ap, const char *);
        if (gate_opt(&g, flag, value, e, sizeof e) != 1)
            fail_msg("gate_opt %s %s: %s", flag, value ? value : "(null)", e);
    }
    va_end(ap);
    if (gate_check_files(&g, e, sizeof e) < 0)
        fail_msg("gate_check_files: %s", e);
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    assert_non_null(f);
    err[0] = '\0';
    int code = gate_evaluate(&g, docs, n, f, err, errcap);
    assert_int_equal(fclose(f), 0);
    gate_opts_free(&g);
    return code;
}

static void free_docs(cJSON **d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(d[i]);
}

static void save_base(const char *path, cJSON **d, size_t n)
{
    char err[512];
    if (baseline_save(path, d, n, err, sizeof err) < 0)
        fail_msg("%s", err);
}

static int xmllint_ok(const char *path)
{
    char cmd[512];
    if (system("command -v xmllint >/dev/null 2>&1") != 0)
        return -2;
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    int st = system(cmd);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay)
        fail_msg("expected to find '%s' in nothing", needle);
    else if (!strstr(hay, needle))
        fail_msg("expected to find\n  %s\nin\n%s", needle, hay);
}

static void test_assertions_one_run(void **state)
{
    (void)state;
    cJSON *d[1] = { doc_make(0.03, 1000, 0.02, 4, 98, 0) };
    char *out, err[1024];
    int code = evaluate(d, 1, &out, err, sizeof err,
                        "--assert", "p95(ttft) < 500ms", "--assert", "error_rate <= 1%",
                        "--assert", "output_tps >= 1k tok/s", "--assert", "p95(itl) < 1s", NULL);
    assert_int_equal(code, EXIT_CHECK);
    assert_string_equal(out,
        "\nchecks:\n"
        "  PASS  p95(ttft) < 500ms: measured 30.0 ms, limit < 500 ms\n"
        "  FAIL  error_rate <= 1%: measured 2.00%, limit <= 1.00%\n"
        "  PASS  output_tps >= 1k tok/s: measured 1000 tok/s, limit >= 1000 tok/s\n"
        "  FAIL  p95(itl) < 1s: no value measured (no samples), limit < 1.00 s\n"
        "\ngate: FAIL, 2 of 4 checks failed\n");
    free(out);
    code = evaluate(d, 1, &out, err, sizeof err, "--assert", "p95(ttft) < 500ms", NULL);
    assert_int_equal(code, EXIT_OK);
    assert_contains(out, "gate: PASS, 1 check passed");
    free(out);
    free_docs(d, 1);
}

static void test_assertions_repeat_median(void **state)
{
    (void)state;
    cJSON *d[5] = { doc_simple(0.031, 1000), doc_simple(0.029, 990), doc_simple(0.300, 1010),
                    doc_simple(0.030, 1005), doc_simple(0.032, 995) };
    char *out, err[1024];
    /* One outlier run (300 ms) does not decide: the median (31 ms) does. */
    int code = evaluate(d, 5, &out, err, sizeof err, "--repeat", "5",
                        "--assert", "p95(ttft) < 100ms", NULL);
    assert_int_equal(code, EXIT_OK);
    assert_contains(out, "checks (median of 5 runs, 95% bootstrap CI):\n");
    assert_contains(out, "  PASS  p95(ttft) < 100ms: measured 31.0 ms (95% CI ");
    assert_contains(out, "), limit < 100 ms\n");
    /* Reproducible: the same documents print the same interval. */
    char *out2;
    assert_int_equal(evaluate(d, 5, &out2, err, sizeof err, "--repeat", "5",
                              "--assert", "p95(ttft) < 100ms", NULL), EXIT_OK);
    assert_string_equal(out, out2);
    free(out);
    free(out2);
    free_docs(d, 5);
}

static void test_baseline_identical_passes(void **state)
{
    (void)state;
    cJSON *b[5] = { doc_simple(0.100, 1000), doc_simple(0.102, 1010), doc_simple(0.098, 990),
                    doc_simple(0.101, 1005), doc_simple(0.099, 995) };
    cJSON *c[5] = { doc_simple(0.101, 1003), doc_simple(0.099, 998), doc_simple(0.100, 1001),
                    doc_simple(0.098, 1008), doc_simple(0.102, 992) };
    char *out, err[1024];
    save_base("base.json", b, 5);
    int code = evaluate(c, 5, &out, err, sizeof err, "--baseline", "base.json", NULL);
    assert_int_equal(code, EXIT_OK);
    /* The default tolerances apply without --max-regression. */
    assert_contains(out, "\nbaseline base.json (5 runs):\n");
    assert_contains(out, "  PASS  p95(ttft): 100 ms vs baseline 100 ms: +0.0% (95% CI ");
    assert_contains(out, "over 5 vs 5 runs -2.3% .. +2.3%), tolerance +10.0%, probability of a regression "
                         "beyond it 0.0%\n");
    assert_contains(out, "  PASS  output_tps: 1001 tok/s vs baseline 1000 tok/s: +0.1% (95% CI ");
    assert_contains(out, "  PASS  error_rate: 0.00% vs baseline 0.00%: +0.00%");
    assert_contains(out, "over 5 vs 5 runs +0.00% .. +0.00%), tolerance +1.00%, probability");
    assert_contains(out, "  PASS  p95(tpot): ");
    assert_contains(out, "  PASS  p95(e2e): ");
    assert_contains(out, "gate: PASS, 5 checks passed");
    assert_null(strstr(out, "within noise"));
    free(out);
    free_docs(b, 5);
    free_docs(c, 5);
}

static void test_baseline_within_noise(void **state)
{
    (void)state;
    cJSON *b[5] = { doc_simple(0.100, 1000), doc_simple(0.102, 1000), doc_simple(0.098, 1000),
                    doc_simple(0.101, 1000), doc_simple(0.099, 1000) };
    /* Median +15% but with a spread that reaches below the baseline. */
    cJSON *c[5] = { doc_simple(0.080, 1000), doc_simple(0.115, 1000), doc_simple(0.125, 1000),
                    doc_simple(0.140, 1000), doc_simple(0.095, 1000) };
    char *out, err[1024];
    save_base("base.json", b, 5);
    int code = evaluate(c, 5, &out, err, sizeof err, "--baseline", "base.json",
                        "--max-regression", "p95(ttft)=10%", "--junit", "noise.xml", NULL);
    assert_int_equal(code, EXIT_OK);
    assert_contains(out, "  PASS  p95(ttft): 115 ms vs baseline 100 ms: +15.0% (95% CI ");
    /* Over the runs: a ratio of geometric means with Welch's interval. */
    assert_contains(out, "over 5 vs 5 runs -17.5% .. +43.7%), tolerance +10.0%, probability of a "
                         "regression beyond it 46.2%, within noise\n");
    assert_contains(out, "gate: PASS, 1 check passed");
    free(out);
    char *x = slurp("noise.xml");
    assert_non_null(x);
    assert_contains(x, "tests=\"1\" failures=\"0\"");
    assert_contains(x, "<system-out>115 ms vs baseline 100 ms: +15.0%");
    free(x);
    free_docs(b, 5);
    free_docs(c, 5);
}

static void test_baseline_regression_fails(void **state)
{
    (void)state;
    cJSON *b[5] = { doc_simple(0.100, 1000), doc_simple(0.102, 1010), doc_simple(0.098, 990),
                    doc_simple(0.101, 1005), doc_simple(0.099, 995) };
    cJSON *c[5] = { doc_simple(0.150, 800), doc_simple(0.152, 810), doc_simple(0.148, 790),
                    doc_simple(0.151, 805), doc_simple(0.149, 795) };
    char *out, err[1024];
    save_base("base.json", b, 5);
    int code = evaluate(c, 5, &out, err, sizeof err, "--baseline", "base.json",
                        "--max-regression", "p95(ttft)=10%,output_tps=5%,p95(itl)=10%", NULL);
    assert_int_equal(code, EXIT_CHECK);
    assert_contains(out, "  FAIL  p95(ttft): 150 ms vs baseline 100 ms: +50.0% (95% CI +4");
    assert_contains(out, "  FAIL  output_tps: 800 tok/s vs baseline 1000 tok/s: -20.0% (95% CI -2");
    assert_contains(out, "over 5 vs 5 runs -21.1% .. -18.9%), tolerance -5.0%, probability of a "
                         "regression beyond it 100.0%\n");
    assert_contains(out, "  SKIP  p95(itl): the baseline has no value for p95(itl)\n");
    assert_contains(out, "gate: FAIL, 2 of 3 checks failed");
    free(out);
    free_docs(b, 5);
    free_docs(c, 5);
}

/* A run with its per-request samples: 40 requests sent 50 ms apart whose
 * TTFT spreads 50..100 ms times slow (a run slowed as a whole by other
 * work on the machine when slow > 1); the summary's p95 agrees. */
static cJSON *doc_sampled(double slow, int jitter)
{
    cJSON *d = doc_simple(0.0975 * slow * (1 + 0.002 * jitter), 1000);
    cJSON *s = cJSON_AddObjectToObject(d, "samples");
    const char *cols[] = { "e2e_s", "ttft_s", "tpot_s", "output_tokens", "ok", "start_s" };
    cJSON *a[6];
    for (int c = 0; c < 6; c++)
        a[c] = cJSON_AddArrayToObject(s, cols[c]);
    cJSON_AddNumberToObject(s, "seen", 40);
    cJSON_AddNumberToObject(s, "kept", 40);
    for (int i = 0; i < 40; i++) {
        double ttft = slow * (0.05 + 0.05 * (double)((i * 17 + jitter) % 40) / 39) * (1 + 0.002 * jitter);
        double v[6] = { ttft + 0.2, ttft, 0.003, 64, 1, 0.05 * i };
        for (int c = 0; c < 6; c++)
            cJSON_AddItemToArray(a[c], cJSON_CreateNumber(v[c]));
    }
    return d;
}

/* Why runs are the unit: one of five runs slowed as a whole.  Its
 * requests are a fifth of the pooled ones, so the pooled p95 is the slow
 * run's and every resample of time blocks says so (on requests alone this
 * failed); the spread of the five runs says it can be the machine. */
static void test_baseline_one_slow_run_is_noise(void **state)
{
    (void)state;
    cJSON *b[5], *c[5];
    for (int i = 0; i < 5; i++) {
        b[i] = doc_sampled(1, i);
        c[i] = doc_sampled(i == 2 ? 2 : 1, 4 - i);
    }
    char *out, err[1024];
    save_base("base.json", b, 5);
    int code = evaluate(c, 5, &out, err, sizeof err, "--baseline", "base.json",
                        "--max-regression", "p95(ttft)=10%", "--junit", "slow.xml", NULL);
    assert_int_equal(code, EXIT_OK);
    char *x = slurp("slow.xml");
    assert_non_null(x);
    assert_contains(x, "tests=\"1\" failures=\"0\"");
    free(x);
    assert_contains(out, "  PASS  p95(ttft): 98.1 ms vs baseline 97.9 ms: +78.2% (95% CI -21.8% .. +90.4%, "
                         "200 vs 200 requests +39.2% .. +90.4%");
    assert_contains(out, ", over 5 vs 5 runs -21.8% .. +68.8%), tolerance +10.0%, probability of a "
                         "regression beyond it 61.5%");
    assert_contains(out, "within noise\n");
    free(out);
    /* The same runs of one request each side decide on the requests: the
     * slow run against a normal one fails, as it must (one run cannot tell
     * a slow machine from a slow build). */
    save_base("base1.json", &b[0], 1);
    code = evaluate(&c[2], 1, &out, err, sizeof err, "--baseline", "base1.json",
                    "--max-regression", "p95(ttft)=10%", NULL);
    assert_int_equal(code, EXIT_CHECK);
    assert_contains(out, "40 vs 40 requests), tolerance +10.0%");
    assert_contains(out, "\nnote: with one run on a side, a slower build and a busier machine look alike; "
                         "--repeat 5 on both sides lets the runs decide too (docs/ci.md)\n");
    free(out);
    /* Every run slowed: a regression, whichever unit decides. */
    for (int i = 0; i < 5; i++) {
        cJSON_Delete(c[i]);
        c[i] = doc_sampled(1.5, 4 - i);
    }
    code = evaluate(c, 5, &out, err, sizeof err, "--baseline", "base.json",
                    "--max-regression", "p95(ttft)=10%", NULL);
    assert_int_equal(code, EXIT_CHECK);
    assert_contains(out, "  FAIL  p95(ttft): ");
    assert_contains(out, "probability of a regression beyond it 100.0%");
    /* Five runs a side decided: no note. */
    assert_null(strstr(out, "note:"));
    free(out);
    /* An absolute tolerance over the runs: the difference in ms, and
     * JUnit's lines of the runs' test. */
    code = evaluate(c, 5, &out, err, sizeof err, "--baseline", "base.json",
                    "--max-regression", "p95(ttft)=20ms", "--junit", "abs.xml", NULL);
    assert_int_equal(code, EXIT_CHECK);
    assert_contains(out, ", over 5 vs 5 runs +");
    assert_contains(out, " ms), tolerance +20.0 ms, probability of a regression beyond it 100.0%");
    free(out);
    x = slurp("abs.xml");
    assert_non_null(x);
    assert_contains(x, "\nruns_change_ci95: 0.04");
    assert_contains(x, "\nruns: 5 vs 5\n");
    assert_contains(x, "\nrequests: 200 vs 200\n");
    free(x);
    /* A metric no run has: FAIL without a value, and no note about busy
     * machines (there is no change to explain). */
    cJSON *none = cJSON_Duplicate(b[0], 1);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(none, "summary"), "ttft"), "p95",
                              cJSON_CreateNull());
    code = evaluate(&none, 1, &out, err, sizeof err, "--baseline", "base1.json",
                    "--max-regression", "p95(ttft)=10%", NULL);
    assert_int_equal(code, EXIT_CHECK);
    assert_contains(out, "  FAIL  p95(ttft): no value measured (baseline 97.5 ms)\n");
    assert_null(strstr(out, "note:"));
    free(out);
    cJSON_Delete(none);
    free_docs(b, 5);
    free_docs(c, 5);
}

static void test_baseline_other_workload(void **state)
{
    (void)state;
    cJSON *b[1] = { doc_make(0.1, 1000, 0, 4, 100, 0) };
    cJSON *c[1] = { doc_make(0.1, 1000, 0, 8, 100, 0) };
    char *out, err[1024];
    save_base("base.json", b, 1);
    assert_int_equal(evaluate(c, 1, &out, err, sizeof err, "--baseline", "base.json",
                              "--save-baseline", "new.json", NULL), EXIT_USAGE);
    assert_string_equal(err, "baseline base.json was made with a different workload: "
                             "concurrency is 8 here but 4 in the baseline (run with the baseline's "
                             "settings, or make a new baseline with --save-baseline)");
    assert_int_equal(access("new.json", F_OK), -1);
    free(out);
    /* The same refusal is available before the run. */
    struct gate_opts g;
    gate_opts_init(&g);
    assert_int_equal(gate_opt(&g, "--baseline", "base.json", err, sizeof err), 1);
    assert_int_equal(gate_check_files(&g, err, sizeof err), 0);
    assert_int_equal(gate_check_config(&g, cJSON_GetObjectItem(c[0], "config"), err, sizeof err), -1);
    assert_contains(err, "concurrency is 8 here but 4 in the baseline");
    assert_int_equal(gate_check_config(&g, cJSON_GetObjectItem(b[0], "config"), err, sizeof err), 0);
    gate_opts_free(&g);
    free_docs(b, 1);
    free_docs(c, 1);
}

static void test_interrupted_and_failed_runs(void **state)
{
    (void)state;
    cJSON *d[2] = { doc_simple(0.1, 1000), doc_make(0.1, 1000, 0, 4, 100, 1) };
    char *out, err[1024];
    assert_int_equal(evaluate(d, 2, &out, err, sizeof err, "--assert", "p95(ttft) < 1s",
                              "--save-baseline", "b.json", NULL), EXIT_INTERRUPTED);
    assert_string_equal(err, "run 2 of 2 was interrupted: no check evaluated, no baseline saved");
    assert_int_equal(access("b.json", F_OK), -1);
    free(out);
    cJSON *f[1] = { doc_make(0.1, 0, 1.0, 4, 0, 0) };
    assert_int_equal(evaluate(f, 1, &out, err, sizeof err, "--assert", "p95(ttft) < 1s",
                              "--junit", "run.xml", NULL), EXIT_RUN);
    assert_string_equal(err, "run 1 of 1: every request failed; nothing to check");
    free(out);
    char *x = slurp("run.xml");
    assert_non_null(x);
    assert_contains(x, "<error message=\"run 1 of 1: every request failed; nothing to check\" type=\"run\"/>");
    free(x);
    int v = xmllint_ok("run.xml");
    if (v == -2)
        skip();
    assert_int_equal(v, 0);
    assert_int_equal(evaluate(d, 0, &out, err, sizeof err, NULL), EXIT_RUN);
    free(out);
    free_docs(d, 2);
    free_docs(f, 1);
}

static void test_junit(void **state)
{
    (void)state;
    cJSON *b[1] = { doc_simple(0.025, 1100) };
    cJSON *c[1] = { doc_make(0.03, 1000, 0.02, 4, 98, 0) };
    char *out, err[1024];
    /* A baseline name that needs escaping in XML. */
    save_base("base&<\"x\">.json", b, 1);
    int code = evaluate(c, 1, &out, err, sizeof err, "--assert", "p95(ttft) < 500ms",
                        "--assert", "error_rate <= 1%", "--baseline", "base&<\"x\">.json",
                        "--max-regression", "p95(ttft)=10%,output_tps=5%,p95(itl)=10%",
                        "--junit", "report.xml", NULL);
    assert_int_equal(code, EXIT_CHECK);
    free(out);
    char *x = slurp("report.xml");
    assert_non_null(x);
    const char *head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"llmload\" "
                       "tests=\"5\" failures=\"3\" errors=\"0\" skipped=\"1\" time=\"2.000\" timestamp=\"";
    if (strncmp(x, head, strlen(head)))
        fail_msg("JUnit head:\n%s", x);
    assert_contains(x, "<property name=\"runs\" value=\"1\"/>");
    assert_contains(x, "<property name=\"baseline\" value=\"base&amp;&lt;&quot;x&quot;&gt;.json\"/>");
    assert_contains(x, "<property name=\"llmload_version\" value=\"0.1.0\"/>");
    assert_contains(x, "<testcase name=\"p95(ttft) &lt; 500ms\" classname=\"llmload.assert\" time=\"0\"/>");
    assert_contains(x, "<testcase name=\"error_rate &lt;= 1%\" classname=\"llmload.assert\" time=\"0\">\n"
                       "      <failure message=\"measured 2.00%, limit &lt;= 1.00%\" type=\"assertion\">"
                       "measured: 0.02 fraction (1 = 100%)\nlimit: &lt;= 0.01 fraction (1 = 100%)\n</failure>");
    assert_contains(x, "<testcase name=\"p95(ttft) vs baseline (tolerance +10.0%)\" classname=\"llmload.regression\"");
    assert_contains(x, "<failure message=\"30.0 ms vs baseline 25.0 ms: +20.0%, tolerance +10.0%\" type=\"regression\">"
                       "measured: 0.03 s\nbaseline: 0.025 s\nchange: 0.2 (fraction of the baseline)\n"
                       "limit: +0.1 (fraction of the baseline)\n</failure>");
    assert_contains(x, "<testcase name=\"output_tps vs baseline (tolerance -5.0%)\"");
    assert_contains(x, "<skipped message=\"the baseline has no value for p95(itl)\"/>");
    free(x);
    int v = xmllint_ok("report.xml");
    if (v == -2)
        skip();
    assert_int_equal(v, 0);
    free_docs(b, 1);
    free_docs(c, 1);
}

static const char *expected_md =
    "### llmload gate: \xe2\x9d\x8c 3 of 5 checks failed\n"
    "\n"
    "| Result | Check | Measured | Limit |\n"
    "|:--|:--|:--|:--|\n"
    "| \xe2\x9c\x85 pass | `p95(ttft) < 500ms` | 30.0 ms | < 500 ms |\n"
    "| \xe2\x9d\x8c fail | `error_rate <= 1%` | 2.00% | <= 1.00% |\n"
    "| \xe2\x9d\x8c fail | `p95(ttft)` vs baseline | 30.0 ms vs 25.0 ms: +20.0% | at most +10.0% |\n"
    "| \xe2\x9d\x8c fail | `output_tps` vs baseline | 1000 tok/s vs 1100 tok/s: -9.1% | at least -5.0% |\n"
    "| \xe2\x9e\x96 skipped | `p95(itl)` vs baseline | none | the baseline has no value for p95(itl) |\n"
    "\n"
    "One run. Baseline: `base.json` (1 run).\n"
    "\n"
    "| Metric | Value |\n"
    "|:--|--:|\n"
    "| Requests | 100 |\n"
    "| Failed | 2 (2.00%) |\n"
    "| Request rate | 50 req/s |\n"
    "| Output throughput | 1000 tok/s |\n"
    "| TTFT p50 / p95 | 18.0 ms / 30.0 ms |\n"
    "| TPOT p50 / p95 | 2.00 ms / 3.10 ms |\n"
    "| E2E latency p50 / p95 | 140 ms / 220 ms |\n";

static void test_markdown(void **state)
{
    (void)state;
    cJSON *b[1] = { doc_simple(0.025, 1100) };
    cJSON *c[1] = { doc_make(0.03, 1000, 0.02, 4, 98, 0) };
    char *out, err[1024];
    save_base("base.json", b, 1);
    int code = evaluate(c, 1, &out, err, sizeof err, "--assert", "p95(ttft) < 500ms",
                        "--assert", "error_rate <= 1%", "--baseline", "base.json",
                        "--max-regression", "p95(ttft)=10%,output_tps=5%,p95(itl)=10%",
                        "--markdown", "summary.md", NULL);
    assert_int_equal(code, EXIT_CHECK);
    free(out);
    char *md = slurp("summary.md");
    assert_non_null(md);
    assert_string_equal(md, expected_md);
    free(md);
    free_docs(b, 1);
    free_docs(c, 1);
}

static void test_markdown_repeat_and_pipes(void **state)
{
    (void)state;
    cJSON *c[3] = { doc_simple(0.030, 1000), doc_simple(0.032, 1000), doc_simple(0.031, 1000) };
    char *out, err[1024];
    int code = evaluate(c, 3, &out, err, sizeof err, "--repeat", "3", "--assert", "p95(ttft)<100ms",
                        "--markdown", "m.md", NULL);
    assert_int_equal(code, EXIT_OK);
    free(out);
    char *md = slurp("m.md");
    assert_non_null(md);
    assert_contains(md, "### llmload gate: \xe2\x9c\x85 all 1 checks passed\n");
    assert_contains(md, "| \xe2\x9c\x85 pass | `p95(ttft)<100ms` | 31.0 ms (30.0 ms .. 32.0 ms) | < 100 ms |\n");
    assert_contains(md, "Median of 3 runs; in parentheses, the 95% bootstrap confidence interval.\n");
    free(md);
    free_docs(c, 3);
}

/* Entries of the current (test) directory, dot files included. */
static int dir_entries(void)
{
    int n = 0;
    DIR *d = opendir(".");
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_report_outputs_opened_before_the_run(void **state)
{
    (void)state;
    cJSON *c[1] = { doc_simple(0.03, 1000) };
    char *out, err[1024];
    size_t len;
    struct gate_opts g;
    /* gate_check_files opens the reports; nothing shows at their names
     * until they are written, and an abandoned run leaves nothing. */
    int before = dir_entries();
    gate_opts_init(&g);
    assert_int_equal(gate_opt(&g, "--junit", "j.xml", err, sizeof err), 1);
    assert_int_equal(gate_opt(&g, "--save-baseline", "b.json", err, sizeof err), 1);
    assert_int_equal(gate_check_files(&g, err, sizeof err), 0);
    assert_non_null(g.junit_out);
    assert_int_equal(access("j.xml", F_OK), -1);
    assert_int_equal(dir_entries(), before + 2);        /* the two temporary files */
    gate_opts_free(&g);
    assert_int_equal(dir_entries(), before);

    /* Written through the handles, replaced atomically. */
    gate_opts_init(&g);
    assert_int_equal(gate_opt(&g, "--junit", "j.xml", err, sizeof err), 1);
    assert_int_equal(gate_opt(&g, "--save-baseline", "b.json", err, sizeof err), 1);
    assert_int_equal(gate_check_files(&g, err, sizeof err), 0);
    FILE *f = open_memstream(&out, &len);
    assert_int_equal(gate_evaluate(&g, c, 1, f, err, sizeof err), EXIT_OK);
    fclose(f);
    free(out);
    gate_opts_free(&g);
    assert_int_equal(dir_entries(), before + 2);
    char *x = slurp("j.xml");
    assert_contains(x, "<testsuites name=\"llmload\" tests=\"0\"");
    free(x);
    assert_int_equal(unlink("j.xml"), 0);
    assert_int_equal(unlink("b.json"), 0);
    free_docs(c, 1);
}

static void test_report_write_errors(void **state)
{
    (void)state;
    cJSON *c[1] = { doc_simple(0.03, 1000) };
    char *out, err[1024];
    struct gate_opts g;
    gate_opts_init(&g);
    /* A report that fails to write is an error naming the file and why. */
    if (access("/dev/full", W_OK) < 0) {
        skip();
        return;
    }
    assert_int_equal(gate_opt(&g, "--markdown", "/dev/full", err, sizeof err), 1);
    assert_int_equal(gate_check_files(&g, err, sizeof err), 0);
    size_t len;
    FILE *f = open_memstream(&out, &len);
    assert_int_equal(gate_evaluate(&g, c, 1, f, err, sizeof err), EXIT_USAGE);
    fclose(f);
    free(out);
    assert_string_equal(err, "--markdown: cannot write /dev/full: No space left on device");
    gate_opts_free(&g);
    free_docs(c, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_assertions_one_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assertions_repeat_median, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_identical_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_within_noise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_regression_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_one_slow_run_is_noise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baseline_other_workload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_and_failed_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_markdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_markdown_repeat_and_pipes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_outputs_opened_before_the_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_write_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
