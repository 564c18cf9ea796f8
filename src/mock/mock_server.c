/* The simulator's HTTP/1.1 server: one libuv loop, llhttp in request mode,
 * keep-alive, the slot queue and the token clock.
 *
 * A connection serves one request at a time.  Bytes that arrive while a
 * request is being answered (pipelining) wait in the connection's pending
 * buffer and are parsed once the response is complete.  Each token event is
 * formatted into one shared buffer and written with uv_try_write; only when
 * the socket is full is the rest copied into a uv_write request.  So an open
 * stream costs its connection struct and nothing else. */
#include "mock.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <llhttp.h>
#include <uv.h>

#include "mock_out.h"
#include "mock_timer.h"
#include "rxstamp.h"


#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

#define URL_MAX 256
#define ID_MAX 255
#define HEADER_BYTES_MAX 65536
/* A client that does not read gets cut off rather than growing our memory. */
#define WRITE_QUEUE_MAX (4u << 20)
#define LINGER_NS 2000000000ull

enum mock_route {
    MOCK_R_ROOT, MOCK_R_TAGS, MOCK_R_PS, MOCK_R_VERSION, MOCK_R_GENERATE, MOCK_R_CHAT, MOCK_R_OAI_CHAT, MOCK_R_OAI_COMPLETIONS,
    MOCK_R_MODELS, MOCK_R_HEALTH, MOCK_R_METRICS, MOCK_R_OTHER, MOCK_R_COUNT
};

enum { MOCK_M_GET = 1, MOCK_M_HEAD = 2, MOCK_M_POST = 4 };

static const struct {
    const char *path;
    unsigned methods;
    const char *allow;
} routes[MOCK_R_COUNT] = {
    [MOCK_R_ROOT] = { "/", MOCK_M_GET | MOCK_M_HEAD, "GET, HEAD" },
    [MOCK_R_TAGS] = { "/api/tags", MOCK_M_GET | MOCK_M_HEAD, "GET, HEAD" },
    [MOCK_R_PS] = { "/api/ps", MOCK_M_GET, "GET" },
    [MOCK_R_VERSION] = { "/api/version", MOCK_M_GET | MOCK_M_HEAD, "GET, HEAD" },
    [MOCK_R_GENERATE] = { "/api/generate", MOCK_M_POST, "POST" },
    [MOCK_R_CHAT] = { "/api/chat", MOCK_M_POST, "POST" },
    [MOCK_R_OAI_CHAT] = { "/v1/chat/completions", MOCK_M_POST, "POST" },
    [MOCK_R_OAI_COMPLETIONS] = { "/v1/completions", MOCK_M_POST, "POST" },
    [MOCK_R_MODELS] = { "/v1/models", MOCK_M_GET, "GET" },
    [MOCK_R_HEALTH] = { "/health", MOCK_M_GET | MOCK_M_HEAD, "GET, HEAD" },
    [MOCK_R_METRICS] = { "/metrics", MOCK_M_GET, "GET" },
    [MOCK_R_OTHER] = { "other", 0, "" },
};

/* Status codes counted in /metrics; others fall into the last entry. */
static const int counted_status[] = { 200, 400, 404, 405, 413, 429, 431, 500, 503, 0 };
#define NSTATUS (sizeof counted_status / sizeof counted_status[0])

enum mock_conn_state { MOCK_CONN_OPEN, MOCK_CONN_LINGER, MOCK_CONN_CLOSED };
enum mock_hdr { MOCK_HDR_NONE, MOCK_HDR_ID, MOCK_HDR_EXPECT };
enum mock_style { MOCK_STYLE_TEXT, MOCK_STYLE_OLLAMA, MOCK_STYLE_OPENAI };

/* One request in progress. */
struct mock_req {
    uint64_t seq;
    enum mock_route route;
    int status;
    int gen;                    /* a generation request (holds or waits for a slot) */
    int stream;
    struct mock_resp resp;
    struct mock_plan plan;
    struct mock_rng text_rng;
    uint64_t recv_ns, grant_ns, first_ns, last_ns, done_ns;
    uint64_t arrive_ns;         /* kernel receive stamp of the request's last bytes */
    uint64_t next_due;          /* ideal time of the next token */
    uint64_t sent;              /* tokens generated */
    uint32_t pending;           /* tokens not yet written (tokens-per-chunk) */
    uint64_t events;            /* token-carrying events written */
    const char *aborted;        /* why it ended early, NULL if it did not */
    int fault_counted;
    int final_wait;             /* the tokens are done; the end is stalled */
};

struct mock_server;

struct mock_conn {
    uv_tcp_t tcp;
    uv_shutdown_t shut;
    llhttp_t parser;
    struct mock_server *srv;
    struct mock_conn *prev, *next;   /* live connections */
    struct mock_conn *qnext;         /* slot queue */
    struct mtimer tick;         /* the request's token clock */
    struct mtimer idle;         /* keep-alive idle and linger deadline */
    uint64_t last_active;
    enum mock_conn_state state;
    /* parser state of the request being read */
    char url[URL_MAX];
    uint16_t url_len;
    char hfield[16];
    uint8_t hfield_len;
    uint8_t hwhich;
    char expect[16];
    uint8_t expect_len;
    char *id;                   /* X-Request-Id, malloc'd, NUL-terminated */
    size_t id_len;
    char *body;
    size_t body_len, body_cap;
    uint32_t hdr_bytes;
    unsigned url_overflow : 1, too_large : 1, hdr_overflow : 1, msg_done : 1;
    /* connection state */
    unsigned busy : 1, in_process : 1, peer_eof : 1, keep_alive : 1, head : 1, chunked : 1,
        has_slot : 1, queued : 1, headers_sent : 1, accepted : 1;
    uint8_t method;
    uint64_t rx_ns;             /* arrival of the newest bytes read (rxstamp.h), 0 unknown */
    char *pend;                 /* received bytes not yet parsed */
    size_t pend_len, pend_cap;
    struct mock_req q;
};

struct mock_counters {
    uint64_t requests[MOCK_R_COUNT];
    uint64_t status[NSTATUS];
    uint64_t faults[MOCK_FAULT_COUNT];
    uint64_t tokens, prompt_tokens, events;
    uint64_t accept_errors, client_aborts, conns_total;
    uint64_t conns_open;
};

struct mock_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    struct mtimers timers;
    const struct mock_config *cfg;
    struct mock_conn *live;
    struct mock_conn *free_list;
    struct mock_conn *qhead, *qtail;
    uint32_t active, queued;
    uint64_t seq;
    uint64_t interval_b[64];    /* token interval by batch size, cached */
    int64_t wall_offset;        /* Unix ns minus uv_hrtime() */
    int64_t start_unix;
    FILE *truth;
    int stopping;
    int rx_kernel;              /* requests are read with kernel receive stamps */
    int rx_hold;                /* rxstamp_hold() socket, or -1 */
    struct mock_counters cnt;
    struct mbuf out, ev, txt;
    char rbuf[65536];
};

