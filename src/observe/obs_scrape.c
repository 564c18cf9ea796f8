/* Server /metrics: the text format and the known metrics (obs_scrape.h). */
#include "obs_scrape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* One sample line [p, end).  0, or -1 when it is not one. */
static int parse_line(const char *p, const char *end, struct obs_prom_sample *s)
{
    const char *q = p;
    if (q == end || !name_start(*q))
        return -1;
    while (q < end && name_char(*q))
        q++;
    s->name = p;
    s->name_len = (size_t)(q - p);
    s->labels = "";
    s->labels_len = 0;
    if (q < end && *q == '{') {
        const char *l = ++q;
        int quoted = 0;
        for (; q < end && (quoted || *q != '}'); q++) {
            if (quoted && *q == '\\')
                q++;
            else if (*q == '"')
                quoted = !quoted;
        }
        if (q >= end)
            return -1;
        s->labels = l;
        s->labels_len = (size_t)(q - l);
        q++;
    }
    if (q == end || (*q != ' ' && *q != '\t'))
        return -1;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    char num[64];
    size_t n = 0;
    while (q < end && *q != ' ' && *q != '\t' && n + 1 < sizeof num)
        num[n++] = *q++;
    num[n] = '\0';
    if (n == 0)
        return -1;
    /* strtod reads "NaN", "+Inf" and "-Inf" as the formats spell them */
    char *e;
    s->value = strtod(num, &e);
    return *e ? -1 : 0;     /* a timestamp may follow; it is not needed */
}

size_t obs_prom_parse(const char *text, size_t len, obs_prom_fn fn, void *ud)
{
    size_t bad = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *ce = le > p && le[-1] == '\r' ? le - 1 : le;
        struct obs_prom_sample s;
        while (p < ce && (*p == ' ' || *p == '\t'))
            p++;
        if (p < ce && *p != '#') {
            if (parse_line(p, ce, &s) == 0) {
                if (fn(ud, &s))
                    break;
            } else {
                bad++;
            }
        }
        p = le + 1;
    }
    return bad;
}

int obs_prom_label(const struct obs_prom_sample *s, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = s->labels, *end = s->labels + s->labels_len;
    while (p < end) {
        while (p < end && (*p == ',' || *p == ' '))
            p++;
        const char *k = p;
        while (p < end && *p != '=')
            p++;
        if (p + 1 >= end || p[1] != '"')
            return -1;
        int match = (size_t)(p - k) == nl && !memcmp(k, name, nl);
        p += 2;
        size_t o = 0;
        for (; p < end && *p != '"'; p++) {
            char c = *p;
            if (c == '\\' && p + 1 < end) {
                c = *++p;
                if (c == 'n')
                    c = '\n';
            }
            if (match && o + 1 < cap)
                out[o++] = c;
        }
        p++;
        if (match) {
            out[o] = '\0';
            return 0;
        }
    }
    return -1;
}

