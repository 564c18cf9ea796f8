/* One HTTP/1.1 client connection: connect, write, parse the streamed
 * response, time its events, enforce its deadlines.
 *
 * Flow of a response: read callback (one timestamp per read: the kernel's
 * receive stamp, else uv_hrtime()) -> llhttp ->
 * on_body -> SSE/NDJSON framing -> API adapter -> the request record.  The
 * parser callbacks only record what happened; the connection is finished or
 * closed after llhttp_execute() returns.
 *
 * States: FREE -> CONNECTING (through a proxy's tunnel: CONNECT and its
 * reply too) -> BUSY -> (IDLE -> BUSY ...) -> CLOSING ->
 * FREE.  A request ends in conn_finish, from CONNECTING (connect failed)
 * or BUSY, exactly once; the engine hears of it through env->on.done. */
#include "conn.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "rxstamp.h"

/* The carry buffer is allocated only when an event spans two reads or a
 * body must be kept whole (the decoders slice events out of the bytes just
 * read otherwise), so most streaming connections never have one: at 50,000
 * streams an eager 4 KiB each was half the client's memory.  It then starts
 * at the size of a typical event and doubles. */
#define CARRY_INITIAL 1024
#define CARRY_MAX (4u << 20)     /* an event or error body larger than this is a protocol error */
#define STATUS_BODY_MAX 4096     /* bytes of an error body kept for its message */
#define ZOUT_SIZE (16 * 1024)    /* inflated bytes handed to the framing at a time */
#define ZBITS_GZIP (15 + 16)
#define ZBITS_ZLIB_OR_GZIP (15 + 32)
#define ZBITS_RAW (-15)

