/* TLS sessions over in-memory buffers (tls.h).
 *
 * The ciphertext goes socket -> tls_lend (or tls_feed) -> rbio -> SSL and
 * SSL -> wbio -> tls_take -> socket; the caller owns the socket, its reads
 * and their timestamps.  Both BIOs return "retry" when empty, never EOF:
 * the end of the stream is the caller's to see on the socket.
 *
 * The write side is OpenSSL's memory BIO.  The read side is ours (the one
 * BIO here written by hand): OpenSSL's memory BIO would copy every record
 * into a buffer of each connection's own before the SSL copies it again
 * into its record buffer, and at 1,000 streams those buffers are cold;
 * this one lets the SSL read the socket read's buffer itself, and keeps a
 * copy only of what is left unread when that buffer goes back. */
#include "tls.h"
#include "tls_rx.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define TLS_BUF_SIZE (64 * 1024)
_Static_assert(TLS_BUF_SIZE >= TLS_RX_PLAIN_MAX, "tls_ctx_buf holds a record");

struct tls_ctx {
    SSL_CTX *ctx;
    int insecure;
    int fast_read;
    char buf[TLS_BUF_SIZE];     /* plaintext read (tls_ctx_buf) */
    char out[TLS_BUF_SIZE];     /* ciphertext taken (tls_take) */
};

/* OpenSSL's reason for the newest error on this thread's queue, or what. */
static const char *tls_reason(const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : what;
}

/* The server gave a session (TLS 1.3 sends it after the handshake): the
 * slot keeps the newest one for its next connect. */
static int tls_on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct tls_sess *s = SSL_get_app_data(ssl);
    if (!s)
        return 0;
    SSL_SESSION_free(s->saved);
    s->saved = sess;
    return 1;   /* the reference is ours */
}

/* The server asked for a client certificate: in TLS 1.3 its verdict on
 * it comes after the client's side of the handshake is done. */
static int tls_on_cert_request(SSL *ssl, void *arg)
{
    struct tls_sess *s = SSL_get_app_data(ssl);
    (void)arg;
    if (s)
        s->cert_asked = 1;
    return 1;   /* go on, with the certificate loaded, if any */
}

/* A file OpenSSL would only call "system lib": said with errno. */
static int tls_readable(const char *flag, const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errcap, "%s %s: %s", flag, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

struct tls_ctx *tls_ctx_new(const struct tls_opts *o, char *err, size_t errcap)
{
    struct tls_ctx *x = calloc(1, sizeof *x);
    if (!x || !(x->ctx = SSL_CTX_new(TLS_client_method()))) {
        snprintf(err, errcap, "TLS: cannot create a context: %s", tls_reason("out of memory"));
        goto fail;
    }
    SSL_CTX *c = x->ctx;
    x->insecure = o && o->insecure;
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    /* Many idle streams must not hold 35 KiB of buffers each between
     * records; a few keep them and save the per-record churn. */
    if (o && o->streams > TLS_KEEP_BUFFERS_MAX)
        SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    /* A server that closes without close_notify ends the stream like a FIN:
     * HTTP's framing says whether the response was whole. */
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
    static const unsigned char alpn[] = "\x08http/1.1";
    if (SSL_CTX_set_alpn_protos(c, alpn, sizeof alpn - 1) != 0) {
        snprintf(err, errcap, "TLS: cannot set ALPN: %s", tls_reason("out of memory"));
        goto fail;
    }
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, tls_on_new_session);
    SSL_CTX_set_cert_cb(c, tls_on_cert_request, NULL);
    /* The server's traffic secret, for the reader that takes over (tls_rx.h). */
    if ((x->fast_read = o && o->fast_read)) {
        SSL_CTX_set_keylog_callback(c, tls_rx_keylog);
        SSL_CTX_set_msg_callback(c, tls_rx_msg);
    }
    if (x->insecure) {
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        if (o && o->cacert) {
            if (tls_readable("--cacert", o->cacert, err, errcap) < 0)
                goto fail;
            if (SSL_CTX_load_verify_locations(c, o->cacert, NULL) != 1) {
                snprintf(err, errcap, "--cacert %s: cannot load: %s", o->cacert, tls_reason("no certificate"));
                goto fail;
            }
        } else if (SSL_CTX_set_default_verify_paths(c) != 1) {
            snprintf(err, errcap, "TLS: cannot load the system's CA store: %s (install ca-certificates, "
                     "or pass --cacert)", tls_reason("unknown"));
            goto fail;
        }
    }
    if (o && (o->cert || o->key)) {
        const char *cert = o->cert ? o->cert : o->key, *key = o->key ? o->key : o->cert;
        if (tls_readable("--cert", cert, err, errcap) < 0 || tls_readable("--key", key, err, errcap) < 0)
            goto fail;
        if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
            snprintf(err, errcap, "--cert %s: cannot load: %s", cert, tls_reason("no certificate"));
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1) {
            snprintf(err, errcap, "--key %s: cannot load: %s", key, tls_reason("no key"));
            goto fail;
        }
        if (SSL_CTX_check_private_key(c) != 1) {
            snprintf(err, errcap, "--key %s does not match the certificate of --cert %s", key, cert);
            goto fail;
        }
    }
    ERR_clear_error();
    return x;
