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

enum gate_flag { G_ASSERT, G_BASELINE, G_MAX_REGRESSION, G_REPEAT, G_SAVE_BASELINE, G_JUNIT, G_MARKDOWN };

static int gate_apply(void *ud, const struct opt *o, const char *flag, const char *value,
                      char *err, size_t errcap);

static const struct opt gate_flags[] = {
    OPT_SECTION("regression gate (docs/ci.md)"),
    { G_ASSERT, "--assert", { NULL }, "EXPR", "fail (exit 1) unless EXPR holds, e.g. 'p95(ttft) < 500ms' (repeatable)" },
    { G_BASELINE, "--baseline", { NULL }, "FILE", "compare with a saved result or baseline (docs/ci.md)" },
    { G_MAX_REGRESSION, "--max-regression", { NULL }, "SPEC",
      "tolerances vs the baseline, e.g. 'p95(ttft)=10%,output_tps=5%'\n(default: the tolerances of docs/ci.md)" },
    { G_REPEAT, "--repeat", { NULL }, "K", "run K times; the median decides, with a bootstrap 95% CI (default 1)" },
    { G_SAVE_BASELINE, "--save-baseline", { NULL }, "FILE", "write this result as a baseline meant to be committed" },
    { G_JUNIT, "--junit", { NULL }, "FILE", "write the checks as JUnit XML" },
    { G_MARKDOWN, "--markdown", { NULL }, "FILE", "write a Markdown summary (GitHub job summary, MR comment)" },
};

const struct opt_table gate_opt_table = OPT_TABLE(gate_flags, gate_apply);

int gate_flag_takes_value(const char *flag)
{
    return opt_table_find(&gate_opt_table, flag) != NULL;
}

void gate_help(FILE *f)
{
    opt_help_table(f, &gate_opt_table);
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
    return opt_apply1(&gate_opt_table, g, flag, value, err, errcap);
}

static int gate_apply(void *ud, const struct opt *o, const char *flag, const char *value,
                      char *err, size_t errcap)
{
    struct gate_opts *g = ud;
    char sub[1024];
    switch ((enum gate_flag)o->id) {
    case G_ASSERT: {
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
    case G_MAX_REGRESSION:
        if (gate_regress_parse(value, &g->regress, &g->n_regress, sub, sizeof sub) < 0) {
            snprintf(err, errcap, "--max-regression: %s", sub);
            return -1;
        }
        g->regress_given = 1;
        return 1;
    case G_REPEAT: {
        uint64_t k;
        if (units_parse_count(value, &k) < 0 || k < 1 || k > 1000) {
            snprintf(err, errcap, "--repeat: '%s' is not a whole number of runs from 1 to 1000", value);
            return -1;
        }
        g->repeat = (int)k;
        return 1;
    }
    case G_BASELINE: return set_path(&g->baseline_path, flag, value, err, errcap);
    case G_SAVE_BASELINE: return set_path(&g->save_baseline_path, flag, value, err, errcap);
    case G_JUNIT: return set_path(&g->junit_path, flag, value, err, errcap);
    case G_MARKDOWN: return set_path(&g->markdown_path, flag, value, err, errcap);
    }
    return 0;
}