static const llhttp_settings_t http_settings;

static void mock_conn_process(struct mock_conn *c);
static void mock_conn_request_end(struct mock_conn *c);
static void mock_conn_abort(struct mock_conn *c, const char *why);
static void gen_tick(struct mtimer *t);

/* --- small helpers ------------------------------------------------------- */

static void logv(const struct mock_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logv(const struct mock_server *s, const char *fmt, ...)
{
    if (!s->cfg->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("llmload mock: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint64_t token_interval(struct mock_server *s)
{
    uint32_t b = s->active ? s->active : 1;
    if (b < 64) {
        if (!s->interval_b[b])
            s->interval_b[b] = mock_token_interval_ns(s->cfg, b);
        return s->interval_b[b];
    }
    return mock_token_interval_ns(s->cfg, b);
}

static void wall_time(const struct mock_server *s, uint64_t now, char *buf, size_t cap)
{
    mock_out_time(buf, cap, (int64_t)now + s->wall_offset);
}

static const char *status_reason(int st)
{
    switch (st) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void count_status(struct mock_server *s, int st)
{
    size_t i = 0;
    while (counted_status[i] && counted_status[i] != st)
        i++;
    s->cnt.status[i]++;
}

/* The path part of the URL, without the query. */
static size_t url_path_len(const struct mock_conn *c)
{
    const char *q = memchr(c->url, '?', c->url_len);
    return q ? (size_t)(q - c->url) : c->url_len;
}

static enum mock_style path_style(const struct mock_conn *c)
{
    size_t n = url_path_len(c);
    if (n >= 4 && !memcmp(c->url, "/v1/", 4))
        return MOCK_STYLE_OPENAI;
    if ((n >= 5 && !memcmp(c->url, "/api/", 5)) || (n == 1 && c->url[0] == '/'))
        return MOCK_STYLE_OLLAMA;
    return MOCK_STYLE_TEXT;
}

static void json_str(FILE *f, const char *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_ns(FILE *f, const char *key, uint64_t v)
{
    if (v)
        fprintf(f, ",\"%s\":%llu", key, (unsigned long long)v);
    else
        fprintf(f, ",\"%s\":null", key);
}

/* Appends the request's ground-truth line.  Called once per request, when it
 * ends for whatever reason. */
static void truth_write(struct mock_server *s, struct mock_conn *c)
{
    struct mock_req *q = &c->q;
    FILE *f = s->truth;
    if (!f)
        return;
    fputs("{\"id\":", f);
    if (c->id)
        json_str(f, c->id, c->id_len);
    else
        fputs("null", f);
    fprintf(f, ",\"seq\":%llu,\"path\":", (unsigned long long)q->seq);
    json_str(f, c->url, url_path_len(c));
    fprintf(f, ",\"status\":%d,\"fault\":", q->status);
    if (q->plan.fault && q->fault_counted)
        fprintf(f, "\"%s\"", mock_fault_name(q->plan.fault));
    else
        fputs("null", f);
    json_ns(f, "arrive_ns", q->arrive_ns);
    json_ns(f, "recv_ns", q->recv_ns);
    json_ns(f, "first_token_ns", q->first_ns);
    json_ns(f, "last_token_ns", q->last_ns);
    json_ns(f, "done_ns", q->done_ns);
    fprintf(f, ",\"prompt_tokens\":%llu,\"completion_tokens\":%llu,\"events\":%llu,\"aborted\":",
            (unsigned long long)q->resp.prompt_tokens, (unsigned long long)q->sent,
            (unsigned long long)q->events);
    if (q->aborted)
        fprintf(f, "\"%s\"}\n", q->aborted);
    else
        fputs("null}\n", f);
}

/* --- writing ------------------------------------------------------------- */

struct mock_wreq {
    uv_write_t req;
    char data[];
};

static void on_write(uv_write_t *req, int status)
{
    struct mock_conn *c = req->handle->data;
    free(container_of(req, struct mock_wreq, req));
    if (status < 0 && status != UV_ECANCELED)
        mock_conn_abort(c, "client gone");
}

/* Writes n bytes, in order after earlier writes.  Returns 0 or a negative
 * libuv code; the caller then aborts the connection (never from inside a
 * parser callback). */
static int mock_conn_write(struct mock_conn *c, const char *p, size_t n)
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

/* Writes the shared output buffer; aborts the connection on failure.
 * Returns 0, or -1 when the connection is gone. */
static int mock_conn_flush(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    int r = s->out.failed ? UV_ENOMEM : mock_conn_write(c, s->out.p, s->out.len);
    s->out.len = 0;
    s->out.failed = 0;
    if (r < 0) {
        logv(s, "write failed: %s", uv_strerror(r));
        mock_conn_abort(c, "client gone");
        return -1;
    }
    return 0;
}

/* Appends one body piece to the output, as a chunk when the body is chunked. */
static void out_chunk(struct mock_conn *c, const char *p, size_t n)
{
    struct mbuf *o = &c->srv->out;
    if (c->chunked)
        mbuf_printf(o, "%zx\r\n", n);
    mbuf_put(o, p, n);
    if (c->chunked)
        mbuf_puts(o, "\r\n");
}

/* Moves the event buffer into the output as one chunk. */
static void out_event(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (s->ev.failed)
        s->out.failed = 1;
    else
        out_chunk(c, s->ev.p, s->ev.len);
    s->ev.len = 0;
    s->ev.failed = 0;
}

static void out_headers(struct mock_conn *c, int status, const char *ctype, long long clen,
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

/* Sends a whole response with Content-Length and ends the request. */
static void mock_conn_respond(struct mock_conn *c, int status, const char *ctype, const char *body,
                         size_t len, const char *extra)
{
    struct mock_server *s = c->srv;
    c->q.status = status;
    count_status(s, status);
    out_headers(c, status, ctype, (long long)len, extra);
    if (!c->head)
        mbuf_put(&s->out, body, len);
    if (mock_conn_flush(c) < 0)
        return;
    c->q.done_ns = uv_hrtime();
    mock_conn_request_end(c);
}

/* An error response in the style of the path: OpenAI JSON under /v1/,
 * Ollama JSON under /api/, plain text elsewhere (as gin writes its 404). */
static void mock_conn_error(struct mock_conn *c, int status, const char *msg, const char *extra)
{
    struct mbuf b = { 0 };
    enum mock_style st = path_style(c);
    if (st == MOCK_STYLE_TEXT) {
        mbuf_printf(&b, "%d %s", status, msg);
    } else {
        mock_out_error(&b, st == MOCK_STYLE_OPENAI, status, msg);
    }
    if (b.failed) {
        mbuf_free(&b);
        mock_conn_abort(c, "out of memory");
        return;
    }
    mock_conn_respond(c, status, st == MOCK_STYLE_TEXT ? "text/plain; charset=utf-8" : "application/json",
                 b.p, b.len, extra);
    mbuf_free(&b);
}

/* --- connection lifecycle ------------------------------------------------ */

static void req_reset(struct mock_conn *c)
{
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    free(c->id);
    c->id = NULL;
    c->id_len = 0;
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
    req_reset(c);
    free(c->pend);
    c->pend = NULL;
    c->next = s->free_list;
    s->free_list = c;
}

static void slot_release(struct mock_conn *c);

static void queue_unlink(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_conn **pp = &s->qhead, *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp)
        return;
    *pp = c->qnext;
    if (s->qtail == c)
        s->qtail = prev;
    c->qnext = NULL;
    c->queued = 0;
    s->queued--;
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
    mtimer_stop(&s->timers, &c->tick);
    if (c->queued)
        queue_unlink(c);
    if (c->has_slot)
        slot_release(c);
    truth_write(s, c);
    c->busy = 0;
}

static void mock_conn_close_now(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (c->state == MOCK_CONN_CLOSED)
        return;
    req_abandon(c, "closed");
    c->state = MOCK_CONN_CLOSED;
    mtimer_stop(&s->timers, &c->tick);
    mtimer_stop(&s->timers, &c->idle);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void mock_conn_abort(struct mock_conn *c, const char *why)
{
    if (c->state == MOCK_CONN_CLOSED)
        return;
    req_abandon(c, why);
    mock_conn_close_now(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct mock_conn *c = req->data;
    if (c->state != MOCK_CONN_LINGER)
        return;
    if (status < 0 || c->peer_eof)
        mock_conn_close_now(c);
}

/* Graceful close: flush what is queued, send FIN, and keep reading (and
 * discarding) until the client closes too, for at most LINGER_NS.  Closing
 * at once with unread input would send RST and could destroy a response the
 * client has not read yet (a 413 sent before the body arrived, say). */
static void mock_conn_shutdown(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (c->state != MOCK_CONN_OPEN)
        return;
    c->state = MOCK_CONN_LINGER;
    mtimer_stop(&s->timers, &c->tick);
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        mock_conn_close_now(c);
        return;
    }
    if (mtimer_start(&s->timers, &c->idle, uv_hrtime() + LINGER_NS) < 0)
        mock_conn_close_now(c);
}

static void idle_arm(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (!s->cfg->idle_timeout_ns)
        return;
    c->last_active = uv_hrtime();
    if (!mtimer_active(&c->idle) &&
        mtimer_start(&s->timers, &c->idle, c->last_active + s->cfg->idle_timeout_ns) < 0)
        mock_conn_abort(c, "out of memory");
}

static void on_idle(struct mtimer *t)
{
    struct mock_conn *c = container_of(t, struct mock_conn, idle);
    struct mock_server *s = c->srv;
    if (c->state == MOCK_CONN_LINGER) {
        mock_conn_close_now(c);
        return;
    }
    if (c->busy || !s->cfg->idle_timeout_ns)
        return;     /* re-armed when the request ends */
    /* Reads only move last_active; the timer is pushed back lazily here,
     * which saves a heap update per read. */
    uint64_t due = c->last_active + s->cfg->idle_timeout_ns;
    if (uv_hrtime() >= due) {
        logv(s, "closing idle connection");
        mock_conn_close_now(c);
    } else if (mtimer_start(&s->timers, &c->idle, due) < 0) {
        mock_conn_abort(c, "out of memory");
    }
}

/* Called when a response is complete: records it and goes on with the
 * connection (next pipelined request, idle wait, or close). */
static void mock_conn_request_end(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (c->has_slot)
        slot_release(c);
    truth_write(s, c);
    logv(s, "#%llu %.*s -> %d", (unsigned long long)c->q.seq, (int)url_path_len(c), c->url,
         c->q.status);
    req_reset(c);
    c->busy = 0;
    c->headers_sent = 0;
    if (c->state != MOCK_CONN_OPEN)
        return;
    if (!c->keep_alive || c->peer_eof || s->stopping) {
        mock_conn_shutdown(c);
        return;
    }
    idle_arm(c);
    mock_conn_process(c);
}

/* --- slots and the token clock ------------------------------------------ */

static void slot_grant(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    s->active++;
    c->has_slot = 1;
    q->grant_ns = uv_hrtime();
    q->next_due = q->grant_ns + mock_ttft_ns(s->cfg, q->resp.prompt_tokens);
    if (mtimer_start(&s->timers, &c->tick, q->next_due) < 0)
        mock_conn_abort(c, "out of memory");
}

static void slot_release(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    c->has_slot = 0;
    s->active--;
    while (!s->stopping && s->active < s->cfg->slots && s->qhead) {
        struct mock_conn *n = s->qhead;
        s->qhead = n->qnext;
        if (!s->qhead)
            s->qtail = NULL;
        n->qnext = NULL;
        n->queued = 0;
        s->queued--;
        slot_grant(n);
    }
}

static void gen_enqueue(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (s->active < s->cfg->slots && !s->qhead) {
        slot_grant(c);
        return;
    }
    c->queued = 1;
    c->qnext = NULL;
    if (s->qtail)
        s->qtail->qnext = c;
    else
        s->qhead = c;
    s->qtail = c;
    s->queued++;
}

/* Writes the pending tokens as one event (with the response headers before
 * the first one).  Returns -1 when the connection is gone. */
static int gen_emit(struct mock_conn *c, uint64_t now, int malformed)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    char ts[48];
    if (!c->headers_sent) {
        int sse = q->resp.api == MOCK_API_OAI_CHAT || q->resp.api == MOCK_API_OAI_COMPLETIONS;
        out_headers(c, 200, sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson",
                    -1, sse ? "Cache-Control: no-cache\r\n" : NULL);
        c->headers_sent = 1;
        q->status = 200;
        count_status(s, 200);
        if (q->resp.api == MOCK_API_OAI_CHAT) {
            mock_out_role(&s->ev, &q->resp);
            out_event(c);
        }
    }
    s->txt.len = 0;
    mock_out_words(&s->txt, &q->text_rng, q->pending);
    if (q->resp.api == MOCK_API_GENERATE || q->resp.api == MOCK_API_CHAT)
        wall_time(s, now, ts, sizeof ts);
    else
        ts[0] = 0;
    if (malformed)
        mock_out_malformed(&s->ev, &q->resp, ts, s->txt.p, s->txt.len);
    else
        mock_out_content(&s->ev, &q->resp, ts, s->txt.p, s->txt.len);
    out_event(c);
    q->pending = 0;
    q->events++;
    s->cnt.events++;
    return mock_conn_flush(c);
}

static void resp_timings(struct mock_req *q, uint64_t done)
{
    q->resp.completion_tokens = q->sent;
    q->resp.load_ns = q->grant_ns - q->recv_ns;
    q->resp.prompt_eval_ns = q->first_ns - q->grant_ns;
    q->resp.eval_ns = q->last_ns - q->first_ns;
    q->resp.total_ns = done - q->recv_ns;
}

/* Ends a streamed body: the last chunk when chunked, flushed, then the
 * request is done at done_ns (for the truth file). */
static void stream_end(struct mock_conn *c, uint64_t done_ns)
{
    struct mock_server *s = c->srv;
    if (c->chunked)
        mbuf_puts(&s->out, "0\r\n\r\n");
    if (mock_conn_flush(c) < 0)
        return;
    c->q.done_ns = done_ns;
    mock_conn_request_end(c);
}

/* The end of a streamed body: Ollama's final line, or OpenAI's finish chunk,
 * usage chunk and [DONE]; then the zero chunk. */
static void gen_finish_stream(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    uint64_t done = uv_hrtime();
    char ts[48];
    resp_timings(q, done);
    if (q->resp.api == MOCK_API_GENERATE || q->resp.api == MOCK_API_CHAT) {
        wall_time(s, done, ts, sizeof ts);
        mock_out_final(&s->ev, &q->resp, ts);
        out_event(c);
    } else {
        mock_out_finish(&s->ev, &q->resp);
        out_event(c);
        if (mock_conn_flush(c) < 0)
            return;
        if (q->resp.include_usage) {
            mock_out_usage(&s->ev, &q->resp);
            out_event(c);
            if (mock_conn_flush(c) < 0)
                return;
        }
        mock_out_done(&s->ev);
        out_event(c);
    }
    stream_end(c, done);
}

static void gen_finish_body(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    uint64_t done = uv_hrtime();
    char ts[48];
    struct mbuf b = { 0 };
    resp_timings(q, done);
    wall_time(s, done, ts, sizeof ts);
    mock_out_body(&b, &q->resp, ts);
    if (q->plan.fault == MOCK_FAULT_MALFORMED && !b.failed)
        b.len /= 2;
    if (b.failed) {
        mbuf_free(&b);
        mock_conn_abort(c, "out of memory");
        return;
    }
    q->events = 1;
    s->cnt.events++;
    q->done_ns = done;
    mock_conn_respond(c, 200, "application/json; charset=utf-8", b.p, b.len, NULL);
    mbuf_free(&b);
}

static void gen_tick(struct mtimer *t)
{
    struct mock_conn *c = container_of(t, struct mock_conn, tick);
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    const struct mock_config *cfg = s->cfg;
    uint64_t now = uv_hrtime();

    if (q->final_wait) {
        if (q->stream)
            gen_finish_stream(c);
        else
            gen_finish_body(c);
        return;
    }
    q->sent++;
    q->pending++;
    s->cnt.tokens++;
    if (q->sent == 1)
        q->first_ns = now;
    q->last_ns = now;
    int last = q->sent >= q->plan.tokens;
    enum mock_fault fault = q->plan.fault >= MOCK_FAULT_MIDSTREAM && q->sent == q->plan.fault_at
                                ? q->plan.fault : MOCK_FAULT_NONE;
    if (fault)
        s->cnt.faults[fault]++;
    if (fault)
        q->fault_counted = 1;

    if (q->stream) {
        /* The first token goes out at once, the rest in groups of
         * tokens-per-chunk, like vLLM's stream interval. */
        int emit = q->sent == 1 || q->pending >= cfg->tokens_per_chunk || last || fault;
        if (emit && gen_emit(c, now, fault == MOCK_FAULT_MALFORMED) < 0)
            return;
    }

    switch (fault) {
    case MOCK_FAULT_MIDSTREAM:
        if (!q->stream) {
            q->done_ns = uv_hrtime();
            mock_conn_error(c, 500, "simulated failure during generation", NULL);
            return;
        }
        mock_out_stream_error(&s->ev, &q->resp, "simulated failure during generation");
        out_event(c);
        if (q->resp.api == MOCK_API_OAI_CHAT || q->resp.api == MOCK_API_OAI_COMPLETIONS) {
            if (mock_conn_flush(c) < 0)
                return;
            mock_out_done(&s->ev);
            out_event(c);
        }
        stream_end(c, uv_hrtime());
        return;
    case MOCK_FAULT_CLOSE:
        /* No last chunk: the client sees the body end early.  The request
         * is recorded first, because closing abandons it. */
        q->done_ns = uv_hrtime();
        if (c->has_slot)
            slot_release(c);
        truth_write(s, c);
        c->busy = 0;
        c->keep_alive = 0;
        mock_conn_shutdown(c);
        return;
    case MOCK_FAULT_STALL:
        q->next_due = now + cfg->stall_ns;
        if (last) {
            /* A stall on the last token delays the end of the stream. */
            q->final_wait = 1;
            if (mtimer_start(&s->timers, &c->tick, q->next_due) < 0)
                mock_conn_abort(c, "out of memory");
            return;
        }
        break;
    default:
        break;
    }

    if (last) {
        if (q->stream)
            gen_finish_stream(c);
        else
            gen_finish_body(c);
        return;
    }
    /* Decode starts from the first token as it really went out: a late
     * first token shifts the schedule instead of squeezing the next gap. */
    if (q->sent == 1)
        q->next_due = now;
    uint64_t next = q->next_due + token_interval(s);
    if (next < now)
        next = now;     /* behind schedule: no bursts to catch up */
    q->next_due = next;
    if (mtimer_start(&s->timers, &c->tick, next) < 0)
        mock_conn_abort(c, "out of memory");
}

/* --- request handling ---------------------------------------------------- */

/* Bytes of prompt text in a chat message's content: a string, or an array of
 * parts with "text". */
static size_t content_bytes(const cJSON *content)
{
    size_t n = 0;
    if (cJSON_IsString(content))
        return strlen(content->valuestring);
    if (cJSON_IsArray(content)) {
        const cJSON *part;
        cJSON_ArrayForEach(part, content) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(t))
                n += strlen(t->valuestring);
        }
    }
    return n;
}

/* Reads a token count field.  Returns 0 if absent, 1 if set, -1 if not a
 * number. */
static int get_count(const cJSON *obj, const char *key, double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsNumber(it))
        return -1;
    *v = it->valuedouble;
    return 1;
}

static int get_bool(const cJSON *obj, const char *key, int *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsBool(it))
        return -1;
    *v = cJSON_IsTrue(it);
    return 1;
}

/* Ollama's answer to an empty prompt: the model is loaded, nothing is
 * generated (PROTOCOLS.md §1, special cases). */
static void respond_load(struct mock_conn *c, const char *model)
{
    struct mock_server *s = c->srv;
    char ts[48], body[512];
    wall_time(s, uv_hrtime(), ts, sizeof ts);
    int n;
    if (c->q.route == MOCK_R_GENERATE)
        n = snprintf(body, sizeof body, "{\"model\":\"%s\",\"created_at\":\"%s\",\"response\":\"\","
                     "\"done\":true,\"done_reason\":\"load\"}", model, ts);
    else
        n = snprintf(body, sizeof body, "{\"model\":\"%s\",\"created_at\":\"%s\",\"message\":"
                     "{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"load\"}",
                     model, ts);
    mock_conn_respond(c, 200, "application/json; charset=utf-8", body, (size_t)n, NULL);
}

static void gen_start(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    const struct mock_config *cfg = s->cfg;
    struct mock_req *q = &c->q;
    enum mock_route rt = q->route;
    int openai = rt == MOCK_R_OAI_CHAT || rt == MOCK_R_OAI_COMPLETIONS;
    char msg[256];
    const char *err = NULL;
    int err_status = 400;
    cJSON *root = NULL;

    if (!c->body_len) {
        err = "missing request body";
        goto fail;
    }
    root = cJSON_ParseWithLength(c->body, c->body_len);
    if (!root) {
        err = "invalid JSON in request body";
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        err = "request body must be a JSON object";
        goto fail;
    }
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsString(jm) || !jm->valuestring[0]) {
        err = "model is required";
        goto fail;
    }
    const char *model = NULL;
    for (size_t i = 0; i < cfg->nmodels; i++)
        if (!strcmp(cfg->models[i], jm->valuestring))
            model = cfg->models[i];
    if (!model) {
        snprintf(msg, sizeof msg, openai ? "The model '%.200s' does not exist." : "model '%.200s' not found",
                 jm->valuestring);
        err = msg;
        err_status = 404;
        goto fail;
    }

    /* Ollama streams unless told not to; OpenAI only when asked. */
    int stream = !openai;
    if (get_bool(root, "stream", &stream) < 0) {
        err = "stream must be a boolean";
        goto fail;
    }
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (opts && !cJSON_IsNull(opts) && !cJSON_IsObject(opts)) {
        err = "options must be an object";
        goto fail;
    }

    double v;
    uint64_t max_tokens = cfg->default_max_tokens, min_tokens = 0;
    int ignore_eos = 0, r;
    if (openai) {
        const char *key = "max_completion_tokens";
        r = get_count(root, key, &v);
        if (r == 0)
            r = get_count(root, key = "max_tokens", &v);
        if (r < 0 || (r > 0 && (v < 1 || v > MOCK_MAX_TOKENS))) {
            snprintf(msg, sizeof msg, "%s must be an integer from 1 to %u", key, MOCK_MAX_TOKENS);
            err = msg;
            goto fail;
        }
        if (r > 0)
            max_tokens = (uint64_t)v;
    } else if (opts) {
        r = get_count(opts, "num_predict", &v);
        if (r < 0 || (r > 0 && v > MOCK_MAX_TOKENS)) {
            snprintf(msg, sizeof msg, "options.num_predict must be a number up to %u", MOCK_MAX_TOKENS);
            err = msg;
            goto fail;
        }
        /* -1 is "unlimited" in Ollama; the simulator then uses its default. */
        if (r > 0 && v >= 1)
            max_tokens = (uint64_t)v;
    }
    /* vLLM's ignore_eos/min_tokens at the top level; Ollama users put
     * sampling settings in options, so look there too. */
    const cJSON *places[2] = { root, opts };
    for (int i = 0; i < 2; i++) {
        if (!places[i])
            continue;
        if (get_bool(places[i], "ignore_eos", &ignore_eos) < 0) {
            err = "ignore_eos must be a boolean";
            goto fail;
        }
        r = get_count(places[i], "min_tokens", &v);
        if (r < 0 || (r > 0 && (v < 0 || v > MOCK_MAX_TOKENS))) {
            err = "min_tokens must be a non-negative integer";
            goto fail;
        }
        if (r > 0)
            min_tokens = (uint64_t)v;
    }

    int include_usage = 0;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && cJSON_IsObject(so) && get_bool(so, "include_usage", &include_usage) < 0) {
        err = "stream_options.include_usage must be a boolean";
        goto fail;
    }

    /* Prompt size in bytes; the token count is ceil(bytes/4). */
    uint64_t bytes = 0;
    int empty = 0;
    if (rt == MOCK_R_GENERATE) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
        if (p && !cJSON_IsNull(p) && !cJSON_IsString(p)) {
            err = "prompt must be a string";
            goto fail;
        }
        bytes = cJSON_IsString(p) ? strlen(p->valuestring) : 0;
        empty = bytes == 0;
        if (cJSON_IsString(sys))
            bytes += strlen(sys->valuestring);
    } else if (rt == MOCK_R_CHAT || rt == MOCK_R_OAI_CHAT) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
        if (msgs && !cJSON_IsNull(msgs) && !cJSON_IsArray(msgs)) {
            err = "messages must be an array";
            goto fail;
        }
        if (rt == MOCK_R_OAI_CHAT && cJSON_GetArraySize(msgs) == 0) {
            err = "messages is required and must not be empty";
            goto fail;
        }
        empty = cJSON_GetArraySize(msgs) == 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs) {
            if (!cJSON_IsObject(m)) {
                err = "each message must be an object";
                goto fail;
            }
            bytes += content_bytes(cJSON_GetObjectItemCaseSensitive(m, "content"));
        }
    } else {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        if (cJSON_IsString(p)) {
            bytes = strlen(p->valuestring);
        } else if (cJSON_IsArray(p) && cJSON_GetArraySize(p) > 0) {
            /* A list of strings, or of token ids (each id is 4 "bytes"
             * so it counts as one token). */
            const cJSON *e;
            cJSON_ArrayForEach(e, p) {
                if (cJSON_IsString(e))
                    bytes += strlen(e->valuestring);
                else if (cJSON_IsNumber(e))
                    bytes += 4;
                else if (cJSON_IsArray(e))
                    bytes += 4 * (uint64_t)cJSON_GetArraySize(e);
                else {
                    err = "prompt must be a string, a list of strings or a list of token ids";
                    goto fail;
                }
            }
        } else {
            err = "prompt is required";
            goto fail;
        }
    }
    if (empty && !openai) {
        respond_load(c, model);
        cJSON_Delete(root);
        return;
    }

    q->gen = 1;
    q->stream = stream;
    q->resp.api = rt == MOCK_R_GENERATE ? MOCK_API_GENERATE : rt == MOCK_R_CHAT ? MOCK_API_CHAT
                : rt == MOCK_R_OAI_CHAT ? MOCK_API_OAI_CHAT : MOCK_API_OAI_COMPLETIONS;
    q->resp.model = model;
    q->resp.seq = q->seq;
    q->resp.created = ((int64_t)q->recv_ns + s->wall_offset) / 1000000000;
    q->resp.include_usage = include_usage;
    q->resp.prompt_tokens = mock_prompt_tokens(bytes);
    s->cnt.prompt_tokens += q->resp.prompt_tokens;
    mock_plan_request(cfg, q->seq, max_tokens, min_tokens, ignore_eos, &q->plan);
    q->resp.stop = q->plan.stop;
    q->resp.text_seed = q->plan.text_seed;
    q->text_rng.s = q->plan.text_seed;
    cJSON_Delete(root);
    root = NULL;

    char extra[64];
    snprintf(extra, sizeof extra, "Retry-After: %llu\r\n", (unsigned long long)cfg->retry_after_s);
    switch (q->plan.fault) {
    case MOCK_FAULT_429:
    case MOCK_FAULT_500:
    case MOCK_FAULT_503:
        s->cnt.faults[q->plan.fault]++;
        q->fault_counted = 1;
        q->gen = 0;
        if (q->plan.fault == MOCK_FAULT_429)
            mock_conn_error(c, 429, "rate limit exceeded (simulated)", extra);
        else if (q->plan.fault == MOCK_FAULT_500)
            mock_conn_error(c, 500, "internal server error (simulated)", NULL);
        else
            mock_conn_error(c, 503, "server busy, please try again.  maximum pending requests exceeded",
                       extra);
        return;
    default:
        break;
    }
    gen_enqueue(c);
    return;

