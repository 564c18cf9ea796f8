/* `llmload run`: flags, the built-in simulator child, outputs, exit code. */
#include "cli_run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "engine.h"
#include "gate.h"
#include "report.h"
#include "target.h"
#include "units.h"

#define MOCK_MODEL "llmload-mock"


/* The option table: one line per flag, so --help and parsing agree. */
enum opt_id {
    O_URL, O_API, O_MODEL, O_KEY, O_MAXTOK, O_TEMP, O_SEED, O_NOSTREAM, O_TIMESTAMPS,
    O_CONC, O_REQS, O_DUR, O_WARMUP, O_RATE, O_ARRIVAL, O_BURST, O_RAMP, O_STOPERR,
    O_CTO, O_TTFTTO, O_IDLETO, O_TO, O_GRACE, O_JSON, O_CSV, O_RAW, O_QUIET, O_MOCKARG, O_HELP,
};

struct run_opt {
    enum opt_id id;
    const char *name, *alias, *alias2;
    int takes;
    const char *meta, *help;
};

static const struct run_opt opts[] = {
    { O_URL, "--url", "--host", "--base-url", 1, "URL",
      "server: base URL (http://host:8000/v1, http://host:11434) or a full endpoint URL;\n"
      "without it, the built-in simulator is started on a free loopback port" },
    { O_API, "--api", NULL, NULL, 1, "KIND",
      "auto (default), ollama-generate, ollama-chat, openai-chat, openai-completions" },
    { O_MODEL, "--model", "-m", NULL, 1, "NAME", "model name (required, except for the built-in simulator)" },
    { O_KEY, "--api-key", NULL, NULL, 1, "KEY",
      "sent as Authorization: Bearer (default: $OPENAI_API_KEY); never printed or saved" },
    { O_MAXTOK, "--max-tokens", "--tokens", NULL, 1, "N", "maximum output tokens per request (default 128)" },
    { O_TEMP, "--temperature", NULL, NULL, 1, "T", "sampling temperature (default: the server's)" },
    { O_SEED, "--seed", NULL, NULL, 1, "N",
      "seed of the arrival schedule, also sent to the server as its sampling seed" },
    { O_NOSTREAM, "--no-stream", NULL, NULL, 0, NULL, "non-streamed requests (latency, status and tokens only)" },
    { O_TIMESTAMPS, "--timestamps", NULL, NULL, 1, "WHEN",
      "when an event happened: kernel (default: when its bytes reached this host,\n"
      "the kernel's receive stamp, free of the client's own delays) or read\n"
      "(when the event loop read them)" },
    { O_CONC, "--concurrency", "-c", NULL, 1, "N", "requests in flight at most (default 32)" },
    { O_REQS, "--requests", "-n", NULL, 1, "N", "requests to complete (default 100; 0 with --duration)" },
    { O_DUR, "--duration", "-d", NULL, 1, "TIME", "time-bound run instead of -n, e.g. 60s, 5m" },
    { O_WARMUP, "--warmup", NULL, NULL, 1, "N|TIME", "warm-up requests (or time) first, kept out of the statistics" },
    { O_RATE, "--rate", "-r", NULL, 1, "R", "open loop: R requests/s on a schedule (-c caps requests in flight)" },
    { O_ARRIVAL, "--arrival", NULL, NULL, 1, "KIND", "poisson (default), constant or gamma" },
    { O_BURST, "--burstiness", NULL, NULL, 1, "K", "gamma shape: 1 = poisson, < 1 burstier (default 1)" },
    { O_RAMP, "--ramp-up", NULL, NULL, 1, "TIME", "grow the rate (or concurrency) linearly to its target" },
    { O_STOPERR, "--stop-on-error-rate", NULL, NULL, 1, "F",
      "stop early when the error rate over the last 64 requests exceeds F (0.1 or 10%)" },
    { O_CTO, "--connect-timeout", NULL, NULL, 1, "TIME", "connect timeout (default 10s; 0 = none)" },
    { O_TTFTTO, "--ttft-timeout", NULL, NULL, 1, "TIME", "time to first token timeout (default 300s)" },
    { O_IDLETO, "--idle-timeout", NULL, NULL, 1, "TIME", "longest gap between tokens (default 60s)" },
    { O_TO, "--timeout", NULL, NULL, 1, "TIME", "whole-request timeout (default 30m)" },
    { O_GRACE, "--grace", NULL, NULL, 1, "TIME", "after Ctrl-C, how long to wait for requests in flight (default 30s)" },
    { O_JSON, "--json", NULL, NULL, 1, "FILE", "write the result document (docs/schema.md)" },
    { O_CSV, "--csv", NULL, NULL, 1, "FILE", "one row per request; appends when the header matches" },
    { O_RAW, "--raw", NULL, NULL, 1, "FILE", "JSONL, one line per request with every event's time" },
    { O_QUIET, "--quiet", "-q", NULL, 0, NULL, "no progress line" },
    { O_MOCKARG, "--mock-arg", NULL, NULL, 1, "ARG",
      "extra flag for the built-in simulator (repeatable), e.g. --mock-arg=--slots=4" },
    { O_HELP, "--help", "-h", NULL, 0, NULL, "this help" },
};

