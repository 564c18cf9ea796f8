#ifndef LLMLOAD_RESULT_H
#define LLMLOAD_RESULT_H
/* What a run measured: one record per request while it is live, and the
 * bounded aggregates (histograms, counters) that outlive it.
 *
 * Definitions of every metric are in docs/metrics.md; this file only holds
 * them.  All times are uv_hrtime() nanoseconds; offsets are relative to the
 * run's start. */
#include <stdint.h>
#include <stddef.h>
#include "hist.h"
#include "slo.h"
#include "sample.h"
#include "srvclock.h"

/* Errors are counted by class: one class per way a request fails, so a
 * report can say why requests failed, not only how many. */
enum err_class {
    ERR_NONE = 0,
    ERR_CONNECT,          /* connect refused/unreachable/DNS */
    ERR_PROXY,            /* the proxy refused CONNECT, or did not answer it as HTTP */
    ERR_PROXY_AUTH,       /* the proxy wants (other) credentials: 407 */
    ERR_TLS_HANDSHAKE,    /* TLS failed: an alert, a protocol error, a close mid-handshake */
    ERR_TLS_VERIFY,       /* the server's certificate was refused (expired, wrong host, unknown CA) */
    ERR_WRITE,            /* writing the request failed */
    ERR_READ,             /* read error (ECONNRESET ...) */
    ERR_CLOSED,           /* server closed before the response was complete */
    ERR_STATUS,           /* HTTP status other than 2xx (and 429) */
    ERR_RATE_LIMITED,     /* HTTP 429: the server limits this client's rate */
    ERR_STREAM,           /* error event inside a 200 stream */
    ERR_PROTOCOL,         /* malformed HTTP, framing or JSON */
    ERR_EMPTY,            /* a 2xx response that carried no generated text */
    ERR_TRUNCATED,        /* the HTTP message ended, the stream's end marker never came */
    ERR_OVERLONG,         /* stopped: far more content events than max_tokens asked for */
    ERR_TIMEOUT_CONNECT,
    ERR_TIMEOUT_TTFT,
    ERR_TIMEOUT_IDLE,
    ERR_TIMEOUT_TOTAL,
    ERR_ABORTED,          /* cut off by a second Ctrl-C */
    ERR__COUNT
};
const char *err_class_name(enum err_class c);   /* "timeout_ttft" ... */

/* How much error text a request keeps.  Server text is arbitrary and may be
 * a whole HTML page: a record keeps a bounded, readable sample of it.  The
 * quoted parts are cut below RESULT_ERRMSG_LEN so the prefix that names
 * the failure ("HTTP 503: ", "malformed JSON event: ") always fits. */
#define RESULT_ERRMSG_LEN     160   /* req_record.errmsg, NUL included */
#define RESULT_ERR_SAMPLE     RESULT_ERRMSG_LEN  /* run_stats.err_sample, per class */
#define RESULT_STREAM_ERR_MAX 150   /* bytes of an in-stream error event's text */
#define RESULT_STATUS_BODY_MAX 120  /* bytes of a non-2xx body after "HTTP 503: " */
#define RESULT_EVENT_QUOTE_MAX 60   /* bytes of a malformed event quoted */

/* "20250131T123456Z-1a2b3c4d": the UTC start second and 32 random bits,
 * so that runs appended to one CSV can be told apart. */
#define RESULT_RUN_ID_LEN 32

/* What a server's numbers are believed up to (docs/metrics.md): past it
 * a count or duration is clamped and its request flagged `implausible`,
 * so no sum can wrap.  Output counts are also bounded by the request's
 * max_tokens times RESULT_TOKENS_PER_MAX. */
#define RESULT_TOKENS_MAX    (INT64_C(1) << 40)
#define RESULT_TOKENS_PER_MAX 100
#define RESULT_DURATION_MAX  (INT64_C(1) << 46)   /* ns: about 19.5 hours */

/* Where a request's output token count came from (docs/metrics.md). */
enum tok_source { TOK_NONE = 0, TOK_SERVER, TOK_TOKENIZER, TOK_CHUNKS };
const char *tok_source_name(enum tok_source s);

