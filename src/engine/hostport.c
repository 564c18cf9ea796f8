/* host[:port] of a URL (hostport.h). */
#include "hostport.h"

#include <stdlib.h>
#include <string.h>

int hostport_parse(const char *s, char *host, size_t cap, int *port, const char **end)
{
    const char *h = s, *he;
    if (*s == '[') {
        h = s + 1;
        he = strchr(h, ']');
        if (!he)
            return HOSTPORT_BRACKET;
        s = he + 1;
    } else {
        he = s + strcspn(s, ":/?#");
        s = he;
    }
    if ((size_t)(he - h) >= cap)
        return HOSTPORT_LONG;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = 0;
    if (!host[0])
        return HOSTPORT_EMPTY;
    *port = 0;
    if (*s == ':') {
        char *e;
        long v = strtol(s + 1, &e, 10);
        if (e == s + 1 || v <= 0 || v > 65535)
            return HOSTPORT_PORT;
        *port = (int)v;
        s = e;
    }
    *end = s;
    return HOSTPORT_OK;
}
