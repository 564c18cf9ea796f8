/* `llmload mock` flags: defaults, profiles, parsing and --help. */
#include "mock.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

struct profile {
    const char *name;
    const char *what;
    uint32_t slots;
    uint64_t ttft_base_ns;
    double prefill_rate, decode_rate, batch_slowdown;
};

/* `default` imitates a mid-size model on one GPU (the numbers);
 * `fast` is for demos and tests; `large` a 70B-class model on a shared GPU. */
static const struct profile profiles[] = {
    { "default", "mid-size model on one GPU", 8, 20000000, 4000, 45, 0.05 },
    { "fast", "demos and tests", 8, 1000000, 100000, 1000, 0.05 },
    { "large", "70B-class model", 4, 80000000, 1500, 15, 0.08 },
};

static const char *const fault_names[MOCK_FAULT_COUNT] = {
    "none", "429", "500", "503", "midstream", "close", "stall", "malformed",
};

const char *mock_fault_name(enum mock_fault f)
{
    return (unsigned)f < MOCK_FAULT_COUNT ? fault_names[f] : "unknown";
}

int mock_config_profile(struct mock_config *c, const char *name)
{
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        const struct profile *p = &profiles[i];
        if (strcmp(name, p->name) != 0)
            continue;
        snprintf(c->profile, sizeof c->profile, "%s", p->name);
        c->slots = p->slots;
        c->ttft_base_ns = p->ttft_base_ns;
        c->prefill_rate = p->prefill_rate;
        c->decode_rate = p->decode_rate;
        c->batch_slowdown = p->batch_slowdown;
        return 0;
    }
    return -1;
}

void mock_config_defaults(struct mock_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 8000;
    snprintf(c->models[0], sizeof c->models[0], "llmload-mock");
    c->nmodels = 1;
    (void)mock_config_profile(c, "default");
    c->default_max_tokens = 128;
    c->eos_fraction = 0;
    c->tokens_per_chunk = 1;
    c->retry_after_s = 1;
    c->stall_ns = 10000000000ull;
    c->seed = 1;
    c->truth_path = NULL;
    c->idle_timeout_ns = 5000000000ull;
    c->header_timeout_ns = 10000000000ull;
    c->max_body = 1048576;
    c->verbose = 0;
}

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_listen(struct mock_config *c, const char *v)
{
    const char *colon;
    size_t hlen;
    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':')
            return -1;
        hlen = (size_t)(close - v - 1);
        v++;
        colon = close + 1;
    } else {
        colon = strrchr(v, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - v);
    }
    if (hlen >= sizeof c->host)
        return -1;
    if (hlen == 0) {
        snprintf(c->host, sizeof c->host, "127.0.0.1");
    } else {
        memcpy(c->host, v, hlen);
        c->host[hlen] = 0;
        if (!strcmp(c->host, "localhost"))
            snprintf(c->host, sizeof c->host, "127.0.0.1");
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return -1;
    c->port = (int)port;
    return 0;
}

static int parse_models(struct mock_config *c, const char *v, char *err, size_t cap)
{
    size_t n = 0;
    const char *p = v;
    while (1) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0)
            return fail(err, cap, "--model: empty model name in '%s'", v);
        if (len >= MOCK_MODEL_NAME_MAX)
            return fail(err, cap, "--model: name longer than %d bytes", MOCK_MODEL_NAME_MAX - 1);
        if (n == MOCK_MAX_MODELS)
            return fail(err, cap, "--model: more than %d models", MOCK_MAX_MODELS);
        /* Names are echoed into JSON unescaped, so keep them to printable
         * characters that need no escaping. */
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)p[i];
            if (ch < 0x21 || ch == '"' || ch == '\\' || ch == 0x7f)
                return fail(err, cap, "--model: bad character in model name '%.*s'", (int)len, p);
        }
        memcpy(c->models[n], p, len);
        c->models[n][len] = 0;
        n++;
        if (!e)
            break;
        p = e + 1;
    }
    c->nmodels = n;
    return 0;
}

