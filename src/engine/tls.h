#ifndef LLMLOAD_TLS_H
#define LLMLOAD_TLS_H
/* TLS for the engine's connections, with OpenSSL 3 over in-memory buffers.
 *
 * OpenSSL never touches a socket here: the connection reads the socket
 * itself (so a read keeps its kernel receive stamp, rxstamp.h), lends the
 * ciphertext to the session (tls_lend) or copies it in (tls_feed), and
 * takes out what OpenSSL wants written with tls_take.  With fast_read, a
 * TLS 1.3 session's records are read by tls_rx.c once it is up.  The same
 * session object serves the engine's libuv connections and the blocking
 * probes of target.c.
 *
 * One struct tls_ctx per run: the trust store (the system's, or --cacert),
 * the client certificate (--cert/--key), verification on or off
 * (--insecure), ALPN http/1.1, and a plaintext scratch buffer every
 * session of the loop shares.  One struct tls_sess per connection slot,
 * owned by it: the SSL of the socket in use and the SSL_SESSION the
 * server last gave, offered again on the slot's next connect so a
 * reconnect resumes instead of doing a full handshake. */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a run asks of TLS; every field may be NULL/0 (system store,
 * verification on, no client certificate). */
struct tls_opts {
    const char *cacert;         /* PEM file of trusted CAs instead of the system's */
    const char *cert, *key;     /* client certificate and its key (mTLS) */
    int insecure;               /* no certificate or host name verification */
    int fast_read;              /* once a TLS 1.3 session is up, its records are
                                   read by tls_rx.c, not OpenSSL: tls_read's cap
                                   must then be TLS_RX_PLAIN_MAX or more */
    unsigned streams;           /* connections open at once (0: a few); over
                                   TLS_KEEP_BUFFERS_MAX they give their record
                                   buffers back between records */
};

/* Kept, a connection's record buffers (about 35 KiB) save an allocation,
 * a free and a clearing per record, 6% of a streamed token's client
 * instructions (docs/performance.md, "HTTPS"): worth it up to this many
 * streams (35 MiB), not at 10,000 (350 MiB). */
#define TLS_KEEP_BUFFERS_MAX 1024

struct tls_ctx;

/* What a failed step was: tls_verify (the certificate), tls_handshake
 * (anything else of TLS: an alert, a protocol error, a close mid-way). */
enum tls_fail { TLS_FAIL_HANDSHAKE = 1, TLS_FAIL_VERIFY };

struct tls_sess {
    struct ssl_st *ssl;         /* the socket in use; NULL between sockets */
    struct ssl_session_st *saved;   /* the newest session the server gave */
    struct tls_ctx *ctx;
    int done;                   /* the handshake completed */
    int resumed;                /* ... by resuming saved */
    int cert_asked;             /* the server asked for a client certificate */
    enum tls_fail fail;
    char err[128];              /* why, one line, when a call returned TLS_ERR */
    struct tls_rx *rx;          /* fast_read: the record reader (tls_rx.h) */
    int rx_wrote;               /* ... made OpenSSL write (a KeyUpdate's answer) */
    const char *in;             /* ciphertext not yet read: lent ... */
    size_t in_len;
    int lent;                   /* ... (tls_lend), or in kept */
    char *kept;                 /* input kept past its buffer (tls_feed, tls_unlend) */
    size_t kept_cap;
};

/* Results of the stepping calls; all but TLS_OK negative, so that
 * tls_read's byte counts never meet them. */
#define TLS_OK    0             /* done (handshake) */
#define TLS_WANT  (-1)          /* needs more bytes from the peer */
#define TLS_EOF   (-2)          /* the peer closed (close_notify) */
#define TLS_ERR   (-3)          /* failed: s->fail and s->err say how */

/* The run's context.  NULL with err set (a file that cannot be read, a key
 * that does not match its certificate: one line naming the flag). */
struct tls_ctx *tls_ctx_new(const struct tls_opts *o, char *err, size_t errcap);
void tls_ctx_free(struct tls_ctx *x);
/* Whether o's files load (a context made and dropped), before anything
 * would fail on them as if the server had: 0, or -1 with err as above. */
int tls_opts_check(const struct tls_opts *o, char *err, size_t errcap);
/* The shared plaintext scratch (used within one callback, never kept). */
char *tls_ctx_buf(struct tls_ctx *x, size_t *cap);

/* Starts a client session on a fresh socket to host (SNI when host is a
 * name, and the name or address the certificate must carry), offering
 * the slot's saved session.  0, or TLS_ERR (out of memory). */
int tls_start(struct tls_sess *s, struct tls_ctx *x, const char *host);
/* Ends the socket's session (keeping `saved` for the next one). */
void tls_stop(struct tls_sess *s);
/* Frees the saved session too: the slot is done. */
void tls_sess_free(struct tls_sess *s);

/* Ciphertext that arrived: n bytes, copied.  0, or TLS_ERR. */
int tls_feed(struct tls_sess *s, const char *data, size_t n);
/* The same without the copy: the SSL reads data in place until
 * tls_unlend, which must come before data's buffer is reused; it keeps a
 * copy of what the SSL left unread.  A read of one record per token pays
 * no copy at all.  0, or TLS_ERR. */
int tls_lend(struct tls_sess *s, const char *data, size_t n);
int tls_unlend(struct tls_sess *s);
/* Advances the handshake: TLS_OK once complete, TLS_WANT, TLS_EOF or TLS_ERR.
 * Check tls_pending after every call: it may have something to send. */
int tls_handshake(struct tls_sess *s);
/* Plaintext: > 0 bytes put in buf, TLS_WANT (nothing whole yet), TLS_EOF, TLS_ERR. */
ssize_t tls_read(struct tls_sess *s, char *buf, size_t cap);
/* 1 when tls_read may find more: bytes fed or buffered and not yet
 * read.  Saves the last tls_read of a read, the one that would only say
 * TLS_WANT (one call per token on a stream of one record per token). */
int tls_more(const struct tls_sess *s);
/* Encrypts n bytes of plaintext (all of them, into the output).  0 or TLS_ERR. */
int tls_write(struct tls_sess *s, const char *data, size_t n);
/* Ciphertext waiting to be sent, and taking it: *p points at up to the
 * context's scratch size of it, valid until the next tls_take of the run;
 * returns its length, 0 when nothing waits. */
size_t tls_pending(const struct tls_sess *s);
size_t tls_take(struct tls_sess *s, const char **p);

/* Name of the TLS version and cipher negotiated, for messages ("TLSv1.3"). */
const char *tls_version(const struct tls_sess *s);

#endif
