#ifndef LLMLOAD_RENDER_H
#define LLMLOAD_RENDER_H
/* Pictures and reports of result documents (docs/report.md).
 *
 * The renderer reads DOCUMENTS only (cJSON: "llmload.result/1",
 * "llmload.sweep/1", "llmload.compare/1", "llmload.baseline/1"), plus a
 * run's --raw JSONL for the per-request figures, never the engine's
 * structures: `llmload report` renders saved files, and `run`, `sweep` and
 * `compare` call render_files() at their end for --html and --plots.
 *
 * The output is chosen by the name of OUT:
 *   *.html   one self-contained page (Chart.js inlined, no network)
 *   *.png    the overview: the main figures in one picture
 *   *.svg    the same overview as SVG
 *   *.pdf    every figure, one per page
 *   *.txt    the text report
 *   DIR/     (a trailing slash, or an existing directory) every figure as
 *            DIR/<figure>.png and DIR/<figure>.svg
 *   "-"      the standard output, in the kind opts->format names ("html",
 *            "png", "svg", "pdf", "txt"; NULL: "txt"); a directory of
 *            figures is several files and has no "-"
 * Same input, same bytes. */
#include <stddef.h>
#include <stdio.h>

struct cJSON;

/* One input: a parsed document, the name it goes by in legends (a file's
 * stem, a target's name), and its per-request JSONL (NULL: none). */
struct render_input {
    const struct cJSON *doc;
    const char *name;
    const char *raw_path;
};

struct render_opts {
    /* The inputs are K result documents of one repeated run (`run
     * --repeat K`): drawn as one run's value per run with the median and
     * its 95% CI, not overlaid. */
    int repeat;
    /* The gate's verdict as printed (PASS/FAIL lines), shown in the HTML
     * and text reports; NULL when there was no gate. */
    const char *gate_text;
    /* The kind of output when out is "-" (see above); NULL: text. */
    const char *format;
};

/* Renders in[0..n) into out.  0, or -1 with err (one line naming what was
 * wrong: an unknown extension, a document of an unknown schema, a file
 * that cannot be written, Chart.js not installed). */
int render_write(const struct render_input *in, size_t n, const char *out,
                 const struct render_opts *opts, char *err, size_t errcap);

/* For `run`, `sweep` and `compare` (--html FILE, --plots DIR): renders the
 * documents they just wrote.  Names come from the documents (a sweep's
 * target, a run's model); a run's --raw file (config.raw_path) is used when
 * it exists.  With repeat (run --repeat K), docs are the K runs. */
int render_files(const struct cJSON *const *docs, size_t n, const char *out, int repeat,
                 char *err, size_t errcap);

/* The per-request file beside a result document: "r.json" -> "r.raw.jsonl"
 * when that file exists.  Writes into buf and returns it, or NULL. */
const char *render_raw_beside(const char *json_path, char *buf, size_t cap);

#endif
