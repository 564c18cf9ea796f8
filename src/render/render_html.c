#include "render_int.h"
int render_html(FILE *f, const struct rreport *r, char *err, size_t errcap)
{
    (void)f; (void)r;
    snprintf(err, errcap, "not yet");
    return -1;
}
