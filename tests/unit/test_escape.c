/* util/escape and util/utf8: every escaper against quotes, backslashes,
 * every control byte, invalid UTF-8 and "</script>"; JSON output is parsed
 * back with cJSON, CSV output with an RFC 4180 reader written here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "utf8.h"

static char out[4096];

static const char *json(const char *s, size_t n)
{
    struct esc_buf b = { out, sizeof out, 0, 0 };
    esc_json(s, n, esc_sink_buf, &b);
    assert_false(b.overflow);
    return out;
}

static const char *csv(const char *s)
{
    struct esc_buf b = { out, sizeof out, 0, 0 };
    esc_csv(s, esc_sink_buf, &b);
    return out;
}

static const char *html(const char *s, enum esc_html_where w)
{
    struct esc_buf b = { out, sizeof out, 0, 0 };
    esc_html(s, w, esc_sink_buf, &b);
    return out;
}

static const char *md(const char *s)
{
    struct esc_buf b = { out, sizeof out, 0, 0 };
    esc_md_cell(s, esc_sink_buf, &b);
    return out;
}

/* Parses the JSON string text and returns its value (static buffer). */
static const char *json_back(const char *text)
{
    static char val[4096];
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_true(cJSON_IsString(j));
    snprintf(val, sizeof val, "%s", j->valuestring);
    cJSON_Delete(j);
    return val;
}

/* ---- utf8 -------------------------------------------------------------------- */

