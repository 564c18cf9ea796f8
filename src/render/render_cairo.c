/* Static figures with cairo: one drawing function for PNG, SVG and PDF, so
 * the three formats are the same picture. */
#include "render_int.h"

#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fileio.h"

#define FONT "DejaVu Sans"
#define FIG_W 800
#define FIG_H 480
#define CELL_W 640
#define CELL_H 420

static void set_rgb(cairo_t *cr, unsigned c, double alpha)
{
    cairo_set_source_rgba(cr, ((c >> 16) & 255) / 255.0, ((c >> 8) & 255) / 255.0, (c & 255) / 255.0, alpha);
}

static void font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_w(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* s at (x, y), anchored by align (0 left, 0.5 centre, 1 right), cut with
 * "..." to maxw when maxw > 0. */
static void text_at(cairo_t *cr, double x, double y, const char *s, double align, double maxw)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    if (maxw > 0 && text_w(cr, buf) > maxw) {
        size_t n = strlen(buf);
        while (n > 0) {
            do
                n--;
            while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80);
            snprintf(buf + n, sizeof buf - n, "...");
            if (text_w(cr, buf) <= maxw)
                break;
        }
    }
    cairo_move_to(cr, x - align * text_w(cr, buf), y);
    cairo_show_text(cr, buf);
}

static void tick_label(double v, double step, char *buf, size_t cap)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) < step * 1e-9)
        v = 0;   /* no "-0" */
    snprintf(buf, cap, "%.*f", dec, v);
}

struct frame {
    double l, r, t, b;      /* the plot area */
    const struct figure *f;
};

static double px(const struct frame *fr, double v)
{
    return fr->l + (v - fr->f->x.min) / (fr->f->x.max - fr->f->x.min) * (fr->r - fr->l);
}

static double py(const struct frame *fr, double v)
{
    return fr->b - (v - fr->f->y.min) / (fr->f->y.max - fr->f->y.min) * (fr->b - fr->t);
}

static void dash(cairo_t *cr, int kind)
{
    static const double d1[] = { 6, 4 }, d2[] = { 2, 3 };
    if (kind == 1)
        cairo_set_dash(cr, d1, 2, 0);
    else if (kind == 2)
        cairo_set_dash(cr, d2, 2, 0);
    else
        cairo_set_dash(cr, NULL, 0, 0);
}

static void draw_series(cairo_t *cr, const struct frame *fr, const struct fig_series *s)
{
    set_rgb(cr, s->color, 1);
    dash(cr, s->dashed);
    switch (s->style) {
    case FIG_LINE: {
        int pen = 0;
        cairo_set_line_width(cr, 2);
        for (size_t i = 0; i < s->n; i++) {
            if (!isfinite(s->x[i]) || !isfinite(s->y[i])) {
                pen = 0;
                continue;
            }
            if (pen)
                cairo_line_to(cr, px(fr, s->x[i]), py(fr, s->y[i]));
            else
                cairo_move_to(cr, px(fr, s->x[i]), py(fr, s->y[i]));
            pen = 1;
        }
        cairo_stroke(cr);
        /* Few points: mark each, so a level is visible on its line. */
        if (s->n <= 40)
            for (size_t i = 0; i < s->n; i++)
                if (isfinite(s->x[i]) && isfinite(s->y[i])) {
                    cairo_arc(cr, px(fr, s->x[i]), py(fr, s->y[i]), 3, 0, 2 * M_PI);
                    cairo_fill(cr);
                }
        break;
    }
    case FIG_STEP: {
        double y0 = py(fr, fmax(fr->f->y.min, 0));
        if (s->n < 2)
            break;
        cairo_move_to(cr, px(fr, s->x[0]), y0);
        for (size_t i = 0; i + 1 < s->n; i++) {
            double y = isfinite(s->y[i]) ? py(fr, s->y[i]) : y0;
            cairo_line_to(cr, px(fr, s->x[i]), y);
            cairo_line_to(cr, px(fr, s->x[i + 1]), y);
        }
        cairo_line_to(cr, px(fr, s->x[s->n - 1]), y0);
        cairo_close_path(cr);
        set_rgb(cr, s->color, 0.25);
        cairo_fill_preserve(cr);
        set_rgb(cr, s->color, 1);
        cairo_set_line_width(cr, 1.5);
        cairo_stroke(cr);
        break;
    }
    case FIG_POINTS:
        for (size_t i = 0; i < s->n; i++)
            if (isfinite(s->x[i]) && isfinite(s->y[i])) {
                cairo_arc(cr, px(fr, s->x[i]), py(fr, s->y[i]), 4.5, 0, 2 * M_PI);
                cairo_fill(cr);
            }
        break;
    case FIG_SEGMENTS: {
        double rows = fr->f->y.max - fr->f->y.min;
        double w = rows > 0 ? (fr->b - fr->t) / rows : 1;
        /* One row per request when they fit, a hairline when they do not. */
        cairo_set_line_width(cr, w < 0.6 ? 0.6 : w > 3 ? 3 : w);
        /* A request that failed at once is a segment of length 0: square
         * caps keep it visible. */
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
        for (size_t i = 0; i + 1 < s->n; i += 2) {
            cairo_move_to(cr, px(fr, s->x[i]), py(fr, s->y[i]));
            cairo_line_to(cr, px(fr, s->x[i + 1]), py(fr, s->y[i + 1]));
        }
        cairo_stroke(cr);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
        break;
    }
    }
    dash(cr, 0);
}

