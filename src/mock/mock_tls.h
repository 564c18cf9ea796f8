#ifndef LLMLOAD_MOCK_TLS_H
#define LLMLOAD_MOCK_TLS_H
/* The simulator's TLS (--tls, --tls-cert/--tls-key): OpenSSL 3 over
 * memory BIOs, so the connection keeps reading its socket itself (the
 * request's kernel receive stamp stays the request's arrival) and writes
 * ciphertext with its own write path.
 *
 * One mtls_ctx per server: the certificate and key (loaded, or made at
 * start: a self-signed certificate for 127.0.0.1, ::1 and localhost,
 * written to --tls-ca-out so a client can trust it), and, with
 * --tls-client-ca, the CAs a client certificate must chain to (mTLS). */
#include <stddef.h>
#include <sys/types.h>

struct mock_config;
struct mtls_ctx;
struct ssl_st;

/* NULL with a one-line err naming the flag; cfg asks for TLS. */
struct mtls_ctx *mtls_ctx_new(const struct mock_config *cfg, char *err, size_t errcap);
void mtls_ctx_free(struct mtls_ctx *x);

/* A server session for a new connection; NULL when out of memory. */
struct ssl_st *mtls_accept(struct mtls_ctx *x);
void mtls_free(struct ssl_st *ssl);

/* Ciphertext from the client.  0, or -1 (out of memory). */
int mtls_feed(struct ssl_st *ssl, const char *data, size_t n);
/* Plaintext: > 0 bytes, 0 when nothing whole is there yet, -1 when the
 * session failed or the client said close_notify.  Drives the handshake
 * first.  *why names a failure (an alert, a refused client certificate). */
ssize_t mtls_read(struct ssl_st *ssl, char *buf, size_t cap, const char **why);
/* Encrypts n bytes; 0 or -1. */
int mtls_write(struct ssl_st *ssl, const char *data, size_t n);
/* Queues close_notify. */
void mtls_shutdown(struct ssl_st *ssl);
/* Ciphertext to send: up to cap bytes into buf; 0 when none waits. */
size_t mtls_take(struct ssl_st *ssl, char *buf, size_t cap);

#endif
