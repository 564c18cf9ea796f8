/* The server's TLS 1.3 records, read by llmload once the session is up
 * (tls_rx.h says why and how; RFC 8446 §5 and §4.6 are what it follows). */
#include "tls_rx.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "tls.h"

#define REC_HDR 5
#define REC_TAG 16
#define REC_IV 12
#define REC_CIPHERTEXT_MAX (TLS_RX_PLAIN_MAX + REC_TAG)

enum { CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPLICATION_DATA = 23 };
enum { HS_NEW_SESSION_TICKET = 4, HS_KEY_UPDATE = 24 };
enum { ALERT_USER_CANCELED = 90 };

struct tls_rx {
    EVP_CIPHER_CTX *aead;       /* the server's key; NULL until taken over */
    unsigned char secret[EVP_MAX_MD_SIZE];  /* its traffic secret (KeyUpdate) */
    size_t secret_len;
    unsigned char iv[REC_IV];
    uint64_t seq;               /* of the next record */
    int eof;                    /* close_notify came: nothing more is read */
    /* A post-handshake message may span records (§5.1): its header so
     * far, and the bytes of a ticket's body still to pass over. */
    unsigned char hs_hdr[4];
    size_t hs_len, hs_skip;
    /* Until taken over: the records OpenSSL has read since the secret. */
    unsigned char hdr[REC_HDR];
    size_t hdr_len, body_left;
};

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

void tls_rx_keylog(const SSL *ssl, const char *line)
{
    static const char tag[] = "SERVER_TRAFFIC_SECRET_0 ";
    struct tls_sess *s = SSL_get_app_data(ssl);
    if (!s || s->rx || strncmp(line, tag, sizeof tag - 1) != 0)
        return;   /* one secret a connection: a later one is OpenSSL's */
    const char *hex = strchr(line + sizeof tag - 1, ' ');   /* after the client random */
    struct tls_rx *rx = calloc(1, sizeof *rx);
    if (!hex || !rx) {
        free(rx);
        return;   /* OpenSSL keeps reading: slower, not wrong */
    }
    for (hex++; hexval(hex[0]) >= 0 && hexval(hex[1]) >= 0 && rx->secret_len < sizeof rx->secret; hex += 2)
        rx->secret[rx->secret_len++] = (unsigned char)(hexval(hex[0]) << 4 | hexval(hex[1]));
    tls_rx_free(s->rx);
    s->rx = rx;
}

void tls_rx_msg(int write_p, int version, int content_type, const void *buf, size_t len,
                SSL *ssl, void *arg)
{
    (void)version;
    (void)arg;
    struct tls_sess *s = SSL_get_app_data(ssl);
    if (write_p || content_type != SSL3_RT_HANDSHAKE || len < 1 || !s || !s->rx || tls_rx_on(s->rx))
        return;
    /* OpenSSL applied a KeyUpdate of the server's before the handover: it
     * logs no new secret, so the one kept is stale; OpenSSL reads on. */
    if (((const unsigned char *)buf)[0] == HS_KEY_UPDATE) {
        tls_rx_free(s->rx);
        s->rx = NULL;
    }
}

void tls_rx_count(struct tls_rx *rx, const unsigned char *p, size_t n)
{
    while (n) {
        if (rx->body_left) {
            size_t k = n < rx->body_left ? n : rx->body_left;
            rx->body_left -= k;
            rx->seq += rx->body_left == 0;
            p += k;
            n -= k;
            continue;
        }
        rx->hdr[rx->hdr_len++] = *p++;
        n--;
        if (rx->hdr_len == REC_HDR) {
            rx->hdr_len = 0;
            rx->body_left = (size_t)rx->hdr[3] << 8 | rx->hdr[4];
            rx->seq += rx->body_left == 0;
        }
    }
}

/* HKDF-Expand-Label(secret, label, "", n) of RFC 8446 §7.1, by OpenSSL. */
static int expand_label(const SSL *ssl, const unsigned char *secret, size_t secret_len,
                        const char *label, unsigned char *out, size_t n)
{
    const EVP_MD *md = SSL_CIPHER_get_handshake_digest(SSL_get_current_cipher(ssl));
    EVP_KDF *kdf = md ? EVP_KDF_fetch(NULL, "TLS13-KDF", NULL) : NULL;
    EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!k)
        return -1;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM p[] = {
        OSSL_PARAM_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0),
        OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, (unsigned char *)secret, secret_len),
        OSSL_PARAM_octet_string(OSSL_KDF_PARAM_PREFIX, "tls13 ", 6),
        OSSL_PARAM_octet_string(OSSL_KDF_PARAM_LABEL, (char *)label, strlen(label)),
        OSSL_PARAM_END,
    };
    int ok = EVP_KDF_derive(k, out, n, p) == 1;
    EVP_KDF_CTX_free(k);
    return ok ? 0 : -1;
}