/* One request, filled in by the engine as its bytes arrive. */
struct req_record {
    uint64_t index;             /* 0-based, in issue order */
    int warmup;                 /* kept out of the statistics */
    uint64_t sched_ns;          /* when the schedule wanted it sent (offset) */
    uint64_t start_ns;          /* first byte written (offset) */
    uint64_t byte_ns;           /* first response byte read (offset), 0 none */
    int64_t date_s;             /* the response's Date header (Unix s), 0 none */
    /* The connection this request opened (all 0 when it reused one):
     * TCP connect and TLS handshake durations, and whether the handshake
     * resumed an earlier session. */
    int new_conn;
    uint64_t connect_ns, tls_ns;
    int tls_resumed;
    uint64_t first_ns;          /* first content event of any kind read (offset), 0 none */
    uint64_t t_first_reasoning; /* first reasoning event read (offset), 0 none */
    uint64_t t_first_output;    /* first answer event read: content or a tool call, not
                                   reasoning (offset), 0 none; first_ns when no reasoning */
    uint64_t itl_max_ns;        /* longest gap between two content events, 0 with < 2 */
    uint64_t last_ns;           /* last content event read (offset) */
    uint64_t end_ns;            /* response complete or failed (offset) */
    int status;                 /* HTTP status, 0 if none */
    enum err_class err;
    char errmsg[RESULT_ERRMSG_LEN];
    int retried;                /* re-sent once on a fresh connection */
    int implausible;            /* a server count or duration was past belief: clamped */
    int context_truncated;      /* the server said it cut the prompt to its context */
    uint64_t events;            /* content events, of every kind */
    uint64_t reasoning_events;  /* ... of them reasoning (reasoning_content, reasoning, thinking) */
    uint64_t tool_events;       /* ... of them pieces of tool calls */
    uint64_t tool_calls;        /* tool calls begun */
    int64_t out_tokens;         /* final count, see tok_source */
    int64_t reasoning_tokens;   /* of out_tokens, the reasoning ones: the server's count,
                                   else reasoning events (reasoning_src); -1 unknown */
    enum tok_source reasoning_src;
    int64_t server_reasoning_tokens;  /* usage.completion_tokens_details.reasoning_tokens, -1 */
    enum tok_source tok_src;
    int64_t server_tokens;      /* server's count, -1 if none */
    int64_t local_tokens;       /* tokenizer's count, -1 if none */
    int64_t in_tokens;          /* prompt tokens (server's or local), -1 */
    /* Server-side timings as the server reported them, whichever server
     * (api.h, struct api_event); -1 when it did not. */
    int64_t eval_count;         /* tokens generated within eval_duration_ns (Ollama
                                   eval_count, llama.cpp timings.predicted_n) */
    int64_t eval_duration_ns;
    int64_t prompt_eval_count;  /* prompt tokens evaluated, not from a cache */
    int64_t prompt_eval_duration_ns;
    int64_t cached_tokens;      /* prompt tokens served from a cache (llama.cpp cache_n) */
    int64_t total_duration_ns;  /* Ollama total_duration, load_duration */
    int64_t load_duration_ns;
    /* What was asked (the engine fills these in as it builds the request). */
    int64_t prompt_chars;       /* characters of the prompt or messages and system, -1 unknown */
    int64_t max_tokens;         /* max_tokens as sent, -1 none */
    int64_t exact_tokens;       /* output length asked for exactly (--output-tokens:
                                   min = max, ignore_eos), -1 none */
    const char *run_id;         /* the run's id (run_stats.run_id), for the per-request outputs */
    /* Event times as microsecond deltas from start_ns (first) and from the
     * previous event (rest): 4 bytes an event.  Owned by the engine.  At
     * most RESULT_EV_CHUNK are held: a longer response hands the held
     * ones on (the raw writer writes them) and req_record_spill moves
     * them out, so a request's memory does not grow with its length.
     * ev_spilled counts the events moved out, itl_spilled holds their
     * ITL samples (made on first use, kept with ev_us), and spill_head,
     * spill_tail are where the raw writer put them (0 none). */
    uint32_t *ev_us; size_t ev_n, ev_cap;
    uint64_t ev_spilled;
    struct hist *itl_spilled;
    uint64_t spill_head, spill_tail;
};

#define RESULT_EV_CHUNK 8192   /* event times a request holds at most */

/* Moves r's held event times out, once its caller has passed them on:
 * their ITL samples go to r->itl_spilled, ev_spilled grows by ev_n and
 * ev_n becomes 0.  0, or -1 when the histogram cannot be made. */
int req_record_spill(struct req_record *r);
/* Clears r for its next request, keeping its buffers (ev_us, the emptied
 * itl_spilled); every count and server number becomes -1 (unknown). */
void req_record_reset(struct req_record *r);

