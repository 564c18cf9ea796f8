#ifndef LLMLOAD_KNEE_INT_H
#define LLMLOAD_KNEE_INT_H
/* Helpers knee.c shares with compare.c: reading a levels array and the
 * terminal's number formats.  Not an API for other modules. */
#include <stddef.h>
#include <stdio.h>

struct cJSON;

/* Formats at the end of buf without overflowing; a truncated message is
 * still NUL-terminated. */
void knee_appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* summary[metric][stat], NaN when absent. */
double knee_jstat(const struct cJSON *summary, const char *metric, const char *stat);
/* A level's "summary" object, or NULL. */
const struct cJSON *knee_level_summary(const struct cJSON *lv);
/* The level's label: its number ("4", "2.5") or its name ("short"). */
const char *knee_level_label(const struct cJSON *lv, char *buf, size_t cap);
/* ok / requests of a summary, NaN with no requests. */
double knee_success_rate(const struct cJSON *s);

/* What a level past capacity says, into o: "retained" (kept), its
 * "success_rate", what the server shed ("shed_429", "shed_503": counted
 * beside the reservoir, or a result's rate_limited errors) and the
 * "verdict" (knee_past_verdict), which it returns; s429, s503 get the
 * counts (NaN unknown). */
const char *knee_past_fields(struct cJSON *o, const struct cJSON *entry, double kept, double threshold,
                             double *s429, double *s503);

/* Seconds in human units, a number with printf format f, a fraction as a
 * percentage; "-" for NaN or inf.  Each returns buf. */
const char *knee_fmt_secs(double v, char *buf, size_t cap);
const char *knee_fmt_num(double v, const char *f, char *buf, size_t cap);
const char *knee_fmt_pct(double v, char *buf, size_t cap);

/* The CSV of a sweep (knee_csv_write): its header, and its rows, each led
 * by the field lead when lead is not NULL (compare's target name). */
#define KNEE_CSV_HEADER "parameter,level,requests,ok,failed,success_rate,rps,output_tps," \
                        "tps_per_user,e2e_mean_s,e2e_p95_s,e2e_p99_s,ttft_p50_s,ttft_p95_s," \
                        "queue_p95_s,late,offered_rate,achieved_rate"
void knee_csv_rows(FILE *f, const char *lead, const char *parameter, const struct cJSON *levels);

#endif
