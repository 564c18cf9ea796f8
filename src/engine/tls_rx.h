#ifndef LLMLOAD_TLS_RX_H
#define LLMLOAD_TLS_RX_H
/* The server's TLS 1.3 records read by llmload itself once a session is
 * up (tls.h's fast_read): what the kernel's TLS_RX would do, in user
 * space, because this kernel may lack it.
 *
 * OpenSSL 3.0's SSL_read spends about 7,000 instructions on a record of
 * one streamed token, 3,500 of them around the AEAD call, and at 1,000
 * streams it touches a cold SSL object for each; a token over plain HTTP
 * costs the client about 5,000 in all.  This reader decrypts the same
 * record with the same OpenSSL AEAD (EVP) and key schedule (TLS13-KDF):
 * what it writes by hand is only the framing (RFC 8446 §5: the 5-byte
 * header, the nonce, the inner content type) and the two post-handshake
 * messages a server may send (§4.6: NewSessionTicket, KeyUpdate).
 *
 * The handover: OpenSSL does the handshake and reads the first records
 * (OpenSSL's and most servers' session tickets come before any response
 * byte, so resumption keeps working; a ticket after the handover is
 * passed over); after its first application data, once it holds no
 * partial record, this reader takes over at the next record, its
 * sequence number counted from the records OpenSSL read since the
 * server's traffic secret was logged.  Writing stays OpenSSL's. */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ssl_st;
struct tls_sess;
struct tls_rx;

/* The largest plaintext of a record (RFC 8446 §5.2: 2^14 + 256 bytes of
 * ciphertext, a 16-byte tag): tls_read's cap must be at least this with
 * fast_read. */
#define TLS_RX_PLAIN_MAX (16384 + 256 - 16)

/* SSL_CTX keylog callback: keeps the server's application traffic secret
 * (never written anywhere; wiped when the session ends). */
void tls_rx_keylog(const struct ssl_st *ssl, const char *line);
/* SSL_CTX message callback: a KeyUpdate OpenSSL reads before the
 * handover makes the kept secret stale; the reader then never starts. */
void tls_rx_msg(int write_p, int version, int content_type, const void *buf, size_t len,
                struct ssl_st *ssl, void *arg);
/* Counts the records OpenSSL reads (n bytes at p, from the read BIO)
 * while the reader waits to take over. */
void tls_rx_count(struct tls_rx *rx, const unsigned char *p, size_t n);
/* After OpenSSL's read of application data: takes over when it can
 * (TLS 1.3, an AEAD of AES-GCM or ChaCha20-Poly1305, no record half
 * read).  Leaves s->rx NULL when it never will. */
void tls_rx_start(struct tls_sess *s);
/* 1 once the reader reads the session's records. */
int tls_rx_on(const struct tls_rx *rx);
/* tls_read's work once on: > 0 bytes, TLS_WANT, TLS_EOF or TLS_ERR. */
ssize_t tls_rx_read(struct tls_sess *s, char *buf, size_t cap);
void tls_rx_free(struct tls_rx *rx);

#endif