static void star(cairo_t *cr, double x, double y, double r)
{
    for (int i = 0; i < 10; i++) {
        double a = -M_PI / 2 + i * M_PI / 5, rr = i % 2 ? r * 0.45 : r;
        if (i)
            cairo_line_to(cr, x + rr * cos(a), y + rr * sin(a));
        else
            cairo_move_to(cr, x + rr * cos(a), y + rr * sin(a));
    }
    cairo_close_path(cr);
}

static void draw_mark(cairo_t *cr, const struct frame *fr, const struct fig_mark *m)
{
    font(cr, 10, 0);
    cairo_set_line_width(cr, 1.2);
    switch (m->kind) {
    case MARK_X: {
        double x = px(fr, m->v);
        set_rgb(cr, m->color, 0.9);
        dash(cr, 1);
        cairo_move_to(cr, x, fr->t);
        cairo_line_to(cr, x, fr->b);
        cairo_stroke(cr);
        dash(cr, 0);
        if (m->label) {
            cairo_save(cr);
            cairo_translate(cr, x - 3, fr->t + 4);
            cairo_rotate(cr, -M_PI / 2);
            text_at(cr, 0, 0, m->label, 1, fr->b - fr->t - 8);
            cairo_restore(cr);
        }
        break;
    }
    case MARK_Y: {
        double y = py(fr, m->v);
        set_rgb(cr, m->color, 0.9);
        dash(cr, 1);
        cairo_move_to(cr, fr->l, y);
        cairo_line_to(cr, fr->r, y);
        cairo_stroke(cr);
        dash(cr, 0);
        if (m->label)
            text_at(cr, fr->r - 4, y - 4, m->label, 1, fr->r - fr->l - 8);
        break;
    }
    case MARK_BAND_Y: {
        double y1 = py(fr, m->v), y2 = py(fr, m->v2);
        set_rgb(cr, m->color, 0.15);
        cairo_rectangle(cr, fr->l, fmin(y1, y2), fr->r - fr->l, fabs(y2 - y1));
        cairo_fill(cr);
        if (m->label) {
            set_rgb(cr, m->color, 1);
            text_at(cr, fr->l + 4, fmin(y1, y2) - 4, m->label, 0, fr->r - fr->l - 8);
        }
        break;
    }
    case MARK_POINT: {
        double x = px(fr, m->v), y = py(fr, m->v2);
        set_rgb(cr, m->color, 1);
        star(cr, x, y, 8);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_set_line_width(cr, 0.8);
        cairo_stroke(cr);
        if (m->label) {
            set_rgb(cr, m->color, 1);
            int right = x > (fr->l + fr->r) / 2;
            text_at(cr, right ? x - 9 : x + 9, y + 14, m->label, right, 0);
        }
        break;
    }
    }
}

