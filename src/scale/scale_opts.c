/* The flags that spread a run over processes and machines (docs/scale.md):
 * one table, accepted by `run`. */
#include "scale.h"

#include <arpa/inet.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

enum scale_flag { S_SHARD, S_START_AT, S_WORKERS, S_LOCAL };

/* One address into ss (port 0): 0, or -1. */
static int parse_addr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        return 0;
    }
    return -1;
}

/* The address after ss (the last byte carried upwards); 0 past the end. */
static int addr_next(struct sockaddr_storage *ss)
{
    unsigned char *b = ss->ss_family == AF_INET ? (unsigned char *)&((struct sockaddr_in *)ss)->sin_addr
                                                : ((struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
    for (int i = ss->ss_family == AF_INET ? 3 : 15; i >= 0; i--)
        if (++b[i] != 0)
            return 1;
    return 0;
}

static int addr_cmp(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr, &((const struct sockaddr_in *)b)->sin_addr, 4);
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* "A,B-C,...": each address, or each of an inclusive range of one family,
 * appended to s->local. */
static int parse_local(struct scale_opts *s, const char *flag, const char *v, char *err, size_t cap)
{
    char item[128];
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ",");
        struct sockaddr_storage lo, hi;
        if (n == 0 || n >= sizeof item)
            goto bad;
        memcpy(item, p, n);
        item[n] = '\0';
        p += n + (p[n] == ',');
        /* A '-' splits a range; an IPv6 address has none of its own. */
        char *dash = strchr(item, '-');
        if (dash)
            *dash = '\0';
        if (parse_addr(item, &lo) < 0 || (dash && parse_addr(dash + 1, &hi) < 0))
            goto bad;
        if (!dash)
            hi = lo;
        if (hi.ss_family != lo.ss_family || addr_cmp(&lo, &hi) > 0)
            goto bad;
        for (int more = 1; more; more = addr_cmp(&lo, &hi) < 0 && addr_next(&lo)) {
            if (s->nlocal == SCALE_LOCAL_MAX) {
                snprintf(err, cap, "%s %s: more than %d addresses", flag, v, SCALE_LOCAL_MAX);
                return -1;
            }
            s->local[s->nlocal++] = lo;
        }
    }
    return 0;
bad:
    snprintf(err, cap, "%s %s: expected addresses or ranges of this host, comma-separated "
             "(127.0.0.2-127.0.0.9, or ::1,fd00::2)", flag, v);
    return -1;
}

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
    case S_LOCAL:
        if (!s->local && !(s->local = calloc(SCALE_LOCAL_MAX, sizeof *s->local))) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        return parse_local(s, flag, v, err, cap) < 0 ? -1 : 1;
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
    { S_LOCAL, "--local-addrs", { NULL }, "LIST",
      "bind connections round-robin to these local addresses (127.0.0.2-\n"
      "127.0.0.9, or a comma-separated list; IPv4 or IPv6): one address\n"
      "holds about 28,000 connections to one server port" },
};

const struct opt_table scale_opt_table = OPT_TABLE(scale_opt_list, scale_apply);

void scale_opts_init(struct scale_opts *s)
{
    memset(s, 0, sizeof *s);
}

void scale_opts_free(struct scale_opts *s)
{
    free(s->local);
    s->local = NULL;
    s->nlocal = 0;
}

/* The ephemeral ports one local address has for one server port. */
static unsigned port_range(void)
{
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2 || hi < lo)
            lo = 32768, hi = 60999;
        fclose(f);
    }
    return hi - lo + 1;
}

/* Streams need a descriptor each: the soft limit is raised to the hard one
 * now, and a concurrency that cannot fit in the processes given is refused
 * here, with the number that would fit, rather than in every worker. */
static int check_fds(uint32_t conc, uint32_t procs, char *err, size_t errcap)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_max == RLIM_INFINITY)
        return 0;
    uint64_t per = (conc + procs - 1) / procs, fit = rl.rlim_max > 64 ? rl.rlim_max - 64 : 0;
    if (per <= fit)
        return 0;
    uint64_t need = fit ? (conc + fit - 1) / fit : 0;
    int n = snprintf(err, errcap, "-c %u is %llu streams per process, but the open-file limit "
                     "(hard %llu) allows %llu per process", conc, (unsigned long long)per,
                     (unsigned long long)rl.rlim_max, (unsigned long long)fit);
    if (need && need <= SCALE_WORKERS_MAX && n > 0 && (size_t)n < errcap)
        snprintf(err + n, errcap - (size_t)n, ": use --workers %llu (or as many shards), or raise "
                 "the limit (ulimit -Hn)", (unsigned long long)need);
    return -1;
}

uint32_t scale_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n < 1 ? 1 : n > SCALE_WORKERS_MAX ? SCALE_WORKERS_MAX : (uint32_t)n;
}

static int apply(struct scale_opts *s, struct run_config *cfg, uint32_t peak, int levels,
                 char *err, size_t errcap);

int scale_opts_apply(struct scale_opts *s, struct run_config *cfg, char *err, size_t errcap)
{
    return apply(s, cfg, cfg->concurrency, 0, err, errcap);
}

int scale_opts_apply_levels(struct scale_opts *s, struct run_config *cfg, uint32_t peak,
                            char *err, size_t errcap)
{
    return apply(s, cfg, peak, 1, err, errcap);
}

/* peak: the most connections a run of cfg opens; levels: a sweep's, whose
 * low levels run in as many workers as they have connections. */
static int apply(struct scale_opts *s, struct run_config *cfg, uint32_t peak, int levels,
                 char *err, size_t errcap)
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
    if (parts > 1 && cfg->concurrency < parts && !levels) {
        snprintf(err, errcap, "-c %u is fewer than the %u %s: each needs at least one connection",
                 cfg->concurrency, parts, s->shard_count ? "shards" : "workers");
        return -1;
    }
    /* A shard of no request would measure nothing and end as if every
     * request had failed.  (Workers with fewer requests than themselves
     * are fine: the idle ones send none.) */
    if (s->shard_count > 1 && cfg->requests && cfg->requests < s->shard_count && !levels) {
        snprintf(err, errcap, "-n %llu is fewer than the %u shards: each needs at least one request",
                 (unsigned long long)cfg->requests, s->shard_count);
        return -1;
    }
    if (check_fds(peak, s->workers > 1 ? s->workers : s->shard_count ? s->shard_count : 1, err, errcap) < 0)
        return -1;
    /* Past the ports of one local address the connects fail one by one
     * (EADDRNOTAVAIL): say so before. */
    uint64_t per_addr = peak / (s->shard_count ? s->shard_count : 1) / (s->nlocal ? s->nlocal : 1);
    if (per_addr > port_range() && !cfg->quiet)
        fprintf(stderr, "warning: %llu connections per local address to one server port, more than "
                "its %u ephemeral ports: give more --local-addrs\n", (unsigned long long)per_addr,
                port_range());
    cfg->local_addrs = s->local;
    cfg->n_local_addrs = s->nlocal;
    cfg->shard_index = s->shard_index;
    cfg->shard_count = s->shard_count;
    cfg->workers = s->workers ? s->workers : 1;
    return 0;
}