fail:
    ERR_clear_error();
    tls_ctx_free(x);
    return NULL;
}

void tls_ctx_free(struct tls_ctx *x)
{
    if (!x)
        return;
    SSL_CTX_free(x->ctx);
    free(x);
}

int tls_opts_check(const struct tls_opts *o, char *err, size_t errcap)
{
    struct tls_ctx *x = tls_ctx_new(o, err, errcap);
    tls_ctx_free(x);
    return x ? 0 : -1;
}

char *tls_ctx_buf(struct tls_ctx *x, size_t *cap)
{
    *cap = sizeof x->buf;
    return x->buf;
}

static BIO *tls_mem_bio(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b)
        BIO_set_mem_eof_return(b, -1);   /* empty is "retry", never EOF */
    return b;
}

/* The read BIO: the SSL reads s->in, the bytes lent or kept (tls.h). */
static int tls_in_read(BIO *b, char *out, size_t cap, size_t *got)
{
    struct tls_sess *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (s->in_len == 0 || tls_rx_on(s->rx)) {   /* after the handover, never OpenSSL's */
        BIO_set_retry_read(b);   /* empty is "retry", never EOF */
        *got = 0;
        return 0;
    }
    size_t k = cap < s->in_len ? cap : s->in_len;
    memcpy(out, s->in, k);
    if (s->rx)
        tls_rx_count(s->rx, (const unsigned char *)s->in, k);
    s->in += k;
    s->in_len -= k;
    *got = k;
    return 1;
}

static long tls_in_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct tls_sess *s = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_PENDING:
        return (long)s->in_len;
    case BIO_CTRL_FLUSH:
        return 1;
    default:
        return 0;   /* not EOF, no kTLS, nothing else */
    }
}

static int tls_in_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *tls_in_method;
static pthread_once_t tls_in_once = PTHREAD_ONCE_INIT;

static void tls_in_method_make(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "llmload lent input");
    if (m && (!BIO_meth_set_read_ex(m, tls_in_read) || !BIO_meth_set_ctrl(m, tls_in_ctrl) ||
              !BIO_meth_set_create(m, tls_in_create))) {
        BIO_meth_free(m);
        m = NULL;
    }
    tls_in_method = m;   /* made once, kept for the process */
}

static BIO *tls_in_bio(struct tls_sess *s)
{
    (void)pthread_once(&tls_in_once, tls_in_method_make);
    BIO *b = tls_in_method ? BIO_new(tls_in_method) : NULL;
    if (b)
        BIO_set_data(b, s);
    return b;
}

