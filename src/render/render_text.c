/* The text report: each section's tables in aligned columns, then its
 * reading in plain words. */
#include "render_table.h"

#include <string.h>

/* Width on a terminal: UTF-8 characters, not bytes. */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void pad(FILE *f, size_t n)
{
    while (n--)
        fputc(' ', f);
}

static void print_table(FILE *f, const struct rtable *t)
{
    size_t w[32] = { 0 };
    size_t nc = t->ncols < 32 ? t->ncols : 32;
    for (size_t r = 0; r <= t->nrows; r++)
        for (size_t c = 0; c < nc; c++) {
            size_t x = text_width(rtable_at(t, r, c));
            if (x > w[c])
                w[c] = x;
        }
    fprintf(f, "%s\n", t->title);
    for (size_t r = 0; r <= t->nrows; r++) {
        fputs("  ", f);
        for (size_t c = 0; c < nc; c++) {
            const char *s = rtable_at(t, r, c);
            size_t gap = w[c] - text_width(s);
            int right = (int)c >= t->numeric_from && !(t->text_last && c + 1 == nc);
            if (right)
                pad(f, gap);
            fputs(s, f);
            if (c + 1 < nc)
                pad(f, (right ? 0 : gap) + 2);
        }
        fputc('\n', f);
    }
    fputc('\n', f);
}

int render_text(FILE *f, const struct rreport *r, char *err, size_t errcap)
{
    for (size_t i = 0; i < r->nsec; i++) {
        const struct rsec *s = &r->sec[i];
        struct rtables ts;
        if (rtables_build(s, &ts) < 0) {
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        char footer[1024];
        if (i)
            fputc('\n', f);
        fprintf(f, "%s\n", s->title);
        for (size_t k = text_width(s->title); k; k--)
            fputc('=', f);
        fprintf(f, "\n%s\n\n", fig_footer_of(s, footer, sizeof footer));
        for (size_t k = 0; k < ts.n; k++)
            print_table(f, &ts.t[k]);
        if (ts.nlines) {
            fprintf(f, "Reading\n");
            for (size_t k = 0; k < ts.nlines; k++)
                fprintf(f, "  %s\n", ts.lines[k]);
        }
        rtables_free(&ts);
    }
    if (r->nsec && r->sec[0].gate_text)
        fprintf(f, "\nGate\n%s", r->sec[0].gate_text);
    return 0;
}
