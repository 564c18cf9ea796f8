#ifndef LLMLOAD_MOCK_SERVER_H
#define LLMLOAD_MOCK_SERVER_H
/* The simulator's server state, shared by the modules that run it (private
 * to src/mock; the CLI sees only mock.h):
 *
 *   mock_http.c    connections: sockets, llhttp in request mode, keep-alive,
 *                  pipelining, deadlines, the write path and HTTP framing;
 *   mock_server.c  the server: loop, listener, signals, counters, truth
 *                  file, and the answer to each request that was read;
 *   mock_gen.c     generation: slots, the FIFO queue, the token clock;
 *
 * over the pure modules mock_routes.c (which path does what),
 * mock_validate.c (what a request asks for, or which error it gets),
 * mock_model.c (timing formulas, plans), mock_out.c (payload templates) and
 * mock_timer.c (ns timers).
 *
 * Everything runs on one libuv loop, so nothing here is locked.  The
 * functions below are grouped by the module that defines them; mock_conn_*
 * act on one connection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <llhttp.h>
#include <uv.h>

#include "mock.h"
#include "mock_out.h"
#include "mock_routes.h"
#include "mock_timer.h"
#include "mock_validate.h"

#define mock_container_of(p, type, member) \
    ((type *)(void *)((char *)(p) - offsetof(type, member)))

#define MOCK_URL_MAX 256
#define MOCK_ID_MAX 255
#define MOCK_HEADER_BYTES_MAX 65536

enum mock_conn_state { MOCK_CONN_OPEN, MOCK_CONN_LINGER, MOCK_CONN_CLOSED };

/* One request in progress: its ground-truth record and, for a generation,
 * the state of the token clock. */
struct mock_req {
    uint64_t seq;
    enum mock_route route;
    int status;
    int gen;                    /* a generation request (holds or waits for a slot) */
    int stream;
    struct mock_resp resp;
    struct mock_plan plan;
    struct mock_rng text_rng;
    uint64_t recv_ns, grant_ns, first_ns, last_ns, done_ns;
    uint64_t arrive_ns;         /* kernel receive stamp of the request's last bytes */
    uint64_t next_due;          /* ideal time of the next token */
    uint64_t sent;              /* tokens generated */
    uint32_t pending;           /* tokens not yet written (tokens-per-chunk) */
    uint64_t events;            /* token-carrying events written */
    uint64_t first_reasoning_ns, first_output_ns;  /* first reasoning / answer event written */
    uint64_t tool_calls;        /* tool calls begun */
    const char *aborted;        /* why it ended early, NULL if it did not */
    int fault_counted;
    int final_wait;             /* the tokens are done; the end is stalled */
};

struct mock_server;

/* One client connection.  It owns its socket, parser, request bytes and the
 * request in progress; it is recycled through the server's free list. */
struct mock_conn {
    uv_tcp_t tcp;
    uv_shutdown_t shut;
    llhttp_t parser;
    struct mock_server *srv;
    struct mock_conn *prev, *next;  /* live connections */
    struct mock_conn *qnext;        /* slot queue */
    struct mtimer tick;             /* the request's token clock (mock_gen.c) */
    struct mtimer wait;             /* idle, request-header and linger deadlines */
    uint64_t last_active;           /* the newest read, or the end of a response */
    uint64_t hdr_since;             /* a request header is being read since; 0: none */
    enum mock_conn_state state;
    /* parser state of the request being read */
    char url[MOCK_URL_MAX];
    uint16_t url_len;
    char hfield[16];
    uint8_t hfield_len;
    uint8_t hwhich;
    char expect[16];
    uint8_t expect_len;
    char *id;                   /* X-Request-Id, malloc'd, NUL-terminated */
    size_t id_len;
    char *body;
    size_t body_len, body_cap;
    uint32_t hdr_bytes;
    unsigned url_overflow : 1, too_large : 1, hdr_overflow : 1, msg_done : 1;
    /* connection state */
    unsigned busy : 1, in_process : 1, peer_eof : 1, keep_alive : 1, head : 1, chunked : 1,
        has_slot : 1, queued : 1, headers_sent : 1, accepted : 1;
    uint8_t method;
    uint64_t rx_ns;             /* arrival of the newest bytes read (rxstamp.h), 0 unknown */
    char *pend;                 /* received bytes not yet parsed */
    size_t pend_len, pend_cap;
    struct mock_req q;
};