/* The key and IV of rx->secret into the AEAD. */
static int rx_keys(const SSL *ssl, struct tls_rx *rx, const EVP_CIPHER *cipher)
{
    unsigned char key[EVP_MAX_KEY_LENGTH];
    int klen = EVP_CIPHER_get_key_length(cipher ? cipher : EVP_CIPHER_CTX_get0_cipher(rx->aead));
    int ok = klen > 0 && (size_t)klen <= sizeof key &&
             expand_label(ssl, rx->secret, rx->secret_len, "key", key, (size_t)klen) == 0 &&
             expand_label(ssl, rx->secret, rx->secret_len, "iv", rx->iv, REC_IV) == 0 &&
             EVP_DecryptInit_ex(rx->aead, cipher, NULL, key, NULL) == 1;
    OPENSSL_cleanse(key, sizeof key);
    return ok ? 0 : -1;
}

void tls_rx_start(struct tls_sess *s)
{
    struct tls_rx *rx = s->rx;
    /* With read-ahead off OpenSSL returns data only at a record's end, so
     * the half-read case is a safeguard, not a path taken. */
    if (!rx || rx->aead || rx->hdr_len || rx->body_left || SSL_has_pending(s->ssl))
        return;   /* none, on already, or a record half read: later */
    const SSL_CIPHER *c = SSL_get_current_cipher(s->ssl);
    const EVP_MD *md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
    int nid = c ? SSL_CIPHER_get_cipher_nid(c) : NID_undef;
    const EVP_CIPHER *cipher = nid == NID_aes_128_gcm || nid == NID_aes_256_gcm ||
                               nid == NID_chacha20_poly1305 ? EVP_get_cipherbynid(nid) : NULL;
    if (SSL_version(s->ssl) != TLS1_3_VERSION || !cipher || !md ||
        (size_t)EVP_MD_get_size(md) != rx->secret_len || !(rx->aead = EVP_CIPHER_CTX_new()) ||
        rx_keys(s->ssl, rx, cipher) < 0) {
        tls_rx_free(rx);   /* OpenSSL reads this session to its end */
        s->rx = NULL;
        ERR_clear_error();
    }
    /* Taken over: rx->seq goes on from the records OpenSSL read. */
}

int tls_rx_on(const struct tls_rx *rx)
{
    return rx && rx->aead;
}

__attribute__((format(printf, 2, 3)))
static ssize_t rx_fail(struct tls_sess *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s->fail = TLS_FAIL_HANDSHAKE;
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return TLS_ERR;
}

/* The server's traffic secret moves on (KeyUpdate, §4.6.3); asked to,
 * the client's does too, written by OpenSSL (tls_pending). */
