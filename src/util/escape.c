/* String escapers, one per output format (escape.h has the rules). */
#include "escape.h"
#include "utf8.h"

#include <string.h>

#define REPLACEMENT "\xef\xbf\xbd"      /* U+FFFD in UTF-8 */

void esc_sink_file(void *ctx, const char *p, size_t n)
{
    fwrite(p, 1, n, ctx);
}

void esc_sink_buf(void *ctx, const char *p, size_t n)
{
    struct esc_buf *b = ctx;
    if (!b->cap)
        return;
    size_t room = b->cap - 1 - b->len;
    if (n > room) {
        n = room;
        b->overflow = 1;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void esc_json(const char *s, size_t n, esc_sink *put, void *ctx)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;                 /* start of the bytes that need no escape */
    put(ctx, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t elen = 0, k = 1;
        uint32_t cp = c;
        if (c >= 0x80 && !(k = utf8_decode(s + i, n - i, &cp))) {
            memcpy(esc, REPLACEMENT, 3);
            elen = 3;
            k = 1;
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c < 0x20 || c == 0x7f || c == '<' || cp == 0x2028 || cp == 0x2029) {
            const char *short_form = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n"
                                   : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (short_form) {
                memcpy(esc, short_form, 2);
                elen = 2;
            } else {
                memcpy(esc, "\\u", 2);
                esc[2] = hex[cp >> 12 & 15];
                esc[3] = hex[cp >> 8 & 15];
                esc[4] = hex[cp >> 4 & 15];
                esc[5] = hex[cp & 15];
                elen = 6;
            }
        }
        if (elen) {
            if (i > run)
                put(ctx, s + run, i - run);
            put(ctx, esc, elen);
            run = i + k;
        }
        i += k;
    }
    if (n > run)
        put(ctx, s + run, n - run);
    put(ctx, "\"", 1);
}

void esc_csv(const char *s, esc_sink *put, void *ctx)
{
    size_t n = strlen(s);
    int quote = n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
    for (size_t i = 0; i < n && !quote; i++) {
        unsigned char c = (unsigned char)s[i];
        quote = c == ',' || c == '"' || c < 0x20 || c == 0x7f;
    }
    if (!quote) {
        put(ctx, s, n);
        return;
    }
    put(ctx, "\"", 1);
    const char *q;
    while ((q = memchr(s, '"', n))) {
        size_t k = (size_t)(q - s) + 1;     /* through the quote, then its double */
        put(ctx, s, k);
        put(ctx, "\"", 1);
        s += k;
        n -= k;
    }
    put(ctx, s, n);
    put(ctx, "\"", 1);
}

/* What HTML and XML cannot carry as a character: controls other than tab,
 * LF and CR, DEL, the C1 range, and the noncharacters U+FFFE and U+FFFF. */
static int markup_forbidden(uint32_t cp)
{
    return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
           (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff;
}

void esc_html(const char *s, enum esc_html_where where, esc_sink *put, void *ctx)
{
    size_t n = strlen(s), run = 0;
    int attr = where == ESC_HTML_ATTR;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_decode(s + i, n - i, &cp);
        const char *rep = NULL;
        if (!k) {
            rep = REPLACEMENT;
            k = 1;
        } else {
            switch (cp) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&#39;"; break;
            case '\r': rep = "&#13;"; break;
            case '\t': rep = attr ? "&#9;" : NULL; break;
            case '\n': rep = attr ? "&#10;" : NULL; break;
            default: rep = markup_forbidden(cp) ? REPLACEMENT : NULL; break;
            }
        }
        if (rep) {
            if (i > run)
                put(ctx, s + run, i - run);
            put(ctx, rep, strlen(rep));
            run = i + k;
        }
        i += k;
    }
    if (n > run)
        put(ctx, s + run, n - run);
}

void esc_md_cell(const char *s, esc_sink *put, void *ctx)
{
    for (; *s; s++) {
        size_t n = strcspn(s, "|\r\n`");
        put(ctx, s, n);
        s += n;
        if (!*s)
            break;
        if (*s == '|')
            put(ctx, "\\|", 2);
        else
            put(ctx, *s == '`' ? "'" : " ", 1);
    }
}
