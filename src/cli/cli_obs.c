/* The observability of the run commands (cli_obs.h). */
#include "cli_obs.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "obs_expo.h"
#include "obs_push.h"
#include "report.h"
#include "secret.h"
#include "sweep.h"

void cli_obs_init(struct cli_obs *o)
{
    memset(o, 0, sizeof *o);
    obs_opts_init(&o->opts);
}

int cli_obs_hooks(struct cli_obs *o, const struct run_config *cfg, const struct run_stats *s,
                  const char *const *group, struct engine_hooks *h, char *err, size_t errcap)
{
    /* The label and the monitor's notes show the URL: never its userinfo
     * nor the key. */
    report_url_redacted(cfg->url, o->target, sizeof o->target);
    secret_redact(o->target);
    if (!o->run_id[0])   /* the run's own id: its CSV rows and raw lines carry it too */
        snprintf(o->run_id, sizeof o->run_id, "%s", s->run_id);
    o->mon = (struct obs_monitor_cfg){
        .sources = o->opts.monitor,
        .server_pid = o->opts.server_pid,
        .target_url = o->target,
        .target_ollama = cfg->api == API_OLLAMA_GENERATE || cfg->api == API_OLLAMA_CHAT,
        .server_metrics = o->opts.server_metrics,
        .server_metrics_all = o->opts.server_metrics_all,
        .loop_idle_metrics = 1,   /* the engine's loop measures its idle time */
    };
    o->push = o->opts.push_cfg;
    for (size_t i = 0; group && group[i]; i++)
        if (obs_push_label_add(&o->push, group[i], err, errcap) < 0)
            return -1;
    h->prometheus = o->opts.prometheus;
    h->push = o->opts.push ? &o->push : NULL;
    h->push_interval_ns = o->opts.push ? o->opts.push_interval_ns : 0;
    h->monitor = o->opts.monitor ? &o->mon : NULL;
    h->target_label = o->target;
    h->run_id = o->run_id;
    return 0;
}

int cli_obs_result(const struct cli_obs *o, cJSON *doc, const struct obs_monitor *mon,
                   const struct run_stats *s)
{
    if (!doc)
        return 0;
    cJSON *env = cJSON_GetObjectItemCaseSensitive(doc, "environment");
    /* A run's document has its own run_id already (the same); a sweep's
     * gets the command's. */
    if (cJSON_IsObject(env) && o->run_id[0]) {
        cJSON_DeleteItemFromObjectCaseSensitive(env, "run_id");
        if (!cJSON_AddStringToObject(env, "run_id", o->run_id))
            return -1;
    }
    if (mon) {
        cJSON *m = obs_monitor_json(mon, s->output_tokens);
        if (!m || !cJSON_AddItemToObject(doc, "monitor", m)) {
            cJSON_Delete(m);
            return -1;
        }
    }
    return 0;
}

int cli_obs_push(const struct cli_obs *o, const struct run_config *cfg, const struct run_stats *s,
                 const struct engine_hooks *h, const struct obs_monitor *mon, const char *cmd)
{
    if (!h->push)
        return 0;
    struct obs_live l;
    char err[512] = "out of memory";
    char *body = NULL;
    size_t len = 0;
    int rc = -1;
    engine_live_final(cfg, s, h, mon, &l);
    obs_push_strip_labels(h->push, &l.labels);
    FILE *f = open_memstream(&body, &len);
    if (!f)
        goto out;
    int w = obs_expo_write(f, &l, OBS_FMT_PROMETHEUS);
    if (fclose(f) != 0 || w < 0)
        goto out;
    rc = obs_push_sync(h->push, body, len, err, sizeof err);
out:
    if (rc < 0)
        fprintf(stderr, "llmload %s: --push: %s\n", cmd, err);
    free(body);
    return rc;
}

static int level_before(void *ud, const struct run_config *c, const struct run_stats *st,
                        const char *label, const char *param, const char *text, double level,
                        size_t index, struct engine_hooks *h, char *err, size_t errcap)
{
    struct cli_obs *o = ud;
    char lv[300], tg[300];
    const char *group[3] = { lv, NULL, NULL };
    snprintf(lv, sizeof lv, "sweep_level=%s", text);
    if (label && *label) {
        snprintf(tg, sizeof tg, "target=%s", label);
        group[1] = tg;
    }
    if (cli_obs_hooks(o, c, st, group, h, err, errcap) < 0)
        return -1;
    h->sweep_param = param;
    h->sweep_level = level;
    h->sweep_index = index;
    return 0;
}

static void level_after(void *ud, const struct run_config *c, const struct run_stats *st,
                        const struct engine_hooks *h, const struct obs_monitor *mon,
                        cJSON *entry)
{
    struct cli_obs *o = ud;
    cJSON *m = mon ? obs_monitor_json(mon, st->output_tokens) : NULL;
    if (m && !cJSON_AddItemToObject(entry, "monitor", m))
        cJSON_Delete(m);
    if (cli_obs_push(o, c, st, h, mon, o->cmd) < 0)
        o->push_failures++;
}

void cli_obs_sweep(struct cli_obs *o, struct sweep_opts *so, const char *cmd)
{
    o->cmd = cmd;
    so->obs = (struct sweep_level_obs){ level_before, level_after, o };
}
