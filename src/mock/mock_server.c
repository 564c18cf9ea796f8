/* The server (mock_server.h): what it owns and how it answers a request.
 *
 * It owns the loop, the listener, the signal handlers, the counters of
 * /metrics and the truth file.  mock_http.c hands it each request it has
 * read; the answer is mock_validate's verdict acted on: an error, a fixed
 * answer of the route (the information endpoints and /metrics are
 * formatted here), or a generation handed to mock_gen.c. */
#include "mock_server.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rxstamp.h"

static const int counted_status[MOCK_NSTATUS] = { 200, 400, 404, 405, 408, 413, 429, 431, 500,
                                                    503, 0 };

/* --- small helpers ------------------------------------------------------- */

void mock_logv(const struct mock_server *s, const char *fmt, ...)
{
    if (!s->cfg->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("llmload mock: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void mock_wall_time(const struct mock_server *s, uint64_t now, char *buf, size_t cap)
{
    mock_out_time(buf, cap, (int64_t)now + s->wall_offset);
}

void mock_count_status(struct mock_server *s, int st)
{
    size_t i = 0;
    while (counted_status[i] && counted_status[i] != st)
        i++;
    s->cnt.status[i]++;
}

/* --- the truth file ------------------------------------------------------ */

static void json_str(FILE *f, const char *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_ns(FILE *f, const char *key, uint64_t v)
{
    if (v)
        fprintf(f, ",\"%s\":%llu", key, (unsigned long long)v);
    else
        fprintf(f, ",\"%s\":null", key);
}

void mock_truth_write(struct mock_server *s, const struct mock_conn *c)
{
    const struct mock_req *q = &c->q;
    FILE *f = s->truth;
    if (!f)
        return;
    fputs("{\"id\":", f);
    if (c->id)
        json_str(f, c->id, c->id_len);
    else
        fputs("null", f);
    fprintf(f, ",\"seq\":%llu,\"path\":", (unsigned long long)q->seq);
    json_str(f, c->url, mock_url_path_len(c->url, c->url_len));
    fprintf(f, ",\"status\":%d,\"fault\":", q->status);
    if (q->plan.fault && q->fault_counted)
        fprintf(f, "\"%s\"", mock_fault_name(q->plan.fault));
    else
        fputs("null", f);
    json_ns(f, "arrive_ns", q->arrive_ns);
    json_ns(f, "recv_ns", q->recv_ns);
    json_ns(f, "first_token_ns", q->first_ns);
    json_ns(f, "last_token_ns", q->last_ns);
    json_ns(f, "done_ns", q->done_ns);
    json_ns(f, "grant_ns", q->grant_ns);
    json_ns(f, "first_reasoning_ns", q->first_reasoning_ns);
    json_ns(f, "first_output_ns", q->first_output_ns);
    uint64_t rt = q->resp.reasoning_tokens < q->sent ? q->resp.reasoning_tokens : q->sent;
    fprintf(f, ",\"prompt_tokens\":%llu,\"completion_tokens\":%llu,\"reasoning_tokens\":%llu,"
               "\"tool_calls\":%llu,\"events\":%llu,\"aborted\":",
            (unsigned long long)q->resp.prompt_tokens, (unsigned long long)q->sent,
            (unsigned long long)rt, (unsigned long long)q->tool_calls,
            (unsigned long long)q->events);
    if (q->aborted)
        fprintf(f, "\"%s\"}\n", q->aborted);
    else
        fputs("null}\n", f);
}

/* --- answers -------------------------------------------------------------- */

/* Ollama's answer to an empty prompt: the model is loaded, nothing is
 * generated (docs/protocols.md, "Ollama native API"). */
static void answer_load(struct mock_conn *c, const struct mock_gen_req *g)
{
    char ts[48], body[512];
    mock_wall_time(c->srv, uv_hrtime(), ts, sizeof ts);
    int n;
    if (g->api == MOCK_API_GENERATE)
        n = snprintf(body, sizeof body, "{\"model\":\"%s\",\"created_at\":\"%s\",\"response\":\"\","
                     "\"done\":true,\"done_reason\":\"load\"}", g->model, ts);
    else
        n = snprintf(body, sizeof body, "{\"model\":\"%s\",\"created_at\":\"%s\",\"message\":"
                     "{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"load\"}",
                     g->model, ts);
    mock_conn_respond(c, 200, "application/json; charset=utf-8", body, (size_t)n, NULL);
}

/* Sends b as a 200 body of type ctype, and frees it. */
static void answer_mbuf(struct mock_conn *c, struct mbuf *b, const char *ctype)
{
    if (b->failed)
        mock_conn_abort(c, "out of memory");
    else
        mock_conn_respond(c, 200, ctype, b->p, b->len, NULL);
    mbuf_free(b);
}

/* A made-up but stable sha256-looking digest of a model name. */
static void fake_digest(const char *name, char out[65])
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    struct mock_rng r = { h };
    for (int i = 0; i < 4; i++)
        snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)mock_rng_next(&r));
}

static void answer_models(struct mock_conn *c, enum mock_route rt)
{
    struct mock_server *s = c->srv;
    const struct mock_config *cfg = s->cfg;
    struct mbuf b = { 0 };
    char ts[48], exp[48], digest[65];
    mock_wall_time(s, uv_hrtime(), exp, sizeof exp);
    mock_out_time(ts, sizeof ts, s->start_unix);
    if (rt == MOCK_R_MODELS) {
        mbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
        for (size_t i = 0; i < cfg->nmodels; i++)
            mbuf_printf(&b, "%s{\"id\":\"%s\",\"object\":\"model\",\"created\":%lld,"
                            "\"owned_by\":\"llmload\"}", i ? "," : "", cfg->models[i],
                        (long long)(s->start_unix / 1000000000));
        mbuf_puts(&b, "]}");
    } else {
        mbuf_puts(&b, "{\"models\":[");
        for (size_t i = 0; i < cfg->nmodels; i++) {
            fake_digest(cfg->models[i], digest);
            mbuf_printf(&b, "%s{\"name\":\"%s\",\"model\":\"%s\",", i ? "," : "", cfg->models[i],
                        cfg->models[i]);
            if (rt == MOCK_R_TAGS)
                mbuf_printf(&b, "\"modified_at\":\"%s\",", ts);
            mbuf_printf(&b, "\"size\":0,\"digest\":\"%s\",\"details\":{\"parent_model\":\"\","
                            "\"format\":\"gguf\",\"family\":\"llmload\",\"families\":[\"llmload\"],"
                            "\"parameter_size\":\"0B\",\"quantization_level\":\"none\"}", digest);
            if (rt == MOCK_R_PS)
                mbuf_printf(&b, ",\"expires_at\":\"%s\",\"size_vram\":0,\"context_length\":4096", exp);
            mbuf_puts(&b, "}");
        }
        mbuf_puts(&b, "]}");
    }
    answer_mbuf(c, &b, "application/json; charset=utf-8");
}

/* The KV cache of the model: each slot holds one sequence of up to the
 * context length (the 4096 tokens /api/ps reports), and a generation in a
 * slot fills its prompt and the tokens generated so far. */
#define MOCK_KV_TOKENS_PER_SLOT 4096

/* vLLM's names for the scheduler's state (docs/mock.md), so a client that
 * scrapes a server's /metrics during a run is tested against the
 * simulator: running = generations in slots, waiting = queued ones. */
static void vllm_metrics(const struct mock_server *s, struct mbuf *b)
{
    const char *model = s->cfg->models[0];
    uint64_t kv = 0;
    for (const struct mock_conn *c = s->live; c; c = c->next)
        if (c->has_slot)
            kv += c->q.resp.prompt_tokens + c->q.sent;
    double cap = (double)s->cfg->slots * MOCK_KV_TOKENS_PER_SLOT;
    double usage = cap > 0 ? (double)kv / cap : 0;
    if (usage > 1)
        usage = 1;
    static const struct { const char *name, *type, *help; } vllm[] = {
        { "vllm:num_requests_running", "gauge", "Number of requests in model execution batches." },
        { "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed." },
        { "vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage. 1 means 100 percent usage." },
        { "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage." },
        { "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed." },
        { "vllm:generation_tokens_total", "counter", "Number of generation tokens processed." },
    };
    const double v[] = { s->active, s->queued, usage, usage, (double)s->cnt.prompt_tokens,
                         (double)s->cnt.tokens };
    _Static_assert(sizeof v / sizeof v[0] == sizeof vllm / sizeof vllm[0],
                   "one value per vLLM metric");
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s{model_name=\"%s\"} %.17g\n", vllm[i].name,
                    vllm[i].help, vllm[i].name, vllm[i].type, vllm[i].name, model, v[i]);
}

static void answer_metrics(struct mock_conn *c)
{
    struct mock_server *s = c->srv;
    const struct mock_counters *k = &s->cnt;
    struct mbuf b = { 0 };
    mbuf_puts(&b, "# HELP llmload_mock_requests_total HTTP requests received, by endpoint.\n"
                  "# TYPE llmload_mock_requests_total counter\n");
    for (int i = 0; i < MOCK_R_COUNT; i++)
        mbuf_printf(&b, "llmload_mock_requests_total{endpoint=\"%s\"} %llu\n", mock_routes[i].path,
                    (unsigned long long)k->requests[i]);
    mbuf_puts(&b, "# HELP llmload_mock_responses_total Responses by HTTP status code.\n"
                  "# TYPE llmload_mock_responses_total counter\n");
    for (size_t i = 0; i < MOCK_NSTATUS; i++) {
        if (counted_status[i])
            mbuf_printf(&b, "llmload_mock_responses_total{code=\"%d\"} %llu\n", counted_status[i],
                        (unsigned long long)k->status[i]);
        else
            mbuf_printf(&b, "llmload_mock_responses_total{code=\"other\"} %llu\n",
                        (unsigned long long)k->status[i]);
    }
    mbuf_puts(&b, "# HELP llmload_mock_faults_total Injected faults, by kind.\n"
                  "# TYPE llmload_mock_faults_total counter\n");
    for (int i = 1; i < MOCK_FAULT_COUNT; i++)
        mbuf_printf(&b, "llmload_mock_faults_total{kind=\"%s\"} %llu\n",
                    mock_fault_name((enum mock_fault)i), (unsigned long long)k->faults[i]);
    static const struct { const char *name, *type, *help; } scalars[] = {
        { "llmload_mock_tokens_generated_total", "counter", "Completion tokens generated." },
        { "llmload_mock_prompt_tokens_total", "counter", "Prompt tokens received (ceil(bytes/4))." },
        { "llmload_mock_events_total", "counter", "Token-carrying events written." },
        { "llmload_mock_active_streams", "gauge", "Generations holding a slot." },
        { "llmload_mock_queued", "gauge", "Generations waiting for a slot." },
        { "llmload_mock_slots", "gauge", "Configured slots (--slots)." },
        { "llmload_mock_connections", "gauge", "Open client connections." },
        { "llmload_mock_connections_total", "counter", "Accepted connections." },
        { "llmload_mock_accept_errors_total", "counter", "Failed accepts (EMFILE and others)." },
        { "llmload_mock_client_aborts_total", "counter", "Requests the client abandoned." },
        { "llmload_mock_header_timeouts_total", "counter",
          "Connections closed because a request header took longer than --header-timeout." },
    };
    uint64_t vals[] = { k->tokens, k->prompt_tokens, k->events, s->active, s->queued,
                        s->cfg->slots, k->conns_open, k->conns_total, k->accept_errors,
                        k->client_aborts, k->header_timeouts };
    _Static_assert(sizeof vals / sizeof vals[0] == sizeof scalars / sizeof scalars[0],
                   "one value per scalar metric");
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        mbuf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", scalars[i].name, scalars[i].help,
                    scalars[i].name, scalars[i].type, scalars[i].name,
                    (unsigned long long)vals[i]);
    vllm_metrics(s, &b);
    answer_mbuf(c, &b, "text/plain; version=0.0.4; charset=utf-8");
}

