#ifndef LLMLOAD_SLO_H
#define LLMLOAD_SLO_H
/* Per-request service levels and goodput (docs/metrics.md, "Goodput").
 *
 * A limit applies to one request: `ttft<=500ms`, `itl_max<=200ms`,
 * `tokens_min>=64`.  A request is good when it succeeded and met every
 * limit.  The evaluation is done once, when the request finishes, and
 * leaves only counts (struct slo_tally), which merge by adding: a level
 * run again with more requests adds its tally to the first one.
 *
 *   slo_parse(&spec, "ttft<=1s,tpot<=50ms", ...)     per-request items
 *   slo_parse_vllm(&spec, "ttft:500 tpot:50", ...)  vLLM's --goodput (ms)
 *   miss = slo_eval(&spec, rec)                     bit i: limit i failed
 *   slo_tally_add(&t, &spec, rec)                   when a request finishes
 *   slo_wilson(t.good, t.judged, 1.96, &lo, &hi)    the attainment's interval
 */
#include <stddef.h>
#include <stdint.h>

struct req_record;

enum slo_kind {
    SLO_TTFT = 0,       /* first content event, from the schedule */
    SLO_TTFT_OUTPUT,    /* first non-reasoning content event, from the schedule */
    SLO_TPOT,           /* (E2E - TTFT) / (tokens - 1), from the start */
    SLO_ITL_MAX,        /* the longest gap between two content events: a stall */
    SLO_E2E,            /* response complete, from the schedule */
    SLO_TOKENS_MIN,     /* output tokens at least */
    SLO__N
};

/* "ttft", "ttft_output", "tpot", "itl_max", "e2e", "tokens_min". */
const char *slo_kind_name(enum slo_kind k);

#define SLO_TEXT_MAX 256

struct slo_limit {
    int set;            /* given */
    int strict;         /* < (or > for tokens_min) instead of <= (>=) */
    double value;       /* ns for times, tokens for tokens_min */
};

/* The limits of a run: at most one per kind (a later one replaces an
 * earlier one).  Plain data: a run config copies it by value. */
struct slo_spec {
    struct slo_limit lim[SLO__N];
    int n;                      /* limits set */
    char text[SLO_TEXT_MAX];    /* canonical: "ttft<=500ms,itl_max<=200ms" */
};

/* Parses one item "NAME OP VALUE" into spec.  NAME is a kind or an alias
 * (time_to_first_token -> ttft, inter_token_latency -> tpot, e2el and
 * request_latency -> e2e, tokens -> tokens_min); times take the
 * units of units.h (a bare number is seconds), tokens_min a whole number.
 * Returns 1 when added, 0 when item is not a per-request limit (a STAT(...)
 * or another metric: the caller may read it as an aggregate expression), or
 * -1 with a one-line err. */
int slo_parse_item(struct slo_spec *spec, const char *item, char *err, size_t errcap);

/* vLLM's `--goodput ttft:500 tpot:50 e2el:1000`: KEY:MILLISECONDS items
 * separated by blanks (AIPerf's time_to_first_token:, inter_token_latency:
 * and request_latency: too).  0, or -1 with err. */
int slo_parse_vllm(struct slo_spec *spec, const char *s, char *err, size_t errcap);

/* Rebuilds spec->text after a change (the parsers call it). */
void slo_spec_text(struct slo_spec *spec);

/* The limits r failed, bit (1 << kind) each; 0 when it met every one.  r
 * must have succeeded (the caller counts errors apart).  Cheap: a few
 * comparisons on numbers the record already holds. */
unsigned slo_eval(const struct slo_spec *spec, const struct req_record *r);

/* What the evaluation leaves of a run: counts only, so two tallies merge
 * by adding (slo_tally_merge). */
struct slo_tally {
    uint64_t judged;            /* finished, not cut off: good + missed */
    uint64_t good;
    uint64_t errors;            /* failed requests: misses */
    uint64_t cut;               /* cut off in flight (aborted): not judged */
    uint64_t good_tokens;       /* output tokens of good requests */
    uint64_t miss[SLO__N];      /* successful requests that failed each limit */
};

/* Counts one finished, non-warm-up request.  aborted: cut off in flight,
 * counted apart and not judged. */
void slo_tally_add(struct slo_tally *t, const struct slo_spec *spec, const struct req_record *r,
                   int aborted);
void slo_tally_merge(struct slo_tally *dst, const struct slo_tally *src);

/* The limit failed most often, -1 when none failed. */
int slo_binding(const struct slo_spec *spec, const struct slo_tally *t);

/* Wilson score interval of k successes in n trials at normal quantile z
 * (1.96 for 95%): [*lo, *hi], both NaN when n is 0. */
void slo_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi);

#define SLO_Z95 1.959963984540054

/* What a tally says over wall_s seconds (docs/metrics.md, "Goodput"):
 * attainment good / judged with its Wilson 95% interval (NaN when none was
 * judged), goodput in good requests/s and good output tokens/s (NaN
 * without a wall time), and the binding limit (-1 none). */
struct slo_result {
    double attainment, lo, hi;
    double goodput_rps, goodput_tps;
    int binding;
};
void slo_result(const struct slo_spec *spec, const struct slo_tally *t, double wall_s,
                struct slo_result *out);

#endif
