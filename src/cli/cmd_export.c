/* `llmload export`: saved result documents in another format, on stdout.
 *
 * Formats are rows of one table (name, help, writer), so a new one is one
 * writer function and one row; --help lists them from the same table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "escape.h"
#include "jdoc.h"
#include "obs_doc.h"
#include "obs_opts.h"

enum export_flag { X_FORMAT, X_RUN_ID };

#define EXPORT_MAX_DOCS 4096     /* csv-summary's rows */

struct export_format;

struct export_args {
    const struct export_format *format;
    const char *run_id;                 /* replaces the document's run_id label */
    const struct obs_push_cfg *push;    /* pushing: its grouping labels leave the body */
};

/* Writes the document doc to out.  0, or -1 with a one-line err (the
 * document lacks what the format needs, or out could not be written). */
typedef int (*export_write_fn)(FILE *out, const cJSON *doc, const struct export_args *a,
                               char *err, size_t errcap);
/* Writes several documents (names[i] the file each came from) as one. */
typedef int (*export_write_many_fn)(FILE *out, const cJSON *const *docs, const char *const *names,
                                    size_t n, char *err, size_t errcap);

struct export_format {
    const char *name;
    const char *help;                   /* one line for --help */
    export_write_fn write;
    int pushable;                       /* a Pushgateway takes it (--push) */
    export_write_many_fn write_many;    /* takes several documents; NULL: one */
};

/* ---- vLLM and spreadsheets: numbers out of the result document ------------------- */

/* The number at a dotted path of doc ("summary.ttft.p99"), or NULL when the
 * document has none there (absent, null: no samples). */
static const cJSON *at(const cJSON *doc, const char *path)
{
    char key[64];
    const cJSON *o = doc;
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

static int num_at(const cJSON *doc, const char *path, double *v)
{
    const cJSON *o = at(doc, path);
    if (!cJSON_IsNumber(o) || !isfinite(o->valuedouble))
        return 0;
    *v = o->valuedouble;
    return 1;
}

/* A run's result document, the kind these formats read. */
static int is_result(const cJSON *doc, const char *name, char *err, size_t errcap)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "schema");
    if (cJSON_IsString(s) && !strcmp(s->valuestring, "llmload.result/1") &&
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "summary")))
        return 1;
    snprintf(err, errcap, "%s: not a result document of llmload run (schema llmload.result/1)", name);
    return 0;
}

/* vLLM's latency names and llmload's: `vllm bench serve` saves, for each
 * of its metrics, mean_/median_/std_/pNN_<name>_ms in milliseconds. */
static const struct { const char *ours, *vllm; } vllm_latencies[] = {
    { "ttft", "ttft" }, { "tpot", "tpot" }, { "itl", "itl" }, { "e2e", "e2el" },
};
static const struct { const char *ours, *vllm; } vllm_stats[] = {
    { "mean", "mean" }, { "p50", "median" }, { "stdev", "std" },
    { "p50", "p50" }, { "p90", "p90" }, { "p95", "p95" }, { "p99", "p99" },
};