void mock_server_answer(struct mock_conn *c, const struct mock_request *rq)
{
    struct mock_server *s = c->srv;
    struct mock_req *q = &c->q;
    struct mock_verdict v;
    mock_validate(s->cfg, rq, &v);
    q->seq = s->seq++;
    q->route = v.route;
    s->cnt.requests[v.route]++;
    if (v.close)
        c->keep_alive = 0;
    switch (v.action) {
    case MOCK_ACT_ERROR: {
        char allow[64];
        if (v.allow)
            snprintf(allow, sizeof allow, "Allow: %s\r\n", v.allow);
        mock_conn_error(c, v.status, v.msg, v.allow ? allow : NULL);
        return;
    }
    case MOCK_ACT_LOAD:
        answer_load(c, &v.gen);
        return;
    case MOCK_ACT_GENERATE:
        mock_gen_start(c, &v.gen);
        return;
    case MOCK_ACT_ANSWER:
        break;
    }
    switch (mock_routes[v.route].answer) {
    case MOCK_ANS_RUNNING:
        mock_conn_respond(c, 200, "text/plain; charset=utf-8", "Ollama is running", 17, NULL);
        break;
    case MOCK_ANS_VERSION: {
        const char body[] = "{\"version\":\"" LLMLOAD_VERSION "\"}";
        mock_conn_respond(c, 200, "application/json; charset=utf-8", body, sizeof body - 1, NULL);
        break;
    }
    case MOCK_ANS_HEALTH:
        /* vLLM answers 200 with an empty body. */
        mock_conn_respond(c, 200, NULL, "", 0, NULL);
        break;
    case MOCK_ANS_MODELS:
        answer_models(c, v.route);
        break;
    case MOCK_ANS_METRICS:
        answer_metrics(c);
        break;
    case MOCK_ANS_NONE:
    case MOCK_ANS_GENERATE:
        /* the verdict never leaves these to the route */
        assert(!"route answer without a verdict");
        mock_conn_abort(c, "internal error");
        break;
    }
}