static int parse_rate(const char *flag, const char *v, double *out, char *err, size_t cap)
{
    if (units_parse_double(v, out) < 0 || *out <= 0 || *out > 1e9)
        return fail(err, cap, "%s: expected a rate in tokens/s above 0, got '%s'", flag, v);
    return 0;
}

static int parse_frac(const char *flag, const char *v, double *out, char *err, size_t cap)
{
    if (units_parse_fraction(v, out) < 0 || *out < 0 || *out > 1)
        return fail(err, cap, "%s: expected a fraction between 0 and 1 (or 0%%..100%%), got '%s'",
                    flag, v);
    return 0;
}

static int parse_u64(const char *flag, const char *v, uint64_t lo, uint64_t hi, uint64_t *out,
                     char *err, size_t cap)
{
    if (units_parse_count(v, out) < 0 || *out < lo || *out > hi)
        return fail(err, cap, "%s: expected a whole number from %llu to %llu, got '%s'", flag,
                    (unsigned long long)lo, (unsigned long long)hi, v);
    return 0;
}

static int parse_dur(const char *flag, const char *v, uint64_t *out, char *err, size_t cap)
{
    if (units_parse_duration(v, out) < 0 || *out > 86400000000000ull)
        return fail(err, cap, "%s: expected a duration such as 20ms or 1.5s, got '%s'", flag, v);
    return 0;
}

int mock_batch_profile_parse(struct mock_config *c, const char *v, char *err, size_t cap)
{
    size_t n = 0;
    const char *p = v;
    for (int item = 1;; item++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char tok[64], *colon;
        uint64_t b;
        double tps;
        if (len == 0 || len >= sizeof tok)
            return fail(err, cap, "--batch-profile: item %d is %s", item, len ? "too long" : "empty");
        memcpy(tok, p, len);
        tok[len] = '\0';
        if (!(colon = strchr(tok, ':')))
            return fail(err, cap, "--batch-profile: item %d '%s' is not BATCH:TOK/S", item, tok);
        *colon = '\0';
        if (units_parse_count(tok, &b) < 0 || b < 1 || b > 1000000)
            return fail(err, cap, "--batch-profile: item %d: batch '%s' is not a whole number from 1 to 1000000",
                        item, tok);
        if (units_parse_double(colon + 1, &tps) < 0 || tps <= 0 || tps > 1e9)
            return fail(err, cap, "--batch-profile: item %d: '%s' is not a rate in tokens/s above 0",
                        item, colon + 1);
        if (n > 0 && b <= c->batch_profile[n - 1].batch)
            return fail(err, cap, "--batch-profile: item %d: batch %llu is not above the one before it",
                        item, (unsigned long long)b);
        if (n == MOCK_MAX_BATCH_POINTS)
            return fail(err, cap, "--batch-profile: more than %d points", MOCK_MAX_BATCH_POINTS);
        c->batch_profile[n].batch = (uint32_t)b;
        c->batch_profile[n].tps = tps;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    c->batch_npoints = n;
    return 0;
}

/* ---- flags ---------------------------------------------------------------- */

enum mock_flag {
    M_LISTEN, M_MODEL, M_IDLE_TIMEOUT, M_HEADER_TIMEOUT, M_MAX_BODY, M_TRUTH, M_VERBOSE, M_WORKERS,
    M_TLS, M_TLS_NO_RESUME, M_TLS_CERT, M_TLS_KEY, M_TLS_CA_OUT, M_TLS_CLIENT_CA,
    M_PROFILE, M_SLOTS, M_TTFT_BASE, M_PREFILL_RATE, M_DECODE_RATE, M_BATCH_SLOWDOWN,
    M_BATCH_PROFILE,
    M_DEFAULT_MAX_TOKENS, M_EOS_FRACTION, M_TOKENS_PER_CHUNK, M_TIMINGS,
    M_REASONING_TOKENS, M_REASONING_FIELD, M_TOOL_CALLS,
    M_RETRY_AFTER, M_STALL, M_SEED,
    M_FAULT,            /* M_FAULT + enum mock_fault: --fault-429 ... */
};

static int mock_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                      char *err, size_t cap);

