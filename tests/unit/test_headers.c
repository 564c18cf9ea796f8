/* engine/headers: --header values checked (RFC 9110 tokens, no control
 * characters), llmload's own headers refused, secret unless public, and
 * the lines every request carries. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"
#include "secret.h"
#include "target.h"

static char err[512];
static struct headers hs;

static int setup(void **state)
{
    (void)state;
    secret_clear();
    memset(&hs, 0, sizeof hs);
    return 0;
}

static void test_add_and_lines(void **state)
{
    (void)state;
    assert_int_equal(headers_add(&hs, "api-key:  azure-SECRET-123 \t", "--header", err, sizeof err), 0);
    assert_int_equal(headers_add(&hs, "X-Tenant:acme", "--header", err, sizeof err), 0);
    assert_int_equal(headers_add(&hs, "User-Agent:", "--header", err, sizeof err), 0);
    assert_string_equal(hs.h[0].name, "api-key");
    assert_string_equal(hs.h[0].value, "azure-SECRET-123");
    assert_string_equal(hs.h[1].value, "acme");
    assert_int_equal(headers_mark_public(&hs, "x-tenant", "--header-public", err, sizeof err), 0);
    assert_int_equal(headers_finish(&hs, err, sizeof err), 0);
    /* An empty value is sent as nothing: it only removes llmload's own. */
    assert_string_equal(hs.lines, "api-key: azure-SECRET-123\r\nX-Tenant: acme\r\n");
    assert_int_equal(hs.lines_len, strlen(hs.lines));
    assert_true(headers_has(&hs, "USER-AGENT"));
    assert_true(headers_has(&hs, "Api-Key"));
    assert_false(headers_has(&hs, "Authorization"));
    assert_false(headers_has(NULL, "Authorization"));
    /* The secret one is redacted from what a server says; the public one is not. */
    char t[128];
    snprintf(t, sizeof t, "bad key azure-SECRET-123 for tenant acme");
    secret_redact(t);
    assert_string_equal(t, "bad key *** for tenant acme");
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const owned[] = {
        "Host: x", "content-length: 5", "Transfer-Encoding: chunked", "CONNECTION: close",
        "X-Request-Id: 1", "Proxy-Authorization: Basic abc",
    };
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        assert_int_equal(headers_add(&hs, owned[i], "--header", err, sizeof err), -1);
        assert_non_null(strstr(err, "set by llmload"));
    }
    /* Not a token: the value is never quoted. */
    assert_int_equal(headers_add(&hs, "X Key: secret-value-1", "--header", err, sizeof err), -1);
    assert_null(strstr(err, "secret-value-1"));
    assert_int_equal(headers_add(&hs, "X(Key): v", "--header", err, sizeof err), -1);
    assert_int_equal(headers_add(&hs, ": v", "--header", err, sizeof err), -1);
    assert_int_equal(headers_add(&hs, "NoColon", "--header", err, sizeof err), -1);
    /* CR, LF and other control characters: a second header smuggled in. */
    assert_int_equal(headers_add(&hs, "X-Key: secret-value-1\r\nHost: evil", "--header", err, sizeof err), -1);
    assert_null(strstr(err, "secret-value-1"));
    assert_non_null(strstr(err, "X-Key"));
    assert_int_equal(headers_add(&hs, "X-Key: a\nb", "--header", err, sizeof err), -1);
    assert_int_equal(headers_add(&hs, "X-Key: a\x01" "b", "--header", err, sizeof err), -1);
    assert_int_equal(headers_add(&hs, "X-Key: a\x7f", "--header", err, sizeof err), -1);
    /* A tab inside is fine. */
    assert_int_equal(headers_add(&hs, "X-Key: a\tb", "--header", err, sizeof err), 0);
    /* Every token character is allowed in a name. */
    assert_int_equal(headers_add(&hs, "!#$%&'*+-.^_`|~09azAZ: v", "--header", err, sizeof err), 0);
    /* --header-public of a name no --header gave. */
    assert_int_equal(headers_mark_public(&hs, "X-Other", "--header-public", err, sizeof err), -1);
    assert_non_null(strstr(err, "X-Other"));
}

