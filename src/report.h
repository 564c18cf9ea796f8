#ifndef LLMLOAD_REPORT_H
#define LLMLOAD_REPORT_H
/* Outputs of a run: terminal summary, the JSON result document
 * (schema "llmload.result/1", docs/schema.md), per-request CSV, raw JSONL. */
#include <stdio.h>
#include "config.h"
#include "result.h"

struct cJSON;

/* The "summary" object: requests, ok, failed, error_rate, duration_s, rps,
 * output_tokens, input_tokens, output_tps, ttft, itl, tpot, e2e (each
 * {min,mean,p50,p90,p95,p99,max} in seconds), request_tps {mean,p05,p50,p95},
 * errors {class: count}, and the extras documented in docs/schema.md. */
struct cJSON *report_summary_json(const struct run_stats *s);
struct cJSON *report_config_json(const struct run_config *c);   /* never the API key */
struct cJSON *report_environment_json(void);                    /* version, host, kernel, start time */
/* The whole result document; the caller frees it. */
struct cJSON *report_result_json(const struct run_config *c, const struct run_stats *s);

/* Terminal summary, human units. */
void report_print_summary(FILE *f, const struct run_config *c, const struct run_stats *s);

/* Writes doc to path (pretty, trailing LF).  0, or -1 with err set. */
int report_write_json(const char *path, const struct cJSON *doc, char *err, size_t errcap);

/* Per-request CSV: opens path, appending when it exists with the same header
 * and refusing (-1, err) when the header differs.  Checked before the run. */
struct report_csv;
struct report_csv *report_csv_open(const char *path, char *err, size_t errcap);
void report_csv_row(struct report_csv *w, const struct req_record *r);
int report_csv_close(struct report_csv *w);     /* NULL is a no-op */

/* Raw JSONL: one line per request with every event's time offset. */
struct report_raw;
struct report_raw *report_raw_open(const char *path, char *err, size_t errcap);
void report_raw_row(struct report_raw *w, const struct req_record *r, uint64_t t0_abs_ns);
int report_raw_close(struct report_raw *w);

#endif