fail:
    cJSON_Delete(root);
    mock_conn_error(c, err_status, err, NULL);
}

static void respond_json(struct mock_conn *c, struct mbuf *b)
{
    if (b->failed) {
        mbuf_free(b);
        mock_conn_abort(c, "out of memory");
        return;
    }
    mock_conn_respond(c, 200, "application/json; charset=utf-8", b->p, b->len, NULL);
    mbuf_free(b);
}

/* A made-up but stable sha256-looking digest of a model name. */
static void fake_digest(const char *name, char out[65])
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    struct mock_rng r = { h };
    for (int i = 0; i < 4; i++)
        snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)mock_rng_next(&r));
}

static void respond_models(struct mock_conn *c, enum mock_route rt)
{
    struct mock_server *s = c->srv;
    const struct mock_config *cfg = s->cfg;
    struct mbuf b = { 0 };
    char ts[48], exp[48], digest[65];
    wall_time(s, uv_hrtime(), exp, sizeof exp);
    mock_out_time(ts, sizeof ts, s->start_unix);
    if (rt == MOCK_R_MODELS) {
        mbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
        for (size_t i = 0; i < cfg->nmodels; i++)
            mbuf_printf(&b, "%s{\"id\":\"%s\",\"object\":\"model\",\"created\":%lld,"
                            "\"owned_by\":\"llmload\"}", i ? "," : "", cfg->models[i],
                        (long long)(s->start_unix / 1000000000));
        mbuf_puts(&b, "]}");
    } else {
        mbuf_puts(&b, "{\"models\":[");
        for (size_t i = 0; i < cfg->nmodels; i++) {
            fake_digest(cfg->models[i], digest);
            mbuf_printf(&b, "%s{\"name\":\"%s\",\"model\":\"%s\",", i ? "," : "", cfg->models[i],
                        cfg->models[i]);
            if (rt == MOCK_R_TAGS)
                mbuf_printf(&b, "\"modified_at\":\"%s\",", ts);
            mbuf_printf(&b, "\"size\":0,\"digest\":\"%s\",\"details\":{\"parent_model\":\"\","
                            "\"format\":\"gguf\",\"family\":\"llmload\",\"families\":[\"llmload\"],"
                            "\"parameter_size\":\"0B\",\"quantization_level\":\"none\"}", digest);
            if (rt == MOCK_R_PS)
                mbuf_printf(&b, ",\"expires_at\":\"%s\",\"size_vram\":0,\"context_length\":4096", exp);
            mbuf_puts(&b, "}");
        }
        mbuf_puts(&b, "]}");
    }
    respond_json(c, &b);
}

