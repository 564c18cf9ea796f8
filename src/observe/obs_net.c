/* URLs, listening addresses and one-shot HTTP exchanges (obs_net.h). */
#include "obs_net.h"

#include <assert.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

/* HOST and PORT of "HOST:PORT" / "[V6]:PORT" / "HOST" (default_port). */
static int split_hostport(const char *s, size_t n, char *host, size_t hcap, char *port,
                          size_t pcap, const char *default_port)
{
    const char *colon = NULL, *h = s;
    size_t hlen;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        if (close + 1 < s + n) {
            if (close[1] != ':')
                return -1;
            colon = close + 1;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (s[i] == ':')
                colon = s + i;
        hlen = colon ? (size_t)(colon - s) : n;
        if (colon && memchr(s, ':', hlen))      /* a bare IPv6 address needs brackets */
            return -1;
    }
    if (hlen >= hcap)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    const char *p = colon ? colon + 1 : default_port;
    if (!p)
        return -1;
    size_t plen = colon ? (size_t)(s + n - p) : strlen(p);
    if (plen == 0 || plen >= pcap || plen > 5)
        return -1;
    long v = 0;
    for (size_t i = 0; i < plen; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v > 65535)
        return -1;
    memcpy(port, p, plen);
    port[plen] = '\0';
    return 0;
}

