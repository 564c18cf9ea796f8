/* The simulator's connections: how bytes become requests and responses go
 * out (mock_server.h).
 *
 * A connection serves one request at a time.  llhttp (request mode) only
 * records what it parses: the target, two headers, the body, or why the
 * request cannot be read; the decisions are mock_validate's.  Bytes that
 * arrive while a request is being answered (pipelining) wait in the
 * connection's pending buffer and are parsed once the response is complete.
 *
 * Each response is formatted into the server's shared output buffer and
 * written with uv_try_write; only when the socket is full is the rest copied
 * into a uv_write request.  So an open stream costs its connection struct
 * and nothing else.
 *
 * A connection ends in one of two ways: mock_conn_abort closes at once
 * (client gone, shutdown, a failed write), the graceful path sends FIN and
 * lingers until the client closes too, so a response it has not read yet is
 * not destroyed by an RST. */
#include "mock_server.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rxstamp.h"

/* A client that does not read gets cut off rather than growing our memory. */
#define WRITE_QUEUE_MAX (4u << 20)
#define LINGER_NS 2000000000ull

enum mock_hdr { MOCK_HDR_NONE, MOCK_HDR_ID, MOCK_HDR_EXPECT };

static void http_process(struct mock_conn *c);
static void http_close_now(struct mock_conn *c);

