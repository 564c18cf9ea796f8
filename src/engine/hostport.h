#ifndef LLMLOAD_HOSTPORT_H
#define LLMLOAD_HOSTPORT_H
/* The host[:port] part of a URL, for the target's URL and a proxy's: a
 * name, an IPv4 address or an [IPv6] one, and an optional port. */
#include <stddef.h>

enum hostport_err {
    HOSTPORT_OK = 0,
    HOSTPORT_BRACKET = -1,      /* "[" without its "]" */
    HOSTPORT_LONG = -2,         /* the host does not fit */
    HOSTPORT_EMPTY = -3,        /* no host */
    HOSTPORT_PORT = -4,         /* ":" without a port from 1 to 65535 */
};

/* Reads s up to the end of host[:port] (a name ends at ':', '/', '?' or
 * '#'): the host, without brackets, into host (cap bytes), the port into
 * *port (0 when none is given), and *end just after them; what follows is
 * the caller's to judge.  HOSTPORT_OK or an error above. */
int hostport_parse(const char *s, char *host, size_t cap, int *port, const char **end);

#endif
