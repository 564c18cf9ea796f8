/* The observability flags (obs_opts.h). */
#include "obs_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

enum obs_flag {
    B_PUSH, B_PUSH_JOB, B_PUSH_LABEL, B_PUSH_REPLACE,
    B_PROMETHEUS, B_PUSH_INTERVAL, B_MONITOR, B_MONITOR_OFF, B_SERVER_PID,
    B_SERVER_METRICS, B_SERVER_METRICS_ALL,
};

static const char *const src_names[] = { "client", "system", "server", "gpu", "server-metrics" };

const char *obs_src_name(unsigned bit)
{
    for (unsigned i = 0; i < sizeof src_names / sizeof src_names[0]; i++)
        if (bit == 1u << i)
            return src_names[i];
    return NULL;
}

void obs_opts_init(struct obs_opts *o)
{
    memset(o, 0, sizeof *o);
    obs_push_cfg_init(&o->push_cfg);
    o->monitor = OBS_SRC_ALL;
}

/* A comma list of source names ("all" and "none" too) into bits. */
static int parse_sources(const char *flag, const char *v, unsigned *out, char *err, size_t cap)
{
    unsigned bits = 0;
    const char *p = v;
    for (;;) {
        size_t n = strcspn(p, ",");
        unsigned b = 0;
        if (n == 3 && !strncmp(p, "all", 3))
            b = OBS_SRC_ALL;
        else if (n == 4 && !strncmp(p, "none", 4))
            b = 0;
        else {
            for (unsigned i = 0; i < sizeof src_names / sizeof src_names[0]; i++)
                if (strlen(src_names[i]) == n && !strncmp(p, src_names[i], n))
                    b = 1u << i;
            if (!b) {
                snprintf(err, cap, "%s %s: unknown source '%.*s' (client, system, server, gpu,"
                         " server-metrics, all, none)", flag, v, (int)n, p);
                return -1;
            }
        }
        bits |= b;
        if (!p[n])
            break;
        p += n + 1;
    }
    *out = bits;
    return 0;
}

static int obs_apply(void *ud, const struct opt *o, const char *flag, const char *v, char *err,
                     size_t cap)
{
    struct obs_opts *b = ud;
    char e[400];
    unsigned bits;
    switch ((enum obs_flag)o->id) {
    case B_PUSH:
        if (obs_url_parse(v, &b->push_cfg.url, e, sizeof e) < 0) {
            snprintf(err, cap, "%s %s", flag, e);
            return -1;
        }
        b->push = 1;
        return 1;
    case B_PUSH_JOB:
        if (!*v || strlen(v) >= sizeof b->push_cfg.job) {
            snprintf(err, cap, "%s '%s': empty or longer than %zu bytes", flag, v,
                     sizeof b->push_cfg.job - 1);
            return -1;
        }
        snprintf(b->push_cfg.job, sizeof b->push_cfg.job, "%s", v);
        return 1;
    case B_PUSH_LABEL:
        if (obs_push_label_add(&b->push_cfg, v, e, sizeof e) < 0) {
            snprintf(err, cap, "%s %s", flag, e);
            return -1;
        }
        return 1;
    case B_PUSH_REPLACE:
        b->push_cfg.replace = 1;
        return 1;
    case B_PROMETHEUS: {
        struct sockaddr_storage ss;
        if (obs_listen_addr(v, &ss, e, sizeof e) < 0) {
            snprintf(err, cap, "%s %s", flag, e);
            return -1;
        }
        b->prometheus = v;
        return 1;
    }
    case B_PUSH_INTERVAL:
        if (units_parse_duration(v, &b->push_interval_ns) < 0 ||
            (b->push_interval_ns && b->push_interval_ns < 100000000)) {
            snprintf(err, cap, "%s %s: not a duration of 100ms or more (e.g. 10s; 0: off)", flag, v);
            return -1;
        }
        return 1;
    case B_MONITOR:
        if (parse_sources(flag, v, &bits, err, cap) < 0)
            return -1;
        b->monitor = bits;
        return 1;
    case B_MONITOR_OFF:
        if (parse_sources(flag, v, &bits, err, cap) < 0)
            return -1;
        b->monitor &= ~bits;
        return 1;
    case B_SERVER_PID: {
        char *end;
        long pid = strtol(v, &end, 10);
        if (!*v || *end || pid <= 0 || pid > 4194304) {
            snprintf(err, cap, "%s %s: not a process id", flag, v);
            return -1;
        }
        b->server_pid = pid;
        return 1;
    }
    case B_SERVER_METRICS: {
        struct obs_url u;
        if (obs_url_parse(v, &u, e, sizeof e) < 0) {
            snprintf(err, cap, "%s %s", flag, e);
            return -1;
        }
        b->server_metrics = v;
        return 1;
    }
    case B_SERVER_METRICS_ALL:
        b->server_metrics_all = 1;
        return 1;
    }
    return 0;
}

static const struct opt push_opts[] = {
    OPT_SECTION("Pushgateway (docs/observability.md)"),
    { B_PUSH, "--push", { NULL }, "URL", "push the metrics to the Pushgateway at URL (http://host:9091)\n"
                                         "with POST, which replaces only llmload's metrics in the group" },
    { B_PUSH_JOB, "--push-job", { NULL }, "NAME", "the job label of the group (default llmload)" },
    { B_PUSH_LABEL, "--push-label", { NULL }, "K=V", "a grouping label of the push (repeatable)" },
    { B_PUSH_REPLACE, "--push-replace", { NULL }, NULL, "push with PUT: replace the whole group" },
};

static const struct opt run_opts[] = {
    OPT_SECTION("Prometheus and monitoring (docs/observability.md)"),
    { B_PROMETHEUS, "--prometheus", { NULL }, "ADDR", "serve /metrics during the run on ADDR\n"
                                                      "(127.0.0.1:9101; :9101 for every interface)" },
    { B_PUSH_INTERVAL, "--push-interval", { NULL }, "TIME", "with --push: also push every TIME during\n"
                                                            "the run (default 0: at the end only)" },
    { B_MONITOR, "--monitor", { NULL }, "LIST", "sample every second: client, system, server,\n"
                                                "gpu, server-metrics, all (default) or none" },
    { B_MONITOR_OFF, "--monitor-off", { NULL }, "LIST", "sources not to sample (e.g. gpu)" },
    { B_SERVER_PID, "--server-pid", { NULL }, "PID", "the server's process (default: the owner of\n"
                                                     "the listening socket of a loopback URL)" },
    { B_SERVER_METRICS, "--server-metrics", { NULL }, "URL", "the server's Prometheus metrics (default:\n"
                                                             "the target's /metrics when it answers)" },
    { B_SERVER_METRICS_ALL, "--server-metrics-all", { NULL }, NULL,
      "also keep the server metrics llmload does not know" },
};

const struct opt_table obs_push_opt_table = OPT_TABLE(push_opts, obs_apply);
const struct opt_table obs_run_opt_table = OPT_TABLE(run_opts, obs_apply);

int obs_opts_check(const struct obs_opts *o, char *err, size_t errcap)
{
    if (o->push)
        return 0;
    if (o->push_interval_ns || o->push_cfg.nlabels || o->push_cfg.replace ||
        strcmp(o->push_cfg.job, "llmload")) {
        snprintf(err, errcap, "--push-interval, --push-job, --push-label and --push-replace "
                 "need --push URL");
        return -1;
    }
    return 0;
}