/* The legend rows needed for width w. */
static int legend_rows(cairo_t *cr, const struct figure *f, double w)
{
    font(cr, 11, 0);
    double x = 0;
    int rows = f->nseries ? 1 : 0;
    for (size_t i = 0; i < f->nseries; i++) {
        double ew = 22 + text_w(cr, f->series[i].label) + 14;
        if (x > 0 && x + ew > w) {
            rows++;
            x = 0;
        }
        x += ew;
    }
    return rows;
}

static void draw_figure(cairo_t *cr, const struct figure *f, double w, double h)
{
    cairo_save(cr);
    cairo_rectangle(cr, 0, 0, w, h);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill(cr);

    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    font(cr, 16, 1);
    text_at(cr, 14, 24, f->title, 0, w - 28);
    double top = 40;
    if (f->note) {
        font(cr, 11, 0);
        cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
        text_at(cr, 14, 41, f->note, 0, w - 28);
        top = 56;
    }
    int lrows = legend_rows(cr, f, w - 80);
    struct frame fr = { 72, w - 18, top + 6, h - 62 - 16.0 * lrows, f };

    /* Grid, ticks and tick labels. */
    font(cr, 10.5, 0);
    cairo_set_line_width(cr, 1);
    const struct fig_axis *ax = &f->x, *ay = &f->y;
    char b[64];
    for (double v = ay->min; v <= ay->max + ay->step * 1e-6; v += ay->step) {
        double y = py(&fr, v);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, fr.l, y);
        cairo_line_to(cr, fr.r, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        tick_label(v, ay->step, b, sizeof b);
        text_at(cr, fr.l - 6, y + 4, b, 1, 0);
    }
    if (ax->ncats) {
        double slot = (fr.r - fr.l) / (double)ax->ncats;
        for (size_t i = 0; i < ax->ncats; i++) {
            cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
            text_at(cr, px(&fr, (double)i), fr.b + 15, ax->cats[i], 0.5, slot - 4);
        }
    } else {
        for (double v = ax->min; v <= ax->max + ax->step * 1e-6; v += ax->step) {
            double x = px(&fr, v);
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
            cairo_move_to(cr, x, fr.t);
            cairo_line_to(cr, x, fr.b);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
            tick_label(v, ax->step, b, sizeof b);
            text_at(cr, x, fr.b + 15, b, 0.5, 0);
        }
    }
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_rectangle(cr, fr.l, fr.t, fr.r - fr.l, fr.b - fr.t);
    cairo_stroke(cr);

    /* Axis labels. */
    font(cr, 12, 0);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, (fr.l + fr.r) / 2, fr.b + 33, ax->label, 0.5, fr.r - fr.l);
    cairo_save(cr);
    cairo_translate(cr, 18, (fr.t + fr.b) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, ay->label, 0.5, fr.b - fr.t);
    cairo_restore(cr);

    /* Data and marks, clipped to the plot. */
    cairo_save(cr);
    cairo_rectangle(cr, fr.l, fr.t, fr.r - fr.l, fr.b - fr.t);
    cairo_clip(cr);
    for (size_t i = 0; i < f->nmarks; i++)
        if (f->marks[i].kind == MARK_BAND_Y)
            draw_mark(cr, &fr, &f->marks[i]);
    for (size_t i = 0; i < f->nseries; i++)
        draw_series(cr, &fr, &f->series[i]);
    for (size_t i = 0; i < f->nmarks; i++)
        if (f->marks[i].kind != MARK_BAND_Y)
            draw_mark(cr, &fr, &f->marks[i]);
    cairo_restore(cr);

    /* Legend. */
    font(cr, 11, 0);
    double lx = fr.l, ly = fr.b + 52;
    for (size_t i = 0; i < f->nseries; i++) {
        const struct fig_series *s = &f->series[i];
        double ew = 22 + text_w(cr, s->label) + 14;
        if (lx > fr.l && lx + ew > fr.l + w - 80) {
            lx = fr.l;
            ly += 16;
        }
        set_rgb(cr, s->color, 1);
        if (s->style == FIG_POINTS) {
            cairo_arc(cr, lx + 8, ly - 4, 4, 0, 2 * M_PI);
            cairo_fill(cr);
        } else {
            cairo_set_line_width(cr, s->style == FIG_SEGMENTS ? 4 : 2.5);
            dash(cr, s->dashed);
            cairo_move_to(cr, lx, ly - 4);
            cairo_line_to(cr, lx + 16, ly - 4);
            cairo_stroke(cr);
            dash(cr, 0);
        }
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        text_at(cr, lx + 22, ly, s->label, 0, 0);
        lx += ew;
    }

    if (f->footer) {
        font(cr, 9.5, 0);
        cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
        text_at(cr, 14, h - 8, f->footer, 0, w - 28);
    }
    cairo_restore(cr);
}