static int add_num_or_null(cJSON *o, const char *key, int have, double v)
{
    return have ? cJSON_AddNumberToObject(o, key, v) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

/* key: the number at path of doc, or null. */
static int add_at(cJSON *o, const char *key, const cJSON *doc, const char *path)
{
    double v = 0;
    int have = num_at(doc, path, &v);
    return add_num_or_null(o, key, have, v);
}

cJSON *export_vllm_doc(const cJSON *doc)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *model = at(doc, "config.model"), *start = at(doc, "environment.start_time");
    double v = 0, in = 0, out = 0, dur = 0, rate = 0, n = 0;
    char date[32] = "";
    /* vLLM's date is local "YYYYmmdd-HHMMSS"; ours is the UTC start. */
    if (cJSON_IsString(start) && strlen(start->valuestring) >= 19) {
        const char *t = start->valuestring;
        snprintf(date, sizeof date, "%.4s%.2s%.2s-%.2s%.2s%.2s", t, t + 5, t + 8, t + 11, t + 14, t + 17);
    }
    int ok = o && (date[0] ? cJSON_AddStringToObject(o, "date", date) : cJSON_AddNullToObject(o, "date")) &&
             cJSON_AddStringToObject(o, "backend", "llmload") &&
             (cJSON_IsString(model) ? cJSON_AddStringToObject(o, "model_id", model->valuestring)
                                    : cJSON_AddNullToObject(o, "model_id")) &&
             cJSON_AddNullToObject(o, "tokenizer_id") && add_at(o, "num_prompts", doc, "summary.requests");
    /* A closed loop sends as fast as the slots free up: vLLM's "inf". */
    if (ok && num_at(doc, "config.rate", &rate) && rate > 0)
        ok = cJSON_AddNumberToObject(o, "request_rate", rate) != NULL;
    else if (ok)
        ok = cJSON_AddStringToObject(o, "request_rate", "inf") != NULL;
    ok = ok && add_at(o, "burstiness", doc, "config.burstiness") &&
         add_at(o, "max_concurrency", doc, "config.concurrency");
    int have_dur = num_at(doc, "summary.duration_s", &dur), have_in = num_at(doc, "summary.input_tokens", &in),
        have_out = num_at(doc, "summary.output_tokens", &out);
    ok = ok && add_num_or_null(o, "duration", have_dur, dur) &&
         add_at(o, "completed", doc, "summary.ok") && add_at(o, "failed", doc, "summary.failed") &&
         add_num_or_null(o, "total_input_tokens", have_in, in) &&
         add_num_or_null(o, "total_output_tokens", have_out, out) &&
         add_at(o, "request_throughput", doc, "summary.rps") &&
         cJSON_AddNullToObject(o, "request_goodput") &&
         add_at(o, "output_throughput", doc, "summary.output_tps") &&
         add_num_or_null(o, "total_token_throughput", have_dur && have_in && have_out && dur > 0,
                         (in + out) / dur);
    for (size_t i = 0; ok && i < sizeof vllm_latencies / sizeof vllm_latencies[0]; i++) {
        for (size_t k = 0; ok && k < sizeof vllm_stats / sizeof vllm_stats[0]; k++) {
            char path[64], key[64];
            snprintf(path, sizeof path, "summary.%s.%s", vllm_latencies[i].ours, vllm_stats[k].ours);
            snprintf(key, sizeof key, "%s_%s_ms", vllm_stats[k].vllm, vllm_latencies[i].vllm);
            v = 0;
            int have = num_at(doc, path, &v);
            /* numpy's std (vLLM's) divides by n, ours by n - 1. */
            if (have && !strcmp(vllm_stats[k].ours, "stdev")) {
                snprintf(path, sizeof path, "summary.%s.n", vllm_latencies[i].ours);
                have = num_at(doc, path, &n) && n >= 1;
                v = have ? v * sqrt((n - 1) / n) : v;
            }
            ok = add_num_or_null(o, key, have, v * 1e3);
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int write_vllm(FILE *out, const cJSON *doc, const struct export_args *a, char *err, size_t errcap)
{
    (void)a;
    if (!is_result(doc, "the document", err, errcap))
        return -1;
    cJSON *v = export_vllm_doc(doc);
    char *text = v ? cJSON_Print(v) : NULL;
    cJSON_Delete(v);
    if (!text) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    int rc = fprintf(out, "%s\n", text) < 0 ? -1 : 0;
    free(text);
    if (rc < 0)
        snprintf(err, errcap, "cannot write the output");
    return rc;
}

/* The columns of --format csv-summary: one row per result, times in ms as a
 * spreadsheet wants them, an empty cell where the result has no value. */
static const struct csv_col {
    const char *head, *path;
    double scale;                       /* 0: a string */
} csv_cols[] = {
    { "file", NULL, 0 },
    { "run_id", "environment.run_id", 0 },
    { "start_time", "environment.start_time", 0 },
    { "model", "config.model", 0 },
    { "api", "config.api", 0 },
    { "concurrency", "config.concurrency", 1 },
    { "rate", "config.rate", 1 },
    { "max_tokens", "config.max_tokens", 1 },
    { "requests", "summary.requests", 1 },
    { "ok", "summary.ok", 1 },
    { "failed", "summary.failed", 1 },
    { "error_rate", "summary.error_rate", 1 },
    { "duration_s", "summary.duration_s", 1 },
    { "rps", "summary.rps", 1 },
    { "output_tps", "summary.output_tps", 1 },
    { "input_tokens", "summary.input_tokens", 1 },
    { "output_tokens", "summary.output_tokens", 1 },
#define CSV_LAT(m) \
    { m "_mean_ms", "summary." m ".mean", 1e3 }, { m "_p50_ms", "summary." m ".p50", 1e3 }, \
    { m "_p90_ms", "summary." m ".p90", 1e3 }, { m "_p95_ms", "summary." m ".p95", 1e3 }, \
    { m "_p99_ms", "summary." m ".p99", 1e3 }
    CSV_LAT("ttft"), CSV_LAT("tpot"), CSV_LAT("itl"), CSV_LAT("e2e"),
#undef CSV_LAT
};

int export_csv_summary(FILE *out, const cJSON *const *docs, const char *const *names, size_t n,
                       char *err, size_t errcap)
{
    const size_t ncols = sizeof csv_cols / sizeof csv_cols[0];
    for (size_t i = 0; i < n; i++)
        if (!is_result(docs[i], names[i], err, errcap))
            return -1;
    for (size_t c = 0; c < ncols; c++)
        fprintf(out, "%s%s", c ? "," : "", csv_cols[c].head);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < ncols; c++) {
            const struct csv_col *col = &csv_cols[c];
            double v;
            if (c)
                fputc(',', out);
            if (!col->path) {
                esc_csv(names[i], esc_sink_file, out);
            } else if (!col->scale) {
                const cJSON *s = at(docs[i], col->path);
                if (cJSON_IsString(s))
                    esc_csv(s->valuestring, esc_sink_file, out);
            } else if (num_at(docs[i], col->path, &v)) {
                fprintf(out, "%.10g", v * col->scale);
            }
        }
        fputc('\n', out);
    }
    if (ferror(out)) {
        snprintf(err, errcap, "cannot write the output");
        return -1;
    }
    return 0;
}

static int write_expo(FILE *out, const cJSON *doc, const struct export_args *a,
                      enum obs_format fmt, char *err, size_t errcap)
{
    struct obs_doc d;
    if (obs_doc_load(&d, doc, err, errcap) < 0)
        return -1;
    if (a->run_id)
        d.live.labels.run_id = a->run_id;
    if (a->push)
        obs_push_strip_labels(a->push, &d.live.labels);
    int rc = obs_expo_write(out, &d.live, fmt);
    obs_doc_free(&d);
    if (rc < 0)
        snprintf(err, errcap, "cannot write the output");
    return rc;
}

static int write_prometheus(FILE *out, const cJSON *doc, const struct export_args *a,
                            char *err, size_t errcap)
{
    return write_expo(out, doc, a, OBS_FMT_PROMETHEUS, err, errcap);
}

static int write_openmetrics(FILE *out, const cJSON *doc, const struct export_args *a,
                             char *err, size_t errcap)
{
    return write_expo(out, doc, a, OBS_FMT_OPENMETRICS, err, errcap);
}

static const struct export_format formats[] = {
    { "prometheus", "Prometheus text format 0.0.4 (for a Pushgateway:\n"
                    "curl --data-binary @- URL/metrics/job/NAME)", write_prometheus, 1, NULL },
    { "openmetrics", "OpenMetrics 1.0.0 text", write_openmetrics, 0, NULL },
    { "vllm", "the result JSON of `vllm bench serve` (mean_ttft_ms, p99_itl_ms,\n"
              "output_throughput, ...; docs/metrics.md)", write_vllm, 0, NULL },
    { "csv-summary", "one header row and one row per RESULT.json (several may be given),\n"
                     "times in ms, for spreadsheets", NULL, 0, export_csv_summary },
};

static const struct export_format *format_find(const char *name)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(formats[i].name, name))
            return &formats[i];
    return NULL;
}

