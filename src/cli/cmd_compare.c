/* `llmload compare`: servers side by side, live or from saved results;
 * the analysis is sweep/knee.c; probing is engine/probe.c. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fileio.h"
#include "engine.h"
#include "jdoc.h"
#include "knee.h"
#include "probe.h"
#include "report.h"
#include "cmd_sweep.h"
#include "sweep.h"
#include "target.h"
#include "units.h"

/* ---- llmload compare ---------------------------------------------------------- */


/* The targets being compared: names (owned), their sweep documents
 * (borrowed from docs or owned by the compare document) and what the check
 * said. */
struct cmp_set {
    char *names[SWEEP_MAX_TARGETS];
    const cJSON *sweeps[SWEEP_MAX_TARGETS];
    size_t n;
    cJSON *docs[SWEEP_MAX_TARGETS];   /* loaded files */
    size_t ndocs;
};

static void cmp_set_free(struct cmp_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    for (size_t i = 0; i < s->ndocs; i++)
        cJSON_Delete(s->docs[i]);
}

/* Adds a target, making its name unique ("name", "name#2"). */
static int cmp_add(struct cmp_set *s, const char *name, const cJSON *sweep, char *err, size_t errcap)
{
    if (s->n == SWEEP_MAX_TARGETS) {
        snprintf(err, errcap, "more than %d results to compare", SWEEP_MAX_TARGETS);
        return -1;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", name && *name ? name : "result");
    for (int k = 2;; k++) {
        int dup = 0;
        for (size_t i = 0; i < s->n; i++)
            dup |= !strcmp(s->names[i], buf);
        if (!dup)
            break;
        snprintf(buf, sizeof buf, "%s#%d", name && *name ? name : "result", k);
    }
    if (!(s->names[s->n] = strdup(buf))) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    s->sweeps[s->n++] = sweep;
    return 0;
}

/* A run result as a one-level sweep: of its rate for an open loop (the
 * rate is what it was run at; the concurrency only capped it), else of its
 * concurrency. */
static cJSON *run_as_sweep(const cJSON *doc)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(cfg, "concurrency");
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(cfg, "rate");
    int open_loop = cJSON_IsNumber(rate) && rate->valuedouble > 0;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    cJSON *sw = cJSON_CreateObject();
    cJSON *levels = cJSON_AddArrayToObject(sw, "levels");
    cJSON *lv = cJSON_CreateObject();
    if (!sw || !levels || !lv || !cJSON_IsObject(s)) {
        cJSON_Delete(sw);
        cJSON_Delete(lv);
        return NULL;
    }
    cJSON_AddStringToObject(sw, "parameter", open_loop ? "rate" : "concurrency");
    cJSON_AddNumberToObject(lv, "level", open_loop ? rate->valuedouble : cJSON_IsNumber(c) ? c->valuedouble : 1);
    cJSON_AddBoolToObject(sw, "run", 1);
    cJSON_AddItemToObject(lv, "summary", cJSON_Duplicate(s, 1));
    cJSON_AddItemToArray(levels, lv);
    return sw;
}

