#ifndef LLMLOAD_SCALE_H
#define LLMLOAD_SCALE_H
/* One run over several processes or machines (docs/scale.md): the shards'
 * result documents merged into the document of one run, and the notes a
 * shard leaves in its document so that the merge can check it.
 *
 * The split itself is the engine's (config_shard_part, the open loop's
 * dealt arrivals): a shard is an ordinary run of part of the load. */
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>
#include "opt.h"

struct cJSON;
struct run_stats;
struct run_config;
struct report_csv;
struct report_raw;

/* --workers, --shard, --start-at (run): the table's user data. */
#define SCALE_WORKERS_MAX 256
struct scale_opts {
    uint32_t shard_index, shard_count;  /* --shard I/N; count 0: not given */
    const char *start_at;               /* --start-at, as given */
    uint32_t workers;                   /* --workers; 0: not given */
    struct sockaddr_storage *local;     /* --local-addrs (SCALE_LOCAL_MAX slots) */
    uint32_t nlocal;
};
#define SCALE_LOCAL_MAX 4096
extern const struct opt_table scale_opt_table;
void scale_opts_init(struct scale_opts *s);
void scale_opts_free(struct scale_opts *s);
/* After the flags: into cfg (shard, start_at_ns, workers, local_addrs,
 * which stay s's), checking that they agree (--shard needs --seed; -c
 * covers every part; --start-at is ahead, within 24 h) and that the
 * streams fit the open-file limit (the soft one raised to the hard one)
 * in the processes given; warns when one local address would need more
 * ports than it has.  0, or -1 with err (a usage error). */
int scale_opts_apply(struct scale_opts *s, struct run_config *cfg, char *err, size_t errcap);
/* The cores this process may run on (sched_getaffinity), at least 1. */
uint32_t scale_cpus(void);

/* Runs cfg (cfg->workers > 1) in that many forked processes, worker i
 * being shard i of them, each with its own loop, pinned to a core of its
 * own where allowed.  The per-request rows of each go to csv and raw
 * (either NULL), a worker's after another's; stats (run_stats_init()ed)
 * receives the exact merge.  Ctrl-C and SIGTERM are passed on to every
 * worker (the first: grace, the second: abort).  One progress line when
 * cfg->progress.  A Ctrl-C that came after the last worker had finished
 * goes to the handler that was there before (a sweep's, which then runs
 * no more levels).  LL_OK when the run took place (stats->interrupted may
 * be set), else an LL_ status with err (the first worker's failure). */
int scale_workers_run(const struct run_config *cfg, struct run_stats *stats,
                      struct report_csv *csv, struct report_raw *raw, char *err, size_t errcap);

/* One run of one configuration, as run, each sweep level and each compare
 * target's level do it: engine_run with hooks in this process when
 * cfg->workers <= 1, else scale_workers_run over cfg->workers processes,
 * or as many as cfg has connections when fewer (a sweep's low levels),
 * which have no listener, pusher or monitor (hooks unused; csv and raw
 * take the rows).  The status and err of the one that ran. */
struct engine_hooks;
int scale_run(const struct run_config *cfg, struct run_stats *stats, const struct engine_hooks *hooks,
              struct report_csv *csv, struct report_raw *raw, char *err, size_t errcap);

/* --workers for sweep and compare: scale_opts_apply for levels of up to
 * peak connections (the descriptor check is the largest level's), where a
 * level of fewer connections than workers runs in fewer processes. */
int scale_opts_apply_levels(struct scale_opts *s, struct run_config *cfg, uint32_t peak,
                            char *err, size_t errcap);

/* Shards whose measured windows began further apart than this (on their
 * own clocks) are warned about: their latencies are fine, their common
 * time line (rates, the window) is not. */
#define SCALE_SKEW_WARN_NS 5000000ll

/* Parses "I/N" (0 <= I < N, 2 <= N <= SCALE_SHARDS_MAX).  0, or -1 with a
 * one-line err naming flag and value. */
#define SCALE_SHARDS_MAX 4096
int scale_parse_shard(const char *flag, const char *v, uint32_t *index, uint32_t *count,
                      char *err, size_t errcap);

/* Parses an RFC 3339 time ("2026-12-05T10:30:00Z", "...+01:00", with
 * fractions of a second) into Unix ns, and checks it is neither past nor
 * more than 24 h ahead of now_ns.  0, or -1 with err. */
int scale_parse_start_at(const char *flag, const char *v, int64_t now_ns, int64_t *out,
                         char *err, size_t errcap);

/* The run_id every shard of one run shares without talking to the others:
 * the start time's second and a hash of the seed and the shard count. */
void scale_shared_run_id(char *dst, size_t cap, int64_t start_at_ns, uint64_t seed, uint32_t count);

/* Adds "clock" to a shard's environment: what the kernel's clock
 * discipline says of this machine's wall clock (util_clock_status), and
 * the bounds on its offset to the server's clock from the Date headers
 * (srvclock.h; none when sc is NULL or no response had a Date). */
struct srv_clock;
void scale_note_clock(struct cJSON *environment, const struct srv_clock *sc);

/* Merges the documents of the shards of one run (docs[i] read from
 * names[i]) into one result document of the same form as a single run's,
 * with "merged" listing the shards.  Refuses, with a one-line err naming
 * the field and both values, documents that are not single runs, shards of
 * different runs or configurations, a missing or repeated shard.  warn
 * gets a line ("" none) when the shards' clocks or starts disagree by more
 * than SCALE_SKEW_WARN_NS, or when their offsets to the server's clock
 * (Date headers) are too coarse to tell.  NULL on refusal or out of memory. */
struct cJSON *scale_merge_docs(struct cJSON *const *docs, const char *const *names, size_t n,
                               char *warn, size_t warncap, char *err, size_t errcap);

/* The run in a document (its counters, histograms and samples) merged into s
 * (run_stats_init()ed, or holding what was merged so far).  0, or -1 with
 * err naming the document. */
int scale_merge_stats(struct run_stats *s, const struct cJSON *doc, const char *name, int first,
                      char *err, size_t errcap);

#endif