static int resolve(const char *host, const char *port, int passive, struct sockaddr_storage *ss,
                   char *err, size_t errcap, const char *what)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = passive ? AI_PASSIVE : 0 }, *res = NULL;
    int rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errcap, "%s: cannot resolve '%s': %s", what, host, gai_strerror(rc));
        return -1;
    }
    /* Every interface: IPv4's, which the common scraper config expects. */
    struct addrinfo *pick = res;
    for (struct addrinfo *a = res; passive && !*host && a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int obs_listen_addr(const char *s, struct sockaddr_storage *ss, char *err, size_t errcap)
{
    char host[256], port[8];
    if (split_hostport(s, strlen(s), host, sizeof host, port, sizeof port, NULL) < 0) {
        snprintf(err, errcap, "%s: expected HOST:PORT such as 127.0.0.1:9101, [::1]:9101 or :9101", s);
        return -1;
    }
    return resolve(host, port, 1, ss, err, errcap, s);
}

int obs_url_parse(const char *url, struct obs_url *u, char *err, size_t errcap)
{
    memset(u, 0, sizeof *u);
    if (!strncmp(url, "https://", 8)) {
        snprintf(err, errcap, "%s: https is not supported (use http, or a proxy)", url);
        return -1;
    }
    if (strncmp(url, "http://", 7)) {
        snprintf(err, errcap, "%s: expected http://HOST[:PORT][/PATH]", url);
        return -1;
    }
    const char *a = url + 7;
    size_t alen = strcspn(a, "/?#");
    if (memchr(a, '@', alen)) {
        snprintf(err, errcap, "%s: credentials in the URL are not supported", url);
        return -1;
    }
    if (alen == 0 || split_hostport(a, alen, u->host, sizeof u->host, u->port, sizeof u->port,
                                    "80") < 0 || !u->host[0]) {
        snprintf(err, errcap, "%s: expected http://HOST[:PORT][/PATH]", url);
        return -1;
    }
    const char *p = a + alen;
    size_t plen = strcspn(p, "?#");
    while (plen && p[plen - 1] == '/')
        plen--;
    if (plen >= sizeof u->path) {
        snprintf(err, errcap, "%s: path too long", url);
        return -1;
    }
    memcpy(u->path, p, plen);
    u->path[plen] = '\0';
    return resolve(u->host, u->port, 0, &u->addr, err, errcap, url);
}

/* --- one exchange ---------------------------------------------------------- */

struct obs_fetch {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    uv_timer_t timer;
    llhttp_t parser;
    int open;                       /* handles not yet closed */
    int finished;                   /* the outcome is known (reported or dropped) */
    int complete;                   /* the response ended */
    int too_large;                  /* the body passed max_body */
    obs_fetch_cb cb;
    void *ud;
    char *req;
    size_t req_len;
    char *body;
    size_t body_len, body_cap, max_body;
    char rbuf[16384];
};

static void on_closed(uv_handle_t *h)
{
    struct obs_fetch *f = h->data;
    if (--f->open == 0) {
        free(f->req);
        free(f->body);
        free(f);
    }
}

/* Reports the outcome once (unless cancelled) and closes the handles. */
static void finish(struct obs_fetch *f, const char *err)
{
    if (f->finished)
        return;
    f->finished = 1;
    if (f->cb)
        f->cb(f->ud, err ? 0 : f->parser.status_code, f->body ? f->body : "", f->body_len, err);
    uv_close((uv_handle_t *)&f->tcp, on_closed);
    uv_close((uv_handle_t *)&f->timer, on_closed);
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct obs_fetch *f = p->data;
    if (f->body_len + n > f->max_body) {
        f->too_large = 1;
        return -1;
    }
    if (f->body_len + n > f->body_cap) {
        size_t cap = f->body_cap ? f->body_cap : 4096;
        while (cap < f->body_len + n)
            cap *= 2;
        char *nb = realloc(f->body, cap);
        if (!nb)
            return -1;
        f->body = nb;
        f->body_cap = cap;
    }
    memcpy(f->body + f->body_len, at, n);
    f->body_len += n;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct obs_fetch *f = p->data;
    f->complete = 1;
    return HPE_PAUSED;
}

static const llhttp_settings_t fetch_settings = {
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct obs_fetch *f = h->data;
    (void)hint;
    *b = uv_buf_init(f->rbuf, sizeof f->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct obs_fetch *f = s->data;
    char err[128];
    if (f->finished)
        return;
    if (n > 0) {
        llhttp_errno_t e = llhttp_execute(&f->parser, b->base, (size_t)n);
        if (f->complete) {
            finish(f, NULL);
        } else if (f->too_large) {
            snprintf(err, sizeof err, "answer larger than %zu bytes", f->max_body);
            finish(f, err);
        } else if (e != HPE_OK) {
            snprintf(err, sizeof err, "malformed answer (%s)", llhttp_errno_name(e));
            finish(f, err);
        }
    } else if (n == UV_EOF) {
        /* A body that runs to the close ends here. */
        if (llhttp_finish(&f->parser) == HPE_OK && f->complete)
            finish(f, NULL);
        else
            finish(f, f->complete ? NULL : "connection closed before the answer ended");
    } else if (n < 0) {
        snprintf(err, sizeof err, "read: %s", uv_strerror((int)n));
        finish(f, err);
    }
}

static void on_written(uv_write_t *w, int status)
{
    struct obs_fetch *f = w->data;
    char err[128];
    if (status < 0 && !f->finished) {
        snprintf(err, sizeof err, "write: %s", uv_strerror(status));
        finish(f, err);
    }
}

static void on_connect(uv_connect_t *c, int status)
{
    struct obs_fetch *f = c->data;
    char err[128];
    if (f->finished)
        return;
    if (status < 0) {
        snprintf(err, sizeof err, "connect: %s", uv_strerror(status));
        finish(f, err);
        return;
    }
    uv_buf_t b = uv_buf_init(f->req, (unsigned)f->req_len);
    f->wr.data = f;
    int rc = uv_write(&f->wr, (uv_stream_t *)&f->tcp, &b, 1, on_written);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&f->tcp, on_alloc, on_read);
    if (rc < 0) {
        snprintf(err, sizeof err, "write: %s", uv_strerror(rc));
        finish(f, err);
    }
}

static void on_timeout(uv_timer_t *t)
{
    finish(t->data, "timed out");
}

/* ref: whether the exchange keeps the loop alive (the private loop of a
 * blocking fetch has nothing else to wait for). */
static struct obs_fetch *fetch_start(uv_loop_t *loop, const struct obs_fetch_req *rq,
                                     obs_fetch_cb cb, void *ud, int ref)
{
    struct obs_fetch *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    const struct obs_url *u = rq->url;
    const char *path = rq->path ? rq->path : u->path[0] ? u->path : "/";
    int host6 = strchr(u->host, ':') != NULL;
    char head[2048];
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: llmload/" LLMLOAD_VERSION
                      "\r\nAccept: */*\r\nConnection: close\r\n",
                      rq->method, path, host6 ? "[" : "", u->host, host6 ? "]" : "", u->port);
    if (hn < 0 || (size_t)hn >= sizeof head)
        goto fail;
    size_t cap = (size_t)hn + 128 + (rq->ctype ? strlen(rq->ctype) + rq->len : 0);
    if (!(f->req = malloc(cap)))
        goto fail;
    memcpy(f->req, head, (size_t)hn);
    f->req_len = (size_t)hn;
    if (rq->ctype)
        f->req_len += (size_t)snprintf(f->req + f->req_len, cap - f->req_len,
                                       "Content-Type: %s\r\nContent-Length: %zu\r\n", rq->ctype,
                                       rq->len);
    f->req_len += (size_t)snprintf(f->req + f->req_len, cap - f->req_len, "\r\n");
    if (rq->ctype && rq->len) {
        memcpy(f->req + f->req_len, rq->body, rq->len);
        f->req_len += rq->len;
    }
    f->cb = cb;
    f->ud = ud;
    f->max_body = rq->max_body;
    llhttp_init(&f->parser, HTTP_RESPONSE, &fetch_settings);
    f->parser.data = f;
    uv_tcp_init(loop, &f->tcp);
    uv_timer_init(loop, &f->timer);
    f->open = 2;
    f->tcp.data = f->timer.data = f->conn.data = f;
    if (!ref) {
        uv_unref((uv_handle_t *)&f->tcp);
        uv_unref((uv_handle_t *)&f->timer);
    }
    uv_timer_start(&f->timer, on_timeout, rq->timeout_ms, 0);
    int rc = uv_tcp_connect(&f->conn, &f->tcp, (const struct sockaddr *)&u->addr, on_connect);
    if (rc < 0) {
        char err[128];
        snprintf(err, sizeof err, "connect: %s", uv_strerror(rc));
        finish(f, err);
    }
    return f;
fail:
    free(f->req);
    free(f);
    return NULL;
}

