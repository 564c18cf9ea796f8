#ifndef LLMLOAD_SWEEP_H
#define LLMLOAD_SWEEP_H
/* The sweep driver shared by `llmload sweep` and `llmload compare`
 * (cli/cmd_sweep.c, cli/cmd_compare.c parse their flags into sweep_opts): the
 * loop that runs one full benchmark (with warm-up) per level through
 * engine_run() and gathers the summaries into a sweep document:
 *
 *   {"schema":"llmload.sweep/1", "parameter":"concurrency",
 *    "target":{"name","url","model"}, "config":{...run config...},
 *    "environment":{...}, "threshold":0.1, "slo":["p99(ttft)<=500ms"],
 *    "levels":[{"level":4, "open_loop":{...} (rate > 0), "summary":{...}}, ...],
 *    "knee":{"parameter","level","reason","text","output_tps"} | null,
 *    "find_max":{...} (with --find-max), "error":"..." (target went down)}
 *
 * docs/sweep.md describes the flags and the document. */
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "workload.h"
#include "gate.h"
#include "knee.h"
#include "compare.h"

struct cJSON;
struct gate_expr;
struct run_stats;
struct out_file;

enum sweep_param {
    SWEEP_CONCURRENCY = 0, SWEEP_RATE, SWEEP_TEMPERATURE, SWEEP_MAX_TOKENS, SWEEP_PROMPT_SET,
    SWEEP_MODEL, SWEEP__N
};

/* "concurrency", "rate", "temperature", "max-tokens", "prompt-set", "model". */
const char *sweep_param_name(enum sweep_param p);

#define SWEEP_MAX_SLO 16
#define SWEEP_MAX_TARGETS 16
#define SWEEP_MAX_ROUNDS 32

/* --target NAME=URL[@MODEL] (all owned; model NULL: the run's --model, or
 * the first the server lists). */
struct sweep_target { char *name; char *url; char *model; };
/* --cost NAME=USD_PER_HOUR (name owned). */
struct sweep_cost { char *name; double usd_per_hour; };

/* Levels named rather than numbered (prompt-set, model): "level" is the
 * name and "index" its position. */
int sweep_param_named(enum sweep_param p);

/* What each level shows of itself (the command's --prometheus, --push and
 * monitor, cli/cli_obs.c); NULL callbacks: nothing.  Each level is one
 * engine run, with a listener, pusher and monitor of its own. */
struct engine_hooks;
struct obs_monitor;
struct sweep_level_obs {
    /* Before the level's run: fills h (label: the target's name, "" for
     * sweep; text: the level as the table writes it).  0, or -1 with err. */
    int (*before)(void *ud, const struct run_config *c, const struct run_stats *st,
                  const char *label, const char *param, const char *text, double level,
                  size_t index, struct engine_hooks *h, char *err, size_t errcap);
    /* After it: mon (NULL: none) into the level's entry, the final push.
     * The monitor stays the caller's to free. */
    void (*after)(void *ud, const struct run_config *c, const struct run_stats *st,
                  const struct engine_hooks *h, const struct obs_monitor *mon,
                  struct cJSON *entry);
    void *ud;
};

struct sweep_opts {
    struct run_config *cfg;                 /* the run flags: the base config (the
                                               command's; compare changes url and
                                               model per target) */
    const struct workload_opts *wopts;      /* the prompt flags (prompt-set levels
                                               reopen them) */
    enum sweep_param param;
    double levels[KNEE_MAX_LEVELS];
    char *names[KNEE_MAX_LEVELS];           /* prompt-set and model levels, else NULL */
    char *prompts[KNEE_MAX_LEVELS];         /* their text when a name is a built-in
                                               set (owned), else NULL: the name is
                                               the prompt */
    size_t nlevels;
    double threshold;                       /* --knee-threshold, default 0.10 */
    struct gate_expr *slo[SWEEP_MAX_SLO];   /* --slo, repeatable (owned) */
    size_t nslo;
    int find_max;                           /* --find-max concurrency|rate */
    struct knee_findmax_opts fm;
    int warmup_given;                       /* else each level warms up by itself */
    const char *json_path, *csv_path;       /* the sweep's own outputs */
    struct out_file *json_out, *csv_out;    /* opened by sweep_open_outputs */
    struct gate_opts gate;                  /* --assert, --junit, --markdown */
    struct sweep_level_obs obs;             /* per-level observability */
    /* compare only */
    struct sweep_target targets[SWEEP_MAX_TARGETS];
    size_t ntargets;
    struct sweep_cost costs[SWEEP_MAX_TARGETS];
    size_t ncosts;
    unsigned rounds;                        /* --rounds: runs of each level, alternating
                                               the targets (0, 1: one) */
    const char *files[SWEEP_MAX_TARGETS];   /* `compare a.json b.json` */
    size_t nfiles;
    /* owned storage */
    char *prompt_list;                      /* the prompt-set or model names */
};

