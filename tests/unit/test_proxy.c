/* engine/proxy: proxy URLs (credentials decoded, never quoted), NO_PROXY
 * matching with curl's conventions, the choice between --proxy and the
 * environment, the CONNECT request, and the proxy's reply read split at
 * every byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"
#include "proxy.h"
#include "secret.h"

static char err[512];

static int setup(void **state)
{
    (void)state;
    secret_clear();
    static const char *const vars[] = {
        "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
        "no_proxy", "NO_PROXY",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    return 0;
}

static void test_url_plain(void **state)
{
    (void)state;
    struct proxy p;
    assert_int_equal(proxy_parse_url(&p, "http://proxy.example:3128", "--proxy", err, sizeof err), 0);
    assert_string_equal(p.host, "proxy.example");
    assert_int_equal(p.port, 3128);
    assert_string_equal(p.hostport, "proxy.example:3128");
    assert_string_equal(p.auth, "");
    assert_string_equal(p.shown, "http://proxy.example:3128");
    /* No scheme and no port: http, and curl's 1080; a trailing slash is fine. */
    assert_int_equal(proxy_parse_url(&p, "10.0.0.1/", "HTTP_PROXY", err, sizeof err), 0);
    assert_string_equal(p.host, "10.0.0.1");
    assert_int_equal(p.port, 1080);
    assert_int_equal(proxy_parse_url(&p, "HTTP://[::1]:8080", "--proxy", err, sizeof err), 0);
    assert_string_equal(p.host, "::1");
    assert_string_equal(p.hostport, "[::1]:8080");
}

