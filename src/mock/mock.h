#ifndef LLMLOAD_MOCK_H
#define LLMLOAD_MOCK_H
/* The built-in simulator (`llmload mock`): its settings, the timing model
 * and the per-request plan, and the one entry point of the server.  The
 * server's own modules share mock_server.h; this header holds what the CLI
 * needs and the parts that are pure functions, so unit tests can check the
 * model without sockets. */
#include <stddef.h>
#include <stdint.h>

#include "opt.h"

#define MOCK_MAX_MODELS 16
#define MOCK_MODEL_NAME_MAX 128
/* A request may ask for at most this many tokens; more is a 400, so a typo
 * cannot make one non-streamed body gigabytes long. */
#define MOCK_MAX_TOKENS 1000000u
/* Points of a --batch-profile at most. */
#define MOCK_MAX_BATCH_POINTS 32

/* Fault kinds, in the order a request's random draw walks them.  FAULT_NONE
 * is 0 so a zeroed plan means "no fault". */
enum mock_fault {
    MOCK_FAULT_NONE = 0,
    MOCK_FAULT_429,
    MOCK_FAULT_500,
    MOCK_FAULT_503,
    MOCK_FAULT_MIDSTREAM,
    MOCK_FAULT_CLOSE,
    MOCK_FAULT_STALL,
    MOCK_FAULT_MALFORMED,
    MOCK_FAULT_COUNT
};

/* The wire API of a generation request. */
enum mock_api {
    MOCK_API_GENERATE,          /* Ollama /api/generate */
    MOCK_API_CHAT,              /* Ollama /api/chat */
    MOCK_API_OAI_CHAT,          /* /v1/chat/completions */
    MOCK_API_OAI_COMPLETIONS,   /* /v1/completions */
};

static inline int mock_api_is_openai(enum mock_api a)
{
    return a == MOCK_API_OAI_CHAT || a == MOCK_API_OAI_COMPLETIONS;
}

/* One point of a --batch-profile: the aggregate decode rate of `batch`
 * streams holding slots, as measured on a real server. */
struct mock_batch_point {
    uint32_t batch;
    double tps;                 /* tokens/s, all streams together */
};

struct mock_config {
    char host[64];              /* numeric IPv4/IPv6 address */
    int port;                   /* 0: the kernel picks one */
    char models[MOCK_MAX_MODELS][MOCK_MODEL_NAME_MAX];
    size_t nmodels;
    char profile[32];
    /* timing model */
    uint32_t slots;             /* concurrent generations */
    uint64_t ttft_base_ns;      /* fixed overhead once a slot is granted */
    double prefill_rate;        /* prompt tokens/s */
    double decode_rate;         /* tokens/s of one stream when it is alone */
    double batch_slowdown;      /* A in rate/(1 + A*(b-1)) */
    /* --batch-profile, batches increasing; when batch_npoints > 0 it
     * replaces decode_rate and batch_slowdown. */
    struct mock_batch_point batch_profile[MOCK_MAX_BATCH_POINTS];
    size_t batch_npoints;
    /* output */
    uint64_t default_max_tokens;
    double eos_fraction;        /* fraction of requests that stop early */
    uint32_t tokens_per_chunk;
    int timings;                /* llama.cpp `timings` in OpenAI replies */
    uint64_t reasoning_tokens;  /* the first this many tokens of an answer are reasoning */
    int reasoning_content;      /* OpenAI key "reasoning_content", else "reasoning" */
    int tool_calls;             /* chat answers are a tool call */
    /* faults: fraction of generation requests, indexed by enum mock_fault */
    double fault[MOCK_FAULT_COUNT];
    uint64_t retry_after_s;
    uint64_t stall_ns;
    uint64_t seed;
    /* server */
    const char *truth_path;     /* NULL: no truth file */
    uint64_t idle_timeout_ns;   /* 0: never close idle connections */
    uint64_t header_timeout_ns; /* a request header must be complete this long after
                                   its first byte; 0: no limit */
    uint64_t max_body;          /* bytes */
    int verbose;
    /* TLS (docs/mock.md): --tls makes a self-signed certificate at start
     * and writes it to tls_ca_out; tls_cert/tls_key serve a given one;
     * tls_client_ca asks clients for a certificate it signed (mTLS). */
    int tls;
    int tls_no_resume;          /* no tickets, no session cache: every handshake is full */
    const char *tls_cert, *tls_key, *tls_ca_out, *tls_client_ca;
    /* --workers N: N processes share the port (SO_REUSEPORT), each with its
     * own loop and slots (mock_workers_run).  A worker has worker_fd > 0:
     * it sets SO_REUSEPORT, writes one byte there once it listens instead
     * of printing the URL, and writes its truth file where it is told. */
    uint32_t workers;
    int worker_fd;
};

/* Fills c with the `default` profile and the server defaults. */
void mock_config_defaults(struct mock_config *c);

/* Applies the named profile's timing values to c.  Returns 0, or -1 for an
 * unknown name. */
int mock_config_profile(struct mock_config *c, const char *name);

