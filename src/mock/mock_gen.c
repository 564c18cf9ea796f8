/* Generation: the timing model of docs/mock.md run against the clock
 * (mock_server.h).
 *
 * A valid generation request takes one of --slots slots, or waits for one in
 * FIFO order.  From the grant its token clock (one mtimer per connection)
 * fires at the first token (ttft-base + prefill), then at each token, the
 * interval recomputed from the number of streams holding a slot.  Each
 * firing formats the tokens due into one event and writes it through the
 * connection (mock_http.c); the request's plan, drawn when it arrived,
 * decides where a fault strikes.  Nothing here reads a socket. */
#include "mock_server.h"

#include <stdio.h>

static uint64_t token_interval(struct mock_server *s)
{
    uint32_t b = s->active ? s->active : 1;
    if (b < 64) {
        if (!s->interval_b[b])
            s->interval_b[b] = mock_token_interval_ns(s->cfg, b);
        return s->interval_b[b];
    }
    return mock_token_interval_ns(s->cfg, b);
}

/* --- slots and the queue ------------------------------------------------- */

static void slot_grant(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    s->active++;
    c->has_slot = 1;
    q->grant_ns = uv_hrtime();
    q->next_due = q->grant_ns + mock_ttft_ns(s->cfg, q->resp.prompt_tokens);
    if (mtimer_start(&s->timers, &c->tick, q->next_due) < 0)
        mock_conn_abort(c, "out of memory");
}

void mock_gen_release(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    c->has_slot = 0;
    s->active--;
    while (!s->stopping && s->active < s->cfg->slots && s->qhead) {
        struct mock_conn *n = s->qhead;
        s->qhead = n->qnext;
        if (!s->qhead)
            s->qtail = NULL;
        n->qnext = NULL;
        n->queued = 0;
        s->queued--;
        slot_grant(n);
    }
}

static void queue_unlink(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_conn **pp = &s->qhead, *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp)
        return;
    *pp = c->qnext;
    if (s->qtail == c)
        s->qtail = prev;
    c->qnext = NULL;
    c->queued = 0;
    s->queued--;
}

static void enqueue(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    if (s->active < s->cfg->slots && !s->qhead) {
        slot_grant(c);
        return;
    }
    c->queued = 1;
    c->qnext = NULL;
    if (s->qtail)
        s->qtail->qnext = c;
    else
        s->qhead = c;
    s->qtail = c;
    s->queued++;
}

void mock_gen_drop(struct mock_conn *c)
{
    mtimer_stop(&c->srv->timers, &c->tick);
    if (c->queued)
        queue_unlink(c);
    if (c->has_slot)
        mock_gen_release(c);
}

void mock_gen_start(struct mock_conn *c, const struct mock_gen_req *g)
{
    struct mock_server *s = c->srv;
    const struct mock_config *cfg = s->cfg;
    struct mock_req *q = &c->q;

    q->gen = 1;
    q->stream = g->stream;
    q->resp.api = g->api;
    q->resp.model = g->model;
    q->resp.seq = q->seq;
    q->resp.created = ((int64_t)q->recv_ns + s->wall_offset) / 1000000000;
    q->resp.include_usage = g->include_usage;
    q->resp.timings = cfg->timings;
    q->resp.prompt_tokens = mock_prompt_tokens(g->prompt_bytes);
    s->cnt.prompt_tokens += q->resp.prompt_tokens;
    mock_plan_request(cfg, q->seq, g->max_tokens, g->min_tokens, g->ignore_eos, &q->plan);
    q->resp.stop = q->plan.stop;
    q->resp.reasoning_tokens = mock_reasoning_tokens(cfg, g->api, q->plan.tokens);
    q->resp.reasoning_content = cfg->reasoning_content;
    /* Tool calls are streamed chat only: a body keeps its content. */
    q->resp.tool_calls = cfg->tool_calls && g->stream &&
                         (g->api == MOCK_API_CHAT || g->api == MOCK_API_OAI_CHAT);
    q->resp.text_seed = q->plan.text_seed;
    q->text_rng.s = q->plan.text_seed;

    char extra[64];
    snprintf(extra, sizeof extra, "Retry-After: %llu\r\n", (unsigned long long)cfg->retry_after_s);
    switch (q->plan.fault) {
    case MOCK_FAULT_429:
    case MOCK_FAULT_500:
    case MOCK_FAULT_503:
        s->cnt.faults[q->plan.fault]++;
        q->fault_counted = 1;
        q->gen = 0;
        if (q->plan.fault == MOCK_FAULT_429)
            mock_conn_error(c, 429, "rate limit exceeded (simulated)", extra);
        else if (q->plan.fault == MOCK_FAULT_500)
            mock_conn_error(c, 500, "internal server error (simulated)", NULL);
        else
            mock_conn_error(c, 503, "server busy, please try again.  maximum pending requests "
                                    "exceeded", extra);
        return;
    default:
        break;
    }
    enqueue(c);
}

