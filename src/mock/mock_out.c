/* Payload formatting for the simulator.  Everything is compact JSON like the
 * Go and pydantic servers write, except the OpenAI in-stream error, which
 * vLLM writes with json.dumps spacing (docs/protocols.md, "Error shapes"). */
#include "mock_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mbuf_reserve(struct mbuf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void mbuf_put(struct mbuf *b, const void *p, size_t n)
{
    if (mbuf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void mbuf_puts(struct mbuf *b, const char *s)
{
    mbuf_put(b, s, strlen(s));
}

void mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (mbuf_reserve(b, 256) < 0)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (mbuf_reserve(b, (size_t)n + 1) < 0)
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void mbuf_free(struct mbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void mock_out_time(char *dst, size_t cap, int64_t wall_ns)
{
    /* gmtime_r and strftime cost about a microsecond; every streamed Ollama
     * line needs a timestamp, so the seconds part is cached. */
    static int64_t cached_sec = -1;
    static char cached[32];
    int64_t sec = wall_ns / 1000000000;
    long nsec = (long)(wall_ns % 1000000000);
    if (sec != cached_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        if (!gmtime_r(&t, &tm) || !strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm))
            snprintf(cached, sizeof cached, "1970-01-01T00:00:00");
        cached_sec = sec;
    }
    snprintf(dst, cap, "%s.%09ldZ", cached, nsec);
}

void mock_out_words(struct mbuf *b, struct mock_rng *rng, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        size_t len;
        const char *w = mock_word((uint32_t)(mock_rng_next(rng) >> 32), &len);
        if (mbuf_reserve(b, len + 1) < 0)
            return;
        b->p[b->len++] = ' ';
        memcpy(b->p + b->len, w, len);
        b->len += len;
    }
}

static const char *finish_reason(const struct mock_resp *r)
{
    if (r->tool_calls && r->api == MOCK_API_OAI_CHAT)
        return "tool_calls";
    return r->stop ? "stop" : "length";
}

static const char *reasoning_key(const struct mock_resp *r)
{
    return r->reasoning_content ? "reasoning_content" : "reasoning";
}

/* The fields every OpenAI chunk starts with, up to and including the
 * opening of `choices`. */
static void oai_head(struct mbuf *b, const struct mock_resp *r)
{
    int chat = r->api == MOCK_API_OAI_CHAT;
    mbuf_printf(b, "{\"id\":\"%s-%llu\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\","
                   "\"system_fingerprint\":\"llmload-mock\",\"choices\":",
                chat ? "chatcmpl" : "cmpl", (unsigned long long)r->seq,
                chat ? "chat.completion.chunk" : "text_completion", (long long)r->created,
                r->model);
}

static void oai_tail(struct mbuf *b, const struct mock_resp *r)
{
    mbuf_puts(b, r->include_usage ? ",\"usage\":null}\n\n" : "}\n\n");
}

void mock_out_role(struct mbuf *b, const struct mock_resp *r)
{
    mbuf_puts(b, "data: ");
    oai_head(b, r);
    mbuf_puts(b, "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                 "\"logprobs\":null,\"finish_reason\":null}]");
    oai_tail(b, r);
}

static void content_json(struct mbuf *b, const struct mock_resp *r, const char *created_at,
                         const char *text, size_t len)
{
    int reasoning = r->kind == MOCK_TEXT_REASONING, tool = r->kind == MOCK_TEXT_TOOL;
    switch (r->api) {
    case MOCK_API_GENERATE:
        mbuf_printf(b, "{\"model\":\"%s\",\"created_at\":\"%s\",\"response\":\"%s", r->model,
                    created_at, reasoning ? "\",\"thinking\":\"" : "");
        mbuf_put(b, text, len);
        mbuf_puts(b, "\",\"done\":false}");
        break;
    case MOCK_API_CHAT:
        /* Ollama sends a model's tool calls whole, in one message. */
        mbuf_printf(b, "{\"model\":\"%s\",\"created_at\":\"%s\",\"message\":{\"role\":\"assistant\","
                       "\"content\":\"%s", r->model, created_at,
                    reasoning ? "\",\"thinking\":\""
                    : tool ? "\",\"tool_calls\":[{\"function\":{\"name\":\"" MOCK_TOOL_NAME "\","
                             "\"arguments\":{\"query\":\"" : "");
        mbuf_put(b, text, len);
        mbuf_puts(b, tool ? "\"}}}]},\"done\":false}" : "\"},\"done\":false}");
        break;
    case MOCK_API_OAI_CHAT:
        oai_head(b, r);
        if (tool && r->tool_start)
            mbuf_printf(b, "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_%llu\","
                           "\"type\":\"function\",\"function\":{\"name\":\"" MOCK_TOOL_NAME "\",\"arguments\":\"",
                        (unsigned long long)r->seq);
        else if (tool)
            mbuf_puts(b, "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"");
        else
            mbuf_printf(b, "[{\"index\":0,\"delta\":{\"%s\":\"", reasoning ? reasoning_key(r) : "content");
        mbuf_put(b, text, len);
        mbuf_puts(b, tool ? "\"}}]},\"logprobs\":null,\"finish_reason\":null}]"
                          : "\"},\"logprobs\":null,\"finish_reason\":null}]");
        break;
    case MOCK_API_OAI_COMPLETIONS:
        oai_head(b, r);
        mbuf_puts(b, "[{\"index\":0,\"text\":\"");
        mbuf_put(b, text, len);
        mbuf_puts(b, "\",\"logprobs\":null,\"finish_reason\":null}]");
        break;
    }
}

static int is_ollama(const struct mock_resp *r)
{
    return r->api == MOCK_API_GENERATE || r->api == MOCK_API_CHAT;
}

void mock_out_content(struct mbuf *b, const struct mock_resp *r, const char *created_at,
                      const char *text, size_t len)
{
    if (is_ollama(r)) {
        content_json(b, r, created_at, text, len);
        mbuf_puts(b, "\n");
    } else {
        mbuf_puts(b, "data: ");
        content_json(b, r, created_at, text, len);
        oai_tail(b, r);
    }
}

void mock_out_malformed(struct mbuf *b, const struct mock_resp *r, const char *created_at,
                        const char *text, size_t len)
{
    /* Build the event, then cut its JSON in half: an unterminated string is
     * what a truncated write or a buggy proxy produces.  The event separator
     * stays, so only the JSON is broken, not the framing. */
    struct mbuf tmp = { 0 };
    content_json(&tmp, r, created_at, text, len);
    size_t keep = tmp.failed ? 0 : tmp.len / 2;
    if (!is_ollama(r))
        mbuf_puts(b, "data: ");
    mbuf_put(b, tmp.p ? tmp.p : "{", keep ? keep : 1);
    mbuf_puts(b, is_ollama(r) ? "\n" : "\n\n");
    mbuf_free(&tmp);
}

/* llama.cpp's timings (tools/server): the prompt's evaluation and the
 * generation, in milliseconds; this simulator caches nothing. */
static void timings_json(struct mbuf *b, const struct mock_resp *r)
{
    if (!r->timings)
        return;
    double pms = (double)r->prompt_eval_ns / 1e6, gms = (double)r->eval_ns / 1e6;
    unsigned long long pn = (unsigned long long)r->prompt_tokens;
    unsigned long long gn = (unsigned long long)r->completion_tokens;
    mbuf_printf(b, ",\"timings\":{\"cache_n\":0,\"prompt_n\":%llu,\"prompt_ms\":%.3f,"
                   "\"prompt_per_token_ms\":%.6f,\"prompt_per_second\":%.3f,\"predicted_n\":%llu,"
                   "\"predicted_ms\":%.3f,\"predicted_per_token_ms\":%.6f,\"predicted_per_second\":%.3f}",
                pn, pms, pn ? pms / (double)pn : 0.0, pms > 0 ? (double)pn * 1e3 / pms : 0.0,
                gn, gms, gn ? gms / (double)gn : 0.0, gms > 0 ? (double)gn * 1e3 / gms : 0.0);
}

void mock_out_finish(struct mbuf *b, const struct mock_resp *r)
{
    mbuf_puts(b, "data: ");
    oai_head(b, r);
    if (r->api == MOCK_API_OAI_CHAT)
        mbuf_printf(b, "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"%s\"}]",
                    finish_reason(r));
    else
        mbuf_printf(b, "[{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"%s\"}]",
                    finish_reason(r));
    timings_json(b, r);
    oai_tail(b, r);
}

static void usage_json(struct mbuf *b, const struct mock_resp *r)
{
    mbuf_printf(b, "{\"prompt_tokens\":%llu,\"completion_tokens\":%llu,\"total_tokens\":%llu",
                (unsigned long long)r->prompt_tokens, (unsigned long long)r->completion_tokens,
                (unsigned long long)(r->prompt_tokens + r->completion_tokens));
    /* The reasoning count, as OpenAI and DeepSeek give it: of the tokens
     * generated, those that were reasoning. */
    if (r->reasoning_tokens)
        mbuf_printf(b, ",\"completion_tokens_details\":{\"reasoning_tokens\":%llu}",
                    (unsigned long long)(r->reasoning_tokens < r->completion_tokens
                                             ? r->reasoning_tokens : r->completion_tokens));
    mbuf_puts(b, "}");
}

void mock_out_usage(struct mbuf *b, const struct mock_resp *r)
{
    mbuf_puts(b, "data: ");
    oai_head(b, r);
    mbuf_puts(b, "[],\"usage\":");
    usage_json(b, r);
    mbuf_puts(b, "}\n\n");
}

void mock_out_done(struct mbuf *b)
{
    mbuf_puts(b, "data: [DONE]\n\n");
}

/* Ollama's metric fields, shared by the final line and stream:false. */
static void ollama_metrics(struct mbuf *b, const struct mock_resp *r)
{
    mbuf_printf(b, ",\"done\":true,\"done_reason\":\"%s\"", finish_reason(r));
    if (r->api == MOCK_API_GENERATE) {
        /* Real `context` holds the token ids of prompt and answer; these ids
         * are made up but the array has that many entries. */
        struct mock_rng rng;
        rng.s = r->text_seed;
        mbuf_puts(b, ",\"context\":[");
        for (uint64_t i = 0; i < r->prompt_tokens; i++)
            mbuf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)(1000 + i % 30000));
        for (uint64_t i = 0; i < r->completion_tokens; i++)
            mbuf_printf(b, "%s%u", i || r->prompt_tokens ? "," : "",
                        (unsigned)(1 + (mock_rng_next(&rng) >> 32) % MOCK_NWORDS));
        mbuf_puts(b, "]");
    }
    mbuf_printf(b, ",\"total_duration\":%llu,\"load_duration\":%llu,\"prompt_eval_count\":%llu,"
                   "\"prompt_eval_duration\":%llu,\"eval_count\":%llu,\"eval_duration\":%llu}",
                (unsigned long long)r->total_ns, (unsigned long long)r->load_ns,
                (unsigned long long)r->prompt_tokens, (unsigned long long)r->prompt_eval_ns,
                (unsigned long long)r->completion_tokens, (unsigned long long)r->eval_ns);
}