static void on_tcp_close(uv_handle_t *h);
static void conn_finish(struct conn *c);
static void conn_end(struct conn *c, uint64_t at);
static void conn_fail(struct conn *c, enum err_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------ */
/* Failure bookkeeping: the first failure of a request wins.          */

static void conn_fail(struct conn *c, enum err_class cls, const char *fmt, ...)
{
    if (c->fail != ERR_NONE)
        return;
    c->fail = cls;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->failmsg, sizeof c->failmsg, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Deadlines.  One timer per connection, armed for the nearest deadline;
 * when it fires it re-checks the request's state, so the idle deadline
 * moves with every event without re-arming the timer per token.        */

static uint64_t conn_next_deadline(const struct conn *c, enum err_class *which)
{
    const struct conn_env *env = c->env;
    uint64_t best = UINT64_MAX;
    enum err_class w = ERR_NONE;
    uint64_t t0 = env->t0;
#define CONSIDER(when, cls) do { if ((when) < best) { best = (when); w = (cls); } } while (0)
    if (c->state == CONN_CONNECTING) {
        if (env->connect_timeout_ns)
            CONSIDER(c->rec.start_ns + t0 + env->connect_timeout_ns, ERR_TIMEOUT_CONNECT);
    } else if (c->state == CONN_BUSY) {
        uint64_t start = c->rec.start_ns + t0;
        if (env->request_timeout_ns)
            CONSIDER(start + env->request_timeout_ns, ERR_TIMEOUT_TOTAL);
        if (c->rec.first_ns == 0 && env->ttft_timeout_ns)
            CONSIDER(start + env->ttft_timeout_ns, ERR_TIMEOUT_TTFT);
        if (c->rec.first_ns != 0 && env->idle_timeout_ns)
            CONSIDER(c->last_event_abs + env->idle_timeout_ns, ERR_TIMEOUT_IDLE);
    }
#undef CONSIDER
    *which = w;
    return best;
}

static void on_deadline(uv_timer_t *t);

static void conn_arm(struct conn *c)
{
    enum err_class which;
    uint64_t when = conn_next_deadline(c, &which);
    if (when == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = uv_hrtime();
    uint64_t ms = when > now ? (when - now + 999999) / 1000000 : 0;
    uv_timer_start(&c->timer, on_deadline, ms, 0);
}

/* What happened, around the limit, naming the flag that set it. */
static void timeout_what(enum err_class w, const char **before, const char **after)
{
    switch (w) {
    case ERR_TIMEOUT_CONNECT: *before = "not connected within"; *after = " (--connect-timeout)"; break;
    case ERR_TIMEOUT_TTFT: *before = "no first token within"; *after = " (--ttft-timeout)"; break;
    case ERR_TIMEOUT_IDLE: *before = "no token for"; *after = " after the last one (--idle-timeout)"; break;
    default: *before = "the response was not complete within"; *after = " of the request (--timeout)";
    }
}

static void on_deadline(uv_timer_t *t)
{
    struct conn *c = t->data;
    enum err_class which;
    uint64_t when = conn_next_deadline(c, &which);
    if (when == UINT64_MAX)
        return;
    if (uv_hrtime() + 500000 < when) {   /* not yet (the idle deadline moved) */
        conn_arm(c);
        return;
    }
    const struct conn_env *env = c->env;
    uint64_t lim = which == ERR_TIMEOUT_CONNECT ? env->connect_timeout_ns
                 : which == ERR_TIMEOUT_TTFT ? env->ttft_timeout_ns
                 : which == ERR_TIMEOUT_IDLE ? env->idle_timeout_ns : env->request_timeout_ns;
    const char *before, *after;
    timeout_what(which, &before, &after);
    conn_fail(c, which, "%s %.3f s%s", before, lim / 1e9, after);
    /* A timed-out socket may still deliver the rest of the response later:
     * it cannot be reused (the failure keeps it out of the pool). */
    conn_end(c, uv_hrtime());
}

/* ------------------------------------------------------------------ */
/* Events: the decoders call these with whole events; the adapter tells
 * what they mean; the read's timestamp is the event's time.            */

/* The held event times go to whoever keeps them all (the raw file), then
 * out of memory: a request holds RESULT_EV_CHUNK at most. */
static int conn_spill_events(struct conn *c)
{
    struct conn_env *env = c->env;
    if (env->on.events)
        env->on.events(env->ud, c);
    if (req_record_spill(&c->rec) < 0) {
        conn_fail(c, ERR_PROTOCOL, "out of memory for event times");
        return -1;
    }
    return 0;
}

static void conn_event_time(struct conn *c, const struct api_event *ev)
{
    struct req_record *r = &c->rec;
    uint64_t ts = c->read_ts;
    uint64_t off = ts - c->env->t0;
    uint64_t prev = r->events == 0 ? r->start_ns : r->last_ns;
    uint64_t d = off > prev ? (off - prev) / 1000 : 0;
    if (r->ev_n == RESULT_EV_CHUNK && conn_spill_events(c) < 0)
        return;
    if (r->ev_n == r->ev_cap) {
        /* Grows only past the largest response this slot has seen: the
         * buffer is kept across requests, so steady state never allocates. */
        size_t nc = r->ev_cap ? r->ev_cap * 2 : 64;
        if (nc > RESULT_EV_CHUNK)
            nc = RESULT_EV_CHUNK;
        uint32_t *p = realloc(r->ev_us, nc * sizeof *p);
        if (!p) {
            conn_fail(c, ERR_PROTOCOL, "out of memory for event times");
            return;
        }
        r->ev_us = p;
        r->ev_cap = nc;
    }
    r->ev_us[r->ev_n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    /* The longest gap inside the response (a stall), kept as it happens:
     * held event times may be spilled before the request ends. */
    if (r->events > 0 && off > prev && off - prev > r->itl_max_ns)
        r->itl_max_ns = off - prev;
    c->last_event_abs = ts;
    if (r->first_ns == 0) {
        r->first_ns = off ? off : 1;
        /* From now on the idle deadline (which moves with every event, see
         * on_deadline) replaces the first-token one. */
        conn_arm(c);
    }
    r->last_ns = off;
    r->events++;
    /* Reasoning and the answer (content or a tool call) are timed apart:
     * a reasoning model's first token is not its answer's. */
    uint64_t *first = ev->reasoning ? &r->t_first_reasoning : &r->t_first_output;
    if (*first == 0)
        *first = r->first_ns > off ? r->first_ns : off ? off : 1;
    r->reasoning_events += ev->reasoning;
    r->tool_events += ev->tool;
    if (c->max_events && r->events > c->max_events)
        conn_fail(c, ERR_OVERLONG, "more than %llu content events for max_tokens %lld",
                  (unsigned long long)c->max_events, (long long)c->max_tokens);
}

/* Appends an event's text, unescaped, for the tokenizer and multi-turn
 * replies.  Off the timestamp path: the event was timed already. */
static void conn_keep_text(struct conn *c, const char *esc, size_t n)
{
    if (c->text_overflow || n == 0)
        return;
    if (c->text_cap - c->text_len < n + 1) {
        size_t nc = c->text_cap ? c->text_cap : 4096;
        while (nc - c->text_len < n + 1)
            nc *= 2;
        if (nc > (64u << 20)) {
            c->text_overflow = 1;
            return;
        }
        char *p = realloc(c->text, nc);
        if (!p) {
            c->text_overflow = 1;
            return;
        }
        c->text = p;
        c->text_cap = nc;
    }
    long k = json_unescape(esc, n, c->text + c->text_len, c->text_cap - c->text_len);
    if (k < 0)
        c->text_overflow = 1;   /* a bad escape: no local count for this request */
    else
        c->text_len += (size_t)k;
}

/* The server's counts and timings, as the adapter put them: the last
 * value an event carried wins (usage may come on every chunk).  A number
 * past belief (result.h) is clamped and the request flagged. */
static void conn_take_counts(struct conn *c, const struct api_event *ev)
{
    struct req_record *r = &c->rec;
    int64_t out_max = RESULT_TOKENS_MAX;
    if (c->max_tokens > 0 && c->max_tokens < RESULT_TOKENS_MAX / RESULT_TOKENS_PER_MAX)
        out_max = c->max_tokens * RESULT_TOKENS_PER_MAX;
#define TAKE(to, from, max) do { \
        if ((from) >= 0) { (to) = (from) > (max) ? (max) : (from); r->implausible |= (from) > (max); } \
    } while (0)
    TAKE(r->server_tokens, ev->completion_tokens, out_max);
    TAKE(r->in_tokens, ev->prompt_tokens, RESULT_TOKENS_MAX);
    TAKE(r->server_reasoning_tokens, ev->reasoning_tokens, out_max);
    TAKE(r->eval_count, ev->eval_tokens, out_max);
    TAKE(r->eval_duration_ns, ev->eval_duration_ns, RESULT_DURATION_MAX);
    TAKE(r->prompt_eval_count, ev->prompt_eval_tokens, RESULT_TOKENS_MAX);
    TAKE(r->prompt_eval_duration_ns, ev->prompt_eval_duration_ns, RESULT_DURATION_MAX);
    TAKE(r->cached_tokens, ev->cached_tokens, RESULT_TOKENS_MAX);
    TAKE(r->total_duration_ns, ev->total_duration_ns, RESULT_DURATION_MAX);
    TAKE(r->load_duration_ns, ev->load_duration_ns, RESULT_DURATION_MAX);
#undef TAKE
    if (ev->truncated)
        r->context_truncated = 1;
}

static void conn_take_event(struct conn *c, const char *data, size_t len)
{
    if (c->fail != ERR_NONE || c->stream_done)
        return;   /* after an error or the end, later events do not count */
    struct api_event ev;
    struct conn_env *env = c->env;
    if (env->fast_path && api_shape_match(&c->shape, data, len, &ev)) {
        env->fast_events++;
    } else {
        if (api_parse_event(env->api, data, len, &ev, env->toks, env->ntoks) < 0) {
            conn_fail(c, ERR_PROTOCOL, "malformed JSON event: %.*s", (int)(len > RESULT_EVENT_QUOTE_MAX ? RESULT_EVENT_QUOTE_MAX : len), data);
            return;
        }
        if (env->fast_path)
            api_shape_learn(&c->shape, data, len, &ev);
    }
    if (ev.error) {
        conn_fail(c, ERR_STREAM, "%.*s", (int)(ev.errmsg_len > RESULT_STREAM_ERR_MAX ? RESULT_STREAM_ERR_MAX : ev.errmsg_len),
                  ev.errmsg ? ev.errmsg : "error event");
        return;
    }
    c->rec.tool_calls += (uint64_t)(ev.tool_calls > 0 ? ev.tool_calls : 0);
    if (ev.content) {
        conn_event_time(c, &ev);
        if (env->collect_text)
            conn_keep_text(c, ev.text, ev.text_len);
    }
    conn_take_counts(c, &ev);
    if (ev.finish)
        c->finish_seen = 1;
    if (ev.done)
        c->stream_done = 1;
}

static int on_sse(void *ud, const struct sse_event *ev)
{
    struct conn *c = ud;
    int field = ev->error != NULL;   /* old llama.cpp: `error: {json}` */
    if (field || (ev->type_len == 5 && memcmp(ev->type, "error", 5) == 0)) {
        const char *d = field ? ev->error : ev->data;
        size_t n = field ? ev->error_len : ev->data_len;
        struct api_event ae;
        if (api_parse_error(d, n, &ae, c->env->toks, c->env->ntoks) == 0 && ae.errmsg) {
            d = ae.errmsg;
            n = ae.errmsg_len;
        }
        conn_fail(c, ERR_STREAM, "%.*s", (int)(n > RESULT_STREAM_ERR_MAX ? RESULT_STREAM_ERR_MAX : n), n ? d : "error event");
        return 0;
    }
    conn_take_event(c, ev->data, ev->data_len);
    return 0;
}

static int on_line(void *ud, const char *line, size_t len)
{
    conn_take_event(ud, line, len);
    return 0;
}

/* Grows the carry buffer; a decoder that reported FULL gets it back. */
static int conn_grow_carry(struct conn *c)
{
    size_t nc = c->carry_cap ? c->carry_cap * 2 : CARRY_INITIAL;
    if (nc > CARRY_MAX)
        return -1;
    char *p = malloc(nc);
    if (!p)
        return -1;
    int rc = 0;
    if (c->framing == FRAME_SSE)
        rc = sse_rebuffer(&c->dec.sse, p, nc);
    else if (c->framing == FRAME_NDJSON)
        rc = ndjson_rebuffer(&c->dec.nd, p, nc);
    else if (c->body_len)
        memcpy(p, c->carry, c->body_len);
    if (rc < 0) {   /* cannot happen: the new buffer is larger */
        free(p);
        return -1;
    }
    free(c->carry);
    c->carry = p;
    c->carry_cap = nc;
    return 0;
}

static void conn_feed(struct conn *c, const char *p, size_t n)
{
    while (n > 0) {
        size_t used = 0;
        int rc;
        if (c->framing == FRAME_SSE)
            rc = sse_feed(&c->dec.sse, p, n, &used, on_sse, c);
        else if (c->framing == FRAME_NDJSON)
            rc = ndjson_feed(&c->dec.nd, p, n, &used, on_line, c);
        else {   /* whole body: kept for the end (non-stream reply or error body) */
            size_t room = c->carry_cap - c->body_len;
            used = n < room ? n : room;
            if (used)
                memcpy(c->carry + c->body_len, p, used);
            c->body_len += used;
            rc = used < n ? -1 : 0;
            if (rc < 0 && c->rec.status >= 300 && c->carry_cap >= STATUS_BODY_MAX)
                return;   /* enough of an error body for its message */
        }
        if (rc >= 0)
            return;
        p += used;
        n -= used;
        if (conn_grow_carry(c) < 0) {
            conn_fail(c, ERR_PROTOCOL, "an event is larger than %u bytes", CARRY_MAX);
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* llhttp callbacks: record only.                                       */

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    size_t room = sizeof c->hname - c->hname_len;
    if (len > room)
        len = room;   /* a name this long is none we read: it stays too long */
    memcpy(c->hname + c->hname_len, at, len);
    c->hname_len += len;
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    struct conn *c = p->data;
    c->hval = HDR_OTHER;
    if (c->hname_len == 12 && strncasecmp(c->hname, "content-type", 12) == 0) {
        c->hval = HDR_CONTENT_TYPE;
        c->ctype_len = 0;   /* a repeated header: the last one counts */
        c->ctype[0] = 0;
    } else if (c->hname_len == 16 && strncasecmp(c->hname, "content-encoding", 16) == 0) {
        c->hval = HDR_CONTENT_ENCODING;
        c->cenc_len = 0;
        c->cenc[0] = 0;
    } else if (c->hname_len == 4 && strncasecmp(c->hname, "date", 4) == 0) {
        c->hval = HDR_DATE;
        c->date_len = 0;
        c->date[0] = 0;
    }
    c->hname_len = 0;
    return 0;
}

/* Appends a piece of a header value to buf (cap bytes, NUL-terminated);
 * what does not fit is dropped. */
static void header_append(char *buf, size_t cap, size_t *len, const char *at, size_t n)
{
    size_t room = cap - 1 - *len;
    size_t k = n < room ? n : room;
    memcpy(buf + *len, at, k);
    *len += k;
    buf[*len] = 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    if (c->hval == HDR_CONTENT_TYPE)
        header_append(c->ctype, sizeof c->ctype, &c->ctype_len, at, len);
    else if (c->hval == HDR_CONTENT_ENCODING)
        header_append(c->cenc, sizeof c->cenc, &c->cenc_len, at, len);
    else if (c->hval == HDR_DATE)
        header_append(c->date, sizeof c->date, &c->date_len, at, len);
    return 0;
}

/* The window bits that inflate a Content-Encoding, 0 for identity, -1 for
 * a coding llmload does not decode (br, zstd, several codings). */
static int conn_coding_bits(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0 || (n == 8 && strncasecmp(v, "identity", 8) == 0))
        return 0;
    if ((n == 4 && strncasecmp(v, "gzip", 4) == 0) || (n == 6 && strncasecmp(v, "x-gzip", 6) == 0))
        return ZBITS_GZIP;
    if (n == 7 && strncasecmp(v, "deflate", 7) == 0)
        return ZBITS_ZLIB_OR_GZIP;   /* zlib as RFC 9110 says; raw deflate is retried */
    return -1;
}

/* Sets up inflating for a response compressed with window bits `bits`:
 * the slot's z_stream is made once and reset for later responses. */
static int conn_inflate_start(struct conn *c, int bits)
{
    if (!c->z) {
        z_stream *z = calloc(1, sizeof *z);
        char *out = malloc(ZOUT_SIZE);
        if (!z || !out || inflateInit2(z, bits) != Z_OK) {
            free(z);
            free(out);
            return -1;
        }
        c->z = z;
        c->zout = out;
    } else if (inflateReset2(c->z, bits) != Z_OK) {
        return -1;
    }
    c->zmode = bits;
    c->zended = 0;
    c->zstarted = 0;
    c->zhead_len = 0;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct conn *c = p->data;
    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) {
        /* 100 Continue, 103 Early Hints: interim responses, which have
         * no body (RFC 9110 15.2); the final response follows. */
        c->interim = 1;
        return 1;   /* llhttp: no body */
    }
    c->rec.status = p->status_code;
    if (c->date_len && srv_clock_parse_date(c->date, c->date_len, &c->rec.date_s) < 0)
        c->rec.date_s = 0;
    int ok2xx = p->status_code >= 200 && p->status_code < 300;
    int bits = conn_coding_bits(c->cenc);
    if (bits < 0 && ok2xx)
        conn_fail(c, ERR_PROTOCOL, "unsupported Content-Encoding: %.40s", c->cenc);
    else if (bits > 0 && conn_inflate_start(c, bits) < 0)
        conn_fail(c, ERR_PROTOCOL, "out of memory for inflating the body");
    if (p->status_code < 200 || p->status_code >= 300) {
        c->framing = FRAME_BODY;
    } else if (strcasestr(c->ctype, "text/event-stream")) {
        c->framing = FRAME_SSE;
        sse_init(&c->dec.sse, c->carry, c->carry_cap);
    } else if (strcasestr(c->ctype, "ndjson")) {
        c->framing = FRAME_NDJSON;
        ndjson_init(&c->dec.nd, c->carry, c->carry_cap);
    } else {
        c->framing = FRAME_BODY;
    }
    c->body_len = 0;
    return 0;
}

/* Inflates n compressed bytes into the framing, ZOUT_SIZE at a time: the
 * zlib code of the last inflate (Z_OK when all was taken). */
static int conn_inflate_run(struct conn *c, const char *p, size_t n)
{
    z_stream *z = c->z;
    z->next_in = (Bytef *)p;
    z->avail_in = (uInt)n;
    for (;;) {
        z->next_out = (Bytef *)c->zout;
        z->avail_out = ZOUT_SIZE;
        int rc = inflate(z, Z_NO_FLUSH);
        size_t got = ZOUT_SIZE - z->avail_out;
        if (got) {
            c->zstarted = 1;
            conn_feed(c, c->zout, got);
        }
        if (rc == Z_STREAM_END) {
            c->zended = 1;   /* bytes after the end are not part of the body */
            return rc;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return rc;
        if (c->fail != ERR_NONE || (z->avail_in == 0 && z->avail_out != 0))
            return Z_OK;
    }
}

/* A compressed body's bytes.  The events decoded from them carry the time
 * of the read that brought the compressed bytes. */
static void conn_inflate(struct conn *c, const char *p, size_t n)
{
    size_t before = c->zhead_len;
    size_t k = sizeof c->zhead - before < n ? sizeof c->zhead - before : n;
    memcpy(c->zhead + before, p, k);
    c->zhead_len += k;
    if (c->zended || c->fail != ERR_NONE)
        return;
    int rc = conn_inflate_run(c, p, n);
    if (rc == Z_DATA_ERROR && c->zmode == ZBITS_ZLIB_OR_GZIP && !c->zstarted &&
        c->z->total_in <= sizeof c->zhead && inflateReset2(c->z, ZBITS_RAW) == Z_OK) {
        /* "deflate" sent as raw deflate, without the zlib header (some
         * servers do): again from the body's first byte. */
        c->zmode = ZBITS_RAW;
        rc = conn_inflate_run(c, c->zhead, before);
        if (rc == Z_OK)
            rc = conn_inflate_run(c, p, n);
    }
    if (rc == Z_OK || rc == Z_STREAM_END)
        return;
    if (c->rec.status >= 200 && c->rec.status < 300)
        conn_fail(c, ERR_PROTOCOL, "cannot inflate the body: %s", c->z->msg ? c->z->msg : "bad data");
    else
        c->zended = 1;   /* an error body: its status is the failure, with what was inflated */
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    if (c->zmode)
        conn_inflate(c, at, len);
    else
        conn_feed(c, at, len);
    /* An overlong response is not read to its end (it may have none). */
    return c->fail == ERR_OVERLONG ? HPE_PAUSED : 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct conn *c = p->data;
    if (!c->interim)
        c->msg_complete = 1;
    return HPE_PAUSED;   /* nothing after the response belongs to this request */
}

static const llhttp_settings_t http_settings = {
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ------------------------------------------------------------------ */
/* End of a response.                                                   */

/* Interprets what ended: the decoders' tail, a whole JSON body, a status. */
static void conn_complete_body(struct conn *c)
{
    if (c->framing == FRAME_SSE)
        sse_finish(&c->dec.sse, on_sse, c);
    else if (c->framing == FRAME_NDJSON)
        ndjson_finish(&c->dec.nd, on_line, c);

    if (c->rec.status < 200 || c->rec.status >= 300) {
        struct api_event ev;
        const char *msg = "";
        int mlen = 0;
        if (c->body_len && api_parse_event(c->env->api, c->carry, c->body_len, &ev,
                                           c->env->toks, c->env->ntoks) == 0 && ev.errmsg) {
            msg = ev.errmsg;
            mlen = (int)(ev.errmsg_len > RESULT_STATUS_BODY_MAX ? RESULT_STATUS_BODY_MAX : ev.errmsg_len);
        } else if (c->body_len) {
            msg = c->carry;
            mlen = (int)(c->body_len > RESULT_STATUS_BODY_MAX ? RESULT_STATUS_BODY_MAX : c->body_len);
        }
        if (c->rec.status == 407 && c->env->proxy && !c->env->tunnel_req) {
            /* Only the forward proxy on the way asks for proxy credentials. */
            char why[1024];
            proxy_refusal(c->env->proxy, c->env->proxy_target, 407, why, sizeof why);
            conn_fail(c, ERR_PROXY_AUTH, "%s", why);
            return;
        }
        conn_fail(c, c->rec.status == 429 ? ERR_RATE_LIMITED : ERR_STATUS, "HTTP %d%s%.*s",
                  c->rec.status, mlen ? ": " : "", mlen, msg);
        return;
    }
    if (c->zmode && !c->zended && c->fail == ERR_NONE) {
        conn_fail(c, ERR_TRUNCATED, "the compressed body ended before its end");
        return;
    }
    if (c->framing == FRAME_BODY && c->fail == ERR_NONE) {
        /* A non-streamed reply: one event that is the whole body.  Its
         * "first token" is the end of the body. */
        if (c->body_len == 0) {
            conn_fail(c, ERR_PROTOCOL, "empty response body");
            return;
        }
        conn_take_event(c, c->carry, c->body_len);
        if (c->rec.first_ns == 0)
            conn_fail(c, ERR_EMPTY, "response carries no generated text");
        return;
    }
    /* A stream whose HTTP message ended normally: nothing generated is a
     * failure, and so is a stream that lacks its end (a Content-Length
     * shorter than the stream, an HTTP/1.0 body cut by the close). */
    if (c->rec.first_ns == 0)
        conn_fail(c, ERR_EMPTY, "the stream carried no generated text");
    else if (!c->stream_done && !c->finish_seen)
        conn_fail(c, ERR_TRUNCATED, "the stream ended without [DONE], done or a finish reason");
}

/* Retry rule (docs/protocols.md, "Keep-alive and the retry rule"): a
 * reused connection that fails before any byte of the response arrived
 * most likely hit the server's idle close; send once more on a fresh
 * connection, and count it. */
static int conn_should_retry(const struct conn *c)
{
    return c->reused && !c->got_bytes && !c->rec.retried && !c->env->aborting &&
           (c->fail == ERR_CLOSED || c->fail == ERR_READ || c->fail == ERR_WRITE);
}

/* The end of the request in flight: once, from CONNECTING (the connect
 * failed) or BUSY.  The record is final before the engine hears of it;
 * then the socket is either kept (CONN_IDLE, for the engine's pool) or
 * closed. */
static void conn_finish(struct conn *c)
{
    assert(c->state == CONN_BUSY || c->state == CONN_CONNECTING);
    uv_timer_stop(&c->timer);
    if (conn_should_retry(c)) {
        c->retry_pending = 1;
        c->rec.retried = 1;
        conn_close(c);
        return;
    }
    if (c->rec.end_ns == 0)
        c->rec.end_ns = uv_hrtime() - c->env->t0;
    c->rec.err = c->fail;
    if (c->fail != ERR_NONE)
        memcpy(c->rec.errmsg, c->failmsg, sizeof c->rec.errmsg);
    int keep = c->state == CONN_BUSY && c->fail == ERR_NONE && c->msg_complete &&
               llhttp_should_keep_alive(&c->parser) && !c->env->aborting;
    c->served++;
    if (keep)
        c->state = CONN_IDLE;
    /* Reported before the socket closes: a close can complete at once,
     * and the engine could then start the next request on this slot
     * before its record was taken. */
    c->env->on.done(c->env->ud, c, keep);
    if (!keep)
        conn_close(c);
}

/* Ends the request in flight at hrtime `at` (a read's time, or now). */
static void conn_end(struct conn *c, uint64_t at)
{
    c->rec.end_ns = at - c->env->t0;
    conn_finish(c);
}

/* ------------------------------------------------------------------ */
/* Transport: the only functions that touch the socket's bytes.        */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = h->data;
    /* One read buffer for the whole loop: a read callback consumes its bytes
     * before the next read is allocated.  With kernel timestamps the read
     * callback does the read itself (rxstamp.h): a zero length makes libuv
     * call it with UV_ENOBUFS instead of reading. */
    buf->base = c->env->rbuf;
    buf->len = c->env->rx_kernel ? 0 : c->env->rbuf_len;
}

void conn_input(struct conn *c, ssize_t nread, const char *data, uint64_t ts)
{
    if (nread == 0)
        return;
    if (c->state == CONN_IDLE) {
        /* The server closed (or wrote to) a pooled connection: drop it. */
        c->env->on.lost(c->env->ud, c);
        conn_close(c);
        return;
    }
    if (c->state != CONN_BUSY)
        return;
    /* Bytes cannot arrive before the request was sent, nor before the
     * previous event: a kernel stamp is converted between clocks, and its
     * few nanoseconds of error must not make a negative TTFT or ITL. */
    uint64_t start_abs = c->rec.start_ns + c->env->t0;
    if (ts < start_abs)
        ts = start_abs;
    if (c->rec.events && ts < c->last_event_abs)
        ts = c->last_event_abs;
    c->read_ts = ts;
    if (nread < 0) {
        if (nread == UV_EOF) {
            /* A body delimited by close ends here (llhttp_finish completes
             * it); anything else was cut short. */
            if (!c->msg_complete && c->rec.status)
                llhttp_finish(&c->parser);
            if (!c->msg_complete)
                conn_fail(c, ERR_CLOSED, "server closed the connection %s",
                          c->got_bytes ? "before the response was complete" : "before responding");
        } else {
            conn_fail(c, ERR_READ, "read: %s", uv_strerror((int)nread));
        }
        if (c->msg_complete && c->fail == ERR_NONE)
            conn_complete_body(c);
        conn_end(c, c->read_ts);
        return;
    }
    if (!c->got_bytes)
        c->rec.byte_ns = ts - c->env->t0;
    c->got_bytes = 1;
    llhttp_errno_t rc = llhttp_execute(&c->parser, data, (size_t)nread);
    while (rc == HPE_PAUSED && c->interim) {
        /* The rest is the next response, parsed from its start as on a
         * kept-alive connection; no header of the interim one is kept. */
        const char *rest = llhttp_get_error_pos(&c->parser);
        c->interim = 0;
        c->ctype_len = 0;
        c->ctype[0] = 0;
        c->cenc_len = 0;
        c->cenc[0] = 0;
        c->date_len = 0;
        llhttp_reset(&c->parser);
        rc = llhttp_execute(&c->parser, rest, (size_t)(data + nread - rest));
    }
    if (rc == HPE_PAUSED && !c->msg_complete) {
        conn_end(c, c->read_ts);   /* stopped inside the body: overlong */
        return;
    }
    if (rc == HPE_PAUSED) {
        llhttp_resume(&c->parser);
    } else if (rc != HPE_OK) {
        conn_fail(c, ERR_PROTOCOL, "bad HTTP response: %s", llhttp_get_error_reason(&c->parser));
        conn_end(c, c->read_ts);
        return;
    }
    if (c->msg_complete) {
        conn_complete_body(c);
        conn_end(c, c->read_ts);
    }
}

static void conn_rx(struct conn *c, ssize_t n, const char *data, uint64_t ts);

/* One stamped read (rxstamp_read_stream): counts it, times it by the
 * kernel's stamp or, without one, now. */
static int conn_stamped_bytes(void *ud, ssize_t n, const char *buf, uint64_t kernel_ns)
{
    struct conn *c = ud;
    if (n > 0) {
        c->env->reads++;
        c->env->reads_stamped += kernel_ns != 0;
    }
    conn_rx(c, n, buf, kernel_ns ? kernel_ns : uv_hrtime());
    /* A tunnel's opening and a handshake read before any request is in
     * flight. */
    return c->state == CONN_BUSY || c->tunneling || (c->state == CONN_CONNECTING && c->tls.ssl);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (nread == UV_ENOBUFS && c->env->rx_kernel) {
        rxstamp_read_stream(s, c->env->rbuf, c->env->rbuf_len, conn_stamped_bytes, c);
        return;
    }
    if (nread > 0)
        c->env->reads++;
    conn_rx(c, nread, buf->base, uv_hrtime());
}

static void on_write(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    if (status < 0 && c->state == CONN_BUSY && status != UV_ECANCELED) {
        conn_fail(c, ERR_WRITE, "write: %s", uv_strerror(status));
        conn_end(c, uv_hrtime());
    }
}

/* TLS output the socket did not take at once: copied with its own write
 * request, since a handshake may queue a flight while the last one is
 * still being written.  Requests never wait here (conn_send writes a
 * request in one flight), so this is off the hot path. */
struct conn_wreq {
    uv_write_t req;
    char data[];
};

static void on_tls_write(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    free((char *)w - offsetof(struct conn_wreq, req));
    if (status < 0 && status != UV_ECANCELED &&
        (c->state == CONN_BUSY || c->state == CONN_CONNECTING)) {
        conn_fail(c, ERR_WRITE, "write: %s", uv_strerror(status));
        conn_end(c, uv_hrtime());
    }
}

/* Sends what the TLS session has for the peer.  0 or a negative uv error. */
static int conn_tls_flush(struct conn *c)
{
    const char *p;
    size_t n;
    while ((n = tls_take(&c->tls, &p)) > 0) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (w == (int)n)
            continue;
        if (w < 0 && w != UV_EAGAIN)
            return w;
        size_t done = w > 0 ? (size_t)w : 0;
        struct conn_wreq *q = malloc(sizeof *q + (n - done));
        if (!q)
            return UV_ENOMEM;
        memcpy(q->data, p + done, n - done);
        q->req.data = c;
        b = uv_buf_init(q->data, (unsigned)(n - done));
        if ((w = uv_write(&q->req, (uv_stream_t *)&c->tcp, &b, 1, on_tls_write)) < 0) {
            free(q);
            return w;
        }
    }
    return 0;
}

/* The request is being written: from now on the response is awaited. */
static void conn_begin(struct conn *c)
{
    c->state = CONN_BUSY;
    llhttp_init(&c->parser, HTTP_RESPONSE, &http_settings);
    c->parser.data = c;
    /* TTFT and E2E start at the first byte written. */
    c->rec.start_ns = uv_hrtime() - c->env->t0;
    conn_arm(c);
}

static void conn_send(struct conn *c)
{
    assert(c->state == CONN_CONNECTING || c->state == CONN_IDLE);
    conn_begin(c);
    uv_buf_t b = uv_buf_init(c->wbuf, (unsigned)c->wlen);
    int n;
    if (c->env->tls) {
        if (tls_write(&c->tls, c->wbuf, c->wlen) < 0) {
            conn_fail(c, ERR_TLS_HANDSHAKE, "%s", c->tls.err);
            conn_end(c, uv_hrtime());
            return;
        }
        if ((n = conn_tls_flush(c)) == 0)
            return;
        goto failed;
    }
    n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)c->wlen)
        return;
    if (n < 0 && n != UV_EAGAIN)
        goto failed;
    if (n < 0)
        n = 0;
    b = uv_buf_init(c->wbuf + n, (unsigned)(c->wlen - (size_t)n));
    c->write_req.data = c;
    n = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (n == 0)
        return;
failed:
    conn_fail(c, ERR_WRITE, "write: %s", uv_strerror(n));
    conn_end(c, uv_hrtime());
}

/* The socket is ready for requests: the first one goes out. */
static void conn_ready(struct conn *c)
{
    c->rec.new_conn = 1;
    c->rec.connect_ns = c->tcp_ns;
    c->reused = 0;
    conn_send(c);
}

/* A TLS step failed or the peer closed mid-handshake: the request ends
 * with the class the session gave. */
static void conn_tls_failed(struct conn *c, uint64_t at)
{
    conn_fail(c, c->tls.fail == TLS_FAIL_VERIFY ? ERR_TLS_VERIFY : ERR_TLS_HANDSHAKE, "%s",
              c->tls.err);
    conn_end(c, at);
}

/* Advances the handshake after bytes arrived at ts (or at its start). */
static void conn_tls_step(struct conn *c, uint64_t ts)
{
    assert(c->state == CONN_CONNECTING && c->tls.ssl);
    int r = tls_handshake(&c->tls);
    int w = conn_tls_flush(c);
    if (r == TLS_ERR) {
        conn_tls_failed(c, ts);
        return;
    }
    if (w < 0) {
        conn_fail(c, ERR_WRITE, "write: %s", uv_strerror(w));
        conn_end(c, uv_hrtime());
        return;
    }
    if (r == TLS_EOF) {
        conn_fail(c, ERR_TLS_HANDSHAKE, "TLS handshake failed: the server closed the session");
        conn_end(c, ts);
        return;
    }
    if (r == TLS_WANT)
        return;
    /* Complete when the read that carried the server's last flight
     * arrived: the time spent since is the client's own. */
    uint64_t from = c->open_abs + c->tcp_ns;
    c->rec.tls_ns = ts > from ? ts - from : 0;
    c->rec.tls_resumed = c->tls.resumed;
    conn_ready(c);
}

/* TCP is connected: TLS first when the target is https. */
static void conn_tls_begin(struct conn *c)
{
    if (tls_start(&c->tls, c->env->tls, c->env->tls_host) < 0) {
        conn_tls_failed(c, uv_hrtime());
        return;
    }
    conn_tls_step(c, uv_hrtime());
}

static void conn_tls_input(struct conn *c, uint64_t ts);

/* The session failed on received bytes (c->tls.err says how): before
 * any response byte a tls_handshake failure, after one a broken read. */
static void conn_tls_broke(struct conn *c, uint64_t ts)
{
    if (c->state == CONN_CLOSING)
        return;
    if (c->state == CONN_IDLE) {
        c->env->on.lost(c->env->ud, c);
        conn_close(c);
        return;
    }
    /* An alert before any response byte is the handshake's end
     * failing (TLS 1.3 refuses a client certificate only after the
     * client thinks it is done); after one, the stream broke. */
    conn_fail(c, c->got_bytes ? ERR_READ : ERR_TLS_HANDSHAKE, "%s", c->tls.err);
    conn_end(c, ts);
}

/* What one socket read brought, through TLS when there is one: the
 * plaintext of every record it completed goes to conn_input with the
 * read's time, so TLS changes no event's timestamp. */
static void conn_tp_input(struct conn *c, ssize_t n, const char *data, uint64_t ts)
{
    if (!c->tls.ssl) {
        conn_input(c, n, data, ts);
        return;
    }
    if (n == 0)
        return;
    if (n < 0) {
        if (c->state == CONN_CONNECTING) {
            conn_fail(c, ERR_TLS_HANDSHAKE, "TLS handshake failed: %s",
                      n == UV_EOF ? "the server closed the connection" : uv_strerror((int)n));
            conn_end(c, ts);
        } else {
            conn_input(c, n, data, ts);
        }
        return;
    }
    /* The SSL reads the read's buffer in place; what it leaves (a record
     * cut by the read's end, or bytes after the session ended) is copied
     * before the buffer goes back to the loop. */
    if (tls_lend(&c->tls, data, (size_t)n) < 0) {
        conn_tls_broke(c, ts);
        return;
    }
    conn_tls_input(c, ts);
    if (tls_unlend(&c->tls) < 0)
        conn_tls_broke(c, ts);
}

static void conn_tls_input(struct conn *c, uint64_t ts)
{
    if (c->state == CONN_CONNECTING) {
        conn_tls_step(c, ts);
        if (c->state != CONN_BUSY || !c->tls.ssl)
            return;
        /* The same read may have carried response bytes already. */
    }
    size_t cap;
    char *buf = tls_ctx_buf(c->env->tls, &cap);
    while (c->tls.ssl && (c->state == CONN_BUSY || c->state == CONN_IDLE)) {
        ssize_t k = tls_read(&c->tls, buf, cap);
        if (k > 0) {
            conn_input(c, k, buf, ts);
            if (!tls_more(&c->tls))
                break;
            continue;
        }
        if (k == TLS_WANT)
            break;
        if (k == TLS_EOF) {
            conn_input(c, UV_EOF, NULL, ts);
            break;
        }
        conn_tls_broke(c, ts);
        break;
    }
    /* Reads may have produced output (a key update's answer). */
    if (c->tls.ssl && c->state != CONN_CLOSING && tls_pending(&c->tls) > 0)
        (void)conn_tls_flush(c);
}

/* The path to the server is open (directly or through a proxy's tunnel):
 * TLS first when the target is https, then the first request. */
static void conn_secure(struct conn *c)
{
    if (c->env->tls)
        conn_tls_begin(c);
    else
        conn_ready(c);
}

/* Through a proxy's tunnel, CONNECT first (proxy.h): the request goes once
 * the proxy says the tunnel is open.  The exchange is part of connecting:
 * the connect deadline covers it, TTFT does not. */
static void conn_tunnel(struct conn *c)
{
    const struct conn_env *env = c->env;
    if (!env->tunnel_req) {
        conn_secure(c);
        return;
    }
    c->tunneling = 1;
    proxy_reply_init(&c->preply);
    uv_buf_t b = uv_buf_init((char *)env->tunnel_req, (unsigned)env->tunnel_len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)env->tunnel_len)
        return;
    if (n == UV_EAGAIN)
        n = 0;
    if (n >= 0) {
        b = uv_buf_init((char *)env->tunnel_req + n, (unsigned)(env->tunnel_len - (size_t)n));
        c->write_req.data = c;
        n = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
        if (n == 0)
            return;
    }
    c->tunneling = 0;
    conn_fail(c, ERR_PROXY, "proxy %s: cannot send CONNECT: %s", env->proxy->hostport, uv_strerror(n));
    conn_end(c, uv_hrtime());
}