/* --- the stream ---------------------------------------------------------- */

/* Writes the pending tokens as one event (with the response headers before
 * the first one).  Returns -1 when the connection is gone. */
static int emit(struct mock_conn *c, uint64_t now, int malformed)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    char ts[48];
    if (!c->headers_sent) {
        int sse = mock_api_is_openai(q->resp.api);
        mock_conn_headers(c, 200, sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson",
                          -1, sse ? "Cache-Control: no-cache\r\n" : NULL);
        c->headers_sent = 1;
        q->status = 200;
        mock_count_status(s, 200);
        if (q->resp.api == MOCK_API_OAI_CHAT) {
            mock_out_role(&s->ev, &q->resp);
            mock_conn_event(c);
        }
    }
    s->txt.len = 0;
    mock_out_words(&s->txt, &q->text_rng, q->pending);
    /* The pending tokens are all of one kind: tick flushes at the change. */
    if (q->sent <= q->resp.reasoning_tokens) {
        q->resp.kind = MOCK_TEXT_REASONING;
        if (!q->first_reasoning_ns)
            q->first_reasoning_ns = now;
    } else {
        q->resp.kind = q->resp.tool_calls ? MOCK_TEXT_TOOL : MOCK_TEXT_ANSWER;
        q->resp.tool_start = q->resp.tool_calls && !q->first_output_ns;
        q->tool_calls += (uint64_t)q->resp.tool_start;
        if (!q->first_output_ns)
            q->first_output_ns = now;
    }
    if (!mock_api_is_openai(q->resp.api))
        mock_wall_time(s, now, ts, sizeof ts);
    else
        ts[0] = 0;
    if (malformed)
        mock_out_malformed(&s->ev, &q->resp, ts, s->txt.p, s->txt.len);
    else
        mock_out_content(&s->ev, &q->resp, ts, s->txt.p, s->txt.len);
    mock_conn_event(c);
    q->pending = 0;
    q->events++;
    s->cnt.events++;
    return mock_conn_flush(c);
}

static void resp_timings(struct mock_req *q, uint64_t done)
{
    q->resp.completion_tokens = q->sent;
    q->resp.load_ns = q->grant_ns - q->recv_ns;
    q->resp.prompt_eval_ns = q->first_ns - q->grant_ns;
    q->resp.eval_ns = q->last_ns - q->first_ns;
    q->resp.total_ns = done - q->recv_ns;
}

/* The end of a streamed body: Ollama's final line, or OpenAI's finish chunk,
 * usage chunk and [DONE]; then the zero chunk. */
static void finish_stream(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    uint64_t done = uv_hrtime();
    char ts[48];
    resp_timings(q, done);
    if (!mock_api_is_openai(q->resp.api)) {
        mock_wall_time(s, done, ts, sizeof ts);
        mock_out_final(&s->ev, &q->resp, ts);
        mock_conn_event(c);
    } else {
        mock_out_finish(&s->ev, &q->resp);
        mock_conn_event(c);
        if (mock_conn_flush(c) < 0)
            return;
        if (q->resp.include_usage) {
            mock_out_usage(&s->ev, &q->resp);
            mock_conn_event(c);
            if (mock_conn_flush(c) < 0)
                return;
        }
        mock_out_done(&s->ev);
        mock_conn_event(c);
    }
    mock_conn_stream_end(c, done);
}