/* ---- surfaces ---- */

/* The bytes of a picture bound for "-": cairo streams them here and the
 * whole picture goes to fileio at the end, which owns what "-" means. */
struct membuf {
    unsigned char *p;
    size_t n, cap;
};

static cairo_status_t membuf_write(void *closure, const unsigned char *data, unsigned int len)
{
    struct membuf *m = closure;
    if (m->n + len > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->n + len)
            cap *= 2;
        unsigned char *p = realloc(m->p, cap);
        if (!p)
            return CAIRO_STATUS_NO_MEMORY;
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, len);
    m->n += len;
    return CAIRO_STATUS_SUCCESS;
}

/* A PNG is encoded at the end, into png_path or, with png_path NULL, into
 * mem (when mem is given). */
static int finish_surface(cairo_surface_t *sf, cairo_t *cr, const char *png_path,
                          struct membuf *png_mem, const char *path, char *err, size_t errcap)
{
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && png_path)
        st = cairo_surface_write_to_png(sf, png_path);
    else if (st == CAIRO_STATUS_SUCCESS && png_mem)
        st = cairo_surface_write_to_png_stream(sf, membuf_write, png_mem);
    cairo_surface_finish(sf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(sf);
    cairo_surface_destroy(sf);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errcap, "%s: %s", path, cairo_status_to_string(st));
        return -1;
    }
    return 0;
}

/* A picture of size w x h in fmt (png, svg, pdf), drawn by draw and written
 * to path through a temporary file, or, for path "-", made in memory and
 * handed whole to the standard output.  A PDF's dates are date (ISO 8601). */
static int draw_to(const char *path, const char *fmt, double w, double h, const char *date,
                   void (*draw)(cairo_t *, const void *, double, double), const void *arg,
                   char *err, size_t errcap)
{
    char tmp[4096];
    struct membuf mem = { 0 };
    int to_stdout = !strcmp(path, "-");
    if (!to_stdout && render_tmp_path(path, tmp, sizeof tmp, err, errcap) < 0)
        return -1;
    int svg = !strcmp(fmt, "svg"), pdf = !strcmp(fmt, "pdf");
    cairo_surface_t *sf =
        svg ? (to_stdout ? cairo_svg_surface_create_for_stream(membuf_write, &mem, w, h)
                         : cairo_svg_surface_create(tmp, w, h))
        : pdf ? (to_stdout ? cairo_pdf_surface_create_for_stream(membuf_write, &mem, w, h)
                           : cairo_pdf_surface_create(tmp, w, h))
              : cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
    int rc = -1;
    if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errcap, "%s: %s", path, cairo_status_to_string(cairo_surface_status(sf)));
        cairo_surface_destroy(sf);
        goto out;
    }
    if (svg)
        cairo_svg_surface_restrict_to_version(sf, CAIRO_SVG_VERSION_1_1);
    if (pdf) {
        /* The run's date, not the time of rendering: same input, same bytes. */
        char d[32];
        snprintf(d, sizeof d, "%.19sZ", date && strlen(date) >= 19 ? date : "1970-01-01T00:00:00");
        cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_CREATE_DATE, d);
        cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_MOD_DATE, d);
        cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_CREATOR, "llmload report");
    }
    cairo_t *cr = cairo_create(sf);
    draw(cr, arg, w, h);
    int png = !svg && !pdf;
    rc = finish_surface(sf, cr, png && !to_stdout ? tmp : NULL, png && to_stdout ? &mem : NULL,
                        path, err, errcap);
    if (!to_stdout)
        return render_commit(rc, tmp, path, err, errcap);
    if (rc == 0)
        rc = out_write_file("-", mem.p, mem.n, err, errcap);
