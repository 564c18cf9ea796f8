#ifndef LLMLOAD_REPORT_H
#define LLMLOAD_REPORT_H
/* Outputs of a run: terminal summary, the JSON result document
 * (schema "llmload.result/1", docs/schema.md), per-request CSV, raw JSONL.
 * Metric definitions: docs/metrics.md. */
#include <stdio.h>
#include "config.h"
#include "result.h"

struct cJSON;

#define REPORT_SCHEMA "llmload.result/1"
#define REPORT_CSV_HEADER "run_id,index,start_s,status,ok,error,ttft_s,latency_s,output_tokens," \
                          "input_tokens,request_tps,total_duration_s,events,prefill_s," \
                          "decode_per_token_s,load_s,cached_tokens,ttft_minus_prefill_s," \
                          "server_tokens,local_tokens,ttft_reasoning_s,ttft_output_s," \
                          "reasoning_tokens,answer_tokens,tool_calls,ttft_server_s,ttft_rest_s," \
                          "itl_max_s,slo_good,slo_missed"

/* Self-check limits: past either one the client, not the server, may be
 * what the latencies measure. */
#define REPORT_BUSY_LIMIT 0.9               /* fraction of loop time busy */
#define REPORT_LAG_LIMIT_NS 10000000ull     /* 10 ms timer lag at p99 */

/* The "summary" object: requests, ok, failed, error_rate, duration_s, rps,
 * output_tokens, input_tokens, output_tps, ttft, itl, tpot, e2e (each
 * {n,min,mean,p50,p90,p95,p99,max,stdev} in seconds, null values when no
 * samples), request_tps {mean,p05,p50,p95}, errors {class: count}, and the
 * extras documented in docs/schema.md.  Never NaN.  NULL on out of memory;
 * the caller frees the result. */
struct cJSON *report_summary_json(const struct run_stats *s);
/* Every field of c, times in seconds, api by name; never the API key, only
 * "api_key_set".  NULL on out of memory. */
struct cJSON *report_config_json(const struct run_config *c);
/* Version, hostname, os, kernel, machine, cpus, start_time (ISO-8601 UTC of
 * s->start_wall_ns; now when s is NULL) and run_id (s's; none when s is
 * NULL).  NULL on out of memory. */
struct cJSON *report_environment_json(const struct run_stats *s);
/* The whole result document: schema, config, environment, summary,
 * interrupted, histograms (hist_to_json of each) and counters
 * (run_stats_counters_json), the last two for merging runs.
 * NULL on out of memory; the caller frees it. */
struct cJSON *report_result_json(const struct run_config *c, const struct run_stats *s);
/* The same document from a config and environment already made (a merge
 * of shards has their documents, not their run_config); it takes both,
 * also on failure. */
struct cJSON *report_result_json_of(struct cJSON *config, struct cJSON *environment,
                                    const struct run_stats *s);

/* Terminal summary, human units, every number with its unit. */
void report_print_summary(FILE *f, const struct run_config *c, const struct run_stats *s);

/* Writes doc (pretty, trailing LF) as the whole content of f, an output
 * opened before the run with out_open (fileio.h: a regular file is replaced
 * atomically, a FIFO, device or descriptor written through).  0, or -1 with
 * err naming the path and the reason. */
struct out_file;
int report_commit_json(struct out_file *f, const struct cJSON *doc, char *err, size_t errcap);
/* The same for a path opened now: out_open, report_commit_json, out_close.
 * For callers that could not open their output before the run. */
int report_write_json(const char *path, const struct cJSON *doc, char *err, size_t errcap);
/* Checks before a run that report_write_json(path) can succeed, by the
 * rules of out_open, creating nothing (out_check).  0, or -1 with err.
 * Opening the output with out_open before the run is better: what was
 * checked is then what gets written. */
int report_check_writable(const char *path, char *err, size_t errcap);

/* Per-request CSV (REPORT_CSV_HEADER): opens path, appending when it exists
 * with exactly this header, refusing (NULL, err names the file) when the
 * header differs, creating it (header written at once) otherwise.  So an
 * unwritable path fails here, before any run. */
struct report_csv;
struct report_csv *report_csv_open(const char *path, char *err, size_t errcap);
/* The per-request limits the slo_good column judges by (a copy). */
void report_csv_slo(struct report_csv *w, const struct slo_spec *spec);
/* One row per request; warm-up records are skipped.  A write error is kept
 * and returned by report_csv_close. */
void report_csv_row(struct report_csv *w, const struct req_record *r);
/* Flushes and closes.  0, or a negative errno of the first write error.
 * NULL is a no-op. */
int report_csv_close(struct report_csv *w);
/* The same, with the error as a line naming the file and the reason
 * ("cannot write csv file out.csv: No space left on device"). */
int report_csv_finish(struct report_csv *w, char *err, size_t errcap);

/* Raw JSONL: truncates/creates path (/dev/stdout, /dev/fd/N: that
 * descriptor, at its offset); one line per request (warm-up
 * included, flagged) with every event's time offset (docs/schema.md).
 * t0_abs_ns is the run's t0 on the uv_hrtime() clock. */
struct report_raw;
struct report_raw *report_raw_open(const char *path, char *err, size_t errcap);
void report_raw_row(struct report_raw *w, const struct req_record *r, uint64_t t0_abs_ns);
/* The event times r holds (ev_us[0..ev_n)), before they leave memory: kept
 * in an unlinked temporary file beside the raw file (else in $TMPDIR) and
 * written into r's line by report_raw_row.  Notes where in r (spill_head,
 * spill_tail).  A write error is kept, as for the rows. */
void report_raw_events(struct report_raw *w, struct req_record *r);
int report_raw_close(struct report_raw *w);     /* as report_csv_close */
int report_raw_finish(struct report_raw *w, char *err, size_t errcap);  /* as report_csv_finish */

/* The per-request file another process (a worker of the run) wrote at
 * path, appended to w: its rows after its header, or its raw lines.  A
 * failure is kept, as for the rows. */
void report_csv_splice(struct report_csv *w, const char *path);
void report_raw_splice(struct report_raw *w, const char *path);

/* Helpers shared by the outputs. */
int report_client_bottleneck(const struct run_stats *s);  /* busy or lagging past limits */
double report_eval_rate(const struct run_stats *s);       /* server tokens/s, NaN if unknown */
/* The local and the server's output counts differ by more than
 * RESULT_TOKEN_DIFF_WARN on average. */
int report_token_warning(const struct run_stats *s);
double report_stamped_frac(const struct run_stats *s);    /* kernel-stamped reads / reads, NaN if n/a */
/* url with any userinfo ("user:pass@") replaced by "***", into buf. */
const char *report_url_redacted(const char *url, char *buf, size_t cap);
/* "2025-01-31T12:34:56.789Z".  Writes into buf (cap >= 32), returns buf. */
const char *report_iso8601(int64_t unix_ns, char *buf, size_t cap);

#endif
