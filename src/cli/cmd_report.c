/* llmload report INPUT... [-o OUT]: pictures and reports of saved results
 * (docs/report.md). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "jdoc.h"
#include "render.h"

#define REPORT_MAX_INPUTS 64

enum report_flag { R_OUTPUT, R_FORMAT, R_REPEAT, R_NORAW };

struct report_args {
    const char *out, *format;
    int repeat, noraw;
};

static int report_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                        char *err, size_t cap)
{
    struct report_args *a = ud;
    switch ((enum report_flag)o->id) {
    case R_OUTPUT:
        if (!*v) {
            snprintf(err, cap, "%s needs a file or a directory", flag);
            return -1;
        }
        a->out = v;
        return 1;
    case R_FORMAT:
        if (!strcmp(v, "dir")) {
            snprintf(err, cap, "%s dir: a directory of figures is several files, which cannot "
                               "go to the standard output (give -o DIR/)", flag);
            return -1;
        }
        if (strcmp(v, "html") && strcmp(v, "png") && strcmp(v, "svg") && strcmp(v, "pdf") &&
            strcmp(v, "txt")) {
            snprintf(err, cap, "%s %s: give html, png, svg, pdf or txt", flag, v);
            return -1;
        }
        a->format = v;
        return 1;
    case R_REPEAT: a->repeat = 1; return 1;
    case R_NORAW: a->noraw = 1; return 1;
    }
    return 0;
}

static const struct opt report_opts[] = {
    { R_OUTPUT, "--output", { "-o" }, "OUT",
      "what to write, by its name (default: the text report on stdout):\n"
      "  FILE.html  one self-contained page with interactive charts\n"
      "  FILE.png   the main figures in one picture (FILE.svg: the same as SVG)\n"
      "  FILE.pdf   every figure, one per page\n"
      "  FILE.txt   the text report\n"
      "  DIR/       every figure as DIR/NAME.png and DIR/NAME.svg\n"
      "  -          the standard output, in the kind --format names (a DIR/ is\n"
      "             several files and cannot go there)" },
    { R_FORMAT, "--format", { NULL }, "KIND",
      "the kind of output with -o - (the default): html, png, svg, pdf or txt\n"
      "(default: txt)" },
    { R_REPEAT, "--repeat", { NULL }, NULL, "the result documents are the runs of one repeated run" },
    { R_NORAW, "--no-raw", { NULL }, NULL, "do not look for per-request files beside the documents" },
};

static const struct opt_table report_table = OPT_TABLE(report_opts, report_apply);
static const struct opt_table *const report_tables[] = { &report_table, NULL };

#define REPORT_MAX_ARGS (2 * REPORT_MAX_INPUTS)

const struct opt_cmd cli_report_cmd = {
    .name = "report",
    .summary = "pictures and reports of saved results: HTML, PNG, SVG, PDF, text",
    .usage = "llmload report INPUT... [-o OUT] [--format KIND]",
    .about = "Renders result documents (run, repeated run, sweep, compare) as pictures and\n"
             "reports.  Several documents of one kind are overlaid; documents of different\n"
             "kinds get a section each.  A run's per-request file (--raw) is used when it\n"
             "is given after the run's JSON or lies beside it (r.json -> r.raw.jsonl).",
    .tables = report_tables,
    .args = "INPUT...",
    .max_args = REPORT_MAX_ARGS,
    .epilog = "Exit codes: 0 written, 2 a bad input or an output that cannot be written.",
};

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int cmd_report(int argc, char **argv)
{
    struct report_args ra = { .out = "-" };
    int code = EXIT_USAGE;
    struct render_input in[REPORT_MAX_INPUTS];
    char names[REPORT_MAX_INPUTS][256], beside[REPORT_MAX_INPUTS][4096];
    cJSON *docs[REPORT_MAX_INPUTS];
    int explicit_raw[REPORT_MAX_INPUTS];
    size_t n = 0;
    char err[1024];
    const char *args[REPORT_MAX_ARGS];
    size_t nargs = 0;
    void *ud[] = { &ra };
    int r = opt_parse(&cli_report_cmd, ud, argc, argv, 1, args, &nargs, err, sizeof err);
    if ((r = cli_parse_result(&cli_report_cmd, r, err)) >= 0)
        return r;
    const char *out = ra.out;
    if (ra.format && strcmp(out, "-")) {
        /* A file's kind is its name's: two answers could disagree. */
        fprintf(stderr, "llmload report: --format is for -o - (%s names its own kind)\n", out);
        goto out;
    }
    int repeat = ra.repeat, noraw = ra.noraw;
    for (size_t i = 0; i < nargs; i++) {
        const char *a = args[i];
        if (ends_with(a, ".jsonl")) {
            /* A per-request file belongs to the run just before it. */
            if (!n || strcmp(jdoc_str(docs[n - 1], "schema") ? jdoc_str(docs[n - 1], "schema") : "",
                             "llmload.result/1")) {
                fprintf(stderr, "llmload report: %s: a per-request file must follow its run's JSON\n", a);
                goto out;
            }
            in[n - 1].raw_path = a;
            explicit_raw[n - 1] = 1;
        } else {
            if (n == REPORT_MAX_INPUTS) {
                fprintf(stderr, "llmload report: more than %d documents\n", REPORT_MAX_INPUTS);
                goto out;
            }
            if (!(docs[n] = jdoc_read_file(a, err, sizeof err))) {
                fprintf(stderr, "llmload report: %s\n", err);
                goto out;
            }
            jdoc_stem(a, names[n], sizeof names[n]);
            in[n].doc = docs[n];
            in[n].name = names[n];
            in[n].raw_path = noraw ? NULL : render_raw_beside(a, beside[n], sizeof beside[n]);
            explicit_raw[n] = 0;
            n++;
        }
    }
    if (!n) {
        fprintf(stderr, "llmload report: give at least one result document (see --help)\n");
        goto out;
    }
    for (size_t i = 0; i < n && noraw; i++)
        if (!explicit_raw[i])
            in[i].raw_path = NULL;
    struct render_opts o = { .repeat = repeat, .format = ra.format };
    if (render_write(in, n, out, &o, err, sizeof err) < 0) {
        fprintf(stderr, "llmload report: %s\n", err);
        code = EXIT_USAGE;
        goto out;
    }
    code = EXIT_OK;
out:
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(docs[i]);
    return code;
}