static const struct run_opt *opt_find(const char *name)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const struct run_opt *o = &opts[i];
        if (!strcmp(name, o->name) || (o->alias && !strcmp(name, o->alias)) ||
            (o->alias2 && !strcmp(name, o->alias2)))
            return o;
    }
    return NULL;
}

void cli_run_help_flags(FILE *f)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const struct run_opt *o = &opts[i];
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s%s", o->alias && o->alias[1] != '-' ? o->alias : "",
                 o->alias && o->alias[1] != '-' ? ", " : "", o->name, o->meta ? " " : "", o->meta ? o->meta : "");
        const char *h = o->help;
        fprintf(f, "  %-26s ", left);
        for (const char *nl; (nl = strchr(h, '\n')); h = nl + 1)
            fprintf(f, "%.*s\n  %-26s ", (int)(nl - h), h, "");
        fprintf(f, "%s\n", h);
        /* Long aliases (--host, --base-url, --tokens) get a line of their own. */
        if (o->alias && o->alias[1] == '-') {
            char names[64];
            snprintf(names, sizeof names, "%s%s%s", o->alias, o->alias2 ? ", " : "",
                     o->alias2 ? o->alias2 : "");
            fprintf(f, "  %-26s %s of %s\n", names, o->alias2 ? "aliases" : "alias", o->name);
        }
    }
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

static int apply(struct run_cli *rc, const struct run_opt *o, const char *flag, const char *v,
                 char *err, size_t cap)
{
    struct run_config *c = &rc->cfg;
    uint64_t u;
    double d;
    switch (o->id) {
    case O_URL:
        if (!*v)
            return bad(err, cap, flag, v, "empty URL");
        if (strlen(v) >= sizeof c->url)
            return bad(err, cap, flag, "", "URL too long");
        snprintf(c->url, sizeof c->url, "%s", v);
        return 0;
    case O_API:
        if (api_from_name(v, &c->api) < 0)
            return bad(err, cap, flag, v, "unknown API (auto, ollama-generate, ollama-chat, openai-chat, openai-completions)");
        return 0;
    case O_MODEL:
        if (!*v || strlen(v) >= sizeof c->model)
            return bad(err, cap, flag, v, "empty or too long");
        snprintf(c->model, sizeof c->model, "%s", v);
        rc->model_given = 1;
        return 0;
    case O_KEY: c->api_key = *v ? v : NULL; return 0;
    case O_MAXTOK:
        if (set_count(&u, flag, v, 1, 10000000, err, cap) < 0)
            return -1;
        c->max_tokens = (int64_t)u;
        return 0;
    case O_TEMP:
        if (units_parse_double(v, &d) < 0 || d < 0 || d > 100)
            return bad(err, cap, flag, v, "not a temperature (a number >= 0)");
        c->temperature = d;
        return 0;
    case O_SEED:
        if (set_count(&u, flag, v, 0, INT64_MAX, err, cap) < 0)
            return -1;
        c->seed = (int64_t)u;
        c->schedule_seed = u;
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
    case O_CTO: return set_duration(&c->connect_timeout_ns, flag, v, err, cap);
    case O_TTFTTO: return set_duration(&c->ttft_timeout_ns, flag, v, err, cap);
    case O_IDLETO: return set_duration(&c->idle_timeout_ns, flag, v, err, cap);
    case O_TO: return set_duration(&c->request_timeout_ns, flag, v, err, cap);
    case O_GRACE: return set_duration(&c->grace_ns, flag, v, err, cap);
    case O_JSON: c->json_path = v; return 0;
    case O_CSV: c->csv_path = v; return 0;
    case O_RAW: c->raw_path = v; return 0;
    case O_QUIET: c->quiet = 1; return 0;
    case O_MOCKARG:
        if (rc->nmock >= CLI_MOCK_ARGS)
            return bad(err, cap, flag, v, "too many");
        rc->mock_args[rc->nmock++] = v;
        return 0;
    case O_HELP: rc->help = 1; return 0;
    }
    return 0;
}

