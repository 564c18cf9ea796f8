/* The run flags (shared by run, sweep and compare), parsed into struct
 * run_cli, and the built-in simulator child.  The command is cmd_run.c. */
#include "cli_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gate.h"
#include "fileio.h"
#include "probe.h"
#include "render.h"
#include "secret.h"
#include "target.h"
#include "units.h"

#define MOCK_MODEL "llmload-mock"


/* The run flags: one line a flag.  sweep and compare accept them too. */
enum run_flag {
    O_URL, O_API, O_MODEL, O_MAXTOK, O_TEMP, O_SEED, O_SSEED, O_NOSTREAM, O_TIMESTAMPS, O_MOCKARG,
    O_CONC, O_REQS, O_DUR, O_WARMUP, O_RATE, O_ARRIVAL, O_BURST, O_RAMP, O_STOPERR,
    O_CTO, O_TTFTTO, O_IDLETO, O_TO, O_GRACE, O_JSON, O_CSV, O_RAW, O_HTML, O_PLOTS, O_QUIET,
    O_OVERLONG, O_SLO, O_GOODPUT, O_PORT, O_PER_THREAD,
};

static int run_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                     char *err, size_t cap);

static const struct opt run_opts[] = {
    OPT_SECTION("server and requests"),
    { O_URL, "--url", { "--host", "--base-url" }, "URL",
      "server: base URL (http://host:8000/v1, https://host/v1, http://host:11434)\n"
      "or a full endpoint URL; without it, the built-in simulator is started on a free\n"
      "loopback port" },
    { O_PORT, "--port", { NULL }, "PORT",
      "the port of a --url given without one (--host H --port P, as vllm bench\n"
      "serve takes them); alone: http://127.0.0.1:PORT" },
    { O_API, "--api", { NULL }, "KIND",
      "auto (default), ollama-generate, ollama-chat, openai-chat,\n"
      "openai-completions" },
    { O_MODEL, "--model", { "-m" }, "NAME", "model name (required, except for the built-in simulator)" },
    { O_MAXTOK, "--max-tokens", { "--tokens" }, "N", "maximum output tokens per request (default 128)" },
    { O_OVERLONG, "--overlong-factor", { NULL }, "F",
      "stop a response with more than F x max_tokens content events and count\n"
      "it as overlong (default 4; 0: never)" },
    { O_TEMP, "--temperature", { NULL }, "T", "sampling temperature (default: the server's)" },
    { O_SEED, "--seed", { NULL }, "N",
      "seed of the arrival schedule and the workload (nonces, prompt choice,\n"
      "lengths); default: a fresh one each run, printed and saved so that\n"
      "--seed repeats the run" },
    { O_SSEED, "--sampling-seed", { NULL }, "N", "sent to the server as its sampling seed (default: none)" },
    { O_NOSTREAM, "--no-stream", { NULL }, NULL,
      "non-streamed requests: E2E, status, tokens and the server's own\n"
      "timings; no TTFT, ITL or TPOT" },
    { O_TIMESTAMPS, "--timestamps", { NULL }, "WHEN",
      "when an event happened: kernel (default: when its bytes reached this host,\n"
      "the kernel's receive stamp, free of the client's own delays) or read\n"
      "(when the event loop read them)" },
    { O_MOCKARG, "--mock-arg", { NULL }, "ARG",
      "extra flag for the built-in simulator (repeatable), e.g. --mock-arg=--slots=4" },

    OPT_SECTION("load"),
    { O_CONC, "--concurrency", { "-c" }, "N", "requests in flight at most (default 32)" },
    { O_REQS, "--requests", { "-n" }, "N", "requests to complete (default 100; 0 with --duration)" },
    { O_PER_THREAD, "--requests-per-thread", { NULL }, "N",
      "-n is N x -c: each of the -c users (a script's threads) sends N" },
    { O_DUR, "--duration", { "-d" }, "TIME", "time-bound run instead of -n, e.g. 60s, 5m" },
    { O_WARMUP, "--warmup", { NULL }, "N|TIME", "warm-up requests (or time) first, kept out of the statistics" },
    { O_RATE, "--rate", { "-r" }, "R", "open loop: R requests/s on a schedule (-c caps requests in flight)" },
    { O_ARRIVAL, "--arrival", { NULL }, "KIND", "poisson (default), constant or gamma" },
    { O_BURST, "--burstiness", { NULL }, "K", "gamma shape: 1 = poisson, < 1 burstier (default 1)" },
    { O_RAMP, "--ramp-up", { NULL }, "TIME", "grow the rate (or concurrency) linearly to its target" },
    { O_STOPERR, "--stop-on-error-rate", { NULL }, "F",
      "stop early when the error rate over the last 64 requests exceeds F\n"
      "(0.1 or 10%; default: never)" },

    OPT_SECTION("timeouts (0 = none)"),
    { O_CTO, "--connect-timeout", { NULL }, "TIME", "connect timeout (default 10s)" },
    { O_TTFTTO, "--ttft-timeout", { NULL }, "TIME", "time to first token timeout (default 300s)" },
    { O_IDLETO, "--idle-timeout", { NULL }, "TIME", "longest gap between tokens (default 60s)" },
    { O_TO, "--timeout", { NULL }, "TIME", "whole-request timeout (default 30m)" },
    { O_GRACE, "--grace", { NULL }, "TIME", "after Ctrl-C, how long to wait for requests in flight (default 30s)" },

    OPT_SECTION("outputs"),
    { O_JSON, "--json", { NULL }, "FILE", "write the result document (docs/schema.md)" },
    { O_CSV, "--csv", { NULL }, "FILE", "one row per request; appends when the header matches" },
    { O_RAW, "--raw", { NULL }, "FILE", "JSONL, one line per request with every event's time" },
    { O_HTML, "--html", { NULL }, "FILE", "at the end, the HTML report of the result (docs/report.md)" },
    { O_PLOTS, "--plots", { NULL }, "DIR", "at the end, every figure as DIR/NAME.png and .svg" },
    { O_QUIET, "--quiet", { "-q" }, NULL, "no progress line" },
    { O_SLO, "--slo", { NULL }, "LIMITS",
      "per-request limits a good request meets, e.g. 'ttft<=1s,tpot<=50ms',\n"
      "'itl_max<=200ms' (ttft ttft_output tpot itl_max e2e tokens_min;\n"
      "repeatable): goodput and attainment in every output" },
    { O_GOODPUT, "--goodput", { NULL }, "KEY:MS ...",
      "vLLM's form of --slo, in milliseconds, e.g. 'ttft:500 tpot:50 e2el:2000'" },
};

