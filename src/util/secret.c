/* The registry of secrets and their redaction (secret.h). */
#include "secret.h"

#include <stdlib.h>
#include <string.h>

#define FRAGMENT 8          /* this many characters of a secret in a row are a leak */
#define PREFIX_MIN 3        /* a masked echo shows at least this much of the start */
#define TAIL_MIN 4          /* a text cut inside a secret shows at least this much */
#define SUFFIX_MIN 4        /* a mask followed by the secret's last characters */
#define MASK_MIN 3          /* mask characters that make an echo "masked" */
#define MARK_STACK 1024

/* Each secret and, when it differs, its JSON-escaped form: a server quoting
 * the key in a JSON error body writes the latter, and error text is kept as
 * it came. */
static struct secret { char *s; size_t n; } reg[SECRET_MAX * 2];
static size_t nreg, nsecrets;

static int reg_add(const char *s, size_t n)
{
    for (size_t i = 0; i < nreg; i++)
        if (reg[i].n == n && !memcmp(reg[i].s, s, n))
            return 0;
    char *c = malloc(n + 1);
    if (!c)
        return -1;
    memcpy(c, s, n);
    c[n] = '\0';
    reg[nreg].s = c;
    reg[nreg].n = n;
    nreg++;
    return 0;
}

/* s as it appears inside a JSON string written by a server that escapes
 * '/' (as many do): into out (room for 6 bytes a byte). */
static size_t json_form(const char *s, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '/') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[*p >> 4];
            out[o + 5] = hex[*p & 15];
            o += 6;
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
    return o;
}

int secret_add(const char *s)
{
    if (!s || !*s)
        return 0;
    for (size_t i = 0; i < nreg; i++)
        if (!strcmp(reg[i].s, s))
            return 0;
    if (nsecrets == SECRET_MAX)
        return -1;
    size_t n = strlen(s);
    char *esc = malloc(n * 6 + 1);
    if (!esc)
        return -1;
    size_t en = json_form(s, esc);
    int rc = reg_add(s, n);
    if (rc == 0 && (en != n || memcmp(esc, s, n)))
        rc = reg_add(esc, en);
    free(esc);
    if (rc == 0)
        nsecrets++;
    return rc;
}

void secret_clear(void)
{
    for (size_t i = 0; i < nreg; i++)
        free(reg[i].s);
    nreg = nsecrets = 0;
}

static size_t common(const char *a, size_t an, const char *b, size_t bn)
{
    size_t k = 0;
    while (k < an && k < bn && a[k] == b[k])
        k++;
    return k;
}

/* Mask characters from t[k] ('*', '.', and '…' counted as three dots):
 * how many, and the end of the run in *end. */
static size_t mask_run(const char *t, size_t n, size_t k, size_t *end)
{
    size_t units = 0;
    for (;;) {
        if (k < n && (t[k] == '*' || t[k] == '.')) {
            k++;
            units++;
        } else if (k + 3 <= n && !memcmp(t + k, "\xe2\x80\xa6", 3)) {
            k += 3;
            units += 3;
        } else {
            break;
        }
    }
    *end = k;
    return units;
}

/* The longest end of the secret (at least min characters, shorter than the
 * secret) that t[k..n) starts with; 0 when none. */
static size_t suffix_at(const struct secret *x, const char *t, size_t n, size_t k, size_t min)
{
    size_t q = x->n - 1 < n - k ? x->n - 1 : n - k;
    for (; q >= min && q > 0; q--)
        if (!memcmp(t + k, x->s + x->n - q, q))
            return q;
    return 0;
}

static void mark(unsigned char *m, size_t from, size_t to)
{
    memset(m + from, 1, to - from);
}

/* Marks in m[0..n) every part of t that shows the secret x. */
static void mark_secret(const struct secret *x, const char *t, size_t n, unsigned char *m)
{
    const size_t frag = x->n < FRAGMENT ? x->n : FRAGMENT;
    for (size_t i = 0; i < n; i++) {
        /* A run of the secret's characters, wherever in it they start. */
        for (size_t j = 0; j < x->n; j++) {
            if (t[i] != x->s[j])
                continue;
            size_t k = common(t + i, n - i, x->s + j, x->n - j);
            if (k >= frag)
                mark(m, i, i + k);
        }
        size_t end, q;
        /* A masked echo: the start, the mask, perhaps the end. */
        size_t p = common(t + i, n - i, x->s, x->n);
        if (p >= PREFIX_MIN && p < x->n && mask_run(t, n, i + p, &end) >= MASK_MIN) {
            q = suffix_at(x, t, n, end, 1);
            mark(m, i, end + q);
        }
        /* The mask alone, then the secret's last characters. */
        if ((i == 0 || !m[i - 1]) && mask_run(t, n, i, &end) >= MASK_MIN &&
            (q = suffix_at(x, t, n, end, SUFFIX_MIN)))
            mark(m, i, end + q);
    }
    /* Text cut inside the secret: its first characters end t. */
    for (size_t p = x->n - 1 < n ? x->n - 1 : n; p >= TAIL_MIN; p--)
        if (!memcmp(t + n - p, x->s, p)) {
            mark(m, n - p, n);
            break;
        }
}

size_t secret_redact(char *s)
{
    size_t n = strlen(s);
    if (!nreg || !n)
        return n;
    unsigned char stack[MARK_STACK], *m = n <= sizeof stack ? stack : malloc(n);
    if (!m) {
        /* Nothing can be checked: nothing of the text is kept. */
        size_t k = n < strlen(SECRET_MASK) ? n : strlen(SECRET_MASK);
        memcpy(s, SECRET_MASK, k);
        s[k] = '\0';
        return k;
    }
    for (size_t r = 0; r < nreg; r++) {
        memset(m, 0, n);
        mark_secret(&reg[r], s, n, m);
        /* Each marked run becomes the mask (or as many '*' when shorter):
         * never longer, so the text is rewritten in place. */
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (!m[i]) {
                s[o++] = s[i++];
                continue;
            }
            size_t j = i;
            while (j < n && m[j])
                j++;
            size_t k = j - i < strlen(SECRET_MASK) ? j - i : strlen(SECRET_MASK);
            memcpy(s + o, SECRET_MASK, k);
            o += k;
            i = j;
        }
        s[o] = '\0';
        n = o;
    }
    if (m != stack)
        free(m);
    return n;
}