/* Loads `compare a.json b.json`: sweep, compare and run documents. */
static int load_files(const struct sweep_opts *o, struct cmp_set *s, char *param, size_t pcap,
                      char *err, size_t errcap)
{
    param[0] = '\0';
    for (size_t i = 0; i < o->nfiles; i++) {
        const char *path = o->files[i];
        cJSON *doc = jdoc_read_file(path, err, errcap);
        if (!doc)
            return -1;
        s->docs[s->ndocs++] = doc;
        const char *schema = jdoc_str(doc, "schema");
        char stem[200];
        jdoc_stem(path, stem, sizeof stem);
        const cJSON *sweeps[SWEEP_MAX_TARGETS];
        const char *names[SWEEP_MAX_TARGETS];
        size_t n = 0;
        if (schema && !strcmp(schema, "llmload.sweep/1")) {
            sweeps[n] = doc;
            names[n++] = stem;
        } else if (schema && !strcmp(schema, "llmload.compare/1")) {
            const cJSON *t;
            cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "targets")) {
                const cJSON *sw = cJSON_GetObjectItemCaseSensitive(t, "sweep");
                if (cJSON_IsObject(sw) && n < SWEEP_MAX_TARGETS) {
                    sweeps[n] = sw;
                    names[n++] = jdoc_str(t, "name") ? jdoc_str(t, "name") : stem;
                }
            }
        } else if (schema && !strcmp(schema, "llmload.result/1")) {
            cJSON *sw = run_as_sweep(doc);
            if (!sw) {
                snprintf(err, errcap, "%s: a result without a summary", path);
                return -1;
            }
            if (s->ndocs == SWEEP_MAX_TARGETS * 2) {
                cJSON_Delete(sw);
                snprintf(err, errcap, "too many results");
                return -1;
            }
            s->docs[s->ndocs++] = sw;
            sweeps[n] = sw;
            names[n++] = stem;
        } else {
            snprintf(err, errcap, "%s: not an llmload result (schema %s; expected llmload.sweep/1, "
                     "llmload.compare/1 or llmload.result/1)", path, schema ? schema : "missing");
            return -1;
        }
        if (n == 0) {
            snprintf(err, errcap, "%s: holds no sweep", path);
            return -1;
        }
        for (size_t k = 0; k < n; k++) {
            const char *p = jdoc_str(sweeps[k], "parameter");
            struct knee_point pts[1];
            if (!p || knee_points_from_levels(cJSON_GetObjectItemCaseSensitive(sweeps[k], "levels"),
                                              pts, 1) < 0) {
                snprintf(err, errcap, "%s: malformed sweep (no parameter or levels)", path);
                return -1;
            }
            if (param[0] && strcmp(param, p)) {
                if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sweeps[k], "run")))
                    snprintf(err, errcap, "%s is a run at a fixed %s but the results before it are by %s: "
                             "only results of the same parameter can be compared", path, p, param);
                else
                    snprintf(err, errcap, "%s sweeps %s but the results before it are by %s: "
                             "only results of the same parameter can be compared", path, p, param);
                return -1;
            }
            snprintf(param, pcap, "%s", p);
            if (cmp_add(s, names[k], sweeps[k], err, errcap) < 0)
                return -1;
        }
    }
    return 0;
}

static const struct opt_table *const compare_tables[] = {
    &compare_opt_table, &sweep_opt_table, &cli_run_table, &cli_auth_table, &workload_opt_table, &gate_opt_table,
    &obs_run_opt_table, &obs_push_opt_table, &scale_opt_table, NULL,
};

const struct opt_cmd cli_compare_cmd = {
    .name = "compare",
    .summary = "the same sweep against several servers, side by side",
    .usage = "llmload compare --target NAME=URL[@MODEL] --target NAME=URL[@MODEL] [...]\n"
             "                [--rounds K] [--cost NAME=USD_PER_HOUR ...] [sweep options]\n"
             "llmload compare A.json B.json [...]",
    .about = "Checks each target (up or down, protocol, models), sends each a warm-up request,\n"
             "then runs the same sweep against each target in turn, never at the same time.\n"
             "Prints the levels side by side, the winner at each level with its speedup,\n"
             "where each target saturates, and a recommendation: the targets ranked by\n"
             "capacity at the SLO (with --find-max) or by throughput at equal load, with a\n"
             "bootstrap 95% interval on the ratio of the first to the second.  When it holds 1\n"
             "there is no clear winner at this confidence, and how many more requests would\n"
             "decide it.  Also: the worst level, goodput at 1.5x each capacity or past each\n"
             "knee (429/503 shed), the cost with --cost, and latency, single-user speed and\n"
             "success for each.\n"
             "Only the levels every target ran are compared; the others are named.\n"
             "Saved results (sweep, compare or run JSON) are compared the same way.\n"
             "Without --model each target is benchmarked with the first model it lists;\n"
             "--target NAME=URL@MODEL gives a target its own model, so models of one server\n"
             "compare like servers.",
    .tables = compare_tables,
    .omit = sweep_omit,
    .args = "FILE",
    .max_args = SWEEP_MAX_TARGETS,
    .epilog = "Exit codes: 0 ok, 1 an --assert failed, 2 usage error, 3 fewer than two targets\n"
              "gave results, 4 interrupted.",
};