/* --- start and stop ------------------------------------------------------ */

static void server_stop(struct mock_server *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    mock_logv(s, "stopping");
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    for (struct mock_conn *c = s->live, *n; c; c = n) {
        n = c->next;
        mock_conn_abort(c, "shutdown");
    }
    mtimers_close(&s->timers);
}

static void on_signal(uv_signal_t *h, int signum)
{
    server_stop(h->data);
}

static void raise_nofile(void)
{
    /* 10,000 streams need 10,000 descriptors; the soft limit is often 1024. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int mock_server_run(const struct mock_config *cfg)
{
    struct mock_server *s = calloc(1, sizeof *s);
    int r;
    struct sockaddr_storage ss;
    if (!s) {
        fprintf(stderr, "llmload mock: out of memory\n");
        return UV_ENOMEM;
    }
    s->cfg = cfg;
    s->rx_kernel = rxstamp_supported();
    s->rx_hold = s->rx_kernel ? rxstamp_hold() : -1;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);

    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    s->start_unix = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
    s->wall_offset = s->start_unix - (int64_t)uv_hrtime();

    if ((r = uv_loop_init(&s->loop)) < 0) {
        fprintf(stderr, "llmload mock: cannot start the event loop: %s\n", uv_strerror(r));
        rxstamp_release(s->rx_hold);
        free(s);
        return r;
    }
    if (cfg->truth_path) {
        s->truth = fopen(cfg->truth_path, "w");
        if (!s->truth) {
            r = -errno;
            fprintf(stderr, "llmload mock: --truth: cannot write '%s': %s\n", cfg->truth_path,
                    strerror(errno));
            goto out_loop;
        }
    }
    if (cfg->tls) {
        char terr[256];
        if (!(s->tls = mtls_ctx_new(cfg, terr, sizeof terr))) {
            fprintf(stderr, "llmload mock: %s\n", terr);
            r = UV_EINVAL;
            goto out_truth;
        }
    }
    if (strchr(cfg->host, ':'))
        r = uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&ss);
    else
        r = uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&ss);
    if (r < 0) {
        fprintf(stderr, "llmload mock: --listen: '%s' is not a numeric IPv4/IPv6 address\n",
                cfg->host);
        goto out_truth;
    }
    if ((r = mtimers_init(&s->timers, &s->loop)) < 0) {
        fprintf(stderr, "llmload mock: cannot create the timer: %s\n", uv_strerror(r));
        goto out_truth;
    }
    /* These init calls cannot fail on Linux for a live loop, but their
     * handles must exist before server_stop closes them, so a failure is
     * still reported through the same path as bind/listen. */
    int r1 = cfg->worker_fd > 0 ? uv_tcp_init_ex(&s->loop, &s->listener, ss.ss_family)
                                : uv_tcp_init(&s->loop, &s->listener);
    int r2 = uv_signal_init(&s->loop, &s->sigterm);
    int r3 = uv_signal_init(&s->loop, &s->sigint);
    if (r1 < 0 || r2 < 0 || r3 < 0) {
        fprintf(stderr, "llmload mock: cannot create libuv handles\n");
        r = r1 < 0 ? r1 : r2 < 0 ? r2 : r3;
        mtimers_close(&s->timers);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_truth;
    }
    s->listener.data = s;
    s->sigterm.data = s->sigint.data = s;
    /* --workers: every worker listens on the one port and the kernel
     * spreads the connections.  libuv has UV_TCP_REUSEPORT only from 1.49
     * (Debian 12 ships 1.44), so the option is set on the socket here,
     * before the bind. */
    uv_os_fd_t lfd;
    int one = 1;
    r = 0;
    if (cfg->worker_fd > 0 && (uv_fileno((uv_handle_t *)&s->listener, &lfd) < 0 ||
                               setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0))
        r = -errno;
    if (r == 0)
        r = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&s->listener, 4096, mock_http_on_connection);
    if (r < 0) {
        fprintf(stderr, "llmload mock: cannot listen on %s port %d: %s\n", cfg->host, cfg->port,
                uv_strerror(r));
        server_stop(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_truth;
    }
    /* Handlers go in before the address is printed: whoever reads it may
     * signal at once. */
    int len = sizeof ss;
    char host[64];
    if ((r = uv_signal_start(&s->sigterm, on_signal, SIGTERM)) < 0 ||
        (r = uv_signal_start(&s->sigint, on_signal, SIGINT)) < 0 ||
        (r = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len)) < 0) {
        fprintf(stderr, "llmload mock: cannot start: %s\n", uv_strerror(r));
        server_stop(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_truth;
    }
    const char *scheme = s->tls ? "https" : "http";
    if (cfg->worker_fd > 0) {
        if (write(cfg->worker_fd, "1", 1) != 1)   /* the parent prints the URL */
            r = -errno;
        close(cfg->worker_fd);
    } else if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
        printf("%s://[%s]:%d\n", scheme, host, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    } else {
        uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
        printf("%s://%s:%d\n", scheme, host, ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    fflush(stdout);
    mock_logv(s, "profile %s, %u slots, decode %g tok/s", cfg->profile, cfg->slots, cfg->decode_rate);

    uv_run(&s->loop, UV_RUN_DEFAULT);
    r = 0;
    mock_logv(s, "%llu requests, %llu tokens", (unsigned long long)s->seq,
         (unsigned long long)s->cnt.tokens);

out_truth:
    if (s->truth && fclose(s->truth) != 0 && r == 0) {
        r = -errno;
        fprintf(stderr, "llmload mock: --truth: cannot write '%s': %s\n", cfg->truth_path,
                strerror(errno));
    }
out_loop:
    mock_http_free_conns(s);
    mtls_ctx_free(s->tls);
    mbuf_free(&s->out);
    mbuf_free(&s->ev);
    mbuf_free(&s->txt);
    if (uv_loop_close(&s->loop) != 0) {
        uv_run(&s->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&s->loop);
    }
    rxstamp_release(s->rx_hold);
    free(s);
    return r;
}