void mock_out_final(struct mbuf *b, const struct mock_resp *r, const char *created_at)
{
    if (r->api == MOCK_API_GENERATE)
        mbuf_printf(b, "{\"model\":\"%s\",\"created_at\":\"%s\",\"response\":\"\"", r->model,
                    created_at);
    else
        mbuf_printf(b, "{\"model\":\"%s\",\"created_at\":\"%s\",\"message\":{\"role\":\"assistant\","
                       "\"content\":\"\"}", r->model, created_at);
    ollama_metrics(b, r);
    mbuf_puts(b, "\n");
}

void mock_out_stream_error(struct mbuf *b, const struct mock_resp *r, const char *msg)
{
    if (is_ollama(r))
        mbuf_printf(b, "{\"error\":\"%s\"}\n", msg);
    else
        mbuf_printf(b, "data: {\"error\": {\"message\": \"%s\", \"type\": \"InternalServerError\", "
                       "\"param\": null, \"code\": 500}}\n\n", msg);
}

void mock_out_body(struct mbuf *b, const struct mock_resp *r, const char *created_at)
{
    struct mock_rng rng;
    rng.s = r->text_seed;
    int chat = r->api == MOCK_API_OAI_CHAT;
    switch (r->api) {
    case MOCK_API_GENERATE:
    case MOCK_API_CHAT:
        mbuf_printf(b, "{\"model\":\"%s\",\"created_at\":\"%s\",", r->model, created_at);
        if (r->api == MOCK_API_CHAT)
            mbuf_puts(b, "\"message\":{\"role\":\"assistant\",");
        if (r->reasoning_tokens) {
            mbuf_puts(b, "\"thinking\":\"");
            mock_out_words(b, &rng, r->reasoning_tokens);
            mbuf_puts(b, "\",");
        }
        mbuf_puts(b, r->api == MOCK_API_GENERATE ? "\"response\":\"" : "\"content\":\"");
        mock_out_words(b, &rng, r->completion_tokens - r->reasoning_tokens);
        mbuf_puts(b, r->api == MOCK_API_GENERATE ? "\"" : "\"}");
        ollama_metrics(b, r);
        break;
    case MOCK_API_OAI_CHAT:
    case MOCK_API_OAI_COMPLETIONS:
        mbuf_printf(b, "{\"id\":\"%s-%llu\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\","
                       "\"system_fingerprint\":\"llmload-mock\",\"choices\":[{\"index\":0,",
                    chat ? "chatcmpl" : "cmpl", (unsigned long long)r->seq,
                    chat ? "chat.completion" : "text_completion", (long long)r->created, r->model);
        if (chat) {
            mbuf_puts(b, "\"message\":{\"role\":\"assistant\",");
            if (r->reasoning_tokens) {
                mbuf_printf(b, "\"%s\":\"", reasoning_key(r));
                mock_out_words(b, &rng, r->reasoning_tokens);
                mbuf_puts(b, "\",");
            }
            mbuf_puts(b, "\"content\":\"");
        } else {
            mbuf_puts(b, "\"text\":\"");
        }
        mock_out_words(b, &rng, r->completion_tokens - (chat ? r->reasoning_tokens : 0));
        mbuf_printf(b, "\"%s,\"logprobs\":null,\"finish_reason\":\"%s\"}],\"usage\":",
                    chat ? "}" : "", finish_reason(r));
        usage_json(b, r);
        timings_json(b, r);
        mbuf_puts(b, "}");
        break;
    }
}

void mock_out_error(struct mbuf *b, int openai, int status, const char *msg)
{
    if (!openai) {
        mbuf_puts(b, "{\"error\":\"");
    } else {
        mbuf_puts(b, "{\"error\":{\"message\":\"");
    }
    for (const char *p = msg; *p; p++) {
        if (*p == '"' || *p == '\\')
            mbuf_put(b, "\\", 1);
        if ((unsigned char)*p >= 0x20)
            mbuf_put(b, p, 1);
    }
    if (!openai) {
        mbuf_puts(b, "\"}");
        return;
    }
    const char *type = status == 400 || status == 413 ? "invalid_request_error"
                     : status == 404 ? "not_found_error"
                     : status == 429 ? "rate_limit_error"
                     : "api_error";
    mbuf_printf(b, "\",\"type\":\"%s\",\"param\":null,\"code\":null}}", type);
}
