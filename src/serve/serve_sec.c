/* The dashboard's security checks (serve_sec.h). */
#include "serve_sec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int serve_sec_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

int serve_sec_wildcard(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

void serve_sec_host_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "";
    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof a);
        snprintf(out, cap, "[%s]", a);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof a);
        snprintf(out, cap, "%s", a);
    }
}

/* Constant time in the length of the secret: a timing probe learns nothing
 * of how many leading bytes matched. */
int serve_sec_same(const char *secret, const char *given, size_t glen)
{
    size_t n = strlen(secret);
    unsigned char d = glen != n;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)secret[i] ^ (unsigned char)(i < glen ? given[i] : 0);
    return d == 0;
}

/* The value of name in a "k=v; k=v" (sep ';') or "k=v&k=v" (sep '&') list:
 * its start and length, or NULL. */
static const char *list_value(const char *list, const char *name, char sep, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *p = list; p && *p;) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, sep);
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            *len = l - nl - 1;
            return p + nl + 1;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

int serve_sec_token_ok(const char *token, const char *authz, const char *cookie,
                       const char *query, int *from_query)
{
    *from_query = 0;
    if (!*token)
        return 1;
    if (!strncasecmp(authz, "Bearer ", 7) && serve_sec_same(token, authz + 7, strlen(authz + 7)))
        return 1;
    size_t len;
    const char *v = list_value(cookie, SERVE_COOKIE, ';', &len);
    if (v && serve_sec_same(token, v, len))
        return 1;
    /* The query's token is taken as written: a token is printable ASCII
     * without '&' or '%' (serve_opts_check), so it needs no decoding. */
    if ((v = list_value(query, "token", '&', &len)) && serve_sec_same(token, v, len)) {
        *from_query = 1;
        return 1;
    }
    return 0;
}

int serve_sec_host_ok(const char *host, const struct sockaddr_storage *listen, int port)
{
    if (serve_sec_wildcard(listen))
        return 1;
    char self[80], want[96];
    serve_sec_host_text(listen, self, sizeof self);
    const char *names[] = { self, "localhost", "127.0.0.1", "[::1]" };
    size_t n = serve_sec_loopback(listen) ? 4 : 1;
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof want, "%s:%d", names[i], port);
        if (!strcasecmp(host, want))
            return 1;
    }
    return 0;
}

int serve_sec_origin_ok(const char *origin, const char *host)
{
    if (!*origin)
        return 1;
    return !strncmp(origin, "http://", 7) && !strcasecmp(origin + 7, host);
}
