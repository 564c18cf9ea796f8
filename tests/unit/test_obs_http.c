/* The /metrics listener (src/observe/obs_http.c) on a real loop: a client
 * thread talks to it over loopback while the test's thread runs the loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <uv.h>

#include "obs_http.h"

struct fixture {
    uv_loop_t loop;
    uv_async_t done;
    struct obs_http *h;
    int port;
    int calls;
    int fail_next;
};

static int provider(void *ud, FILE *out, enum obs_format fmt)
{
    struct fixture *fx = ud;
    fx->calls++;
    if (fx->fail_next) {
        fx->fail_next = 0;
        return -1;
    }
    fprintf(out, "# TYPE t gauge\nt %d\n%s", fx->calls, fmt == OBS_FMT_OPENMETRICS ? "# EOF\n" : "");
    return 0;
}

static int dial(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval tv = { 10, 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        close(s);
        return -1;
    }
    return s;
}

/* Sends req, reads to EOF into buf; returns the length, or -1 on a read error
 * (a timeout: the server kept the connection open). */
static ssize_t exchange_on(int s, const char *req, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    if (len && write(s, req, len) != (ssize_t)len)
        return -1;
    for (;;) {
        ssize_t r = read(s, buf + n, cap - 1 - n);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

static ssize_t exchange(int port, const char *req, char *buf, size_t cap)
{
    int s = dial(port);
    if (s < 0)
        return -1;
    ssize_t n = exchange_on(s, req, strlen(req), buf, cap);
    close(s);
    return n;
}

/* Everything the client checks; failures are counted, not asserted, because
 * cmocka's asserts belong to the test's thread. */
static int failures;
#define CHECK(cond) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

static void *client(void *arg)
{
    struct fixture *fx = arg;
    static char buf[1 << 16];
    ssize_t n;

    n = exchange(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
    CHECK(n > 0 && !strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
    CHECK(strstr(buf, "\r\nContent-Type: " OBS_CT_PROMETHEUS "\r\n") != NULL);
    CHECK(strstr(buf, "\r\nConnection: close\r\n") != NULL);
    CHECK(strstr(buf, "\r\nContent-Length: 19\r\n") != NULL);
    CHECK(strstr(buf, "\r\n\r\n") && !strcmp(strstr(buf, "\r\n\r\n"), "\r\n\r\n# TYPE t gauge\nt 1\n"));

    /* Prometheus' own Accept header picks OpenMetrics; a query string is fine */
    n = exchange(fx->port, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-"
                           "text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n\r\n", buf, sizeof buf);
    CHECK(n > 0 && strstr(buf, "Content-Type: " OBS_CT_OPENMETRICS "\r\n") != NULL);
    CHECK(strstr(buf, "t 2\n# EOF\n") != NULL);

    n = exchange(fx->port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
    CHECK(n > 0 && !strncmp(buf, "HTTP/1.1 200 OK\r\n", 17));
    CHECK(strstr(buf, "Content-Length: 19\r\n") && !strcmp(strstr(buf, "\r\n\r\n"), "\r\n\r\n"));

    n = exchange(fx->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
    CHECK(n > 0 && !strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24));
    n = exchange(fx->port, "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
    CHECK(n > 0 && !strncmp(buf, "HTTP/1.1 404 ", 13));
    n = exchange(fx->port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab", buf,
                 sizeof buf);
    CHECK(n > 0 && !strncmp(buf, "HTTP/1.1 405 ", 13) && strstr(buf, "\r\nAllow: GET, HEAD\r\n"));
    n = exchange(fx->port, "\x01\x02 nonsense\r\n\r\n", buf, sizeof buf);
    CHECK(n > 0 && !strncmp(buf, "HTTP/1.1 400 ", 13));

    /* a request header past the bound */
    static char big[OBS_HTTP_MAX_REQUEST + 4096];
    int off = snprintf(big, sizeof big, "GET /metrics HTTP/1.1\r\nX-Pad: ");
    memset(big + off, 'a', sizeof big - (size_t)off - 1);
    big[sizeof big - 1] = '\0';
    int s = dial(fx->port);
    n = exchange_on(s, big, strlen(big), buf, sizeof buf);
    close(s);
    CHECK(n > 0 && !strncmp(buf, "HTTP/1.1 431 ", 13));

    /* the provider failing is a 500, not a broken connection */
    fx->fail_next = 1;
    n = exchange(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
    CHECK(n > 0 && !strncmp(buf, "HTTP/1.1 500 ", 13));

    /* The connection cap: idle connections fill it, the next one is closed
     * at once, and it frees again when they go. */
    int idle[OBS_HTTP_MAX_CONNS];
    for (int i = 0; i < OBS_HTTP_MAX_CONNS; i++)
        idle[i] = dial(fx->port);
    /* one byte each: the server has accepted all of them once it answers
     * the last, partial request never (it waits), so probe with a 5th */
    s = dial(fx->port);
    n = exchange_on(s, "", 0, buf, sizeof buf);
    close(s);
    CHECK(n == 0);                      /* closed without an answer */
    for (int i = 0; i < OBS_HTTP_MAX_CONNS; i++)
        close(idle[i]);
    int ok = 0;
    for (int attempt = 0; attempt < 1000 && !ok; attempt++) {
        n = exchange(fx->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf);
        ok = n > 0 && !strncmp(buf, "HTTP/1.1 200 ", 13);
    }
    CHECK(ok);
    uv_async_send(&fx->done);
    return NULL;
}

static void on_done(uv_async_t *a)
{
    struct fixture *fx = a->data;
    obs_http_stop(fx->h);
    uv_close((uv_handle_t *)a, NULL);
}

static void test_serve(void **state)
{
    (void)state;
    struct fixture fx = { 0 };
    char err[256];
    pthread_t th;
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    fx.h = obs_http_start(&fx.loop, "127.0.0.1:0", provider, &fx, err, sizeof err);
    assert_non_null(fx.h);
    fx.port = obs_http_port(fx.h);
    assert_true(fx.port > 0);
    uv_async_init(&fx.loop, &fx.done, on_done);
    fx.done.data = &fx;
    failures = 0;
    assert_int_equal(pthread_create(&th, NULL, client, &fx), 0);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    assert_int_equal(failures, 0);
    assert_int_equal(uv_loop_close(&fx.loop), 0);
}

static void test_bad_address(void **state)
{
    (void)state;
    uv_loop_t loop;
    char err[256];
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_null(obs_http_start(&loop, "nonsense", provider, NULL, err, sizeof err));
    assert_non_null(strstr(err, "expected HOST:PORT"));
    assert_null(obs_http_start(&loop, "127.0.0.1:99999", provider, NULL, err, sizeof err));
    /* a port already taken */
    struct obs_http *a = obs_http_start(&loop, "127.0.0.1:0", provider, NULL, err, sizeof err);
    assert_non_null(a);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", obs_http_port(a));
    assert_null(obs_http_start(&loop, addr, provider, NULL, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen"));
    obs_http_stop(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve),
        cmocka_unit_test(test_bad_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