/* What a read brought while the proxy's reply to CONNECT is awaited. */
static void conn_tunnel_input(struct conn *c, ssize_t n, const char *data)
{
    const struct conn_env *env = c->env;
    char why[1024];   /* conn_fail cuts it to the record's length */
    enum err_class cls = ERR_PROXY;
    if (n == 0)
        return;
    assert(c->state == CONN_CONNECTING);
    size_t used = 0;
    int r = n < 0 ? -2 : proxy_reply_feed(&c->preply, data, (size_t)n, &used);
    if (r == 0)
        return;
    if (r == -2)
        snprintf(why, sizeof why, "proxy %s: %s before answering CONNECT %s", env->proxy->hostport,
                 n == UV_EOF ? "closed the connection" : uv_strerror((int)n), env->proxy_target);
    else if (r < 0)
        snprintf(why, sizeof why, "proxy %s: its reply to CONNECT is not HTTP", env->proxy->hostport);
    else if (c->preply.status / 100 != 2) {
        proxy_refusal(env->proxy, env->proxy_target, c->preply.status, why, sizeof why);
        cls = proxy_auth_refused(c->preply.status) ? ERR_PROXY_AUTH : ERR_PROXY;
    } else if (used < (size_t)n)
        snprintf(why, sizeof why, "proxy %s: bytes after its reply to CONNECT", env->proxy->hostport);
    else {
        /* Connect time runs to the tunnel's opening: the hop is part of
         * reaching the server, and the handshake starts from here. */
        c->tunneling = 0;
        c->tcp_ns = uv_hrtime() - c->open_abs;
        conn_secure(c);
        return;
    }
    c->tunneling = 0;
    conn_fail(c, cls, "%s", why);
    conn_end(c, uv_hrtime());
}