static ssize_t rx_key_update(struct tls_sess *s, int requested)
{
    struct tls_rx *rx = s->rx;
    unsigned char next[EVP_MAX_MD_SIZE];
    int ok = expand_label(s->ssl, rx->secret, rx->secret_len, "traffic upd", next, rx->secret_len) == 0;
    if (ok)
        memcpy(rx->secret, next, rx->secret_len);
    OPENSSL_cleanse(next, sizeof next);
    if (!ok || rx_keys(s->ssl, rx, NULL) < 0)
        return rx_fail(s, "TLS read failed: cannot derive the server's updated key");
    rx->seq = 0;   /* a new key's records count from 0 (§5.3) */
    if (requested && (SSL_key_update(s->ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 ||
                      SSL_do_handshake(s->ssl) != 1))
        return rx_fail(s, "TLS read failed: cannot answer the server's KeyUpdate");
    s->rx_wrote |= requested;
    return 0;
}

/* A decrypted handshake record, as a stream of messages that may span
 * records: session tickets are passed over (the session in hand stays
 * the one to resume), key updates applied; anything else fails. */
static ssize_t rx_handshake(struct tls_sess *s, const unsigned char *m, size_t n)
{
    struct tls_rx *rx = s->rx;
    while (n) {
        if (rx->hs_skip) {
            size_t k = n < rx->hs_skip ? n : rx->hs_skip;
            rx->hs_skip -= k;
            m += k;
            n -= k;
            continue;
        }
        if (rx->hs_len < 4) {
            rx->hs_hdr[rx->hs_len++] = *m++;
            n--;
            if (rx->hs_len < 4)
                continue;
            size_t len = (size_t)rx->hs_hdr[1] << 16 | (size_t)rx->hs_hdr[2] << 8 | rx->hs_hdr[3];
            if (rx->hs_hdr[0] == HS_NEW_SESSION_TICKET) {
                rx->hs_skip = len;
                rx->hs_len = 0;
            } else if (rx->hs_hdr[0] != HS_KEY_UPDATE) {
                return rx_fail(s, "TLS read failed: unexpected handshake message %d after the handshake",
                               rx->hs_hdr[0]);
            } else if (len != 1) {
                return rx_fail(s, "TLS read failed: a malformed KeyUpdate");
            }
            continue;
        }
        /* The body of a KeyUpdate: the record must end with it (§5.1). */
        int requested = *m;
        rx->hs_len = 0;
        if (requested > 1 || n != 1)
            return rx_fail(s, "TLS read failed: a malformed KeyUpdate");
        return rx_key_update(s, requested);
    }
    return 0;
}

ssize_t tls_rx_read(struct tls_sess *s, char *buf, size_t cap)
{
    struct tls_rx *rx = s->rx;
    unsigned char *out = (unsigned char *)buf;
    assert(cap >= TLS_RX_PLAIN_MAX);
    (void)cap;
    for (;;) {
        if (rx->eof)
            return TLS_EOF;
        if (s->in_len < REC_HDR)
            return TLS_WANT;
        const unsigned char *h = (const unsigned char *)s->in;
        size_t len = (size_t)h[3] << 8 | h[4];
        if (h[0] != CT_APPLICATION_DATA || len <= REC_TAG || len > REC_CIPHERTEXT_MAX)
            return rx_fail(s, "TLS read failed: a malformed record (type %d)", h[0]);
        if (s->in_len < REC_HDR + len)
            return TLS_WANT;   /* the rest comes with a later read */
        /* Nonce: the IV with the sequence number XORed into its end (§5.3). */
        unsigned char nonce[REC_IV];
        memcpy(nonce, rx->iv, REC_IV);
        for (int i = 0; i < 8; i++)
            nonce[REC_IV - 1 - i] ^= (unsigned char)(rx->seq >> (8 * i));
        size_t n = len - REC_TAG;
        int l = 0, lf = 0;
        int ok = EVP_DecryptInit_ex(rx->aead, NULL, NULL, NULL, nonce) == 1 &&
                 EVP_DecryptUpdate(rx->aead, NULL, &l, h, REC_HDR) == 1 &&
                 EVP_DecryptUpdate(rx->aead, out, &l, h + REC_HDR, (int)n) == 1 &&
                 EVP_CIPHER_CTX_ctrl(rx->aead, EVP_CTRL_AEAD_SET_TAG, REC_TAG, (void *)(h + REC_HDR + n)) == 1 &&
                 EVP_DecryptFinal_ex(rx->aead, out + l, &lf) == 1;
        s->in += REC_HDR + len;
        s->in_len -= REC_HDR + len;
        rx->seq++;
        if (!ok)
            return rx_fail(s, "TLS read failed: a record did not authenticate (bad record MAC)");
        /* The content type is the last byte that is not padding (§5.4). */
        while (n && out[n - 1] == 0)
            n--;
        if (n == 0)
            return rx_fail(s, "TLS read failed: a record with no content type");
        int type = out[--n];
        if (type != CT_HANDSHAKE && (rx->hs_len || rx->hs_skip))
            return rx_fail(s, "TLS read failed: a handshake message cut by a record of type %d", type);
        if (type == CT_APPLICATION_DATA) {
            if (n)
                return (ssize_t)n;
        } else if (type == CT_ALERT) {
            if (n != 2)
                return rx_fail(s, "TLS read failed: a malformed alert");
            if (out[1] == SSL_AD_CLOSE_NOTIFY) {
                rx->eof = 1;
                return TLS_EOF;
            }
            if (out[1] == ALERT_USER_CANCELED)
                continue;   /* as OpenSSL: the close_notify that follows ends it */
            return rx_fail(s, "TLS alert from the server: %s", SSL_alert_desc_string_long(out[1]));
        } else if (type == CT_HANDSHAKE) {
            if (rx_handshake(s, out, n) < 0)
                return TLS_ERR;
        } else {
            return rx_fail(s, "TLS read failed: unexpected record content type %d", type);
        }
    }
}

void tls_rx_free(struct tls_rx *rx)
{
    if (!rx)
        return;
    EVP_CIPHER_CTX_free(rx->aead);
    OPENSSL_cleanse(rx, sizeof *rx);
    free(rx);
}