static const char *status_reason(int st)
{
    switch (st) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

/* --- writing ------------------------------------------------------------- */

struct mock_wreq {
    uv_write_t req;
    char data[];
};

static void on_write(uv_write_t *req, int status)
{
    struct mock_conn *c = req->handle->data;
    free(mock_container_of(req, struct mock_wreq, req));
    if (status < 0 && status != UV_ECANCELED)
        mock_conn_abort(c, "client gone");
}

/* Writes n bytes to the socket, in order after earlier writes.  Returns 0
 * or a negative libuv code; the caller then aborts the connection (never
 * from inside a parser callback). */
static int http_write_raw(struct mock_conn *c, const char *p, size_t n)
{
    if (c->state != MOCK_CONN_OPEN)
        return UV_EPIPE;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (r == (int)n)
        return 0;
    if (r < 0 && r != UV_EAGAIN)
        return r;
    size_t done = r > 0 ? (size_t)r : 0;
    if (c->tcp.write_queue_size > WRITE_QUEUE_MAX)
        return UV_ENOBUFS;
    struct mock_wreq *w = malloc(sizeof *w + (n - done));
    if (!w)
        return UV_ENOMEM;
    memcpy(w->data, p + done, n - done);
    b = uv_buf_init(w->data, (unsigned)(n - done));
    r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (r < 0)
        free(w);
    return r;
}

/* Sends what the TLS session has for the client (a handshake flight,
 * records, an alert).  0 or a negative libuv code. */
static int http_tls_out(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    size_t k;
    while ((k = mtls_take(c->ssl, s->tlsout, sizeof s->tlsout)) > 0) {
        int r = http_write_raw(c, s->tlsout, k);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Writes n bytes of the response, through TLS when the connection has it;
 * the same contract as http_write_raw. */
static int http_write(struct mock_conn *c, const char *p, size_t n)
{
    if (!c->ssl)
        return http_write_raw(c, p, n);
    if (c->state != MOCK_CONN_OPEN)
        return UV_EPIPE;
    if (mtls_write(c->ssl, p, n) < 0)
        return UV_EPROTO;
    return http_tls_out(c);
}

int mock_conn_flush(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    int r = s->out.failed ? UV_ENOMEM : http_write(c, s->out.p, s->out.len);
    s->out.len = 0;
    s->out.failed = 0;
    if (r < 0) {
        mock_logv(s, "write failed: %s", uv_strerror(r));
        mock_conn_abort(c, "client gone");
        return -1;
    }
    return 0;
}

void mock_conn_event(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mbuf *o = &s->out;
    if (s->ev.failed) {
        o->failed = 1;
    } else {
        if (c->chunked)
            mbuf_printf(o, "%zx\r\n", s->ev.len);
        mbuf_put(o, s->ev.p, s->ev.len);
        if (c->chunked)
            mbuf_puts(o, "\r\n");
    }
    s->ev.len = 0;
    s->ev.failed = 0;
}

void mock_conn_headers(struct mock_conn *c, int status, const char *ctype, long long clen,
                       const char *extra)
{
    struct mbuf *o = &c->srv->out;
    mbuf_printf(o, "HTTP/1.1 %d %s\r\n", status, status_reason(status));
    if (ctype)
        mbuf_printf(o, "Content-Type: %s\r\n", ctype);
    if (clen >= 0)
        mbuf_printf(o, "Content-Length: %lld\r\n", clen);
    else if (c->chunked)
        mbuf_puts(o, "Transfer-Encoding: chunked\r\n");
    if (extra)
        mbuf_puts(o, extra);
    if (!c->keep_alive)
        mbuf_puts(o, "Connection: close\r\n");
    mbuf_puts(o, "\r\n");
}

void mock_conn_stream_end(struct mock_conn *c, uint64_t done_ns)
{
    if (c->chunked)
        mbuf_puts(&c->srv->out, "0\r\n\r\n");
    if (mock_conn_flush(c) < 0)
        return;
    c->q.done_ns = done_ns;
    mock_conn_request_end(c);
}

void mock_conn_respond(struct mock_conn *c, int status, const char *ctype, const char *body,
                       size_t len, const char *extra)
{
    struct mock_server *s = c->srv;
    c->q.status = status;
    mock_count_status(s, status);
    mock_conn_headers(c, status, ctype, (long long)len, extra);
    if (!c->head)
        mbuf_put(&s->out, body, len);
    if (mock_conn_flush(c) < 0)
        return;
    c->q.done_ns = uv_hrtime();
    mock_conn_request_end(c);
}

void mock_conn_error(struct mock_conn *c, int status, const char *msg, const char *extra)
{
    struct mbuf b = { 0 };
    enum mock_style st = mock_path_style(c->url, c->url_len);
    if (st == MOCK_STYLE_TEXT)
        mbuf_printf(&b, "%d %s", status, msg);
    else
        mock_out_error(&b, st == MOCK_STYLE_OPENAI, status, msg);
    if (b.failed)
        mock_conn_abort(c, "out of memory");
    else
        mock_conn_respond(c, status, st == MOCK_STYLE_TEXT ? "text/plain; charset=utf-8"
                                                           : "application/json", b.p, b.len, extra);
    mbuf_free(&b);
}

/* --- connection lifecycle ------------------------------------------------ */

static void body_free(struct mock_conn *c)
{
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
}

/* Frees what the parser kept of the last request: its body and id. */
static void req_bytes_free(struct mock_conn *c)
{
    body_free(c);
    free(c->id);
    c->id = NULL;
    c->id_len = 0;
}

static void req_reset(struct mock_conn *c)
{
    req_bytes_free(c);
    memset(&c->q, 0, sizeof c->q);
}

static void on_closed(uv_handle_t *h)
{
    struct mock_conn *c = h->data;
    struct mock_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->cnt.conns_open--;
    mtls_free(c->ssl);
    c->ssl = NULL;
    req_reset(c);
    free(c->pend);
    c->pend = NULL;
    c->next = s->free_list;
    s->free_list = c;
}

/* Ends the request in progress, if any, as aborted. */
static void req_abandon(struct mock_conn *c, const char *why)
{
    struct mock_server *s = c->srv;
    if (!c->busy)
        return;
    c->q.aborted = why;
    if (!c->q.status)
        c->q.status = c->headers_sent ? 200 : 0;
    c->q.done_ns = uv_hrtime();
    if (!strcmp(why, "client gone"))
        s->cnt.client_aborts++;
    mock_gen_drop(c);
    mock_truth_write(s, c);
    c->busy = 0;
}

static void http_close_now(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (c->state == MOCK_CONN_CLOSED)
        return;
    req_abandon(c, "closed");
    c->state = MOCK_CONN_CLOSED;
    mtimer_stop(&s->timers, &c->tick);
    mtimer_stop(&s->timers, &c->wait);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void mock_conn_abort(struct mock_conn *c, const char *why)
{
    if (c->state == MOCK_CONN_CLOSED)
        return;
    req_abandon(c, why);
    http_close_now(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct mock_conn *c = req->data;
    if (c->state != MOCK_CONN_LINGER)
        return;
    if (status < 0 || c->peer_eof)
        http_close_now(c);
}

/* Graceful close: flush what is queued, send FIN, and keep reading (and
 * discarding) until the client closes too, for at most LINGER_NS.  Closing
 * at once with unread input would send RST and could destroy a response the
 * client has not read yet (a 413 sent before the body arrived, say). */
static void http_shutdown(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (c->state != MOCK_CONN_OPEN)
        return;
    if (c->ssl) {
        /* close_notify first: the client can tell our end from a cut. */
        mtls_shutdown(c->ssl);
        if (http_tls_out(c) < 0) {
            http_close_now(c);
            return;
        }
    }
    c->state = MOCK_CONN_LINGER;
    mtimer_stop(&s->timers, &c->tick);
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        http_close_now(c);
        return;
    }
    if (mtimer_start(&s->timers, &c->wait, uv_hrtime() + LINGER_NS) < 0)
        http_close_now(c);
}

/* --- deadlines ------------------------------------------------------------
 *
 * Between requests a connection has one timer, c->wait, for the nearest of:
 * - the idle timeout: no byte for --idle-timeout closes the connection;
 * - the request-header timeout: a header still incomplete --header-timeout
 *   after its first byte gets 408 and a close, like nginx's
 *   client_header_timeout, so a client trickling a few bytes at a time
 *   cannot hold a connection forever (each byte resets the idle timeout);
 * - in linger, the end of the linger.
 * While a request is answered the timer is off: a stream's pace is the
 * simulator's, not the client's.  Reads only move last_active; the timer is
 * pushed back lazily when it fires, which saves a heap update per read. */

/* The nearest of the idle and request-header deadlines; 0 for none. */
static uint64_t wait_due(const struct mock_conn *c)
{
    const struct mock_config *cfg = c->srv->cfg;
    uint64_t due = cfg->idle_timeout_ns ? c->last_active + cfg->idle_timeout_ns : 0;
    if (c->hdr_since && cfg->header_timeout_ns) {
        uint64_t h = c->hdr_since + cfg->header_timeout_ns;
        if (!due || h < due)
            due = h;
    }
    return due;
}

/* Arms the wait timer unless it already fires no later than it must. */
static void wait_arm(struct mock_conn *c)
{
    uint64_t due = wait_due(c);
    if (!due || (mtimer_active(&c->wait) && c->wait.due <= due))
        return;
    if (mtimer_start(&c->srv->timers, &c->wait, due) < 0)
        mock_conn_abort(c, "out of memory");
}

/* The connection waits for a request from now on. */
static void idle_arm(struct mock_conn *c)
{
    c->last_active = uv_hrtime();
    wait_arm(c);
}

static void http_header_timeout(struct mock_conn *c);

static void on_wait(struct mtimer *t)
{
    struct mock_conn *c = mock_container_of(t, struct mock_conn, wait);
    struct mock_server *s = c->srv;
    const struct mock_config *cfg = s->cfg;
    if (c->state == MOCK_CONN_LINGER) {
        http_close_now(c);
        return;
    }
    if (c->busy)
        return;     /* re-armed when the request ends */
    uint64_t now = uv_hrtime();
    if (c->hdr_since && cfg->header_timeout_ns && now >= c->hdr_since + cfg->header_timeout_ns) {
        http_header_timeout(c);
        return;
    }
    if (cfg->idle_timeout_ns && now >= c->last_active + cfg->idle_timeout_ns) {
        mock_logv(s, "closing idle connection");
        http_close_now(c);
        return;
    }
    uint64_t due = wait_due(c);
    if (due && mtimer_start(&s->timers, &c->wait, due) < 0)
        mock_conn_abort(c, "out of memory");
}

void mock_conn_request_end(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (c->has_slot)
        mock_gen_release(c);
    mock_truth_write(s, c);
    mock_logv(s, "#%llu %.*s -> %d", (unsigned long long)c->q.seq,
              (int)mock_url_path_len(c->url, c->url_len), c->url, c->q.status);
    req_reset(c);
    c->busy = 0;
    c->headers_sent = 0;
    if (c->state != MOCK_CONN_OPEN)
        return;
    if (!c->keep_alive || c->peer_eof || s->stopping) {
        http_shutdown(c);
        return;
    }
    idle_arm(c);
    http_process(c);
}

void mock_conn_cut(struct mock_conn *c)
{
    if (c->has_slot)
        mock_gen_release(c);
    mock_truth_write(c->srv, c);
    c->busy = 0;
    c->keep_alive = 0;
    http_shutdown(c);
}

/* --- requests ------------------------------------------------------------ */

static enum mock_method method_bit(uint8_t m)
{
    return m == HTTP_GET ? MOCK_M_GET : m == HTTP_HEAD ? MOCK_M_HEAD
         : m == HTTP_POST ? MOCK_M_POST : MOCK_M_OTHER;
}

/* Hands a request that was read, or could not be (fail), to the server. */
static void http_answer(struct mock_conn *c, enum mock_read_fail fail)
{
    struct mock_request rq = {
        .method = method_bit(c->method),
        .url = c->url,
        .url_len = c->url_len,
        .url_truncated = c->url_overflow,
        .body = c->body,
        .body_len = c->body_len,
        .fail = fail,
    };
    mock_server_answer(c, &rq);
}

/* Answers a request that could not be read, then closes. */
static void http_unreadable(struct mock_conn *c, enum mock_read_fail why)
{
    c->busy = 1;
    c->keep_alive = 0;
    c->head = 0;
    c->chunked = 1;
    c->hdr_since = 0;
    c->pend_len = 0;
    mtimer_stop(&c->srv->timers, &c->wait);
    c->q.recv_ns = uv_hrtime();
    http_answer(c, why);
}

static void http_header_timeout(struct mock_conn *c)
{
    c->srv->cnt.header_timeouts++;
    mock_logv(c->srv, "request header not complete after %llu ms: 408",
              (unsigned long long)(c->srv->cfg->header_timeout_ns / 1000000));
    http_unreadable(c, MOCK_READ_HEADER_TIMEOUT);
}

/* Parses pending bytes and answers complete requests, one at a time. */
static void http_process(struct mock_conn *c)
{
    if (c->in_process)
        return;
    c->in_process = 1;
    while (c->state == MOCK_CONN_OPEN && !c->busy && c->pend_len > 0) {
        if (llhttp_get_errno(&c->parser) == HPE_PAUSED)
            llhttp_resume(&c->parser);
        c->msg_done = 0;
        llhttp_errno_t err = llhttp_execute(&c->parser, c->pend, c->pend_len);
        size_t used = c->pend_len;
        if (err == HPE_PAUSED)
            used = (size_t)(llhttp_get_error_pos(&c->parser) - c->pend);
        memmove(c->pend, c->pend + used, c->pend_len - used);
        c->pend_len -= used;
        if (err == HPE_OK)
            break;
        if (err == HPE_PAUSED && c->msg_done) {
            c->busy = 1;
            c->keep_alive = llhttp_should_keep_alive(&c->parser) && c->parser.http_minor >= 1;
            /* HTTP/1.0 has no chunked encoding: its stream ends at close. */
            c->chunked = c->parser.http_major == 1 && c->parser.http_minor >= 1;
            c->head = c->method == HTTP_HEAD;
            mtimer_stop(&c->srv->timers, &c->wait);
            http_answer(c, MOCK_READ_OK);
            /* The body has been read into the plan; an open stream keeps
             * nothing but its struct. */
            body_free(c);
            continue;
        }
        http_unreadable(c, c->too_large ? MOCK_READ_BODY_TOO_LARGE
                         : c->hdr_overflow ? MOCK_READ_HEADERS_TOO_LARGE : MOCK_READ_MALFORMED);
        break;
    }
    /* A header left incomplete starts its deadline. */
    if (c->hdr_since && c->state == MOCK_CONN_OPEN && !c->busy)
        wait_arm(c);
    if (c->pend_len == 0 && c->pend) {
        free(c->pend);
        c->pend = NULL;
        c->pend_cap = 0;
    }
    c->in_process = 0;
}

/* --- llhttp callbacks: record, never act ---------------------------------- */

static int hdr_count(struct mock_conn *c, size_t n)
{
    c->hdr_bytes += (uint32_t)(n > MOCK_HEADER_BYTES_MAX ? MOCK_HEADER_BYTES_MAX : n);
    if (c->hdr_bytes > MOCK_HEADER_BYTES_MAX) {
        c->hdr_overflow = 1;
        return -1;
    }
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    struct mock_conn *c = p->data;
    req_bytes_free(c);
    c->url_len = 0;
    c->hfield_len = 0;
    c->hwhich = MOCK_HDR_NONE;
    c->expect_len = 0;
    c->hdr_bytes = 0;
    c->url_overflow = c->too_large = c->hdr_overflow = 0;
    c->hdr_since = uv_hrtime();
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct mock_conn *c = p->data;
    size_t room = MOCK_URL_MAX - 1 - c->url_len;
    if (n > room)
        c->url_overflow = 1;
    memcpy(c->url + c->url_len, at, n < room ? n : room);
    c->url_len += (uint16_t)(n < room ? n : room);
    c->url[c->url_len] = 0;
    return hdr_count(c, n);
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct mock_conn *c = p->data;
    for (size_t i = 0; i < n; i++) {
        if (c->hfield_len < sizeof c->hfield) {
            char ch = at[i];
            c->hfield[c->hfield_len] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        if (c->hfield_len < 255)
            c->hfield_len++;
    }
    return hdr_count(c, n);
}

static int on_header_field_complete(llhttp_t *p)
{
    struct mock_conn *c = p->data;
    c->hwhich = MOCK_HDR_NONE;
    if (c->hfield_len == 12 && !memcmp(c->hfield, "x-request-id", 12))
        c->hwhich = MOCK_HDR_ID;
    else if (c->hfield_len == 6 && !memcmp(c->hfield, "expect", 6))
        c->hwhich = MOCK_HDR_EXPECT;
    c->hfield_len = 0;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct mock_conn *c = p->data;
    if (c->hwhich == MOCK_HDR_ID) {
        if (!c->id) {
            c->id = malloc(MOCK_ID_MAX + 1);
            if (!c->id)
                return -1;
            c->id_len = 0;
        }
        size_t room = MOCK_ID_MAX - c->id_len, k = n < room ? n : room;
        memcpy(c->id + c->id_len, at, k);
        c->id_len += k;
        c->id[c->id_len] = 0;
    } else if (c->hwhich == MOCK_HDR_EXPECT) {
        size_t room = sizeof c->expect - 1 - c->expect_len, k = n < room ? n : room;
        memcpy(c->expect + c->expect_len, at, k);
        c->expect_len += (uint8_t)k;
        c->expect[c->expect_len] = 0;
    }
    return hdr_count(c, n);
}

static int on_headers_complete(llhttp_t *p)
{
    struct mock_conn *c = p->data;
    struct mock_server *s = c->srv;
    c->hdr_since = 0;
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > s->cfg->max_body) {
        c->too_large = 1;
        return -1;
    }
    /* curl sends "Expect: 100-continue" for bodies over 1 KiB and waits a
     * second for this line; real servers send it at once. */
    if (c->expect_len == 12 && !strncasecmp(c->expect, "100-continue", 12) &&
        p->content_length > 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)http_write(c, cont, sizeof cont - 1);     /* a failure shows on the response */
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct mock_conn *c = p->data;
    struct mock_server *s = c->srv;
    if (c->body_len + n > s->cfg->max_body) {
        c->too_large = 1;
        return -1;
    }
    if (c->body_len + n > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 1024;
        while (cap < c->body_len + n)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b)
            return -1;
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, n);
    c->body_len += n;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct mock_conn *c = p->data;
    memset(&c->q, 0, sizeof c->q);
    c->q.recv_ns = uv_hrtime();
    /* Where the kernel stamped the bytes, the truth also knows when the
     * request reached this host, before this loop got round to reading it:
     * the start of TTFT as the client sees it. */
    c->q.arrive_ns = c->rx_ns && c->rx_ns <= c->q.recv_ns ? c->rx_ns : c->q.recv_ns;
    c->method = p->method;
    c->msg_done = 1;
    /* One request at a time: pause so the bytes of a pipelined request stay
     * pending until this one is answered. */
    return HPE_PAUSED;
}

static const llhttp_settings_t http_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* --- socket callbacks ---------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct mock_conn *c = h->data;
    /* Reads are handled synchronously, so one buffer serves every
     * connection. */
    buf->base = c->srv->rbuf;
    /* With kernel stamps the read callback reads itself (rxstamp.h): a
     * zero length makes libuv call it with UV_ENOBUFS instead of reading. */
    buf->len = c->srv->rx_kernel ? 0 : sizeof c->srv->rbuf;
}

static void http_on_bytes(struct mock_conn *c, ssize_t n, const char *data);

/* One stamped read (rxstamp_read_stream): the request's arrival is the
 * kernel's stamp of its bytes. */
static int http_stamped_bytes(void *ud, ssize_t n, const char *buf, uint64_t kernel_ns)
{
    struct mock_conn *c = ud;
    if (n > 0)
        c->rx_ns = kernel_ns;
    http_on_bytes(c, n, buf);
    return c->state != MOCK_CONN_CLOSED;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct mock_conn *c = st->data;
    if (n == UV_ENOBUFS && c->srv->rx_kernel) {
        rxstamp_read_stream(st, c->srv->rbuf, sizeof c->srv->rbuf, http_stamped_bytes, c);
        return;
    }
    if (n > 0)
        c->rx_ns = 0;
    http_on_bytes(c, n, buf->base);
}

static void http_on_plain(struct mock_conn *c, ssize_t n, const char *data);

/* What a socket read brought.  With TLS the ciphertext goes into the
 * session and its plaintext, decrypted into the read buffer the
 * ciphertext has left, on to the HTTP side: a request's bytes keep the
 * read's arrival stamp (c->rx_ns). */
static void http_on_bytes(struct mock_conn *c, ssize_t n, const char *data)
{
    struct mock_server *s = c->srv;
    if (!c->ssl || n <= 0 || c->state != MOCK_CONN_OPEN) {
        http_on_plain(c, n, data);
        return;
    }
    if (mtls_feed(c->ssl, data, (size_t)n) < 0) {
        mock_conn_abort(c, "out of memory");
        return;
    }
    while (c->state == MOCK_CONN_OPEN) {
        const char *why = "";
        ssize_t k = mtls_read(c->ssl, s->rbuf, sizeof s->rbuf, &why);
        if (http_tls_out(c) < 0) {
            mock_conn_abort(c, "client gone");
            return;
        }
        if (k == 0)
            return;
        if (k < 0) {
            if (!strcmp(why, "close_notify")) {
                http_on_plain(c, UV_EOF, NULL);
                return;
            }
            mock_logv(s, "TLS: %s", why);
            mock_conn_abort(c, "TLS failed");
            return;
        }
        http_on_plain(c, k, s->rbuf);
    }
}

static void http_on_plain(struct mock_conn *c, ssize_t n, const char *data)
{
    struct mock_server *s = c->srv;
    if (n == 0 || c->state == MOCK_CONN_CLOSED)
        return;
    if (c->state == MOCK_CONN_LINGER) {
        if (n < 0) {
            c->peer_eof = 1;
            http_close_now(c);
        }
        return;
    }
    if (n < 0) {
        if (n != UV_EOF) {
            mock_conn_abort(c, "client gone");
            return;
        }
        /* EOF may be a half-close after the request (shutdown(SHUT_WR)), so
         * a request in progress is still answered; then the connection
         * closes. */
        c->peer_eof = 1;
        if (!c->busy)
            http_close_now(c);
        return;
    }
    c->last_active = uv_hrtime();
    size_t limit = s->cfg->max_body + MOCK_HEADER_BYTES_MAX + 65536;
    if (c->pend_len + (size_t)n > limit) {
        if (c->busy) {
            /* Pipelined input beyond any legal request while we stream. */
            mock_conn_abort(c, "client sent too much");
            return;
        }
        /* The parser rejects it as 413/431 from what is already pending. */
        n = (ssize_t)(limit > c->pend_len ? limit - c->pend_len : 0);
    }
    if (c->pend_len + (size_t)n > c->pend_cap) {
        size_t cap = c->pend_cap ? c->pend_cap : 4096;
        while (cap < c->pend_len + (size_t)n)
            cap *= 2;
        char *p = realloc(c->pend, cap);
        if (!p) {
            mock_conn_abort(c, "out of memory");
            return;
        }
        c->pend = p;
        c->pend_cap = cap;
    }
    memcpy(c->pend + c->pend_len, data, (size_t)n);
    c->pend_len += (size_t)n;
    http_process(c);
}

static struct mock_conn *http_get(struct mock_server *s)
{
    struct mock_conn *c = s->free_list;
    if (c)
        s->free_list = c->next;
    else if (!(c = malloc(sizeof *c)))
        return NULL;
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->tick.cb = mock_gen_tick;
    c->wait.cb = on_wait;
    return c;
}

void mock_http_on_connection(uv_stream_t *listener, int status)
{
    struct mock_server *s = listener->data;
    if (status < 0) {
        /* EMFILE and friends: count, keep serving the open connections. */
        s->cnt.accept_errors++;
        mock_logv(s, "accept: %s", uv_strerror(status));
        return;
    }
    struct mock_conn *c = http_get(s);
    if (!c) {
        s->cnt.accept_errors++;
        return;
    }
    int r = uv_tcp_init(&s->loop, &c->tcp);
    if (r < 0) {
        s->cnt.accept_errors++;
        c->next = s->free_list;
        s->free_list = c;
        return;
    }
    c->tcp.data = c;
    c->next = s->live;
    if (s->live)
        s->live->prev = c;
    s->live = c;
    s->cnt.conns_open++;
    r = uv_accept(listener, (uv_stream_t *)&c->tcp);
    if (r < 0) {
        s->cnt.accept_errors++;
        c->state = MOCK_CONN_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    s->cnt.conns_total++;
    /* One write per event is only one segment per event without Nagle. */
    (void)uv_tcp_nodelay(&c->tcp, 1);
    if (s->rx_kernel) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            (void)rxstamp_enable(fd);   /* refused: arrive_ns = recv_ns */
    }
    if (s->tls && !(c->ssl = mtls_accept(s->tls))) {
        s->cnt.accept_errors++;
        http_close_now(c);
        return;
    }
    llhttp_init(&c->parser, HTTP_REQUEST, &http_settings);
    c->parser.data = c;
    c->chunked = 1;
    if ((r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) < 0) {
        http_close_now(c);
        return;
    }
    idle_arm(c);
}

void mock_http_free_conns(struct mock_server *s)
{
    while (s->free_list) {
        struct mock_conn *c = s->free_list;
        s->free_list = c->next;
        free(c);
    }
}
