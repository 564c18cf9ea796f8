/* The /metrics listener (obs_http.h). */
#include "obs_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "obs_net.h"

struct hconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    uv_shutdown_t shut;
    llhttp_t parser;
    struct obs_http *srv;
    struct hconn *prev, *next;
    int open;                       /* handles not yet closed */
    int closing;
    size_t req_bytes;
    char url[256];
    size_t url_len;
    char field[16];
    size_t field_len;
    int in_accept;                  /* the header being read is Accept */
    char accept[256];
    size_t accept_len;
    int complete;                   /* the request has been read */
    int answered;
    char *out;                      /* the answer being written */
    char rbuf[2048];
};

struct obs_http {
    uv_tcp_t listener;
    obs_provider_fn fn;
    void *ud;
    struct hconn *live;
    unsigned nconns;
    int stopping, listener_closed;
    int port;
    unsigned long scrapes;
};

static void srv_maybe_free(struct obs_http *h)
{
    if (h->stopping && h->listener_closed && h->nconns == 0)
        free(h);
}

static void conn_closed(uv_handle_t *hd)
{
    struct hconn *c = hd->data;
    if (--c->open)
        return;
    struct obs_http *h = c->srv;
    free(c->out);
    free(c);
    h->nconns--;
    srv_maybe_free(h);
}

static void conn_close(struct hconn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct obs_http *h = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
    uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    struct hconn *c = s->data;
    /* The answer is out and the write side closed; the connection closes
     * when the peer does (a close now, with unread bytes, would reset it
     * and could destroy the answer), or at the deadline. */
    if (status < 0)
        conn_close(c);
}

static void on_written(uv_write_t *w, int status)
{
    struct hconn *c = w->data;
    free(c->out);
    c->out = NULL;
    if (c->closing)
        return;
    c->shut.data = c;
    if (status < 0 || uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
        conn_close(c);
}

/* Writes one answer (Connection: close).  body NULL: the answer to HEAD, or
 * one without a body; blen is its Content-Length either way. */
static void respond(struct hconn *c, int status, const char *reason, const char *ctype,
                    const char *extra, const char *body, size_t blen)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n", status, reason, ctype, blen, extra ? extra : "");
    assert(n > 0 && (size_t)n < sizeof head);
    size_t len = (size_t)n + (body ? blen : 0);
    c->answered = 1;
    if (!(c->out = malloc(len))) {
        conn_close(c);
        return;
    }
    memcpy(c->out, head, (size_t)n);
    if (body)
        memcpy(c->out + n, body, blen);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)len);
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
        conn_close(c);
}

static void respond_text(struct hconn *c, int status, const char *reason, const char *extra,
                         const char *text, int head_only)
{
    respond(c, status, reason, "text/plain; charset=utf-8", extra, head_only ? NULL : text,
            strlen(text));
}

static void answer(struct hconn *c)
{
    int method = llhttp_get_method(&c->parser);
    int head = method == HTTP_HEAD;
    size_t plen = strcspn(c->url, "?");
    if (method != HTTP_GET && !head) {
        respond_text(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n",
                     "only GET and HEAD\n", 0);
        return;
    }
    if (plen != 8 || memcmp(c->url, "/metrics", 8)) {
        respond_text(c, 404, "Not Found", NULL, "not found: the metrics are at /metrics\n", head);
        return;
    }
    c->accept[c->accept_len] = '\0';
    enum obs_format fmt = strstr(c->accept, "application/openmetrics-text")
                              ? OBS_FMT_OPENMETRICS : OBS_FMT_PROMETHEUS;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    int rc = f ? c->srv->fn(c->srv->ud, f, fmt) : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc < 0 || !text) {
        respond_text(c, 500, "Internal Server Error", NULL, "cannot write the metrics\n", head);
    } else {
        c->srv->scrapes++;
        respond(c, 200, "OK", obs_content_type(fmt), NULL, head ? NULL : text, tlen);
    }
    free(text);
}