int cli_run_parse(struct run_cli *rc, int argc, char **argv, int first,
                  const struct cli_extra *extras, size_t nextra, char *err, size_t errcap)
{
    memset(rc, 0, sizeof *rc);
    config_defaults(&rc->cfg);
    workload_opts_defaults(&rc->wopts);
    rc->wopts.default_prompt = CONFIG_DEFAULT_PROMPT;
    int duration_set = 0, requests_set = 0;
    for (int i = first; i < argc; i++) {
        char *arg = argv[i];
        char name[64];
        const char *val = NULL;
        if (arg[0] != '-' || !arg[1]) {
            snprintf(err, errcap, "unexpected argument '%s' (flags start with --; see --help)", arg);
            return -1;
        }
        /* --flag=value, -c8, or --flag value */
        const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
            val = eq + 1;
        } else if (arg[1] != '-' && arg[2]) {
            snprintf(name, sizeof name, "%.2s", arg);
            val = arg + 2;
        } else {
            snprintf(name, sizeof name, "%s", arg);
        }
        const struct run_opt *o = opt_find(name);
        int takes = o ? o->takes : -1;
        const struct cli_extra *x = NULL;
        int wflag = 0;
        if (takes < 0 && (takes = workload_flag_takes_value(name)) >= 0)
            wflag = 1;
        for (size_t k = 0; takes < 0 && k < nextra; k++) {
            int t = extras[k].takes_value(extras[k].ud, name);
            if (t >= 0) {
                takes = t;
                x = &extras[k];
            }
        }
        if (takes < 0) {
            snprintf(err, errcap, "unknown flag '%s' (see --help)", name);
            return -1;
        }
        if (takes && !val) {
            if (i + 1 >= argc) {
                snprintf(err, errcap, "%s needs a value", name);
                return -1;
            }
            val = argv[++i];
        } else if (!takes && val) {
            snprintf(err, errcap, "%s takes no value", name);
            return -1;
        }
        int r;
        if (wflag) {
            r = workload_opt(&rc->wopts, name, val, err, errcap);
            if (r == 0) {
                snprintf(err, errcap, "unknown flag '%s' (see --help)", name);
                r = -1;
            }
        } else if (o) {
            r = apply(rc, o, name, val, err, errcap);
            if (o->id == O_DUR)
                duration_set = 1;
            if (o->id == O_REQS)
                requests_set = 1;
        } else {
            r = x->opt(x->ud, name, val, err, errcap);
            if (r == 0) {
                snprintf(err, errcap, "unknown flag '%s' (see --help)", name);
                r = -1;
            }
        }
        if (r < 0)
            return -1;
    }
    struct run_config *c = &rc->cfg;
    c->prompt = rc->wopts.prompt ? rc->wopts.prompt : CONFIG_DEFAULT_PROMPT;
    c->system = rc->wopts.system;
    if (duration_set && !requests_set)
        c->requests = 0;   /* -d alone is time-bound */
    if (!duration_set && c->requests == 0) {
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
    return 0;
}

