/* The gate's options between the flags and the evaluation: their life
 * (init, free), and what is checked before the run: the baseline file, the
 * report files, the workload against the baseline's. */
#include "gate.h"
#include "gate_int.h"
#include "baseline.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Whether path can be written: an existing regular file we may write, or a
 * new name in a directory we may write.  Nothing is created here, so a run
 * refused later leaves no empty report behind. */
static int check_writable(const char *flag, const char *path, char *err, size_t errcap)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errcap, "%s %s: is a directory", flag, path);
            return -1;
        }
        if (access(path, W_OK) < 0) {
            snprintf(err, errcap, "%s %s: %s", flag, path, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        snprintf(err, errcap, "%s %s: %s", flag, path, strerror(errno));
        return -1;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errcap, "%s %s: directory %s does not exist", flag, path, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        snprintf(err, errcap, "%s %s: cannot create files in %s: %s", flag, path, dir, strerror(errno));
        return -1;
    }
    return 0;
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
    if (g->junit_path && check_writable("--junit", g->junit_path, err, errcap) < 0)
        return -1;
    if (g->markdown_path && check_writable("--markdown", g->markdown_path, err, errcap) < 0)
        return -1;
    if (g->save_baseline_path &&
        check_writable("--save-baseline", g->save_baseline_path, err, errcap) < 0)
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