/* Every read of the socket: the proxy's reply first, when a tunnel is
 * being opened, then the target's bytes. */
static void conn_rx(struct conn *c, ssize_t n, const char *data, uint64_t ts)
{
    if (c->tunneling)
        conn_tunnel_input(c, n, data);
    else
        conn_tp_input(c, n, data, ts);
}

/* TCP is connected: the socket reads from now on; then the next phase. */
static void conn_connected(struct conn *c)
{
    uint64_t now = uv_hrtime();
    c->tcp_ns = now - c->open_abs;
    uv_tcp_nodelay(&c->tcp, 1);
    if (c->env->rx_kernel) {
        uv_os_fd_t fd;
        /* A socket that refuses is timed at read, like every socket
         * without kernel stamps; the reported stamped fraction shows it. */
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            (void)rxstamp_enable(fd);
    }
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0) {
        conn_fail(c, ERR_CONNECT, "read start: %s", uv_strerror(rc));
        conn_end(c, now);
        return;
    }
    conn_tunnel(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->state != CONN_CONNECTING)
        return;   /* timed out and closed meanwhile */
    if (status < 0) {
        conn_fail(c, status == UV_ECANCELED ? ERR_TIMEOUT_CONNECT : ERR_CONNECT,
                  "connect: %s", uv_strerror(status));
        conn_end(c, uv_hrtime());
        return;
    }
    conn_connected(c);
}

