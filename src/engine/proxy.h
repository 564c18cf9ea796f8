#ifndef LLMLOAD_PROXY_H
#define LLMLOAD_PROXY_H
/* Forward proxies: which one a target goes through (--proxy, the
 * environment's HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY with curl's
 * conventions), its URL, and the CONNECT exchange that opens a tunnel
 * through it.
 *
 * Nothing here prints a proxy's credentials: errors about a proxy URL do
 * not quote it, and struct proxy keeps a copy of the URL with the userinfo
 * masked for reports.  The credentials are registered as secrets
 * (secret.h) when the URL is parsed.
 *
 * The reply parser is incremental and never allocates: a reply split
 * anywhere gives the same outcome (tests/unit/test_proxy.c feeds it byte by
 * byte). */
#include <stddef.h>
#include <llhttp.h>

/* How a target is reached: directly, through a forward proxy (http://
 * targets: the request names the whole URL, "absolute form"), or through a
 * CONNECT tunnel (https:// targets, and http:// ones with --proxy-tunnel). */
enum proxy_mode { PROXY_NONE = 0, PROXY_FORWARD, PROXY_TUNNEL };

#define PROXY_URL_MAX 512

struct proxy {
    char host[256];               /* without brackets */
    int port;                     /* 1080 when the URL names none, as curl */
    char hostport[300];           /* host:port ([v6]:port), for messages */
    char auth[PROXY_URL_MAX + 16]; /* "Basic <base64 user:password>", "" for none */
    char shown[PROXY_URL_MAX + 8]; /* the URL as reports show it: userinfo as *** */
};

/* Parses [http://][user[:password]@]host[:port][/].  The userinfo is
 * percent-decoded and becomes auth; password, user:password and auth are
 * registered as secrets.  what names the URL's source in errors (--proxy,
 * HTTPS_PROXY), which never quote the URL.  0, or -1 with err. */
int proxy_parse_url(struct proxy *p, const char *url, const char *what, char *err, size_t errcap);

/* Whether host (as in the target's URL, without brackets) is exempt from
 * proxying by the NO_PROXY list np: entries separated by commas or blanks,
 * each "*" (every host), a name (that host and every host under it; a
 * leading dot is ignored), an IP address, or an IP network in CIDR form
 * (10.0.0.0/8, fd00::/8).  Names compare case-insensitively; ports are not
 * part of an entry.  1 exempt, 0 not. */
int proxy_no_proxy_match(const char *np, const char *host);

/* The proxy URL a target uses, or NULL for none.  given: --proxy (NULL:
 * not given, "": no proxy); else the environment: for an https target
 * https_proxy, HTTPS_PROXY, for an http one http_proxy, HTTP_PROXY, then
 * all_proxy, ALL_PROXY (an empty variable counts as unset).  no_proxy or
 * NO_PROXY exempts the host from either, as in curl.  *source names where
 * the URL came from (for messages and reports). */
const char *proxy_pick(const char *given, int https, const char *host, const char **source);

/* The CONNECT request for hostport (host:port, [v6]:port) into buf: 
 * its length, or 0 when cap is too small. */
size_t proxy_connect_request(const struct proxy *p, const char *hostport, char *buf, size_t cap);

/* The proxy's reply to CONNECT, read as it comes. */
struct proxy_reply {
    llhttp_t parser;
    int status;                   /* once done */
    int done;
};

void proxy_reply_init(struct proxy_reply *r);

/* Feeds n bytes.  0: more needed (all used); 1: the reply's head is
 * complete, its status in r->status, *used bytes of data belonged to it
 * (what follows is the tunnel's, or the rest of a refusal's body); -1: not
 * an HTTP reply. */
int proxy_reply_feed(struct proxy_reply *r, const char *data, size_t n, size_t *used);

/* Whether a proxy's status refuses its credentials: 407, and 401 in reply
 * to CONNECT (tinyproxy's answer to a wrong password), which only the
 * proxy can send. */
int proxy_auth_refused(int status);

/* A one-line reason for a refusal with status of the way to hostport,
 * naming the proxy and the target (neither carries credentials). */
void proxy_refusal(const struct proxy *p, const char *hostport, int status, char *buf, size_t cap);

#endif
