/* sse: incremental Server-Sent Events framing.
 *
 * The decoder works event by event.  While scanning a feed it only looks
 * for line endings, to find the blank line that ends an event.  An event
 * that lies whole in the feed is then parsed in place (zero copies); the
 * raw bytes of an event that is still open when the feed ends are copied
 * to the carry buffer, and the rest of that event is appended there until
 * its blank line arrives.  Field state therefore never has to survive a
 * feed, which keeps SSE_FULL simple: the carry holds raw bytes only. */
#include <string.h>

#include "sse.h"

#define BOM_DECIDED 3

static const unsigned char bom_bytes[3] = { 0xEF, 0xBB, 0xBF };

void sse_init(struct sse *s, char *buf, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->buf = buf;
    s->cap = buf ? cap : 0;
}

int sse_rebuffer(struct sse *s, char *newbuf, size_t newcap)
{
    if (newcap < s->len || (!newbuf && s->len > 0))
        return -1;
    if (s->len > 0 && newbuf != s->buf)
        memmove(newbuf, s->buf, s->len);
    s->buf = newbuf;
    s->cap = newbuf ? newcap : 0;
    return 0;
}

/* Index of the first CR or LF in p[i..n), or n. */
static size_t find_eol(const char *p, size_t i, size_t n)
{
    const char *lf = memchr(p + i, '\n', n - i);
    size_t end = lf ? (size_t)(lf - p) : n;
    const char *cr = memchr(p + i, '\r', end - i);

    return cr ? (size_t)(cr - p) : end;
}

/* Appends as much of c[0..m) as fits to the carry and keeps `partial` (the
 * length of the unfinished last line) right.  *taken gets the bytes
 * copied; returns SSE_FULL when not all of them fit. */
static int carry(struct sse *s, const char *c, size_t m, size_t *taken)
{
    size_t room = s->cap - s->len, k, want = m;

    if (m > room)
        m = room;
    if (m > 0)
        memcpy(s->buf + s->len, c, m);
    s->len += m;
    for (k = m; k > 0 && c[k - 1] != '\n' && c[k - 1] != '\r'; k--)
        ;
    s->partial = k == 0 ? s->partial + m : m - k;
    *taken = m;
    return m < want ? SSE_FULL : SSE_OK;
}

static int field_is(const char *name, size_t n, const char *lit, size_t litn)
{
    return n == litn && memcmp(name, lit, n) == 0;
}

struct fields {
    const char *d0; size_t d0len;   /* first data value */
    size_t dlen;                    /* joined data length */
    uint32_t ndata;
    const char *type; size_t type_len;
    const char *err; size_t err_len;
    int has_err;
};

/* Calls fn(ctx, value, len) for each data value of the region, in order;
 * the other fields are parsed into *f (when f is non-NULL).  effects says
 * whether comments, id and retry update the decoder: not for the unfinished
 * lines sse_finish looks at, which the spec discards. */
static void scan_fields(struct sse *s, const char *r, size_t rl, struct fields *f,
                        void (*fn)(void *, const char *, size_t), void *ctx, int effects)
{
    size_t pos = 0;

    while (pos < rl) {
        size_t e = find_eol(r, pos, rl), nlen;
        const char *line = r + pos, *colon, *val;
        size_t llen = e - pos, vlen;

        pos = e + 1;
        if (e < rl && r[e] == '\r' && e + 1 < rl && r[e + 1] == '\n')
            pos++;
        if (llen == 0)
            continue;
        if (line[0] == ':') {
            if (f && effects)
                s->comments++;
            continue;
        }
        colon = memchr(line, ':', llen);
        nlen = colon ? (size_t)(colon - line) : llen;
        val = colon ? colon + 1 : line + llen;
        vlen = llen - (size_t)(val - line);
        if (vlen > 0 && val[0] == ' ') {
            val++;
            vlen--;
        }
        if (field_is(line, nlen, "data", 4)) {
            if (fn)
                fn(ctx, val, vlen);
            if (!f)
                continue;
            if (f->ndata == 0) {
                f->d0 = val;
                f->d0len = vlen;
                f->dlen = vlen;
            } else {
                f->dlen += 1 + vlen;
            }
            f->ndata++;
        } else if (!f) {
            continue;
        } else if (field_is(line, nlen, "event", 5)) {
            f->type = val;
            f->type_len = vlen;
        } else if (field_is(line, nlen, "error", 5)) {
            f->err = val;
            f->err_len = vlen;
            f->has_err = 1;
        } else if (!effects) {
            continue;
        } else if (field_is(line, nlen, "id", 2)) {
            if (!memchr(val, '\0', vlen)) {
                size_t k = vlen < sizeof s->last_id - 1 ? vlen : sizeof s->last_id - 1;
                memcpy(s->last_id, val, k);
                s->last_id[k] = '\0';
            }
        } else if (field_is(line, nlen, "retry", 5)) {
            uint64_t v = 0;
            size_t k;
            for (k = 0; k < vlen && val[k] >= '0' && val[k] <= '9'; k++)
                v = v > UINT64_MAX / 10 - 1 ? UINT64_MAX : v * 10 + (uint64_t)(val[k] - '0');
            if (vlen > 0 && k == vlen)
                s->retry_ms = v;
        }
    }
}

struct joiner { char *out; size_t o; int first; };

