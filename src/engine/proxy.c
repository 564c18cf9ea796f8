/* Forward proxies: choice, URL, CONNECT (proxy.h). */
#include "proxy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nettle/base64.h>

#include "hostport.h"
#include "secret.h"

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into out (cap bytes, NUL-terminated).  -1 on a
 * bad escape, a control character, or no room. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            if (n - i < 3)
                return -1;
            int a = hexval((unsigned char)s[i + 1]), b = a < 0 ? -1 : hexval((unsigned char)s[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            ch = a * 16 + b;
            i += 2;
        }
        if (ch < 0x20 || ch == 0x7f || o + 1 >= cap)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = 0;
    return 0;
}

int proxy_parse_url(struct proxy *p, const char *url, const char *what, char *err, size_t errcap)
{
    memset(p, 0, sizeof *p);
    const char *s = url;
    if (strlen(url) >= PROXY_URL_MAX) {
        snprintf(err, errcap, "%s: the proxy URL is too long", what);
        return -1;
    }
    const char *scheme_end = strstr(s, "://");
    if (scheme_end) {
        if ((size_t)(scheme_end - s) != 4 || strncasecmp(s, "http", 4)) {
            /* Only the scheme is quoted: it carries no credential. */
            snprintf(err, errcap, "%s: a %.*s:// proxy is not supported (only http:// proxies)", what,
                     (int)(scheme_end - s) < 16 ? (int)(scheme_end - s) : 16, s);
            return -1;
        }
        s = scheme_end + 3;
    }
    size_t auth_len = strcspn(s, "/?#");
    const char *at = NULL;
    for (const char *q = s; q < s + auth_len; q++)
        if (*q == '@')
            at = q;   /* the last '@': a password may hold one unescaped */
    char user[PROXY_URL_MAX], pass[PROXY_URL_MAX];
    user[0] = pass[0] = 0;
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        size_t ulen = colon ? (size_t)(colon - s) : (size_t)(at - s);
        if (pct_decode(s, ulen, user, sizeof user) < 0 ||
            (colon && pct_decode(colon + 1, (size_t)(at - colon - 1), pass, sizeof pass) < 0)) {
            snprintf(err, errcap, "%s: bad percent-escape or control character in the proxy's credentials", what);
            return -1;
        }
        s = at + 1;
    }
    int port;
    switch (hostport_parse(s, p->host, sizeof p->host, &port, &s)) {
    case HOSTPORT_OK: break;
    case HOSTPORT_BRACKET:
        snprintf(err, errcap, "%s: bad [IPv6] address in the proxy URL", what);
        return -1;
    case HOSTPORT_LONG:
        snprintf(err, errcap, "%s: the proxy's host name is too long", what);
        return -1;
    case HOSTPORT_EMPTY:
        snprintf(err, errcap, "%s: no host in the proxy URL", what);
        return -1;
    default:
        snprintf(err, errcap, "%s: bad port in the proxy URL", what);
        return -1;
    }
    p->port = port ? port : 1080;
    if (*s && strcmp(s, "/")) {
        snprintf(err, errcap, "%s: a proxy URL has no path, query or fragment", what);
        return -1;
    }
    snprintf(p->hostport, sizeof p->hostport, strchr(p->host, ':') ? "[%s]:%d" : "%s:%d", p->host, p->port);
    snprintf(p->shown, sizeof p->shown, "http://%s%s", at ? "***@" : "", p->hostport);
    if (at) {
        char cred[2 * PROXY_URL_MAX];
        int n = snprintf(cred, sizeof cred, "%s:%s", user, pass);
        if (n < 0 || (size_t)BASE64_ENCODE_RAW_LENGTH(n) + 7 >= sizeof p->auth) {
            snprintf(err, errcap, "%s: the proxy's credentials are too long", what);
            return -1;
        }
        memcpy(p->auth, "Basic ", 6);
        base64_encode_raw(p->auth + 6, (size_t)n, (const uint8_t *)cred);
        p->auth[6 + BASE64_ENCODE_RAW_LENGTH(n)] = 0;
        /* The password alone, the pair, and the header's token: a proxy or
         * server quoting any of them in an error is redacted. */
        if (secret_add(pass) < 0 || secret_add(cred) < 0 || secret_add(p->auth + 6) < 0) {
            snprintf(err, errcap, "%s: too many secrets to keep", what);
            return -1;
        }
    }
    return 0;
}

/* ---- NO_PROXY ------------------------------------------------------- */

struct ipaddr { int family; unsigned char b[16]; };

static int ip_parse(const char *s, size_t n, struct ipaddr *a)
{
    char buf[64];
    if (n && s[0] == '[' && s[n - 1] == ']')
        s++, n -= 2;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (inet_pton(AF_INET, buf, a->b) == 1) {
        a->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, a->b) == 1) {
        a->family = AF_INET6;
        return 0;
    }
    return -1;
}

