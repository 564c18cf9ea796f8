#ifndef LLMLOAD_CLI_OBS_H
#define LLMLOAD_CLI_OBS_H
/* The observability of run, sweep and compare (docs/observability.md): the
 * flags' hooks for each engine_run, and what follows a run: the result's
 * "monitor" section and run_id, the monitor's terminal summary, the final
 * push.  A sweep level is one engine run, with its own listener, pusher and
 * monitor, pushed under a grouping label of its own. */
#include <stddef.h>
#include <stdio.h>

#include "engine.h"
#include "obs_monitor.h"
#include "obs_opts.h"

struct cJSON;
struct sweep_opts;

struct cli_obs {
    struct obs_opts opts;               /* the flags: obs_run_opt_table, obs_push_opt_table */
    struct obs_monitor_cfg mon;
    struct obs_push_cfg push;           /* opts.push_cfg plus the level's grouping labels */
    char target[1024];                  /* the target URL, credentials and secrets removed */
    char run_id[48];                    /* "" until the first run names it */
    unsigned push_failures;             /* final pushes of sweep levels that failed */
    const char *cmd;                    /* "sweep", "compare": names the messages */
};

/* Before the flags (obs_opts_init). */
void cli_obs_init(struct cli_obs *o);

/* Fills h's observability fields for one engine_run of cfg (cfg->url and
 * cfg->api resolved).  The run_id is the id of the command's first run
 * (s->run_id), kept for the next (a sweep's levels share it).  group: extra
 * grouping labels "NAME=VALUE" for the push (NULL-terminated; NULL: none).
 * 0, or -1 with err (a label that does not fit). */
int cli_obs_hooks(struct cli_obs *o, const struct run_config *cfg, const struct run_stats *s,
                  const char *const *group, struct engine_hooks *h, char *err, size_t errcap);

/* After the run: environment.run_id and the "monitor" section into doc
 * (either may be NULL).  0, or -1 when out of memory. */
int cli_obs_result(const struct cli_obs *o, struct cJSON *doc, const struct obs_monitor *mon,
                   const struct run_stats *s);

/* The final push (--push) of a finished run: 0 (also without --push), or
 * -1 after printing one line "llmload CMD: ..." on stderr. */
int cli_obs_push(const struct cli_obs *o, const struct run_config *cfg, const struct run_stats *s,
                 const struct engine_hooks *h, const struct obs_monitor *mon, const char *cmd);

/* Each level of a sweep (or of each target of compare) with the flags'
 * hooks: pushed under its own grouping labels (sweep_level=TEXT, and
 * target=NAME in compare) so that levels do not overwrite each other, its
 * monitor in its "monitor" key.  cmd: "sweep" or "compare". */
void cli_obs_sweep(struct cli_obs *o, struct sweep_opts *so, const char *cmd);

#endif
