#ifndef LLMLOAD_OBS_NET_H
#define LLMLOAD_OBS_NET_H
/* The little HTTP the observability needs beside the engine's: addresses
 * and URLs of a Pushgateway or a server's /metrics, and one request with
 * its whole answer (a push, a scrape) on a libuv loop.
 *
 * Names are resolved once, when a URL is parsed (before the run, with
 * getaddrinfo), never on the loop.  Only plain http: a Pushgateway behind
 * TLS needs a proxy. */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

struct obs_url {
    char host[256];                 /* as written, without brackets */
    char port[8];
    char path[1024];                /* "" or "/..." without the query */
    struct sockaddr_storage addr;   /* resolved */
};

/* Parses and resolves "http://HOST[:PORT][/PATH]" (HOST a name, an IPv4
 * address or [IPv6]).  A trailing '/' of the path is dropped.  0, or -1
 * with a one-line err naming the URL. */
int obs_url_parse(const char *url, struct obs_url *u, char *err, size_t errcap);

/* A listening address "HOST:PORT", "[V6]:PORT" or ":PORT" (every
 * interface).  0, or -1 with err. */
int obs_listen_addr(const char *s, struct sockaddr_storage *ss, char *err, size_t errcap);

/* One request, Connection: close, and its response read to the end. */
struct obs_fetch;

/* The outcome: err NULL and the HTTP status with the body (not
 * NUL-terminated; valid only during the call), or err saying what failed
 * (connect, timeout, a malformed or too large answer). */
typedef void (*obs_fetch_cb)(void *ud, int status, const char *body, size_t len,
                             const char *err);

struct obs_fetch_req {
    const struct obs_url *url;
    const char *method;             /* "GET", "PUT", "POST" */
    const char *path;               /* NULL: the URL's path */
    const char *ctype;              /* NULL: no body */
    const char *body;
    size_t len;
    uint64_t timeout_ms;            /* the whole exchange */
    size_t max_body;                /* a longer answer is an error */
};

/* Starts the exchange on loop; cb is called once, from the loop, unless
 * the fetch is cancelled first.  Its handles are unreferenced: a fetch does
 * not keep the loop alive.  NULL when out of memory (cb is not called). */
struct obs_fetch *obs_fetch_start(uv_loop_t *loop, const struct obs_fetch_req *rq,
                                  obs_fetch_cb cb, void *ud);
/* Drops the exchange without calling its callback; its handles close on
 * the loop's next turn. */
void obs_fetch_cancel(struct obs_fetch *f);

/* The same exchange run to its end on a private loop (blocking; for the
 * final push after the run's loop has ended).  0 with *status and the body
 * (malloc'd, NUL-terminated; may be NULL when not wanted), or -1 with err. */
int obs_fetch_sync(const struct obs_fetch_req *rq, int *status, char **body, size_t *len,
                   char *err, size_t errcap);

#endif
