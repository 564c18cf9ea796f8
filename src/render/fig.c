/* The figure model: construction, ranges and ticks. */
#include "fig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void *fig_grow(void *arr, size_t n, size_t size)
{
    /* arr is the address of any object pointer: copied, not cast, so
     * no pointer is read through another pointer type. */
    void *old;
    memcpy(&old, arr, sizeof old);
    char *a = realloc(old, (n + 1) * size);
    if (!a)
        return NULL;
    memcpy(arr, &a, sizeof a);
    memset(a + n * size, 0, size);
    return a + n * size;
}

struct figure *fig_new(const char *id, const char *title, const char *xlabel, const char *ylabel)
{
    struct figure *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->id = strdup(id);
    f->title = strdup(title);
    f->x.label = strdup(xlabel);
    f->y.label = strdup(ylabel);
    if (!f->id || !f->title || !f->x.label || !f->y.label) {
        fig_free(f);
        return NULL;
    }
    return f;
}

static void axis_free(struct fig_axis *a)
{
    free(a->label);
    for (size_t i = 0; i < a->ncats; i++)
        free(a->cats[i]);
    free(a->cats);
}

void fig_free(struct figure *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nseries; i++) {
        free(f->series[i].label);
        free(f->series[i].x);
        free(f->series[i].y);
    }
    free(f->series);
    for (size_t i = 0; i < f->nmarks; i++)
        free(f->marks[i].label);
    free(f->marks);
    axis_free(&f->x);
    axis_free(&f->y);
    free(f->id);
    free(f->title);
    free(f->note);
    free(f->footer);
    free(f);
}

struct fig_series *fig_series_add(struct figure *f, const char *label, enum fig_style style,
                                  unsigned color)
{
    struct fig_series *s = fig_grow(&f->series, f->nseries, sizeof *s);
    if (!s || !(s->label = strdup(label)))
        return NULL;
    s->style = style;
    s->color = color;
    f->nseries++;
    return s;
}

int fig_point(struct fig_series *s, double x, double y)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        double *nx = realloc(s->x, cap * sizeof *nx);
        if (!nx)
            return -1;
        s->x = nx;
        double *ny = realloc(s->y, cap * sizeof *ny);
        if (!ny)
            return -1;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    return 0;
}

int fig_mark_add(struct figure *f, enum fig_mark_kind kind, double v, double v2,
                 unsigned color, const char *label)
{
    if (!isfinite(v) || (kind >= MARK_BAND_Y && !isfinite(v2)))
        return 0;   /* nothing to mark: not an error */
    struct fig_mark *m = fig_grow(&f->marks, f->nmarks, sizeof *m);
    if (!m)
        return -1;
    m->kind = kind;
    m->v = v;
    m->v2 = v2;
    m->color = color;
    if (!(m->label = dup_or_null(label)) && label)
        return -1;
    f->nmarks++;
    return 0;
}

static int set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = dup_or_null(s);
    return s && !*dst ? -1 : 0;
}

int fig_set_note(struct figure *f, const char *note)
{
    return set_str(&f->note, note);
}

int fig_set_footer(struct figure *f, const char *footer)
{
    return set_str(&f->footer, footer);
}

int fig_set_cats(struct figure *f, const char *const *cats, size_t n)
{
    char **c = calloc(n ? n : 1, sizeof *c);
    if (!c)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(c[i] = strdup(cats[i]))) {
            while (i--)
                free(c[i]);
            free(c);
            return -1;
        }
    f->x.cats = c;
    f->x.ncats = n;
    return 0;
}

void fig_nice_range(double lo, double hi, double *min, double *max, double *step)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-12 * fmax(1, fabs(hi))) {
        /* One value: a range around it, or 0..1 for a zero. */
        double pad = hi != 0 ? fabs(hi) * 0.5 : 1;
        lo = lo >= 0 && lo - pad < 0 ? 0 : lo - pad;
        hi += pad;
    }
    double raw = (hi - lo) / 6;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    double s = (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
    *step = s;
    *min = floor(lo / s + 1e-9) * s;
    *max = ceil(hi / s - 1e-9) * s;
}

