/* `llmload merge`: the result documents of a run's shards (run --shard I/N)
 * merged exactly into the document of one run, then the gate on it, as
 * `run` would have gated the whole run (docs/scale.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fileio.h"
#include "gate.h"
#include "jdoc.h"
#include "report.h"
#include "scale.h"

enum merge_flag { M_OUTPUT };

struct merge_args {
    const char *output;
};

static int merge_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                       char *err, size_t cap)
{
    struct merge_args *a = ud;
    (void)flag; (void)err; (void)cap;
    if (o->id == M_OUTPUT)
        a->output = v;
    return 1;
}

static const struct opt merge_opts[] = {
    { M_OUTPUT, "--output", { "-o", "--json" }, "FILE",
      "the merged result document (llmload.result/1, as one run writes)" },
};

static const struct opt_table merge_table = OPT_TABLE(merge_opts, merge_apply);
static const struct opt_table *const merge_tables[] = { &merge_table, &gate_opt_table, NULL };

const struct opt_cmd cli_merge_cmd = {
    .name = "merge",
    .summary = "merge the results of a run's shards into one result",
    .usage = "llmload merge SHARD.json... -o RUN.json [--assert EXPR]... [--baseline FILE] "
             "[--junit FILE]",
    .about = "Reads the result documents of the shards of one run (llmload run --shard I/N\n"
             "--json FILE, one per shard) and writes the result of the whole run: counters\n"
             "summed, histograms added bucket by bucket, so every percentile is the one a\n"
             "single process measuring every request would report.  Shards of different\n"
             "runs or settings are refused, naming the setting.  The gate's flags work as\n"
             "on `run` (docs/scale.md).",
    .tables = merge_tables,
    .args = "SHARD.json...",
    .max_args = SCALE_SHARDS_MAX,
    .epilog = "Exit codes: 0 ok, 1 a check failed, 2 usage error (a flag, an unreadable\n"
              "document, shards that do not belong together), 3 the output could not be\n"
              "written, 4 a shard was interrupted (the gate is not evaluated).",
};

int cmd_merge(int argc, char **argv)
{
    struct merge_args a = { 0 };
    struct gate_opts gate;
    char err[1024], warn[512];
    const char **args = calloc(SCALE_SHARDS_MAX, sizeof *args);
    cJSON **docs = NULL, *doc = NULL;
    struct out_file *out = NULL;
    size_t nargs = 0, nread = 0;
    int code = EXIT_USAGE;
    gate_opts_init(&gate);
    void *ud[] = { &a, &gate };
    if (!args) {
        fprintf(stderr, "llmload merge: out of memory\n");
        return EXIT_RUN;
    }
    int r = opt_parse(&cli_merge_cmd, ud, argc, argv, 1, args, &nargs, err, sizeof err);
    if ((r = cli_parse_result(&cli_merge_cmd, r, err)) >= 0) {
        code = r;
        goto done;
    }
    if (!a.output) {
        snprintf(err, sizeof err, "-o RUN.json is required (where the merged result goes)");
        goto fail;
    }
    if (nargs < 2) {
        snprintf(err, sizeof err, "give every shard's result document (at least two)");
        goto fail;
    }
    if (gate_repeat(&gate) > 1) {
        snprintf(err, sizeof err, "--repeat: a merge gates the one run its shards made");
        goto fail;
    }
    /* The output first: a path that cannot be written costs no reading. */
    if (!(out = out_open(a.output, err, sizeof err))) {
        cli_flag_err(err, sizeof err, "-o");
        goto fail;
    }
    if (gate_check_files(&gate, err, sizeof err) < 0)
        goto fail;
    if (!(docs = calloc(nargs, sizeof *docs))) {
        snprintf(err, sizeof err, "out of memory");
        code = EXIT_RUN;
        goto fail;
    }
    for (nread = 0; nread < nargs; nread++)
        if (!(docs[nread] = jdoc_read_file(args[nread], err, sizeof err)))
            goto fail;
    if (!(doc = scale_merge_docs(docs, args, nargs, warn, sizeof warn, err, sizeof err)))
        goto fail;
    if (warn[0])
        fprintf(stderr, "llmload merge: warning: %s\n", warn);
    if (gate_check_config(&gate, cJSON_GetObjectItemCaseSensitive(doc, "config"), err, sizeof err) < 0)
        goto fail;
    code = EXIT_OK;
    if (report_commit_json(out, doc, err, sizeof err) < 0) {
        fprintf(stderr, "llmload merge: -o: %s\n", err);
        code = EXIT_RUN;
    }
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    printf("merged %zu shards: %.0f requests (%.0f ok, %.0f failed), %.0f output tokens in %.3f s\n",
           nargs, jdoc_num(sum, "requests"), jdoc_num(sum, "ok"), jdoc_num(sum, "failed"),
           jdoc_num(sum, "output_tokens"), jdoc_num(sum, "duration_s"));
    int interrupted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "interrupted"));
    if (gate_active(&gate)) {
        int gc = gate_evaluate(&gate, &doc, 1, stdout, err, sizeof err);
        if (gc >= EXIT_USAGE && gc != EXIT_INTERRUPTED)
            fprintf(stderr, "llmload merge: %s\n", err);
        if (code == EXIT_OK)
            code = gc;
    } else if (interrupted && code == EXIT_OK) {
        code = EXIT_INTERRUPTED;
    }
    goto done;
fail:
    fprintf(stderr, "llmload merge: %s\n", err);
done:
    out_close(out);
    cJSON_Delete(doc);
    for (size_t i = 0; docs && i < nread; i++)
        cJSON_Delete(docs[i]);
    free(docs);
    free(args);
    gate_opts_free(&gate);
    return code;
}