/* stream:false: the whole body once the last token is due. */
static void finish_body(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    uint64_t done = uv_hrtime();
    char ts[48];
    struct mbuf b = { 0 };
    resp_timings(q, done);
    mock_wall_time(s, done, ts, sizeof ts);
    mock_out_body(&b, &q->resp, ts);
    if (q->plan.fault == MOCK_FAULT_MALFORMED && !b.failed)
        b.len /= 2;
    if (b.failed) {
        mbuf_free(&b);
        mock_conn_abort(c, "out of memory");
        return;
    }
    q->events = 1;
    s->cnt.events++;
    q->done_ns = done;
    mock_conn_respond(c, 200, "application/json; charset=utf-8", b.p, b.len, NULL);
    mbuf_free(&b);
}

static void finish(struct mock_conn *c)
{
    if (c->q.stream)
        finish_stream(c);
    else
        finish_body(c);
}

void mock_gen_tick(struct mtimer *t)
{
    struct mock_conn *c = mock_container_of(t, struct mock_conn, tick);
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    const struct mock_config *cfg = s->cfg;
    uint64_t now = uv_hrtime();

    if (q->final_wait) {
        finish(c);
        return;
    }
    q->sent++;
    q->pending++;
    s->cnt.tokens++;
    if (q->sent == 1)
        q->first_ns = now;
    q->last_ns = now;
    int last = q->sent >= q->plan.tokens;
    enum mock_fault fault = q->plan.fault >= MOCK_FAULT_MIDSTREAM && q->sent == q->plan.fault_at
                                ? q->plan.fault : MOCK_FAULT_NONE;
    if (fault) {
        s->cnt.faults[fault]++;
        q->fault_counted = 1;
    }

    if (q->stream) {
        /* The first token goes out at once, the rest in groups of
         * tokens-per-chunk, like vLLM's stream interval. */
        uint64_t rt = q->resp.reasoning_tokens;
        int now_out = q->sent == 1 || q->pending >= cfg->tokens_per_chunk || last || fault;
        /* Reasoning and the answer never share an event, and the answer's
         * first token goes out alone as the first token does.  Ollama
         * sends a tool call whole, once the model has finished it. */
        if (rt && (q->sent == rt || q->sent == rt + 1))
            now_out = 1;
        if (q->resp.tool_calls && !mock_api_is_openai(q->resp.api) && q->sent > rt && !last && !fault)
            now_out = 0;
        if (now_out && emit(c, now, fault == MOCK_FAULT_MALFORMED) < 0)
            return;
    }

    switch (fault) {
    case MOCK_FAULT_MIDSTREAM:
        if (!q->stream) {
            q->done_ns = uv_hrtime();
            mock_conn_error(c, 500, "simulated failure during generation", NULL);
            return;
        }
        mock_out_stream_error(&s->ev, &q->resp, "simulated failure during generation");
        mock_conn_event(c);
        if (mock_api_is_openai(q->resp.api)) {
            if (mock_conn_flush(c) < 0)
                return;
            mock_out_done(&s->ev);
            mock_conn_event(c);
        }
        mock_conn_stream_end(c, uv_hrtime());
        return;
    case MOCK_FAULT_CLOSE:
        /* No last chunk: the client sees the body end early. */
        q->done_ns = uv_hrtime();
        mock_conn_cut(c);
        return;
    case MOCK_FAULT_STALL:
        q->next_due = now + cfg->stall_ns;
        if (last) {
            /* A stall on the last token delays the end of the stream. */
            q->final_wait = 1;
            if (mtimer_start(&s->timers, &c->tick, q->next_due) < 0)
                mock_conn_abort(c, "out of memory");
            return;
        }
        break;
    default:
        break;
    }

    if (last) {
        finish(c);
        return;
    }
    /* Decode starts from the first token as it really went out: a late
     * first token shifts the schedule instead of squeezing the next gap. */
    if (q->sent == 1)
        q->next_due = now;
    uint64_t next = q->next_due + token_interval(s);
    if (next < now)
        next = now;     /* behind schedule: no bursts to catch up */
    q->next_due = next;
    if (mtimer_start(&s->timers, &c->tick, next) < 0)
        mock_conn_abort(c, "out of memory");
}