void fig_finish(struct figure *f)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < f->nseries; i++)
        for (size_t k = 0; k < f->series[i].n; k++) {
            double x = f->series[i].x[k], y = f->series[i].y[k];
            if (isfinite(x)) {
                xlo = fmin(xlo, x);
                xhi = fmax(xhi, x);
            }
            if (isfinite(y)) {
                ylo = fmin(ylo, y);
                yhi = fmax(yhi, y);
            }
        }
    for (size_t i = 0; i < f->nmarks; i++) {
        const struct fig_mark *m = &f->marks[i];
        if (m->kind == MARK_X || m->kind == MARK_POINT) {
            xlo = fmin(xlo, m->v);
            xhi = fmax(xhi, m->v);
        }
        if (m->kind == MARK_Y || m->kind == MARK_BAND_Y) {
            ylo = fmin(ylo, m->v);
            yhi = fmax(yhi, m->v);
        }
        if (m->kind == MARK_BAND_Y || m->kind == MARK_POINT) {
            ylo = fmin(ylo, m->v2);
            yhi = fmax(yhi, m->v2);
        }
    }
    if (f->x.ncats) {
        /* Categories sit on whole numbers with half a step of room. */
        f->x.min = -0.5;
        f->x.max = (double)f->x.ncats - 0.5;
        f->x.step = 1;
    } else {
        if (xlo >= 0 && xlo <= (xhi - xlo) * 0.25)
            xlo = 0;    /* close to 0: the axis starts at 0, which reads better */
        fig_nice_range(xlo, xhi, &f->x.min, &f->x.max, &f->x.step);
    }
    if (ylo >= 0)
        ylo = 0;
    fig_nice_range(ylo, yhi, &f->y.min, &f->y.max, &f->y.step);
}

struct fig_section *figset_section(struct figset *fs, const char *title)
{
    struct fig_section *s = fig_grow(&fs->sec, fs->nsec, sizeof *s);
    if (!s || !(s->title = strdup(title)))
        return NULL;
    fs->nsec++;
    return s;
}

int fig_section_add(struct fig_section *s, struct figure *f)
{
    if (!f)
        return -1;
    struct figure **slot = fig_grow(&s->figs, s->nfigs, sizeof *slot);
    if (!slot) {
        fig_free(f);
        return -1;
    }
    *slot = f;
    s->nfigs++;
    fig_finish(f);
    return 0;
}

void figset_free(struct figset *fs)
{
    for (size_t i = 0; i < fs->nsec; i++) {
        for (size_t k = 0; k < fs->sec[i].nfigs; k++)
            fig_free(fs->sec[i].figs[k]);
        free(fs->sec[i].figs);
        free(fs->sec[i].title);
    }
    free(fs->sec);
    fs->sec = NULL;
    fs->nsec = 0;
}

struct figure *figset_find(const struct figset *fs, const char *id)
{
    for (size_t i = 0; i < fs->nsec; i++)
        for (size_t k = 0; k < fs->sec[i].nfigs; k++)
            if (!strcmp(fs->sec[i].figs[k]->id, id))
                return fs->sec[i].figs[k];
    return NULL;
}

unsigned fig_color(size_t k)
{
    /* Distinct on white and for the common colour-vision deficiencies
     * (Okabe-Ito, without its yellow, which is unreadable as a line). */
    static const unsigned pal[] = { 0x0072b2, 0xd55e00, 0x009e73, 0xcc79a7,
                                    0x56b4e9, 0xe69f00, 0x000000 };
    return pal[k % (sizeof pal / sizeof pal[0])];
}

void fig_time_unit(double v, const char **name, double *factor)
{
    if (!isfinite(v) || v >= 2) {
        *name = "s";
        *factor = 1;
    } else if (v >= 0.002) {
        *name = "ms";
        *factor = 1e3;
    } else {
        *name = "\xc2\xb5s";   /* µs */
        *factor = 1e6;
    }
}
