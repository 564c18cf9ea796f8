/* `llmload check`: is a server up, what does it speak, what has it loaded. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "jdoc.h"
#include "probe.h"
#include "report.h"
#include "units.h"

/* ---- llmload check ----------------------------------------------------------- */

static void check_usage(FILE *f)
{
    fprintf(f, "usage: llmload check --url URL [--api KIND] [--timeout TIME] [--json FILE] [--quiet]\n\n"
               "Reports whether the server at URL is reachable, the protocol it speaks (ollama or\n"
               "openai), its version when it tells, and the models it has loaded.\n\n"
               "  --url URL        the server (http://host:11434, http://host:8000/v1)\n"
               "  --api KIND       skip protocol detection: ollama-generate, ollama-chat,\n"
               "                   openai-chat, openai-completions\n"
               "  --timeout TIME   for connecting and for each request (default 5s)\n"
               "  --json FILE      write the report as JSON\n"
               "  -q, --quiet      print nothing; the exit code says it\n\n"
               "Exit codes: 0 the server is up, 1 it is not, 2 usage error.\n");
}

int cmd_check(int argc, char **argv)
{
    const char *url = NULL, *json = NULL;
    enum api_kind api = API_AUTO;
    uint64_t timeout_ns = 5000000000ull;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *a = argv[i], *v = NULL;
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
            check_usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(name, "-q") || !strcmp(name, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (strcmp(name, "--url") && strcmp(name, "--api") && strcmp(name, "--timeout") &&
            strcmp(name, "--json")) {
            fprintf(stderr, "llmload check: unknown %s '%s' (see --help)\n",
                    a[0] == '-' ? "flag" : "argument", name);
            return EXIT_USAGE;
        }
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else {
            fprintf(stderr, "llmload check: %s needs a value\n", name);
            return EXIT_USAGE;
        }
        if (!strcmp(name, "--url"))
            url = v;
        else if (!strcmp(name, "--json"))
            json = v;
        else if (!strcmp(name, "--api")) {
            if (api_from_name(v, &api) < 0) {
                fprintf(stderr, "llmload check: --api %s: unknown API (auto, ollama-generate, "
                                "ollama-chat, openai-chat, openai-completions)\n", v);
                return EXIT_USAGE;
            }
        } else if (units_parse_duration(v, &timeout_ns) < 0 || timeout_ns == 0) {
            fprintf(stderr, "llmload check: --timeout %s: not a duration > 0 (e.g. 500ms, 5s)\n", v);
            return EXIT_USAGE;
        }
    }
    char err[512];
    if (!url || !*url) {
        fprintf(stderr, "llmload check: --url is required\n");
        return EXIT_USAGE;
    }
    if (json && report_check_writable(json, err, sizeof err) < 0) {
        fprintf(stderr, "llmload check: --json %s\n", err);
        return EXIT_USAGE;
    }
    int usage;
    cJSON *info = target_probe(url, api, timeout_ns, &usage);
    if (!info) {
        fprintf(stderr, "llmload check: out of memory\n");
        return EXIT_RUN;
    }
    if (usage) {
        fprintf(stderr, "llmload check: %s\n", jdoc_str(info, "error"));
        cJSON_Delete(info);
        return EXIT_USAGE;
    }
    int up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "up"));
    if (!quiet)
        target_probe_print(up ? stdout : stderr, url, info);
    int code = up ? EXIT_OK : EXIT_CHECK;
    if (json && report_write_json(json, info, err, sizeof err) < 0) {
        fprintf(stderr, "llmload check: %s\n", err);
        code = EXIT_USAGE;
    }
    cJSON_Delete(info);
    return code;
}

