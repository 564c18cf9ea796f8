#ifndef LLMLOAD_ESCAPE_H
#define LLMLOAD_ESCAPE_H
/* One string escaper per output format: JSON strings, CSV fields, HTML (and
 * XML) text and attribute values, Markdown table cells.  Every text that
 * reaches an output file passes through one of these, so what a server
 * sends back (arbitrary bytes) can never break a document's syntax.
 *
 * The escapers never allocate: they hand runs of output bytes to a sink.
 * Sinks for a FILE and for a bounded buffer are below; a caller with its own
 * growing string passes its own. */
#include <stddef.h>
#include <stdio.h>

/* Receives n output bytes at p.  ctx is the caller's. */
typedef void esc_sink(void *ctx, const char *p, size_t n);

/* ctx is a FILE *; write errors stay in the stream (ferror). */
void esc_sink_file(void *ctx, const char *p, size_t n);

/* ctx is a struct esc_buf: bytes go to p[len..cap), always NUL-terminated
 * when cap > 0; what does not fit sets overflow and is dropped. */
struct esc_buf { char *p; size_t cap, len; int overflow; };
void esc_sink_buf(void *ctx, const char *p, size_t n);

/* A JSON string (RFC 8259), quotes included, from s[0..n):
 *   "  \  and the controls U+0000..U+001F as \" \\ \b \f \n \r \t or \u00XX,
 *   DEL as \u007f (valid raw, invisible in a terminal),
 *   <  as \u003c, so "</script>" or "<!--" in a value cannot end or change a
 *      <script> element the document is embedded in,
 *   U+2028 and U+2029 as \u2028 \u2029 (line ends to older JavaScript).
 * JSON text must be UTF-8: a byte that does not start a valid sequence
 * (utf8_decode) becomes U+FFFD, one per byte, so the output is always valid
 * JSON whatever s holds. */
void esc_json(const char *s, size_t n, esc_sink *put, void *ctx);

/* A CSV field (RFC 4180) from the NUL-terminated s: written as it is unless
 * it holds a comma, a quote, a CR or LF, any other control byte (U+0000..
 * U+001F, DEL), or starts or ends with a blank, which readers may trim;
 * then it is quoted and each quote doubled.  Bytes are kept exactly, invalid
 * UTF-8 included: a CSV reader gets back what was written.  (A spreadsheet
 * may still read a leading '=' as a formula: the field is data, not a cell
 * to sanitise.) */
void esc_csv(const char *s, esc_sink *put, void *ctx);

/* Where an HTML or XML string goes. */
enum esc_html_where {
    ESC_HTML_TEXT = 0,  /* element content */
    ESC_HTML_ATTR       /* an attribute value inside "..." or '...' */
};

/* HTML5 text or attribute value from the NUL-terminated s, also well-formed
 * XML 1.0 (the JUnit report uses it):
 *   &  <  >  "  '  as &amp; &lt; &gt; &quot; &#39; in both contexts,
 *   tab, LF, CR    kept in text (CR as &#13;, which XML would fold), and as
 *                  &#9; &#10; &#13; in attributes (which readers normalise),
 *   other controls (U+0000..U+001F, DEL, U+0080..U+009F) and U+FFFE, U+FFFF,
 *                  which XML 1.0 cannot carry: U+FFFD,
 *   invalid UTF-8: U+FFFD, one per byte. */
void esc_html(const char *s, enum esc_html_where where, esc_sink *put, void *ctx);

/* Text of one Markdown table cell from the NUL-terminated s: '|' as "\|"
 * (it would end the cell), CR and LF as a space (they would end the row),
 * '`' as '\'' (cells quote names in a code span). */
void esc_md_cell(const char *s, esc_sink *put, void *ctx);

#endif
