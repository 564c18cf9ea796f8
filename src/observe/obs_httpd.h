#ifndef LLMLOAD_OBS_HTTPD_H
#define LLMLOAD_OBS_HTTPD_H
/* A small HTTP/1.1 server on a libuv loop, shared by the run's /metrics
 * (obs_http.c) and the dashboard (serve/): llhttp in request mode, one
 * request per connection (Connection: close), a bounded number of
 * connections (more are closed at once), a deadline on reading the
 * request, bounded heads and bodies (431, 413; 400 when malformed).
 *
 * A connection either gets one answer (obs_hrespond) or becomes an SSE
 * stream (obs_hsse_begin) that stays open until the peer leaves or the
 * server stops; streams are what obs_hsse_broadcast writes to. */
#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

struct obs_httpd_cfg {
    unsigned max_conns;
    size_t max_head;                /* bytes of request line and headers */
    size_t max_body;                /* 0: a body is refused (413) */
    unsigned timeout_ms;            /* from accept to the end of the request */
    int unref;                      /* its handles never keep the loop alive */
};

/* What the handler sees of a request.  Header values are cut at their
 * buffer (a longer one cannot match what they are compared with). */
struct obs_hreq {
    int method;                     /* llhttp's HTTP_GET, HTTP_POST, ... */
    char path[512];                 /* without the query */
    char query[512];
    char host[256];
    char origin[256];
    char cookie[1024];
    char authz[512];
    char accept[256];
    const char *body;               /* NUL-terminated; "" when none */
    size_t body_len;
};

struct obs_httpd;
struct obs_hconn;

/* Called once per complete request; it must answer (or begin a stream). */
typedef void (*obs_hhandler_fn)(void *ud, struct obs_hconn *c, const struct obs_hreq *r);

/* Listens on ss; NULL with err ("cannot listen: why") when it cannot. */
struct obs_httpd *obs_httpd_start(uv_loop_t *loop, const struct sockaddr_storage *ss,
                                  const struct obs_httpd_cfg *cfg, obs_hhandler_fn fn, void *ud,
                                  char *err, size_t errcap);
int obs_httpd_port(const struct obs_httpd *h);

/* The one answer of c (no body to HEAD; len is its Content-Length either
 * way); extra is more header lines, each ending in \r\n. */
void obs_hrespond(struct obs_hconn *c, int status, const char *ctype, const char *extra,
                  const char *body, size_t len);
/* A text/plain answer. */
void obs_hrespond_text(struct obs_hconn *c, int status, const char *extra, const char *text);

/* Makes c an event stream (200, text/event-stream); it receives every
 * later broadcast. */
void obs_hsse_begin(struct obs_hconn *c);
/* "event: EVENT\ndata: DATA\n\n" to every stream (data holds no newline).
 * A stream with more than OBS_HSSE_MAX_QUEUE bytes still unsent is closed. */
#define OBS_HSSE_MAX_QUEUE (1u << 20)
void obs_hsse_broadcast(struct obs_httpd *h, const char *event, const char *data);
unsigned obs_httpd_streams(const struct obs_httpd *h);

/* Closes the listener and every connection; the struct is freed once their
 * handles have closed, so the loop must run again.  NULL is a no-op. */
void obs_httpd_stop(struct obs_httpd *h);

/* Reason phrase of an HTTP status. */
const char *obs_http_reason(int status);

#endif
