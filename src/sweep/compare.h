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