/* --- request parsing ------------------------------------------------------- */

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct hconn *c = p->data;
    /* A URL longer than the buffer is not /metrics: keep its start only. */
    size_t room = sizeof c->url - 1 - c->url_len;
    memcpy(c->url + c->url_len, at, n < room ? n : room);
    c->url_len += n < room ? n : room;
    c->url[c->url_len] = '\0';
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct hconn *c = p->data;
    if (c->field_len + n < sizeof c->field)
        memcpy(c->field + c->field_len, at, n);
    c->field_len += n;
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    struct hconn *c = p->data;
    c->in_accept = c->field_len == 6 && !strncasecmp(c->field, "accept", 6);
    c->field_len = 0;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct hconn *c = p->data;
    if (!c->in_accept)
        return 0;
    size_t room = sizeof c->accept - 1 - c->accept_len;
    memcpy(c->accept + c->accept_len, at, n < room ? n : room);
    c->accept_len += n < room ? n : room;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct hconn *c = p->data;
    c->complete = 1;
    return HPE_PAUSED;
}

static const llhttp_settings_t req_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_message_complete = on_message_complete,
};

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *b)
{
    struct hconn *c = hd->data;
    (void)hint;
    *b = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct hconn *c = s->data;
    if (c->closing)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n == 0 || c->answered)          /* bytes after the request are ignored */
        return;
    c->req_bytes += (size_t)n;
    llhttp_errno_t e = llhttp_execute(&c->parser, b->base, (size_t)n);
    if (c->complete)
        answer(c);
    else if (e != HPE_OK)
        respond_text(c, 400, "Bad Request", NULL, "malformed request\n", 0);
    else if (c->req_bytes > OBS_HTTP_MAX_REQUEST)
        respond_text(c, 431, "Request Header Fields Too Large", NULL, "request too large\n", 0);
}

static void on_deadline(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_connection(uv_stream_t *l, int status)
{
    struct obs_http *h = l->data;
    if (status < 0 || h->stopping)
        return;
    struct hconn *c = calloc(1, sizeof *c);
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
    uv_unref((uv_handle_t *)&c->tcp);
    uv_unref((uv_handle_t *)&c->timer);
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    /* Past the cap the newcomer is closed at once: a scraper that opens
     * connections without end costs the run an accept and a close each. */
    if (h->nconns > OBS_HTTP_MAX_CONNS) {
        conn_close(c);
        return;
    }
    llhttp_init(&c->parser, HTTP_REQUEST, &req_settings);
    c->parser.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, on_deadline, OBS_HTTP_TIMEOUT_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        conn_close(c);
}

struct obs_http *obs_http_start(uv_loop_t *loop, const char *addr, obs_provider_fn fn,
                                void *ud, char *err, size_t errcap)
{
    struct sockaddr_storage ss;
    if (obs_listen_addr(addr, &ss, err, errcap) < 0)
        return NULL;
    struct obs_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errcap, "%s: out of memory", addr);
        return NULL;
    }
    h->fn = fn;
    h->ud = ud;
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    int rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 16, on_connection);
    if (rc < 0) {
        snprintf(err, errcap, "%s: cannot listen: %s", addr, uv_strerror(rc));
        obs_http_stop(h);
        return NULL;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &blen);
    h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    uv_unref((uv_handle_t *)&h->listener);
    return h;
}

int obs_http_port(const struct obs_http *h)
{
    return h->port;
}

unsigned long obs_http_scrapes(const struct obs_http *h)
{
    return h->scrapes;
}

static void listener_closed(uv_handle_t *hd)
{
    struct obs_http *h = hd->data;
    h->listener_closed = 1;
    srv_maybe_free(h);
}

void obs_http_stop(struct obs_http *h)
{
    if (!h || h->stopping)
        return;
    h->stopping = 1;
    while (h->live)
        conn_close(h->live);
    uv_close((uv_handle_t *)&h->listener, listener_closed);
}
