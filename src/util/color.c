/* Colour on the terminal (color.h). */
#include "color.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum color_mode mode = COLOR_AUTO;

int color_parse(const char *s)
{
    if (!strcmp(s, "auto") || !strcmp(s, "tty") || !strcmp(s, "if-tty"))
        return COLOR_AUTO;
    if (!strcmp(s, "always") || !strcmp(s, "yes") || !strcmp(s, "force"))
        return COLOR_ALWAYS;
    if (!strcmp(s, "never") || !strcmp(s, "no") || !strcmp(s, "none"))
        return COLOR_NEVER;
    return -1;
}

void color_set(enum color_mode m)
{
    mode = m;
}

enum color_mode color_get(void)
{
    return mode;
}

int color_on(FILE *f)
{
    if (mode != COLOR_AUTO)
        return mode == COLOR_ALWAYS;
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    if ((no && *no) || (term && !strcmp(term, "dumb")))
        return 0;
    int fd = fileno(f);
    return fd >= 0 && isatty(fd);
}

const char *color(FILE *f, const char *sgr)
{
    return color_on(f) ? sgr : "";
}