/* --local-addrs: the socket takes its local address now and its port at
 * connect (IP_BIND_ADDRESS_NO_PORT), so the kernel may reuse a port for
 * other destinations instead of reserving one per bind. */
static int conn_bind_local(struct conn *c, const struct sockaddr_storage *local)
{
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    return uv_tcp_bind(&c->tcp, (const struct sockaddr *)local, 0);
}

static void conn_tp_connect(struct conn *c)
{
    struct conn_env *env = c->env;
    const char *what = "socket";

    assert(c->state == CONN_FREE);
    c->state = CONN_CONNECTING;
    c->served = 0;
    c->open_abs = uv_hrtime();
    c->rec.start_ns = c->open_abs - env->t0;   /* connect deadline base; reset at send */
    const struct sockaddr_storage *local = env->nlocal ? &env->local[c->slot % env->nlocal] : NULL;
    int rc = local ? uv_tcp_init_ex(env->loop, &c->tcp, local->ss_family) : uv_tcp_init(env->loop, &c->tcp);
    if (rc < 0)
        goto failed;   /* the slot has no handle: conn_close knows */
    c->tcp.data = c;
    c->connect_req.data = c;
    what = "bind";
    if (local && (rc = conn_bind_local(c, local)) < 0)
        goto failed;
    what = "connect";
    rc = uv_tcp_connect(&c->connect_req, &c->tcp, env->addr, on_connect);
    if (rc < 0)
        goto failed;   /* EMFILE and friends: the socket exists and is closed */
    conn_arm(c);
    return;
failed:
    conn_fail(c, ERR_CONNECT, "%s: %s", what, uv_strerror(rc));
    conn_end(c, uv_hrtime());
}

