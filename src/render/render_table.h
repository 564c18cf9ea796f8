#ifndef LLMLOAD_RENDER_TABLE_H
#define LLMLOAD_RENDER_TABLE_H
/* The tables and sentences of a report, built once as strings: the text
 * report aligns them in columns, the HTML report puts them in <table>s. */
#include <stddef.h>
#include "render_int.h"

struct rtable {
    char *title;
    size_t ncols, nrows;        /* rows after the header */
    char **cell;                /* (nrows + 1) * ncols, row 0 the header */
    int numeric_from;           /* columns from here on are numbers (right-aligned) */
    int text_last;              /* ... except the last one, a text */
};

struct rtables {
    struct rtable *t; size_t n;
    char **lines; size_t nlines;        /* the reading: knee, recommendation, plain words */
};

/* Every table and sentence of section s, in reading order.  0 or -1 OOM. */
int rtables_build(const struct rsec *s, struct rtables *out);
void rtables_free(struct rtables *t);

const char *rtable_at(const struct rtable *t, size_t row, size_t col);

/* Key/value rows of a flat object (config, environment): strings, numbers
 * and booleans, nested values left out.  NULL on OOM. */
struct rtable *rtable_kv(const struct cJSON *obj, const char *title);
void rtable_free(struct rtable *t);

#endif