const struct opt_table cli_run_table = OPT_TABLE(run_opts, run_apply);

enum auth_flag {
    A_KEY, A_KEYFILE, A_HEADER, A_HEADER_PUBLIC, A_PROXY, A_NOPROXY, A_TUNNEL,
    A_CACERT, A_INSECURE, A_CERT, A_KEY_FILE,
};

static int auth_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                      char *err, size_t cap)
{
    struct cli_auth *a = ud;
    switch ((enum auth_flag)o->id) {
    case A_KEY: a->key = v; break;
    case A_KEYFILE: a->file = v; break;
    case A_HEADER:
        if (headers_add(&a->hdrs, v, flag, err, cap) < 0)
            return -1;
        break;
    case A_HEADER_PUBLIC:
        if (a->npublic == HEADERS_MAX) {
            snprintf(err, cap, "%s: more than %d", flag, HEADERS_MAX);
            return -1;
        }
        a->public_names[a->npublic++] = v;
        break;
    case A_PROXY: a->proxy = v; break;
    case A_NOPROXY: a->proxy = ""; break;
    case A_TUNNEL: a->proxy_tunnel = 1; break;
    case A_CACERT: a->tls.cacert = v; break;
    case A_INSECURE: a->tls.insecure = 1; break;
    case A_CERT: a->tls.cert = v; break;
    case A_KEY_FILE: a->tls.key = v; break;
    }
    return 1;
}

static const struct opt auth_opts[] = {
    OPT_SECTION("authentication and headers"),
    { A_KEY, "--api-key", { NULL }, "KEY",
      "sent as Authorization: Bearer (default: $OPENAI_API_KEY); never\n"
      "printed or written.  A key on the command line is visible to other\n"
      "users in `ps`: prefer --api-key-file or the variable" },
    { A_KEYFILE, "--api-key-file", { NULL }, "FILE",
      "the key is the first line of FILE (blanks trimmed); - reads it from the\n"
      "standard input (not echoed on a terminal)" },
    { A_HEADER, "--header", { "-H" }, "'NAME: VALUE'",
      "sent on every request (repeatable), e.g. 'api-key: ...' for Azure OpenAI.\n"
      "Its value is a secret, never printed or written, unless --header-public\n"
      "names it.  Replaces llmload's own User-Agent, Accept, Accept-Encoding,\n"
      "Content-Type or Authorization (then no key is sent); an empty value\n"
      "removes it" },
    { A_HEADER_PUBLIC, "--header-public", { NULL }, "NAME",
      "the value of --header NAME may be shown in outputs (repeatable)" },
    OPT_SECTION("proxy"),
    { A_PROXY, "--proxy", { NULL }, "URL",
      "HTTP proxy http://[USER:PASSWORD@]HOST[:PORT] (default port 1080);\n"
      "default: $https_proxy, $http_proxy or $all_proxy as curl reads them;\n"
      "$no_proxy exempts hosts from either.  '' for none.  The credentials\n"
      "are never printed or written" },
    { A_NOPROXY, "--no-proxy", { NULL }, NULL, "no proxy, whatever the environment says" },
    { A_TUNNEL, "--proxy-tunnel", { NULL }, NULL,
      "through the proxy, open a CONNECT tunnel for http:// targets too\n"
      "(https:// targets always tunnel)" },
    OPT_SECTION("TLS (https:// URLs; docs/protocols.md, \"TLS\")"),
    { A_CACERT, "--cacert", { NULL }, "FILE",
      "trust the CA certificates in FILE (PEM) instead of the system's" },
    { A_INSECURE, "--insecure", { "-k" }, NULL,
      "do not verify the server's certificate or name (marked in the\n"
      "summary, the result's config and check's report)" },
    { A_CERT, "--cert", { NULL }, "FILE", "client certificate (PEM) for servers that ask for one (mTLS)" },
    { A_KEY_FILE, "--key", { NULL }, "FILE", "the client certificate's private key (default: in --cert's FILE)" },
};

