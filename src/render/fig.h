#ifndef LLMLOAD_FIG_H
#define LLMLOAD_FIG_H
/* Figures as data.  Every picture llmload draws is built once, from result
 * documents, as a `struct figure` (series, axes, marks, texts); the cairo
 * renderer (PNG, SVG, PDF) and the HTML renderer (Chart.js) only draw these,
 * so a figure added here appears in every format, and the tests check the
 * figures without decoding pictures.
 *
 * Values are already in the unit the axis label names ("TTFT (ms)"): the
 * builders pick the unit, the renderers never convert.  NaN in a series is a
 * gap. */
#include <stddef.h>

enum fig_style {
    FIG_LINE = 0,       /* a polyline through the points */
    FIG_STEP,           /* histogram: x[i] is a bin's left edge, the last x its right edge */
    FIG_POINTS,         /* unconnected dots */
    FIG_SEGMENTS        /* (x[2i], y[2i]) -> (x[2i+1], y[2i+1]): one segment per pair */
};

struct fig_series {
    char *label;
    enum fig_style style;
    unsigned color;     /* 0xRRGGBB */
    int dashed;
    size_t n, cap;
    double *x, *y;
};

enum fig_mark_kind {
    MARK_X = 0,         /* vertical line at v */
    MARK_Y,             /* horizontal line at v */
    MARK_BAND_Y,        /* horizontal band from v to v2 */
    MARK_POINT          /* a star at (v, v2) */
};

struct fig_mark {
    enum fig_mark_kind kind;
    double v, v2;
    unsigned color;
    char *label;
};

struct fig_axis {
    char *label;        /* with its unit: "TTFT (ms)" */
    double min, max, step;  /* fixed by fig_finish: both renderers use them */
    char **cats;        /* category names at x = 0..ncats-1, or NULL */
    size_t ncats;
};

struct figure {
    char *id;           /* file name stem: "ttft_cdf" */
    char *title;
    char *note;         /* one line under the title, or NULL */
    char *footer;       /* model, server, date */
    int main;           /* part of the overview picture */
    struct fig_axis x, y;
    struct fig_series *series; size_t nseries;
    struct fig_mark *marks; size_t nmarks;
};

/* A report: figures in sections, one section per group of documents. */
struct fig_section {
    char *title;
    struct figure **figs; size_t nfigs;
};

struct figset {
    struct fig_section *sec; size_t nsec;
};

/* Grows the array *arr of n elements of size bytes by one zeroed element
 * and returns it (the caller counts it), or NULL out of memory. */
void *fig_grow(void *arr, size_t n, size_t size);

/* All constructors return NULL (or -1) only when out of memory. */
struct figure *fig_new(const char *id, const char *title, const char *xlabel, const char *ylabel);
void fig_free(struct figure *f);
struct fig_series *fig_series_add(struct figure *f, const char *label, enum fig_style style,
                                  unsigned color);
int fig_point(struct fig_series *s, double x, double y);
int fig_mark_add(struct figure *f, enum fig_mark_kind kind, double v, double v2,
                 unsigned color, const char *label);
int fig_set_note(struct figure *f, const char *note);
int fig_set_footer(struct figure *f, const char *footer);
/* Category labels for the x axis (x = 0..n-1). */
int fig_set_cats(struct figure *f, const char *const *cats, size_t n);

/* Chooses the axis ranges and tick steps from the data and marks: a "nice"
 * step (1, 2 or 5 times a power of ten), 4 to 10 ticks, the y axis from 0
 * when every value is >= 0.  Called once, when the figure is complete. */
void fig_finish(struct figure *f);

/* A nice tick step for the range [lo, hi] and the rounded range itself. */
void fig_nice_range(double lo, double hi, double *min, double *max, double *step);

struct fig_section *figset_section(struct figset *fs, const char *title);
int fig_section_add(struct fig_section *s, struct figure *f);   /* takes f, frees it on error */
void figset_free(struct figset *fs);
struct figure *figset_find(const struct figset *fs, const char *id);

/* The palette: a colour for the k-th input or series. */
unsigned fig_color(size_t k);

/* A latency unit fitting values around v seconds: its name ("ms") and the
 * factor from seconds (1e3). */
void fig_time_unit(double v, const char **name, double *factor);

#endif
