/* conn.c through its narrow interface (struct conn_env): an in-process
 * libuv server on 127.0.0.1 answers two requests on one kept-alive
 * connection with the same SSE stream, and the record, the callbacks and
 * the fast-path switch (env.fast_path, which LLMLOAD_NO_FAST_PATH clears)
 * are checked.  No simulator process, no engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "conn.h"

#define NEVENTS 12
#define NTOK 1024

struct fixture {
    uv_loop_t loop;
    uv_tcp_t server, peer;
    struct sockaddr_storage addr;
    char req[4096]; size_t req_len;
    char resp[8192]; size_t resp_len;
    uv_write_t wr;
    int served;                  /* responses written */
    /* As a proxy: the reply to CONNECT (NULL: not a proxy), and how many
     * CONNECTs came. */
    const char *proxy_reply;
    int connects;
    char connect_req[4096];

    struct conn_env env;
    struct conn c;
    char rbuf[64 * 1024];
    jsmntok_t toks[NTOK];
    int done, kept, closed, lost;
    struct req_record recs[2];
};

/* One response: NEVENTS chat chunks of one shape, usage on the last. */
static void build_response(struct fixture *f)
{
    char body[6000];
    size_t n = 0;

    for (int i = 0; i < NEVENTS; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                              "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d \"},"
                              "\"finish_reason\":null}]}\n\n", i);
    n += (size_t)snprintf(body + n, sizeof body - n,
                          "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":%d}}\n\n"
                          "data: [DONE]\n\n", NEVENTS);
    f->resp_len = (size_t)snprintf(f->resp, sizeof f->resp,
                                   "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   "Content-Length: %zu\r\n\r\n%s", n, body);
}

static void srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct fixture *f = h->data;
    (void)hint;
    b->base = f->req + f->req_len;
    b->len = sizeof f->req - f->req_len - 1;
}

static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct fixture *f = s->data;
    (void)b;
    if (n < 0) {
        uv_close((uv_handle_t *)s, NULL);
        return;
    }
    f->req_len += (size_t)n;
    f->req[f->req_len] = '\0';
    /* One whole request (headers only: the test sends no body). */
    if (strstr(f->req, "\r\n\r\n")) {
        uv_buf_t out = uv_buf_init(f->resp, (unsigned)f->resp_len);
        if (!strncmp(f->req, "CONNECT ", 8)) {
            /* A tunnel first; the requests then come through it. */
            assert_non_null(f->proxy_reply);
            assert_int_equal(f->served, 0);
            snprintf(f->connect_req, sizeof f->connect_req, "%s", f->req);
            out = uv_buf_init((char *)f->proxy_reply, (unsigned)strlen(f->proxy_reply));
            f->connects++;
        } else {
            f->served++;
        }
        f->req_len = 0;
        assert_int_equal(uv_write(&f->wr, s, &out, 1, NULL), 0);
    }
}

static void srv_accept(uv_stream_t *s, int status)
{
    struct fixture *f = s->data;
    assert_int_equal(status, 0);
    uv_tcp_init(&f->loop, &f->peer);
    f->peer.data = f;
    assert_int_equal(uv_accept(s, (uv_stream_t *)&f->peer), 0);
    uv_read_start((uv_stream_t *)&f->peer, srv_alloc, srv_read);
}

static void on_done(void *ud, struct conn *c, int keep)
{
    struct fixture *f = ud;
    assert_true(f->done < 2);
    f->recs[f->done] = c->rec;
    f->recs[f->done].ev_us = NULL;
    f->kept += keep;
    if (c->rec.err != ERR_NONE) {
        /* Refused by the proxy: the slot closes, nothing more is sent. */
        f->done++;
        assert_false(keep);
        return;
    }
    if (++f->done == 1) {
        /* Again on the kept-alive socket, as the engine's pool would. */
        assert_true(keep);
        assert_int_equal(c->state, CONN_IDLE);
        req_record_reset(&c->rec);
        conn_start(c);
    } else if (keep) {
        conn_close(c);
    }
}

static void on_closed(void *ud, struct conn *c)
{
    struct fixture *f = ud;
    assert_int_equal(c->state, CONN_FREE);
    f->closed++;
    uv_close((uv_handle_t *)&f->server, NULL);
    conn_release(c);
}

static void on_lost(void *ud, struct conn *c)
{
    struct fixture *f = ud;
    (void)c;
    f->lost++;
}

/* Two requests on one connection; through a proxy's tunnel when
 * proxy_reply is the reply to its CONNECT. */