const struct opt_table cli_auth_table = OPT_TABLE(auth_opts, auth_apply);

/* The first line of path ("-": the standard input, not echoed on a
 * terminal), blanks trimmed, into a->buf.  Nothing of the file's content
 * goes into err. */
static int auth_read_file(struct cli_auth *a, char *err, size_t errcap)
{
    char line[CLI_KEY_MAX + 2];
    int from_stdin = !strcmp(a->file, "-");
    if (from_stdin && in_stdin_taken()) {
        snprintf(err, errcap, "--api-key-file -: the standard input is already read by --config -");
        return -1;
    }
    int fd = in_open_fd(a->file);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        snprintf(err, errcap, "--api-key-file %s: %s", a->file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct termios tio;
    int noecho = from_stdin && isatty(fd) && tcgetattr(fd, &tio) == 0;
    if (noecho) {
        struct termios quiet = tio;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        noecho = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    int ok = fgets(line, sizeof line, f) != NULL;
    int rerr = ferror(f);
    if (noecho) {
        tcsetattr(fd, TCSAFLUSH, &tio);
        fputc('\n', stderr);   /* the newline the user typed was not shown */
    }
    fclose(f);
    size_t n = ok ? strcspn(line, "\n") : 0;
    if (ok && !line[n] && n == sizeof line - 1) {
        snprintf(err, errcap, "--api-key-file %s: the first line is longer than %d bytes",
                 a->file, CLI_KEY_MAX - 1);
        return -1;
    }
    if (rerr) {
        snprintf(err, errcap, "--api-key-file %s: cannot read it", a->file);
        return -1;
    }
    size_t b = 0;
    while (b < n && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r'))
        b++;
    while (n > b && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
        n--;
    if (n == b) {
        snprintf(err, errcap, "--api-key-file %s: no key on its first line", a->file);
        return -1;
    }
    memcpy(a->buf, line + b, n - b);
    a->buf[n - b] = '\0';
    return 0;
}

int cli_auth_key(struct cli_auth *a, const char **key, char *err, size_t errcap)
{
    if (a->key && a->file) {
        snprintf(err, errcap, "--api-key and --api-key-file: give one of them");
        return -1;
    }
    if (a->file) {
        if (auth_read_file(a, err, errcap) < 0)
            return -1;
        *key = a->buf;
    } else if (a->key) {
        *key = *a->key ? a->key : NULL;   /* --api-key "" sends none */
    } else {
        const char *env = getenv("OPENAI_API_KEY");
        *key = env && *env ? env : NULL;
    }
    if (secret_add(*key) < 0) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return 0;
}

int cli_auth_net(struct cli_auth *a, struct target_net *net, char *err, size_t errcap)
{
    memset(net, 0, sizeof *net);
    if (cli_auth_key(a, &net->api_key, err, errcap) < 0)
        return -1;
    if (headers_has(&a->hdrs, "Authorization")) {
        /* One Authorization per request: an explicit key and an explicit
         * header contradict each other; $OPENAI_API_KEY yields. */
        if (a->key || a->file) {
            snprintf(err, errcap, "--header Authorization and --api-key%s: give one of them",
                     a->file ? "-file" : "");
            return -1;
        }
        net->api_key = NULL;
    }
    for (unsigned i = 0; i < a->npublic; i++)
        if (headers_mark_public(&a->hdrs, a->public_names[i], "--header-public", err, errcap) < 0)
            return -1;
    if (headers_finish(&a->hdrs, err, errcap) < 0)
        return -1;
    net->headers = a->hdrs.n ? &a->hdrs : NULL;
    struct proxy p;
    if (a->proxy && *a->proxy && proxy_parse_url(&p, a->proxy, "--proxy", err, errcap) < 0)
        return -1;
    net->proxy = a->proxy;
    net->proxy_tunnel = a->proxy_tunnel;
    net->tls = &a->tls;
    return 0;
}

static int bad(char *err, size_t cap, const char *flag, const char *val, const char *why)
{
    snprintf(err, cap, "%s %s: %s", flag, val ? val : "", why);
    return -1;
}

static int set_duration(uint64_t *dst, const char *flag, const char *v, char *err, size_t cap)
{
    if (units_parse_duration(v, dst) < 0)
        return bad(err, cap, flag, v, "not a duration (use e.g. 500ms, 30s, 5m, 1h)");
    return 0;
}

/* A timeout or wait: 0 turns it off, and anything else must be one the
 * event loop's timers can keep (they count whole milliseconds): 1e-10 is
 * refused, not silently taken for 0 (off). */
static int set_timeout(uint64_t *dst, const char *flag, const char *v, char *err, size_t cap)
{
    if (set_duration(dst, flag, v, err, cap) < 0)
        return -1;
    if (*dst < CLI_TIMER_MIN_NS && strtod(v, NULL) > 0)
        return bad(err, cap, flag, v, "below the timers' resolution: 0 (off) or at least 1ms");
    return 0;
}

static int set_count(uint64_t *dst, const char *flag, const char *v, uint64_t min, uint64_t max,
                     char *err, size_t cap)
{
    if (units_parse_count(v, dst) < 0)
        return bad(err, cap, flag, v, "not a whole number (1k, 2M allowed)");
    if (*dst < min || *dst > max) {
        snprintf(err, cap, "%s %s: must be between %llu and %llu", flag, v,
                 (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    return 0;
}

int cli_parse_api(const char *flag, const char *v, enum api_kind *api, char *err, size_t cap)
{
    if (api_from_name(v, api) < 0)
        return bad(err, cap, flag, v, "unknown API (auto, ollama-generate, ollama-chat, openai-chat, openai-completions)");
    return 0;
}

/* Applies one run flag: 0, or -1 with err. */
static int set_flag(struct run_cli *rc, enum run_flag id, const char *flag, const char *v,
                    char *err, size_t cap)
{
    struct run_config *c = &rc->cfg;
    uint64_t u;
    double d;
    switch (id) {
    case O_URL:
        if (!*v)
            return bad(err, cap, flag, v, "empty URL");
        if (strlen(v) >= sizeof c->url)
            return bad(err, cap, flag, "", "URL too long");
        snprintf(c->url, sizeof c->url, "%s", v);
        return 0;
    case O_API: return cli_parse_api(flag, v, &c->api, err, cap);
    case O_SLO: return cli_slo_opt(c, NULL, flag, v, err, cap) < 0 ? -1 : 0;
    case O_GOODPUT: return cli_goodput_opt(c, NULL, flag, v, err, cap) < 0 ? -1 : 0;
    case O_MODEL:
        if (!*v || strlen(v) >= sizeof c->model)
            return bad(err, cap, flag, v, "empty or too long");
        snprintf(c->model, sizeof c->model, "%s", v);
        rc->model_given = 1;
        return 0;
    case O_MAXTOK:
        if (set_count(&u, flag, v, 1, 10000000, err, cap) < 0)
            return -1;
        c->max_tokens = (int64_t)u;
        return 0;
    case O_OVERLONG:
        if (units_parse_double(v, &d) < 0 || !(d == 0 || (d >= 1 && d <= 1e6)))
            return bad(err, cap, flag, v, "a factor from 1 to 1e6, or 0 for never");
        c->overlong_factor = d;
        return 0;
    case O_TEMP:
        if (units_parse_double(v, &d) < 0 || d < 0 || d > 100)
            return bad(err, cap, flag, v, "not a temperature (a number >= 0)");
        c->temperature = d;
        return 0;
    case O_SEED:
        if (set_count(&u, flag, v, 0, CONFIG_SEED_MAX, err, cap) < 0)
            return -1;
        c->seed = u;
        c->seed_given = 1;
        return 0;
    case O_SSEED:
        if (set_count(&u, flag, v, 0, INT64_MAX, err, cap) < 0)
            return -1;
        c->sampling_seed = (int64_t)u;
        return 0;
    case O_NOSTREAM: c->stream = 0; return 0;
    case O_TIMESTAMPS:
        if (!strcmp(v, "kernel"))
            c->rx_clock = RXCLOCK_KERNEL;
        else if (!strcmp(v, "read"))
            c->rx_clock = RXCLOCK_READ;
        else
            return bad(err, cap, flag, v, "expected kernel or read");
        return 0;
    case O_CONC:
        if (set_count(&u, flag, v, 1, 1000000, err, cap) < 0)
            return -1;
        c->concurrency = (uint32_t)u;
        return 0;
    case O_REQS: return set_count(&c->requests, flag, v, 0, UINT64_MAX / 2, err, cap);
    case O_DUR:
        if (set_duration(&c->duration_ns, flag, v, err, cap) < 0)
            return -1;
        if (!c->duration_ns)
            return bad(err, cap, flag, v, "must be more than 0");
        return 0;
    case O_WARMUP:
        c->warmup_requests = 0;
        c->warmup_ns = 0;
        if (units_parse_count(v, &c->warmup_requests) == 0)
            return 0;
        return set_duration(&c->warmup_ns, flag, v, err, cap) < 0
                   ? bad(err, cap, flag, v, "a number of requests (10) or a time (30s)") : 0;
    case O_RATE:
        if (units_parse_double(v, &d) < 0 || d <= 0)
            return bad(err, cap, flag, v, "requests/s must be a number > 0");
        c->rate = d;
        return 0;
    case O_ARRIVAL:
        if (!strcmp(v, "poisson")) c->arrival = ARRIVAL_POISSON;
        else if (!strcmp(v, "constant")) c->arrival = ARRIVAL_CONSTANT;
        else if (!strcmp(v, "gamma")) c->arrival = ARRIVAL_GAMMA;
        else return bad(err, cap, flag, v, "poisson, constant or gamma");
        return 0;
    case O_BURST:
        if (units_parse_double(v, &d) < 0 || d <= 0)
            return bad(err, cap, flag, v, "must be a number > 0");
        c->burstiness = d;
        return 0;
    case O_RAMP: return set_duration(&c->ramp_up_ns, flag, v, err, cap);
    case O_STOPERR:
        if (units_parse_fraction(v, &d) < 0 || d <= 0 || d > 1)
            return bad(err, cap, flag, v, "a fraction in (0, 1] such as 0.1 or 10%");
        c->stop_error_rate = d;
        return 0;
    case O_CTO: return set_timeout(&c->connect_timeout_ns, flag, v, err, cap);
    case O_TTFTTO: return set_timeout(&c->ttft_timeout_ns, flag, v, err, cap);
    case O_IDLETO: return set_timeout(&c->idle_timeout_ns, flag, v, err, cap);
    case O_TO: return set_timeout(&c->request_timeout_ns, flag, v, err, cap);
    case O_GRACE: return set_timeout(&c->grace_ns, flag, v, err, cap);
    case O_JSON: c->json_path = v; return 0;
    case O_CSV: c->csv_path = v; return 0;
    case O_RAW: c->raw_path = v; return 0;
    case O_HTML: rc->html_path = v; return 0;
    case O_PLOTS: rc->plots_dir = v; return 0;
    case O_QUIET: c->quiet = 1; return 0;
    case O_PORT:
        if (set_count(&u, flag, v, 1, 65535, err, cap) < 0)
            return -1;
        rc->port = (int)u;
        return 0;
    case O_PER_THREAD: return set_count(&rc->per_thread, flag, v, 1, UINT32_MAX, err, cap);
    case O_MOCKARG:
        if (rc->nmock >= CLI_MOCK_ARGS)
            return bad(err, cap, flag, v, "too many");
        rc->mock_args[rc->nmock++] = v;
        return 0;
    }
    return 0;
}

static int run_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                     char *err, size_t cap)
{
    struct run_cli *rc = ud;
    if (set_flag(rc, (enum run_flag)o->id, flag, v, err, cap) < 0)
        return -1;
    rc->duration_given |= o->id == O_DUR;
    rc->requests_given |= o->id == O_REQS;
    rc->warmup_given |= o->id == O_WARMUP;
    return 1;
}

void cli_run_init(struct run_cli *rc)
{
    memset(rc, 0, sizeof *rc);
    config_defaults(&rc->cfg);
    workload_opts_defaults(&rc->wopts);
    rc->wopts.default_prompt = CONFIG_DEFAULT_PROMPT;
    cli_obs_init(&rc->obs);
}

int cli_run_check_rate(const struct run_config *c, double rate, char *err, size_t errcap)
{
    if (rate <= 0)
        return 0;
    double ramp = (double)c->ramp_up_ns / 1e9;
    if (c->requests && !c->duration_ns) {
        /* n arrivals at rate R take n / R (plus half the ramp-up) on average. */
        double span = (double)c->requests / rate + ramp / 2;
        if (span > CLI_SCHEDULE_MAX_S) {
            snprintf(err, errcap, "--rate %g: %llu requests at this rate take %.3g s (%.3g days) on "
                     "average; an open-loop schedule spans at most %g days: raise --rate or lower -n",
                     rate, (unsigned long long)c->requests, span, span / 86400, CLI_SCHEDULE_MAX_S / 86400);
            return -1;
        }
    }
    if (c->duration_ns) {
        /* Arrivals expected within the run: fewer than one sends nothing. */
        double t = (double)c->duration_ns / 1e9, expect = t > ramp ? rate * (t - ramp / 2)
                                                                    : rate * t * t / (2 * ramp);
        if (expect < 1) {
            snprintf(err, errcap, "--rate %g: about %.3g arrivals are expected within --duration %g s; "
                     "the run would send nothing: raise --rate or lengthen --duration",
                     rate, expect, t);
            return -1;
        }
    }
    return 0;
}

/* --turns sends a conversation: an API that sends one prompt would drop
 * the history silently.  0, or -1 with err. */
static int turns_need_chat(const struct run_cli *rc, enum api_kind api, char *err, size_t errcap)
{
    if (rc->wopts.turns <= 1 || api == API_AUTO || api_is_chat(api))
        return 0;
    snprintf(err, errcap, "--turns %u needs a chat API (openai-chat or ollama-chat): %s sends one "
             "prompt, not a conversation", rc->wopts.turns, api_name(api));
    return -1;
}

/* --port P: the port of a URL given without one, or of 127.0.0.1 when no
 * URL is given (vllm bench serve's --host and --port, whose host defaults
 * to 127.0.0.1).  0, or -1 with err. */
static int url_add_port(struct run_config *c, int port, char *err, size_t errcap)
{
    if (!c->url[0]) {
        snprintf(c->url, sizeof c->url, "http://127.0.0.1:%d", port);
        return 0;
    }
    const char *scheme = strstr(c->url, "://");
    const char *host = scheme ? scheme + 3 : c->url;
    size_t hl = host[0] == '[' ? strcspn(host, "]") : strcspn(host, ":/?#");
    if (host[hl] == ']')
        hl++;
    if (host[hl] == ':') {
        snprintf(err, errcap, "--port %d: the URL %s has a port already", port, c->url);
        return -1;
    }
    char url[sizeof c->url];
    int n = snprintf(url, sizeof url, "%.*s:%d%s", (int)(host + hl - c->url), c->url, port, host + hl);
    if (n < 0 || (size_t)n >= sizeof url) {
        snprintf(err, errcap, "--port %d: URL too long", port);
        return -1;
    }
    memcpy(c->url, url, (size_t)n + 1);
    return 0;
}

int cli_slo_opt(struct run_config *c, struct cli_slo_agg *agg, const char *flag, const char *v,
                char *err, size_t cap)
{
    char item[256], why[320];
    const char *p = v;
    if (!*v) {
        snprintf(err, cap, "%s: empty", flag);
        return -1;
    }
    /* Items are separated by commas, which no aggregate expression holds. */
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item) {
            snprintf(err, cap, "%s '%s': %s item", flag, v, len ? "too long an" : "an empty");
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        int r = slo_parse_item(&c->slo, item, why, sizeof why);
        if (r < 0) {
            snprintf(err, cap, "%s %s", flag, why);
            return -1;
        }
        if (r == 0 && !agg) {
            snprintf(err, cap, "%s '%s': not a per-request limit (ttft, ttft_output, tpot, "
                     "itl_max, e2e, tokens_min); an aggregate such as p99(ttft)<=1s is --assert "
                     "here", flag, item);
            return -1;
        }
        if (r == 0) {
            char gerr[768];
            if (agg->n == agg->cap) {
                snprintf(err, cap, "%s: at most %zu aggregate SLOs", flag, agg->cap);
                return -1;
            }
            if (gate_expr_parse(item, &agg->e[agg->n], gerr, sizeof gerr) < 0) {
                snprintf(err, cap, "%s '%s': %s", flag, item, gerr);
                return -1;
            }
            agg->n++;
        }
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

int cli_goodput_opt(struct run_config *c, double *target, const char *flag, const char *v,
                    char *err, size_t cap)
{
    char why[320];
    if (!strchr(v, ':')) {
        double t;
        if (!target) {
            snprintf(err, cap, "%s %s: a target attainment is for sweep --find-max; "
                     "limits are KEY:MS, e.g. 'ttft:500 tpot:50'", flag, v);
            return -1;
        }
        if (units_parse_fraction(v, &t) < 0 || t <= 0 || t >= 1) {
            snprintf(err, cap, "%s %s: a target attainment between 0 and 100%%, e.g. 95%%, or "
                     "KEY:MS limits", flag, v);
            return -1;
        }
        *target = t;
        return 0;
    }
    if (slo_parse_vllm(&c->slo, v, why, sizeof why) < 0) {
        snprintf(err, cap, "%s %s", flag, why);
        return -1;
    }
    return 0;
}

int cli_run_finish(struct run_cli *rc, char *err, size_t errcap)
{
    struct run_config *c = &rc->cfg;
    struct target_net net;
    const char *in = rc->wopts.dataset ? rc->wopts.dataset : rc->wopts.prompt_file;
    if (rc->auth.file && !strcmp(rc->auth.file, "-") && in && !strcmp(in, "-")) {
        snprintf(err, errcap, "--api-key-file - and %s -: both would read the standard input",
                 rc->wopts.dataset ? "--dataset" : "--prompt-file");
        return -1;
    }
    if (cli_auth_net(&rc->auth, &net, err, errcap) < 0 || obs_opts_check(&rc->obs.opts, err, errcap) < 0)
        return -1;
    c->api_key = net.api_key;
    c->headers = net.headers;
    c->proxy = net.proxy;
    c->proxy_tunnel = net.proxy_tunnel;
    c->tls = rc->auth.tls;
    if (rc->port && url_add_port(c, rc->port, err, errcap) < 0)
        return -1;
    if (rc->per_thread) {
        if (rc->requests_given) {
            snprintf(err, errcap, "-n and --requests-per-thread: give one of them");
            return -1;
        }
        c->requests = rc->per_thread * c->concurrency;
        rc->requests_given = 1;
    }
    /* The prompt every request sends, if there is one: not under
     * --input-tokens, --dataset and the other sources. */
    c->prompt = rc->wopts.prompt ? rc->wopts.prompt
              : workload_opts_default_source(&rc->wopts) ? CONFIG_DEFAULT_PROMPT : NULL;
    c->system = rc->wopts.system;
    if (rc->duration_given && !rc->requests_given)
        c->requests = 0;   /* -d alone is time-bound */
    if (!rc->duration_given && c->requests == 0) {
        snprintf(err, errcap, "-n 0 needs --duration (a run must end)");
        return -1;
    }
    if (c->rate <= 0 && (c->arrival != ARRIVAL_POISSON || c->burstiness != 1.0)) {
        snprintf(err, errcap, "--arrival and --burstiness need --rate (open loop)");
        return -1;
    }
    if (c->burstiness != 1.0 && c->arrival != ARRIVAL_GAMMA) {
        snprintf(err, errcap, "--burstiness needs --arrival gamma");
        return -1;
    }
    if (cli_run_check_rate(c, c->rate, err, errcap) < 0)
        return -1;
    if (!c->stream && (c->slo.lim[SLO_TTFT].set || c->slo.lim[SLO_TTFT_OUTPUT].set ||
                       c->slo.lim[SLO_TPOT].set || c->slo.lim[SLO_ITL_MAX].set)) {
        snprintf(err, errcap, "--slo %s: --no-stream has no first token and no gaps "
                 "(only e2e and tokens_min apply)", c->slo.text);
        return -1;
    }
    /* The API is known here when --api or the URL's endpoint names it;
     * otherwise cli_run_resolve checks once the server has told. */
    struct target t;
    enum api_kind api = c->api;
    if (api == API_AUTO && c->url[0] && target_parse_url(&t, c->url, err, errcap) == 0)
        api = api_from_endpoint(t.base_path);
    return turns_need_chat(rc, api, err, errcap);
}



int cli_run_open_workload(struct run_cli *rc, char *err, size_t errcap)
{
    if (rc->cfg.workload)
        return 0;
    rc->cfg.workload = workload_open(&rc->wopts, rc->cfg.seed, err, errcap);
    if (!rc->cfg.workload)
        return -1;
    rc->cfg.workload_desc = workload_describe(rc->cfg.workload);
    rc->cfg.multi_turn = rc->wopts.turns > 1;
    return 0;
}

int cli_run_validate(const struct run_cli *rc, char *err, size_t errcap)
{
    if (rc->cfg.url[0] && !rc->model_given) {
        snprintf(err, errcap, "--model is required with --url (the name the server knows, e.g. llama3.2)");
        return -1;
    }
    return 0;
}

int cli_run_resolve(struct run_cli *rc, char *err, size_t errcap)
{
    struct run_config *c = &rc->cfg;
    struct target t;
    /* The TLS files are the user's to fix (exit 2), before any probe
     * would fail on them as if the server had. */
    if (!strncmp(c->url, "https://", 8) && tls_opts_check(&c->tls, err, errcap) < 0)
        return EXIT_USAGE;
    struct target_net net = { .api_key = c->api_key, .headers = c->headers, .proxy = c->proxy,
                              .proxy_tunnel = c->proxy_tunnel, .tls = &c->tls };
    int r = target_resolve_net(&t, c->url, c->api, &net, c->connect_timeout_ns, err, errcap);
    if (r == -1)
        return EXIT_USAGE;
    if (r < 0)
        return EXIT_RUN;
    c->api = t.api;
    if (turns_need_chat(rc, c->api, err, errcap) < 0)
        return EXIT_USAGE;
    if (!c->model[0]) {
        /* As compare does: the first model the server lists, said aloud
         * (the result's config records it too). */
        char why[256];
        uint64_t to = c->connect_timeout_ns ? c->connect_timeout_ns : 10000000000ull;
        if (target_first_model(&t, to, c->model, sizeof c->model, why, sizeof why) < 0) {
            snprintf(err, errcap, "no --model given, and %s: pass --model", why);
            return EXIT_USAGE;
        }
        fprintf(stderr, "no --model given: using %s, the first model the server lists\n", c->model);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The built-in simulator as a child process.                           */

static int read_line_deadline(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (n + 1 < cap) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int left = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int rc = poll(&p, 1, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return -1;
        if (buf[n] == '\n') {
            buf[n] = 0;
            return 0;
        }
        n++;
    }
    return -1;
}

pid_t cli_run_start_mock(struct run_cli *rc, char *err, size_t errcap)
{
    if (rc->cfg.url[0])
        return 0;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(err, errcap, "cannot start the built-in simulator: pipe: %s", strerror(errno));
        return -1;
    }
    const char *argv[CLI_MOCK_ARGS + 8];
    int k = 0;
    argv[k++] = "llmload";
    argv[k++] = "mock";
    argv[k++] = "--listen";
    argv[k++] = "127.0.0.1:0";
    for (int i = 0; i < rc->nmock; i++)
        argv[k++] = rc->mock_args[i];
    argv[k] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errcap, "cannot start the built-in simulator: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        /* Its own process group, so the terminal's Ctrl-C reaches only us and
         * in-flight requests can finish; it dies with us all the same. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        dup2(pfd[1], STDOUT_FILENO);
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char line[256];
    int r = read_line_deadline(pfd[0], line, sizeof line, 15000);
    close(pfd[0]);
    if (r < 0 || strncmp(line, "http://", 7) != 0) {
        cli_run_stop_mock(pid);
        snprintf(err, errcap, "the built-in simulator did not start (check the --mock-arg flags)");
        return -1;
    }
    snprintf(rc->cfg.url, sizeof rc->cfg.url, "%s", line);
    /* Our own child on loopback: no proxy of the environment stands
     * between (--proxy still does, for testing a proxy). */
    if (!rc->cfg.proxy)
        rc->cfg.proxy = "";
    if (!rc->model_given)
        snprintf(rc->cfg.model, sizeof rc->cfg.model, "%s", MOCK_MODEL);
    return pid;
}

void cli_run_stop_mock(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int st;
    for (int i = 0; i < 200; i++) {   /* up to 10 s, then it is killed */
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        struct timespec ts = { 0, 50000000 };
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}


int cli_run_check_pictures(const struct run_cli *rc, char *err, size_t errcap)
{
    char why[512];
    if (rc->html_path && out_check(rc->html_path, why, sizeof why) < 0) {
        snprintf(err, errcap, "--html: %s", why);
        return -1;
    }
    if (rc->plots_dir) {
        struct stat st;
        if (stat(rc->plots_dir, &st) == 0 ? !S_ISDIR(st.st_mode) || access(rc->plots_dir, W_OK) < 0
                                          : 0) {
            snprintf(err, errcap, "--plots %s: not a directory this user can write", rc->plots_dir);
            return -1;
        }
    }
    return 0;
}

int cli_run_write_pictures(const struct run_cli *rc, const char *cmd,
                           const struct cJSON *const *docs, size_t n, int repeat)
{
    char err[1024], dir[4096];
    int r = 0;
    if (!n)
        return 0;
    if (rc->html_path && render_files(docs, n, rc->html_path, repeat, err, sizeof err) < 0) {
        fprintf(stderr, "llmload %s: --html: %s\n", cmd, err);
        r = -1;
    }
    if (rc->plots_dir) {
        /* render_files takes a directory by its trailing slash. */
        size_t l = strlen(rc->plots_dir);
        snprintf(dir, sizeof dir, "%s%s", rc->plots_dir, l && rc->plots_dir[l - 1] == '/' ? "" : "/");
        if (render_files(docs, n, dir, repeat, err, sizeof err) < 0) {
            fprintf(stderr, "llmload %s: --plots: %s\n", cmd, err);
            r = -1;
        }
    }
    return r;
}
