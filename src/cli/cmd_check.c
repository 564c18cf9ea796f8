/* `llmload check`: is a server up, what does it speak, what has it loaded. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_run.h"
#include "fileio.h"
#include "jdoc.h"
#include "probe.h"
#include "report.h"
#include "tls.h"
#include "units.h"

enum check_flag { C_URL, C_API, C_TIMEOUT, C_JSON, C_QUIET };

struct check_args {
    const char *url, *json;
    enum api_kind api;
    uint64_t timeout_ns;
    int quiet;
    struct cli_auth auth;
};

static int check_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                       char *err, size_t cap)
{
    struct check_args *a = ud;
    switch ((enum check_flag)o->id) {
    case C_URL: a->url = v; return 1;
    case C_JSON: a->json = v; return 1;
    case C_QUIET: a->quiet = 1; return 1;
    case C_API: return cli_parse_api(flag, v, &a->api, err, cap) < 0 ? -1 : 1;
    case C_TIMEOUT:
        if (units_parse_duration(v, &a->timeout_ns) < 0 || a->timeout_ns == 0) {
            snprintf(err, cap, "%s %s: not a duration > 0 (e.g. 500ms, 5s)", flag, v);
            return -1;
        }
        return 1;
    }
    return 0;
}

static const struct opt check_opts[] = {
    { C_URL, "--url", { NULL }, "URL", "the server (http://host:11434, http://host:8000/v1,\n"
                                       "https://host/v1); required" },
    { C_API, "--api", { NULL }, "KIND", "skip protocol detection: ollama-generate, ollama-chat,\n"
                                        "openai-chat, openai-completions (default auto)" },
    { C_TIMEOUT, "--timeout", { NULL }, "TIME", "for connecting and for each request (default 5s)" },
    { C_JSON, "--json", { NULL }, "FILE", "write the report as JSON" },
    { C_QUIET, "--quiet", { "-q" }, NULL, "print nothing; the exit code says it" },
};

static const struct opt_table check_table = OPT_TABLE(check_opts, check_apply);
static const struct opt_table *const check_tables[] = { &check_table, &cli_auth_table, NULL };

const struct opt_cmd cli_check_cmd = {
    .name = "check",
    .summary = "is a server up: protocol, version, models",
    .usage = "llmload check --url URL [--api KIND] [--api-key-file FILE] [--header 'NAME: VALUE']\n"
             "              [--proxy URL] [--cacert FILE | --insecure] [--cert FILE [--key FILE]]\n"
             "              [--timeout TIME] [--json FILE] [--quiet]",
    .about = "Reports whether the server at URL is reachable, the protocol it speaks (ollama or\n"
             "openai), its version when it tells (an OpenAI server without /version: llama.cpp's\n"
             "/props, else the system_fingerprint of a one-token generation), the models it has\n"
             "loaded, and whether it refuses the key (or its absence).  An https server is first\n"
             "met with one bare TLS handshake: the version, and whether its certificate was\n"
             "verified (--insecure is said loudly), or why it was refused (tls_verify: expired,\n"
             "wrong host name, unknown CA; tls_handshake: anything else of TLS).",
    .tables = check_tables,
    .epilog = "Exit codes: 0 the server is up, 1 it is down or refuses the key (unauthorized),\n"
              "2 usage error.",
};

int cmd_check(int argc, char **argv)
{
    struct check_args a = { .api = API_AUTO, .timeout_ns = 5000000000ull };
    char err[512];
    void *ud[] = { &a, &a.auth };
    int r = opt_parse(&cli_check_cmd, ud, argc, argv, 1, NULL, NULL, err, sizeof err);
    if ((r = cli_parse_result(&cli_check_cmd, r, err)) >= 0)
        return r;
    const char *url = a.url, *json = a.json;
    struct target_net net;
    if (!url || !*url) {
        fprintf(stderr, "llmload check: --url is required\n");
        return EXIT_USAGE;
    }
    if (cli_auth_net(&a.auth, &net, err, sizeof err) < 0) {
        fprintf(stderr, "llmload check: %s\n", err);
        return EXIT_USAGE;
    }
    /* Unreadable TLS files are the user's to fix (exit 2), not a down server. */
    if (!strncmp(url, "https://", 8) && tls_opts_check(&a.auth.tls, err, sizeof err) < 0) {
        fprintf(stderr, "llmload check: %s\n", err);
        return EXIT_USAGE;
    }
    struct out_file *out = NULL;
    if (json && !(out = out_open(json, err, sizeof err))) {
        fprintf(stderr, "llmload check: --json: %s\n", err);
        return EXIT_USAGE;
    }
    int usage;
    cJSON *info = target_probe(url, a.api, &net, a.timeout_ns, &usage);
    if (!info) {
        fprintf(stderr, "llmload check: out of memory\n");
        out_close(out);
        return EXIT_RUN;
    }
    if (usage) {
        fprintf(stderr, "llmload check: %s\n", jdoc_str(info, "error"));
        cJSON_Delete(info);
        out_close(out);
        return EXIT_USAGE;
    }
    /* A server that refuses the key is not usable: a failed check. */
    int up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "up")) &&
             !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "unauthorized"));
    if (!a.quiet)
        target_probe_print(up ? out_human() : stderr, url, info);
    int code = up ? EXIT_OK : EXIT_CHECK;
    if (out && report_commit_json(out, info, err, sizeof err) < 0) {
        fprintf(stderr, "llmload check: --json: %s\n", err);
        code = EXIT_RUN;
    }
    out_close(out);
    cJSON_Delete(info);
    return code;
}

