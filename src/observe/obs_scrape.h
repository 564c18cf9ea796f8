#ifndef LLMLOAD_OBS_SCRAPE_H
#define LLMLOAD_OBS_SCRAPE_H
/* What an inference server says about itself on its /metrics: a reader of
 * the Prometheus text format (0.0.4 and OpenMetrics), and the gauges and
 * counters llmload knows of vLLM, llama.cpp, TGI and SGLang mapped onto one
 * set of fields (docs/observability.md has the table).  Counters become
 * per-run deltas, so a hit rate is this run's, not since the server
 * started. */
#include <stddef.h>

struct obs_prom_sample {
    const char *name;                   /* not NUL-terminated */
    size_t name_len;
    const char *labels;                 /* inside the braces, raw; "" when none */
    size_t labels_len;
    double value;
};

/* Called for each sample; return 0 to go on. */
typedef int (*obs_prom_fn)(void *ud, const struct obs_prom_sample *s);

/* Walks the samples of text (comments, blank lines and "# EOF" skipped).
 * A line that is not a sample is skipped and counted: the return value is
 * the number of such lines. */
size_t obs_prom_parse(const char *text, size_t len, obs_prom_fn fn, void *ud);

/* The value of label name in s, unescaped into out (cap >= 1).  0, or -1
 * when s has no such label. */
int obs_prom_label(const struct obs_prom_sample *s, const char *name, char *out, size_t cap);

enum obs_srv_kind { OBS_SRV_UNKNOWN = 0, OBS_SRV_VLLM, OBS_SRV_LLAMACPP, OBS_SRV_TGI,
                    OBS_SRV_SGLANG };
const char *obs_srv_kind_name(enum obs_srv_kind k);     /* "vllm", "llama.cpp", ... */

/* One meaning, whatever the server calls it. */
enum obs_srv_field {
    OBS_SF_RUNNING,                     /* requests being generated (gauge) */
    OBS_SF_WAITING,                     /* requests queued (gauge) */
    OBS_SF_KV_USAGE,                    /* KV-cache usage 0..1 (gauge) */
    OBS_SF_KV_TOKENS,                   /* tokens in the KV cache (gauge) */
    OBS_SF_PREFIX_HIT_RATE,             /* the server's own hit rate 0..1 (gauge) */
    OBS_SF_PROMPT_TOKENS,               /* counters from here on */
    OBS_SF_GEN_TOKENS,
    OBS_SF_PREFIX_QUERIES,              /* prefix-cache lookups (tokens) */
    OBS_SF_PREFIX_HITS,                 /* prefix-cache hits (tokens) */
    OBS_SF_PREEMPTIONS,
    OBS_SF_REQUESTS,                    /* requests finished */
    OBS_SF__COUNT
};
#define OBS_SF_FIRST_COUNTER OBS_SF_PROMPT_TOKENS

/* "requests_running", "kv_cache_usage", "prompt_tokens", ... */
const char *obs_srv_field_name(enum obs_srv_field f);

/* One scrape: every known field's value (NaN when the server has none);
 * several samples of one metric (per model, per engine) are added up, or
 * for a ratio the largest is kept. */
struct obs_srv_metrics {
    enum obs_srv_kind kind;
    double v[OBS_SF__COUNT];
    size_t known, other, malformed;     /* samples of each sort */
};

/* Reads one scrape.  other (may be NULL) gets every sample llmload does
 * not know, for --server-metrics-all. */
void obs_srv_parse(const char *text, size_t len, struct obs_srv_metrics *out, obs_prom_fn other,
                   void *ud);

/* A counter followed across scrapes: what it grew by since the first one,
 * a drop counted as a restart of the server (the new value is all growth). */
struct obs_counter_delta {
    double first, last, grown;
    int seen;
};
void obs_counter_add(struct obs_counter_delta *d, double v);

#endif