static void test_url_credentials(void **state)
{
    (void)state;
    struct proxy p;
    /* "Aladdin:open sesame" is RFC 7617's example: its Basic token is known. */
    assert_int_equal(proxy_parse_url(&p, "http://Aladdin:open%20sesame@127.0.0.1:3128", "--proxy",
                                     err, sizeof err), 0);
    assert_string_equal(p.auth, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    assert_string_equal(p.shown, "http://***@127.0.0.1:3128");
    assert_int_equal(p.port, 3128);
    /* The password, the pair and the token are secrets now. */
    char t[256];
    snprintf(t, sizeof t, "proxy says: bad password open sesame for Aladdin:open sesame, QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    secret_redact(t);
    assert_null(strstr(t, "open sesame"));
    assert_null(strstr(t, "QWxhZGRpbjpvcGVu"));
    /* An '@' in the password, unescaped: the last '@' ends the userinfo. */
    assert_int_equal(proxy_parse_url(&p, "u:p@ss@h:1", "--proxy", err, sizeof err), 0);
    assert_string_equal(p.host, "h");
    /* u:p@ss */
    assert_string_equal(p.auth, "Basic dTpwQHNz");
    /* A user without a password. */
    assert_int_equal(proxy_parse_url(&p, "http://bob@h:1", "--proxy", err, sizeof err), 0);
    assert_string_equal(p.auth, "Basic Ym9iOg==");
}

static void test_url_errors_never_quote(void **state)
{
    (void)state;
    struct proxy p;
    static const char *const bad[] = {
        "https://user:hunter2secret@h:1",   /* TLS to the proxy: not supported */
        "socks5://user:hunter2secret@h:1",
        "http://user:hunter2secret@h:0",
        "http://user:hunter2secret@h:99999",
        "http://user:hunter2secret@h:1/path",
        "http://user:hunter2secret%zz@h:1",
        "http://user:hunter2secret%0a@h:1",
        "http://user:hunter2secret@",
        "http://user:hunter2secret@[::1:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(proxy_parse_url(&p, bad[i], "HTTPS_PROXY", err, sizeof err), -1);
        assert_non_null(strstr(err, "HTTPS_PROXY"));
        assert_null(strstr(err, "hunter2"));
    }
}

static void test_hostport(void **state)
{
    (void)state;
    char host[16];
    int port;
    const char *end;
    assert_int_equal(hostport_parse("example.com:8080/v1", host, sizeof host, &port, &end), HOSTPORT_OK);
    assert_string_equal(host, "example.com");
    assert_int_equal(port, 8080);
    assert_string_equal(end, "/v1");
    assert_int_equal(hostport_parse("h?x", host, sizeof host, &port, &end), HOSTPORT_OK);
    assert_int_equal(port, 0);
    assert_string_equal(end, "?x");
    assert_int_equal(hostport_parse("[::1]:1", host, sizeof host, &port, &end), HOSTPORT_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 1);
    assert_string_equal(end, "");
    assert_int_equal(hostport_parse("[::1]x", host, sizeof host, &port, &end), HOSTPORT_OK);
    assert_string_equal(end, "x");
    assert_int_equal(hostport_parse("[::1", host, sizeof host, &port, &end), HOSTPORT_BRACKET);
    assert_int_equal(hostport_parse("a-very-long-host-name", host, sizeof host, &port, &end), HOSTPORT_LONG);
    assert_int_equal(hostport_parse(":80", host, sizeof host, &port, &end), HOSTPORT_EMPTY);
    assert_int_equal(hostport_parse("[]:80", host, sizeof host, &port, &end), HOSTPORT_EMPTY);
    assert_int_equal(hostport_parse("h:", host, sizeof host, &port, &end), HOSTPORT_PORT);
    assert_int_equal(hostport_parse("h:0", host, sizeof host, &port, &end), HOSTPORT_PORT);
    assert_int_equal(hostport_parse("h:65536", host, sizeof host, &port, &end), HOSTPORT_PORT);
    assert_int_equal(hostport_parse("h:x", host, sizeof host, &port, &end), HOSTPORT_PORT);
    assert_int_equal(hostport_parse("h:65535#f", host, sizeof host, &port, &end), HOSTPORT_OK);
    assert_int_equal(port, 65535);
    assert_string_equal(end, "#f");
}

static void test_no_proxy(void **state)
{
    (void)state;
    /* Names: the host itself and every host under it, any case, a leading
     * dot ignored; not a host that merely ends with the same letters. */
    assert_true(proxy_no_proxy_match("example.com", "example.com"));
    assert_true(proxy_no_proxy_match("example.com", "api.EXAMPLE.com"));
    assert_true(proxy_no_proxy_match(".example.com", "api.example.com"));
    assert_true(proxy_no_proxy_match(".example.com", "example.com"));
    assert_false(proxy_no_proxy_match("example.com", "badexample.com"));
    assert_false(proxy_no_proxy_match("api.example.com", "example.com"));
    assert_true(proxy_no_proxy_match("example.com", "example.com."));
    /* Lists, blanks, empty entries. */
    assert_true(proxy_no_proxy_match("foo, ,bar.org , localhost", "localhost"));
    assert_true(proxy_no_proxy_match("foo,bar.org", "x.bar.org"));
    assert_false(proxy_no_proxy_match("foo,bar.org", "baz.org"));
    assert_false(proxy_no_proxy_match("", "localhost"));
    assert_false(proxy_no_proxy_match(NULL, "localhost"));
    /* "*" alone is every host; inside a name it is no wildcard. */
    assert_true(proxy_no_proxy_match("*", "anything.example"));
    assert_true(proxy_no_proxy_match("a.org, *", "10.1.2.3"));
    assert_false(proxy_no_proxy_match("*.example.com", "api.example.com"));
    /* Addresses: exact and CIDR, v4 and v6; a name never matches an IP entry. */
    assert_true(proxy_no_proxy_match("127.0.0.1", "127.0.0.1"));
    assert_false(proxy_no_proxy_match("127.0.0.1", "127.0.0.2"));
    assert_true(proxy_no_proxy_match("10.0.0.0/8", "10.200.3.4"));
    assert_false(proxy_no_proxy_match("10.0.0.0/8", "11.0.0.1"));
    assert_true(proxy_no_proxy_match("192.168.1.0/23", "192.168.0.9"));
    assert_false(proxy_no_proxy_match("192.168.1.0/24", "192.168.0.9"));
    assert_true(proxy_no_proxy_match("0.0.0.0/0", "8.8.8.8"));
    assert_true(proxy_no_proxy_match("::1", "::1"));
    assert_true(proxy_no_proxy_match("[::1]", "::1"));
    assert_true(proxy_no_proxy_match("fd00::/8", "fd12:3456::1"));
    assert_false(proxy_no_proxy_match("fd00::/8", "fe80::1"));
    assert_false(proxy_no_proxy_match("10.0.0.0/8", "localhost"));
    assert_false(proxy_no_proxy_match("10.0.0.0/8", "::1"));
    /* A malformed network exempts nothing. */
    assert_false(proxy_no_proxy_match("10.0.0.0/33", "10.0.0.1"));
    assert_false(proxy_no_proxy_match("10.0.0.0/x", "10.0.0.1"));
    /* Ports are not part of an entry: "host:port" matches nothing. */
    assert_false(proxy_no_proxy_match("example.com:8080", "example.com"));
}

static void test_pick(void **state)
{
    (void)state;
    const char *src;
    assert_null(proxy_pick(NULL, 0, "h", &src));
    assert_null(src);
    setenv("HTTP_PROXY", "http://upper:1", 1);
    assert_string_equal(proxy_pick(NULL, 0, "h", &src), "http://upper:1");
    assert_string_equal(src, "HTTP_PROXY");
    setenv("http_proxy", "http://lower:1", 1);
    assert_string_equal(proxy_pick(NULL, 0, "h", &src), "http://lower:1");
    assert_string_equal(src, "http_proxy");
    /* An https target reads only the https variables, then ALL_PROXY. */
    assert_null(proxy_pick(NULL, 1, "h", &src));
    setenv("ALL_PROXY", "http://all:1", 1);
    assert_string_equal(proxy_pick(NULL, 1, "h", &src), "http://all:1");
    setenv("HTTPS_PROXY", "http://secure:1", 1);
    assert_string_equal(proxy_pick(NULL, 1, "h", &src), "http://secure:1");
    assert_string_equal(src, "HTTPS_PROXY");
    /* An empty variable is unset. */
    setenv("http_proxy", "", 1);
    assert_string_equal(proxy_pick(NULL, 0, "h", &src), "http://upper:1");
    /* --proxy wins; '' is none. */
    assert_string_equal(proxy_pick("http://given:1", 0, "h", &src), "http://given:1");
    assert_string_equal(src, "--proxy");
    assert_null(proxy_pick("", 0, "h", &src));
    assert_null(src);
    /* NO_PROXY exempts from the environment's and from --proxy alike. */
    setenv("NO_PROXY", "h,127.0.0.0/8", 1);
    assert_null(proxy_pick(NULL, 0, "h", &src));
    assert_null(proxy_pick("http://given:1", 0, "127.0.0.1", &src));
    assert_string_equal(proxy_pick(NULL, 0, "other", &src), "http://upper:1");
    setenv("no_proxy", "other", 1);   /* lower case first */
    assert_null(proxy_pick(NULL, 0, "other", &src));
    assert_string_equal(proxy_pick(NULL, 0, "h", &src), "http://upper:1");
}

static void test_connect_request(void **state)
{
    (void)state;
    struct proxy p;
    char buf[512];
    assert_int_equal(proxy_parse_url(&p, "http://127.0.0.1:3128", "--proxy", err, sizeof err), 0);
    size_t n = proxy_connect_request(&p, "api.example:443", buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n");
    assert_int_equal(proxy_parse_url(&p, "http://Aladdin:open%20sesame@127.0.0.1:3128", "--proxy", err, sizeof err), 0);
    n = proxy_connect_request(&p, "[::1]:8000", buf, sizeof buf);
    assert_string_equal(buf, "CONNECT [::1]:8000 HTTP/1.1\r\nHost: [::1]:8000\r\n"
                             "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
    assert_int_equal(proxy_connect_request(&p, "[::1]:8000", buf, 20), 0);
}

/* Feeds reply in two pieces cut at `cut` (0 or len: one piece); returns
 * the outcome, the status, and how many bytes after the reply's head were
 * left unused. */
static int feed_split(const char *reply, size_t len, size_t cut, int *status, size_t *left)
{
    struct proxy_reply r;
    proxy_reply_init(&r);
    size_t pos = 0;
    int rc = 0;
    while (pos < len) {
        size_t n = cut && pos < cut ? cut - pos : len - pos;
        size_t used = 0;
        rc = proxy_reply_feed(&r, reply + pos, n, &used);
        assert_true(used <= n);
        if (rc != 0) {
            *status = r.status;
            *left = len - pos - used;
            return rc;
        }
        assert_int_equal(used, n);
        pos += n;
    }
    *status = 0;
    *left = 0;
    return rc;
}

static void check_every_split(const char *reply, size_t tail, int want_rc, int want_status)
{
    size_t len = strlen(reply);
    for (size_t cut = 0; cut <= len; cut++) {
        int status;
        size_t left;
        int rc = feed_split(reply, len, cut, &status, &left);
        assert_int_equal(rc, want_rc);
        if (want_rc == 1) {
            assert_int_equal(status, want_status);
            /* What follows the head is the tunnel's, wherever the cut. */
            assert_int_equal(left, tail);
        }
    }
    /* Byte by byte. */
    struct proxy_reply r;
    proxy_reply_init(&r);
    int rc = 0;
    size_t i;
    for (i = 0; i < len && rc == 0; i++) {
        size_t used;
        rc = proxy_reply_feed(&r, reply + i, 1, &used);
        if (rc == 1)
            assert_int_equal(used, 1);
    }
    assert_int_equal(rc, want_rc);
    if (want_rc == 1) {
        assert_int_equal(r.status, want_status);
        assert_int_equal(i, len - tail);
    }
}

static void test_reply_split_everywhere(void **state)
{
    (void)state;
    check_every_split("HTTP/1.1 200 Connection established\r\n\r\n", 0, 1, 200);
    check_every_split("HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n", 0, 1, 200);
    /* A 200 with a length means nothing: the tunnel starts after the head. */
    check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n\x16\x03\x01\x02\x05", 5, 1, 200);
    check_every_split("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n"
                      "Content-Length: 11\r\n\r\nauth needed", 11, 1, 407);
    check_every_split("HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n\r\n<html>no</html>", 15, 1, 403);
    check_every_split("HTTP/1.1 502 Bad Gateway\r\n\r\n", 0, 1, 502);
    /* Not HTTP at all. */
    check_every_split("SSH-2.0-OpenSSH_9.2\r\n", 0, -1, 0);
}

static void test_reply_incomplete(void **state)
{
    (void)state;
    struct proxy_reply r;
    size_t used;
    proxy_reply_init(&r);
    assert_int_equal(proxy_reply_feed(&r, "HTTP/1.1 200 OK\r\n", 17, &used), 0);
    assert_int_equal(used, 17);
    assert_int_equal(r.done, 0);
    assert_int_equal(proxy_reply_feed(&r, "\r\n", 2, &used), 1);
    assert_int_equal(used, 2);
    /* Once done, it says so again and takes nothing. */
    assert_int_equal(proxy_reply_feed(&r, "abc", 3, &used), 1);
    assert_int_equal(used, 0);
}

static void test_refusal_text(void **state)
{
    (void)state;
    struct proxy p;
    char buf[512];
    assert_int_equal(proxy_parse_url(&p, "http://u:hunter2secret@127.0.0.1:3128", "--proxy", err, sizeof err), 0);
    proxy_refusal(&p, "h:80", 407, buf, sizeof buf);
    assert_non_null(strstr(buf, "127.0.0.1:3128"));
    assert_non_null(strstr(buf, "h:80"));
    assert_non_null(strstr(buf, "407"));
    assert_null(strstr(buf, "hunter2"));
    assert_true(proxy_auth_refused(407));
    assert_true(proxy_auth_refused(401));
    assert_false(proxy_auth_refused(403));
    proxy_refusal(&p, "h:80", 502, buf, sizeof buf);
    assert_non_null(strstr(buf, "502"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_url_plain, setup),
        cmocka_unit_test_setup(test_url_credentials, setup),
        cmocka_unit_test_setup(test_url_errors_never_quote, setup),
        cmocka_unit_test_setup(test_hostport, setup),
        cmocka_unit_test_setup(test_no_proxy, setup),
        cmocka_unit_test_setup(test_pick, setup),
        cmocka_unit_test_setup(test_connect_request, setup),
        cmocka_unit_test_setup(test_reply_split_everywhere, setup),
        cmocka_unit_test_setup(test_reply_incomplete, setup),
        cmocka_unit_test_setup(test_refusal_text, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