/* One line a flag. */
static const struct opt mock_opts[] = {
    OPT_SECTION("server"),
    { M_LISTEN, "--listen", { NULL }, "HOST:PORT", "address to listen on; port 0 lets the kernel pick\n"
                                                   "(default 127.0.0.1:8000; IPv6 as [::1]:PORT)" },
    { M_MODEL, "--model", { NULL }, "NAME[,NAME..]", "model names served (default llmload-mock); others 404" },
    { M_IDLE_TIMEOUT, "--idle-timeout", { NULL }, "DUR", "close a keep-alive connection idle this long\n"
                                                         "(default 5s, like uvicorn; 0 = never)" },
    { M_HEADER_TIMEOUT, "--header-timeout", { NULL }, "DUR", "a request header not complete this long after its\n"
                                                             "first byte gets 408 and a close (default 10s, like\n"
                                                             "nginx's client_header_timeout; 0 = never)" },
    { M_MAX_BODY, "--max-body", { NULL }, "BYTES", "larger request bodies get 413 (default 1048576)" },
    { M_TRUTH, "--truth", { NULL }, "FILE", "on exit, FILE holds one JSON line per request with\n"
                                            "its CLOCK_MONOTONIC times in ns (docs/mock.md)" },
    { M_VERBOSE, "--verbose", { "-v" }, NULL, "log connections and requests to stderr" },
    { M_TLS, "--tls", { NULL }, NULL, "serve https with a self-signed certificate made at start\n"
                                      "for 127.0.0.1, ::1 and localhost (see --tls-ca-out)" },
    { M_TLS_CA_OUT, "--tls-ca-out", { NULL }, "FILE", "with --tls: write that certificate (PEM) to FILE before\n"
                                                      "the address line, for a client's --cacert" },
    { M_TLS_CERT, "--tls-cert", { NULL }, "FILE", "serve https with this certificate chain (PEM)" },
    { M_TLS_KEY, "--tls-key", { NULL }, "FILE", "the key of --tls-cert (default: in --tls-cert's FILE)" },
    { M_TLS_NO_RESUME, "--tls-no-resume", { NULL }, NULL, "give no session tickets: every handshake is a full one\n"
                                                          "(a cold-connection benchmark)" },
    { M_TLS_CLIENT_CA, "--tls-client-ca", { NULL }, "FILE", "require a client certificate signed by a CA in FILE\n"
                                                            "(mTLS); a client without one is refused" },
    { M_WORKERS, "--workers", { NULL }, "N", "N processes sharing the port (SO_REUSEPORT), each with\n"
                                           "its own loop and --slots; one --truth file (default 1)" },

    OPT_SECTION("timing model (durations take ns/us/ms/s/m suffixes; a bare number is s)"),
    { M_PROFILE, "--profile", { NULL }, "NAME", "default, fast or large (see profiles below);\n"
                                                "explicit flags override it, whatever their order" },
    { M_SLOTS, "--slots", { NULL }, "N", "concurrent generations (default 8); later requests\n"
                                         "wait in a FIFO queue, like OLLAMA_NUM_PARALLEL" },
    { M_TTFT_BASE, "--ttft-base", { NULL }, "DUR", "fixed delay after a slot is granted (default 20ms)" },
    { M_PREFILL_RATE, "--prefill-rate", { NULL }, "TOK/S", "prompt processing rate (default 4000 tokens/s);\n"
                                                           "TTFT = queue wait + ttft-base + prompt_tokens/prefill-rate" },
    { M_DECODE_RATE, "--decode-rate", { NULL }, "TOK/S", "tokens/s of a stream decoding alone (default 45)" },
    { M_BATCH_SLOWDOWN, "--batch-slowdown", { NULL }, "A", "with b streams holding slots, each decodes at\n"
                                                           "  decode-rate / (1 + A*(b-1))  tokens/s\n"
                                                           "(default 0.05); aggregate throughput grows up to\n"
                                                           "--slots streams and is flat beyond: the knee is at --slots" },
    { M_BATCH_PROFILE, "--batch-profile", { NULL }, "B:TOK/S,...", "aggregate decode tokens/s measured with B streams\n"
                                                                   "(e.g. 1:363,2:279,4:311,8:683, a llama-server with 8\n"
                                                                   "slots); linear between points, flat after the last;\n"
                                                                   "replaces --decode-rate and --batch-slowdown" },

    OPT_SECTION("output"),
    { M_DEFAULT_MAX_TOKENS, "--default-max-tokens", { NULL }, "N", "tokens when the request sets no max_tokens,\n"
                                                                   "max_completion_tokens or options.num_predict (default 128)" },
    { M_EOS_FRACTION, "--eos-fraction", { NULL }, "F", "fraction of requests that stop early with \"stop\"\n"
                                                       "(default 0); ignore_eos:true or min_tokens prevent it" },
    { M_TOKENS_PER_CHUNK, "--tokens-per-chunk", { NULL }, "K", "tokens per streamed event after the first (default 1)" },
    { M_TIMINGS, "--timings", { NULL }, NULL, "llama.cpp's `timings` object (prompt and generation\n"
                                              "times) in the last OpenAI chunk and body" },
    { M_REASONING_TOKENS, "--reasoning-tokens", { NULL }, "N", "the first N tokens of each chat and generate answer\n"
                                                             "are reasoning (at least one token is left for the\n"
                                                             "answer); default 0" },
    { M_REASONING_FIELD, "--reasoning-field", { NULL }, "NAME", "OpenAI delta key of reasoning: reasoning (vLLM,\n"
                                                                "default) or reasoning_content (DeepSeek, SGLang)" },
    { M_TOOL_CALLS, "--tool-calls", { NULL }, NULL, "chat answers are one tool call instead of content\n"
                                                     "(finish_reason tool_calls; Ollama: message.tool_calls)" },
    OPT_NOTE("Prompt tokens are counted as ceil(bytes/4); one word is one token."),

    OPT_SECTION("faults (each F is a fraction of generation requests, 0..1 or N%; default 0;\n"
                "the fractions together must not exceed 1)"),
    { M_FAULT + MOCK_FAULT_429, "--fault-429", { NULL }, "F", "429 with Retry-After before the stream" },
    { M_RETRY_AFTER, "--retry-after", { NULL }, "SECONDS", "Retry-After value for 429 and 503 (default 1)" },
    { M_FAULT + MOCK_FAULT_500, "--fault-500", { NULL }, "F", "500 before the stream" },
    { M_FAULT + MOCK_FAULT_503, "--fault-503", { NULL }, "F", "503 with Retry-After before the stream" },
    { M_FAULT + MOCK_FAULT_MIDSTREAM, "--fault-midstream", { NULL }, "F", "an error event after some tokens, then end of stream" },
    { M_FAULT + MOCK_FAULT_CLOSE, "--fault-close", { NULL }, "F", "close the connection after some tokens (no last chunk)" },
    { M_FAULT + MOCK_FAULT_STALL, "--fault-stall", { NULL }, "F", "pause --stall after some tokens, then continue" },
    { M_STALL, "--stall", { NULL }, "DUR", "length of a stall (default 10s)" },
    { M_FAULT + MOCK_FAULT_MALFORMED, "--fault-malformed", { NULL }, "F", "one event is not valid JSON" },
    { M_SEED, "--seed", { NULL }, "N", "seed of faults, early stops and text (default 1)" },
};

