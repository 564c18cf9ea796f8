#ifndef LLMLOAD_COMPARE_H
#define LLMLOAD_COMPARE_H
/* Compare analysis, the pure part of `llmload compare`: n sweeps of the
 * same parameter (one per target, knee.h describes a sweep's "levels"),
 * with no I/O besides the FILE they print to, so they are tested on
 * synthetic data. */
#include <stddef.h>
#include <stdio.h>

struct cJSON;

/* Analyses n sweeps of the same parameter (sweeps[i] NULL: target i gave no
 * result, e.g. it was down).  Returns a new object:
 *   {"levels":[{"level","output_tps":{name:v},"winner","speedup"}],
 *    "saturation":{name: knee or null},
 *    "recommendation":{"target","wins","reasons":[...]}}
 * speedup is the winner's throughput over the runner-up's.  NULL only on
 * allocation failure. */
struct cJSON *knee_compare(const char *parameter, const char *const *names,
                           const struct cJSON *const *sweeps, size_t n, double threshold);

/* What a compare knows beyond the sweeps. */
struct compare_extra {
    const double *usd_per_hour;     /* per target, NaN (or the array NULL): no price */
    int models;                     /* the targets are models: the text speaks of models */
};
/* knee_compare with the extras (NULL: none).  The recommendation ranks the
 * targets by capacity at the SLO when every sweep has one (a find-max
 * result), else by throughput at equal load, and decides only when the 95%
 * bootstrap interval of the ratio of the first to the second excludes 1
 * (docs/sweep.md, "The recommendation"). */
struct cJSON *knee_compare_ex(const char *parameter, const char *const *names,
                              const struct cJSON *const *sweeps, size_t n, double threshold,
                              const struct compare_extra *extra);

/* A sweep over models (its levels are named by model, run at the same
 * load): each level compared as a target of its own, at "concurrency"
 * load.  Returns the recommendation object of knee_compare_ex (speaking of
 * models), or NULL on allocation failure. */
struct cJSON *compare_model_levels(const struct cJSON *levels, double load, double threshold);

/* Side-by-side table, winners, saturation and recommendation, from the
 * sweeps and the object knee_compare returned. */
void knee_compare_print(FILE *f, const char *parameter, const char *const *names,
                        const struct cJSON *const *sweeps, size_t n,
                        const struct cJSON *analysis);

/* One CSV for all targets: the header of knee_csv_write led by "target",
 * then each target's rows led by its name (names are CSV fields).  Targets
 * without a sweep (NULL) are left out.  0, or -1 on a write error. */
int compare_csv_write(FILE *f, const char *const *names, const struct cJSON *const *sweeps,
                      size_t n);

#endif