struct obs_fetch *obs_fetch_start(uv_loop_t *loop, const struct obs_fetch_req *rq,
                                  obs_fetch_cb cb, void *ud)
{
    return fetch_start(loop, rq, cb, ud, 0);
}

void obs_fetch_cancel(struct obs_fetch *f)
{
    f->cb = NULL;
    finish(f, "cancelled");
}

struct sync_out {
    int done, status;
    char *body;
    size_t len;
    char err[256];
};

static void sync_cb(void *ud, int status, const char *body, size_t len, const char *err)
{
    struct sync_out *o = ud;
    o->done = 1;
    o->status = status;
    if (err) {
        snprintf(o->err, sizeof o->err, "%s", err);
        return;
    }
    if ((o->body = malloc(len + 1))) {
        memcpy(o->body, body, len);
        o->body[len] = '\0';
        o->len = len;
    } else {
        snprintf(o->err, sizeof o->err, "out of memory");
    }
}

int obs_fetch_sync(const struct obs_fetch_req *rq, int *status, char **body, size_t *len,
                   char *err, size_t errcap)
{
    uv_loop_t loop;
    struct sync_out o = { 0 };
    if (uv_loop_init(&loop) < 0) {
        snprintf(err, errcap, "cannot make an event loop");
        return -1;
    }
    if (!fetch_start(&loop, rq, sync_cb, &o, 1))
        snprintf(o.err, sizeof o.err, "out of memory");
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    assert(rc == 0);
    (void)rc;
    if (o.err[0]) {
        snprintf(err, errcap, "%s", o.err);
        free(o.body);
        return -1;
    }
    *status = o.status;
    if (body) {
        *body = o.body;
        *len = o.len;
    } else {
        free(o.body);
    }
    return 0;
}