static void run_via(struct fixture *f, int fast_path, const char *proxy_reply)
{
    struct sockaddr_in sin;
    int len = sizeof f->addr;
    const char *req = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    static const char connect_req[] = "CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n";
    static struct proxy px = { .hostport = "127.0.0.1:3128" };

    memset(f, 0, sizeof *f);
    f->proxy_reply = proxy_reply;
    build_response(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_tcp_init(&f->loop, &f->server);
    f->server.data = f;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    assert_int_equal(uv_tcp_bind(&f->server, (const struct sockaddr *)&sin, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&f->server, 4, srv_accept), 0);
    assert_int_equal(uv_tcp_getsockname(&f->server, (struct sockaddr *)&f->addr, &len), 0);

    f->env = (struct conn_env){
        .loop = &f->loop, .addr = (const struct sockaddr *)&f->addr, .api = API_OPENAI_CHAT,
        .request_timeout_ns = 10000000000ull, .fast_path = fast_path,
        .rbuf = f->rbuf, .rbuf_len = sizeof f->rbuf, .toks = f->toks, .ntoks = NTOK,
        .t0 = uv_hrtime(),
        .on = { .done = on_done, .closed = on_closed, .lost = on_lost }, .ud = f,
    };
    if (proxy_reply) {
        f->env.proxy = &px;
        f->env.proxy_target = "api.example:443";
        f->env.tunnel_req = connect_req;
        f->env.tunnel_len = sizeof connect_req - 1;
    }
    assert_int_equal(conn_init(&f->c, &f->env, 0), 0);
    f->c.wbuf = strdup(req);
    f->c.wlen = f->c.wcap = strlen(req);
    req_record_reset(&f->c.rec);
    conn_start(&f->c);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    conn_free_buffers(&f->c);
    if (proxy_reply) {
        assert_int_equal(f->connects, 1);
        assert_string_equal(f->connect_req, connect_req);
    }
}

/* Both requests served on the one kept-alive connection. */
static void check_two_served(const struct fixture *f)
{
    assert_int_equal(f->served, 2);
    assert_int_equal(f->done, 2);
    assert_int_equal(f->kept, 2);
    assert_int_equal(f->closed, 1);
    assert_int_equal(f->lost, 0);
    for (int i = 0; i < 2; i++) {
        const struct req_record *r = &f->recs[i];
        assert_int_equal(r->err, ERR_NONE);
        assert_int_equal(r->status, 200);
        assert_int_equal(r->events, NEVENTS);
        assert_int_equal(r->server_tokens, NEVENTS);
        assert_int_equal(r->in_tokens, 7);
        assert_true(r->first_ns >= r->start_ns && r->last_ns >= r->first_ns && r->end_ns >= r->last_ns);
    }
}

static void run(struct fixture *f, int fast_path)
{
    run_via(f, fast_path, NULL);
    check_two_served(f);
}


static void test_fast_path_on(void **state)
{
    struct fixture *f = malloc(sizeof *f);
    (void)state;
    run(f, 1);
    /* Each stream's first chunk is parsed and learned; the rest match. */
    assert_int_equal(f->env.fast_events, 2 * (NEVENTS - 1));
    free(f);
}

/* The switch the engine sets from LLMLOAD_NO_FAST_PATH: every event is
 * parsed, and the records are the same. */
static void test_fast_path_off(void **state)
{
    struct fixture *f = malloc(sizeof *f);
    (void)state;
    run(f, 0);
    assert_int_equal(f->env.fast_events, 0);
    free(f);
}

/* Through a proxy's tunnel: CONNECT once, then both requests through it on
 * the kept-alive connection; the exchange is connecting, not the request
 * (TTFT starts at the request's first byte, after the proxy's reply). */
static void test_tunnel(void **state)
{
    struct fixture *f = malloc(sizeof *f);
    (void)state;
    run_via(f, 1, "HTTP/1.1 200 Connection established\r\nProxy-agent: test\r\n\r\n");
    check_two_served(f);
    free(f);
}

/* A proxy that wants credentials, or refuses the tunnel: one class each,
 * the status and both ends named, no request sent. */
static void test_tunnel_refused(void **state)
{
    static const struct { const char *reply; enum err_class cls; const char *says; } cases[] = {
        { "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno", ERR_PROXY_AUTH,
          "proxy 127.0.0.1:3128 wants credentials to reach api.example:443 (407)" },
        { "HTTP/1.1 403 Forbidden\r\n\r\n", ERR_PROXY,
          "proxy 127.0.0.1:3128 refused to reach api.example:443: status 403" },
        { "SSH-2.0-nope\r\n", ERR_PROXY, "its reply to CONNECT is not HTTP" },
        { "HTTP/1.1 200 OK\r\n\r\nextra", ERR_PROXY, "bytes after its reply to CONNECT" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture *f = malloc(sizeof *f);
        run_via(f, 1, cases[i].reply);
        assert_int_equal(f->done, 1);
        assert_int_equal(f->served, 0);
        assert_int_equal(f->kept, 0);
        assert_int_equal(f->closed, 1);
        assert_int_equal(f->recs[0].err, cases[i].cls);
        assert_int_equal(f->recs[0].status, 0);
        assert_non_null(strstr(f->recs[0].errmsg, cases[i].says));
        free(f);
    }
}

/* ------------------------------------------------------------------ */
/* Without a socket: a connection fed through conn_input (the transport's
 * side), so a response can be cut at any byte.                         */

struct drive {
    uv_loop_t loop;
    struct conn_env env;
    struct conn c;
    char rbuf[4096];
    jsmntok_t toks[NTOK];
    int done, closed;
    struct req_record rec;       /* the last finished request (ev_us not kept) */
    char text[8192]; size_t text_len;
    struct run_stats *stats;     /* when set, every record is added to it */
    uint32_t *times; size_t ntimes, times_cap;   /* when set, every event time */
};

/* Event times handed on (env.on.events) and held at the end, in order. */
static void drive_keep_times(struct drive *d, const struct req_record *r)
{
    if (!d->times)
        return;
    assert_true(d->ntimes + r->ev_n <= d->times_cap);
    memcpy(d->times + d->ntimes, r->ev_us, r->ev_n * sizeof r->ev_us[0]);
    d->ntimes += r->ev_n;
}

static void drive_events(void *ud, struct conn *c)
{
    struct drive *d = ud;
    assert_int_equal(c->rec.ev_n, RESULT_EV_CHUNK);
    drive_keep_times(d, &c->rec);
}

static void drive_done(void *ud, struct conn *c, int keep)
{
    struct drive *d = ud;
    d->done++;
    drive_keep_times(d, &c->rec);
    if (d->stats)
        run_stats_add(d->stats, &c->rec);
    d->rec = c->rec;
    d->rec.ev_us = NULL;
    d->text_len = c->text_len < sizeof d->text ? c->text_len : sizeof d->text;
    if (d->text_len)
        memcpy(d->text, c->text, d->text_len);
    if (keep)
        conn_close(c);
}

static void drive_closed(void *ud, struct conn *c)
{
    struct drive *d = ud;
    assert_int_equal(c->state, CONN_FREE);
    d->closed++;
}

static struct drive *drive_new(enum api_kind api)
{
    struct drive *d = calloc(1, sizeof *d);
    assert_non_null(d);
    assert_int_equal(uv_loop_init(&d->loop), 0);
    d->env = (struct conn_env){
        .loop = &d->loop, .api = api, .request_timeout_ns = 10000000000ull, .fast_path = 1,
        .collect_text = 1, .rbuf = d->rbuf, .rbuf_len = sizeof d->rbuf, .toks = d->toks,
        .ntoks = NTOK, .t0 = uv_hrtime(),
        .on = { .done = drive_done, .closed = drive_closed, .lost = on_lost,
                .events = drive_events }, .ud = d,
    };
    assert_int_equal(conn_init(&d->c, &d->env, 0), 0);
    return d;
}

static void drive_free(struct drive *d)
{
    conn_release(&d->c);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&d->loop), 0);
    conn_free_buffers(&d->c);
    free(d);
}

