/* ndjson: incremental line framing for Ollama's application/x-ndjson. */
#include <string.h>

#include "ndjson.h"

void ndjson_init(struct ndjson *d, char *buf, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->buf = buf;
    d->cap = buf ? cap : 0;
}

int ndjson_rebuffer(struct ndjson *d, char *newbuf, size_t newcap)
{
    if (newcap < d->len || (!newbuf && d->len > 0))
        return -1;
    if (d->len > 0 && newbuf != d->buf)
        memmove(newbuf, d->buf, d->len);
    d->buf = newbuf;
    d->cap = newbuf ? newcap : 0;
    return 0;
}

/* Hands one line (without its LF) to the callback unless it is blank. */
static int emit(struct ndjson *d, const char *line, size_t len, ndjson_line_cb cb, void *ud)
{
    size_t k;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    for (k = 0; k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'); k++)
        ;
    if (k == len)
        return NDJSON_OK;
    d->lines++;
    return cb(ud, line, len) ? NDJSON_STOPPED : NDJSON_OK;
}

/* Appends as much of c[0..m) as fits; returns NDJSON_FULL if not all. */
static int carry(struct ndjson *d, const char *c, size_t m, size_t *taken)
{
    size_t room = d->cap - d->len, want = m;

    if (m > room)
        m = room;
    if (m > 0)
        memcpy(d->buf + d->len, c, m);
    d->len += m;
    *taken = m;
    return m < want ? NDJSON_FULL : NDJSON_OK;
}

int ndjson_feed(struct ndjson *d, const char *p, size_t n, size_t *consumed,
                ndjson_line_cb cb, void *ud)
{
    size_t i = 0, taken = 0;
    int rc = NDJSON_OK;

    while (i < n) {
        const char *lf = memchr(p + i, '\n', n - i);
        size_t j;

        if (!lf) {
            rc = carry(d, p + i, n - i, &taken);
            i += taken;
            break;
        }
        j = (size_t)(lf - p);
        if (d->len > 0) {
            /* The line began in an earlier feed. */
            rc = carry(d, p + i, j - i, &taken);
            if (rc == NDJSON_FULL) {
                i += taken;
                break;
            }
            rc = emit(d, d->buf, d->len, cb, ud);
            d->len = 0;
        } else {
            rc = emit(d, p + i, j - i, cb, ud);
        }
        i = j + 1;
        if (rc == NDJSON_STOPPED)
            break;
    }
    if (consumed)
        *consumed = i;
    return rc;
}

int ndjson_finish(struct ndjson *d, ndjson_line_cb cb, void *ud)
{
    int rc = NDJSON_OK;

    if (d->len > 0 && cb)
        rc = emit(d, d->buf, d->len, cb, ud);
    d->len = 0;
    return rc;
}