/* Parses the `llmload mock` flags (argv[0] is the subcommand name) into c,
 * which this function first sets to the defaults.  --profile is applied
 * before every other flag, whatever their order, so explicit flags win.
 * Returns 0 (OPT_OK) to run, 1 (OPT_HELP) when --help was asked (the help
 * is not printed), 2 (OPT_VERSION) for --version, or -1 (OPT_ERROR) with a
 * one-line message naming the flag in err. */
int mock_config_parse(struct mock_config *c, int argc, char **argv, char *err, size_t errcap);

/* Writes the --help text to f (generated from mock_cmd). */
void mock_config_help(void *file);

/* The `llmload mock` flags in the option format (opt.h), and the command
 * that accepts them: its --help words and its one table. */
extern const struct opt_table mock_opt_table;
extern const struct opt_cmd mock_cmd;

/* Name of a fault kind as used in /metrics labels and the truth file
 * ("429", "midstream", ...); "none" for MOCK_FAULT_NONE. */
const char *mock_fault_name(enum mock_fault f);

/* --- random numbers ------------------------------------------------------ */

/* splitmix64: small, fast, and good enough to pick words and faults.  Each
 * request gets its own generator derived from (--seed, request number), so
 * its plan does not depend on what other connections are doing. */
struct mock_rng { uint64_t s; };

void mock_rng_seed(struct mock_rng *r, uint64_t seed, uint64_t stream);
uint64_t mock_rng_next(struct mock_rng *r);
/* Uniform in [0, 1). */
double mock_rng_unit(struct mock_rng *r);
/* Uniform in [lo, hi]; lo when hi <= lo. */
uint64_t mock_rng_range(struct mock_rng *r, uint64_t lo, uint64_t hi);

/* --- timing model -------------------------------------------------------- */

/* The simulator's approximation of a prompt's length: ceil(bytes / 4). */
uint64_t mock_prompt_tokens(uint64_t bytes);

/* Time from slot grant to the first token: ttft_base + prompt/prefill_rate. */
uint64_t mock_ttft_ns(const struct mock_config *c, uint64_t prompt_tokens);

/* Time for one token when `batch` streams hold a slot (batch >= 1 counts the
 * caller): 1 / (decode_rate / (1 + A*(batch-1))) seconds, in ns, at least 1.
 * With a --batch-profile: batch / aggregate(batch) seconds, the aggregate
 * read off the profile (mock_batch_tps). */
uint64_t mock_token_interval_ns(const struct mock_config *c, uint32_t batch);

/* The aggregate decode rate (tokens/s) of `batch` streams under the
 * --batch-profile: linear between its points; below the first, each stream
 * decodes at the first point's per-stream rate; past the last, the last
 * aggregate is shared (a saturated device).  0 without a profile. */
double mock_batch_tps(const struct mock_config *c, uint32_t batch);

/* Parses a --batch-profile value "B:TOK/S,B:TOK/S,..." into c.  0, or -1
 * with a one-line err naming the bad item. */
int mock_batch_profile_parse(struct mock_config *c, const char *v, char *err, size_t cap);

/* What one generation request will do, decided when it arrives. */
struct mock_plan {
    uint64_t tokens;            /* completion tokens to generate */
    int stop;                   /* 1: ends with "stop" (EOS), 0: "length" */
    enum mock_fault fault;
    uint64_t fault_at;          /* mid-stream faults: after this many tokens */
    uint64_t text_seed;         /* seeds the words of the text */
};

/* The reasoning tokens of a request that generates `tokens` tokens on api:
 * --reasoning-tokens, leaving at least one for the answer; 0 on
 * /v1/completions, which has no reasoning field. */
uint64_t mock_reasoning_tokens(const struct mock_config *c, enum mock_api api, uint64_t tokens);

/* Plans request number seq asking for max_tokens (>= 1).  min_tokens and
 * ignore_eos forbid early stops as vLLM does.  The same (config, seq,
 * arguments) always give the same plan. */
void mock_plan_request(const struct mock_config *c, uint64_t seq, uint64_t max_tokens,
                       uint64_t min_tokens, int ignore_eos, struct mock_plan *p);

/* --- text ---------------------------------------------------------------- */

/* The built-in word list: one word with its leading space is one token. */
#define MOCK_NWORDS 256
const char *mock_word(uint32_t idx, size_t *len);

/* --- the server ---------------------------------------------------------- */

/* Runs the simulator until SIGTERM/SIGINT.  Prints the bound URL as the first
 * stdout line.  Returns 0 after a clean stop, or a negative libuv/errno code
 * after printing a one-line reason to stderr. */
int mock_server_run(const struct mock_config *c);

/* --workers N (c->workers > 1): binds the port, starts N workers on it,
 * prints the URL once all listen, passes SIGTERM and SIGINT on, and at
 * the end joins the workers' truth files into c->truth_path (in worker
 * order; each line as one worker wrote it).  0, or a negative errno. */
int mock_workers_run(const struct mock_config *c);

#endif