/* One request whose response is resp cut before each offset in cuts
 * (ascending), then the end of the stream if the response did not end. */
static const struct req_record *drive_cut(struct drive *d, const char *resp, size_t n,
                                          const size_t *cuts, size_t ncuts)
{
    size_t at = 0;
    int done = d->done;
    req_record_reset(&d->c.rec);
    conn_start_unsent(&d->c);
    for (size_t i = 0; i <= ncuts && d->done == done; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        if (to > at)
            conn_input(&d->c, (ssize_t)(to - at), resp + at, uv_hrtime());
        at = to;
    }
    if (d->done == done)
        conn_input(&d->c, UV_EOF, NULL, uv_hrtime());
    assert_int_equal(d->done, done + 1);
    assert_int_equal(d->closed, d->done);
    return &d->rec;
}

static const struct req_record *drive_whole(struct drive *d, const char *resp, size_t n)
{
    return drive_cut(d, resp, n, NULL, 0);
}

static char *read_fixture(const char *name, size_t *n)
{
    const char *dir = getenv("LLMLOAD_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/llama-server-b4748/%s", dir ? dir : "tests/fixtures", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void same_outcome(const struct req_record *a, const struct req_record *b,
                         const struct drive *d, const char *text, size_t text_len)
{
    assert_int_equal(a->err, b->err);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->events, b->events);
    assert_int_equal(a->server_tokens, b->server_tokens);
    assert_int_equal(a->in_tokens, b->in_tokens);
    assert_int_equal(a->eval_count, b->eval_count);
    assert_int_equal(d->text_len, text_len);
    assert_memory_equal(d->text, text, text_len);
}

/* Header names and values arrive in pieces when a read ends inside them
 * (slow links, proxies): every cut of a real response's header block,
 * one cut and byte by byte, gives the outcome of the whole response. */
static void test_header_block_cut_anywhere(void **state)
{
    static const struct { const char *file; enum api_kind api; int events; } caps[] = {
        { "chat_stream_raw.txt", API_OPENAI_CHAT, 12 },
        { "v1_completions_stream_raw.txt", API_OPENAI_COMPLETIONS, 8 },
        { "completion_native_stream_raw.txt", API_OPENAI_COMPLETIONS, 8 },
        { "chat_nonstream.txt", API_OPENAI_CHAT, 1 },
    };
    (void)state;
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        size_t n;
        char *resp = read_fixture(caps[k].file, &n);
        const char *eoh = memmem(resp, n, "\r\n\r\n", 4);
        assert_non_null(eoh);
        size_t hdr = (size_t)(eoh - resp) + 4;
        struct drive *d = drive_new(caps[k].api);
        struct req_record ref = *drive_whole(d, resp, n);
        char text[sizeof d->text];
        size_t text_len = d->text_len;
        memcpy(text, d->text, text_len);
        assert_int_equal(ref.err, ERR_NONE);
        assert_int_equal(ref.status, 200);
        assert_int_equal(ref.events, caps[k].events);
        assert_true(text_len > 0);
        for (size_t cut = 1; cut <= hdr; cut++)
            same_outcome(drive_cut(d, resp, n, &cut, 1), &ref, d, text, text_len);
        size_t cuts[1024];
        assert_true(hdr <= 1024);
        for (size_t i = 0; i < hdr; i++)
            cuts[i] = i + 1;
        same_outcome(drive_cut(d, resp, n, cuts, hdr), &ref, d, text, text_len);
        drive_free(d);
        free(resp);
    }
}