static void respond_metrics(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    const struct mock_counters *k = &s->cnt;
    struct mbuf b = { 0 };
    mbuf_puts(&b, "# HELP llmload_mock_requests_total HTTP requests received, by endpoint.\n"
                  "# TYPE llmload_mock_requests_total counter\n");
    for (int i = 0; i < MOCK_R_COUNT; i++)
        mbuf_printf(&b, "llmload_mock_requests_total{endpoint=\"%s\"} %llu\n", routes[i].path,
                    (unsigned long long)k->requests[i]);
    mbuf_puts(&b, "# HELP llmload_mock_responses_total Responses by HTTP status code.\n"
                  "# TYPE llmload_mock_responses_total counter\n");
    for (size_t i = 0; i < NSTATUS; i++) {
        if (counted_status[i])
            mbuf_printf(&b, "llmload_mock_responses_total{code=\"%d\"} %llu\n", counted_status[i],
                        (unsigned long long)k->status[i]);
        else
            mbuf_printf(&b, "llmload_mock_responses_total{code=\"other\"} %llu\n",
                        (unsigned long long)k->status[i]);
    }
    mbuf_puts(&b, "# HELP llmload_mock_faults_total Injected faults, by kind.\n"
                  "# TYPE llmload_mock_faults_total counter\n");
    for (int i = 1; i < MOCK_FAULT_COUNT; i++)
        mbuf_printf(&b, "llmload_mock_faults_total{kind=\"%s\"} %llu\n",
                    mock_fault_name((enum mock_fault)i), (unsigned long long)k->faults[i]);
    static const struct { const char *name, *type, *help; } scalars[] = {
        { "llmload_mock_tokens_generated_total", "counter", "Completion tokens generated." },
        { "llmload_mock_prompt_tokens_total", "counter", "Prompt tokens received (ceil(bytes/4))." },
        { "llmload_mock_events_total", "counter", "Token-carrying events written." },
        { "llmload_mock_active_streams", "gauge", "Generations holding a slot." },
        { "llmload_mock_queued", "gauge", "Generations waiting for a slot." },
        { "llmload_mock_slots", "gauge", "Configured slots (--slots)." },
        { "llmload_mock_connections", "gauge", "Open client connections." },
        { "llmload_mock_connections_total", "counter", "Accepted connections." },
        { "llmload_mock_accept_errors_total", "counter", "Failed accepts (EMFILE and others)." },
        { "llmload_mock_client_aborts_total", "counter", "Requests the client abandoned." },
    };
    uint64_t vals[] = { k->tokens, k->prompt_tokens, k->events, s->active, s->queued,
                        s->cfg->slots, k->conns_open, k->conns_total, k->accept_errors,
                        k->client_aborts };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        mbuf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", scalars[i].name, scalars[i].help,
                    scalars[i].name, scalars[i].type, scalars[i].name,
                    (unsigned long long)vals[i]);
    if (b.failed) {
        mbuf_free(&b);
        mock_conn_abort(c, "out of memory");
        return;
    }
    mock_conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len, NULL);
    mbuf_free(&b);
}