/* Every --cost names a target.  0, or -1 with err. */
static int check_costs(const struct sweep_opts *o, char *const *names, size_t n, char *err, size_t errcap)
{
    for (size_t k = 0; k < o->ncosts; k++) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= !strcmp(o->costs[k].name, names[i]);
        if (!found) {
            snprintf(err, errcap, "--cost %s=%g: no target is named '%s'", o->costs[k].name,
                     o->costs[k].usd_per_hour, o->costs[k].name);
            return -1;
        }
    }
    return 0;
}

/* The targets are models of one server: every sweep ran against the same
 * URL, each with a model of its own.  The recommendation then speaks of
 * models. */
static int compare_are_models(const struct cmp_set *s)
{
    const char *url = NULL;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        const cJSON *t = s->sweeps[i] ? cJSON_GetObjectItemCaseSensitive(s->sweeps[i], "target") : NULL;
        const char *u = jdoc_str(t, "url"), *m = jdoc_str(t, "model");
        if (!t)
            continue;
        if (!u || !m || !*m || (url && strcmp(url, u)))
            return 0;
        for (size_t j = 0; j < i; j++) {
            const cJSON *o = s->sweeps[j] ? cJSON_GetObjectItemCaseSensitive(s->sweeps[j], "target") : NULL;
            const char *om = jdoc_str(o, "model");
            if (om && !strcmp(om, m))
                return 0;
        }
        url = u;
        k++;
    }
    return k > 1;
}

/* The compare report and JSON, shared by the live and the saved-file paths. */
static int compare_finish(const struct sweep_opts *o, const struct run_cli *rc, const char *param,
                          struct cmp_set *s, cJSON *targets, int interrupted)
{
    char err[512];
    int code = EXIT_OK;
    double usd[SWEEP_MAX_TARGETS];
    struct compare_extra x = { o->ncosts ? usd : NULL, compare_are_models(s) };
    for (size_t i = 0; i < s->n; i++) {
        usd[i] = NAN;
        for (size_t k = 0; k < o->ncosts; k++)
            if (!strcmp(o->costs[k].name, s->names[i]))
                usd[i] = o->costs[k].usd_per_hour;
    }
    cJSON *an = knee_compare_ex(param, (const char *const *)s->names, s->sweeps, s->n, o->threshold, &x);
    if (!an) {
        fprintf(stderr, "llmload compare: out of memory\n");
        cJSON_Delete(targets);
        return EXIT_RUN;
    }
    putchar('\n');
    knee_compare_print(out_human(), param, (const char *const *)s->names, s->sweeps, s->n, an);
    /* --assert, while the sweeps are still alive (they live in targets). */
    int gate_code = EXIT_OK;
    if (!interrupted && o->gate.n_asserts) {
        const char *names[SWEEP_MAX_TARGETS];
        const cJSON *sw[SWEEP_MAX_TARGETS];
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->sweeps[i]) {
                names[k] = s->names[i];
                sw[k++] = s->sweeps[i];
            }
        gate_code = sweep_gate_check(o, names, sw, k, out_human(), err, sizeof err);
        if (gate_code >= EXIT_USAGE)
            fprintf(stderr, "llmload compare: %s\n", err);
    }
    if (o->json_out || rc->html_path || rc->plots_dir) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "schema", "llmload.compare/1");
        cJSON_AddStringToObject(doc, "parameter", param);
        cJSON_AddItemToObject(doc, "targets", targets);
        targets = NULL;
        const char *keys[] = { "levels", "left_out", "saturation", "recommendation" };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            cJSON_AddItemToObject(doc, keys[i], cJSON_DetachItemFromObject(an, keys[i]));
        cJSON_AddBoolToObject(doc, "interrupted", interrupted);
        if (o->json_out && report_commit_json(o->json_out, doc, err, sizeof err) < 0) {
            fprintf(stderr, "llmload compare: --json: %s\n", err);
            code = EXIT_RUN;
        }
        const cJSON *one = doc;
        if (cli_run_write_pictures(rc, "compare", &one, 1, 0) < 0)
            code = EXIT_RUN;
        cJSON_Delete(doc);
    }
    cJSON_Delete(targets);
    cJSON_Delete(an);
    size_t got = 0;
    for (size_t i = 0; i < s->n; i++)
        got += s->sweeps[i] != NULL;
    if (interrupted)
        return EXIT_INTERRUPTED;
    if (got < 2) {
        fprintf(stderr, "llmload compare: only %zu of %zu targets gave results\n", got, s->n);
        return EXIT_RUN;
    }
    return code == EXIT_OK ? gate_code : code;
}