/* 100 Continue and 103 Early Hints before the final response are interim
 * (RFC 9110 §15.2): skipped, whether they come in the read of the final
 * response or cut anywhere. */
static void test_interim_responses_skipped(void **state)
{
    static const char interim[] =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
        "Content-Type: text/html\r\n\r\n";
    size_t n, pre = sizeof interim - 1;
    char *cap = read_fixture("chat_stream_raw.txt", &n);
    char *resp = malloc(pre + n);
    (void)state;
    memcpy(resp, interim, pre);
    memcpy(resp + pre, cap, n);
    struct drive *d = drive_new(API_OPENAI_CHAT);
    struct req_record ref = *drive_whole(d, cap, n);
    char text[sizeof d->text];
    size_t text_len = d->text_len;
    memcpy(text, d->text, text_len);

    const struct req_record *r = drive_whole(d, resp, pre + n);
    assert_int_equal(r->err, ERR_NONE);
    assert_int_equal(r->status, 200);
    same_outcome(r, &ref, d, text, text_len);
    for (size_t cut = 1; cut <= pre + 40; cut++)
        same_outcome(drive_cut(d, resp, pre + n, &cut, 1), &ref, d, text, text_len);
    /* 101 is not interim for us: no protocol switch was asked for. */
    static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
    r = drive_whole(d, sw, sizeof sw - 1);
    assert_int_not_equal(r->err, ERR_NONE);
    drive_free(d);
    free(resp);
    free(cap);
}

/* An SSE response of nev chat chunks "t0 ", "t1 " ...; end: a finish
 * reason and usage, then [DONE] (2), the finish reason alone (1), or
 * neither (0).  framing: 'L' Content-Length (cl_cut bytes short of the
 * body), 'C' chunked, '0' HTTP/1.0 ended by the close. */
