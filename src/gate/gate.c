/* The regression gate's flags: the table behind --help, and gate_opt(),
 * which validates every value before any request is sent.  The rest of
 * the gate: gate_expr.c (assertions, units, --max-regression),
 * gate_opts.c (the options' life and files), gate_eval.c (evaluation),
 * baseline.c, gate_report.c. */
#include "gate.h"
#include "gate_int.h"
#include "units.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ----------------------------------------------------------------- */

static const struct {
    const char *flag, *arg, *help;
} gate_flags[] = {
    { "--assert", "EXPR", "fail (exit 1) unless EXPR holds, e.g. 'p95(ttft) < 500ms' (repeatable)" },
    { "--baseline", "FILE", "compare with a saved result or baseline (docs/ci.md)" },
    { "--max-regression", "SPEC", "tolerances vs the baseline, e.g. 'p95(ttft)=10%,output_tps=5%'" },
    { "--repeat", "K", "run K times; the median decides, with a bootstrap 95% CI (default 1)" },
    { "--save-baseline", "FILE", "write this result as a baseline meant to be committed" },
    { "--junit", "FILE", "write the checks as JUnit XML" },
    { "--markdown", "FILE", "write a Markdown summary (GitHub job summary, MR comment)" },
};
#define N_GATE_FLAGS (sizeof gate_flags / sizeof gate_flags[0])

int gate_flag_takes_value(const char *flag)
{
    for (size_t i = 0; i < N_GATE_FLAGS; i++)
        if (!strcmp(flag, gate_flags[i].flag))
            return 1;
    return 0;
}

void gate_help(FILE *f)
{
    fprintf(f, "\nregression gate (docs/ci.md):\n");
    for (size_t i = 0; i < N_GATE_FLAGS; i++) {
        char left[40];
        snprintf(left, sizeof left, "%s %s", gate_flags[i].flag, gate_flags[i].arg);
        fprintf(f, "  %-26s %s\n", left, gate_flags[i].help);
    }
    fprintf(f, "  exit codes: 0 passed, 1 a check failed, 2 usage, 3 run not done, 4 interrupted\n");
}

static int set_path(char **dst, const char *flag, const char *value, char *err, size_t errcap)
{
    if (!value || !*value) {
        snprintf(err, errcap, "%s: needs a file name", flag);
        return -1;
    }
    char *p = strdup(value);
    if (!p) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    free(*dst);
    *dst = p;
    return 1;
}

int gate_opt(struct gate_opts *g, const char *flag, const char *value, char *err, size_t errcap)
{
    char sub[1024];
    if (!gate_flag_takes_value(flag))
        return 0;
    if (!value) {
        snprintf(err, errcap, "%s: needs a value", flag);
        return -1;
    }
    if (!strcmp(flag, "--assert")) {
        struct gate_expr *e;
        if (gate_expr_parse(value, &e, sub, sizeof sub) < 0) {
            snprintf(err, errcap, "--assert: %s", sub);
            return -1;
        }
        struct gate_expr **na = realloc(g->asserts, (g->n_asserts + 1) * sizeof *na);
        if (!na) {
            gate_expr_free(e);
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        g->asserts = na;
        g->asserts[g->n_asserts++] = e;
        return 1;
    }
    if (!strcmp(flag, "--max-regression")) {
        if (gate_regress_parse(value, &g->regress, &g->n_regress, sub, sizeof sub) < 0) {
            snprintf(err, errcap, "--max-regression: %s", sub);
            return -1;
        }
        g->regress_given = 1;
        return 1;
    }
    if (!strcmp(flag, "--repeat")) {
        uint64_t k;
        if (units_parse_count(value, &k) < 0 || k < 1 || k > 1000) {
            snprintf(err, errcap, "--repeat: '%s' is not a whole number of runs from 1 to 1000", value);
            return -1;
        }
        g->repeat = (int)k;
        return 1;
    }
    if (!strcmp(flag, "--baseline"))
        return set_path(&g->baseline_path, flag, value, err, errcap);
    if (!strcmp(flag, "--save-baseline"))
        return set_path(&g->save_baseline_path, flag, value, err, errcap);
    if (!strcmp(flag, "--junit"))
        return set_path(&g->junit_path, flag, value, err, errcap);
    return set_path(&g->markdown_path, flag, value, err, errcap);
}
