/* A small HTTP/1.1 server (obs_httpd.h). */
#include "obs_httpd.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

enum hdr { H_NONE, H_HOST, H_ORIGIN, H_COOKIE, H_AUTHZ, H_ACCEPT };

struct obs_hconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shut;
    llhttp_t parser;
    struct obs_httpd *srv;
    struct obs_hconn *prev, *next;
    int open;                       /* handles not yet closed */
    int closing, complete, answered, stream;
    size_t head_bytes;
    char url[1024];
    size_t url_len;
    char field[32];
    size_t field_len;
    enum hdr in;
    size_t val_len;
    struct obs_hreq req;
    char *body;
    size_t body_len;
    char rbuf[4096];
};

struct wreq {
    uv_write_t w;
    struct obs_hconn *c;
    int last;                       /* shut the write side down after it */
    char data[];
};

struct obs_httpd {
    uv_tcp_t listener;
    struct obs_httpd_cfg cfg;
    obs_hhandler_fn fn;
    void *ud;
    struct obs_hconn *live;
    unsigned nconns, nstreams;
    int stopping, listener_closed;
    int port;
};

const char *obs_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 421: return "Misdirected Request";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Error" : "Internal Server Error";
    }
}

static void srv_maybe_free(struct obs_httpd *h)
{
    if (h->stopping && h->listener_closed && h->nconns == 0)
        free(h);
}

static void conn_closed(uv_handle_t *hd)
{
    struct obs_hconn *c = hd->data;
    if (--c->open)
        return;
    struct obs_httpd *h = c->srv;
    free(c->body);
    free(c);
    h->nconns--;
    srv_maybe_free(h);
}

static void conn_close(struct obs_hconn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct obs_httpd *h = c->srv;
    if (c->stream)
        h->nstreams--;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
    uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void on_deadline(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    struct obs_hconn *c = s->data;
    /* The answer is out; the close waits for the peer's (closing with
     * unread bytes would reset the connection and could lose the answer),
     * or for the deadline. */
    if (status < 0)
        conn_close(c);
}

static void on_written(uv_write_t *w, int status)
{
    struct wreq *q = (struct wreq *)w;
    struct obs_hconn *c = q->c;
    int last = q->last;
    free(q);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (!last)
        return;
    c->shut.data = c;
    uv_timer_start(&c->timer, on_deadline, 2000, 0);
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
        conn_close(c);
}

static void conn_write(struct obs_hconn *c, const char *head, size_t hlen, const char *body,
                       size_t blen, int last)
{
    struct wreq *q = malloc(sizeof *q + hlen + blen);
    if (!q) {
        conn_close(c);
        return;
    }
    q->c = c;
    q->last = last;
    memcpy(q->data, head, hlen);
    if (blen)
        memcpy(q->data + hlen, body, blen);
    uv_buf_t b = uv_buf_init(q->data, (unsigned)(hlen + blen));
    if (uv_write(&q->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        free(q);
        conn_close(c);
    }
}

/* Headers every answer carries: the page is never framed and its scripts
 * come from this server only. */
#define SAFE_HEADERS "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n" \
                     "Referrer-Policy: no-referrer\r\nCache-Control: no-store\r\n"

void obs_hrespond(struct obs_hconn *c, int status, const char *ctype, const char *extra,
                   const char *body, size_t len)
{
    assert(!c->answered);
    c->answered = 1;
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n" SAFE_HEADERS
                     "%sConnection: close\r\n\r\n", status, obs_http_reason(status), ctype, len,
                     extra ? extra : "");
    assert(n > 0 && (size_t)n < sizeof head);
    conn_write(c, head, (size_t)n, c->req.method == HTTP_HEAD ? NULL : body,
               c->req.method == HTTP_HEAD ? 0 : len, 1);
}

void obs_hrespond_text(struct obs_hconn *c, int status, const char *extra, const char *text)
{
    obs_hrespond(c, status, "text/plain; charset=utf-8", extra, text, strlen(text));
}

void obs_hsse_begin(struct obs_hconn *c)
{
    assert(!c->answered);
    c->answered = 1;
    c->stream = 1;
    c->srv->nstreams++;
    uv_timer_stop(&c->timer);
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" SAFE_HEADERS
                               "Connection: close\r\n\r\n: llmload\n\n";
    conn_write(c, head, sizeof head - 1, NULL, 0, 0);
}

void obs_hsse_broadcast(struct obs_httpd *h, const char *event, const char *data)
{
    size_t el = strlen(event), dl = strlen(data);
    char *msg = malloc(el + dl + 32);
    if (!msg)
        return;
    int n = snprintf(msg, el + dl + 32, "event: %s\ndata: %s\n\n", event, data);
    for (struct obs_hconn *c = h->live, *next; c; c = next) {
        next = c->next;
        if (!c->stream || c->closing)
            continue;
        /* A reader that does not keep up is dropped, not buffered for. */
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > OBS_HSSE_MAX_QUEUE)
            conn_close(c);
        else
            conn_write(c, msg, (size_t)n, NULL, 0, 0);
    }
    free(msg);
}

unsigned obs_httpd_streams(const struct obs_httpd *h)
{
    return h->nstreams;
}

/* --- request parsing ------------------------------------------------------- */

