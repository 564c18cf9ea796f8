/* The simulator's TLS (mock_tls.h). */
#include "mock_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mock.h"

struct mtls_ctx {
    SSL_CTX *ctx;
};

static const char *mtls_reason(const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : what;
}

static int mtls_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = ex && X509_add_ext(x, ex, -1) == 1;
    X509_EXTENSION_free(ex);
    return ok;
}

/* A self-signed certificate for the loopback names, valid from an hour
 * ago (clocks of test machines drift) for 30 days.  It is its own CA, so
 * the file a client trusts is the certificate itself. */
static int mtls_generate(SSL_CTX *ctx, const char *ca_out, char *err, size_t errcap)
{
    int ok = 0;
    X509 *x = NULL;
    FILE *f = NULL;
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    if (!pk || !(x = X509_new()))
        goto out;
    unsigned char serial[8];
    if (RAND_bytes(serial, sizeof serial) != 1)
        goto out;
    serial[0] &= 0x7f;   /* a positive serial */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    if (!ok)
        goto out;
    ok = 0;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_set_version(x, 2) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) ||
        X509_set_pubkey(x, pk) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"llmload mock",
                                   -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 ||
        !mtls_ext(x, NID_basic_constraints, "critical,CA:TRUE") ||
        !mtls_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") ||
        !mtls_ext(x, NID_subject_key_identifier, "hash") ||
        !mtls_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") ||
        X509_sign(x, pk, EVP_sha256()) <= 0 ||
        SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, pk) != 1)
        goto out;
    if (ca_out) {
        if (!(f = fopen(ca_out, "w")) || PEM_write_X509(f, x) != 1) {
            snprintf(err, errcap, "--tls-ca-out %s: cannot write", ca_out);
            goto out_quiet;
        }
        if (fclose(f) != 0) {
            f = NULL;
            snprintf(err, errcap, "--tls-ca-out %s: cannot write", ca_out);
            goto out_quiet;
        }
        f = NULL;
    }
    ok = 1;
out:
    if (!ok)
        snprintf(err, errcap, "--tls: cannot make a certificate: %s", mtls_reason("out of memory"));
out_quiet:
    if (f)
        fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

struct mtls_ctx *mtls_ctx_new(const struct mock_config *cfg, char *err, size_t errcap)
{
    struct mtls_ctx *x = calloc(1, sizeof *x);
    if (!x || !(x->ctx = SSL_CTX_new(TLS_server_method()))) {
        snprintf(err, errcap, "TLS: cannot create a context: %s", mtls_reason("out of memory"));
        goto fail;
    }
    SSL_CTX *c = x->ctx;
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    if (cfg->tls_no_resume) {
        SSL_CTX_set_num_tickets(c, 0);
        SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    }
    if (cfg->tls_cert) {
        const char *key = cfg->tls_key ? cfg->tls_key : cfg->tls_cert;
        if (SSL_CTX_use_certificate_chain_file(c, cfg->tls_cert) != 1) {
            snprintf(err, errcap, "--tls-cert %s: cannot load: %s", cfg->tls_cert, mtls_reason("no certificate"));
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c) != 1) {
            snprintf(err, errcap, "--tls-key %s: cannot load, or not the key of --tls-cert: %s", key,
                     mtls_reason("mismatch"));
            goto fail;
        }
    } else if (mtls_generate(c, cfg->tls_ca_out, err, errcap) < 0) {
        goto fail;
    }
    if (cfg->tls_client_ca) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_client_ca);
        if (!names || SSL_CTX_load_verify_locations(c, cfg->tls_client_ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            snprintf(err, errcap, "--tls-client-ca %s: cannot load: %s", cfg->tls_client_ca,
                     mtls_reason("no certificate"));
            goto fail;
        }
        SSL_CTX_set_client_CA_list(c, names);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    ERR_clear_error();
    return x;
fail:
    ERR_clear_error();
    mtls_ctx_free(x);
    return NULL;
}

void mtls_ctx_free(struct mtls_ctx *x)
{
    if (!x)
        return;
    SSL_CTX_free(x->ctx);
    free(x);
}

SSL *mtls_accept(struct mtls_ctx *x)
{
    SSL *ssl = SSL_new(x->ctx);
    BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
    if (!ssl || !r || !w) {
        BIO_free(r);
        BIO_free(w);
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    BIO_set_mem_eof_return(r, -1);
    BIO_set_mem_eof_return(w, -1);
    SSL_set_bio(ssl, r, w);
    SSL_set_accept_state(ssl);
    return ssl;
}

void mtls_free(SSL *ssl)
{
    SSL_free(ssl);
}

int mtls_feed(SSL *ssl, const char *data, size_t n)
{
    size_t put;
    return BIO_write_ex(SSL_get_rbio(ssl), data, n, &put) == 1 ? 0 : -1;
}

ssize_t mtls_read(SSL *ssl, char *buf, size_t cap, const char **why)
{
    size_t got = 0;
    ERR_clear_error();
    int ret = SSL_read_ex(ssl, buf, cap, &got);
    if (ret == 1)
        return (ssize_t)got;
    switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        *why = "close_notify";
        return -1;
    default:
        *why = mtls_reason("TLS failed");
        ERR_clear_error();
        return -1;
    }
}

int mtls_write(SSL *ssl, const char *data, size_t n)
{
    size_t put = 0;
    ERR_clear_error();
    int ok = SSL_write_ex(ssl, data, n, &put) == 1 && put == n;
    ERR_clear_error();
    return ok ? 0 : -1;
}

void mtls_shutdown(SSL *ssl)
{
    ERR_clear_error();
    if (SSL_is_init_finished(ssl))
        (void)SSL_shutdown(ssl);
    ERR_clear_error();
}

size_t mtls_take(SSL *ssl, char *buf, size_t cap)
{
    size_t got = 0;
    if (BIO_read_ex(SSL_get_wbio(ssl), buf, cap, &got) != 1)
        return 0;
    return got;
}
