/* Headers the user adds to every request (headers.h). */
#include "headers.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "secret.h"

/* Names llmload writes itself: a second one would change the framing of
 * the request, or say something llmload does not do. */
static const char *const owned[] = {
    "Host", "Content-Length", "Transfer-Encoding", "Connection", "X-Request-Id", "Proxy-Authorization",
};

/* RFC 9110 tchar: the characters of a token. */
static int is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

int headers_add(struct headers *hs, const char *arg, const char *flag, char *err, size_t errcap)
{
    const char *colon = strchr(arg, ':');
    size_t nlen = colon ? (size_t)(colon - arg) : strlen(arg);
    if (!colon) {
        snprintf(err, errcap, "%s: expected 'Name: value'", flag);
        return -1;
    }
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)arg[i])) {
            /* A name is no secret, but it may be the value mistyped: only
             * the position is said. */
            snprintf(err, errcap, "%s: the header name has a character that is not allowed "
                     "(at byte %zu; a name is letters, digits and !#$%%&'*+-.^_`|~)", flag, i + 1);
            return -1;
        }
    if (!nlen) {
        snprintf(err, errcap, "%s: empty header name", flag);
        return -1;
    }
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strlen(owned[i]) == nlen && !strncasecmp(owned[i], arg, nlen)) {
            snprintf(err, errcap, "%s: %s is set by llmload and cannot be given%s", flag, owned[i],
                     !strcmp(owned[i], "Proxy-Authorization") ? " (put proxy credentials in the proxy URL)" : "");
            return -1;
        }
    const char *v = colon + 1, *end = v + strlen(v);
    while (*v == ' ' || *v == '\t')
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (const char *q = v; q < end; q++)
        if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) {
            snprintf(err, errcap, "%s %.*s: the value has a CR, LF or other control character",
                     flag, (int)nlen, arg);
            return -1;
        }
    if (hs->n == HEADERS_MAX) {
        snprintf(err, errcap, "%s: more than %d headers", flag, HEADERS_MAX);
        return -1;
    }
    size_t vlen = (size_t)(end - v);
    /* used counts each entry as its line, "name: value\r\n", which is 2
     * bytes more than it takes in store: lines then holds them all. */
    if (hs->used + nlen + vlen + 4 + 1 > sizeof hs->store) {
        snprintf(err, errcap, "%s: the headers take more than %d bytes", flag, HEADERS_BYTES - 1);
        return -1;
    }
    struct header *h = &hs->h[hs->n++];
    char *p = hs->store + hs->used;
    memcpy(p, arg, nlen);
    p[nlen] = 0;
    memcpy(p + nlen + 1, v, vlen);
    p[nlen + 1 + vlen] = 0;
    h->name = p;
    h->value = p + nlen + 1;
    h->public = 0;
    hs->used += nlen + vlen + 4;
    return 0;
}

int headers_mark_public(struct headers *hs, const char *name, const char *flag, char *err, size_t errcap)
{
    int found = 0;
    for (unsigned i = 0; i < hs->n; i++)
        if (!strcasecmp(hs->h[i].name, name)) {
            hs->h[i].public = 1;
            found = 1;
        }
    if (!found)
        snprintf(err, errcap, "%s %s: no --header has that name", flag, name);
    return found ? 0 : -1;
}

int headers_finish(struct headers *hs, char *err, size_t errcap)
{
    for (unsigned i = 0; i < hs->n; i++)
        if (!hs->h[i].public && secret_add(hs->h[i].value) < 0) {
            snprintf(err, errcap, "--header: too many secret values to keep");
            return -1;
        }
    size_t o = 0;
    for (unsigned i = 0; i < hs->n; i++)
        if (hs->h[i].value[0])
            o += (size_t)sprintf(hs->lines + o, "%s: %s\r\n", hs->h[i].name, hs->h[i].value);
    hs->lines[o] = 0;
    hs->lines_len = o;
    return 0;
}

int headers_has(const struct headers *hs, const char *name)
{
    for (unsigned i = 0; hs && i < hs->n; i++)
        if (!strcasecmp(hs->h[i].name, name))
            return 1;
    return 0;
}