const struct opt_table mock_opt_table = OPT_TABLE(mock_opts, mock_apply);

static void profiles_help(FILE *f)
{
    fprintf(f, "\nprofiles (--profile NAME):\n");
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        const struct profile *p = &profiles[i];
        fprintf(f, "  %-8s %-26s slots %u, ttft-base %g ms, prefill %g tok/s,\n"
                   "           %-26s decode %g tok/s, batch-slowdown %g\n",
                p->name, p->what, p->slots, (double)p->ttft_base_ns / 1e6, p->prefill_rate, "",
                p->decode_rate, p->batch_slowdown);
    }
}

static const struct opt_table *const mock_tables[] = { &mock_opt_table, NULL };

const struct opt_cmd mock_cmd = {
    .name = "mock",
    .summary = "run the built-in streaming LLM simulator",
    .usage = "llmload mock [options]",
    .about = "A streaming LLM server for demos and tests: Ollama (/api/generate, /api/chat)\n"
             "and OpenAI (/v1/chat/completions, /v1/completions) endpoints with a timing\n"
             "model and fault injection.  The first stdout line is the bound URL.\n"
             "SIGTERM or SIGINT stops it cleanly (and writes --truth).",
    .tables = mock_tables,
    .epilog_fn = profiles_help,
};

void mock_config_help(void *file)
{
    opt_help(file, &mock_cmd);
}