static void cut_append(char *dst, size_t cap, size_t *len, const char *at, size_t n)
{
    size_t room = cap - 1 - *len;
    if (n > room)
        n = room;
    memcpy(dst + *len, at, n);
    *len += n;
    dst[*len] = '\0';
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct obs_hconn *c = p->data;
    cut_append(c->url, sizeof c->url, &c->url_len, at, n);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct obs_hconn *c = p->data;
    cut_append(c->field, sizeof c->field, &c->field_len, at, n);
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    struct obs_hconn *c = p->data;
    static const struct { const char *name; enum hdr h; } known[] = {
        { "host", H_HOST }, { "origin", H_ORIGIN }, { "cookie", H_COOKIE },
        { "authorization", H_AUTHZ }, { "accept", H_ACCEPT },
    };
    c->in = H_NONE;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcasecmp(c->field, known[i].name))
            c->in = known[i].h;
    c->field_len = 0;
    c->field[0] = '\0';
    c->val_len = 0;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct obs_hconn *c = p->data;
    struct obs_hreq *r = &c->req;
    switch (c->in) {
    case H_HOST: cut_append(r->host, sizeof r->host, &c->val_len, at, n); break;
    case H_ORIGIN: cut_append(r->origin, sizeof r->origin, &c->val_len, at, n); break;
    case H_COOKIE: cut_append(r->cookie, sizeof r->cookie, &c->val_len, at, n); break;
    case H_AUTHZ: cut_append(r->authz, sizeof r->authz, &c->val_len, at, n); break;
    case H_ACCEPT: cut_append(r->accept, sizeof r->accept, &c->val_len, at, n); break;
    case H_NONE: break;
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct obs_hconn *c = p->data;
    if (c->body_len + n > c->srv->cfg.max_body)
        return HPE_USER;
    char *b = realloc(c->body, c->body_len + n + 1);
    if (!b)
        return HPE_USER;
    memcpy(b + c->body_len, at, n);
    c->body = b;
    c->body_len += n;
    b[c->body_len] = '\0';
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct obs_hconn *c = p->data;
    c->complete = 1;
    return HPE_PAUSED;
}

static const llhttp_settings_t req_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void dispatch(struct obs_hconn *c)
{
    struct obs_hreq *r = &c->req;
    r->method = llhttp_get_method(&c->parser);
    size_t plen = strcspn(c->url, "?");
    snprintf(r->path, sizeof r->path, "%.*s", (int)plen, c->url);
    snprintf(r->query, sizeof r->query, "%s", c->url[plen] ? c->url + plen + 1 : "");
    r->body = c->body ? c->body : "";
    r->body_len = c->body_len;
    c->srv->fn(c->srv->ud, c, r);
    assert(c->answered || c->closing);
}

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *b)
{
    struct obs_hconn *c = hd->data;
    (void)hint;
    *b = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct obs_hconn *c = s->data;
    if (c->closing)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n == 0 || c->answered)          /* bytes after the request are ignored */
        return;
    int in_head = !c->body_len;
    llhttp_errno_t e = llhttp_execute(&c->parser, b->base, (size_t)n);
    if (in_head)
        c->head_bytes += (size_t)n;
    if (c->complete)
        dispatch(c);
    else if (e == HPE_USER)
        obs_hrespond_text(c, 413, NULL, "request body too large\n");
    else if (e != HPE_OK)
        obs_hrespond_text(c, 400, NULL, "malformed request\n");
    else if (!c->body_len && c->head_bytes > c->srv->cfg.max_head)
        obs_hrespond_text(c, 431, NULL, "request too large\n");
}

static void on_connection(uv_stream_t *l, int status)
{
    struct obs_httpd *h = l->data;
    if (status < 0 || h->stopping)
        return;
    struct obs_hconn *c = calloc(1, sizeof *c);
    if (!c)
        return;     /* the pending connection waits in the backlog */
    c->srv = h;
    uv_tcp_init(l->loop, &c->tcp);
    uv_timer_init(l->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open = 2;
    h->nconns++;
    c->next = h->live;
    if (h->live)
        h->live->prev = c;
    h->live = c;
    if (h->cfg.unref) {
        uv_unref((uv_handle_t *)&c->tcp);
        uv_unref((uv_handle_t *)&c->timer);
    }
    /* Past the cap the newcomer is closed at once: a client that opens
     * connections without end costs an accept and a close each. */
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0 || h->nconns > h->cfg.max_conns) {
        conn_close(c);
        return;
    }
    llhttp_init(&c->parser, HTTP_REQUEST, &req_settings);
    c->parser.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, on_deadline, h->cfg.timeout_ms, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        conn_close(c);
}

struct obs_httpd *obs_httpd_start(uv_loop_t *loop, const struct sockaddr_storage *ss,
                                  const struct obs_httpd_cfg *cfg, obs_hhandler_fn fn, void *ud,
                                  char *err, size_t errcap)
{
    struct obs_httpd *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    h->fn = fn;
    h->ud = ud;
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    int rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
    if (rc < 0) {
        snprintf(err, errcap, "cannot listen: %s", uv_strerror(rc));
        obs_httpd_stop(h);
        return NULL;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &blen);
    h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    if (cfg->unref)
        uv_unref((uv_handle_t *)&h->listener);
    return h;
}

int obs_httpd_port(const struct obs_httpd *h)
{
    return h->port;
}

static void listener_closed(uv_handle_t *hd)
{
    struct obs_httpd *h = hd->data;
    h->listener_closed = 1;
    srv_maybe_free(h);
}

void obs_httpd_stop(struct obs_httpd *h)
{
    if (!h || h->stopping)
        return;
    h->stopping = 1;
    while (h->live)
        conn_close(h->live);
    uv_close((uv_handle_t *)&h->listener, listener_closed);
}