/* Appends the n bytes at p to the unread input, in s->kept (input that
 * must outlive the buffer it came in).  0, or TLS_ERR (out of memory). */
static int tls_keep(struct tls_sess *s, const char *p, size_t n)
{
    assert(!s->lent);
    size_t have = s->in_len;
    if (have && s->in != s->kept) {
        memmove(s->kept, s->in, have);
        s->in = s->kept;
    }
    if (have + n > s->kept_cap) {
        size_t cap = s->kept_cap ? s->kept_cap : 4096;
        while (cap < have + n)
            cap *= 2;
        char *k = realloc(s->kept, cap);
        if (!k) {
            snprintf(s->err, sizeof s->err, "TLS: out of memory for received records");
            s->fail = TLS_FAIL_HANDSHAKE;
            return TLS_ERR;
        }
        s->kept = k;
        s->kept_cap = cap;
    }
    memcpy(s->kept + have, p, n);
    s->in = s->kept;
    s->in_len = have + n;
    return 0;
}

int tls_start(struct tls_sess *s, struct tls_ctx *x, const char *host)
{
    assert(s->ssl == NULL);
    s->ctx = x;
    s->done = s->resumed = s->cert_asked = 0;
    s->fail = 0;
    s->err[0] = 0;
    s->in = NULL;
    s->in_len = 0;
    s->lent = s->rx_wrote = 0;
    SSL *ssl = SSL_new(x->ctx);
    BIO *r = tls_in_bio(s), *w = tls_mem_bio();
    if (!ssl || !r || !w)
        goto fail;
    SSL_set_bio(ssl, r, w);   /* the SSL owns them from here */
    r = w = NULL;
    SSL_set_app_data(ssl, s);
    SSL_set_connect_state(ssl);
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    /* RFC 6066: SNI carries names only, never an address. */
    if (!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)
        goto fail;
    if (!x->insecure) {
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
                       : SSL_set1_host(ssl, host);
        if (ok != 1)
            goto fail;
    }
    if (s->saved)
        (void)SSL_set_session(ssl, s->saved);   /* refused: a full handshake */
    s->ssl = ssl;
    return 0;
fail:
    snprintf(s->err, sizeof s->err, "TLS: cannot start a session: %s", tls_reason("out of memory"));
    s->fail = TLS_FAIL_HANDSHAKE;
    BIO_free(r);
    BIO_free(w);
    SSL_free(ssl);
    ERR_clear_error();
    return TLS_ERR;
}

void tls_stop(struct tls_sess *s)
{
    if (!s->ssl)
        return;
    SSL_set_app_data(s->ssl, NULL);
    /* A session freed without a shutdown is marked not resumable: a
     * server that closes after its response (HTTP/1.0, a gateway's
     * idle close) is a normal end here, so it is ended quietly. */
    if (s->done)
        SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(s->ssl);
    s->ssl = NULL;
    s->done = 0;
    tls_rx_free(s->rx);
    s->rx = NULL;
    free(s->kept);
    s->kept = NULL;
    s->kept_cap = s->in_len = 0;
    s->lent = 0;
}

void tls_sess_free(struct tls_sess *s)
{
    tls_stop(s);
    SSL_SESSION_free(s->saved);
    s->saved = NULL;
}

int tls_feed(struct tls_sess *s, const char *data, size_t n)
{
    return n ? tls_keep(s, data, n) : 0;
}

int tls_lend(struct tls_sess *s, const char *data, size_t n)
{
    if (s->in_len)   /* older bytes first: these join them */
        return tls_feed(s, data, n);
    s->in = data;
    s->in_len = n;
    s->lent = 1;
    return 0;
}

int tls_unlend(struct tls_sess *s)
{
    if (!s->lent)
        return 0;
    s->lent = 0;
    size_t n = s->in_len;
    s->in_len = 0;
    return n ? tls_keep(s, s->in, n) : 0;
}

