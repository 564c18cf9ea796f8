/* Units on the command line ("30s", "1k", "5%") and on the terminal. */
#include "units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* strtod that rejects empty input, NaN/inf and leading space. */
static int parse_number(const char *s, double *v, const char **end)
{
    char *e;
    if (!s || !*s || *s == ' ' || *s == '\t')
        return -1;
    errno = 0;
    *v = strtod(s, &e);
    if (e == s || errno == ERANGE || !isfinite(*v))
        return -1;
    *end = e;
    return 0;
}

int units_duration_suffix(const char *suffix, double *ns)
{
    static const struct { const char *suffix; double ns; } tab[] = {
        { "ns", 1.0 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 },
        { "s", 1e9 }, { "m", 60e9 }, { "min", 60e9 }, { "h", 3600e9 }, { "", 1e9 },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(suffix, tab[i].suffix) == 0) {
            *ns = tab[i].ns;
            return 0;
        }
    }
    return -1;
}

size_t units_count_prefix(const char *s, double *mult)
{
    switch (*s) {
    case 'k': case 'K': *mult = 1e3; return 1;
    case 'M': *mult = 1e6; return 1;
    case 'G': *mult = 1e9; return 1;
    }
    *mult = 1;
    return 0;
}

int units_parse_duration(const char *s, uint64_t *ns)
{
    double v, mult;
    const char *e;
    if (parse_number(s, &v, &e) < 0 || v < 0 || units_duration_suffix(e, &mult) < 0)
        return -1;
    double r = v * mult;
    if (r >= 1.8e19)
        return -1;
    *ns = (uint64_t)llround(r);
    return 0;
}

int units_parse_count(const char *s, uint64_t *out)
{
    double v, mult;
    const char *e;
    if (parse_number(s, &v, &e) < 0 || v < 0)
        return -1;
    e += units_count_prefix(e, &mult);
    if (*e)
        return -1;
    v *= mult;
    if (v != floor(v) || v >= 1.8e19)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int units_parse_double(const char *s, double *out)
{
    const char *e;
    if (parse_number(s, out, &e) < 0 || *e)
        return -1;
    return 0;
}

int units_parse_fraction(const char *s, double *out)
{
    double v;
    const char *e;
    if (parse_number(s, &v, &e) < 0)
        return -1;
    if (!strcmp(e, "%"))
        v /= 100.0;
    else if (*e)
        return -1;
    *out = v;
    return 0;
}

const char *units_fmt_seconds(double s, char *buf, size_t cap)
{
    if (isnan(s))
        snprintf(buf, cap, "-");
    else if (s < 0)
        snprintf(buf, cap, "-%s", units_fmt_seconds(-s, (char[32]){0}, 32));
    else if (s < 1e-6)
        snprintf(buf, cap, "%.0f ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(buf, cap, "%.*f us", s < 1e-5 ? 2 : s < 1e-4 ? 1 : 0, s * 1e6);
    else if (s < 1.0)
        snprintf(buf, cap, "%.*f ms", s < 1e-2 ? 2 : s < 1e-1 ? 1 : 0, s * 1e3);
    else if (s < 60.0)
        snprintf(buf, cap, "%.2f s", s);
    else if (s < 1e9)   /* minutes fit an int far beyond any real duration */
        snprintf(buf, cap, "%dm %02ds", (int)(s / 60), (int)fmod(s, 60));
    else                /* an absurd value (a typo in an --assert): no int conversion */
        snprintf(buf, cap, "%.3g s", s);
    return buf;
}

const char *units_fmt_si(double v, char *buf, size_t cap)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else if (fabs(v) >= 1e9)
        snprintf(buf, cap, "%.2f G", v / 1e9);
    else if (fabs(v) >= 1e6)
        snprintf(buf, cap, "%.2f M", v / 1e6);
    else if (fabs(v) >= 1e4)
        snprintf(buf, cap, "%.1f k", v / 1e3);
    else if (fabs(v) >= 100 || v == floor(v))
        snprintf(buf, cap, "%.0f", v);
    else
        snprintf(buf, cap, "%.2f", v);
    return buf;
}