const char *obs_srv_kind_name(enum obs_srv_kind k)
{
    static const char *const names[] = { "unknown", "vllm", "llama.cpp", "tgi", "sglang" };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

const char *obs_srv_field_name(enum obs_srv_field f)
{
    static const char *const names[OBS_SF__COUNT] = {
        [OBS_SF_RUNNING] = "requests_running", [OBS_SF_WAITING] = "requests_waiting",
        [OBS_SF_KV_USAGE] = "kv_cache_usage", [OBS_SF_KV_TOKENS] = "kv_cache_tokens",
        [OBS_SF_PREFIX_HIT_RATE] = "prefix_cache_hit_rate",
        [OBS_SF_PROMPT_TOKENS] = "prompt_tokens", [OBS_SF_GEN_TOKENS] = "generation_tokens",
        [OBS_SF_PREFIX_QUERIES] = "prefix_cache_queries",
        [OBS_SF_PREFIX_HITS] = "prefix_cache_hits", [OBS_SF_PREEMPTIONS] = "preemptions",
        [OBS_SF_REQUESTS] = "requests_finished",
    };
    return (unsigned)f < OBS_SF__COUNT ? names[f] : "unknown";
}

/* Each server's name for a field; several names for one field are the
 * same metric across versions (vLLM renamed gpu_cache_usage_perc). */
static const struct known {
    const char *name;
    enum obs_srv_kind kind;
    enum obs_srv_field field;
} known[] = {
    { "vllm:num_requests_running", OBS_SRV_VLLM, OBS_SF_RUNNING },
    { "vllm:num_requests_waiting", OBS_SRV_VLLM, OBS_SF_WAITING },
    { "vllm:kv_cache_usage_perc", OBS_SRV_VLLM, OBS_SF_KV_USAGE },
    { "vllm:gpu_cache_usage_perc", OBS_SRV_VLLM, OBS_SF_KV_USAGE },
    { "vllm:gpu_prefix_cache_hit_rate", OBS_SRV_VLLM, OBS_SF_PREFIX_HIT_RATE },
    { "vllm:prompt_tokens_total", OBS_SRV_VLLM, OBS_SF_PROMPT_TOKENS },
    { "vllm:generation_tokens_total", OBS_SRV_VLLM, OBS_SF_GEN_TOKENS },
    { "vllm:prefix_cache_queries_total", OBS_SRV_VLLM, OBS_SF_PREFIX_QUERIES },
    { "vllm:prefix_cache_hits_total", OBS_SRV_VLLM, OBS_SF_PREFIX_HITS },
    { "vllm:gpu_prefix_cache_queries_total", OBS_SRV_VLLM, OBS_SF_PREFIX_QUERIES },
    { "vllm:gpu_prefix_cache_hits_total", OBS_SRV_VLLM, OBS_SF_PREFIX_HITS },
    { "vllm:num_preemptions_total", OBS_SRV_VLLM, OBS_SF_PREEMPTIONS },
    { "vllm:request_success_total", OBS_SRV_VLLM, OBS_SF_REQUESTS },
    { "llamacpp:requests_processing", OBS_SRV_LLAMACPP, OBS_SF_RUNNING },
    { "llamacpp:requests_deferred", OBS_SRV_LLAMACPP, OBS_SF_WAITING },
    { "llamacpp:kv_cache_usage_ratio", OBS_SRV_LLAMACPP, OBS_SF_KV_USAGE },
    { "llamacpp:kv_cache_tokens", OBS_SRV_LLAMACPP, OBS_SF_KV_TOKENS },
    { "llamacpp:prompt_tokens_total", OBS_SRV_LLAMACPP, OBS_SF_PROMPT_TOKENS },
    { "llamacpp:tokens_predicted_total", OBS_SRV_LLAMACPP, OBS_SF_GEN_TOKENS },
    { "tgi_batch_current_size", OBS_SRV_TGI, OBS_SF_RUNNING },
    { "tgi_queue_size", OBS_SRV_TGI, OBS_SF_WAITING },
    { "tgi_request_input_length_sum", OBS_SRV_TGI, OBS_SF_PROMPT_TOKENS },
    { "tgi_request_generated_tokens_sum", OBS_SRV_TGI, OBS_SF_GEN_TOKENS },
    { "tgi_request_success", OBS_SRV_TGI, OBS_SF_REQUESTS },
    { "sglang:num_running_reqs", OBS_SRV_SGLANG, OBS_SF_RUNNING },
    { "sglang:num_queue_reqs", OBS_SRV_SGLANG, OBS_SF_WAITING },
    { "sglang:token_usage", OBS_SRV_SGLANG, OBS_SF_KV_USAGE },
    { "sglang:num_used_tokens", OBS_SRV_SGLANG, OBS_SF_KV_TOKENS },
    { "sglang:cache_hit_rate", OBS_SRV_SGLANG, OBS_SF_PREFIX_HIT_RATE },
    { "sglang:prompt_tokens_total", OBS_SRV_SGLANG, OBS_SF_PROMPT_TOKENS },
    { "sglang:generation_tokens_total", OBS_SRV_SGLANG, OBS_SF_GEN_TOKENS },
};

/* Ratios are kept at their largest; everything else is added up. */
static int is_ratio(enum obs_srv_field f)
{
    return f == OBS_SF_KV_USAGE || f == OBS_SF_PREFIX_HIT_RATE;
}

struct parse_ctx {
    struct obs_srv_metrics *out;
    obs_prom_fn other;
    void *ud;
};

static int on_sample(void *ud, const struct obs_prom_sample *s)
{
    struct parse_ctx *x = ud;
    struct obs_srv_metrics *m = x->out;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const struct known *k = &known[i];
        if (strlen(k->name) != s->name_len || memcmp(k->name, s->name, s->name_len))
            continue;
        if (m->kind == OBS_SRV_UNKNOWN)
            m->kind = k->kind;
        double *v = &m->v[k->field];
        if (isnan(s->value))
            ;
        else if (isnan(*v))
            *v = s->value;
        else if (is_ratio(k->field))
            *v = s->value > *v ? s->value : *v;
        else
            *v += s->value;
        m->known++;
        return 0;
    }
    m->other++;
    return x->other ? x->other(x->ud, s) : 0;
}

void obs_srv_parse(const char *text, size_t len, struct obs_srv_metrics *out, obs_prom_fn other,
                   void *ud)
{
    struct parse_ctx x = { out, other, ud };
    memset(out, 0, sizeof *out);
    for (int f = 0; f < OBS_SF__COUNT; f++)
        out->v[f] = NAN;
    out->malformed = obs_prom_parse(text, len, on_sample, &x);
}

void obs_counter_add(struct obs_counter_delta *d, double v)
{
    if (isnan(v))
        return;
    if (!d->seen) {
        d->first = d->last = v;
        d->grown = 0;
        d->seen = 1;
        return;
    }
    d->grown += v >= d->last ? v - d->last : v;
    d->last = v;
}