/* SSL_get_error needs an empty error queue before the call it explains.
 * Every failure here empties it (tls_outcome), so it is almost always
 * empty already: peeking costs a tenth of ERR_clear_error, which walks
 * the whole queue, and this runs once per record. */
static void tls_errq_empty(void)
{
    if (ERR_peek_error())
        ERR_clear_error();
}

/* What a failed SSL call means: TLS_WANT, TLS_EOF or TLS_ERR (with why). */
static int tls_outcome(struct tls_sess *s, int ret, const char *step)
{
    switch (SSL_get_error(s->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_EOF;
    default:
        break;
    }
    long v = SSL_get_verify_result(s->ssl);
    if (!s->done && v != X509_V_OK && !s->ctx->insecure) {
        /* "certificate has expired", "hostname mismatch", "unable to get
         * local issuer certificate", "self-signed certificate" ... */
        s->fail = TLS_FAIL_VERIFY;
        snprintf(s->err, sizeof s->err, "TLS certificate verification failed: %s",
                 X509_verify_cert_error_string(v));
    } else {
        s->fail = TLS_FAIL_HANDSHAKE;
        snprintf(s->err, sizeof s->err, "TLS %s failed: %s", step, tls_reason("protocol error"));
    }
    ERR_clear_error();
    return TLS_ERR;
}

int tls_handshake(struct tls_sess *s)
{
    if (s->done)
        return TLS_OK;
    tls_errq_empty();
    int ret = SSL_do_handshake(s->ssl);
    if (ret == 1) {
        s->done = 1;
        s->resumed = SSL_session_reused(s->ssl);
        return TLS_OK;
    }
    return tls_outcome(s, ret, "handshake");
}

ssize_t tls_read(struct tls_sess *s, char *buf, size_t cap)
{
    if (tls_rx_on(s->rx))
        return tls_rx_read(s, buf, cap);
    size_t got = 0;
    tls_errq_empty();
    int ret = SSL_read_ex(s->ssl, buf, cap, &got);
    if (ret == 1) {
        if (s->rx)
            tls_rx_start(s);   /* from the next record on */
        return (ssize_t)got;
    }
    return tls_outcome(s, ret, "read");
}

int tls_more(const struct tls_sess *s)
{
    return s->ssl && (s->in_len > 0 || (!tls_rx_on(s->rx) && SSL_has_pending(s->ssl)));
}

int tls_write(struct tls_sess *s, const char *data, size_t n)
{
    size_t put = 0;
    tls_errq_empty();
    int ret = SSL_write_ex(s->ssl, data, n, &put);
    if (ret == 1 && put == n)
        return 0;
    int r = tls_outcome(s, ret, "write");
    if (r != TLS_ERR) {
        s->fail = TLS_FAIL_HANDSHAKE;
        snprintf(s->err, sizeof s->err, "TLS write failed: the session is closed");
    }
    return TLS_ERR;
}

/* Written by the SSL less taken by tls_take: the BIO's own counters, a
 * tenth of the cost of asking it (BIO_ctrl_pending), once per record.
 * Once the reader reads the records, a read writes only when it says so,
 * and the SSL (cold at 1,000 streams) is not touched at all. */
size_t tls_pending(const struct tls_sess *s)
{
    if (!s->ssl || (tls_rx_on(s->rx) && !s->rx_wrote))
        return 0;
    BIO *w = SSL_get_wbio(s->ssl);
    return (size_t)(BIO_number_written(w) - BIO_number_read(w));
}

size_t tls_take(struct tls_sess *s, const char **p)
{
    size_t got = 0;
    *p = s->ctx->out;
    if (!s->ssl || BIO_read_ex(SSL_get_wbio(s->ssl), s->ctx->out, sizeof s->ctx->out, &got) != 1) {
        s->rx_wrote = 0;   /* all of it taken */
        return 0;
    }
    return got;
}

const char *tls_version(const struct tls_sess *s)
{
    return s->ssl ? SSL_get_version(s->ssl) : "";
}
