/* `llmload serve`: the web dashboard; flags in, serve.c out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_run.h"
#include "secret.h"
#include "serve.h"
#include "units.h"

enum serve_flag { V_TARGET, V_PROMPT_FILE, V_DATASET, V_LISTEN, V_TOKEN, V_TOKEN_FILE, V_RESULTS, V_MAXC, V_MAXN, V_MAXD };

struct serve_args {
    struct serve_opts o;
    const char *token, *token_file;
};

static int uint_flag(const char *flag, const char *v, unsigned *out, char *err, size_t cap)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || n == 0 || n > 100000) {
        snprintf(err, cap, "%s %s: not a whole number in 1..100000", flag, v);
        return -1;
    }
    *out = (unsigned)n;
    return 1;
}

static int serve_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                       char *err, size_t cap)
{
    struct serve_args *a = ud;
    switch ((enum serve_flag)o->id) {
    case V_TARGET:
        if (serve_opts_add_target(&a->o, v, err, cap) < 0) {
            cli_flag_err(err, cap, flag);
            return -1;
        }
        return 1;
    case V_PROMPT_FILE:
    case V_DATASET:
        if (serve_opts_add_source(&a->o, o->id == V_DATASET ? "--dataset" : "--prompt-file", v,
                                  err, cap) < 0) {
            cli_flag_err(err, cap, flag);
            return -1;
        }
        return 1;
    case V_LISTEN: a->o.listen = v; return 1;
    case V_TOKEN: a->token = v; return 1;
    case V_TOKEN_FILE: a->token_file = v; return 1;
    case V_RESULTS: a->o.results_dir = v; return 1;
    case V_MAXC: return uint_flag(flag, v, &a->o.max_concurrency, err, cap);
    case V_MAXN: return uint_flag(flag, v, &a->o.max_requests, err, cap);
    case V_MAXD:
        if (units_parse_duration(v, &a->o.max_duration_ns) < 0 || a->o.max_duration_ns == 0) {
            snprintf(err, cap, "%s %s: not a duration > 0 (e.g. 10m)", flag, v);
            return -1;
        }
        return 1;
    }
    return 0;
}

static const struct opt serve_opts_tab[] = {
    { V_TARGET, "--target", { NULL }, "NAME=URL[@MODEL]", "a server the page may benchmark (repeatable);\n"
      "the only ones it can: without any, two built-in simulators.\n"
      "@MODEL: its model unless the page names another" },
    { V_PROMPT_FILE, "--prompt-file", { NULL }, "FILE", "a prompt file (one prompt a line) the page may\n"
      "choose, by its base name (repeatable)" },
    { V_DATASET, "--dataset", { NULL }, "FILE", "a dataset (JSONL or ShareGPT) the page may choose,\n"
      "by its base name (repeatable)" },
    { V_LISTEN, "--listen", { NULL }, "HOST:PORT", "where the page is served (default 127.0.0.1:8089;\n"
      "port 0: a free one).  Not loopback: needs --token" },
    { V_TOKEN, "--token", { NULL }, "TOKEN", "every request must carry it (?token= once, then a\n"
      "cookie; or Authorization: Bearer).  Visible in `ps`: prefer --token-file" },
    { V_TOKEN_FILE, "--token-file", { NULL }, "FILE", "the token is the first line of FILE" },
    { V_RESULTS, "--results-dir", { NULL }, "DIR", "where runs are kept (default\n"
      "$XDG_STATE_HOME/llmload/serve or ~/.local/state/llmload/serve)" },
    OPT_SECTION("limits of a run asked for by the page"),
    { V_MAXC, "--max-concurrency", { NULL }, "N", "the largest concurrency level (default 64)" },
    { V_MAXN, "--max-requests", { NULL }, "N", "requests per level at most (default 200)" },
    { V_MAXD, "--max-duration", { NULL }, "TIME", "a longer run is cancelled, keeping what it\n"
      "measured (default 30m)" },
};

static const struct opt_table serve_table = OPT_TABLE(serve_opts_tab, serve_apply);
static const struct opt_table *const serve_tables[] = { &serve_table, NULL };

const struct opt_cmd cli_serve_cmd = {
    .name = "serve",
    .summary = "a web dashboard: check servers, compare them, follow the run",
    .usage = "llmload serve [--target NAME=URL[@MODEL] ...] [--prompt-file FILE ...] [--dataset FILE ...]\n"
             "              [--listen HOST:PORT] [--token-file FILE]\n"
             "              [--results-dir DIR] [--max-concurrency N] [--max-requests N]\n"
             "              [--max-duration TIME]",
    .about = "Serves a page that shows whether each target is up (its protocol, version and\n"
             "models), runs `llmload compare` against them in a child process when asked, and\n"
             "streams its progress to the page.  Runs are kept in --results-dir, downloadable\n"
             "as JSON and CSV.  /metrics carries the run's Prometheus metrics beside the\n"
             "dashboard's own.  Targets (with --config FILE, also from a JSON file), prompt\n"
             "files and datasets are the operator's: the page names them, never gives a URL\n"
             "or a path.  Prints the page's URL once it listens.  See docs/dashboard.md.",
    .tables = serve_tables,
    .epilog = "Exit codes: 0 stopped by SIGINT or SIGTERM, 2 usage error, 3 could not serve.",
};

int cmd_serve(int argc, char **argv)
{
    struct serve_args a;
    memset(&a, 0, sizeof a);
    serve_opts_init(&a.o);
    char err[1024];
    void *ud[] = { &a };
    int r = opt_parse(&cli_serve_cmd, ud, argc, argv, 1, NULL, NULL, err, sizeof err);
    if ((r = cli_parse_result(&cli_serve_cmd, r, err)) >= 0)
        return r;
    if (a.token || a.token_file) {
        /* The key file reader of the run flags reads the token file too
         * (and registers the token as a secret: it is never printed). */
        struct cli_auth auth = { .key = a.token, .file = a.token_file };
        const char *tok = NULL;
        if (a.token && a.token_file) {
            fprintf(stderr, "llmload serve: --token and --token-file: give one of them\n");
            return EXIT_USAGE;
        }
        if (cli_auth_key(&auth, &tok, err, sizeof err) < 0) {
            const char *p = strstr(err, "--api-key-file");
            fprintf(stderr, "llmload serve: %s%s\n", p ? "--token-file" : "", p ? p + 14 : err);
            return EXIT_USAGE;
        }
        if (tok && strlen(tok) >= sizeof a.o.token) {
            fprintf(stderr, "llmload serve: the token is longer than %zu bytes\n", sizeof a.o.token - 1);
            return EXIT_USAGE;
        }
        snprintf(a.o.token, sizeof a.o.token, "%s", tok ? tok : "");
    }
    if (serve_opts_check(&a.o, err, sizeof err) < 0) {
        fprintf(stderr, "llmload serve: %s\n", err);
        return EXIT_USAGE;
    }
    if (a.o.ntargets == 1) {
        fprintf(stderr, "llmload serve: one --target only: give at least two to compare\n");
        return EXIT_USAGE;
    }
    if (serve_main(&a.o, err, sizeof err) < 0) {
        fprintf(stderr, "llmload serve: %s\n", err);
        return EXIT_RUN;
    }
    return EXIT_OK;
}
