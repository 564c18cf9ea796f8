#ifndef LLMLOAD_GATE_H
#define LLMLOAD_GATE_H
/* The regression gate for CI jobs (docs/ci.md): assertions on a run's
 * summary (`--assert 'p95(ttft) < 500ms'`), comparison with a saved baseline
 * (`--baseline`, `--max-regression`), repeated runs with a bootstrap
 * confidence interval of the median (`--repeat`), and CI reports (`--junit`,
 * `--markdown`, `--save-baseline`).
 *
 * The gate only reads result DOCUMENTS (schema "llmload.result/1", cJSON),
 * never the engine's structures, so `run`, `sweep` and `compare` share it.
 *
 * Life of a gate in a subcommand:
 *   gate_opts_init(&g);
 *   for each flag:  r = gate_opt(&g, flag, value, err, sizeof err);
 *                   (1 consumed, 0 not a gate flag, -1 bad value: print err, exit 2)
 *   gate_check_files(&g, ...)          before any request (exit 2 on error)
 *   gate_check_config(&g, config, ...)  before any request, when the config
 *                                      document is known (exit 2 on error)
 *   run gate_repeat(&g) times, keeping each result document
 *   code = gate_evaluate(&g, docs, n, stdout, ...);
 *   gate_opts_free(&g);
 */
#include <stddef.h>
#include <stdio.h>

#include "opt.h"

struct cJSON;

/* ---- assertion expressions ------------------------------------------------
 * Grammar (whitespace allowed between tokens):
 *   expr   := ref OP VALUE [UNIT]
 *   ref    := METRIC | STAT '(' METRIC ')'
 *   STAT   := min | mean | p50 | median | p90 | p95 | p99 | max
 *             (request_tps: mean | p05 | p50 | p95)
 *   OP     := < | <= | > | >= | == | !=
 * METRIC is a summary scalar (error_rate, output_tps, rps, requests, ok,
 * failed, duration_s, ...), `errors.CLASS` (a count), or a distribution
 * (ttft, itl, tpot, e2e, queue_time, request_tps), which needs a STAT.
 * Units are converted to the summary's own: ns us ms s m h for times
 * (a bare number is seconds), % for rates (1% = 0.01), k M G multipliers,
 * and an optional tok/s or req/s. */

/* What a metric measures, which decides its units and how it is printed. */
enum gate_kind {
    GATE_SECONDS = 0,   /* printed "212 ms" */
    GATE_FRACTION,      /* 0..1, printed "2.50%" */
    GATE_TOKRATE,       /* tokens/s */
    GATE_REQRATE,       /* requests/s */
    GATE_COUNT          /* a plain number */
};

enum gate_op { GATE_LT = 0, GATE_LE, GATE_GT, GATE_GE, GATE_EQ, GATE_NE };

/* A parsed assertion.  Read-only for callers. */
struct gate_expr {
    char *text;             /* the expression as given (owned) */
    char metric[48];        /* "ttft", "error_rate", "errors.timeout_ttft" */
    char stat[8];           /* "p95", "" for a scalar */
    enum gate_op op;
    double limit;           /* in the summary's unit (seconds, fraction ...) */
    enum gate_kind kind;
};

/* Parses text.  On success returns 0 and *out (free with gate_expr_free).
 * On error returns -1 and err holds a multi-line message: what was expected,
 * the expression, and a caret under the error position; an unknown metric
 * names the nearest valid names.  Never prints. */
int gate_expr_parse(const char *text, struct gate_expr **out, char *err, size_t errcap);

/* Evaluates e against a "summary" object.  Returns 0 with *measured (in the
 * summary's unit) and *pass (1/0), or -1 when the metric is missing or null
 * (no samples). */
int gate_expr_eval(const struct gate_expr *e, const struct cJSON *summary,
                   double *measured, int *pass);

void gate_expr_free(struct gate_expr *e);      /* NULL is a no-op */

/* "<", "<=" ... */
const char *gate_op_str(enum gate_op op);

/* Formats v of kind k with its unit ("212 ms", "2.50%", "1234 tok/s");
 * NaN gives "none".  Returns buf. */
const char *gate_value_fmt(enum gate_kind k, double v, char *buf, size_t cap);

/* ---- options of the gate --------------------------------------------------- */

struct baseline;        /* baseline.h */
struct gate_regress;    /* one --max-regression item (baseline.h) */
struct out_file;        /* fileio.h */