static int export_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                        char *err, size_t cap)
{
    struct export_args *a = ud;
    switch ((enum export_flag)o->id) {
    case X_FORMAT:
        if (!(a->format = format_find(v))) {
            snprintf(err, cap, "%s %s: unknown format (see llmload export --help)", flag, v);
            return -1;
        }
        return 1;
    case X_RUN_ID:
        if (!*v) {
            snprintf(err, cap, "%s: empty run id", flag);
            return -1;
        }
        a->run_id = v;
        return 1;
    }
    return 0;
}

static const struct opt export_opts[] = {
    { X_FORMAT, "--format", { "-f" }, "NAME", "output format (below); default prometheus" },
    { X_RUN_ID, "--run-id", { NULL }, "ID", "the run_id label (default: the result's run_id)" },
};

static const struct opt_table export_table = OPT_TABLE(export_opts, export_apply);
static const struct opt_table *const export_tables[] = { &export_table, &obs_push_opt_table,
                                                         NULL };

static void export_epilog(FILE *f)
{
    fputs("\nFormats:\n", f);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        const char *h = formats[i].help;
        fprintf(f, "  %-13s ", formats[i].name);
        for (const char *nl; (nl = strchr(h, '\n')); h = nl + 1)
            fprintf(f, "%.*s\n  %-13s ", (int)(nl - h), h, "");
        fprintf(f, "%s\n", h);
    }
    fputs("\nExit codes: 0 ok, 2 usage error (a flag, an unreadable or invalid document),\n"
          "3 the output could not be written or the push failed.\n", f);
}