/* One warm-up request before the target's sweep.  0, or -1 with err. */
static int warm_target(const struct run_config *base, char *err, size_t errcap)
{
    struct run_config c = *base;
    c.concurrency = 1;
    c.requests = 1;
    c.duration_ns = 0;
    c.rate = 0;
    c.ramp_up_ns = 0;
    c.warmup_requests = 0;
    c.warmup_ns = 0;
    c.stop_error_rate = 0;
    c.progress = 0;
    struct run_stats st;
    if (run_stats_init(&st) < 0) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    int rc = engine_run(&c, &st, NULL, err, errcap);
    if (rc == 0 && st.ok == 0) {
        const char *sample = "";
        for (int i = 1; i < ERR__COUNT && !*sample; i++)
            sample = st.err_sample[i];
        snprintf(err, errcap, "the warm-up request failed%s%.300s", *sample ? ": " : "", sample);
        rc = -1;
    }
    run_stats_free(&st);
    return rc;
}

int cmd_compare(int argc, char **argv)
{
    struct sweep_opts o;
    struct run_cli rc;
    struct cmp_set s;
    char err[1024];
    memset(&s, 0, sizeof s);
    int pr = sweep_cmd_parse(&o, &rc, argc, argv, 1);
    if (pr >= 0)
        return pr;
    if (sweep_open_outputs(&o, err, sizeof err) < 0 || cli_run_check_pictures(&rc, err, sizeof err) < 0 ||
        (o.nfiles == 0 && o.param != SWEEP_PROMPT_SET &&
         cli_run_open_workload(&rc, err, sizeof err) < 0)) {
        fprintf(stderr, "llmload compare: %s\n", err);
        sweep_cmd_free(&o, &rc);
        return EXIT_USAGE;
    }
    int code;
    if (o.nfiles) {
        char param[64];
        if (load_files(&o, &s, param, sizeof param, err, sizeof err) < 0) {
            fprintf(stderr, "llmload compare: %s\n", err);
            cmp_set_free(&s);
            sweep_cmd_free(&o, &rc);
            return EXIT_USAGE;
        }
        if (check_costs(&o, s.names, s.n, err, sizeof err) < 0) {
            fprintf(stderr, "llmload compare: %s\n", err);
            cmp_set_free(&s);
            sweep_cmd_free(&o, &rc);
            return EXIT_USAGE;
        }
        cJSON *targets = cJSON_CreateArray();
        for (size_t i = 0; targets && i < s.n; i++) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", s.names[i]);
            cJSON_AddItemToObject(t, "sweep", cJSON_Duplicate(s.sweeps[i], 1));
            cJSON_AddItemToArray(targets, t);
        }
        code = compare_finish(&o, &rc, param, &s, targets, 0);
        cmp_set_free(&s);
        sweep_cmd_free(&o, &rc);
        return code;
    }
    if (o.ntargets < 2) {
        fprintf(stderr, "llmload compare: one --target only: give at least two (or use sweep)\n");
        sweep_cmd_free(&o, &rc);
        return EXIT_USAGE;
    }

    {
        char *tn[SWEEP_MAX_TARGETS];
        for (size_t i = 0; i < o.ntargets; i++)
            tn[i] = o.targets[i].name;
        if (check_costs(&o, tn, o.ntargets, err, sizeof err) < 0) {
            fprintf(stderr, "llmload compare: %s\n", err);
            sweep_cmd_free(&o, &rc);
            return EXIT_USAGE;
        }
    }
    /* A target without @MODEL gets the run's --model, or its first. */
    char base_model[sizeof rc.cfg.model];
    snprintf(base_model, sizeof base_model, "%s", rc.cfg.model);

    /* 1. Check every target first, so a down one is known before any load. */
    uint64_t timeout = rc.cfg.connect_timeout_ns ? rc.cfg.connect_timeout_ns : 5000000000ull;
    cJSON *targets = cJSON_CreateArray();
    cJSON *tj[SWEEP_MAX_TARGETS];
    int up[SWEEP_MAX_TARGETS];
    for (size_t i = 0; i < o.ntargets; i++) {
        int usage;
        struct target_net net = { .api_key = rc.cfg.api_key, .headers = rc.cfg.headers, .proxy = rc.cfg.proxy,
                                  .proxy_tunnel = rc.cfg.proxy_tunnel, .tls = &rc.cfg.tls };
        cJSON *info = target_probe(o.targets[i].url, rc.cfg.api, &net, timeout, &usage);
        if (!info || usage) {
            fprintf(stderr, "llmload compare: --target %s=%s: %s\n", o.targets[i].name,
                    o.targets[i].url, info ? jdoc_str(info, "error") : "out of memory");
            cJSON_Delete(info);
            cJSON_Delete(targets);
            sweep_cmd_free(&o, &rc);
            return EXIT_USAGE;
        }
        target_probe_print(stderr, o.targets[i].name, info);
        up[i] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "up"));
        tj[i] = cJSON_CreateObject();
        cJSON_AddStringToObject(tj[i], "name", o.targets[i].name);
        cJSON_AddStringToObject(tj[i], "url", o.targets[i].url);
        if (o.targets[i].model)
            cJSON_AddStringToObject(tj[i], "model", o.targets[i].model);
        cJSON_AddItemToObject(tj[i], "check", info);
        cJSON_AddItemToArray(targets, tj[i]);
    }

    /* 2. Warm up and sweep each target in turn.  With --rounds K, K times,
     * each round with 1/K of the requests (or of the duration) and the
     * targets in the other order than the round before, so what drifts on
     * the machine while they run falls on both (docs/sweep.md). */
    engine_catch_signals();
    int interrupted = 0;
    size_t rounds = o.rounds > 1 ? o.rounds : 1;
    if (rounds > 1) {
        if (rc.cfg.requests)
            rc.cfg.requests = (rc.cfg.requests + rounds - 1) / rounds;
        rc.cfg.duration_ns /= rounds;
    }
    char whys[SWEEP_MAX_TARGETS][1200];
    cJSON *rdocs[SWEEP_MAX_TARGETS][SWEEP_MAX_ROUNDS];
    size_t nd[SWEEP_MAX_TARGETS] = { 0 };
    for (size_t i = 0; i < o.ntargets; i++)
        whys[i][0] = '\0';
    for (size_t r = 0; r < rounds; r++) {
        for (size_t k = 0; k < o.ntargets; k++) {
            size_t i = r % 2 ? o.ntargets - 1 - k : k;
            const char *name = o.targets[i].name;
            const cJSON *info = cJSON_GetObjectItemCaseSensitive(tj[i], "check");
            char *why = whys[i];
            size_t whycap = sizeof whys[i];
            cJSON *doc = NULL;
            if (why[0])
                continue;       /* down, or gone in an earlier round */
            if (interrupted)
                snprintf(why, whycap, "not run: interrupted");
            else if (!up[i])
                snprintf(why, whycap, "down: %s", jdoc_str(info, "error"));
            if (!why[0]) {
                struct run_config *c = &rc.cfg;
                snprintf(c->url, sizeof c->url, "%s", o.targets[i].url);
                snprintf(c->model, sizeof c->model, "%s", base_model);
                if (o.targets[i].model) {
                    if (strlen(o.targets[i].model) >= sizeof c->model)
                        snprintf(why, whycap, "model name '%s' is too long", o.targets[i].model);
                    else
                        snprintf(c->model, sizeof c->model, "%s", o.targets[i].model);
                } else if (!rc.model_given) {
                    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(info, "models"), 0);
                    if (cJSON_IsString(m))
                        snprintf(c->model, sizeof c->model, "%s", m->valuestring);
                    else
                        snprintf(why, whycap, "it lists no model: pass --model");
                }
            }
            /* The first round warms the target; the later ones find it warm. */
            if (!why[0] && r == 0) {
                int wrc = warm_target(&rc.cfg, err, sizeof err);
                /* Ctrl-C during the warm-up is an interruption (exit 4
                 * with the targets measured so far), not a failed target. */
                if (engine_interrupted()) {
                    interrupted = 1;
                    snprintf(why, whycap, "not run: interrupted");
                } else if (wrc < 0) {
                    snprintf(why, whycap, "%s", err);
                }
            }
            if (!why[0]) {
                enum sweep_status st;
                if (rounds > 1 && !rc.cfg.quiet)
                    fprintf(stderr, "%s: round %zu of %zu\n", name, r + 1, rounds);
                cli_obs_sweep(&rc.obs, &o, "compare");
                doc = sweep_execute(&o, name, rc.cfg.quiet ? NULL : stderr, &st, err, sizeof err);
                if (doc)
                    cli_obs_result(&rc.obs, doc, NULL, NULL);
                if (!doc)
                    snprintf(why, whycap, "%s", err);
                else if (st == SWEEP_INTERRUPTED)
                    interrupted = 1;
                else if (st == SWEEP_DOWN)
                    snprintf(why, whycap, "went down %s", jdoc_str(doc, "error"));
            }
            if (why[0])
                fprintf(stderr, "llmload compare: %s: %s\n", name, why);
            /* A target that went down mid-sweep keeps the levels it finished. */
            if (doc && (nd[i] == 0 || cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "levels")) > 0))
                rdocs[i][nd[i]++] = doc;
            else
                cJSON_Delete(doc);
        }
    }
    for (size_t i = 0; i < o.ntargets; i++) {
        const char *name = o.targets[i].name;
        cJSON *doc = nd[i] ? rdocs[i][0] : NULL;
        if (nd[i] > 1) {
            doc = sweep_merge_rounds(&o, rdocs[i], nd[i]);
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(rdocs[i][nd[i] - 1], "error");
            if (doc && cJSON_IsString(e))
                cJSON_ReplaceItemInObject(doc, "error", cJSON_Duplicate(e, 1));
            for (size_t r = 0; r < nd[i]; r++)
                cJSON_Delete(rdocs[i][r]);
        }
        cJSON_AddItemToObject(tj[i], "error", whys[i][0] ? cJSON_CreateString(whys[i]) : cJSON_CreateNull());
        int usable = doc && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "levels")) > 0;
        if (doc)
            cJSON_AddItemToObject(tj[i], "sweep", doc);
        else
            cJSON_AddNullToObject(tj[i], "sweep");
        if (cmp_add(&s, name, usable ? doc : NULL, err, sizeof err) < 0) {
            fprintf(stderr, "llmload compare: %s\n", err);
            cJSON_Delete(targets);
            cmp_set_free(&s);
            sweep_cmd_free(&o, &rc);
            return EXIT_RUN;
        }
    }
    /* One CSV for all targets: the target's name leads each row. */
    int lost = rc.obs.push_failures > 0;
    if (o.csv_out) {
        const char *names[SWEEP_MAX_TARGETS];
        const cJSON *sweeps[SWEEP_MAX_TARGETS];
        size_t k = 0;
        for (size_t i = 0; i < s.n; i++)
            if (s.sweeps[i]) {
                names[k] = s.names[i];
                sweeps[k++] = s.sweeps[i];
            }
        if (sweep_commit_compare_csv(o.csv_out, names, sweeps, k, err, sizeof err) < 0) {
            fprintf(stderr, "llmload compare: %s\n", err);
            lost = 1;
        }
    }
    code = compare_finish(&o, &rc, sweep_param_name(o.param), &s, targets, interrupted);
    if (lost && code != EXIT_INTERRUPTED)
        code = EXIT_RUN;
    cmp_set_free(&s);
    sweep_cmd_free(&o, &rc);
    return code;
}