struct gate_opts {
    struct gate_expr **asserts; size_t n_asserts;
    struct gate_regress *regress; size_t n_regress;  /* --max-regression */
    int regress_given;          /* else the defaults of docs/ci.md apply */
    char *baseline_path;
    struct baseline *baseline;  /* loaded by gate_check_files */
    char *save_baseline_path, *junit_path, *markdown_path;
    int repeat;                 /* --repeat K, default 1 */
    /* The report files, opened by gate_check_files before the run. */
    struct out_file *save_baseline_out, *junit_out, *markdown_out;
};

void gate_opts_init(struct gate_opts *g);
void gate_opts_free(struct gate_opts *g);      /* leaves g initialised */

/* The gate's flags in the option format (opt.h); the handler's user data
 * is a struct gate_opts.  Every value is validated when it is applied,
 * before any request is sent. */
extern const struct opt_table gate_opt_table;

/* Offers one flag to the gate through the table.  flag is the name with
 * its dashes ("--assert"), value its argument (all gate flags take one).
 * Returns 1 if it consumed the flag, 0 if it is not a gate flag, -1 on a
 * bad or missing value with err set (one line, or the multi-line caret
 * message of gate_expr_parse, prefixed by the flag). */
int gate_opt(struct gate_opts *g, const char *flag, const char *value, char *err, size_t errcap);

/* 1 if flag is a gate flag (all of them take a value), else 0. */
int gate_flag_takes_value(const char *flag);

/* Help lines for the gate flags (from the table) and the exit codes. */
void gate_help(FILE *f);

/* K of --repeat (1 when not given). */
int gate_repeat(const struct gate_opts *g);

/* 1 when any gate flag was given (the subcommand then calls gate_evaluate). */
int gate_active(const struct gate_opts *g);

/* Before the run: loads and validates the baseline, checks that
 * --max-regression came with --baseline, and opens the --junit, --markdown
 * and --save-baseline outputs (out_open: a regular file is replaced
 * atomically when the report is written, a FIFO or device is written
 * through), so a path that cannot be written costs no run.  0, or -1 with
 * err (one line).  gate_opts_free closes what was opened; an output never
 * written is left as it was. */
int gate_check_files(struct gate_opts *g, char *err, size_t errcap);

/* Before the run, when the subcommand can build its "config" object: -1
 * with err naming every differing workload setting when the baseline was
 * made with another workload (the caller exits 2).  0 when compatible or
 * without a baseline.  gate_evaluate repeats this check. */
int gate_check_config(const struct gate_opts *g, const struct cJSON *config,
                      char *err, size_t errcap);

/* After the runs: results[0..n) are the result documents of the K runs.
 * Evaluates each assertion on the median over the runs (with a seeded,
 * reproducible 95% bootstrap CI when n > 1), compares with the baseline
 * (a regression fails only when the whole CI is beyond the tolerance;
 * "within noise" when only the point estimate is), prints each check as
 * PASS/FAIL on out, writes --junit, --markdown and --save-baseline, and
 * returns the exit code (cli.h):
 *   EXIT_OK (0) every check passed, EXIT_CHECK (1) a check failed,
 *   EXIT_USAGE (2) the baseline was made with another workload or a report
 *   file could not be written (err says which), EXIT_RUN (3) no run
 *   completed a request (err), EXIT_INTERRUPTED (4) a run was interrupted
 *   (nothing evaluated, no baseline saved). */
int gate_evaluate(const struct gate_opts *g, struct cJSON *const *results, size_t n,
                  FILE *out, char *err, size_t errcap);

/* When no run completed (the engine could not start or reach the server):
 * writes --junit, if given, as one <error> test case saying what (so the CI
 * job still shows why).  Best effort: a write error is ignored, the caller
 * is already failing with exit 3. */
void gate_run_failed(const struct gate_opts *g, const char *what);

/* sweep and compare: every --assert is checked against every level's
 * summary (labels[i] names level i, e.g. "concurrency 8" or "vllm c=8"),
 * printed, and written to --junit / --markdown as one check per level and
 * assertion.  Baselines and --repeat are for `run` only (the caller refuses
 * them).  Returns EXIT_OK, EXIT_CHECK, EXIT_USAGE (a report could not be
 * written) or EXIT_RUN (no level). */
int gate_evaluate_levels(const struct gate_opts *g, const char *const *labels,
                         const struct cJSON *const *summaries, size_t n,
                         FILE *out, char *err, size_t errcap);

#endif
