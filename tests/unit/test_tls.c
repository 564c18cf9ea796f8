/* The client's TLS sessions (engine/tls.c) against the simulator's server
 * sessions (mock/mock_tls.c), in memory: the bytes each side takes out are
 * handed to the other, one byte at a time or whole, with no socket.  The
 * server's certificate is the one `llmload mock --tls` makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "mock.h"
#include "mock_tls.h"
#include "tls.h"
#include "tls_rx.h"

/* Sessions of pair_new read their records with tls_rx.c (fast_read). */
static int fast;

struct pair {
    char dir[64], ca[96];
    struct mtls_ctx *srv_ctx;
    struct tls_ctx *cli_ctx;
    struct ssl_st *srv;
    struct tls_sess cli;
    int lend;                         /* the client reads in place (tls_lend) */
    char got[4096]; size_t got_len;   /* plaintext the server read */
};

static struct pair *pair_new(const char *host, int insecure, int use_ca)
{
    struct pair *p = calloc(1, sizeof *p);
    assert_non_null(p);
    snprintf(p->dir, sizeof p->dir, "/tmp/llmload-tls-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->ca, sizeof p->ca, "%s/ca.pem", p->dir);
    struct mock_config mc;
    memset(&mc, 0, sizeof mc);
    mc.tls = 1;
    mc.tls_ca_out = p->ca;
    char err[256] = "";
    p->srv_ctx = mtls_ctx_new(&mc, err, sizeof err);
    assert_non_null(p->srv_ctx);
    struct tls_opts o = { .cacert = use_ca ? p->ca : NULL, .insecure = insecure, .fast_read = fast };
    p->cli_ctx = tls_ctx_new(&o, err, sizeof err);
    assert_non_null(p->cli_ctx);
    assert_int_equal(tls_start(&p->cli, p->cli_ctx, host), 0);
    p->srv = mtls_accept(p->srv_ctx);
    assert_non_null(p->srv);
    return p;
}

static void pair_free(struct pair *p)
{
    mtls_free(p->srv);
    tls_sess_free(&p->cli);
    tls_ctx_free(p->cli_ctx);
    mtls_ctx_free(p->srv_ctx);
    unlink(p->ca);
    rmdir(p->dir);
    free(p);
}

/* Client -> server: feeds the server `step` bytes at a time (0: all) and
 * collects any plaintext it reads. */
static void to_server(struct pair *p, size_t step)
{
    const char *b;
    size_t n;
    while ((n = tls_take(&p->cli, &b)) > 0) {
        for (size_t off = 0; off < n;) {
            size_t k = step && n - off > step ? step : n - off;
            assert_int_equal(mtls_feed(p->srv, b + off, k), 0);
            off += k;
            const char *why = NULL;
            ssize_t r;
            while ((r = mtls_read(p->srv, p->got + p->got_len, sizeof p->got - p->got_len, &why)) > 0)
                p->got_len += (size_t)r;
            if (r < 0) {   /* only the alert of a client that refused the server */
                assert_int_not_equal(p->cli.fail, 0);
                return;
            }
        }
    }
}

/* Server -> client: its pending output, `step` bytes at a time, copied
 * (tls_feed) or lent (tls_lend): then the lent bytes are scribbled over
 * once given back, as a socket read's buffer is by the next read, so a
 * byte the session left unread and did not keep would be lost. */
static int to_client(struct pair *p, size_t step, char *plain, size_t *plain_len)
{
    char buf[32768];
    size_t n = mtls_take(p->srv, buf, sizeof buf);
    int hs = TLS_WANT;
    for (size_t off = 0; off < n;) {
        size_t k = step && n - off > step ? step : n - off;
        if (p->lend)
            assert_int_equal(tls_lend(&p->cli, buf + off, k), 0);
        else
            assert_int_equal(tls_feed(&p->cli, buf + off, k), 0);
        if (!p->cli.done) {
            hs = tls_handshake(&p->cli);
            if (hs == TLS_ERR)
                return hs;
            to_server(p, step);
        }
        if (plain) {
            static char rd[TLS_RX_PLAIN_MAX];
            ssize_t r;
            while (tls_more(&p->cli) && (r = tls_read(&p->cli, rd, sizeof rd)) > 0) {
                assert_true(*plain_len + (size_t)r <= TLS_RX_PLAIN_MAX);
                memcpy(plain + *plain_len, rd, (size_t)r);
                *plain_len += (size_t)r;
            }
        }
        if (p->lend) {
            assert_int_equal(tls_unlend(&p->cli), 0);
            memset(buf + off, 0x5a, k);
        }
        off += k;
    }
    return p->cli.done ? TLS_OK : hs;
}

static int handshake(struct pair *p, size_t step)
{
    assert_int_equal(tls_handshake(&p->cli), TLS_WANT);   /* ClientHello out */
    to_server(p, step);
    int r = to_client(p, step, NULL, NULL);
    to_server(p, step);   /* the client's Finished */
    return r;
}

static void exchange(struct pair *p, size_t step)
{
    static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(tls_write(&p->cli, req, sizeof req - 1), 0);
    p->got_len = 0;
    to_server(p, step);
    assert_int_equal(p->got_len, sizeof req - 1);
    assert_memory_equal(p->got, req, sizeof req - 1);
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert_int_equal(mtls_write(p->srv, resp, sizeof resp - 1), 0);
    static char plain[TLS_RX_PLAIN_MAX];
    size_t len = 0;
    to_client(p, step, plain, &len);
    assert_int_equal(len, sizeof resp - 1);
    assert_memory_equal(plain, resp, sizeof resp - 1);
    /* Everything was read: nothing more to find. */
    assert_false(tls_more(&p->cli));
    assert_int_equal(tls_read(&p->cli, plain, sizeof plain), TLS_WANT);
}

static void test_handshake_and_data_whole(void **state)
{
    (void)state;
    struct pair *p = pair_new("127.0.0.1", 0, 1);
    assert_int_equal(handshake(p, 0), TLS_OK);
    assert_false(p->cli.resumed);
    assert_string_equal(tls_version(&p->cli), "TLSv1.3");
    exchange(p, 0);
    pair_free(p);
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    struct pair *p = pair_new("localhost", 0, 1);
    assert_int_equal(handshake(p, 1), TLS_OK);
    exchange(p, 1);
    pair_free(p);
}

/* Lent input: whole, and in pieces of 7 and 1 bytes, which cut records
 * (test_lent_rest_is_kept leaves bytes unread at the end of a read). */
static void test_lent_input(void **state)
{
    (void)state;
    static const size_t steps[] = { 0, 7, 1 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct pair *p = pair_new("localhost", 0, 1);
        p->lend = 1;
        assert_int_equal(handshake(p, steps[i]), TLS_OK);
        exchange(p, steps[i]);
        exchange(p, steps[i]);
        assert_non_null(p->cli.saved);   /* the tickets were read, not lost */
        pair_free(p);
    }
}

/* A read that stops after one record gives the rest back: the session
 * keeps it, and the next read finds it though the buffer was reused. */
static void test_lent_rest_is_kept(void **state)
{
    (void)state;
    struct pair *p = pair_new("localhost", 0, 1);
    p->lend = 1;
    assert_int_equal(handshake(p, 0), TLS_OK);
    assert_int_equal(mtls_write(p->srv, "one", 3), 0);
    assert_int_equal(mtls_write(p->srv, "two", 3), 0);
    static char buf[32768], plain[TLS_RX_PLAIN_MAX];
    size_t n = mtls_take(p->srv, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(tls_lend(&p->cli, buf, n), 0);
    assert_int_equal(tls_read(&p->cli, plain, sizeof plain), 3);   /* the tickets, then "one" */
    assert_memory_equal(plain, "one", 3);
    assert_true(tls_more(&p->cli));
    assert_int_equal(tls_unlend(&p->cli), 0);
    memset(buf, 0x5a, n);
    assert_true(tls_more(&p->cli));
    assert_int_equal(tls_read(&p->cli, plain, sizeof plain), 3);
    assert_memory_equal(plain, "two", 3);
    assert_false(tls_more(&p->cli));
    assert_int_equal(tls_read(&p->cli, plain, sizeof plain), TLS_WANT);
    exchange(p, 0);   /* lent again after kept bytes ran out */
    pair_free(p);
}

/* The reader of tls_rx.c: it takes over after the first response (whole
 * reads, and reads of 7 and 1 bytes, which cut records), and what it
 * reads is what the server wrote; the session tickets read before it
 * still resume. */
static void test_fast_read(void **state)
{
    (void)state;
    static const size_t steps[] = { 0, 7, 1 };
    /* The three AEADs of TLS 1.3 the reader takes (SHA-384 and SHA-256
     * secrets), each with every step. */
    static const char *const suites[] = { "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                          "TLS_CHACHA20_POLY1305_SHA256" };
    fast = 1;
    for (size_t i = 0; i < 3 * sizeof steps / sizeof steps[0]; i++) {
        struct pair *p = pair_new("localhost", 0, 1);
        p->lend = 1;
        assert_int_equal(SSL_set_ciphersuites(p->srv, suites[i / 3]), 1);
        assert_int_equal(handshake(p, steps[i % 3]), TLS_OK);
        assert_string_equal(SSL_CIPHER_get_name(SSL_get_current_cipher(p->cli.ssl)), suites[i / 3]);
        assert_false(tls_rx_on(p->cli.rx));
        exchange(p, steps[i % 3]);
        assert_true(tls_rx_on(p->cli.rx));
        exchange(p, steps[i % 3]);
        exchange(p, steps[i % 3]);
        assert_non_null(p->cli.saved);
        pair_free(p);
    }
    fast = 0;
}

/* A pair with fast_read whose handshake is done, lending its reads;
 * after one exchange when take_over, with the reader on. */
static struct pair *fast_pair(int take_over)
{
    struct pair *p = pair_new("localhost", 0, 1);
    p->lend = 1;
    assert_int_equal(handshake(p, 0), TLS_OK);
    if (take_over) {
        exchange(p, 0);
        assert_true(tls_rx_on(p->cli.rx));
    }
    return p;
}

/* A ticket of 3,000 bytes of application data, in records of 512: a
 * post-handshake message that spans records. */
static int big_ticket(SSL *ssl, void *arg)
{
    static unsigned char data[3000];
    (void)arg;
    return SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl), data, sizeof data);
}

/* Session tickets after the handover are passed over, also one that
 * spans records; a KeyUpdate before the handover leaves the session to
 * OpenSSL (the secret kept would be stale). */
static void test_fast_read_tickets_and_early_update(void **state)
{
    (void)state;
    fast = 1;
    for (int big = 0; big < 2; big++) {
        struct pair *p = fast_pair(1);
        if (big) {
            SSL_CTX_set_session_ticket_cb(SSL_get_SSL_CTX(p->srv), big_ticket, NULL, NULL);
            assert_int_equal(SSL_set_max_send_fragment(p->srv, 512), 1);
        }
        assert_int_equal(SSL_new_session_ticket(p->srv), 1);
        exchange(p, big ? 7 : 0);
        exchange(p, 0);
        assert_true(tls_rx_on(p->cli.rx));
        pair_free(p);
    }
    struct pair *p = fast_pair(0);
    assert_int_equal(SSL_key_update(p->srv, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    exchange(p, 0);
    assert_null(p->cli.rx);
    exchange(p, 0);
    exchange(p, 0);
    pair_free(p);
    fast = 0;
}

/* A server's KeyUpdate: the reader derives the next key, and when asked,
 * the client updates its own (OpenSSL writes it) before its next request,
 * which the server then reads. */
static void test_fast_read_key_update(void **state)
{
    (void)state;
    static const int how[] = { SSL_KEY_UPDATE_REQUESTED, SSL_KEY_UPDATE_NOT_REQUESTED };
    fast = 1;
    for (size_t i = 0; i < 2; i++) {
        struct pair *p = fast_pair(1);
        assert_int_equal(SSL_key_update(p->srv, how[i]), 1);
        exchange(p, 0);   /* the response comes under the server's new key */
        if (how[i] == SSL_KEY_UPDATE_REQUESTED)
            assert_true(tls_pending(&p->cli) > 0);   /* the client's KeyUpdate */
        exchange(p, 0);
        exchange(p, 0);
        pair_free(p);
    }
    fast = 0;
}

/* The reader's ends: close_notify is the end of the stream; a record
 * changed on the way fails to authenticate; a TLS 1.2 session is read by
 * OpenSSL to its end. */
static void test_fast_read_ends(void **state)
{
    (void)state;
    static char buf[32768], plain[TLS_RX_PLAIN_MAX];
    fast = 1;
    struct pair *p = fast_pair(1);
    assert_int_equal(SSL_shutdown(p->srv), 0);
    size_t n = mtls_take(p->srv, buf, sizeof buf);
    assert_int_equal(tls_lend(&p->cli, buf, n), 0);
    assert_int_equal(tls_read(&p->cli, plain, sizeof plain), TLS_EOF);
    assert_int_equal(tls_unlend(&p->cli), 0);
    pair_free(p);

    p = fast_pair(1);
    assert_int_equal(mtls_write(p->srv, "x", 1), 0);
    n = mtls_take(p->srv, buf, sizeof buf);
    buf[n - 1] ^= 1;   /* the tag's last byte */
    assert_int_equal(tls_lend(&p->cli, buf, n), 0);
    assert_int_equal(tls_read(&p->cli, plain, sizeof plain), TLS_ERR);
    assert_non_null(strstr(p->cli.err, "did not authenticate"));
    assert_int_equal(tls_unlend(&p->cli), 0);
    pair_free(p);

    p = pair_new("localhost", 0, 1);
    p->lend = 1;
    assert_int_equal(SSL_set_max_proto_version(p->srv, TLS1_2_VERSION), 1);
    assert_int_equal(handshake(p, 0), TLS_WANT);   /* 1.2: the server's Finished comes last */
    assert_int_equal(to_client(p, 0, NULL, NULL), TLS_OK);
    assert_string_equal(tls_version(&p->cli), "TLSv1.2");
    exchange(p, 0);
    exchange(p, 0);
    assert_false(tls_rx_on(p->cli.rx));
    pair_free(p);
    fast = 0;
}

static void test_verify_failures(void **state)
{
    (void)state;
    /* Not trusted: the generated certificate is self-signed. */
    struct pair *p = pair_new("127.0.0.1", 0, 0);
    assert_int_equal(handshake(p, 0), TLS_ERR);
    assert_int_equal(p->cli.fail, TLS_FAIL_VERIFY);
    assert_non_null(strstr(p->cli.err, "self-signed certificate"));
    pair_free(p);
    /* Trusted, but not for this name. */
    p = pair_new("example.com", 0, 1);
    assert_int_equal(handshake(p, 0), TLS_ERR);
    assert_int_equal(p->cli.fail, TLS_FAIL_VERIFY);
    assert_non_null(strstr(p->cli.err, "hostname mismatch"));
    pair_free(p);
    p = pair_new("10.1.2.3", 0, 1);
    assert_int_equal(handshake(p, 0), TLS_ERR);
    assert_non_null(strstr(p->cli.err, "IP address mismatch"));
    pair_free(p);
    /* --insecure checks neither. */
    p = pair_new("example.com", 1, 0);
    assert_int_equal(handshake(p, 0), TLS_OK);
    exchange(p, 0);
    pair_free(p);
}

static void test_not_tls(void **state)
{
    (void)state;
    struct pair *p = pair_new("127.0.0.1", 0, 1);
    assert_int_equal(tls_handshake(&p->cli), TLS_WANT);
    static const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(tls_feed(&p->cli, http, sizeof http - 1), 0);
    assert_int_equal(tls_handshake(&p->cli), TLS_ERR);
    assert_int_equal(p->cli.fail, TLS_FAIL_HANDSHAKE);
    assert_non_null(strstr(p->cli.err, "wrong version number"));
    pair_free(p);
}

/* With OpenSSL reading the records and with the reader of tls_rx.c. */
static void test_resumption(void **state)
{
    (void)state;
    for (fast = 0; fast < 2; fast++) {
        struct pair *p = pair_new("127.0.0.1", 0, 1);
        p->lend = fast;
        assert_int_equal(handshake(p, 0), TLS_OK);
        exchange(p, 0);                  /* the tickets arrive with the first response */
        assert_non_null(p->cli.saved);
        assert_int_equal(tls_rx_on(p->cli.rx), fast);
        /* The socket ends; the slot connects again with the same context. */
        tls_stop(&p->cli);
        mtls_free(p->srv);
        p->srv = mtls_accept(p->srv_ctx);
        assert_int_equal(tls_start(&p->cli, p->cli_ctx, "127.0.0.1"), 0);
        assert_int_equal(handshake(p, 0), TLS_OK);
        assert_true(p->cli.resumed);
        exchange(p, 0);
        exchange(p, 0);
        assert_int_equal(tls_rx_on(p->cli.rx), fast);
        pair_free(p);
    }
    fast = 0;
}

static void test_bad_files(void **state)
{
    (void)state;
    char err[256];
    struct tls_opts o = { .cacert = "/nonexistent/ca.pem" };
    assert_null(tls_ctx_new(&o, err, sizeof err));
    assert_string_equal(err, "--cacert /nonexistent/ca.pem: No such file or directory");
    struct tls_opts o2 = { .cert = "/nonexistent/c.pem" };
    assert_null(tls_ctx_new(&o2, err, sizeof err));
    assert_string_equal(err, "--cert /nonexistent/c.pem: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data_whole),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_lent_input),
        cmocka_unit_test(test_lent_rest_is_kept),
        cmocka_unit_test(test_fast_read),
        cmocka_unit_test(test_fast_read_key_update),
        cmocka_unit_test(test_fast_read_tickets_and_early_update),
        cmocka_unit_test(test_fast_read_ends),
        cmocka_unit_test(test_verify_failures),
        cmocka_unit_test(test_not_tls),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
