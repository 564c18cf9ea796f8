/* The gate's options between the flags and the evaluation: their life
 * (init, free), and what is checked before the run: the baseline file, the
 * report files, the workload against the baseline's. */
#include "gate.h"
#include "gate_int.h"
#include "baseline.h"
#include "fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gate_opts_init(struct gate_opts *g)
{
    memset(g, 0, sizeof *g);
    g->repeat = 1;
}

void gate_opts_free(struct gate_opts *g)
{
    for (size_t i = 0; i < g->n_asserts; i++)
        gate_expr_free(g->asserts[i]);
    free(g->asserts);
    free(g->regress);
    free(g->baseline_path);
    baseline_free(g->baseline);
    free(g->save_baseline_path);
    free(g->junit_path);
    free(g->markdown_path);
    out_close(g->save_baseline_out);
    out_close(g->junit_out);
    out_close(g->markdown_out);
    gate_opts_init(g);
}

int gate_repeat(const struct gate_opts *g)
{
    return g->repeat > 0 ? g->repeat : 1;
}

int gate_active(const struct gate_opts *g)
{
    return g->n_asserts || g->baseline_path || g->regress_given || g->save_baseline_path ||
           g->junit_path || g->markdown_path || g->repeat > 1;
}

/* Opens the output of one report flag, closing an earlier handle
 * (gate_check_files may be called again). */
static int open_report(const char *flag, const char *path, struct out_file **out,
                       char *err, size_t errcap)
{
    char why[1024];
    out_close(*out);
    *out = NULL;
    if (!path)
        return 0;
    if (!(*out = out_open(path, why, sizeof why))) {
        snprintf(err, errcap, "%s: %s", flag, why);
        return -1;
    }
    return 0;
}

int gate_write_report(struct out_file *out, const char *flag, const char *path,
                      const char *text, size_t len, char *err, size_t errcap)
{
    char why[1024];
    int rc = out ? out_commit(out, text, len, why, sizeof why)
                 : out_write_file(path, text, len, why, sizeof why);
    if (rc < 0)
        snprintf(err, errcap, "%s: %s", flag, why);
    return rc;
}

int gate_check_files(struct gate_opts *g, char *err, size_t errcap)
{
    if (g->regress_given && !g->baseline_path) {
        snprintf(err, errcap, "--max-regression needs --baseline FILE to compare with");
        return -1;
    }
    if (g->baseline_path && !g->baseline) {
        if (baseline_load(g->baseline_path, &g->baseline, err, errcap) < 0)
            return -1;
    }
    if (g->baseline_path && !g->regress_given && !g->n_regress) {
        if (gate_regress_parse(GATE_DEFAULT_REGRESSION, &g->regress, &g->n_regress, err, errcap) < 0)
            return -1;
    }
    if (open_report("--junit", g->junit_path, &g->junit_out, err, errcap) < 0 ||
        open_report("--markdown", g->markdown_path, &g->markdown_out, err, errcap) < 0 ||
        open_report("--save-baseline", g->save_baseline_path, &g->save_baseline_out, err, errcap) < 0)
        return -1;
    return 0;
}

int gate_check_config(const struct gate_opts *g, const struct cJSON *config,
                      char *err, size_t errcap)
{
    char diff[2048];
    if (!g->baseline)
        return 0;
    if (baseline_config_diff(g->baseline->config, config, diff, sizeof diff) > 0) {
        snprintf(err, errcap,
                 "baseline %s was made with a different workload: %s "
                 "(run with the baseline's settings, or make a new baseline with --save-baseline)",
                 g->baseline->path, diff);
        return -1;
    }
    return 0;
}
