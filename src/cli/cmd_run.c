/* `llmload run`: one benchmark, its outputs, the gate, the exit code.  The
 * run flags and the simulator child are cli_run.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "baseline.h"
#include "cli.h"
#include "cli_run.h"
#include "engine.h"
#include "gate.h"
#include "fileio.h"
#include "report.h"
#include "scale.h"
#include "status.h"

static const struct opt_table *const run_tables[] = {
    &cli_run_table, &cli_auth_table, &workload_opt_table, &gate_opt_table, &obs_run_opt_table,
    &obs_push_opt_table, &scale_opt_table, NULL,
};

const struct opt_cmd cli_run_cmd = {
    .name = "run",
    .summary = "benchmark a server (or the built-in simulator)",
    .usage = "llmload run [--url URL --model NAME] [options]",
    .about = "Benchmarks a streaming LLM server: time to first token, inter-token latency,\n"
             "tokens/s and requests/s (definitions: docs/metrics.md).  Without --url it starts\n"
             "the built-in simulator (llmload mock) on a free loopback port and benchmarks it.",
    .tables = run_tables,
    .epilog = "Times take units (500ms, 30s, 5m); counts take k/M (1k).  Exit codes: 0 ok,\n"
              "1 a check failed, 2 usage error, 3 the run could not be done, 4 interrupted.",
};

int cmd_run_parse(struct run_cli *rc, struct gate_opts *gate, int argc, char **argv,
                  char *err, size_t errcap)
{
    cli_run_init(rc);
    void *ud[] = { rc, &rc->auth, &rc->wopts, gate, &rc->obs.opts, &rc->obs.opts, &rc->scale };
    int r = opt_parse(&cli_run_cmd, ud, argc, argv, 1, NULL, NULL, err, errcap);
    if (r != OPT_OK)
        return r;
    return cli_run_finish(rc, err, errcap) < 0 || scale_opts_apply(&rc->scale, &rc->cfg, err, errcap) < 0
           ? OPT_ERROR : OPT_OK;
}

struct run_outputs {
    struct report_csv *csv;
    struct report_raw *raw;
};

static void on_record(void *ud, const struct req_record *r, uint64_t t0)
{
    struct run_outputs *o = ud;
    if (o->csv)
        report_csv_row(o->csv, r);
    if (o->raw)
        report_raw_row(o->raw, r, t0);
}

static void on_events(void *ud, struct req_record *r)
{
    struct run_outputs *o = ud;
    if (o->raw)
        report_raw_events(o->raw, r);
}

/* A baseline made with another workload is refused before any request:
 * 0, or -1 with err. */
static int gate_config_ok(const struct gate_opts *gate, const struct run_config *cfg,
                          char *err, size_t errcap)
{
    if (!gate->baseline)
        return 0;
    cJSON *c = report_config_json(cfg);
    if (!c) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    int r = gate_check_config(gate, c, err, errcap);
    cJSON_Delete(c);
    return r;
}

static int run_gated(int argc, char **argv, struct gate_opts *gate);

/* --json of `run --repeat K`: still an llmload.result/1 document, whose
 * summary is the field-wise median of the runs' summaries (the numbers the
 * gate decides on), with every run's whole document in "runs" and K in
 * "repeat".  NULL when out of memory. */
static cJSON *repeat_doc(cJSON *const *docs, size_t n)
{
    const cJSON **sums = calloc(n, sizeof *sums);
    cJSON *doc = cJSON_CreateObject(), *runs = cJSON_CreateArray(), *med = NULL;
    int interrupted = 0, ok = sums && doc && runs;
    for (size_t i = 0; ok && i < n; i++) {
        sums[i] = cJSON_GetObjectItemCaseSensitive(docs[i], "summary");
        interrupted |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(docs[i], "interrupted"));
        ok = cJSON_AddItemToArray(runs, cJSON_Duplicate(docs[i], 1));
    }
    ok = ok && (med = baseline_median_summary(sums, n)) &&
         cJSON_AddStringToObject(doc, "schema", "llmload.result/1") &&
         cJSON_AddItemToObject(doc, "config",
                               cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(docs[0], "config"), 1)) &&
         cJSON_AddItemToObject(doc, "environment",
                               cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(docs[0], "environment"), 1)) &&
         cJSON_AddItemToObject(doc, "summary", med);
    if (ok)
        med = NULL;
    ok = ok && cJSON_AddBoolToObject(doc, "interrupted", interrupted) &&
         cJSON_AddNumberToObject(doc, "repeat", (double)n) && cJSON_AddItemToObject(doc, "runs", runs);
    if (ok)
        runs = NULL;
    cJSON_Delete(med);
    cJSON_Delete(runs);
    free(sums);
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

