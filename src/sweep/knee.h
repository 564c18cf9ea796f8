#ifndef LLMLOAD_KNEE_H
#define LLMLOAD_KNEE_H
/* Sweep analysis: the pure parts of `sweep` and `compare`, with no I/O
 * besides the FILE they print to, so they are tested on synthetic data.
 *
 *   level lists    "1,2,5,10,20" -> {1, 2, 5, 10, 20}
 *   knee           where throughput stops growing, or an SLO first fails
 *   find-max       the largest level meeting every SLO (bracket, bisect),
 *                  with the evaluation of a level injected by the caller
 *   tables, CSV    one row per level, from "summary" objects
 *
 * compare.h holds the analysis of several targets' sweeps.
 *
 * A "levels" array is what `llmload sweep --json` writes:
 *   [{"level": 4, "summary": {...llmload.result/1 summary...}}, ...]
 * or, for prompt sets, a string "level" with a numeric "index". */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;

#define KNEE_MAX_LEVELS 64

/* ---- level lists ---------------------------------------------------------- */

/* Parses a comma-separated list of numbers into out[0..cap).  integer:
 * whole numbers >= 1 only (concurrency, max tokens); otherwise finite
 * numbers >= 0 (minimum > 0 when positive is set: rates).  Levels must be
 * strictly increasing, so a knee is well defined.  Returns the count, or -1
 * with a one-line err naming the bad item and its position ("item 3 'x'"). */
int knee_list_parse(const char *s, int integer, int positive, double *out, size_t cap,
                    char *err, size_t errcap);

/* ---- knee ------------------------------------------------------------------- */

/* What one level measured, as the knee needs it.  NaN when unknown. */
struct knee_point {
    double level;
    double tps;          /* output tokens/s; NaN everywhere: no throughput knee */
    double latency;      /* s: mean E2E, what the latency knee reads; NaN: none */
    double latency_sched;/* s: mean E2E from the schedule (open loop) */
    double offered;      /* open loop: arrivals/s the schedule offered */
    double achieved;     /* open loop: requests/s actually sent; NaN: no rate knee */
    int slo_ok;          /* 1 meets every SLO, 0 fails one, -1 no SLO */
};

enum knee_reason { KNEE_NONE = 0, KNEE_THROUGHPUT, KNEE_RATE, KNEE_SLO };

struct knee {
    enum knee_reason reason;
    long index;          /* the knee level, -1 none (also: SLO fails, or the
                            rate falls short, at the first level) */
    long tput_index;     /* throughput knee, -1 none */
    long peak;           /* the level of highest throughput, -1 none */
    int climbing;        /* throughput still climbs at the last level */
    long lat_index;      /* latency knee, -1 none */
    long slo_fail;       /* first level failing the SLO, -1 none */
    long rate_short;     /* first level sending short of its offered rate, -1 none */
};

/* Finds the knee of pts[0..n) (in level order), `threshold` (0.10 = 10%)
 * deciding what is within noise:
 *   throughput knee  the smallest level whose throughput is within
 *                    threshold of the peak of all levels, so a dip on the
 *                    way up (real servers' per-step cost grows with the
 *                    batch before it levels off) is not taken for it.  None
 *                    when only the last level gets there: throughput still
 *                    climbs.
 *   latency knee     the last level before mean latency rises with the load
 *                    at every step to the last level; a step "rises" when
 *                    latency grows at least half as much as the level
 *                    (past saturation it grows as much: Little's law, whose
 *                    latency is the mean).
 *   rate knee        the last level before the first whose achieved rate
 *                    falls short of its offered rate by more than threshold.
 *   SLO knee         the last level before the first that fails the SLO.
 * The knee is the lowest of the throughput, rate and SLO knees (ties in
 * that order); the latency knee confirms the throughput knee.  Always
 * succeeds. */
void knee_detect(const struct knee_point *pts, size_t n, double threshold, struct knee *k);