/* Status codes counted in /metrics, one by one (mock_server.c); the last
 * entry counts all others. */
#define MOCK_NSTATUS 11

struct mock_counters {
    uint64_t requests[MOCK_R_COUNT];
    uint64_t status[MOCK_NSTATUS];
    uint64_t faults[MOCK_FAULT_COUNT];
    uint64_t tokens, prompt_tokens, events;
    uint64_t accept_errors, client_aborts, conns_total;
    uint64_t header_timeouts;
    uint64_t conns_open;
};

struct mock_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    struct mtimers timers;
    const struct mock_config *cfg;
    struct mock_conn *live;
    struct mock_conn *free_list;
    struct mock_conn *qhead, *qtail;   /* generations waiting for a slot */
    uint32_t active, queued;
    uint64_t seq;
    uint64_t interval_b[64];    /* token interval by batch size, cached */
    int64_t wall_offset;        /* Unix ns minus uv_hrtime() */
    int64_t start_unix;
    FILE *truth;
    int stopping;
    int rx_kernel;              /* requests are read with kernel receive stamps */
    int rx_hold;                /* rxstamp_hold() socket, or -1 */
    struct mock_counters cnt;
    /* Shared scratch: every response is formatted here and written (or
     * copied into a write request) before the callback returns. */
    struct mbuf out, ev, txt;
    char rbuf[65536];
};

/* --- mock_server.c ------------------------------------------------------- */

void mock_logv(const struct mock_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mock_count_status(struct mock_server *s, int status);
/* RFC 3339 wall time of the monotonic instant now. */
void mock_wall_time(const struct mock_server *s, uint64_t now, char *buf, size_t cap);
/* Appends the request's ground-truth line: once per request, when it ends
 * for whatever reason. */
void mock_truth_write(struct mock_server *s, const struct mock_conn *c);
/* Answers a request the HTTP layer has read (or failed to read): decides
 * with mock_validate and acts.  c->busy is set; the request ends through
 * mock_conn_request_end, now or when its generation ends. */
void mock_server_answer(struct mock_conn *c, const struct mock_request *rq);

/* --- mock_http.c --------------------------------------------------------- */

/* The listener's connection callback. */
void mock_http_on_connection(uv_stream_t *listener, int status);
/* Frees the recycled connection structs (after the loop has ended). */
void mock_http_free_conns(struct mock_server *s);

/* Response framing into the shared output buffer s->out.  Status line and
 * headers; clen < 0 means a streamed body (chunked on HTTP/1.1). */
void mock_conn_headers(struct mock_conn *c, int status, const char *ctype, long long clen,
                       const char *extra);
/* Moves the event buffer s->ev into the output as one body chunk. */
void mock_conn_event(struct mock_conn *c);
/* Writes the output buffer.  Returns 0, or -1 when that failed and the
 * connection was aborted. */
int mock_conn_flush(struct mock_conn *c);
/* Ends a streamed body (the zero chunk), flushes, and ends the request as
 * done at done_ns. */
void mock_conn_stream_end(struct mock_conn *c, uint64_t done_ns);
/* A whole response with Content-Length; ends the request. */
void mock_conn_respond(struct mock_conn *c, int status, const char *ctype, const char *body,
                       size_t len, const char *extra);
/* An error response in the style of the path; ends the request. */
void mock_conn_error(struct mock_conn *c, int status, const char *msg, const char *extra);
/* Records the finished request and goes on with the connection: the next
 * pipelined request, the idle wait, or the close. */
void mock_conn_request_end(struct mock_conn *c);
/* Ends the request as it stands (recorded as done, not aborted) and closes
 * with FIN and no last chunk: the "close" fault. */
void mock_conn_cut(struct mock_conn *c);
/* Ends the request in progress as aborted (why) and closes at once. */
void mock_conn_abort(struct mock_conn *c, const char *why);

/* --- mock_gen.c ---------------------------------------------------------- */

/* Plans the generation g of the request on c and queues it for a slot, or
 * answers the fault drawn before the stream (429/500/503). */
void mock_gen_start(struct mock_conn *c, const struct mock_gen_req *g);
/* Takes the request off the queue and its slot, stops its clock: the
 * request ends before its generation did. */
void mock_gen_drop(struct mock_conn *c);
/* Gives back the slot of a generation that ended; the next queued one
 * takes it. */
void mock_gen_release(struct mock_conn *c);
/* The token clock's timer callback (c->tick). */
void mock_gen_tick(struct mtimer *t);

#endif