/* ------------------------------------------------------------------ */

int conn_init(struct conn *c, struct conn_env *env, uint32_t slot)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->slot = slot;
    c->state = CONN_FREE;
    if (uv_timer_init(env->loop, &c->timer) < 0)
        return -1;
    c->timer.data = c;
    c->tcp.data = c;
    return 0;
}

/* The per-request state of a connection, before each request. */
static void conn_request_reset(struct conn *c)
{
    c->got_bytes = 0;
    c->msg_complete = 0;
    c->interim = 0;
    c->stream_done = 0;
    c->finish_seen = 0;
    c->fail = ERR_NONE;
    c->failmsg[0] = 0;
    c->framing = FRAME_NONE;
    c->ctype_len = 0;
    c->ctype[0] = 0;
    c->date_len = 0;
    c->body_len = 0;
    c->hname_len = 0;
    c->hval = HDR_OTHER;
    c->cenc_len = 0;
    c->cenc[0] = 0;
    c->zmode = 0;
    c->text_len = 0;
    c->text_overflow = 0;
    double lim = c->env->overlong_factor * (double)c->max_tokens;
    c->max_events = c->max_tokens > 0 && lim > 0 ? (uint64_t)lim + (lim > (double)(uint64_t)lim) : 0;
    api_shape_reset(&c->shape);
}

