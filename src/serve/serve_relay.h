#ifndef LLMLOAD_SERVE_RELAY_H
#define LLMLOAD_SERVE_RELAY_H
/* The run's metrics as the dashboard relays them (docs/dashboard.md).
 *
 * The child `llmload compare` pushes its Prometheus text every second and at
 * each level's end, one group per (target, sweep_level), as it would to a
 * Pushgateway.  The dashboard keeps the latest text of each group, reads the
 * live numbers out of it (serve_relay_sum), and writes the groups back on
 * its own /metrics with the grouping labels put into every sample, as a
 * Pushgateway would expose them: so one process serves the page and the
 * scrape, with the metric names of docs/observability.md. */
#include <stddef.h>
#include <stdio.h>

#define SERVE_RELAY_MAX_GROUPS 128
#define SERVE_RELAY_MAX_FAMILIES 96

struct serve_relay_group {
    char target[64];
    char level[32];
    char *body;                     /* NUL-terminated exposition text, owned */
};

struct serve_relay {
    struct serve_relay_group g[SERVE_RELAY_MAX_GROUPS];
    size_t n;
};

/* Drops every group (a new run starts). */
void serve_relay_clear(struct serve_relay *r);

/* Keeps body as the latest text of (target, level), replacing the last
 * one.  0, or -1 when out of memory or past SERVE_RELAY_MAX_GROUPS. */
int serve_relay_put(struct serve_relay *r, const char *target, const char *level,
                    const char *body, size_t len);

/* Writes every group in the text format 0.0.4: each family's HELP and TYPE
 * once (in the order the groups first name them), then its samples of
 * every group with target="..." and sweep_level="..." first among their
 * labels. */
void serve_relay_write(const struct serve_relay *r, FILE *f);

/* The sum of the samples of metric name in exposition text whose labels
 * contain each of the "k=\"v\"" pairs of want (NULL-ended; NULL: any).
 * NAN when no sample matches. */
double serve_relay_sum(const char *text, const char *name, const char *const *want);

#endif