static void test_limits(void **state)
{
    (void)state;
    char h[64];
    for (int i = 0; i < HEADERS_MAX; i++) {
        snprintf(h, sizeof h, "X-%d: v", i);
        assert_int_equal(headers_add(&hs, h, "--header", err, sizeof err), 0);
    }
    assert_int_equal(headers_add(&hs, "X-more: v", "--header", err, sizeof err), -1);
    memset(&hs, 0, sizeof hs);
    static char big[HEADERS_BYTES + 8];
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', HEADERS_BYTES);
    big[HEADERS_BYTES + 7] = 0;
    assert_int_equal(headers_add(&hs, big, "--header", err, sizeof err), -1);
    /* Right at the bound: the lines still fit. */
    big[HEADERS_BYTES - 4] = 0;   /* name 5 + value HEADERS_BYTES - 11 + 4 = HEADERS_BYTES - 2 */
    assert_int_equal(headers_add(&hs, big, "--header", err, sizeof err), 0);
    assert_int_equal(headers_finish(&hs, err, sizeof err), 0);
    assert_int_equal(hs.lines_len, strlen(hs.lines));
    assert_true(hs.lines_len < sizeof hs.lines);
}

/* The request head: the user's replace llmload's defaults, the key yields
 * to an Authorization header (the CLI drops it), a forward proxy gets the
 * whole URL and its credentials. */
static void test_request_head(void **state)
{
    (void)state;
    struct target t;
    char buf[2048];
    assert_int_equal(target_parse_url(&t, "http://127.0.0.1:8000/v1", err, sizeof err), 0);
    assert_true(target_request_head(&t, "POST", "/v1/chat/completions", "text/event-stream", 1,
                                    buf, sizeof buf) > 0);
    assert_string_equal(buf, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
                             "User-Agent: llmload/" LLMLOAD_VERSION "\r\nAccept: text/event-stream\r\n"
                             "Content-Type: application/json\r\nAccept-Encoding: identity\r\n");
    assert_int_equal(headers_add(&hs, "User-Agent: gateway-test", "--header", err, sizeof err), 0);
    assert_int_equal(headers_add(&hs, "Accept-Encoding:", "--header", err, sizeof err), 0);
    assert_int_equal(headers_add(&hs, "x-api-key: k-123", "--header", err, sizeof err), 0);
    assert_int_equal(headers_finish(&hs, err, sizeof err), 0);
    t.headers = &hs;
    t.api_key = "sk-1";
    assert_int_equal(proxy_parse_url(&t.proxy, "http://u:pw@127.0.0.1:3128", "--proxy", err, sizeof err), 0);
    t.via = PROXY_FORWARD;
    int n = target_request_head(&t, "GET", "/v1/models", "application/json", 0, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "GET http://127.0.0.1:8000/v1/models HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
                             "Accept: application/json\r\nAuthorization: Bearer sk-1\r\n"
                             "Proxy-Authorization: Basic dTpwdw==\r\n"
                             "User-Agent: gateway-test\r\nx-api-key: k-123\r\n");
    /* Through a tunnel the request is the origin's: no proxy credentials. */
    t.via = PROXY_TUNNEL;
    target_request_head(&t, "GET", "/v1/models", "application/json", 0, buf, sizeof buf);
    assert_null(strstr(buf, "Proxy-Authorization"));
    assert_non_null(strstr(buf, "GET /v1/models HTTP/1.1\r\n"));
    assert_int_equal(target_request_head(&t, "GET", "/v1/models", "application/json", 0, buf, 40), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_add_and_lines, setup),
        cmocka_unit_test_setup(test_refused, setup),
        cmocka_unit_test_setup(test_limits, setup),
        cmocka_unit_test_setup(test_request_head, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