int cmd_run(int argc, char **argv)
{
    struct gate_opts gate;
    gate_opts_init(&gate);
    int code = run_gated(argc, argv, &gate);
    gate_opts_free(&gate);
    return code;
}

/* A write failure of any output makes the exit code 3 (the results could
 * not be delivered), after every other output has been written; a check
 * that failed (1) is outranked by it, an interruption (4) is not. */
static int worse(int code, int failed_output)
{
    return failed_output && code != EXIT_INTERRUPTED ? EXIT_RUN : code;
}

static int run_gated(int argc, char **argv, struct gate_opts *gate)
{
    struct run_cli rc;
    char err[1024];
    int code = EXIT_OK, lost = 0, stopped = 0;
    struct run_outputs out = { 0 };
    struct out_file *json = NULL;
    cJSON **docs = NULL;
    size_t nruns = 0;
    pid_t mock = 0;
    int pr = cmd_run_parse(&rc, gate, argc, argv, err, sizeof err);
    if ((pr = cli_parse_result(&cli_run_cmd, pr, err)) >= 0) {
        scale_opts_free(&rc.scale);
        return pr;
    }
    struct run_config *cfg = &rc.cfg;
    /* Every output is opened before the first request and kept: a path
     * that cannot be written costs no benchmark, and what was checked is
     * what gets written (a FIFO, /dev/fd/N or >(cmd) included). */
    code = EXIT_USAGE;
    if (cfg->json_path && !(json = out_open(cfg->json_path, err, sizeof err))) {
        cli_flag_err(err, sizeof err, "--json");
        goto fail;
    }
    if (cfg->csv_path && !(out.csv = report_csv_open(cfg->csv_path, err, sizeof err))) {
        cli_flag_err(err, sizeof err, "--csv");
        goto fail;
    }
    report_csv_slo(out.csv, &cfg->slo);
    if (cfg->raw_path && !(out.raw = report_raw_open(cfg->raw_path, err, sizeof err))) {
        cli_flag_err(err, sizeof err, "--raw");
        goto fail;
    }
    if (gate_check_files(gate, err, sizeof err) < 0 || cli_run_check_pictures(&rc, err, sizeof err) < 0)
        goto fail;
    /* Prompt files and datasets are read (and bounded) before the server
     * is even asked: a bad file is a usage error, whatever the network. */
    if (cli_run_open_workload(&rc, err, sizeof err) < 0)
        goto fail;
    cfg->progress = !cfg->quiet && isatty(STDERR_FILENO);

    code = EXIT_RUN;
    mock = cli_run_start_mock(&rc, err, sizeof err);
    if (mock < 0)
        goto fail;
    if (mock > 0 && !cfg->quiet)
        fprintf(stderr, "no --url given: benchmarking the built-in simulator at %s (llmload mock%s)\n",
                cfg->url, rc.nmock ? " with --mock-arg flags" : "");

    /* Early when the model is known; once it is, in any case, below. */
    code = cfg->model[0] && gate_config_ok(gate, cfg, err, sizeof err) < 0 ? EXIT_USAGE : 0;
    if (!code)
        code = cli_run_resolve(&rc, err, sizeof err);
    if (!code && gate_config_ok(gate, cfg, err, sizeof err) < 0)
        code = EXIT_USAGE;
    if (code) {
        if (code == EXIT_RUN)
            gate_run_failed(gate, err);
        goto fail;
    }
    /* --repeat K (gate): K runs of the same benchmark against the same
     * server; the gate decides on the median of their result documents. */
    int repeat = gate_repeat(gate);
    if (!(docs = calloc((size_t)repeat, sizeof *docs))) {
        snprintf(err, sizeof err, "out of memory");
        code = EXIT_RUN;
        goto fail;
    }
    uint64_t seed = cfg->seed;
    for (int k = 0; k < repeat && code == EXIT_OK; k++) {
        cfg->seed = config_run_seed(seed, (uint64_t)k);   /* fresh nonces on every repeat */
        struct run_stats stats;
        struct obs_monitor *mon = NULL;
        struct engine_hooks hooks = { .on_record = on_record, .ud = &out, .on_events = on_events,
                                       .monitor_out = &mon };
        if (run_stats_init(&stats) < 0) {
            fprintf(stderr, "llmload run: out of memory\n");
            code = EXIT_RUN;
            break;
        }
        rc.obs.run_id[0] = 0;   /* each run of --repeat is a run of its own */
        /* The shards of one run share its id without talking (docs/scale.md). */
        if (cfg->shard_count > 1)
            scale_shared_run_id(stats.run_id, sizeof stats.run_id, cfg->start_at_ns, cfg->seed,
                                cfg->shard_count);
        /* The workers' loops have no listener, pusher or monitor. */
        int erc = cfg->workers <= 1 && cli_obs_hooks(&rc.obs, cfg, &stats, NULL, &hooks, err, sizeof err) < 0
                  ? LL_EUSAGE : scale_run(cfg, &stats, &hooks, out.csv, out.raw, err, sizeof err);
        if (erc < 0) {
            fprintf(stderr, "llmload run: %s\n", err);
            gate_run_failed(gate, err);
            run_stats_free(&stats);
            code = EXIT_RUN;
            break;
        }
        if (repeat > 1)
            fprintf(out_human(), "%srun %d of %d\n", k ? "\n" : "", k + 1, repeat);
        report_print_summary(out_human(), cfg, &stats);
        if (mon)
            obs_monitor_print(mon, out_human(), stats.output_tokens);
        docs[nruns] = report_result_json(cfg, &stats);
        if (docs[nruns] && cfg->shard_count > 1)
            scale_note_clock(cJSON_GetObjectItemCaseSensitive(docs[nruns], "environment"),
                             &stats.server_clock);
        if (!docs[nruns] || cli_obs_result(&rc.obs, docs[nruns], mon, &stats) < 0) {
            fprintf(stderr, "llmload run: out of memory\n");
            code = EXIT_RUN;
        }
        if (docs[nruns])
            nruns++;
        /* A push that failed is an output that was lost (exit 3). */
        if (cli_obs_push(&rc.obs, cfg, &stats, &hooks, mon, "run") < 0)
            lost = 1;
        obs_monitor_free(mon);
        if (stats.interrupted)
            code = EXIT_INTERRUPTED;
        else if (code == EXIT_OK && !strcmp(stats.stop_reason, "error-rate")) {
            /* The user's own limit stopped it: a failed check, not a result. */
            snprintf(err, sizeof err, "stopped by --stop-on-error-rate %g%%: the error rate of the last "
                     "requests went above it (%llu of %llu requests failed)", cfg->stop_error_rate * 100,
                     (unsigned long long)stats.failed, (unsigned long long)stats.requests);
            fprintf(stderr, "llmload run: %s\n", err);
            gate_run_failed(gate, err);
            stopped = 1;
            code = EXIT_CHECK;
        } else if (code == EXIT_OK && stats.ok == 0) {
            const char *sample = "";
            for (int i = 1; i < ERR__COUNT; i++)
                if (stats.err_sample[i][0]) {
                    sample = stats.err_sample[i];
                    break;
                }
            fprintf(stderr, "llmload run: every request failed%s%s\n", *sample ? ": " : "", sample);
            code = EXIT_RUN;
        }
        run_stats_free(&stats);
    }
    cli_run_stop_mock(mock);
    mock = 0;
    /* Every output is written, each failure said, before the exit code
     * takes the failures into account. */
    if (report_csv_finish(out.csv, err, sizeof err) < 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        lost = 1;
    }
    if (report_raw_finish(out.raw, err, sizeof err) < 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        lost = 1;
    }
    out.csv = NULL;
    out.raw = NULL;
    /* --json holds the run, or with --repeat every run and their median. */
    if (json && nruns) {
        cJSON *rep = nruns > 1 ? repeat_doc(docs, nruns) : NULL;
        if (nruns > 1 && !rep) {
            fprintf(stderr, "llmload run: --json: out of memory\n");
            lost = 1;
        } else if (report_commit_json(json, rep ? rep : docs[0], err, sizeof err) < 0) {
            fprintf(stderr, "llmload run: --json: %s\n", err);
            lost = 1;
        }
        cJSON_Delete(rep);
    }
    if (cli_run_write_pictures(&rc, "run", (const cJSON *const *)docs, nruns, nruns > 1) < 0)
        lost = 1;
    /* The gate also sees failed and interrupted runs: it writes a JUnit
     * error for the former and saves no baseline from the latter.  A run
     * stopped by the error rate has had its JUnit error already. */
    if (gate_active(gate) && nruns && !stopped) {
        int gc = gate_evaluate(gate, docs, nruns, out_human(), err, sizeof err);
        if (code == EXIT_OK) {
            code = gc;
            if (gc >= EXIT_USAGE)
                fprintf(stderr, "llmload run: %s\n", err);
        }
    }
    code = worse(code, lost);
    goto out;
fail:
    fprintf(stderr, "llmload run: %s\n", err);
out:
    cli_run_stop_mock(mock);
    report_csv_close(out.csv);
    report_raw_close(out.raw);
    out_close(json);
    for (size_t i = 0; i < nruns; i++)
        cJSON_Delete(docs[i]);
    free(docs);
    workload_free(cfg->workload);
    scale_opts_free(&rc.scale);
    return code;
}