/* The knee in words, e.g. "throughput saturates at concurrency 8 (683
 * tok/s): 0.6% below the peak, 687 tok/s at 16; latency knee at concurrency
 * 8: mean latency grows 2.0x from 8 to 16".  names: level labels (NULL: the
 * numbers).  slo: the SLO text or NULL. */
void knee_describe(const struct knee *k, const struct knee_point *pts, size_t n,
                   const char *parameter, const char *const *names, double threshold,
                   const char *slo, char *buf, size_t cap);

/* {"parameter", "level", "reason" ("throughput", "rate", "slo" or "none"),
 * "output_tps", "throughput_level", "latency_level", "rate_level",
 * "peak_level", "peak_output_tps", "confirmed", "text"}; a cJSON null when
 * there is nothing to say (no levels; no throughput, rate or SLO to judge).
 * Levels are numbers, or names when names != NULL; null when there is none
 * (level: also when the SLO fails, or the rate falls short, at the first
 * level). */
struct cJSON *knee_to_json(const struct knee *k, const struct knee_point *pts, size_t n,
                           const char *parameter, const char *const *names, double threshold,
                           const char *slo);

/* Fills pts from a levels array (see above): throughput, latencies, the
 * level's "slo_ok" (-1 without) and its "open_loop" rates (NaN without).
 * Returns the count (at most cap), or -1 when levels is not an array of
 * objects with a "summary". */
int knee_points_from_levels(const struct cJSON *levels, struct knee_point *pts, size_t cap);

/* The knee of a sweep's levels as knee_to_json gives it, read the way the
 * parameter asks: throughput and latency knees only for load (concurrency,
 * rate), the rate knee only for rate, whose latency is counted from the
 * schedule.  slo: the SLO text or NULL. */
struct cJSON *knee_of_levels(const struct cJSON *levels, const char *parameter, double threshold,
                             const char *slo);

/* ---- find-max ---------------------------------------------------------------- */

/* What the runs at one level measured, as the search needs it.  The
 * evaluation fills it in; a run of more requests at the same level adds
 * to it. */
struct knee_probe {
    int ok;              /* every aggregate SLO held (1 when there is none) */
    uint64_t good;       /* per-request SLO: good requests, over all runs */
    uint64_t judged;     /* and requests judged */
    int saturated;       /* the level is past saturation (knee_saturated) */
};

/* Runs one level: more == 0 a fresh run (p zeroed), more > 0 that many
 * more requests at the same level, added to p.  Returns 0, or a negative
 * code to abort the search (run failed, interrupted). */
typedef int (*knee_eval_fn)(void *ud, double level, uint64_t more, struct knee_probe *p);

struct knee_findmax_opts {
    double start;        /* first level tried (> 0) */
    double limit;        /* never try above this */
    double step;         /* resolution: stop when hi - lo <= step; 0: 1 for
                            integer levels, 5% of the passing level otherwise */
    int integer;         /* levels are whole numbers (concurrency) */
    int max_runs;        /* give up after this many levels (0: 32) */
    double goodput;      /* target attainment (0.95), 0: judge by ok alone */
    int more_max;        /* runs of more requests a level may get (0: 2) */
    int hold;            /* run the level found once more to confirm it */
};

/* One level of the search.  lo, hi: the attainment's Wilson 95% interval
 * (NaN without a goodput target). */
struct knee_try {
    double level;
    int ok;
    int saturated;
    int runs;            /* 1, or more when the interval straddled the target */
    uint64_t good, judged;
    double lo, hi;
};

struct knee_findmax {
    struct knee_try tried[KNEE_MAX_LEVELS];
    size_t ntried;
    double best;         /* largest level that met every SLO, NaN none */
    double first_fail;   /* smallest level that failed, NaN none */
    int at_limit;        /* best == limit: the true maximum may be higher */
    int exhausted;       /* stopped by max_runs before the resolution */
    int held;            /* hold holds the confirmation run of best */
    struct knee_try hold;
};