/* Aggregates of a run.  Bounded memory whatever its length. */
struct run_stats {
    uint64_t requests;          /* finished (ok + failed), warm-up excluded */
    uint64_t ok, failed;
    uint64_t retries;           /* reused-connection retries */
    uint64_t implausible;       /* requests whose server numbers were clamped */
    /* Open loop (docs/metrics.md): arrivals = sent + unsent, late <= sent. */
    uint64_t late;              /* sent arrivals that waited for the cap */
    uint64_t arrivals;          /* arrivals the schedule made, measured phase */
    uint64_t unsent;            /* arrivals still waiting when the run ended */
    uint64_t arrival_last_ns;   /* the last arrival's scheduled offset */
    uint64_t sent_last_ns;      /* the last measured request's start offset */
    uint64_t warmup_requests;
    uint64_t output_tokens, input_tokens;
    uint64_t tok_src_count[4];  /* requests per tok_source */
    uint64_t events;            /* content events */
    uint64_t errors[ERR__COUNT];
    char err_sample[ERR__COUNT][RESULT_ERR_SAMPLE];
    struct hist *ttft, *itl, *tpot, *e2e;   /* ns */
    struct hist *ttfb;                      /* ns: first response byte, successful requests */
    /* Connections opened by measured requests (docs/metrics.md,
     * "Connections"): TCP connect and TLS handshake times. */
    uint64_t conns_opened, tls_handshakes, tls_resumed;
    struct hist *connect, *tls_handshake;   /* ns */
    struct hist *queue;                     /* ns: actual - scheduled start */
    struct hist *ttft_sched, *e2e_sched;    /* ns, measured from the schedule */
    struct hist *request_tps;               /* milli-tokens/s per request */
    struct hist *tokens_per_event;          /* milli-tokens per content event */
    int64_t ollama_eval_count, ollama_eval_duration_ns;  /* sums, for eval rate */
    /* The server's own timings of successful requests that reported them
     * (docs/metrics.md, "Server timings"), whichever server sent them. */
    struct hist *srv_prefill;               /* ns: prompt evaluation */
    struct hist *srv_decode;                /* ns per token: eval duration / eval count */
    struct hist *srv_load;                  /* ns: model load */
    struct hist *srv_cached;                /* tokens of the prompt served from a cache */
    struct hist *ttft_minus_prefill;        /* ns: client TTFT - server prefill */
    struct hist *ttft_server, *ttft_rest;   /* ns: TTFT split by the server's clock */
    /* Reasoning and tool calls (docs/metrics.md), successful requests. */
    struct hist *ttft_reasoning, *ttft_output;   /* ns: to the first reasoning / answer event */
    uint64_t reasoning_tokens;              /* sum of reasoning_tokens */
    uint64_t reasoning_requests;            /* requests with reasoning tokens */
    uint64_t reasoning_src_count[4];        /* requests with reasoning, per tok_source */
    uint64_t tool_call_requests, tool_calls;  /* requests that called tools; calls */
    /* What was sent. */
    struct hist *prompt_tokens;             /* tokens per successful request (in_tokens) */
    struct hist *prompt_chars;              /* characters per request sent */
    struct hist *max_tokens;                /* max_tokens per request sent */
    uint64_t max_tokens_unset;              /* requests sent without a limit */
    /* Output counts: the server's against the local tokenizer's, and
     * replies shorter than asked. */
    uint64_t tok_compared, tok_differ;      /* successful requests with both counts; differing */
    double tok_diff_sum, tok_diff_max;      /* |local - server| / server, summed; largest */
    uint64_t short_outputs;                 /* asked for exactly N tokens, got fewer */
    uint64_t context_truncated;             /* the server cut the prompt to its context */
    uint64_t start_ns, end_ns;  /* measured window (hrtime), warm-up excluded */
    int64_t t0_wall_ns;         /* wall clock (Unix ns) when the measured window
                                   began (0: not yet), so that runs of several
                                   processes or machines can be laid on one time line */
    int64_t start_wall_ns;      /* wall clock (Unix ns) at run_stats_init; the
                                   engine may restamp it at the real start.  Only
                                   for the report's timestamp, never for timing. */
    /* Self-check: the client's own event loop. */
    double loop_busy_frac;      /* 1 - idle/elapsed */
    uint64_t loop_lag_max_ns;   /* worst timer drift */
    uint64_t loop_lag_p99_ns;
    int rx_kernel;              /* events timed by kernel receive stamps */
    uint64_t reads, reads_stamped;   /* socket reads with data; those the kernel stamped */
    struct req_samples samples; /* a bounded reservoir of measured requests (sample.h) */
    struct srv_clock server_clock;  /* the offset to the server's clock, from its Date
                                       headers and the measured requests (srvclock.h) */
    int interrupted;
    char stop_reason[64];       /* "completed", "duration", "interrupted", "error-rate" */
    char run_id[RESULT_RUN_ID_LEN];   /* drawn by run_stats_init */
    /* Per-request service levels (slo.h): the run's limits (engine_run
     * copies the config's) and what they judged.  slo.n == 0: none. */
    struct slo_spec slo;
    struct slo_tally slo_tally;
};

/* Numbers of one request, as docs/metrics.md defines them; -1 when the
 * request has none (no first token, or the server did not report it).
 * TTFT minus the server's prefill is what the server's clock did not see:
 * queueing, load, the first token's decode and the network; it is -1 too
 * when negative (the two clocks disagree). */
