/* Escaping for the HTML report.  Model names, error bodies, prompts, URLs
 * and file names come from a server or a user; every one of them reaches
 * the page through one of these two functions, so a model called
 * "</script><img src=x onerror=alert(1)>" is shown, never run.  Both are
 * util/escape.h's escapers, the ones every output uses. */
#include "render_int.h"

#include <string.h>

#include "escape.h"

void render_html_text(FILE *f, const char *s)
{
    if (s)
        esc_html(s, ESC_HTML_TEXT, esc_sink_file, f);
}

/* A JSON string inside the page's <script>: esc_json writes '<' as \u003c,
 * so "</script>" and "<!--" cannot end or change the element. */
void render_js_string(FILE *f, const char *s)
{
    s = s ? s : "";
    esc_json(s, strlen(s), esc_sink_file, f);
}