static enum mock_route route_find(const struct mock_conn *c)
{
    size_t n = url_path_len(c);
    if (c->url_overflow && !memchr(c->url, '?', c->url_len))
        return MOCK_R_OTHER;
    for (int i = 0; i < MOCK_R_OTHER; i++)
        if (strlen(routes[i].path) == n && !memcmp(routes[i].path, c->url, n))
            return (enum mock_route)i;
    return MOCK_R_OTHER;
}

/* Answers one fully read request. */
static void mock_conn_dispatch(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    q->seq = s->seq++;
    q->route = route_find(c);
    s->cnt.requests[q->route]++;
    if (q->route == MOCK_R_OTHER) {
        mock_conn_error(c, 404, path_style(c) == MOCK_STYLE_TEXT ? "page not found"
                                                       : "the requested path does not exist", NULL);
        return;
    }
    unsigned m = c->method == HTTP_GET ? MOCK_M_GET : c->method == HTTP_HEAD ? MOCK_M_HEAD
               : c->method == HTTP_POST ? MOCK_M_POST : 0;
    if (!(routes[q->route].methods & m)) {
        char allow[64];
        snprintf(allow, sizeof allow, "Allow: %s\r\n", routes[q->route].allow);
        mock_conn_error(c, 405, "method not allowed", allow);
        return;
    }
    switch (q->route) {
    case MOCK_R_ROOT:
        mock_conn_respond(c, 200, "text/plain; charset=utf-8", "Ollama is running", 17, NULL);
        break;
    case MOCK_R_VERSION: {
        const char body[] = "{\"version\":\"" LLMLOAD_VERSION "\"}";
        mock_conn_respond(c, 200, "application/json; charset=utf-8", body, sizeof body - 1, NULL);
        break;
    }
    case MOCK_R_HEALTH:
        /* vLLM answers 200 with an empty body. */
        mock_conn_respond(c, 200, NULL, "", 0, NULL);
        break;
    case MOCK_R_TAGS:
    case MOCK_R_PS:
    case MOCK_R_MODELS:
        respond_models(c, q->route);
        break;
    case MOCK_R_METRICS:
        respond_metrics(c);
        break;
    default:
        gen_start(c);
        break;
    }
}

