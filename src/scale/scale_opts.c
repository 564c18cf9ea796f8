/* The flags that spread a run over processes and machines (docs/scale.md):
 * one table, accepted by `run`. */
#include "scale.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

enum scale_flag { S_SHARD, S_START_AT, S_WORKERS };

static int scale_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                       char *err, size_t cap)
{
    struct scale_opts *s = ud;
    char *end;
    switch ((enum scale_flag)o->id) {
    case S_SHARD:
        return scale_parse_shard(flag, v, &s->shard_index, &s->shard_count, err, cap) < 0 ? -1 : 1;
    case S_START_AT:
        s->start_at = v;
        return 1;
    case S_WORKERS:
        if (!strcmp(v, "auto")) {
            s->workers = scale_cpus();
            return 1;
        }
        unsigned long n = strtoul(v, &end, 10);
        if (end == v || *end || *v == '-' || n < 1 || n > SCALE_WORKERS_MAX) {
            snprintf(err, cap, "%s %s: expected auto or a number of processes from 1 to %d", flag, v,
                     SCALE_WORKERS_MAX);
            return -1;
        }
        s->workers = (uint32_t)n;
        return 1;
    }
    return 0;
}

static const struct opt scale_opt_list[] = {
    OPT_SECTION("several processes and machines (docs/scale.md)"),
    { S_WORKERS, "--workers", { NULL }, "N|auto",
      "run in N processes, one per core (auto: every core this process may\n"
      "use), each with its share of the load; one result (default 1)" },
    { S_SHARD, "--shard", { NULL }, "I/N",
      "run shard I of N (0-based) of a run spread over machines: its share of\n"
      "the load; needs --seed; merge the shards with llmload merge" },
    { S_START_AT, "--start-at", { NULL }, "TIME",
      "begin at this wall-clock time (RFC 3339, 2026-12-05T10:30:00Z), so the\n"
      "shards start together; within the next 24 h" },
};

const struct opt_table scale_opt_table = OPT_TABLE(scale_opt_list, scale_apply);

void scale_opts_init(struct scale_opts *s)
{
    memset(s, 0, sizeof *s);
}

uint32_t scale_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n < 1 ? 1 : n > SCALE_WORKERS_MAX ? SCALE_WORKERS_MAX : (uint32_t)n;
}

int scale_opts_apply(struct scale_opts *s, struct run_config *cfg, char *err, size_t errcap)
{
    if (s->shard_count && !cfg->seed_given) {
        snprintf(err, errcap, "--shard needs --seed: every shard must draw the same schedule and "
                 "workload (give them all the same --seed)");
        return -1;
    }
    if (s->shard_count && s->workers > 1) {
        snprintf(err, errcap, "--shard and --workers: run one process per shard (more shards)");
        return -1;
    }
    if (s->start_at && scale_parse_start_at("--start-at", s->start_at, util_wall_ns(),
                                            &cfg->start_at_ns, err, errcap) < 0)
        return -1;
    uint32_t parts = s->shard_count ? s->shard_count : s->workers;
    if (parts > 1 && cfg->concurrency < parts) {
        snprintf(err, errcap, "-c %u is fewer than the %u %s: each needs at least one connection",
                 cfg->concurrency, parts, s->shard_count ? "shards" : "workers");
        return -1;
    }
    cfg->shard_index = s->shard_index;
    cfg->shard_count = s->shard_count;
    cfg->workers = s->workers ? s->workers : 1;
    return 0;
}