/* Brackets (doubling from start until a level fails, or halving down when
 * start already fails), then bisects between the last pass and the first
 * fail until they are one step apart.  Assumes that meeting the SLO is
 * monotonic in the level.  A saturated level fails.  With a goodput
 * target a level passes when its attainment's Wilson lower bound meets
 * it and fails when the upper bound is below it; when the interval
 * straddles the target the level is run again with as many more requests
 * as it had (at most more_max times), and a level still undecided fails
 * (not shown to meet it).  With hold, the level found is run once more
 * and judged alone.  Returns 0, or the negative code of eval (r holds
 * what was tried so far). */
int knee_findmax_run(const struct knee_findmax_opts *o, knee_eval_fn eval, void *ud,
                     struct knee_findmax *r);
/* The hold alone, after a search run without it (r->best NaN: nothing to
 * hold, 0).  0, or eval's negative code. */
int knee_findmax_hold(const struct knee_findmax_opts *o, knee_eval_fn eval, void *ud,
                      struct knee_findmax *r);

/* A level past saturation, whatever its SLO says, so a search does not
 * spend long far past the knee: in an open loop, it sent short of its
 * offered rate by more than threshold (open_loop: the level's
 * "open_loop", NULL for a closed loop), or its requests waited longer
 * for the concurrency cap (queue_time p50) than they took to be served
 * (e2e p50): the backlog grows. */
int knee_saturated(const struct cJSON *summary, const struct cJSON *open_loop, double threshold);

/* ---- past capacity -------------------------------------------------------------- */

/* How far past a capacity the search probes: goodput at 1.5x the capacity
 * says whether the server degrades gracefully or collapses under overload
 * (docs/metrics.md, "Capacity"). */
#define KNEE_PAST_FACTOR 1.5

/* The level probed past capacity: KNEE_PAST_FACTOR x capacity, rounded up
 * for whole levels (concurrency 8 -> 12, 5 -> 8), as it is for a rate. */
double knee_past_level(double capacity, int integer);

/* The verdict on retained (good output tok/s past capacity over at it):
 * "degrades gracefully" at >= 1 - threshold (within what the knee calls
 * noise), "collapses" below 0.5 (lost more than it kept), "degrades" in
 * between, "unknown" for NaN. */
const char *knee_past_verdict(double retained, double threshold);

/* Past capacity from two level entries of a sweep ({"level", "summary",
 * "open_loop", "samples"}): at, the run at the capacity (its hold), and
 * past, the run at knee_past_level of it.  Returns
 *   {"factor", "capacity", "level", "judged", "good", "attainment", "lo",
 *    "hi", "capacity_attainment", "goodput_rps", "goodput_tps",
 *    "capacity_goodput_rps", "capacity_goodput_tps", "retained",
 *    "success_rate", "shed_429", "shed_503", "saturated", "verdict", "text"}
 * (NaN fields as null), NULL on allocation failure.  parameter names the
 * levels in the text. */
struct cJSON *knee_past_json(const struct cJSON *at, const struct cJSON *past,
                             const char *parameter, double threshold);

/* Good output tokens/s of a level's summary: its goodput (summary.slo)
 * when the level measured one against per-request limits, else the output
 * tokens/s of every successful request. */
double knee_good_tps(const struct cJSON *summary);

/* ---- tables ------------------------------------------------------------------- */

/* The terminal table of a sweep: one row per level with throughput
 * (tok/s), tok/s per user, RPS, avg/p95/p99 latency, TTFT p50/p95, success
 * rate; queue p95, late arrivals and the offered and achieved rates (the
 * level's "open_loop") too when open_loop. */
void knee_table_print(FILE *f, const char *parameter, const struct cJSON *levels, int open_loop);

/* CSV: a header and one row per level (units in the header: _s seconds,
 * _tps tokens/s).  0, or -1 on a write error. */
int knee_csv_write(FILE *f, const char *parameter, const struct cJSON *levels);

#endif