static void join_data(void *ctx, const char *v, size_t n)
{
    struct joiner *j = ctx;

    if (!j->first)
        j->out[j->o++] = '\n';
    j->first = 0;
    memcpy(j->out + j->o, v, n);
    j->o += n;
}

/* Parses one complete event r[0..rl) and dispatches it.  in_buf says the
 * region is the carry itself, so joined data goes after it.  only_done is
 * the EOF rule: dispatch only a lone "[DONE]". */
static int dispatch(struct sse *s, const char *r, size_t rl, int in_buf, int only_done,
                    sse_event_cb cb, void *ud)
{
    struct fields f;
    struct sse_event ev;

    memset(&f, 0, sizeof f);
    scan_fields(s, r, rl, &f, NULL, NULL, !only_done);
    if (f.ndata == 0 && !f.has_err)
        return SSE_OK;
    if (only_done && !(f.ndata == 1 && sse_is_done(f.d0, f.d0len)))
        return SSE_OK;
    memset(&ev, 0, sizeof ev);
    ev.ndata = f.ndata;
    if (f.ndata <= 1) {
        ev.data = f.ndata ? f.d0 : "";
        ev.data_len = f.d0len;
    } else {
        size_t base = in_buf ? s->len : 0;
        struct joiner j;

        if (f.dlen > s->cap - base)
            return SSE_FULL;
        j.out = s->buf + base;
        j.o = 0;
        j.first = 1;
        scan_fields(s, r, rl, NULL, join_data, &j, 0);
        ev.data = j.out;
        ev.data_len = j.o;
    }
    ev.type = f.type;
    ev.type_len = f.type_len;
    ev.error = f.err;
    ev.error_len = f.err_len;
    s->events++;
    return cb(ud, &ev) ? SSE_STOPPED : SSE_OK;
}

/* Common exit: a CR as the last byte taken may be the first half of a
 * CRLF whose LF comes with the next feed. */
static int feed_done(struct sse *s, const char *p, size_t taken, size_t *consumed, int rc)
{
    if (taken > 0)
        s->cr = p[taken - 1] == '\r';
    if (consumed)
        *consumed = taken;
    return rc;
}

int sse_feed(struct sse *s, const char *p, size_t n, size_t *consumed,
             sse_event_cb cb, void *ud)
{
    size_t i = 0, ev, ls, first_partial, taken;
    int rc;

    if (s->bom < BOM_DECIDED) {
        while (i < n && s->bom < BOM_DECIDED && (unsigned char)p[i] == bom_bytes[s->bom]) {
            s->bom++;
            i++;
        }
        if (i == n && s->bom < BOM_DECIDED)
            return feed_done(s, p, i, consumed, SSE_OK);
        if (s->bom < BOM_DECIDED && s->bom > 0) {
            /* A BOM prefix that was not a BOM: those bytes are text. */
            if (s->cap - s->len < s->bom)
                return feed_done(s, p, i, consumed, SSE_FULL);
            memcpy(s->buf + s->len, bom_bytes, s->bom);
            s->len += s->bom;
            s->partial += s->bom;
        }
        s->bom = BOM_DECIDED;
    }
    if (s->cr && i < n) {
        if (p[i] == '\n')
            i++;
        s->cr = 0;
    }
    ev = ls = i;
    first_partial = s->partial;
    while (ls < n) {
        size_t j = find_eol(p, ls, n), next;

        if (j == n)
            break;
        next = j + 1;
        if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n')
            next++;
        if (j == ls && (ls != ev || first_partial == 0)) {
            /* A blank line: the event from ev (or from the carry) ends. */
            if (s->len > 0) {
                rc = carry(s, p + ev, ls - ev, &taken);
                if (rc == SSE_FULL)
                    return feed_done(s, p, ev + taken, consumed, SSE_FULL);
                rc = dispatch(s, s->buf, s->len, 1, 0, cb, ud);
                if (rc == SSE_FULL)
                    return feed_done(s, p, ls, consumed, SSE_FULL);
            } else {
                rc = dispatch(s, p + ev, ls - ev, 0, 0, cb, ud);
                if (rc == SSE_FULL)
                    return feed_done(s, p, ev, consumed, SSE_FULL);
            }
            s->len = 0;
            s->partial = 0;
            first_partial = 0;
            ev = next;
            if (rc == SSE_STOPPED)
                return feed_done(s, p, next, consumed, SSE_STOPPED);
        }
        ls = next;
    }
    if (ev < n) {
        rc = carry(s, p + ev, n - ev, &taken);
        return feed_done(s, p, ev + taken, consumed, rc);
    }
    return feed_done(s, p, n, consumed, SSE_OK);
}

static int noop_cb(void *ud, const struct sse_event *ev)
{
    (void)ud;
    (void)ev;
    return 0;
}

int sse_finish(struct sse *s, sse_event_cb cb, void *ud)
{
    int rc = SSE_OK;

    if (s->len > 0)
        rc = dispatch(s, s->buf, s->len, 1, 1, cb ? cb : noop_cb, ud);
    s->len = 0;
    s->partial = 0;
    s->cr = 0;
    s->bom = 0;
    return rc == SSE_STOPPED ? SSE_STOPPED : SSE_OK;
}

static int sentinel_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int sse_is_done(const char *data, size_t len)
{
    while (len > 0 && sentinel_space(*data)) {
        data++;
        len--;
    }
    while (len > 0 && sentinel_space(data[len - 1]))
        len--;
    return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}