out:
    free(mem.p);
    return rc;
}

static void draw_one(cairo_t *cr, const void *arg, double w, double h)
{
    draw_figure(cr, arg, w, h);
}

int render_cairo_figure(const struct figure *f, const char *path, const char *fmt,
                        char *err, size_t errcap)
{
    return draw_to(path, fmt, FIG_W, FIG_H, NULL, draw_one, f, err, errcap);
}

#define OVERVIEW_MAX 8

struct overview {
    const struct figure *f[OVERVIEW_MAX];
    size_t n;
    const char *title;
};

static void draw_overview(cairo_t *cr, const void *arg, double w, double h)
{
    const struct overview *o = arg;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    font(cr, 18, 1);
    text_at(cr, 14, 27, o->title, 0, w - 28);
    size_t cols = o->n > 1 ? 2 : 1;
    for (size_t i = 0; i < o->n; i++) {
        cairo_save(cr);
        cairo_translate(cr, (double)(i % cols) * CELL_W, 40 + (double)(i / cols) * CELL_H);
        draw_figure(cr, o->f[i], CELL_W, CELL_H);
        cairo_restore(cr);
    }
    (void)h;
}

int render_cairo_overview(const struct figset *fs, const char *path, const char *fmt,
                          char *err, size_t errcap)
{
    struct overview o = { .n = 0, .title = fs->nsec ? fs->sec[0].title : "" };
    for (size_t i = 0; i < fs->nsec; i++)
        for (size_t k = 0; k < fs->sec[i].nfigs && o.n < OVERVIEW_MAX; k++)
            if (fs->sec[i].figs[k]->main)
                o.f[o.n++] = fs->sec[i].figs[k];
    for (size_t i = 0; i < fs->nsec && !o.n; i++)   /* no main figure: the first ones */
        for (size_t k = 0; k < fs->sec[i].nfigs && o.n < 4; k++)
            o.f[o.n++] = fs->sec[i].figs[k];
    if (!o.n) {
        snprintf(err, errcap, "%s: nothing to draw (the documents hold no figures)", path);
        return -1;
    }
    size_t cols = o.n > 1 ? 2 : 1, rows = (o.n + cols - 1) / cols;
    return draw_to(path, fmt, (double)(cols * CELL_W), 40 + (double)(rows * CELL_H), NULL,
                   draw_overview, &o, err, errcap);
}

static void draw_pages(cairo_t *cr, const void *arg, double w, double h)
{
    const struct figset *fs = arg;
    for (size_t i = 0; i < fs->nsec; i++)
        for (size_t k = 0; k < fs->sec[i].nfigs; k++) {
            draw_figure(cr, fs->sec[i].figs[k], w, h);
            cairo_show_page(cr);
        }
}

int render_cairo_pdf(const struct figset *fs, const char *path, const char *date,
                     char *err, size_t errcap)
{
    size_t pages = 0;
    for (size_t i = 0; i < fs->nsec; i++)
        pages += fs->sec[i].nfigs;
    if (!pages) {
        snprintf(err, errcap, "%s: nothing to draw (the documents hold no figures)", path);
        return -1;
    }
    /* A4 landscape, in points. */
    return draw_to(path, "pdf", 842, 595, date, draw_pages, fs, err, errcap);
}
