#ifndef LLMLOAD_HEADERS_H
#define LLMLOAD_HEADERS_H
/* Headers the user adds to every request (--header 'Name: value'), for
 * gateways that authenticate with their own header (api-key:, x-api-key:)
 * or route by tenancy headers.
 *
 * A value is a secret (secret.h) unless its name was marked public
 * (--header-public NAME): reports then show it as SECRET_MASK.
 *
 * Some headers are llmload's own and cannot be given: Host,
 * Content-Length, Transfer-Encoding and Connection (the framing of what
 * llmload sends), X-Request-Id (numbers each request) and
 * Proxy-Authorization (proxy credentials belong in the proxy URL, which
 * sends them to the proxy only).  Others that llmload sends by default
 * (Authorization, User-Agent, Accept, Accept-Encoding, Content-Type) are
 * replaced by the user's; an empty value removes them. */
#include <stddef.h>

#define HEADERS_MAX 32
#define HEADERS_BYTES 16384   /* all lines together */

struct header {
    const char *name;           /* as given */
    const char *value;          /* blanks around it trimmed; "" removes a default header */
    int public;                 /* --header-public: shown in reports */
};

/* Fixed storage: a command's flags fill it once, and nothing is freed. */
struct headers {
    struct header h[HEADERS_MAX];
    unsigned n;
    char store[HEADERS_BYTES];  /* names and values, NUL-terminated */
    size_t used;
    char lines[HEADERS_BYTES];  /* "Name: value\r\n" each non-empty one (headers_finish) */
    size_t lines_len;
};

/* Checks and adds one "Name: value" argument: the name must be an HTTP
 * token (RFC 9110), the value free of CR, LF and NUL.  flag names the
 * option in errors, which never quote the value.  0, or -1 with err. */
int headers_add(struct headers *hs, const char *arg, const char *flag, char *err, size_t errcap);

/* Marks every header named name (any case) public.  0, or -1 with err when
 * no --header has that name. */
int headers_mark_public(struct headers *hs, const char *name, const char *flag, char *err, size_t errcap);

/* After every header and mark: registers the values that are not public as
 * secrets and builds lines.  0, or -1 with err. */
int headers_finish(struct headers *hs, char *err, size_t errcap);

/* Whether a header named name (any case) was given, empty or not. */
int headers_has(const struct headers *hs, const char *name);

#endif