int cli_run_open_workload(struct run_cli *rc, char *err, size_t errcap)
{
    if (rc->cfg.workload)
        return 0;
    rc->cfg.workload = workload_open(&rc->wopts, rc->cfg.schedule_seed, err, errcap);
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
    struct target t;
    int r = target_resolve(&t, rc->cfg.url, rc->cfg.api, rc->cfg.connect_timeout_ns, err, errcap);
    if (r == -1)
        return EXIT_USAGE;
    if (r < 0)
        return EXIT_RUN;
    rc->cfg.api = t.api;
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

/* ------------------------------------------------------------------ */
/* `llmload run`                                                        */

struct run_outputs {
    struct report_csv *csv;
    struct report_raw *raw;
};

static void on_record(void *ud, const struct req_record *r, uint64_t t0)
{
    struct run_outputs *o = ud;
    if (o->csv)
        report_csv_row(o->csv, r);
    if (o->raw)
        report_raw_row(o->raw, r, t0);
}

/* An output file that cannot be written is reported before the run, with
 * the flag that named it. */
static int check_output(const char *path, const char *flag, char *err, size_t errcap)
{
    char why[512];
    if (!path)
        return 0;
    if (report_check_writable(path, why, sizeof why) < 0) {
        snprintf(err, errcap, "%s: %s", flag, why);
        return -1;
    }
    return 0;
}

static void run_usage(FILE *f)
{
    fprintf(f, "usage: llmload run [--url URL --model NAME] [options]\n\n"
               "Benchmarks a streaming LLM server: time to first token, inter-token latency,\n"
               "tokens/s and requests/s (definitions: docs/metrics.md).  Without --url it starts\n"
               "the built-in simulator (llmload mock) on a free loopback port and benchmarks it.\n\n"
               "options:\n");
    cli_run_help_flags(f);
    fprintf(f, "\nprompts and workloads (docs/workloads.md):\n");
    workload_help(f);
    fprintf(f, "\nTimes take units (500ms, 30s, 5m); counts take k/M (1k).  Exit codes: 0 ok,\n"
               "1 a check failed, 2 usage error, 3 the run could not be done, 4 interrupted.\n");
}

/* --- gate (issue 5): the regression gate's flags, through cli_extra --- */
static int gate_extra_takes(void *ud, const char *flag)
{
    (void)ud;
    return gate_flag_takes_value(flag) ? 1 : -1;
}

static int gate_extra_opt(void *ud, const char *flag, const char *value, char *err, size_t errcap)
{
    return gate_opt(ud, flag, value, err, errcap);
}

static void gate_extra_help(void *ud, FILE *f)
{
    (void)ud;
    gate_help(f);
}

struct cli_extra cli_gate_extra(struct gate_opts *g)
{
    struct cli_extra x = { gate_extra_takes, gate_extra_opt, gate_extra_help, g };
    return x;
}

/* A baseline made with another workload is refused before any request:
 * 0, or -1 with err. */
static int gate_config_ok(const struct gate_opts *gate, const struct run_config *cfg,
                          char *err, size_t errcap)
{
    if (!gate->baseline)
        return 0;
    cJSON *c = report_config_json(cfg);
    if (!c) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    int r = gate_check_config(gate, c, err, errcap);
    cJSON_Delete(c);
    return r;
}

static int run_gated(int argc, char **argv, struct gate_opts *gate);

int cmd_run(int argc, char **argv)
{
    struct gate_opts gate;
    gate_opts_init(&gate);
    int code = run_gated(argc, argv, &gate);
    gate_opts_free(&gate);
    return code;
}
/* --- end gate --- */

static int run_gated(int argc, char **argv, struct gate_opts *gate)
{
    struct run_cli rc;
    char err[1024];
    int code = EXIT_OK;
    struct cli_extra gate_extra = cli_gate_extra(gate);
    if (cli_run_parse(&rc, argc, argv, 1, &gate_extra, 1, err, sizeof err) < 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        return EXIT_USAGE;
    }
    if (rc.help) {
        run_usage(stdout);
        gate_help(stdout);
        return EXIT_OK;
    }
    struct run_config *cfg = &rc.cfg;
    if (cli_run_validate(&rc, err, sizeof err) < 0 ||
        check_output(cfg->json_path, "--json", err, sizeof err) < 0 ||
        check_output(cfg->csv_path, "--csv", err, sizeof err) < 0 ||
        check_output(cfg->raw_path, "--raw", err, sizeof err) < 0 ||
        gate_check_files(gate, err, sizeof err) < 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        return EXIT_USAGE;
    }
    struct run_outputs out = { 0 };
    if (cfg->csv_path && !(out.csv = report_csv_open(cfg->csv_path, err, sizeof err))) {
        fprintf(stderr, "llmload run: %s\n", err);
        return EXIT_USAGE;
    }
    if (cfg->raw_path && !(out.raw = report_raw_open(cfg->raw_path, err, sizeof err))) {
        fprintf(stderr, "llmload run: %s\n", err);
        report_csv_close(out.csv);
        return EXIT_USAGE;
    }
    cfg->progress = !cfg->quiet && isatty(STDERR_FILENO);

    pid_t mock = cli_run_start_mock(&rc, err, sizeof err);
    if (mock < 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        report_csv_close(out.csv);
        report_raw_close(out.raw);
        return EXIT_RUN;
    }
    if (mock > 0 && !cfg->quiet)
        fprintf(stderr, "no --url given: benchmarking the built-in simulator at %s (llmload mock%s)\n",
                cfg->url, rc.nmock ? " with --mock-arg flags" : "");

    int rrc = gate_config_ok(gate, cfg, err, sizeof err) < 0 ? EXIT_USAGE : 0;
    if (!rrc)
        rrc = cli_run_resolve(&rc, err, sizeof err);
    if (!rrc && cli_run_open_workload(&rc, err, sizeof err) < 0)
        rrc = EXIT_USAGE;   /* prompt files and datasets are read before any request */
    if (!rrc && gate_config_ok(gate, cfg, err, sizeof err) < 0)
        rrc = EXIT_USAGE;
    if (rrc) {
        fprintf(stderr, "llmload run: %s\n", err);
        if (rrc == EXIT_RUN)
            gate_run_failed(gate, err);
        workload_free(cfg->workload);
        cli_run_stop_mock(mock);
        report_csv_close(out.csv);
        report_raw_close(out.raw);
        return rrc;
    }
    /* --repeat K (gate): K runs of the same benchmark against the same
     * server; the gate decides on the median of their result documents. */
    int repeat = gate_repeat(gate);
    size_t nruns = 0;
    cJSON **docs = calloc((size_t)repeat, sizeof *docs);
    if (!docs) {
        fprintf(stderr, "llmload run: out of memory\n");
        workload_free(cfg->workload);
        cli_run_stop_mock(mock);
        report_csv_close(out.csv);
        report_raw_close(out.raw);
        return EXIT_RUN;
    }
    struct engine_hooks hooks = { on_record, &out };
    for (int k = 0; k < repeat && code == EXIT_OK; k++) {
        struct run_stats stats;
        if (run_stats_init(&stats) < 0) {
            fprintf(stderr, "llmload run: out of memory\n");
            code = EXIT_RUN;
            break;
        }
        int erc = engine_run(cfg, &stats, &hooks, err, sizeof err);
        if (erc < 0) {
            fprintf(stderr, "llmload run: %s\n", err);
            gate_run_failed(gate, err);
            run_stats_free(&stats);
            code = EXIT_RUN;
            break;
        }
        if (repeat > 1)
            printf("%srun %d of %d\n", k ? "\n" : "", k + 1, repeat);
        report_print_summary(stdout, cfg, &stats);
        if (!(docs[nruns] = report_result_json(cfg, &stats))) {
            fprintf(stderr, "llmload run: out of memory\n");
            code = EXIT_RUN;
        } else {
            nruns++;
        }
        if (stats.interrupted)
            code = EXIT_INTERRUPTED;
        else if (code == EXIT_OK && stats.ok == 0) {
            const char *sample = "";
            for (int i = 1; i < ERR__COUNT; i++)
                if (stats.err_sample[i][0]) {
                    sample = stats.err_sample[i];
                    break;
                }
            fprintf(stderr, "llmload run: every request failed%s%s\n", *sample ? ": " : "", sample);
            code = EXIT_RUN;
        }
        run_stats_free(&stats);
    }
    cli_run_stop_mock(mock);
    if (report_csv_close(out.csv) < 0 || report_raw_close(out.raw) < 0)
        fprintf(stderr, "llmload run: could not finish writing the per-request files\n");
    /* --json holds the last run (with --repeat, each run's summary was printed). */
    if (cfg->json_path && nruns &&
        report_write_json(cfg->json_path, docs[nruns - 1], err, sizeof err) < 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        if (code == EXIT_OK)
            code = EXIT_RUN;
    }
    /* The gate also sees failed and interrupted runs: it writes a JUnit
     * error for the former and saves no baseline from the latter. */
    if (gate_active(gate) && nruns) {
        int gc = gate_evaluate(gate, docs, nruns, stdout, err, sizeof err);
        if (code == EXIT_OK) {
            code = gc;
            if (gc >= EXIT_USAGE)
                fprintf(stderr, "llmload run: %s\n", err);
        }
    }
    for (size_t i = 0; i < nruns; i++)
        cJSON_Delete(docs[i]);
    free(docs);
    workload_free(cfg->workload);
    return code;
}