/* The parse in two passes: the first applies --profile only, so a profile
 * never overrides an explicit flag, whatever their order. */
struct mock_parse {
    struct mock_config *c;
    int profile_pass;
};

static int mock_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                      char *err, size_t cap)
{
    struct mock_parse *mp = ud;
    struct mock_config *c = mp->c;
    uint64_t u;
    int r = 0;
    if (mp->profile_pass != (o->id == M_PROFILE))
        return 1;
    switch ((enum mock_flag)o->id) {
    case M_PROFILE:
        if (mock_config_profile(c, v) < 0)
            r = fail(err, cap, "--profile: unknown profile '%s' (default, fast, large)", v);
        break;
    case M_LISTEN:
        if (parse_listen(c, v) < 0)
            r = fail(err, cap, "--listen: expected HOST:PORT such as 127.0.0.1:0 or [::1]:8000, got '%s'", v);
        break;
    case M_MODEL: r = parse_models(c, v, err, cap); break;
    case M_VERBOSE: c->verbose = 1; break;
    case M_TLS: c->tls = 1; break;
    case M_TLS_NO_RESUME: c->tls_no_resume = 1; break;
    case M_TLS_CERT: c->tls_cert = v; break;
    case M_TLS_KEY: c->tls_key = v; break;
    case M_TLS_CA_OUT: c->tls_ca_out = v; break;
    case M_TLS_CLIENT_CA: c->tls_client_ca = v; break;
    case M_WORKERS:
        if ((r = parse_u64(flag, v, 1, 256, &u, err, cap)) == 0)
            c->workers = (uint32_t)u;
        break;
    case M_SLOTS:
        if ((r = parse_u64(flag, v, 1, 1000000, &u, err, cap)) == 0)
            c->slots = (uint32_t)u;
        break;
    case M_TTFT_BASE: r = parse_dur(flag, v, &c->ttft_base_ns, err, cap); break;
    case M_PREFILL_RATE: r = parse_rate(flag, v, &c->prefill_rate, err, cap); break;
    case M_DECODE_RATE: r = parse_rate(flag, v, &c->decode_rate, err, cap); break;
    case M_BATCH_SLOWDOWN:
        if (units_parse_double(v, &c->batch_slowdown) < 0 || c->batch_slowdown < 0 ||
            c->batch_slowdown > 1000)
            r = fail(err, cap, "--batch-slowdown: expected a number from 0 to 1000, got '%s'", v);
        break;
    case M_BATCH_PROFILE: r = mock_batch_profile_parse(c, v, err, cap); break;
    case M_DEFAULT_MAX_TOKENS: r = parse_u64(flag, v, 1, MOCK_MAX_TOKENS, &c->default_max_tokens, err, cap); break;
    case M_EOS_FRACTION: r = parse_frac(flag, v, &c->eos_fraction, err, cap); break;
    case M_TOKENS_PER_CHUNK:
        if ((r = parse_u64(flag, v, 1, 1024, &u, err, cap)) == 0)
            c->tokens_per_chunk = (uint32_t)u;
        break;
    case M_TIMINGS: c->timings = 1; break;
    case M_REASONING_TOKENS: r = parse_u64(flag, v, 0, MOCK_MAX_TOKENS, &c->reasoning_tokens, err, cap); break;
    case M_REASONING_FIELD:
        if (strcmp(v, "reasoning") == 0 || strcmp(v, "reasoning_content") == 0)
            c->reasoning_content = v[9] == '_';
        else
            r = fail(err, cap, "--reasoning-field: expected reasoning or reasoning_content, got '%s'", v);
        break;
    case M_TOOL_CALLS: c->tool_calls = 1; break;
    case M_RETRY_AFTER: r = parse_u64(flag, v, 0, 86400, &c->retry_after_s, err, cap); break;
    case M_STALL: r = parse_dur(flag, v, &c->stall_ns, err, cap); break;
    case M_SEED: {
        char *e;
        c->seed = strtoull(v, &e, 10);
        if (!*v || *e || v[0] == '-')
            r = fail(err, cap, "--seed: expected a whole number, got '%s'", v);
        break;
    }
    case M_TRUTH:
        if (!*v)
            r = fail(err, cap, "--truth: empty file name");
        c->truth_path = v;
        break;
    case M_IDLE_TIMEOUT: r = parse_dur(flag, v, &c->idle_timeout_ns, err, cap); break;
    case M_HEADER_TIMEOUT: r = parse_dur(flag, v, &c->header_timeout_ns, err, cap); break;
    case M_MAX_BODY: r = parse_u64(flag, v, 1, 1ull << 30, &c->max_body, err, cap); break;
    case M_FAULT:
    default:
        assert(o->id > M_FAULT && o->id < M_FAULT + MOCK_FAULT_COUNT);
        r = parse_frac(flag, v, &c->fault[o->id - M_FAULT], err, cap);
        break;
    }
    return r < 0 ? -1 : 1;
}