int64_t req_ttft_ns(const struct req_record *r);
int64_t req_ttft_reasoning_ns(const struct req_record *r);
int64_t req_ttft_output_ns(const struct req_record *r);
/* Output tokens that were not reasoning: out_tokens - reasoning_tokens. */
int64_t req_answer_tokens(const struct req_record *r);
/* Chooses reasoning_tokens and reasoning_src once the request is done:
 * the server's count, else the reasoning events. */
void req_record_reasoning(struct req_record *r);
/* TTFT split by the server's own clock: its prefill plus its load time
 * (Ollama counts its scheduler's wait in load), and the rest of TTFT
 * (the network, queueing the server's clock did not see, the client);
 * -1 without a server prefill, and the rest -1 when negative. */
int64_t req_ttft_server_ns(const struct req_record *r);
int64_t req_ttft_rest_ns(const struct req_record *r);
int64_t req_ttfb_ns(const struct req_record *r);
int64_t req_decode_per_token_ns(const struct req_record *r);
/* (E2E - TTFT) / (output tokens - 1), rounded; -1 with one token or none,
 * or no first token. */
int64_t req_tpot_ns(const struct req_record *r);
int64_t req_ttft_minus_prefill_ns(const struct req_record *r);

/* Zeroes s, creates its histograms, stamps start_wall_ns and draws run_id.  -1 on
 * allocation failure (s is then freed again: run_stats_free is safe). */
int run_stats_init(struct run_stats *s);
void run_stats_free(struct run_stats *s);      /* frees the histograms only */
/* Adds one finished request to the aggregates, as docs/metrics.md defines:
 * a warm-up record only bumps warmup_requests; a failed one (err != ERR_NONE)
 * counts into failed and errors[err] and keeps the first message per class;
 * latencies, tokens and token sources come from successful requests only. */
void run_stats_add(struct run_stats *s, const struct req_record *r);
/* Measured wall time (end_ns - start_ns) in seconds; 0 before the end. */
double run_stats_wall_s(const struct run_stats *s);
/* Open loop: the rate the schedule offered (arrivals / the last arrival's
 * scheduled time) and the rate achieved (requests sent / the time the last
 * one was sent), requests/s, both from the start of the measured phase.
 * 0, or -1 with both NaN when the run made no arrivals (a closed loop). */
int run_stats_rates(const struct run_stats *s, double *offered, double *achieved);

/* Merging runs: the workers of one run, the shards of a distributed one.
 * Exact: counters add, histograms add their counts (so a percentile of the
 * merge is the percentile of the union of the samples), extremes take the
 * extreme, and the measured window is the union of the windows on the wall
 * clock.  The per-request samples merge into a uniform sample of the
 * union (req_samples_merge).  The self-check keeps the worst process's numbers.  The first
 * error sample of each class is kept; stop_reason is the first that is not
 * "completed"; run_id is dst's.  -1 when the histograms' layouts differ. */
int run_stats_merge(struct run_stats *dst, const struct run_stats *src);

/* The histograms of a run by name, in a fixed order ("ttft_ns", "itl_ns"
 * ..., docs/schema.md): the result document's "histograms".  NULL past
 * the last. */
const char *run_stats_hist_name(size_t i);
struct hist *run_stats_hist(const struct run_stats *s, size_t i);

/* Every counter of s that the summary does not keep exactly (sums,
 * extremes, the window), for the result document's "counters" object
 * (docs/schema.md); with the "histograms" it is all of s.  NULL on out of
 * memory. */
struct cJSON;
struct cJSON *run_stats_counters_json(const struct run_stats *s);
/* s (run_stats_init()ed) from a document's "counters" and "histograms":
 * the run as it was, up to the hrtime origin (start_ns and end_ns are put
 * on the wall clock).  0, or -1 with err naming the first bad key. */
int run_stats_from_json(struct run_stats *s, const struct cJSON *counters,
                        const struct cJSON *histograms, char *err, size_t errcap);

/* Copies src into dst (cap >= 1, always terminated) as valid UTF-8 with no
 * control characters: invalid bytes become '?', controls a space, and a
 * character cut by the cap is dropped.  Server error text is arbitrary
 * bytes; outputs must stay valid JSON and readable.  Whatever it shows
 * of a registered secret (secret.h) becomes "***".  dst may equal src.
 * Returns the length. */
size_t result_text_clean(char *dst, size_t cap, const char *src);

/* Highest values the histograms keep (above: clamped, counted saturated). */
#define RESULT_HIST_NS_MAX    3600000000000ull   /* 1 hour in ns */
#define RESULT_HIST_MILLI_MAX 1000000000000ull   /* 1e9 tokens/s or tokens/event, in milli */
#define RESULT_HIST_COUNT_MAX 100000000ull       /* 1e8 tokens or characters */

/* Token counts that differ by more than this fraction get a warning. */
#define RESULT_TOKEN_DIFF_WARN 0.05

#endif
