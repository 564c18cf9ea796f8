/* The offset to the server's clock from its Date headers (srvclock.h). */
#include "srvclock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void srv_clock_init(struct srv_clock *c)
{
    c->lo_ns = INT64_MIN;
    c->hi_ns = INT64_MAX;
    c->n = 0;
}

void srv_clock_add(struct srv_clock *c, int64_t date_s, int64_t send_ns, int64_t recv_ns)
{
    if (date_s <= 0 || recv_ns < send_ns)
        return;
    int64_t lo = date_s * 1000000000 - recv_ns, hi = (date_s + 1) * 1000000000 - send_ns;
    if (lo > c->lo_ns)
        c->lo_ns = lo;
    if (hi < c->hi_ns)
        c->hi_ns = hi;
    c->n++;
}

void srv_clock_merge(struct srv_clock *dst, const struct srv_clock *src)
{
    if (!src->n)
        return;
    if (src->lo_ns > dst->lo_ns)
        dst->lo_ns = src->lo_ns;
    if (src->hi_ns < dst->hi_ns)
        dst->hi_ns = src->hi_ns;
    dst->n += src->n;
}

int srv_clock_inconsistent(const struct srv_clock *c)
{
    return c->n && c->lo_ns > c->hi_ns;
}

int srv_clock_parse_date(const char *v, size_t len, int64_t *out_s)
{
    static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[40], wd[4], mn[4], zone[4];
    int d, y, h, mi, s, used = 0;
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    if (len != 29)
        return -1;
    memcpy(buf, v, len);
    buf[len] = 0;
    if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wd, &d, mn, &y, &h, &mi, &s, zone, &used) != 8 ||
        used != 29 || strcmp(zone, "GMT"))
        return -1;
    const char *m = strstr(mon, mn);
    if (!m || (m - mon) % 3 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = (int)(m - mon) / 3, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = s };
    time_t t = timegm(&tm);
    if (t <= 0)
        return -1;
    *out_s = (int64_t)t;
    return 0;
}
