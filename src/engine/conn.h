#ifndef LLMLOAD_CONN_H
#define LLMLOAD_CONN_H
/* One HTTP/1.1 client connection of the engine.
 *
 * A connection owns its libuv handles (socket, timer), its llhttp parser,
 * its request bytes, its decoder state and carry buffer, and the record of
 * the request in flight on it.  It serves one request at a time and is
 * kept alive between requests when the server allows it.
 *
 * It knows the engine only through a struct conn_env: the loop, the
 * scratch buffers every connection shares, what it needs of the target
 * and the run's limits, the clock, the counters it bumps, and callbacks
 * through which it reports.  The engine owns the keep-alive pool and the
 * admission counter; a connection only says what happened.
 *
 * The byte transport (connect, write, read, close) is confined to the
 * transport functions of conn.c; with TLS (env->tls) they carry the
 * bytes through the connection's struct tls_sess, and parsing and
 * metrics see the same plaintext, timed by the same socket reads.
 * Setting up a socket is a chain of small steps: TCP connected
 * (conn_connected) -> TLS handshake (conn_tls_begin) -> ready to send
 * (conn_ready); a phase between two of them is one more step. */
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>
#include <llhttp.h>

#include "api.h"
#include "api_shape.h"
#include "json.h"
#include "ndjson.h"
#include "proxy.h"
#include "result.h"
#include "sse.h"
#include "tls.h"

struct conn;

/* How a connection reports; ud is conn_env.ud (the engine). */
struct conn_events {
    /* The request on c has finished, ok or failed: c->rec is final until
     * the next conn_start.  keep: c is connected and CONN_IDLE, for the
     * caller's pool (it may be started again at once); else c closes its
     * socket when this returns, and `closed` follows. */
    void (*done)(void *ud, struct conn *c, int keep);
    /* c's socket has closed and c is CONN_FREE again. */
    void (*closed)(void *ud, struct conn *c);
    /* c was CONN_IDLE (pooled) and the server closed or wrote to it: take
     * it out of the pool; it is closing. */
    void (*lost)(void *ud, struct conn *c);
    /* c->rec holds RESULT_EV_CHUNK event times and is about to move them
     * out of memory (req_record_spill): whoever keeps every event time
     * takes them now.  May be NULL. */
    void (*events)(void *ud, struct conn *c);
};

/* What every connection of a run shares with the engine.  The engine
 * fills it before the first conn_start and keeps it alive; the fields
 * marked "engine" may change during the run. */
struct conn_env {
    uv_loop_t *loop;
    const struct sockaddr *addr;       /* the target, or the proxy on the way */
    /* Through a proxy (proxy NULL: none): the target's host:port, for
     * messages, and for a tunnel the CONNECT request sent first on every
     * new socket (tunnel_req NULL: a forward proxy). */
    const struct proxy *proxy;
    const char *proxy_target;
    const char *tunnel_req; size_t tunnel_len;
    enum api_kind api;
    struct tls_ctx *tls;               /* https: the run's TLS context; NULL plain TCP */
    const char *tls_host;              /* the name (or address) the certificate must carry */
    uint64_t connect_timeout_ns, ttft_timeout_ns, idle_timeout_ns, request_timeout_ns; /* 0: none */
    int rx_kernel;                     /* time reads by kernel receive stamps (rxstamp.h) */
    int collect_text;                  /* keep the generated text (tokenizer, multi-turn) */
    int fast_path;                     /* try api_shape_match before a full parse */
    double overlong_factor;            /* stop a response past this x max_tokens events; 0 never */
    /* --local-addrs: slot k binds local[k % nlocal] before it connects, so
     * more connections than one address has ports can reach one server. */
    const struct sockaddr_storage *local;
    uint32_t nlocal;
    /* Scratch, used within one callback and never kept: one read buffer
     * for the loop and one jsmn token array. */
    char *rbuf; size_t rbuf_len;
    jsmntok_t *toks; unsigned ntoks;
    /* engine: the run's clock origin (record offsets count from it). */
    uint64_t t0;
    /* engine: a second Ctrl-C (abort everything, pool nothing), and the
     * end of the run (no retries). */
    int aborting, ended;
    /* Bumped by conns: reads with data, those the kernel stamped, and
     * events the shape fast path answered without a parse. */
    uint64_t reads, reads_stamped, fast_events;
    struct conn_events on;
    void *ud;
};

enum conn_state {
    CONN_FREE = 0,     /* no socket: the slot can connect */
    CONN_CONNECTING,   /* TCP connect, then the TLS handshake if any */
    CONN_IDLE,         /* connected, in the keep-alive pool */
    CONN_BUSY,         /* a request is in flight */
    CONN_CLOSING,      /* waiting for the socket's close callback */
};

enum conn_framing { FRAME_NONE = 0, FRAME_SSE, FRAME_NDJSON, FRAME_BODY };