const struct opt_cmd cli_export_cmd = {
    .name = "export",
    .summary = "write a saved result in another format (Prometheus, OpenMetrics)",
    .usage = "llmload export [--format NAME] [--run-id ID] RESULT.json\n"
             "llmload export --format csv-summary RESULT.json...\n"
             "llmload export --push URL [--push-job NAME] [--push-label K=V]... RESULT.json",
    .about = "Reads a result document written by `llmload run --json` (- reads standard\n"
             "input) and writes it to standard output in the chosen format, or pushes it\n"
             "to a Prometheus Pushgateway (docs/observability.md).",
    .tables = export_tables,
    .args = "RESULT.json",
    .max_args = EXPORT_MAX_DOCS,
    .epilog_fn = export_epilog,
};

/* Renders the document and pushes it.  The exit code. */
static int export_push(const cJSON *doc, const char *path, struct export_args *a,
                       const struct obs_push_cfg *push)
{
    char err[512], *text = NULL;
    size_t len = 0;
    a->push = push;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        fprintf(stderr, "llmload export: out of memory\n");
        return EXIT_RUN;
    }
    int rc = a->format->write(f, doc, a, err, sizeof err);
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, sizeof err, "out of memory");
        rc = -1;
    }
    int code = EXIT_OK;
    if (rc < 0) {
        fprintf(stderr, "llmload export: %s: %s\n", path, err);
        code = EXIT_USAGE;
    } else if (obs_push_sync(push, text, len, err, sizeof err) < 0) {
        fprintf(stderr, "llmload export: %s\n", err);
        code = EXIT_RUN;
    }
    free(text);
    return code;
}

/* --format csv-summary: every document read, then one table.  The exit
 * code. */
static int export_many(const struct export_format *fmt, const char **paths, size_t n)
{
    char err[512];
    int code = EXIT_OK;
    size_t got = 0;
    cJSON **docs = calloc(n, sizeof *docs);
    if (!docs) {
        fprintf(stderr, "llmload export: out of memory\n");
        return EXIT_RUN;
    }
    for (; got < n; got++)
        if (!(docs[got] = jdoc_read_file(paths[got], err, sizeof err))) {
            fprintf(stderr, "llmload export: %s\n", err);
            code = EXIT_USAGE;
            goto out;
        }
    if (fmt->write_many(stdout, (const cJSON *const *)docs, paths, n, err, sizeof err) < 0 &&
        !ferror(stdout)) {
        fprintf(stderr, "llmload export: %s\n", err);
        code = EXIT_USAGE;
    }
out:
    for (size_t i = 0; i < got; i++)
        cJSON_Delete(docs[i]);
    free(docs);
    return code;
}

int cmd_export(int argc, char **argv)
{
    struct export_args a = { .format = &formats[0] };
    struct obs_opts obs;
    char err[512];
    const char **args = calloc(EXPORT_MAX_DOCS, sizeof *args);
    size_t nargs = 0;
    int code = EXIT_USAGE;
    if (!args) {
        fprintf(stderr, "llmload export: out of memory\n");
        return EXIT_RUN;
    }
    obs_opts_init(&obs);
    void *ud[] = { &a, &obs };
    int r = opt_parse(&cli_export_cmd, ud, argc, argv, 1, args, &nargs, err, sizeof err);
    if ((r = cli_parse_result(&cli_export_cmd, r, err)) >= 0) {
        code = r;
        goto out;
    }
    if (obs_opts_check(&obs, err, sizeof err) < 0) {
        fprintf(stderr, "llmload export: %s\n", err);
        goto out;
    }
    if (obs.push && !a.format->pushable) {
        fprintf(stderr, "llmload export: --push sends the prometheus format; --format %s cannot "
                        "be pushed\n", a.format->name);
        goto out;
    }
    if (nargs == 0) {
        fprintf(stderr, "llmload export: a result document is required (llmload export RESULT.json)\n");
        goto out;
    }
    if (nargs > 1 && !a.format->write_many) {
        fprintf(stderr, "llmload export: unexpected argument '%s': give one result document "
                        "(several only with --format csv-summary)\n", args[1]);
        goto out;
    }
    if (a.format->write_many) {
        code = export_many(a.format, args, nargs);
        goto out;
    }
    cJSON *doc = jdoc_read_file(args[0], err, sizeof err);
    if (!doc) {
        fprintf(stderr, "llmload export: %s\n", err);
        goto out;
    }
    code = EXIT_OK;
    if (obs.push)
        code = export_push(doc, args[0], &a, &obs.push_cfg);
    else if (a.format->write(stdout, doc, &a, err, sizeof err) < 0 && !ferror(stdout)) {
        fprintf(stderr, "llmload export: %s: %s\n", args[0], err);
        code = EXIT_USAGE;
    }
    /* A stdout that could not be written is main's to judge, as for every
     * command: a full disk is exit 3, a reader that went away is not. */
    cJSON_Delete(doc);
out:
    free(args);
    return code;
}
