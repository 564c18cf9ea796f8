/* `llmload export`: a saved result document in another format, on stdout.
 *
 * Formats are rows of one table (name, help, writer), so a new one is one
 * writer function and one row; --help lists them from the same table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "jdoc.h"
#include "obs_doc.h"
#include "obs_opts.h"

enum export_flag { X_FORMAT, X_RUN_ID };

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

struct export_format {
    const char *name;
    const char *help;                   /* one line for --help */
    export_write_fn write;
    int pushable;                       /* a Pushgateway takes it (--push) */
};

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
                    "curl --data-binary @- URL/metrics/job/NAME)", write_prometheus, 1 },
    { "openmetrics", "OpenMetrics 1.0.0 text", write_openmetrics, 0 },
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
             "llmload export --push URL [--push-job NAME] [--push-label K=V]... RESULT.json",
    .about = "Reads a result document written by `llmload run --json` and writes it to\n"
             "standard output in the chosen format, or pushes it to a Prometheus\n"
             "Pushgateway (docs/observability.md).",
    .tables = export_tables,
    .args = "RESULT.json",
    .max_args = 1,
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

int cmd_export(int argc, char **argv)
{
    struct export_args a = { .format = &formats[0] };
    struct obs_opts obs;
    char err[512];
    const char *args[1];
    size_t nargs = 0;
    obs_opts_init(&obs);
    void *ud[] = { &a, &obs };
    int r = opt_parse(&cli_export_cmd, ud, argc, argv, 1, args, &nargs, err, sizeof err);
    if ((r = cli_parse_result(&cli_export_cmd, r, err)) >= 0)
        return r;
    if (obs_opts_check(&obs, err, sizeof err) < 0) {
        fprintf(stderr, "llmload export: %s\n", err);
        return EXIT_USAGE;
    }
    if (obs.push && !a.format->pushable) {
        fprintf(stderr, "llmload export: --push sends the prometheus format; --format %s cannot "
                        "be pushed\n", a.format->name);
        return EXIT_USAGE;
    }
    if (nargs != 1) {
        fprintf(stderr, "llmload export: a result document is required (llmload export RESULT.json)\n");
        return EXIT_USAGE;
    }
    cJSON *doc = jdoc_read_file(args[0], err, sizeof err);
    if (!doc) {
        fprintf(stderr, "llmload export: %s\n", err);
        return EXIT_USAGE;
    }
    int code = EXIT_OK;
    if (obs.push)
        code = export_push(doc, args[0], &a, &obs.push_cfg);
    else if (a.format->write(stdout, doc, &a, err, sizeof err) < 0 && !ferror(stdout)) {
        fprintf(stderr, "llmload export: %s: %s\n", args[0], err);
        code = EXIT_USAGE;
    }
    /* A stdout that could not be written is main's to judge, as for every
     * command: a full disk is exit 3, a reader that went away is not. */
    cJSON_Delete(doc);
    return code;
}