struct conn {
    struct conn_env *env;
    uint32_t slot;                 /* index in the engine's array */
    enum conn_state state;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    uv_timer_t timer;              /* the nearest deadline of the request */
    llhttp_t parser;
    struct conn *next_idle;        /* keep-alive pool link (the engine's) */
    struct tls_sess tls;           /* with env->tls: this slot's session (tls.h) */
    uint64_t open_abs;             /* hrtime the socket's connect began */
    uint64_t tcp_ns;               /* its TCP connect took */

    /* The request in flight. */
    struct req_record rec;
    uint32_t user;                 /* virtual user (for multi-turn workloads) */
    int64_t max_tokens;            /* what the request asked for (set by the engine), <= 0 unknown */
    uint64_t max_events;           /* content events past which it is overlong, 0 no limit */
    int reused;                    /* sent on a connection that served before */
    int got_bytes;                 /* any response byte arrived */
    int retry_pending;             /* reconnect and send rec again */
    int served;                    /* responses completed on this socket */
    uint64_t last_event_abs;       /* hrtime of the last content event */
    uint64_t read_ts;              /* hrtime of the read being parsed */
    /* CONNECT sent, the proxy's reply being read: the socket is not the
     * target's yet. */
    int tunneling;
    struct proxy_reply preply;

    /* Parser outcome, recorded in callbacks and acted on after execute. */
    int msg_complete;
    int interim;                   /* the response that ended was a 1xx: the final one follows */
    int stream_done;               /* [DONE] / done:true seen */
    int finish_seen;               /* a finish reason seen (the stream may still carry usage) */
    enum err_class fail;           /* first failure seen, ERR_NONE if none */
    char failmsg[RESULT_ERRMSG_LEN];
    enum conn_framing framing;
    /* Response headers.  A read can end inside a header's name or value,
     * so llhttp hands both over in pieces: they are gathered until it says
     * the piece is complete. */
    char hname[24]; size_t hname_len;   /* the name being read; longer ones are none we read */
    enum conn_header { HDR_OTHER = 0, HDR_CONTENT_TYPE, HDR_CONTENT_ENCODING, HDR_DATE } hval;   /* whose value is being read */
    char ctype[64];
    size_t ctype_len;
    char cenc[24];
    size_t cenc_len;
    char date[40];              /* Date: the server's clock (srvclock.h) */
    size_t date_len;
    /* A body compressed although the request asked for identity: inflated
     * before the framing.  Allocated for the first such response of this
     * slot and reused; nothing is allocated per event. */
    struct z_stream_s *z;
    char *zout;
    int zmode;                     /* 0 none, else the zlib window bits in use */
    int zended;                    /* the compressed stream reached its end */
    int zstarted;                  /* it has produced bytes (no raw-deflate retry after) */
    char zhead[2]; size_t zhead_len;   /* the body's first bytes, for that retry */
    union { struct sse sse; struct ndjson nd; } dec;
    struct api_shape shape;        /* this stream's plain content events (api.h) */
    char *carry; size_t carry_cap; size_t body_len;   /* decoder carry / whole body */

    /* Generated text, unescaped, kept only when the workload needs it
     * (local token counts, multi-turn replies).  Grows, never shrinks. */
    char *text; size_t text_len, text_cap;
    int text_overflow;

    /* Request bytes. */
    char *wbuf; size_t wlen, wcap;
};

/* Sets up a slot (timer handle, back pointers).  0, or -1 when libuv
 * refuses the timer (the one way it fails). */
int conn_init(struct conn *c, struct conn_env *env, uint32_t slot);

/* Starts the request already placed in c->rec (CONN_FREE: connects first;
 * CONN_IDLE: sends on the kept-alive socket).  The outcome, failures
 * included, comes back through env->on.done. */
void conn_start(struct conn *c);

/* The transport's side, for a transport other than the socket (TLS
 * would hand over decrypted bytes) and for driving a connection without
 * one (tests, fuzzing).  conn_input takes what one read brought: n > 0
 * bytes at data, 0 for nothing, or a negative uv error (UV_EOF at the end
 * of the stream); ts is the hrtime the bytes arrived.  conn_start_unsent
 * makes a FREE slot that never had a socket BUSY with the request in
 * c->rec as if it had just been written; its end comes through
 * env->on.done and then env->on.closed, as for any request. */
void conn_input(struct conn *c, ssize_t n, const char *data, uint64_t ts);
void conn_start_unsent(struct conn *c);

/* Closes the socket (if any); the slot becomes FREE in the close callback,
 * which then calls env->on.closed. */
void conn_close(struct conn *c);

/* Closes the timer handle too: the last call on a slot, at engine end. */
void conn_release(struct conn *c);

/* Releases the heap buffers of a slot once its handles are closed. */
void conn_free_buffers(struct conn *c);

/* Aborts the request in flight (second Ctrl-C): records ERR_ABORTED. */
void conn_abort(struct conn *c);

#endif
