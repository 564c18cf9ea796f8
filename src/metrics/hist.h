#ifndef LLMLOAD_HIST_H
#define LLMLOAD_HIST_H
/* Log-linear (HDR-style) histogram of non-negative integer values.
 *
 * Memory is fixed at creation whatever the run length: values from 1 to
 * `highest` are kept at 3 significant decimal digits (relative error
 * <= 0.1%), larger values are clamped to `highest` and counted in
 * `saturated`.  Histograms with the same layout merge by adding counts, so
 * runs and processes can be combined.
 *
 * While the count is small (<= HIST_EXACT_MAX values) the raw values are
 * also kept, and percentiles, min and max are exact; past that they come
 * from the buckets.  Latencies are recorded in nanoseconds by convention. */
#include <stdint.h>
#include <stddef.h>

#define HIST_EXACT_MAX 4096

struct hist;
struct cJSON;

/* highest: largest value kept (e.g. 3600e9 for one hour in ns), in
 * [1, 2^53].  Memory is about 8 bytes * 1024 * (log2(highest) - 9) plus
 * 8 bytes * HIST_EXACT_MAX (for 1 hour in ns: 296 KiB).  Returns NULL on
 * allocation failure or when highest is out of range. */
struct hist *hist_new(uint64_t highest);
void hist_free(struct hist *h);              /* NULL is a no-op */
void hist_reset(struct hist *h);

void hist_record(struct hist *h, uint64_t v);
void hist_record_n(struct hist *h, uint64_t v, uint64_t n);
/* dst += src.  -1 if their layouts differ (different `highest`). */
int hist_merge(struct hist *dst, const struct hist *src);

uint64_t hist_count(const struct hist *h);
uint64_t hist_min(const struct hist *h);     /* 0 when empty */
uint64_t hist_max(const struct hist *h);
uint64_t hist_saturated(const struct hist *h);  /* values clamped to highest */
uint64_t hist_highest(const struct hist *h);
double hist_mean(const struct hist *h);      /* NaN when empty */
double hist_sum(const struct hist *h);       /* sum of the values (clamped ones as clamped) */
double hist_stdev(const struct hist *h);     /* sample (n-1); NaN empty, 0 for one */
/* p in [0, 100].  Nearest-rank percentile; 0 when empty.  Exact while the
 * raw values are kept; past that the midpoint of the value's bucket,
 * clamped to [min, max] (relative error <= 1/2048). */
uint64_t hist_percentile(const struct hist *h, double p);

/* Cumulative counts at thresholds le[0..n) in ascending order: out[k] is
 * the number of values <= le[k] (a Prometheus histogram's buckets).  Exact
 * while the raw values are kept; past that a bucket counts whole when its
 * lowest value is <= le[k], so out[k] may include values up to one bucket
 * width (1/1024 of le[k]) above it.  One pass over the buckets. */
void hist_cumulative(const struct hist *h, const uint64_t *le, size_t n, uint64_t *out);

/* The statistics every report prints, already multiplied by `scale`
 * (1e-9 turns nanoseconds into seconds).  All NaN when n == 0. */
struct hist_stats {
    uint64_t n;
    double min, mean, p50, p90, p95, p99, max, stdev;
};
void hist_stats(const struct hist *h, double scale, struct hist_stats *out);

/* Serialise for merging across processes: an object with the layout and
 * the non-zero buckets.  hist_from_json returns NULL on a malformed object. */
struct cJSON *hist_to_json(const struct hist *h);
struct hist *hist_from_json(const struct cJSON *j);

#endif