/* Whether the first bits bits of a and b agree. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole))
        return 0;
    if (!rest)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* One NO_PROXY entry e[0..n) against host. */
static int np_entry_match(const char *e, size_t n, const char *host, const struct ipaddr *hip)
{
    if (n == 1 && e[0] == '*')
        return 1;
    const char *slash = memchr(e, '/', n);
    struct ipaddr eip;
    if (ip_parse(e, slash ? (size_t)(slash - e) : n, &eip) == 0) {
        if (!hip || hip->family != eip.family)
            return 0;
        unsigned max = eip.family == AF_INET ? 32 : 128, bits = max;
        if (slash) {
            char *end;
            unsigned long v = strtoul(slash + 1, &end, 10);
            if (end != e + n || end == slash + 1 || v > max)
                return 0;   /* a malformed entry exempts nothing */
            bits = (unsigned)v;
        }
        return prefix_equal(hip->b, eip.b, bits);
    }
    while (n && e[0] == '.')
        e++, n--;
    while (n && e[n - 1] == '.')
        n--;
    size_t hl = strlen(host);
    while (hl && host[hl - 1] == '.')
        hl--;
    if (!n || n > hl)
        return 0;
    if (strncasecmp(host + hl - n, e, n))
        return 0;
    return hl == n || host[hl - n - 1] == '.';
}

int proxy_no_proxy_match(const char *np, const char *host)
{
    if (!np || !host)
        return 0;
    struct ipaddr hip;
    int is_ip = ip_parse(host, strlen(host), &hip) == 0;
    const char *p = np;
    while (*p) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        if (n && np_entry_match(p, n, host, is_ip ? &hip : NULL))
            return 1;
        p += n;
    }
    return 0;
}

static const char *env_first(const char *a, const char *b, const char **source)
{
    const char *v = getenv(a);
    if (v && *v) {
        *source = a;
        return v;
    }
    v = getenv(b);
    if (v && *v) {
        *source = b;
        return v;
    }
    return NULL;
}

const char *proxy_pick(const char *given, int https, const char *host, const char **source)
{
    const char *url, *src = NULL, *np_src;
    if (given) {
        url = *given ? given : NULL;
        src = "--proxy";
    } else if (!(url = env_first(https ? "https_proxy" : "http_proxy",
                                 https ? "HTTPS_PROXY" : "HTTP_PROXY", &src))) {
        url = env_first("all_proxy", "ALL_PROXY", &src);
    }
    if (url && proxy_no_proxy_match(env_first("no_proxy", "NO_PROXY", &np_src), host))
        url = NULL;
    if (source)
        *source = url ? src : NULL;
    return url;
}

/* ---- CONNECT -------------------------------------------------------- */

size_t proxy_connect_request(const struct proxy *p, const char *hostport, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", hostport, hostport,
                     p->auth[0] ? "Proxy-Authorization: " : "", p->auth, p->auth[0] ? "\r\n" : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The reply to CONNECT has no body we read: a 2xx starts the tunnel (its
 * length headers, if any, mean nothing), and a refusal's body is not
 * needed to say what went wrong. */
static int reply_on_headers_complete(llhttp_t *p)
{
    (void)p;
    return 1;   /* no body */
}

static int reply_on_message_complete(llhttp_t *p)
{
    struct proxy_reply *r = p->data;
    r->done = 1;
    r->status = p->status_code;
    return HPE_PAUSED;   /* what follows is not the proxy's */
}

static const llhttp_settings_t reply_settings = {
    .on_headers_complete = reply_on_headers_complete,
    .on_message_complete = reply_on_message_complete,
};

void proxy_reply_init(struct proxy_reply *r)
{
    memset(r, 0, sizeof *r);
    llhttp_init(&r->parser, HTTP_RESPONSE, &reply_settings);
    r->parser.data = r;
}

int proxy_reply_feed(struct proxy_reply *r, const char *data, size_t n, size_t *used)
{
    if (r->done) {
        *used = 0;
        return 1;
    }
    llhttp_errno_t e = llhttp_execute(&r->parser, data, n);
    if (e == HPE_PAUSED && r->done) {
        *used = (size_t)(llhttp_get_error_pos(&r->parser) - data);
        return 1;
    }
    *used = n;
    return e == HPE_OK ? 0 : -1;
}

int proxy_auth_refused(int status)
{
    return status == 407 || status == 401;
}

void proxy_refusal(const struct proxy *p, const char *hostport, int status, char *buf, size_t cap)
{
    if (proxy_auth_refused(status))
        snprintf(buf, cap, "proxy %s wants credentials to reach %s (%d): %s", p->hostport, hostport, status,
                 p->auth[0] ? "it refused those in the proxy URL"
                            : "give them in the proxy URL (http://USER:PASSWORD@host:port)");
    else
        snprintf(buf, cap, "proxy %s refused to reach %s: status %d", p->hostport, hostport, status);
}
