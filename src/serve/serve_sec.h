#ifndef LLMLOAD_SERVE_SEC_H
#define LLMLOAD_SERVE_SEC_H
/* The dashboard's security checks, as pure functions of the request's
 * text (docs/dashboard.md, "Security model"). */
#include <stddef.h>
#include <sys/socket.h>

#define SERVE_COOKIE "llmload_token"

/* 1 when ss is a loopback address (127.0.0.0/8, ::1), else 0. */
int serve_sec_loopback(const struct sockaddr_storage *ss);

/* 1 when ss is the wildcard address (0.0.0.0, ::). */
int serve_sec_wildcard(const struct sockaddr_storage *ss);

/* ss's address as it appears in a Host header: "127.0.0.1", "[::1]". */
void serve_sec_host_text(const struct sockaddr_storage *ss, char *out, size_t cap);

/* Is the request allowed by the token (empty token: always)?  It may come
 * as "Authorization: Bearer TOKEN", the cookie SERVE_COOKIE, or ?token= in
 * the query; *from_query is set in the last case (the answer then sets the
 * cookie).  Compared in constant time. */
int serve_sec_token_ok(const char *token, const char *authz, const char *cookie,
                       const char *query, int *from_query);

/* 1 when given[0..glen) is secret, compared in constant time. */
int serve_sec_same(const char *secret, const char *given, size_t glen);

/* Is host (the Host header) this server?  The listen address with its
 * port, and on loopback also localhost and the other loopback spelling.
 * A wildcard listener accepts any host (the token guards it).  This is
 * what defeats DNS rebinding: a rebound name arrives as its own Host. */
int serve_sec_host_ok(const char *host, const struct sockaddr_storage *listen, int port);

/* Is origin (the Origin header of a POST) this server: "http://" + host?
 * An absent Origin (a non-browser client) passes; "null" does not. */
int serve_sec_origin_ok(const char *origin, const char *host);

#endif