int mock_config_parse(struct mock_config *c, int argc, char **argv, char *err, size_t cap)
{
    mock_config_defaults(c);
    err[0] = 0;
    struct mock_parse mp = { c, 1 };
    void *ud[] = { &mp };
    for (; mp.profile_pass >= 0; mp.profile_pass--) {
        int r = opt_parse(&mock_cmd, ud, argc, argv, 1, NULL, NULL, err, cap);
        if (r != OPT_OK)
            return r;
    }
    double sum = 0;
    for (int k = 1; k < MOCK_FAULT_COUNT; k++)
        sum += c->fault[k];
    if (sum > 1.0 + 1e-9)
        return fail(err, cap, "--fault-*: the fault fractions add up to %.3f, more than 1", sum);
    if (c->tls && c->tls_cert)
        return fail(err, cap, "--tls makes its own certificate: drop --tls-cert, or drop --tls");
    if (c->tls_key && !c->tls_cert)
        return fail(err, cap, "--tls-key needs --tls-cert");
    if (c->tls_ca_out && !c->tls)
        return fail(err, cap, "--tls-ca-out needs --tls (it writes the certificate --tls makes)");
    if (c->tls_no_resume && !c->tls && !c->tls_cert)
        return fail(err, cap, "--tls-no-resume needs --tls or --tls-cert");
    if (c->tls_client_ca && !c->tls && !c->tls_cert)
        return fail(err, cap, "--tls-client-ca needs --tls or --tls-cert");
    if (c->tls_cert)
        c->tls = 1;
    return 0;
}
