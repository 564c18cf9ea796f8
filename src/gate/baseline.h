#ifndef LLMLOAD_BASELINE_H
#define LLMLOAD_BASELINE_H
/* Baselines for the regression gate: loading a saved result or baseline,
 * refusing one made with another workload, saving one meant to be
 * committed, and the statistics of noisy repeated runs (median, seeded
 * bootstrap confidence intervals).  docs/ci.md explains the method. */
#include <stddef.h>
#include <stdint.h>
#include "gate.h"

struct cJSON;

/* A loaded baseline: a "llmload.result/1" document (one run) or a
 * "llmload.baseline/2" document written by --save-baseline (K runs, each
 * with its per-request samples).  A "llmload.baseline/1" (no samples) is
 * refused: it is to be saved again. */
struct baseline {
    char *path;
    struct cJSON *doc;                  /* owned */
    const struct cJSON *config;         /* inside doc; may be NULL */
    const struct cJSON **summaries;     /* inside doc, one per run */
    const struct cJSON **samples;       /* inside doc, one per run; NULL entries:
                                           a result saved before samples */
    size_t n;
};

/* Reads and validates path.  0 and *out (free with baseline_free), or -1
 * with err (one line naming the file and what is wrong). */
int baseline_load(const char *path, struct baseline **out, char *err, size_t errcap);
void baseline_free(struct baseline *b);        /* NULL is a no-op */

/* Settings that do not change the workload (where the server is, where the
 * outputs go, how the simulator is shaped) and are not compared: 1 if key
 * is one of them. */
int baseline_config_ignored(const char *key);

/* Compares the workload settings of two "config" objects.  Returns the
 * number of differing settings and, when > 0, err lists them all
 * ("concurrency is 8 here but 4 in the baseline; ...").  A NULL object
 * compares as empty.  A current "api" of "auto" (not yet resolved) matches
 * any. */
int baseline_config_diff(const struct cJSON *base, const struct cJSON *cur,
                         char *err, size_t errcap);

/* Writes a "llmload.baseline/2" document made from the K result documents:
 * their config without the ignored settings, the median summary, each
 * run's summary and its per-request samples (sample.h), numbers rounded to 6 significant digits and no host names
 * or times, so that the file diffs cleanly when committed.  Written to out,
 * an output opened before the run (fileio.h: a regular file is replaced
 * atomically), or, when out is NULL, to path opened now.  0, or -1 with
 * err ("--save-baseline: cannot write PATH: REASON"). */
struct out_file;
int baseline_save_to(struct out_file *out, const char *path, struct cJSON *const *results,
                     size_t n, char *err, size_t errcap);
/* baseline_save_to(NULL, path, ...). */
int baseline_save(const char *path, struct cJSON *const *results, size_t n,
                  char *err, size_t errcap);

/* The field-wise median of n summary objects (numbers: median of the runs
 * that have one; objects: recursively; anything else: the first run's).
 * NULL on allocation failure.  The caller frees it. */
struct cJSON *baseline_median_summary(const struct cJSON *const *summaries, size_t n);

/* ---- statistics ------------------------------------------------------------ */

#define BASELINE_BOOT_N 2000                    /* bootstrap resamples */
#define BASELINE_BOOT_SEED 0x6c6c6d6c6f6164ULL  /* "llmload": reproducible */

/* Median of v[0..n) (mean of the middle two when n is even); v is not
 * modified.  NaN when n == 0. */
double baseline_median(const double *v, size_t n);

/* 95% percentile-bootstrap confidence interval of the median of v[0..n),
 * BASELINE_BOOT_N resamples from a generator seeded with seed: the same
 * input always gives the same interval.  n == 1 gives [v0, v0].
 * 0, or -1 on allocation failure or n == 0. */
int baseline_boot_median_ci(const double *v, size_t n, uint64_t seed,
                            double *lo, double *hi);

/* The change of the median of cur against the median of base: relative
 * ((c - b) / |b|) when relative, else absolute (c - b), with its 95%
 * bootstrap interval (both samples resampled).  A relative change from a
 * zero baseline is 0 when c is 0 too, else +/-inf.  0, or -1 as above. */
int baseline_boot_change(const double *cur, size_t nc, const double *base, size_t nb,
                         int relative, uint64_t seed,
                         double *point, double *lo, double *hi);

#endif