static size_t sse_resp(char *out, size_t cap, int nev, int end, char framing, size_t cl_cut)
{
    char body[8192];
    size_t n = 0;
    for (int i = 0; i < nev; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d \"},"
                              "\"finish_reason\":null}]}\n\n", i);
    if (end >= 1)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                              "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":%d}}\n\n", nev);
    if (end >= 2)
        n += (size_t)snprintf(body + n, sizeof body - n, "data: [DONE]\n\n");
    if (framing == 'L')
        return (size_t)snprintf(out, cap, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                "Content-Length: %zu\r\n\r\n%s", n - cl_cut, body);
    if (framing == 'C')
        return (size_t)snprintf(out, cap, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n", n, body);
    return (size_t)snprintf(out, cap, "HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n%s", body);
}

static enum err_class outcome(struct drive *d, const char *resp, size_t n)
{
    return drive_whole(d, resp, n)->err;
}

#define S(lit) lit, sizeof lit - 1

/* A 200 that carries no generated text is a failure of its own class. */
static void test_empty_stream(void **state)
{
    char buf[16384];
    size_t n;
    (void)state;
    struct drive *d = drive_new(API_OPENAI_CHAT);
    assert_int_equal(outcome(d, S("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                  "Content-Length: 0\r\n\r\n")), ERR_EMPTY);
    assert_int_equal(outcome(d, S("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                  "Content-Length: 14\r\n\r\ndata: [DONE]\n\n")), ERR_EMPTY);
    assert_string_equal(d->rec.errmsg, "the stream carried no generated text");
    /* A role chunk, an empty content, a finish reason: still nothing. */
    n = sse_resp(buf, sizeof buf, 0, 2, 'C', 0);
    assert_int_equal(outcome(d, buf, n), ERR_EMPTY);
    /* A non-streamed body without text too. */
    assert_int_equal(outcome(d, S("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 43\r\n\r\n"
                                  "{\"choices\":[{\"message\":{\"content\":\"\"}}]}   ")), ERR_EMPTY);
    /* llama.cpp answering EOS at once: a real capture of an empty stream. */
    char *cap = read_fixture("chat_stream_eos_stop_raw.txt", &n);
    assert_int_equal(outcome(d, cap, n), ERR_EMPTY);
    free(cap);
    drive_free(d);

    d = drive_new(API_OLLAMA_GENERATE);
    assert_int_equal(outcome(d, S("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                                  "Content-Length: 42\r\n\r\n"
                                  "{\"response\":\"\",\"done\":true,\"eval_count\":0}")), ERR_EMPTY);
    drive_free(d);
}

/* A stream whose HTTP message ended but whose end marker never came was
 * cut short: by a Content-Length smaller than the stream, by the close of
 * an HTTP/1.0 body, or by a chunked body ended early.  A cut inside the
 * HTTP message itself stays `closed`. */
static void test_truncated_stream(void **state)
{
    char buf[16384];
    size_t n;
    (void)state;
    struct drive *d = drive_new(API_OPENAI_CHAT);
    for (char fr = 0; fr < 3; fr++) {
        char framing = "LC0"[(int)fr];
        n = sse_resp(buf, sizeof buf, 5, 2, framing, 0);
        assert_int_equal(outcome(d, buf, n), ERR_NONE);
        assert_int_equal(d->rec.events, 5);
        n = sse_resp(buf, sizeof buf, 5, 1, framing, 0);   /* a finish reason, no [DONE] */
        assert_int_equal(outcome(d, buf, n), ERR_NONE);
        n = sse_resp(buf, sizeof buf, 5, 0, framing, 0);   /* neither */
        assert_int_equal(outcome(d, buf, n), ERR_TRUNCATED);
        assert_int_equal(d->rec.events, 5);
    }
    /* Content-Length ends the message inside the stream: the rest is not
     * read, and what was read lacks its end. */
    n = sse_resp(buf, sizeof buf, 5, 2, 'L', 200);
    assert_int_equal(outcome(d, buf, n), ERR_TRUNCATED);
    assert_string_equal(d->rec.errmsg, "the stream ended without [DONE], done or a finish reason");
    /* Chunked, closed before the last chunk: the message is incomplete. */
    n = sse_resp(buf, sizeof buf, 5, 2, 'C', 0);
    assert_int_equal(drive_cut(d, buf, n - 7, NULL, 0)->err, ERR_CLOSED);
    drive_free(d);

    d = drive_new(API_OLLAMA_CHAT);
    assert_int_equal(outcome(d, S("HTTP/1.0 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n"
                                  "{\"message\":{\"content\":\"a\"},\"done\":false}\n"
                                  "{\"message\":{\"content\":\"b\"},\"done\":false}\n")), ERR_TRUNCATED);
    assert_int_equal(outcome(d, S("HTTP/1.0 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n"
                                  "{\"message\":{\"content\":\"a\"},\"done\":false}\n"
                                  "{\"message\":{\"content\":\"\"},\"done\":true}\n")), ERR_NONE);
    drive_free(d);
}

/* body compressed: wbits 31 gzip, 15 zlib, -15 raw deflate. */
static size_t compress_body(const char *body, size_t n, int wbits, char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)body;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t m = z.total_out;
    deflateEnd(&z);
    return m;
}

/* A server or gateway that compresses although the request said
 * Accept-Encoding: identity: gzip and deflate (zlib, or raw as some
 * servers send it) are inflated before the framing, whatever the cuts;
 * a compressed stream cut short is truncated; other codings are refused. */
static void test_compressed_stream(void **state)
{
    static const struct { const char *name; int wbits; } enc[] = {
        { "gzip", 31 }, { "x-gzip", 31 }, { "deflate", 15 }, { "deflate", -15 }, { "GZip", 31 },
    };
    char plain[16384], body[16384], resp[20000];
    (void)state;
    size_t pn = sse_resp(plain, sizeof plain, 40, 2, 'C', 0);
    const char *sse = strstr(plain, "\r\n\r\n") + 4;
    sse = strstr(sse, "\r\n") + 2;                       /* past the chunk size */
    size_t sse_len = (size_t)(strstr(sse, "data: [DONE]\n\n") + 14 - sse);
    (void)pn;
    struct drive *d = drive_new(API_OPENAI_CHAT);
    for (size_t k = 0; k < sizeof enc / sizeof enc[0]; k++) {
        size_t bn = compress_body(sse, sse_len, enc[k].wbits, body, sizeof body);
        int h = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         "Content-Encoding: %s\r\nContent-Length: %zu\r\n\r\n", enc[k].name, bn);
        memcpy(resp + h, body, bn);
        size_t n = (size_t)h + bn;
        const struct req_record *r = drive_whole(d, resp, n);
        assert_int_equal(r->err, ERR_NONE);
        assert_int_equal(r->events, 40);
        assert_int_equal(r->server_tokens, 40);
        struct req_record ref = *r;
        char text[sizeof d->text];
        size_t text_len = d->text_len;
        memcpy(text, d->text, text_len);
        for (size_t cut = (size_t)h; cut < n; cut++)   /* every cut of the compressed body */
            same_outcome(drive_cut(d, resp, n, &cut, 1), &ref, d, text, text_len);
        size_t cuts[2048];
        for (size_t i = 0; i < n - 1 && i < 2048; i++)
            cuts[i] = i + 1;
        same_outcome(drive_cut(d, resp, n, cuts, n - 1 < 2048 ? n - 1 : 2048), &ref, d, text, text_len);
        /* Cut short and framed as if whole: the compressed stream has no end. */
        h = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Content-Encoding: %s\r\nContent-Length: %zu\r\n\r\n", enc[k].name, bn - 8);
        memcpy(resp + h, body, bn - 8);
        assert_int_equal(outcome(d, resp, (size_t)h + bn - 8), ERR_TRUNCATED);
    }
    assert_int_equal(outcome(d, S("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                  "Content-Encoding: br\r\nContent-Length: 4\r\n\r\nabcd")), ERR_PROTOCOL);
    assert_string_equal(d->rec.errmsg, "unsupported Content-Encoding: br");
    assert_int_equal(outcome(d, S("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                  "Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd")), ERR_PROTOCOL);
    /* An error status stays a status error whatever its body's coding. */
    assert_int_equal(outcome(d, S("HTTP/1.1 503 Busy\r\nContent-Encoding: br\r\n"
                                  "Content-Length: 4\r\n\r\nabcd")), ERR_STATUS);
    assert_int_equal(outcome(d, S("HTTP/1.1 503 Busy\r\nContent-Encoding: gzip\r\n"
                                  "Content-Length: 4\r\n\r\nabcd")), ERR_STATUS);
    size_t en = compress_body("{\"error\":\"queue full\"}", 22, 31, body, sizeof body);
    int eh = snprintf(resp, sizeof resp, "HTTP/1.1 503 Busy\r\nContent-Encoding: gzip\r\n"
                      "Content-Length: %zu\r\n\r\n", en);
    memcpy(resp + eh, body, en);
    assert_int_equal(outcome(d, resp, (size_t)eh + en), ERR_STATUS);
    assert_string_equal(d->rec.errmsg, "HTTP 503: queue full");
    /* identity is no coding at all. */
    size_t n = sse_resp(resp, sizeof resp, 3, 2, 'L', 0);
    char *eoh = strstr(resp, "\r\n\r\n");
    memmove(eoh + 28, eoh, (size_t)(resp + n - eoh));
    memcpy(eoh, "\r\nContent-Encoding: identity", 28);
    assert_int_equal(outcome(d, resp, n + 28), ERR_NONE);
    drive_free(d);
}

/* An SSE body of n chat chunks as one HTTP chunk, without its end. */
static size_t sse_chunk(char *out, size_t cap, int n)
{
    static const char ev[] = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w \"}}]}\n\n";
    size_t len = (sizeof ev - 1) * (size_t)n;
    size_t k = (size_t)snprintf(out, cap, "%zx\r\n", len);
    assert_true(k + len + 2 <= cap);
    for (int i = 0; i < n; i++, k += sizeof ev - 1)
        memcpy(out + k, ev, sizeof ev - 1);
    memcpy(out + k, "\r\n", 2);
    return k + 2;
}

static const char chunked_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n";

/* A stream that never ends is stopped once it has more content events
 * than overlong_factor x max_tokens: the request ends at once, as
 * `overlong`, holding that many event times and no more. */
static void test_overlong_stream_stopped(void **state)
{
    static char block[64 * 1024];
    (void)state;
    struct drive *d = drive_new(API_OPENAI_CHAT);
    d->env.overlong_factor = 4;
    d->c.max_tokens = 5;
    size_t bn = sse_chunk(block, sizeof block, 7);
    req_record_reset(&d->c.rec);
    conn_start_unsent(&d->c);
    conn_input(&d->c, sizeof chunked_head - 1, chunked_head, uv_hrtime());
    int fed = 0;
    while (d->done == 0 && fed < 1000) {   /* endless, until llmload stops reading */
        conn_input(&d->c, (ssize_t)bn, block, uv_hrtime());
        fed++;
    }
    assert_int_equal(d->done, 1);
    assert_int_equal(fed, 3);              /* 21 events: the third block */
    assert_int_equal(d->rec.err, ERR_OVERLONG);
    assert_int_equal(d->rec.events, 21);
    assert_string_equal(d->rec.errmsg, "more than 20 content events for max_tokens 5");
    assert_int_equal(d->closed, 1);        /* not kept: the rest was never read */

    /* A fractional factor rounds up; 0 never stops. */
    d->env.overlong_factor = 1.5;
    char buf[16384];
    size_t n = sse_resp(buf, sizeof buf, 9, 2, 'C', 0);   /* 7.5 -> 8 */
    assert_int_equal(outcome(d, buf, n), ERR_OVERLONG);
    assert_int_equal(d->rec.events, 9);
    n = sse_resp(buf, sizeof buf, 8, 2, 'C', 0);
    assert_int_equal(outcome(d, buf, n), ERR_NONE);
    d->env.overlong_factor = 0;
    n = sse_resp(buf, sizeof buf, 60, 2, 'C', 0);
    assert_int_equal(outcome(d, buf, n), ERR_NONE);
    drive_free(d);
}

/* A long response holds RESULT_EV_CHUNK event times at most: the rest
 * are handed on as they fill (the raw writer takes them), and the ITL
 * histogram gets every gap, exactly as if all had been held. */
static void test_event_times_bounded(void **state)
{
    static char block[64 * 1024];
    enum { PER = 500, N = 34 * PER };   /* past two chunks */
    struct run_stats stats;
    (void)state;
    assert_int_equal(run_stats_init(&stats), 0);
    struct hist *want = hist_new(RESULT_HIST_NS_MAX);
    struct drive *d = drive_new(API_OPENAI_CHAT);
    d->stats = &stats;
    d->times_cap = N;
    d->times = malloc(N * sizeof *d->times);
    size_t bn = sse_chunk(block, sizeof block, PER);
    req_record_reset(&d->c.rec);
    conn_start_unsent(&d->c);
    conn_input(&d->c, sizeof chunked_head - 1, chunked_head, uv_hrtime());
    uint64_t ts = uv_hrtime();
    for (int i = 0; i < N / PER; i++) {
        ts += 1000000 + (uint64_t)i * 7000;   /* reads 1 ms apart and more: distinct gaps */
        conn_input(&d->c, (ssize_t)bn, block, ts);
        assert_true(d->c.rec.ev_cap <= RESULT_EV_CHUNK);
    }
    static const char end[] = "1c\r\ndata: {\"choices\":[],\"x\":1}\n\n\r\n"
                              "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";
    conn_input(&d->c, sizeof end - 1, end, ts + 5000);
    assert_int_equal(d->done, 1);
    assert_int_equal(d->rec.err, ERR_NONE);
    assert_int_equal(d->rec.events, N);
    assert_int_equal(d->rec.ev_spilled, 2 * RESULT_EV_CHUNK);
    assert_int_equal(d->ntimes, N);
    /* Every gap, from the deltas handed on and held. */
    for (size_t i = 1; i < d->ntimes; i++)
        hist_record(want, (uint64_t)d->times[i] * 1000u);
    assert_int_equal(hist_count(stats.itl), N - 1);
    assert_int_equal(hist_min(stats.itl), hist_min(want));
    assert_int_equal(hist_max(stats.itl), hist_max(want));
    assert_true(hist_mean(stats.itl) == hist_mean(want));
    for (double p = 0; p <= 100; p += 12.5)
        assert_int_equal(hist_percentile(stats.itl, p), hist_percentile(want, p));
    /* The gaps between reads are where the time went. */
    uint64_t sum = 0;
    for (size_t i = 0; i < d->ntimes; i++)
        sum += d->times[i];
    assert_true(sum * 1000 <= d->rec.last_ns - d->rec.start_ns + 1000 * N);
    free(d->times);
    drive_free(d);
    hist_free(want);
    run_stats_free(&stats);
}

/* A server's counts and durations are believed only up to a plausible
 * bound (100 x max_tokens or 2^40 tokens, 2^46 ns): past it they are
 * clamped and the request flagged, so sums cannot wrap. */
static void test_implausible_counts_clamped(void **state)
{
    static const char resp[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: 209\r\n\r\n"
        "{\"response\":\"hi\",\"done\":false}\n"
        "{\"response\":\"\",\"done\":true,\"eval_count\":9223372036854775807,"
        "\"prompt_eval_count\":1e300,\"eval_duration\":9223372036854775807,"
        "\"total_duration\":9000000000000000000,\"load_duration\":5}\n";
    struct run_stats stats;
    (void)state;
    assert_int_equal(strlen(strstr(resp, "\r\n\r\n") + 4), 209);
    assert_int_equal(run_stats_init(&stats), 0);
    struct drive *d = drive_new(API_OLLAMA_GENERATE);
    d->stats = &stats;
    d->c.max_tokens = 16;
    for (int i = 0; i < 3; i++) {
        const struct req_record *r = drive_whole(d, S(resp));
        assert_int_equal(r->err, ERR_NONE);
        assert_int_equal(r->server_tokens, 1600);            /* 100 x max_tokens */
        assert_int_equal(r->eval_count, 1600);
        assert_int_equal(r->prompt_eval_count, -1);           /* 1e300 is no int64 at all */
        assert_int_equal(r->eval_duration_ns, 1ll << 46);
        assert_int_equal(r->total_duration_ns, 1ll << 46);
        assert_int_equal(r->load_duration_ns, 5);
        assert_true(r->implausible);
    }
    assert_int_equal(stats.implausible, 3);
    assert_int_equal(stats.ollama_eval_count, 3 * 1600);
    /* Plausible numbers are not flagged; without max_tokens, 2^40 bounds. */
    d->c.max_tokens = 0;
    assert_int_equal(drive_whole(d, S(resp))->server_tokens, 1ll << 40);
    static const char ok[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: 77\r\n\r\n"
        "{\"response\":\"hi\",\"done\":false}\n"
        "{\"response\":\"\",\"done\":true,\"eval_count\":1600}\n";
    d->c.max_tokens = 16;
    const struct req_record *r = drive_whole(d, S(ok));
    assert_int_equal(r->server_tokens, 1600);
    assert_false(r->implausible);
    drive_free(d);
    run_stats_free(&stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_path_on),
        cmocka_unit_test(test_fast_path_off),
        cmocka_unit_test(test_tunnel),
        cmocka_unit_test(test_tunnel_refused),
        cmocka_unit_test(test_header_block_cut_anywhere),
        cmocka_unit_test(test_interim_responses_skipped),
        cmocka_unit_test(test_empty_stream),
        cmocka_unit_test(test_truncated_stream),
        cmocka_unit_test(test_compressed_stream),
        cmocka_unit_test(test_overlong_stream_stopped),
        cmocka_unit_test(test_event_times_bounded),
        cmocka_unit_test(test_implausible_counts_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
