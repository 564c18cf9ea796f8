/* Escaping for the HTML report.  Model names, error bodies, prompts, URLs
 * and file names come from a server or a user; every one of them reaches
 * the page through one of these two functions, so a model called
 * "</script><img src=x onerror=alert(1)>" is shown, never run. */
#include "render_int.h"

void render_html_text(FILE *f, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void render_js_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        unsigned c = *p;
        if (c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
            /* U+2028/U+2029: line breaks to older JavaScript parsers. */
            fprintf(f, "\\u%04x", p[2] == 0xA8 ? 0x2028u : 0x2029u);
            p += 2;
        } else if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\'')
            fprintf(f, "\\u%04x", c);
        else
            fputc((int)c, f);
    }
    fputc('"', f);
}
