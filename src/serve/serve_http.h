#ifndef LLMLOAD_SERVE_HTTP_H
#define LLMLOAD_SERVE_HTTP_H
/* The dashboard's HTTP/1.1 listener: llhttp in request mode, one request
 * per connection (Connection: close), a bounded number of connections, a
 * deadline on reading the request, bodies up to SERVE_HTTP_MAX_BODY.
 *
 * A connection either gets one answer (serve_respond) or becomes an SSE
 * stream (serve_sse_begin) that stays open until the peer leaves or the
 * server stops; streams are what serve_sse_broadcast writes to. */
#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

#define SERVE_HTTP_MAX_CONNS 64
#define SERVE_HTTP_MAX_HEAD 16384      /* request line and headers */
#define SERVE_HTTP_MAX_BODY 65536
#define SERVE_HTTP_TIMEOUT_MS 10000    /* accept to the end of the request */

/* What the router sees of a request.  Header values are cut at their
 * buffer (a longer one cannot match what they are compared with). */
struct serve_req {
    int method;                     /* llhttp's HTTP_GET, HTTP_POST, ... */
    char path[512];                 /* without the query */
    char query[512];
    char host[256];
    char origin[256];
    char cookie[1024];
    char authz[512];
    const char *body;               /* NUL-terminated; "" when none */
    size_t body_len;
};

struct serve_http;
struct serve_conn;

typedef void (*serve_handler_fn)(void *ud, struct serve_conn *c, const struct serve_req *r);

/* Listens on ss; NULL with err when it cannot. */
struct serve_http *serve_http_start(uv_loop_t *loop, const struct sockaddr_storage *ss,
                                    serve_handler_fn fn, void *ud, char *err, size_t errcap);
int serve_http_port(const struct serve_http *h);

/* The one answer of c; extra is more header lines, each ending in \r\n. */
void serve_respond(struct serve_conn *c, int status, const char *ctype, const char *extra,
                   const char *body, size_t len);
/* A JSON answer {"error":msg} with status. */
void serve_respond_error(struct serve_conn *c, int status, const char *msg);

/* Makes c an event stream (200, text/event-stream); it receives every
 * later broadcast. */
void serve_sse_begin(struct serve_conn *c);
/* "event: EVENT\ndata: DATA\n\n" to every stream (data holds no newline). */
void serve_sse_broadcast(struct serve_http *h, const char *event, const char *data);
unsigned serve_http_streams(const struct serve_http *h);

/* Closes the listener and every connection; freed once their handles
 * have closed (the loop must run again). */
void serve_http_stop(struct serve_http *h);

/* Reason phrase of an HTTP status. */
const char *serve_http_reason(int status);

#endif
