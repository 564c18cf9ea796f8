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

static void usage(FILE *f)
{
    fprintf(f,
        "usage: llmload report INPUT... [-o OUT]\n\n"
        "Renders result documents (run, repeated run, sweep, compare) as pictures and\n"
        "reports.  Several documents of one kind are overlaid; documents of different\n"
        "kinds get a section each.  A run's per-request file (--raw) is used when it\n"
        "is given after the run's JSON or lies beside it (r.json -> r.raw.jsonl).\n\n"
        "options:\n"
        "  -o, --output OUT   what to write, by its name (default: the text report on stdout):\n"
        "                       FILE.html  one self-contained page with interactive charts\n"
        "                       FILE.png   the main figures in one picture (FILE.svg: the same as SVG)\n"
        "                       FILE.pdf   every figure, one per page\n"
        "                       FILE.txt   the text report\n"
        "                       DIR/       every figure as DIR/NAME.png and DIR/NAME.svg\n"
        "  --repeat           the result documents are the runs of one repeated run\n"
        "  --no-raw           do not look for per-request files beside the documents\n"
        "  -h, --help         this help\n");
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int cmd_report(int argc, char **argv)
{
    const char *out = "-";
    int repeat = 0, noraw = 0, code = EXIT_USAGE;
    struct render_input in[REPORT_MAX_INPUTS];
    char names[REPORT_MAX_INPUTS][256], beside[REPORT_MAX_INPUTS][4096];
    cJSON *docs[REPORT_MAX_INPUTS];
    int explicit_raw[REPORT_MAX_INPUTS];
    size_t n = 0;
    char err[1024];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            code = EXIT_OK;
            goto out;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i == argc) {
                fprintf(stderr, "llmload report: %s needs a file or a directory\n", a);
                goto out;
            }
            out = argv[i];
        } else if (!strncmp(a, "--output=", 9)) {
            out = a + 9;
        } else if (!strcmp(a, "--repeat")) {
            repeat = 1;
        } else if (!strcmp(a, "--no-raw")) {
            noraw = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "llmload report: unknown option '%s' (try llmload report --help)\n", a);
            goto out;
        } else if (ends_with(a, ".jsonl")) {
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
        usage(stderr);
        goto out;
    }
    for (size_t i = 0; i < n && noraw; i++)
        if (!explicit_raw[i])
            in[i].raw_path = NULL;
    struct render_opts o = { .repeat = repeat };
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