/* Answers a request that could not be parsed, then closes. */
static void mock_conn_bad_request(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    c->busy = 1;
    c->keep_alive = 0;
    c->head = 0;
    c->q.seq = s->seq++;
    c->q.recv_ns = uv_hrtime();
    c->q.route = c->url_len ? route_find(c) : MOCK_R_OTHER;
    s->cnt.requests[c->q.route]++;
    if (c->too_large)
        mock_conn_error(c, 413, "request body too large", NULL);
    else if (c->hdr_overflow)
        mock_conn_error(c, 431, "request headers too large", NULL);
    else
        mock_conn_error(c, 400, "malformed HTTP request", NULL);
}

/* Parses pending bytes and answers complete requests, one at a time. */
static void mock_conn_process(struct mock_conn *c)
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
            mtimer_stop(&c->srv->timers, &c->idle);
            mock_conn_dispatch(c);
            /* The body has been read into the plan; an open stream keeps
             * nothing but its struct. */
            free(c->body);
            c->body = NULL;
            c->body_len = c->body_cap = 0;
            continue;
        }
        c->pend_len = 0;
        c->chunked = 1;
        mock_conn_bad_request(c);
        break;
    }
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
    c->hdr_bytes += (uint32_t)(n > HEADER_BYTES_MAX ? HEADER_BYTES_MAX : n);
    if (c->hdr_bytes > HEADER_BYTES_MAX) {
        c->hdr_overflow = 1;
        return -1;
    }
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    struct mock_conn *c = p->data;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    free(c->id);
    c->id = NULL;
    c->id_len = 0;
    c->url_len = 0;
    c->hfield_len = 0;
    c->hwhich = MOCK_HDR_NONE;
    c->expect_len = 0;
    c->hdr_bytes = 0;
    c->url_overflow = c->too_large = c->hdr_overflow = 0;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct mock_conn *c = p->data;
    size_t room = URL_MAX - 1 - c->url_len;
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
            c->id = malloc(ID_MAX + 1);
            if (!c->id)
                return -1;
            c->id_len = 0;
        }
        size_t room = ID_MAX - c->id_len, k = n < room ? n : room;
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
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > s->cfg->max_body) {
        c->too_large = 1;
        return -1;
    }
    /* curl sends "Expect: 100-continue" for bodies over 1 KiB and waits a
     * second for this line; real servers send it at once. */
    if (c->expect_len == 12 && !strncasecmp(c->expect, "100-continue", 12) &&
        p->content_length > 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)mock_conn_write(c, cont, sizeof cont - 1);     /* a failure shows on the response */
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

