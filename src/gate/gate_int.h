#ifndef LLMLOAD_GATE_INT_H
#define LLMLOAD_GATE_INT_H
/* Internals shared by the gate's files (gate.c, gate_expr.c, gate_opts.c,
 * gate_eval.c, baseline.c, gate_report.c); not an API for other modules
 * (use gate.h). */
#include <stddef.h>
#include <stdio.h>
#include "gate.h"

struct cJSON;
struct out_file;

/* Which way is worse for a metric: a latency going up, a throughput going
 * down; 0 for settings-like numbers (requests, duration_s) where any change
 * beyond the tolerance counts. */
enum { GATE_DIR_NONE = 0, GATE_DIR_UP = 1, GATE_DIR_DOWN = -1 };

/* A reference to one number of a summary: "error_rate", "p95(ttft)". */
struct gate_ref {
    char metric[48];
    char stat[8];
    enum gate_kind kind;
    int dir;
};

/* Parses a ref at text[*pos] (leading blanks skipped), advancing *pos.
 * -1 with the caret message in err. */
int gate_ref_parse(const char *text, size_t *pos, struct gate_ref *ref,
                   char *err, size_t errcap);

/* Parses "VALUE[UNIT]" at text[*pos] for a metric of kind k, advancing *pos
 * past the value and its unit.  *pct is set when the unit was "%".  When
 * pct_relative, "%" is accepted for any kind (a relative tolerance) and v is
 * then the bare number / 100.  -1 with the caret message in err. */
int gate_value_parse(const char *text, size_t *pos, const struct gate_ref *ref,
                     int pct_relative, double *v, int *pct, char *err, size_t errcap);

/* The number ref names in summary.  0, or -1 when missing or null. */
int gate_ref_get(const struct gate_ref *ref, const struct cJSON *summary, double *v);

/* "p95(ttft)" or "error_rate" into buf; returns buf. */
const char *gate_ref_name(const struct gate_ref *ref, char *buf, size_t cap);

/* The ref an assertion reads. */
void gate_expr_ref(const struct gate_expr *e, struct gate_ref *ref);

/* Whether "a op b" holds; == and != compare within a relative 1e-9. */
int gate_op_holds(enum gate_op op, double a, double b);

/* err = "msg\n  text\n  ^" with the caret under byte offset pos of text. */
void gate_caret_err(char *err, size_t errcap, const char *text, size_t pos,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One --max-regression item. */
struct gate_regress {
    struct gate_ref ref;
    double tol;         /* >= 0: a fraction when relative, else in ref.kind's unit */
    int relative;
    char text[96];      /* "p95(ttft)=10%" as given, for reports */
};

/* Parses "p95(ttft)=10%,output_tps=5%" and appends (or replaces, for a ref
 * already present) items into *arr.  -1 with the caret message in err. */
int gate_regress_parse(const char *spec, struct gate_regress **arr, size_t *n,
                       char *err, size_t errcap);

/* Used when --baseline comes without --max-regression (docs/ci.md). */
#define GATE_DEFAULT_REGRESSION \
    "p95(ttft)=10%,p95(tpot)=10%,p95(e2e)=10%,output_tps=10%,error_rate=1%"

/* ---- outcome of an evaluation, for the console and the reports ------------ */

enum gate_status {
    GATE_PASS = 0,
    GATE_NOISE,         /* pass: point estimate beyond the tolerance, CI is not */
    GATE_FAIL,
    GATE_SKIP           /* regression: the baseline has no value */
};

struct gate_check {
    int is_regress;
    char name[160];         /* the assertion text, or "p95(ttft)" */
    enum gate_kind kind;
    enum gate_status status;
    double measured;        /* median over the runs; NaN when none */
    double lo, hi;          /* bootstrap CI of the median (== measured for 1 run) */
    /* assertion */
    enum gate_op op;
    double limit;
    /* regression */
    double base;            /* the baseline's median */
    double change, change_lo, change_hi;   /* fraction when relative, else in kind's unit */
    double tol;
    int relative, dir;
    /* regression tested on per-request samples (stats.h): how many, the
     * probability that the change is beyond the tolerance on the worse
     * side, and Mann-Whitney's one-sided p-value of a shift that way; NaN
     * when the runs or the baseline kept no samples */
    size_t n_cur, n_base;
    double p_regress, mwu_p;
    /* regression tested over the runs (several on both sides, --repeat):
     * the change's Welch interval over the runs' values, hulled into
     * change_lo .. change_hi; NaN when not tested */
    double runs_lo, runs_hi, runs_p;
    size_t runs_cur, runs_base;     /* runs with a value, each side */
    char message[512];      /* one line: "measured 612 ms, limit < 500 ms" */
};

struct gate_outcome {
    struct gate_check *checks; size_t n;
    size_t failed;
    size_t runs;
    const char *baseline_path;
    size_t baseline_runs;
    double time_s;                  /* sum of the runs' duration_s */
    struct cJSON *median;           /* median summary (owned by the evaluator) */
    const char *version;            /* llmload version, may be NULL */
};

/* The tolerance of a regression check with the side that is worse:
 * "+10.0%", "-5.0%", "+/-2 ms". */
void gate_tol_fmt(const struct gate_check *c, char *buf, size_t cap);
/* A change ch of c's metric: "+12.3%" when relative, else "+2 ms"; "+inf%"
 * from a zero baseline; "none" for NaN. */
void gate_change_fmt(const struct gate_check *c, double ch, char *buf, size_t cap);

/* Console lines: one per check, PASS/FAIL with measured value and limit. */
void gate_report_text(FILE *f, const struct gate_outcome *o);
/* Writes a report's text: to out, the output gate_check_files opened, or,
 * for a caller that skipped it (out NULL), to path opened now.  0, or -1
 * with err "FLAG: cannot write PATH: REASON". */
int gate_write_report(struct out_file *out, const char *flag, const char *path,
                      const char *text, size_t len, char *err, size_t errcap);

/* JUnit XML and the Markdown summary, written by gate_write_report to out
 * (or path).  0, or -1 with err. */
int gate_report_junit(struct out_file *out, const char *path, const struct gate_outcome *o,
                      char *err, size_t errcap);
int gate_report_markdown(struct out_file *out, const char *path, const struct gate_outcome *o,
                         char *err, size_t errcap);
/* A JUnit file with one <error> testcase, for a run that could not be done. */
int gate_report_junit_error(struct out_file *out, const char *path, const char *what,
                            char *err, size_t errcap);

#endif
