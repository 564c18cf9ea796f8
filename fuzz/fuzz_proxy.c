/* libFuzzer target: what a proxy and the environment hand llmload
 * (proxy.c).  Byte 0 chooses:
 *   bit 0 clear: the reply to CONNECT, fed in one piece and again cut where
 *     the input says (bits 1-7: how many cuts, then one byte per cut, the
 *     gap from the previous one minus one); the outcome, the status and
 *     where the reply's head ends must not depend on the cuts;
 *   bit 0 set: a proxy URL and a NO_PROXY list (the rest, split at its
 *     first NUL): parsed and matched against a few hosts; a parsed URL's
 *     shown form never holds the password.
 * Each piece is copied to its own allocation, so ASan catches any read past
 * a read's end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_cuts.h"
#include "proxy.h"
#include "secret.h"

struct outcome { int rc, status; size_t head; };

static struct outcome reply(const uint8_t *d, size_t n, const size_t *cuts, size_t ncuts)
{
    struct proxy_reply r;
    struct outcome o = { 0, 0, 0 };
    proxy_reply_init(&r);
    size_t pos = 0, k = 0;
    while (pos < n) {
        while (k < ncuts && cuts[k] <= pos)
            k++;
        size_t end = k < ncuts && cuts[k] < n ? cuts[k++] : n;
        char *piece = malloc(end - pos);
        if (!piece)
            abort();
        memcpy(piece, d + pos, end - pos);
        size_t used = 0;
        int rc = proxy_reply_feed(&r, piece, end - pos, &used);
        free(piece);
        if (used > end - pos)
            abort();
        if (rc != 0) {
            o.rc = rc;
            o.status = r.status;
            o.head = rc == 1 ? pos + used : 0;
            return o;
        }
        pos = end;
    }
    return o;
}

static void url_and_list(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, d, n);
    s[n] = 0;
    const char *list = s + strlen(s) + (strlen(s) < n);
    struct proxy p;
    char err[256];
    secret_clear();
    if (proxy_parse_url(&p, s, "--proxy", err, sizeof err) == 0) {
        if (p.port < 1 || p.port > 65535 || !p.host[0])
            abort();
        if (p.auth[0] && !strstr(p.shown, "***@"))
            abort();
    }
    static const char *const hosts[] = { "localhost", "api.example.com", "127.0.0.1", "::1", "10.1.2.3", "" };
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
        (void)proxy_no_proxy_match(list, hosts[i]);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1) {
        url_and_list(data + 1, size - 1);
        return 0;
    }
    size_t ncuts = data[0] >> 1, cuts[128], n;
    const uint8_t *r;
    if (fuzz_cuts(data, size, ncuts, cuts, 128, &r, &n) < 0)
        return 0;
    struct outcome whole = reply(r, n, NULL, 0), cut = reply(r, n, cuts, ncuts);
    if (whole.rc != cut.rc || whole.status != cut.status || whole.head != cut.head)
        abort();
    return 0;
}