/* Frees what sweep_opts owns (cli/cmd_sweep.c fills it). */
void sweep_opts_free(struct sweep_opts *o);

enum sweep_status { SWEEP_DONE = 0, SWEEP_DOWN, SWEEP_INTERRUPTED };

/* Runs every level (or the find-max search) against o->rc.cfg.url with
 * o->rc.cfg.model, printing one progress line per level on log (NULL:
 * silent).  label names the target in those lines ("" for none).  Returns
 * the sweep document (the caller frees it) with *status, or NULL with err
 * when nothing could be run (out of memory, bad URL). */
struct cJSON *sweep_execute(struct sweep_opts *o, const char *label, FILE *log,
                            enum sweep_status *status, char *err, size_t errcap);

/* compare --rounds: one target's sweeps of k rounds (docs[0..k), each a
 * sweep_execute document) as one sweep: each level's summary is the
 * field-wise median of the rounds' summaries (as `run --repeat`), its
 * samples are the rounds' pooled with a "round" column, and "rounds" says
 * k.  A level missing from a round is the rounds that have it.  Returns a
 * new document (the knee recomputed), or NULL on allocation failure. */
struct cJSON *sweep_merge_rounds(const struct sweep_opts *o, struct cJSON *const *docs, size_t k);

/* The "open_loop" object of a level (docs/sweep.md): {offered_rate,
 * achieved_rate, arrivals, sent, late, unsent}; a cJSON null for a closed
 * loop.  NULL on out of memory. */
struct cJSON *sweep_open_loop_json(const struct run_stats *s);

/* Terminal report of a sweep document: the table, then the knee or the
 * find-max outcome in words. */
void sweep_print(FILE *f, const struct cJSON *doc);

/* Opens --json and --csv (json_path, csv_path) into json_out and csv_out
 * before any level runs (out_open, fileio.h: a regular file is replaced
 * atomically when written, a FIFO or device written through), so a path
 * that cannot be written costs no sweep.  0, or -1 with err naming the
 * flag.  sweep_opts_free closes them; one never written is left as it was.
 * The documents then go to report_commit_json(o->json_out, ...) and
 * sweep_commit_csv / sweep_commit_compare_csv(o->csv_out, ...). */
int sweep_open_outputs(struct sweep_opts *o, char *err, size_t errcap);

/* The per-level CSV of doc (knee_csv_write), committed whole to f.  0, or
 * -1 with err "--csv: cannot write PATH: REASON". */
int sweep_commit_csv(struct out_file *f, const struct cJSON *doc, char *err, size_t errcap);
/* compare: one CSV for all targets (compare_csv_write), committed to f. */
int sweep_commit_compare_csv(struct out_file *f, const char *const *names,
                             const struct cJSON *const *sweeps, size_t n,
                             char *err, size_t errcap);
/* sweep_commit_csv to path opened now, for a caller without a handle. */
int sweep_write_csv(const char *path, const struct cJSON *doc, char *err, size_t errcap);

/* --assert on every level of each sweep document (names: the compare
 * targets, NULL for one sweep).  Prints the checks, writes --junit and
 * --markdown.  Returns an exit code (EXIT_OK when no --assert was given). */
int sweep_gate_check(const struct sweep_opts *o, const char *const *names,
                     const struct cJSON *const *sweeps, size_t n, FILE *out,
                     char *err, size_t errcap);

#endif