void conn_start(struct conn *c)
{
    assert(c->state == CONN_FREE || c->state == CONN_IDLE);
    conn_request_reset(c);
    if (c->state == CONN_IDLE) {
        c->reused = 1;
        conn_send(c);
    } else {
        c->reused = 0;
        conn_tp_connect(c);
    }
}

void conn_start_unsent(struct conn *c)
{
    assert(c->state == CONN_FREE && c->tcp.loop == NULL);
    conn_request_reset(c);
    c->reused = 0;
    c->served = 0;
    conn_begin(c);
}

void conn_close(struct conn *c)
{
    uv_timer_stop(&c->timer);
    c->tunneling = 0;
    if (c->state == CONN_CLOSING || c->state == CONN_FREE)
        return;
    c->state = CONN_CLOSING;
    tls_stop(&c->tls);   /* the slot keeps its saved session for the next socket */
    if (uv_is_closing((uv_handle_t *)&c->tcp) || c->tcp.loop == NULL) {
        c->state = CONN_FREE;
        c->env->on.closed(c->env->ud, c);
        return;
    }
    uv_close((uv_handle_t *)&c->tcp, on_tcp_close);
}

static void on_tcp_close(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct conn_env *env = c->env;
    assert(c->state == CONN_CLOSING);
    c->state = CONN_FREE;
    memset(&c->tcp, 0, sizeof c->tcp);
    c->tcp.data = c;
    if (c->retry_pending && (env->aborting || env->ended)) {
        /* No retry during shutdown: the request ends with its failure. */
        c->retry_pending = 0;
        c->rec.err = env->aborting ? ERR_ABORTED : c->fail;
        memcpy(c->rec.errmsg, c->failmsg, sizeof c->rec.errmsg);
        if (c->rec.end_ns == 0)
            c->rec.end_ns = uv_hrtime() - env->t0;
        env->on.done(env->ud, c, 0);
    }
    if (c->retry_pending) {
        c->retry_pending = 0;
        /* Same record, fresh connection: keep index and schedule times. */
        c->rec.first_ns = c->rec.last_ns = c->rec.end_ns = c->rec.byte_ns = 0;
        c->rec.t_first_reasoning = c->rec.t_first_output = c->rec.itl_max_ns = 0;
        c->rec.new_conn = c->rec.tls_resumed = 0;
        c->rec.connect_ns = c->rec.tls_ns = 0;
        c->rec.events = c->rec.reasoning_events = c->rec.tool_events = c->rec.tool_calls = 0;
        c->rec.ev_n = 0;
        c->rec.ev_spilled = 0;
        c->rec.spill_head = c->rec.spill_tail = 0;
        c->rec.status = 0;
        conn_start(c);
        return;
    }
    env->on.closed(env->ud, c);
}

void conn_abort(struct conn *c)
{
    if (c->state != CONN_BUSY && c->state != CONN_CONNECTING)
        return;
    conn_fail(c, ERR_ABORTED, "aborted by a second interrupt");
    conn_end(c, uv_hrtime());
}

void conn_release(struct conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, NULL);
}

void conn_free_buffers(struct conn *c)
{
    if (c->z) {
        inflateEnd(c->z);
        free(c->z);
        free(c->zout);
        c->z = NULL;
        c->zout = NULL;
    }
    tls_sess_free(&c->tls);
    free(c->carry);
    free(c->wbuf);
    free(c->rec.ev_us);
    hist_free(c->rec.itl_spilled);
    c->rec.itl_spilled = NULL;
    free(c->text);
    c->text = NULL;
    c->carry = c->wbuf = NULL;
    c->rec.ev_us = NULL;
}