static void mock_conn_on_bytes(struct mock_conn *c, ssize_t n, const char *data);

/* One stamped read (rxstamp_read_stream): the request's arrival is the
 * kernel's stamp of its bytes. */
static int mock_conn_stamped_bytes(void *ud, ssize_t n, const char *buf, uint64_t kernel_ns)
{
    struct mock_conn *c = ud;
    if (n > 0)
        c->rx_ns = kernel_ns;
    mock_conn_on_bytes(c, n, buf);
    return c->state != MOCK_CONN_CLOSED;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct mock_conn *c = st->data;
    if (n == UV_ENOBUFS && c->srv->rx_kernel) {
        rxstamp_read_stream(st, c->srv->rbuf, sizeof c->srv->rbuf, mock_conn_stamped_bytes, c);
        return;
    }
    if (n > 0)
        c->rx_ns = 0;
    mock_conn_on_bytes(c, n, buf->base);
}

static void mock_conn_on_bytes(struct mock_conn *c, ssize_t n, const char *data)
{
    struct mock_server *s = c->srv;
    if (n == 0 || c->state == MOCK_CONN_CLOSED)
        return;
    if (c->state == MOCK_CONN_LINGER) {
        if (n < 0) {
            c->peer_eof = 1;
            mock_conn_close_now(c);
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
            mock_conn_close_now(c);
        return;
    }
    c->last_active = uv_hrtime();
    size_t limit = s->cfg->max_body + HEADER_BYTES_MAX + 65536;
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
    mock_conn_process(c);
}

static struct mock_conn *mock_conn_get(struct mock_server *s)
{
    struct mock_conn *c = s->free_list;
    if (c)
        s->free_list = c->next;
    else if (!(c = malloc(sizeof *c)))
        return NULL;
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->tick.cb = gen_tick;
    c->idle.cb = on_idle;
    return c;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct mock_server *s = server->data;
    if (status < 0) {
        /* EMFILE and friends: count, keep serving the open connections. */
        s->cnt.accept_errors++;
        logv(s, "accept: %s", uv_strerror(status));
        return;
    }
    struct mock_conn *c = mock_conn_get(s);
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
    r = uv_accept(server, (uv_stream_t *)&c->tcp);
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
    llhttp_init(&c->parser, HTTP_REQUEST, &http_settings);
    c->parser.data = c;
    c->chunked = 1;
    if ((r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) < 0) {
        mock_conn_close_now(c);
        return;
    }
    idle_arm(c);
}

/* --- start and stop ------------------------------------------------------ */

static void server_stop(struct mock_server *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    logv(s, "stopping");
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    for (struct mock_conn *c = s->live, *n; c; c = n) {
        n = c->next;
        mock_conn_abort(c, "shutdown");
    }
    mtimers_close(&s->timers);
}

static void on_signal(uv_signal_t *h, int signum)
{
    server_stop(h->data);
}

static void raise_nofile(void)
{
    /* 10,000 streams need 10,000 descriptors; the soft limit is often 1024. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void free_conns(struct mock_server *s)
{
    while (s->free_list) {
        struct mock_conn *c = s->free_list;
        s->free_list = c->next;
        free(c);
    }
}

int mock_server_run(const struct mock_config *cfg)
{
    struct mock_server *s = calloc(1, sizeof *s);
    int r;
    struct sockaddr_storage ss;
    if (!s) {
        fprintf(stderr, "llmload mock: out of memory\n");
        return UV_ENOMEM;
    }
    s->cfg = cfg;
    s->rx_kernel = rxstamp_supported();
    s->rx_hold = s->rx_kernel ? rxstamp_hold() : -1;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);

    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    s->start_unix = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
    s->wall_offset = s->start_unix - (int64_t)uv_hrtime();

    if ((r = uv_loop_init(&s->loop)) < 0) {
        fprintf(stderr, "llmload mock: cannot start the event loop: %s\n", uv_strerror(r));
        rxstamp_release(s->rx_hold);
        free(s);
        return r;
    }
    if (cfg->truth_path) {
        s->truth = fopen(cfg->truth_path, "w");
        if (!s->truth) {
            r = -errno;
            fprintf(stderr, "llmload mock: --truth: cannot write '%s': %s\n", cfg->truth_path,
                    strerror(errno));
            goto out_loop;
        }
    }
    if (strchr(cfg->host, ':'))
        r = uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&ss);
    else
        r = uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&ss);
    if (r < 0) {
        fprintf(stderr, "llmload mock: --listen: '%s' is not a numeric IPv4/IPv6 address\n",
                cfg->host);
        goto out_truth;
    }
    if ((r = mtimers_init(&s->timers, &s->loop)) < 0) {
        fprintf(stderr, "llmload mock: cannot create the timer: %s\n", uv_strerror(r));
        goto out_truth;
    }
    /* These init calls cannot fail on Linux for a live loop, but their
     * handles must exist before server_stop closes them, so a failure is
     * still reported through the same path as bind/listen. */
    int r1 = uv_tcp_init(&s->loop, &s->listener);
    int r2 = uv_signal_init(&s->loop, &s->sigterm);
    int r3 = uv_signal_init(&s->loop, &s->sigint);
    if (r1 < 0 || r2 < 0 || r3 < 0) {
        fprintf(stderr, "llmload mock: cannot create libuv handles\n");
        r = r1 < 0 ? r1 : r2 < 0 ? r2 : r3;
        mtimers_close(&s->timers);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_truth;
    }
    s->listener.data = s;
    s->sigterm.data = s->sigint.data = s;
    r = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&s->listener, 4096, on_connection);
    if (r < 0) {
        fprintf(stderr, "llmload mock: cannot listen on %s port %d: %s\n", cfg->host, cfg->port,
                uv_strerror(r));
        server_stop(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_truth;
    }
    /* Handlers go in before the address is printed: whoever reads it may
     * signal at once. */
    int len = sizeof ss;
    char host[64];
    if ((r = uv_signal_start(&s->sigterm, on_signal, SIGTERM)) < 0 ||
        (r = uv_signal_start(&s->sigint, on_signal, SIGINT)) < 0 ||
        (r = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len)) < 0) {
        fprintf(stderr, "llmload mock: cannot start: %s\n", uv_strerror(r));
        server_stop(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_truth;
    }
    if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
        printf("http://[%s]:%d\n", host, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    } else {
        uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
        printf("http://%s:%d\n", host, ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    fflush(stdout);
    logv(s, "profile %s, %u slots, decode %g tok/s", cfg->profile, cfg->slots, cfg->decode_rate);

    uv_run(&s->loop, UV_RUN_DEFAULT);
    r = 0;
    logv(s, "%llu requests, %llu tokens", (unsigned long long)s->seq,
         (unsigned long long)s->cnt.tokens);

out_truth:
    if (s->truth && fclose(s->truth) != 0 && r == 0) {
        r = -errno;
        fprintf(stderr, "llmload mock: --truth: cannot write '%s': %s\n", cfg->truth_path,
                strerror(errno));
    }
out_loop:
    free_conns(s);
    mbuf_free(&s->out);
    mbuf_free(&s->ev);
    mbuf_free(&s->txt);
    if (uv_loop_close(&s->loop) != 0) {
        uv_run(&s->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&s->loop);
    }
    rxstamp_release(s->rx_hold);
    free(s);
    return r;
}
