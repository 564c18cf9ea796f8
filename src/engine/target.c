/* The server a run talks to: URL, address, protocol. */
#include "target.h"
#include "hostport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "tls.h"

const char *target_model_at(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *slash = strchr(p, '/');
    const char *at = strrchr(p, '@');
    return at && (!slash || at > slash) ? at : NULL;
}

int target_parse_url(struct target *t, const char *url, char *err, size_t errcap)
{
    memset(t, 0, sizeof *t);
    const char *p = url;
    if (!strncmp(p, "https://", 8)) {
        t->https = 1;
        p += 8;
    } else if (!strncmp(p, "http://", 7)) {
        p += 7;
    } else if (strstr(p, "://")) {
        snprintf(err, errcap, "--url %s: only http:// and https:// URLs are supported", url);
        return -1;
    }
    /* user:password@ would be sent nowhere and printed everywhere. */
    const char *at = memchr(p, '@', strcspn(p, "/?#"));
    if (at) {
        snprintf(err, errcap, "--url: credentials in the URL (user:password@host) are not supported; "
                 "use --api-key-file");
        return -1;
    }
    int port;
    switch (hostport_parse(p, t->hostname, sizeof t->hostname, &port, &p)) {
    case HOSTPORT_OK: break;
    case HOSTPORT_BRACKET:
        snprintf(err, errcap, "--url %s: unterminated [IPv6] address", url);
        return -1;
    case HOSTPORT_LONG: goto toolong;
    case HOSTPORT_EMPTY:
        snprintf(err, errcap, "--url %s: no host", url);
        return -1;
    default:
        snprintf(err, errcap, "--url %s: bad port", url);
        return -1;
    }
    t->port = port ? port : t->https ? 443 : 80;
    if (*p && *p != '/' && *p != '?') {
        if (port)
            snprintf(err, errcap, "--url %s: bad port", url);
        else
            snprintf(err, errcap, "--url %s: unexpected '%c' after the host", url, *p);
        return -1;
    }
    if (strlen(p) >= sizeof t->base_path)
        goto toolong;
    snprintf(t->base_path, sizeof t->base_path, "%s", p);
    /* Trailing slashes carry no meaning for a base URL. */
    size_t n = strlen(t->base_path);
    while (n > 0 && t->base_path[n - 1] == '/')
        t->base_path[--n] = 0;
    if (strchr(t->hostname, ':'))
        snprintf(t->host, sizeof t->host, "[%s]:%d", t->hostname, t->port);
    else
        snprintf(t->host, sizeof t->host, "%s:%d", t->hostname, t->port);
    return 0;
toolong:
    snprintf(err, errcap, "--url: too long");
    return -1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Request path from the base path and the API: a full endpoint is used as
 * it is; a base ending in /v1 (or /api) gets the endpoint's tail. */
static void target_set_path(struct target *t)
{
    const char *b = t->base_path;
    if (api_from_endpoint(b) != API_AUTO) {
        snprintf(t->path, sizeof t->path, "%s", b);
        return;
    }
    const char *ep = api_path(t->api);            /* "/v1/chat/completions", "/api/generate" */
    if (ends_with(b, "/v1") && !strncmp(ep, "/v1", 3))
        snprintf(t->path, sizeof t->path, "%.*s%s", (int)(strlen(b) - 3), b, ep);
    else if (ends_with(b, "/api") && !strncmp(ep, "/api", 4))
        snprintf(t->path, sizeof t->path, "%.*s%s", (int)(strlen(b) - 4), b, ep);
    else
        snprintf(t->path, sizeof t->path, "%s%s", b, ep);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int wait_fd(int fd, short ev, uint64_t deadline)
{
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd pfd = { .fd = fd, .events = ev };
        int ms = (int)((deadline - now + 999999) / 1000000);
        int rc = poll(&pfd, 1, ms);
        if (rc > 0)
            return 0;
        if (rc == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* Non-blocking connect with a deadline.  Returns the fd or -errno. */
static int connect_deadline(const struct target *t, uint64_t deadline)
{
    int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (const struct sockaddr *)&t->addr, t->addrlen);
    if (rc < 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if (rc < 0) {
        rc = wait_fd(fd, POLLOUT, deadline);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
            rc = -soerr;
        if (rc < 0) {
            close(fd);
            return rc;
        }
    }
    return fd;
}

/* The socket of a blocking exchange, through TLS for an https target
 * (the same sessions as the engine's, driven by poll instead of libuv). */
struct xio {
    int fd;
    uint64_t deadline;
    struct tls_ctx *ctx;        /* NULL: plain */
    struct tls_sess s;
    char err[160];              /* why a call returned < 0, when TLS says */
};

static int xio_flush(struct xio *x)
{
    const char *p;
    size_t n;
    while ((n = tls_take(&x->s, &p)) > 0) {
        for (size_t off = 0; off < n;) {
            ssize_t w = send(x->fd, p + off, n - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EAGAIN) {
                int rc = wait_fd(x->fd, POLLOUT, x->deadline);
                if (rc < 0)
                    return rc;
                continue;
            }
            if (w < 0)
                return -errno;
            off += (size_t)w;
        }
    }
    return 0;
}

/* Ciphertext from the socket into the session: 0, or -errno (-EPIPE at
 * the end of the stream). */
static int xio_fill(struct xio *x)
{
    char buf[8192];
    for (;;) {
        int rc = wait_fd(x->fd, POLLIN, x->deadline);
        if (rc < 0)
            return rc;
        ssize_t r = recv(x->fd, buf, sizeof buf, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EPIPE;
        return tls_feed(&x->s, buf, (size_t)r) < 0 ? -EPROTO : 0;
    }
}

/* Connected: the TLS handshake when there is one.  0 or -errno. */
static int xio_open(struct xio *x, const struct target *t)
{
    if (!t->https)
        return 0;
    if (!(x->ctx = tls_ctx_new(t->tls, x->err, sizeof x->err)) ||
        tls_start(&x->s, x->ctx, t->hostname) < 0)
        return -EPROTO;
    for (;;) {
        int r = tls_handshake(&x->s), rc = xio_flush(x);
        if (r == TLS_ERR || r == TLS_EOF) {
            snprintf(x->err, sizeof x->err, "%s", r == TLS_ERR ? x->s.err : "TLS handshake failed: closed");
            return -EPROTO;
        }
        if (rc < 0)
            return rc;
        if (r == TLS_OK)
            return 0;
        if ((rc = xio_fill(x)) < 0) {
            if (rc == -EPIPE)
                snprintf(x->err, sizeof x->err, "TLS handshake failed: the server closed the connection");
            return rc == -EPIPE ? -EPROTO : rc;
        }
    }
}

static int xio_send(struct xio *x, const char *p, size_t n)
{
    if (!x->ctx)
        return send(x->fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -EIO;
    return tls_write(&x->s, p, n) < 0 ? -EIO : xio_flush(x);
}

/* Bytes, 0 at the end of the stream, or -errno. */
static ssize_t xio_recv(struct xio *x, char *buf, size_t cap)
{
    if (!x->ctx) {
        for (;;) {
            int w = wait_fd(x->fd, POLLIN, x->deadline);
            if (w < 0)
                return w;
            ssize_t r = recv(x->fd, buf, cap, 0);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            return r < 0 ? -errno : r;
        }
    }
    for (;;) {
        ssize_t k = tls_read(&x->s, buf, cap);
        if (k > 0)
            return k;
        if (k == TLS_EOF)
            return 0;
        if (k == TLS_ERR) {
            snprintf(x->err, sizeof x->err, "%s", x->s.err);
            return -EPROTO;
        }
        int rc = xio_fill(x);
        if (rc == -EPIPE)
            return 0;
        if (rc < 0)
            return rc;
    }
}

static void xio_close(struct xio *x)
{
    tls_sess_free(&x->s);
    tls_ctx_free(x->ctx);
    close(x->fd);
}

static const char *xio_why(const struct xio *x, int rc)
{
    return x->err[0] ? x->err : strerror(-rc);
}

struct get_state {
    char *body; size_t cap, len;
    int done;
};

static int get_on_body(llhttp_t *p, const char *at, size_t n)
{
    struct get_state *g = p->data;
    size_t room = g->cap - 1 - g->len;
    size_t k = n < room ? n : room;
    memcpy(g->body + g->len, at, k);
    g->len += k;
    g->body[g->len] = 0;
    return 0;
}

static int get_on_complete(llhttp_t *p)
{
    ((struct get_state *)p->data)->done = 1;
    return 0;
}

int target_request_head(const struct target *t, const char *method, const char *path, const char *accept,
                        int json_body, char *buf, size_t cap)
{
    const struct headers *hs = t->headers;
    int fwd = t->via == PROXY_FORWARD;
    const char *pauth = fwd ? t->proxy.auth : "";
    int n = snprintf(buf, cap, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%s%s%s%s%s%s%s%s%s",
                     method, fwd ? "http://" : "", fwd ? t->host : "", path, t->host,
                     headers_has(hs, "User-Agent") ? "" : "User-Agent: llmload/" LLMLOAD_VERSION "\r\n",
                     headers_has(hs, "Accept") ? "" : "Accept: ",
                     headers_has(hs, "Accept") ? "" : accept,
                     headers_has(hs, "Accept") ? "" : "\r\n",
                     json_body && !headers_has(hs, "Content-Type") ? "Content-Type: application/json\r\n" : "",
                     headers_has(hs, "Accept-Encoding") ? "" : "Accept-Encoding: identity\r\n",
                     t->api_key ? "Authorization: Bearer " : "", t->api_key ? t->api_key : "",
                     t->api_key ? "\r\n" : "",
                     *pauth ? "Proxy-Authorization: " : "", pauth, *pauth ? "\r\n" : "",
                     hs ? hs->lines : "");
    return n >= 0 && (size_t)n < cap ? n : -1;
}

const char *target_proxy_shown(const char *url, const char *given, char *buf, size_t cap)
{
    struct target t;
    struct proxy p;
    char err[256];
    const char *src, *purl;
    if (target_parse_url(&t, url, err, sizeof err) < 0 ||
        !(purl = proxy_pick(given, t.https, t.hostname, &src)) ||
        proxy_parse_url(&p, purl, src, err, sizeof err) < 0)
        return NULL;
    snprintf(buf, cap, "%s", p.shown);
    return buf;
}

/* CONNECT on fd, blocking: 0 once the tunnel is open, -1 with err. */
static int tunnel_open(const struct target *t, int fd, uint64_t deadline, char *err, size_t errcap)
{
    char req[PROXY_URL_MAX * 2 + 600], buf[4096];
    size_t n = proxy_connect_request(&t->proxy, t->host, req, sizeof req);
    if (!n || send(fd, req, n, MSG_NOSIGNAL) != (ssize_t)n) {
        snprintf(err, errcap, "proxy %s: cannot send CONNECT", t->proxy.hostport);
        return -1;
    }
    struct proxy_reply r;
    proxy_reply_init(&r);
    for (;;) {
        int w = wait_fd(fd, POLLIN, deadline);
        ssize_t got = w < 0 ? w : recv(fd, buf, sizeof buf, 0);
        if (got < 0 && errno == EINTR && w == 0)
            continue;
        if (got <= 0) {
            snprintf(err, errcap, "proxy %s: no reply to CONNECT %s (%s)", t->proxy.hostport, t->host,
                     got == 0 ? "connection closed" : strerror(w < 0 ? -w : errno));
            return -1;
        }
        size_t used;
        int rc = proxy_reply_feed(&r, buf, (size_t)got, &used);
        if (rc < 0) {
            snprintf(err, errcap, "proxy %s: its reply to CONNECT is not HTTP", t->proxy.hostport);
            return -1;
        }
        if (rc == 0)
            continue;
        if (r.status / 100 != 2) {
            proxy_refusal(&t->proxy, t->host, r.status, err, errcap);
            return -1;
        }
        if (used < (size_t)got) {
            snprintf(err, errcap, "proxy %s: bytes after its reply to CONNECT", t->proxy.hostport);
            return -1;
        }
        return 0;
    }
}

/* One request on a fresh connection (Connection: close) and its whole
 * reply: the blocking exchange under target_http_get and _post. */
static int http_exchange(const struct target *t, const char *method, const char *path,
                         const char *accept, const char *req_body, size_t req_len,
                         uint64_t timeout_ns, int *status, char *body, size_t cap,
                         char *err, size_t errcap)
{
    static const llhttp_settings_t settings = {
        .on_body = get_on_body, .on_message_complete = get_on_complete,
    };
    struct xio x = { .deadline = now_ns() + timeout_ns };
    x.fd = connect_deadline(t, x.deadline);
    if (x.fd < 0) {
        snprintf(err, errcap, "cannot connect to %s%s (%s): %s", t->via ? "proxy " : "",
                 t->via ? t->proxy.hostport : t->host, t->addr_text, strerror(-x.fd));
        return -1;
    }
    char req[HEADERS_BYTES + 3 * 1024];
    int rc = -1;
    /* Through a tunnel, TLS starts once the proxy has opened it. */
    if (t->via == PROXY_TUNNEL && tunnel_open(t, x.fd, x.deadline, err, errcap) < 0)
        goto out;
    int tr = xio_open(&x, t);
    if (tr < 0) {
        snprintf(err, errcap, "%s (%s): %s", t->host, t->addr_text, xio_why(&x, tr));
        goto out;
    }
    int n = target_request_head(t, method, path, accept, req_body != NULL, req, sizeof req);
    int m = n < 0 ? -1 : req_body ? snprintf(req + n, sizeof req - (size_t)n, "Content-Length: %zu\r\n"
                                             "Connection: close\r\n\r\n", req_len)
                                  : snprintf(req + n, sizeof req - (size_t)n, "Connection: close\r\n\r\n");
    if (m < 0 || (size_t)(n + m) >= sizeof req || xio_send(&x, req, (size_t)(n + m)) < 0 ||
        (req_body && xio_send(&x, req_body, req_len) < 0)) {
        snprintf(err, errcap, "%s %s on %s: cannot send the request", method, path, t->host);
        goto out;
    }
    struct get_state g = { .body = body, .cap = cap };
    body[0] = 0;
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &settings);
    parser.data = &g;
    char buf[8192];
    while (!g.done) {
        ssize_t r = xio_recv(&x, buf, sizeof buf);
        if (r < 0) {
            snprintf(err, errcap, "%s %s on %s: %s", method, path, t->host, xio_why(&x, (int)r));
            goto out;
        }
        if (r == 0) {
            llhttp_finish(&parser);
            if (!g.done) {
                snprintf(err, errcap, "%s %s on %s: connection closed before the reply was complete",
                         method, path, t->host);
                goto out;
            }
            break;
        }
        llhttp_errno_t e = llhttp_execute(&parser, buf, (size_t)r);
        if (e != HPE_OK) {
            snprintf(err, errcap, "%s %s on %s: bad HTTP reply (%s)", method, path, t->host,
                     llhttp_get_error_reason(&parser));
            goto out;
        }
    }
    *status = parser.status_code;
    if (t->via == PROXY_FORWARD && *status == 407) {
        proxy_refusal(&t->proxy, t->host, 407, err, errcap);
        goto out;
    }
    rc = 0;
out:
    xio_close(&x);
    return rc;
}

int target_http_get(const struct target *t, const char *path, uint64_t timeout_ns,
                    int *status, char *body, size_t cap, char *err, size_t errcap)
{
    return http_exchange(t, "GET", path, "application/json", NULL, 0, timeout_ns, status, body, cap,
                         err, errcap);
}

int target_http_post(const struct target *t, const char *path, const char *req_body, size_t req_len,
                     uint64_t timeout_ns, int *status, char *body, size_t cap, char *err, size_t errcap)
{
    const char *accept = api_accept(t->api);
    return http_exchange(t, "POST", path, accept ? accept : "application/json", req_body, req_len,
                         timeout_ns, status, body, cap, err, errcap);
}

/* One handshake and nothing over it (target_net.tls_hello): whether the
 * server's certificate passes, and the version, apart from any request.
 * 0, or -2 with err (t->tls_fail says when TLS itself refused). */
static int target_tls_hello(struct target *t, uint64_t timeout_ns, char *err, size_t errcap)
{
    struct xio x = { .deadline = now_ns() + timeout_ns };
    int rc = -2;
    x.fd = connect_deadline(t, x.deadline);
    if (x.fd < 0) {
        snprintf(err, errcap, "cannot connect to %s%s (%s): %s", t->via ? "proxy " : "",
                 t->via ? t->proxy.hostport : t->host, t->addr_text, strerror(-x.fd));
        return rc;
    }
    if (t->via == PROXY_TUNNEL && tunnel_open(t, x.fd, x.deadline, err, errcap) < 0)
        goto out;
    int tr = xio_open(&x, t);
    if (tr < 0) {
        /* A close mid-handshake leaves no class of its own: a handshake failure. */
        if (tr == -EPROTO)
            t->tls_fail = x.s.fail ? (int)x.s.fail : TLS_FAIL_HANDSHAKE;
        snprintf(err, errcap, "%s (%s): %s", t->host, t->addr_text, xio_why(&x, tr));
        goto out;
    }
    /* A server that asked for a client certificate says whether it took
     * it after the client's side of the handshake (TLS 1.3): its next
     * record, a session ticket or the refusal, is awaited a moment. */
    if (x.s.cert_asked) {
        uint64_t soon = now_ns() + 1000000000ull;
        x.deadline = soon < x.deadline ? soon : x.deadline;
        char b[256];
        while (!x.s.saved) {
            ssize_t k = tls_read(&x.s, b, sizeof b);
            if (k == TLS_ERR) {
                t->tls_fail = x.s.fail;
                snprintf(err, errcap, "%s (%s): %s", t->host, t->addr_text, x.s.err);
                goto out;
            }
            if (k != TLS_WANT || xio_fill(&x) < 0)
                break;   /* data, a close, or silence: not refused */
        }
    }
    snprintf(t->tls_version, sizeof t->tls_version, "%s", tls_version(&x.s));
    rc = 0;
out:
    xio_close(&x);
    return rc;
}

/* --api auto: from the URL when it says, else ask the server. */
static int target_infer_api(struct target *t, uint64_t timeout_ns, char *err, size_t errcap)
{
    enum api_kind k = api_from_endpoint(t->base_path);
    if (k != API_AUTO) {
        t->api = k;
        return 0;
    }
    if (strstr(t->base_path, "/v1")) {
        t->api = API_OPENAI_CHAT;
        return 0;
    }
    if (t->port == 11434 || !strncmp(t->base_path, "/api", 4)) {
        t->api = API_OLLAMA_GENERATE;
        return 0;
    }
    char body[2048], e1[256];
    int status = 0;
    if (target_http_get(t, "/api/version", timeout_ns, &status, body, sizeof body, e1, sizeof e1) < 0) {
        snprintf(err, errcap, "%s", e1);
        return -2;
    }
    if (status == 200 && strstr(body, "\"version\"")) {
        t->api = API_OLLAMA_GENERATE;
        return 0;
    }
    /* A server that refuses without a key is still an OpenAI server:
     * `check` says "unauthorized", not "cannot tell". */
    if (target_http_get(t, "/v1/models", timeout_ns, &status, body, sizeof body, e1, sizeof e1) == 0 &&
        (status == 200 || status == 401 || status == 403)) {
        t->api = API_OPENAI_CHAT;
        return 0;
    }
    snprintf(err, errcap, "cannot tell the protocol of %s: neither GET /api/version nor GET /v1/models "
             "answered; pass --api", t->host);
    return -2;
}

int target_resolve(struct target *t, const char *url, enum api_kind api,
                   uint64_t timeout_ns, char *err, size_t errcap)
{
    return target_resolve_key(t, url, api, NULL, timeout_ns, err, errcap);
}

int target_resolve_key(struct target *t, const char *url, enum api_kind api, const char *api_key,
                       uint64_t timeout_ns, char *err, size_t errcap)
{
    struct target_net net = { .api_key = api_key, .proxy = "" };
    return target_resolve_net(t, url, api, &net, timeout_ns, err, errcap);
}

int target_resolve_net(struct target *t, const char *url, enum api_kind api, const struct target_net *net,
                       uint64_t timeout_ns, char *err, size_t errcap)
{
    if (target_parse_url(t, url, err, errcap) < 0)
        return -1;
    static const struct target_net direct = { .proxy = "" };
    if (!net)
        net = &direct;
    t->api_key = net->api_key;
    t->headers = net->headers;
    t->tls = net->tls;
    /* An https:// target always tunnels (the proxy never sees inside the
     * TLS), and reads HTTPS_PROXY. */
    int https = t->https;
    const char *purl = proxy_pick(net->proxy, https, t->hostname, &t->proxy_source);
    if (purl) {
        if (proxy_parse_url(&t->proxy, purl, t->proxy_source, err, errcap) < 0)
            return -1;
        t->via = https || net->proxy_tunnel ? PROXY_TUNNEL : PROXY_FORWARD;
    }
    /* Through a proxy, the proxy's name is what is resolved and connected
     * to; the target's is the proxy's to resolve. */
    const char *rhost = t->via ? t->proxy.host : t->hostname;
    int rport = t->via ? t->proxy.port : t->port;
    if (!timeout_ns)
        timeout_ns = 10000000000ull;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", rport);
    /* uv_getaddrinfo without a callback resolves synchronously: the run's
     * loop does not exist yet, and nothing else is waiting. */
    uv_loop_t loop;
    uv_getaddrinfo_t req;
    int rc = uv_loop_init(&loop);
    if (rc == 0) {
        rc = uv_getaddrinfo(&loop, &req, NULL, rhost, port, &hints);
        res = rc == 0 ? req.addrinfo : NULL;
        uv_loop_close(&loop);
    }
    if (rc != 0 || !res) {
        snprintf(err, errcap, "cannot resolve %s%s: %s", t->via ? "proxy " : "", rhost,
                 rc ? uv_strerror(rc) : "no address");
        uv_freeaddrinfo(res);
        return -2;
    }
    /* Take the first address that accepts a connection. */
    int lasterr = ECONNREFUSED;
    int ok = 0;
    for (struct addrinfo *a = res; a && !ok; a = a->ai_next) {
        memcpy(&t->addr, a->ai_addr, a->ai_addrlen);
        t->addrlen = a->ai_addrlen;
        void *ip = a->ai_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
                                            : (void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
        char ipbuf[INET6_ADDRSTRLEN];
        inet_ntop(a->ai_family, ip, ipbuf, sizeof ipbuf);
        snprintf(t->addr_text, sizeof t->addr_text, a->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ipbuf, rport);
        int fd = connect_deadline(t, now_ns() + timeout_ns);
        if (fd >= 0) {
            close(fd);
            ok = 1;
        } else {
            lasterr = -fd;
        }
    }
    uv_freeaddrinfo(res);
    if (!ok) {
        snprintf(err, errcap, "cannot connect to %s%s (%s): %s", t->via ? "proxy " : "",
                 t->via ? t->proxy.hostport : t->host, t->addr_text, strerror(lasterr));
        return -2;
    }
    if (t->https && net->tls_hello && (rc = target_tls_hello(t, timeout_ns, err, errcap)) < 0)
        return rc;
    if (api != API_AUTO)
        t->api = api;
    else if ((rc = target_infer_api(t, timeout_ns, err, errcap)) < 0)
        return rc;
    target_set_path(t);
    return 0;
}
