#ifndef LLMLOAD_RENDER_INT_H
#define LLMLOAD_RENDER_INT_H
/* Inside the renderer: documents sorted into sections, the per-request data,
 * and the entry points of each output format. */
#include <stddef.h>
#include <stdio.h>
#include "fig.h"
#include "render.h"

struct cJSON;

enum rkind { RK_RUN = 0, RK_SWEEP, RK_REPEAT };

/* A --raw JSONL file, reduced to what the figures need.  Times are seconds
 * from the run's t0; first is NaN when no content arrived. */
struct raw_req {
    double sched, start, first, last, end;
    double tokens;          /* output tokens, 0 when unknown */
    int ok;
    int cls;                /* index into raw_data.classes, -1 when ok */
};

#define RAW_MAX_CLASSES 16

struct raw_data {
    struct raw_req *req;    /* measured requests (warm-up left out), by start time */
    size_t n;
    char *classes[RAW_MAX_CLASSES];
    size_t nclasses;
};

/* Reads path.  0, or -1 with err naming the file and line. */
int raw_load(const char *path, struct raw_data *out, char *err, size_t errcap);
void raw_free(struct raw_data *r);

/* One curve of a section: a run's document, a sweep (a compare holds one
 * per target), or a repeated run's summaries. */
struct rsrc {
    const struct cJSON *doc;      /* result doc, sweep doc, or NULL for a repeat */
    const struct cJSON **sums;    /* RK_REPEAT: each run's summary */
    size_t nsums;
    const struct cJSON *config, *env;
    char *name;
    struct raw_data *raw;         /* RK_RUN with --raw, else NULL */
};

/* A section: documents of one kind (and, for sweeps, one parameter), drawn
 * in one set of figures. */
struct rsec {
    enum rkind kind;
    char *title;
    char *param;                  /* RK_SWEEP: the swept parameter */
    const struct cJSON *compare;  /* a compare document's levels and recommendation */
    struct rsrc *src; size_t nsrc;
    const char *gate_text;
};

struct rreport {
    struct rsec *sec; size_t nsec;
    struct figset figs;           /* figs.sec[i] belongs to sec[i] */
};

/* Sorts the inputs into sections and builds every figure: what every
 * output draws.  0, or -1 with err (and nothing to free). */
int render_build(const struct render_input *in, size_t n, const struct render_opts *opts,
                 struct rreport *r, char *err, size_t errcap);
void render_report_free(struct rreport *r);

/* ---- figures of each kind (render_fig_*.c) ---- */
int fig_build_run(const struct rsec *s, struct fig_section *out);
int fig_build_sweep(const struct rsec *s, struct fig_section *out);
int fig_build_repeat(const struct rsec *s, struct fig_section *out);
/* "model m · server u · 2025-01-31 12:34 UTC" of a section, into buf. */
const char *fig_footer_of(const struct rsec *s, char *buf, size_t cap);

/* The numbers a repeated run is drawn with: each run's value of one summary
 * metric, their median and 95% CI.  vals has room for s->nsums.  The
 * number of runs with a value. */
struct repeat_metric {
    const char *key, *stat, *title, *unit;
    double scale;
};
extern const struct repeat_metric repeat_metrics[];
extern const size_t repeat_nmetrics;
size_t repeat_values(const struct rsec *s, const struct repeat_metric *m, double *vals,
                     double *median, double *lo, double *hi);

/* ---- outputs ---- */
int render_text(FILE *f, const struct rreport *r, char *err, size_t errcap);
int render_html(FILE *f, const struct rreport *r, char *err, size_t errcap);
/* fmt: "png", "svg" (the overview), "pdf" (every figure).  0 or -1 with err. */
int render_cairo_overview(const struct figset *fs, const char *path, const char *fmt,
                          char *err, size_t errcap);
/* Every figure, one per page; date (ISO 8601) is the PDF's creation date. */
int render_cairo_pdf(const struct figset *fs, const char *path, const char *date,
                     char *err, size_t errcap);
/* One figure into path as PNG or SVG. */
int render_cairo_figure(const struct figure *f, const char *path, const char *fmt,
                        char *err, size_t errcap);

/* Outputs go to path.tmp, renamed to path when complete.  tmp_path: 0, or
 * -1 with err when too long.  commit: renames when rc is 0, removes the
 * temporary file otherwise; returns rc, or -1 when the rename failed. */
int render_tmp_path(const char *path, char *tmp, size_t cap, char *err, size_t errcap);
int render_commit(int rc, const char *tmp, const char *path, char *err, size_t errcap);

/* ---- escaping: every string from a server or a user goes through these ---- */
/* s as HTML text or attribute value: & < > " ' escaped. */
void render_html_text(FILE *f, const char *s);
/* s as a JSON string literal (with its quotes) that is also safe inside an
 * inline <script>: < > & and U+2028/U+2029 as \u escapes, so "</script>"
 * or "<!--" cannot end or change the script. */
void render_js_string(FILE *f, const char *s);

/* ---- small shared helpers (render.c) ---- */
/* A summary's number at key (or key.stat), NaN when absent. */
double rsum_num(const struct cJSON *summary, const char *key, const char *stat);
/* The summary of a sweep's level i, its "level" (number or string) */
const struct cJSON *rlevel_summary(const struct cJSON *level);
/* A level's name as printed ("8", "0.7", "tiny"). */
const char *rlevel_name(const struct cJSON *level, char *buf, size_t cap);
/* Human number: "5700", "12.3", "0.0412". */
const char *rfmt_num(double v, char *buf, size_t cap);

#endif