static void test_utf8(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(utf8_decode("a", 1, &cp), 1);
    assert_int_equal(cp, 'a');
    assert_int_equal(utf8_decode("\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(utf8_decode("\xe2\x82\xac", 3, &cp), 3);
    assert_int_equal(cp, 0x20ac);
    assert_int_equal(utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);      /* U+10FFFF */
    /* Invalid: stray continuation, C0/C1 and F5+ leads, overlong forms,
     * surrogates, past U+10FFFF, truncated (by avail or by the bytes). */
    static const char *const bad[] = {
        "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xf0\x80\x80\x80",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
        "\xe2\x82", "\xc3" "A",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(utf8_decode(bad[i], strlen(bad[i]), NULL), 0);
    assert_int_equal(utf8_decode("\xe2\x82\xac", 2, NULL), 0);
    assert_int_equal(utf8_decode("x", 0, NULL), 0);
    assert_true(utf8_valid("h\xc3\xa9llo \xe2\x82\xac", 10));
    assert_false(utf8_valid("h\xc3", 2));
    assert_true(utf8_valid("", 0));
    /* Lead lengths claim without checking. */
    assert_int_equal(utf8_lead_len('a'), 1);
    assert_int_equal(utf8_lead_len(0x80), 1);
    assert_int_equal(utf8_lead_len(0xc0), 2);
    assert_int_equal(utf8_lead_len(0xe0), 3);
    assert_int_equal(utf8_lead_len(0xff), 4);
    /* Encoding round-trips and refuses what UTF-8 cannot carry. */
    char b[4];
    static const uint32_t cps[] = { 0, 0x7f, 0x80, 0x7ff, 0x800, 0xfffd, 0x10000, 0x10ffff };
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        size_t n = utf8_encode(cps[i], b);
        assert_true(n >= 1 && n <= 4);
        assert_int_equal(utf8_decode(b, n, &cp), n);
        assert_int_equal(cp, cps[i]);
    }
    assert_int_equal(utf8_encode(0xd800, b), 0);
    assert_int_equal(utf8_encode(0x110000, b), 0);
    assert_int_equal(utf8_chars("h\xc3\xa9\xe2\x82\xac"), 3);
    char *r = utf8_repaired("a\xff\xc3\xa9\xe2\x82", 6);
    assert_string_equal(r, "a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
    assert_true(utf8_valid(r, strlen(r)));
    free(r);
}

/* ---- JSON -------------------------------------------------------------------- */

static void test_json_quotes_backslashes(void **state)
{
    (void)state;
    assert_string_equal(json("plain", 5), "\"plain\"");
    assert_string_equal(json("", 0), "\"\"");
    assert_string_equal(json("say \"hi\"", 8), "\"say \\\"hi\\\"\"");
    assert_string_equal(json("C:\\dir\\", 7), "\"C:\\\\dir\\\\\"");
    assert_string_equal(json_back(json("a\"b\\c", 5)), "a\"b\\c");
    assert_string_equal(json("/path/", 6), "\"/path/\"");   /* '/' alone is not escaped */
}

static void test_json_every_control_byte(void **state)
{
    (void)state;
    static const char *const short_forms[0x20] = {
        ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
    };
    char in[2], want[16];
    for (int c = 0; c <= 0x7f; c++) {
        if (c >= 0x20 && c != 0x7f)
            continue;
        in[0] = (char)c;
        if (c < 0x20 && short_forms[c])
            snprintf(want, sizeof want, "\"%s\"", short_forms[c]);
        else
            snprintf(want, sizeof want, "\"\\u%04x\"", c);
        assert_string_equal(json(in, 1), want);
        if (c) {   /* cJSON's strings end at NUL */
            in[1] = '\0';
            assert_string_equal(json_back(out), in);
        }
    }
    /* NUL inside a longer value keeps its place. */
    assert_string_equal(json("a\0b", 3), "\"a\\u0000b\"");
}

static void test_json_utf8(void **state)
{
    (void)state;
    /* Valid sequences pass as they are. */
    assert_string_equal(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
                        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* Each byte that does not start a valid sequence becomes U+FFFD. */
    assert_string_equal(json("a\xff" "b", 3), "\"a\xef\xbf\xbd" "b\"");
    assert_string_equal(json("\xe2\x82", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    assert_string_equal(json("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    assert_string_equal(json("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    /* The result is always valid JSON, whatever the bytes. */
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    struct esc_buf b = { out, sizeof out, 0, 0 };
    esc_json(all, sizeof all, esc_sink_buf, &b);
    assert_false(b.overflow);
    assert_true(utf8_valid(out, b.len));
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    cJSON_Delete(j);
    /* JavaScript's line terminators are escaped. */
    assert_string_equal(json("a\xe2\x80\xa8" "b\xe2\x80\xa9", 8), "\"a\\u2028b\\u2029\"");
}

static void test_json_script(void **state)
{
    (void)state;
    const char *s = "</script><script>alert(1)</script><!--";
    const char *j = json(s, strlen(s));
    assert_null(strstr(j, "</"));
    assert_null(strstr(j, "<!--"));
    assert_null(strchr(j, '<'));
    assert_string_equal(json_back(j), s);
}

/* ---- CSV ----------------------------------------------------------------------- */

/* Reads one RFC 4180 field from text (the whole of text); the value into
 * val.  Fails the test on a malformed field. */
static void csv_read(const char *text, char *val, size_t cap)
{
    size_t o = 0;
    if (*text != '"') {
        assert_null(strpbrk(text, ",\"\r\n"));
        snprintf(val, cap, "%s", text);
        return;
    }
    for (text++;; text++) {
        assert_true(*text != '\0');
        if (*text == '"') {
            if (text[1] != '"') {
                assert_int_equal(text[1], '\0');
                break;
            }
            text++;
        }
        assert_true(o + 1 < cap);
        val[o++] = *text;
    }
    val[o] = '\0';
}

static void test_csv_fields(void **state)
{
    (void)state;
    char back[256];
    assert_string_equal(csv("timeout_ttft"), "timeout_ttft");
    assert_string_equal(csv(""), "");
    assert_string_equal(csv("a,b"), "\"a,b\"");
    assert_string_equal(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_string_equal(csv("\""), "\"\"\"\"");
    assert_string_equal(csv("line\nbreak"), "\"line\nbreak\"");
    assert_string_equal(csv("cr\r"), "\"cr\r\"");
    assert_string_equal(csv("back\\slash"), "back\\slash");     /* no meaning in CSV */
    assert_string_equal(csv(" lead"), "\" lead\"");
    assert_string_equal(csv("trail\t"), "\"trail\t\"");
    assert_string_equal(csv("in side"), "in side");
    assert_string_equal(csv("</script>"), "</script>");
    /* Invalid UTF-8 is kept byte for byte. */
    assert_string_equal(csv("a\xff" "b"), "a\xff" "b");
    const char *tricky[] = { "a,\"b\"\r\nc", "\"\"", ",", "x\"", "\xe2\x82\xac,\xff" };
    for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++) {
        csv_read(csv(tricky[i]), back, sizeof back);
        assert_string_equal(back, tricky[i]);
    }
}

static void test_csv_every_control_byte(void **state)
{
    (void)state;
    char in[4], want[8], back[8];
    for (int c = 1; c <= 0x7f; c++) {
        if (c >= 0x20 && c != 0x7f)
            continue;
        snprintf(in, sizeof in, "a%cb", c);
        snprintf(want, sizeof want, "\"a%cb\"", c);
        assert_string_equal(csv(in), want);         /* quoted, byte kept */
        csv_read(out, back, sizeof back);
        assert_string_equal(back, in);
    }
}

/* ---- HTML ---------------------------------------------------------------------- */

static void test_html_specials(void **state)
{
    (void)state;
    const char *s = "a & b < c > d \"e\" 'f'";
    const char *want = "a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39;";
    assert_string_equal(html(s, ESC_HTML_TEXT), want);
    assert_string_equal(html(s, ESC_HTML_ATTR), want);
    assert_string_equal(html("&amp;", ESC_HTML_TEXT), "&amp;amp;");
    assert_string_equal(html("</script>", ESC_HTML_TEXT), "&lt;/script&gt;");
    assert_string_equal(html("\" onload=\"x", ESC_HTML_ATTR), "&quot; onload=&quot;x");
    assert_string_equal(html("back\\slash \xc3\xa9", ESC_HTML_TEXT), "back\\slash \xc3\xa9");
}

static void test_html_every_control_byte(void **state)
{
    (void)state;
    char in[4];
    for (int c = 1; c <= 0x7f; c++) {
        if (c >= 0x20 && c != 0x7f)
            continue;
        snprintf(in, sizeof in, "a%cb", c);
        char want_t[sizeof out], want_a[sizeof out];
        strcpy(want_t, html(in, ESC_HTML_TEXT));
        strcpy(want_a, html(in, ESC_HTML_ATTR));
        switch (c) {
        case '\t':
            assert_string_equal(want_t, "a\tb");
            assert_string_equal(want_a, "a&#9;b");
            break;
        case '\n':
            assert_string_equal(want_t, "a\nb");
            assert_string_equal(want_a, "a&#10;b");
            break;
        case '\r':
            assert_string_equal(want_t, "a&#13;b");
            assert_string_equal(want_a, "a&#13;b");
            break;
        default:
            assert_string_equal(want_t, "a\xef\xbf\xbd" "b");
            assert_string_equal(want_a, "a\xef\xbf\xbd" "b");
        }
    }
    /* C1 controls and the XML noncharacters, though valid UTF-8, too. */
    assert_string_equal(html("\xc2\x85\xef\xbf\xbe", ESC_HTML_TEXT), "\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_html_invalid_utf8(void **state)
{
    (void)state;
    assert_string_equal(html("a\xff" "b", ESC_HTML_TEXT), "a\xef\xbf\xbd" "b");
    assert_string_equal(html("\xe2\x82<", ESC_HTML_ATTR), "\xef\xbf\xbd\xef\xbf\xbd&lt;");
    assert_string_equal(html("\xe2\x82\xac", ESC_HTML_ATTR), "\xe2\x82\xac");
}

/* ---- Markdown, sinks ----------------------------------------------------------- */

static void test_md_cell(void **state)
{
    (void)state;
    assert_string_equal(md("a|b"), "a\\|b");
    assert_string_equal(md("two\r\nlines"), "two  lines");
    assert_string_equal(md("`code`"), "'code'");
    assert_string_equal(md("p95(ttft) < 500ms"), "p95(ttft) < 500ms");
}

static void test_sinks(void **state)
{
    (void)state;
    char small[8];
    struct esc_buf b = { small, sizeof small, 0, 0 };
    esc_json("abcdefghij", 10, esc_sink_buf, &b);
    assert_true(b.overflow);
    assert_int_equal(b.len, 7);
    assert_string_equal(small, "\"abcdef");
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    assert_non_null(f);
    esc_csv("a,b", esc_sink_file, f);
    fclose(f);
    assert_string_equal(mem, "\"a,b\"");
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_json_quotes_backslashes),
        cmocka_unit_test(test_json_every_control_byte),
        cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_json_script),
        cmocka_unit_test(test_csv_fields),
        cmocka_unit_test(test_csv_every_control_byte),
        cmocka_unit_test(test_html_specials),
        cmocka_unit_test(test_html_every_control_byte),
        cmocka_unit_test(test_html_invalid_utf8),
        cmocka_unit_test(test_md_cell),
        cmocka_unit_test(test_sinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
