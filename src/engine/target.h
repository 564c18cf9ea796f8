#ifndef LLMLOAD_TARGET_H
#define LLMLOAD_TARGET_H
/* The server a run talks to: URL parsing, name resolution, protocol
 * inference (--api auto), and a small blocking HTTP GET used before the
 * run (probes, `llmload check`), when no event loop is running yet. */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "api.h"
#include "headers.h"
#include "proxy.h"

struct tls_opts;

struct target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char hostname[256];          /* as in the URL, without brackets */
    int port;
    char host[300];              /* Host header value */
    char base_path[512];         /* path of the URL as given ("" for none) */
    char path[512];              /* request path for the chosen API */
    char addr_text[80];          /* resolved address, for messages */
    enum api_kind api;
    const char *api_key;         /* sent as Authorization: Bearer; NULL none */
    int https;                   /* https://: the exchanges go through TLS */
    const struct tls_opts *tls;  /* their trust and client certificate; NULL the defaults */
    /* https, after target_resolve_net with net->tls_hello: the handshake's
     * outcome (`check` reports it). */
    char tls_version[16];        /* "TLSv1.3"; "" when none completed */
    int tls_fail;                /* enum tls_fail (tls.h) of a refused handshake; 0 none */
    const struct headers *headers;   /* the user's, on every request; NULL none */
    /* The proxy on the way (via PROXY_NONE: none): addr is then the
     * proxy's, and proxy_source says where its URL came from. */
    enum proxy_mode via;
    struct proxy proxy;
    const char *proxy_source;
};

/* How requests reach a target, besides its URL: the key, the user's
 * headers, the proxy. */
struct target_net {
    const char *api_key;             /* NULL: none */
    const struct headers *headers;   /* NULL: none */
    const char *proxy;               /* --proxy: NULL from the environment, "" none */
    int proxy_tunnel;                /* CONNECT even for an http:// target */
    const struct tls_opts *tls;      /* https: --cacert, --insecure, --cert; NULL the
                                        defaults; must outlive the target */
    int tls_hello;                   /* https: one TLS handshake right after the
                                        connect check, its failure the resolve's */
};

/* Splits http[s]://host[:port][/path] (port 80, or 443 for https).  -1 with
 * a one-line err on a bad URL (credentials in the URL are refused, and the
 * message does not repeat them). */
int target_parse_url(struct target *t, const char *url, char *err, size_t errcap);

/* Where "URL@MODEL" (compare's and serve's --target) splits: the last '@'
 * after the start of the URL's path, or, when it has no path, the last '@'
 * after "://".  An '@' of userinfo ("user:pw@host/v1") is before the path,
 * so it stays in the URL (which then refuses credentials); a model name
 * cannot hold an '@'.  NULL: no model given. */
const char *target_model_at(const char *url);

/* Parses, resolves (IPv4/IPv6), checks the server accepts connections
 * (within timeout_ns), and settles the API: explicit `api`, else inferred
 * from the URL (a /v1 path means OpenAI; port 11434 or an /api path means
 * Ollama), else probed with GET /api/version then GET /v1/models.  Returns
 * 0, -1 for a usage problem (bad URL), or -2 when the server cannot be
 * reached or identified; err says which in one line. */
int target_resolve(struct target *t, const char *url, enum api_kind api,
                   uint64_t timeout_ns, char *err, size_t errcap);
/* The same for a server that wants a key: the probes send api_key (NULL:
 * none), and an OpenAI server that refuses them (401, 403) is still known
 * as OpenAI. */
int target_resolve_key(struct target *t, const char *url, enum api_kind api, const char *api_key,
                       uint64_t timeout_ns, char *err, size_t errcap);
/* The same with the user's headers and proxy (net NULL: none, no proxy):
 * through a proxy it is the proxy that must accept connections, and every
 * probe goes through it. */
int target_resolve_net(struct target *t, const char *url, enum api_kind api, const struct target_net *net,
                       uint64_t timeout_ns, char *err, size_t errcap);

/* The proxy a run on url goes through (given: --proxy, as in target_net),
 * as reports show it (credentials masked) in buf; NULL for none. */
const char *target_proxy_shown(const char *url, const char *given, char *buf, size_t cap);

/* The head of a request to the target, up to the end of the user's
 * headers: request line (the whole URL through a forward proxy), Host,
 * llmload's default headers unless the user gave them (User-Agent, Accept,
 * Content-Type when json_body, Accept-Encoding: identity), the key, the
 * proxy's credentials (forward proxy), the user's headers.  The caller
 * adds its own last lines and the blank line.  The length, or -1 when it
 * does not fit in cap. */
int target_request_head(const struct target *t, const char *method, const char *path, const char *accept,
                        int json_body, char *buf, size_t cap);

/* Blocking GET of path on the resolved target, Connection: close, with
 * t->api_key when set.  Fills status and up to cap-1 bytes of de-chunked
 * body (NUL-terminated).
 * 0, or -1 with err set (connect/read failure, timeout, bad reply). */
int target_http_get(const struct target *t, const char *path, uint64_t timeout_ns,
                    int *status, char *body, size_t cap, char *err, size_t errcap);
/* The same as a POST of a JSON body, accepting the API's stream framing
 * (a generation's whole reply, for `check`). */
int target_http_post(const struct target *t, const char *path, const char *req_body, size_t req_len,
                     uint64_t timeout_ns, int *status, char *body, size_t cap, char *err, size_t errcap);

#endif
