/* `llmload sweep`: its flags (the run flags plus the levels, --slo and the
 * find-max search) and the command.  The level loop is sweep/sweep.c. */
#include "cmd_sweep.h"
#include "cli_run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "engine.h"
#include "gate.h"
#include "prompts.h"
#include "report.h"
#include "units.h"

/* The flags that name a sweepable parameter, with the run parser's aliases. */
static int param_of_flag(const char *name, enum sweep_param *p)
{
    static const struct { const char *flag; enum sweep_param p; } tab[] = {
        { "--concurrency", SWEEP_CONCURRENCY }, { "-c", SWEEP_CONCURRENCY },
        { "--rate", SWEEP_RATE }, { "-r", SWEEP_RATE },
        { "--temperature", SWEEP_TEMPERATURE },
        { "--max-tokens", SWEEP_MAX_TOKENS }, { "--tokens", SWEEP_MAX_TOKENS },
        { "--prompt-set", SWEEP_PROMPT_SET },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(name, tab[i].flag)) {
            *p = tab[i].p;
            return 1;
        }
    return 0;
}

/* ---- flags ------------------------------------------------------------------ */

/* The flags only sweep and compare know, offered to cli_run_parse as extras. */
static const char *const sweep_flags[] = {
    "--knee-threshold", "--slo", "--find-max", "--find-max-start", "--find-max-limit",
    "--find-max-step", "--target",
};

struct extra_ctx { struct sweep_opts *o; int compare; };

static int x_takes_value(void *ud, const char *flag)
{
    struct extra_ctx *x = ud;
    for (size_t i = 0; i < sizeof sweep_flags / sizeof sweep_flags[0]; i++)
        if (!strcmp(flag, sweep_flags[i]))
            return (!strcmp(flag, "--target") && !x->compare) ? -1 : 1;
    return -1;
}

static int parse_positive(const char *flag, const char *v, double *out, char *err, size_t cap)
{
    if (units_parse_double(v, out) < 0 || *out <= 0) {
        snprintf(err, cap, "%s %s: must be a number > 0", flag, v);
        return -1;
    }
    return 1;
}

static int x_opt(void *ud, const char *flag, const char *v, char *err, size_t cap)
{
    struct extra_ctx *x = ud;
    struct sweep_opts *o = x->o;
    if (!strcmp(flag, "--knee-threshold")) {
        double t;
        if (units_parse_fraction(v, &t) < 0 || t <= 0 || t > 10) {
            snprintf(err, cap, "%s %s: a relative gain such as 10%% or 0.1", flag, v);
            return -1;
        }
        o->threshold = t;
        return 1;
    }
    if (!strcmp(flag, "--slo")) {
        if (o->nslo == SWEEP_MAX_SLO) {
            snprintf(err, cap, "%s: at most %d SLOs", flag, SWEEP_MAX_SLO);
            return -1;
        }
        char gerr[768];
        if (gate_expr_parse(v, &o->slo[o->nslo], gerr, sizeof gerr) < 0) {
            snprintf(err, cap, "%s '%s': %s", flag, v, gerr);
            return -1;
        }
        o->nslo++;
        return 1;
    }
    if (!strcmp(flag, "--find-max")) {
        if (!strcmp(v, "concurrency"))
            o->param = SWEEP_CONCURRENCY;
        else if (!strcmp(v, "rate"))
            o->param = SWEEP_RATE;
        else {
            snprintf(err, cap, "%s %s: unknown parameter (concurrency or rate)", flag, v);
            return -1;
        }
        o->find_max = 1;
        return 1;
    }
    if (!strcmp(flag, "--find-max-start"))
        return parse_positive(flag, v, &o->fm.start, err, cap);
    if (!strcmp(flag, "--find-max-limit"))
        return parse_positive(flag, v, &o->fm.limit, err, cap);
    if (!strcmp(flag, "--find-max-step"))
        return parse_positive(flag, v, &o->fm.step, err, cap);
    if (!strcmp(flag, "--target") && x->compare) {
        if (o->ntargets == SWEEP_MAX_TARGETS) {
            snprintf(err, cap, "%s: at most %d targets", flag, SWEEP_MAX_TARGETS);
            return -1;
        }
        const char *eq = strchr(v, '=');
        const char *url = eq ? eq + 1 : v;
        const char *colon = strstr(v, "://");
        /* NAME=URL; a bare URL is named by itself.  An '=' inside the URL's
         * query does not make a name. */
        if (eq && colon && colon < eq)
            url = v, eq = NULL;
        size_t nlen = eq ? (size_t)(eq - v) : strlen(url);
        if ((eq && nlen == 0) || !*url) {
            snprintf(err, cap, "%s %s: expected NAME=URL", flag, v);
            return -1;
        }
        char *name = malloc(nlen + 1);
        if (!name) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        memcpy(name, eq ? v : url, nlen);
        name[nlen] = '\0';
        for (size_t i = 0; i < o->ntargets; i++)
            if (!strcmp(o->targets[i].name, name)) {
                snprintf(err, cap, "%s %s: the name '%s' is used twice", flag, v, name);
                free(name);
                return -1;
            }
        o->targets[o->ntargets].name = name;
        o->targets[o->ntargets].url = url;
        o->ntargets++;
        return 1;
    }
    return 0;
}

static void x_help(void *ud, FILE *f)
{
    struct extra_ctx *x = ud;
    sweep_help_flags(f, x->compare);
}

void sweep_help_flags(FILE *f, int compare)
{
    fprintf(f,
        "sweep levels (one parameter; a comma-separated list makes it the swept one):\n"
        "  -c, --concurrency LIST     e.g. 1,2,5,10,20 (the default sweep)\n"
        "  -r, --rate LIST            open loop, requests/s, e.g. 1,2,4,8 (-c caps in-flight)\n"
        "  --temperature LIST         e.g. 0,0.3,0.7,1.0,1.5\n"
        "  --max-tokens LIST          e.g. 64,128,256\n"
        "  --prompt-set LIST          prompts (or the built-in sets tiny,short,...), one per level\n"
        "  --knee-threshold F         a step gaining less throughput than F is the knee (default 10%%)\n"
        "  --slo EXPR                 service level, e.g. 'p99(ttft)<=500ms' (repeatable; all must hold)\n"
        "  --find-max concurrency|rate  search the largest level meeting every --slo\n"
        "  --find-max-start X         first level of the search (default 1)\n"
        "  --find-max-limit X         never try above X (default 1024 for concurrency, 10000 for rate)\n"
        "  --find-max-step X          resolution of the search (default 1, or 5%% of a rate)\n"
        "  --json FILE                the sweep document: levels[] of full summaries, knee\n"
        "  --csv FILE                 one row per level\n");
    if (compare)
        fprintf(f,
            "  --target NAME=URL          a server to compare (repeatable, at least two)\n");
}

/* Splits "--flag=value" and "-cVALUE" like cli_run_parse does. */
static void split_flag(const char *arg, char *name, size_t cap, const char **val)
{
    const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
    *val = NULL;
    if (eq) {
        snprintf(name, cap, "%.*s", (int)(eq - arg), arg);
        *val = eq + 1;
    } else if (arg[0] == '-' && arg[1] && arg[1] != '-' && arg[2]) {
        snprintf(name, cap, "%.2s", arg);
        *val = arg + 2;
    } else {
        snprintf(name, cap, "%s", arg);
    }
}

static int parse_names(struct sweep_opts *o, const char *list, char *err, size_t cap)
{
    free(o->prompt_list);
    o->prompt_list = strdup(list);
    if (!o->prompt_list) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    char *p = o->prompt_list;
    size_t n = 0;
    for (int item = 1;; item++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p) {
            snprintf(err, cap, "--prompt-set %s: item %d is empty", list, item);
            return -1;
        }
        if (n == KNEE_MAX_LEVELS) {
            snprintf(err, cap, "--prompt-set: more than %d levels", KNEE_MAX_LEVELS);
            return -1;
        }
        o->names[n] = p;
        o->levels[n] = (double)n;
        /* A built-in set's name stands for its first prompt, so every level
         * of a length sweep asks the same question at its own length. */
        enum prompt_set ps;
        if (prompts_set_from_name(p, &ps) == 0 && !(o->prompts[n] = prompts_build(ps, 0))) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    o->nlevels = n;
    return 0;
}

static int parse_levels(struct sweep_opts *o, const char *flag, const char *list,
                        char *err, size_t cap)
{
    if (o->param == SWEEP_PROMPT_SET)
        return parse_names(o, list, err, cap);
    int integer = o->param == SWEEP_CONCURRENCY || o->param == SWEEP_MAX_TOKENS;
    int positive = o->param != SWEEP_TEMPERATURE;
    char lerr[160];
    int n = knee_list_parse(list, integer, positive, o->levels, KNEE_MAX_LEVELS, lerr, sizeof lerr);
    if (n < 0) {
        snprintf(err, cap, "%s %s: %s", flag, list, lerr);
        return -1;
    }
    double hi = o->levels[n - 1];
    double max = o->param == SWEEP_CONCURRENCY ? 1e6 : o->param == SWEEP_TEMPERATURE ? 100
               : o->param == SWEEP_MAX_TOKENS ? 1e7 : 1e9;
    if (hi > max) {
        snprintf(err, cap, "%s %s: %g is above the largest allowed value %g", flag, list, hi, max);
        return -1;
    }
    o->nlevels = (size_t)n;
    return 0;
}

int sweep_opts_parse(struct sweep_opts *o, struct run_cli *rc, int argc, char **argv, int compare,
                     char *err, size_t errcap)
{
    memset(o, 0, sizeof *o);
    memset(rc, 0, sizeof *rc);     /* sweep_cmd_free is safe from here on */
    o->cfg = &rc->cfg;
    o->wopts = &rc->wopts;
    gate_opts_init(&o->gate);
    o->threshold = 0.10;
    o->argv = calloc(3 * (size_t)argc + 1, sizeof *o->argv);   /* room for --rate 1 */
    if (!o->argv) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    int n = 0, i = 1;
    o->argv[n++] = argv[0];
    /* `compare a.json b.json ...`: result files come first. */
    while (compare && i < argc && argv[i][0] != '-') {
        if (o->nfiles == SWEEP_MAX_TARGETS) {
            snprintf(err, errcap, "at most %d result files", SWEEP_MAX_TARGETS);
            return -1;
        }
        o->files[o->nfiles++] = argv[i++];
    }
    /* Take out the level lists before the run parser sees them: for it,
     * -c and --rate take one number. */
    const char *list = NULL, *single_c = NULL;
    char list_flag[80] = "";      /* the list's flag as given, for messages */
    int have_list = 0, find_rate = 0;
    enum sweep_param list_param = SWEEP_CONCURRENCY;
    for (; i < argc; i++) {
        char name[64];
        const char *val;
        enum sweep_param p;
        split_flag(argv[i], name, sizeof name, &val);
        if (!strcmp(name, "--warmup"))
            o->warmup_given = 1;
        if (!strcmp(name, "--find-max") && ((val && !strcmp(val, "rate")) ||
                                            (!val && i + 1 < argc && !strcmp(argv[i + 1], "rate"))))
            find_rate = 1;
        if (!strcmp(name, "--raw")) {
            snprintf(err, errcap, "--raw is not available in %s (use run for per-request files)",
                     compare ? "compare" : "sweep");
            return -1;
        }
        if (argv[i][0] != '-' || !param_of_flag(name, &p)) {
            o->argv[n++] = argv[i];
            continue;
        }
        int sep = !val;
        if (sep) {
            if (i + 1 >= argc) {
                snprintf(err, errcap, "%s needs a value", name);
                return -1;
            }
            val = argv[i + 1];
        }
        if (p == SWEEP_PROMPT_SET || strchr(val, ',')) {
            if (have_list && list_param != p) {
                snprintf(err, errcap, "%s %s: only one parameter can be swept (--%s already has a list)",
                         name, val, sweep_param_name(list_param));
                return -1;
            }
            have_list = 1;
            list_param = p;
            list = val;
            snprintf(list_flag, sizeof list_flag, "%s%s", argv[i][1] == '-' ? "--" : "",
                     argv[i][1] == '-' ? sweep_param_name(p) : name);
            i += sep;
            /* The run parser checks that --arrival comes with a rate; each
             * level sets the real one. */
            if (p == SWEEP_RATE) {
                o->argv[n++] = (char *)"--rate";
                o->argv[n++] = (char *)"1";
            }
            continue;
        }
        if (p == SWEEP_CONCURRENCY)
            single_c = val;
        o->argv[n++] = argv[i];
        if (sep)
            o->argv[n++] = argv[++i];
    }
    if (find_rate) {
        o->argv[n++] = (char *)"--rate";     /* as for a rate list, above */
        o->argv[n++] = (char *)"1";
    }
    o->argv[n] = NULL;

    struct extra_ctx xc = { o, compare };
    struct cli_extra extra[2] = { { x_takes_value, x_opt, x_help, &xc }, cli_gate_extra(&o->gate) };
    if (cli_run_parse(rc, n, o->argv, 1, extra, 2, err, errcap) < 0)
        return -1;
    /* Baselines compare one benchmark with another; a sweep has many
     * levels, so they stay with `run`. */
    if (o->gate.baseline_path || o->gate.save_baseline_path || o->gate.regress_given ||
        o->gate.repeat > 1) {
        snprintf(err, errcap, "--baseline, --max-regression, --save-baseline and --repeat are for "
                 "llmload run; %s takes --assert, --junit and --markdown",
                 compare ? "compare" : "sweep");
        return -1;
    }
    if (gate_check_files(&o->gate, err, errcap) < 0)
        return -1;
    if (rc->help)
        return 0;
    struct run_config *c = &rc->cfg;
    /* --json and --csv are the sweep's own files, not each run's. */
    o->json_path = c->json_path;
    o->csv_path = c->csv_path;
    c->json_path = c->csv_path = c->raw_path = NULL;

    if (o->find_max) {
        if (have_list) {
            if (list_param == o->param)
                snprintf(err, errcap, "--find-max %s chooses the levels itself: drop the list of --%s",
                         sweep_param_name(o->param), sweep_param_name(o->param));
            else
                snprintf(err, errcap, "--find-max %s cannot be combined with a list for --%s",
                         sweep_param_name(o->param), sweep_param_name(list_param));
            return -1;
        }
        if (o->nslo == 0) {
            snprintf(err, errcap, "--find-max %s needs at least one --slo", sweep_param_name(o->param));
            return -1;
        }
        o->fm.integer = o->param == SWEEP_CONCURRENCY;
        if (o->fm.start <= 0)
            o->fm.start = 1;
        if (o->fm.limit <= 0)
            o->fm.limit = o->param == SWEEP_CONCURRENCY ? 1024 : 10000;
        if (o->fm.integer && (o->fm.start != floor(o->fm.start) || o->fm.limit != floor(o->fm.limit))) {
            snprintf(err, errcap, "--find-max concurrency: --find-max-start and --find-max-limit must be whole numbers");
            return -1;
        }
        if (o->fm.start > o->fm.limit) {
            snprintf(err, errcap, "--find-max-start %g is above --find-max-limit %g", o->fm.start, o->fm.limit);
            return -1;
        }
    } else if (have_list) {
        o->param = list_param;
        if (parse_levels(o, list_flag, list, err, errcap) < 0)
            return -1;
    } else {
        o->param = SWEEP_CONCURRENCY;
        if (parse_levels(o, "--concurrency", single_c ? single_c : "1,2,5,10,20", err, errcap) < 0)
            return -1;
    }
    if (compare && o->nfiles && o->ntargets) {
        snprintf(err, errcap, "give either result files or --target flags, not both");
        return -1;
    }
    if (compare && o->nfiles == 0 && o->ntargets == 0) {
        snprintf(err, errcap, "nothing to compare: give --target NAME=URL (twice or more) or result files");
        return -1;
    }
    if (compare && o->nfiles == 1) {
        snprintf(err, errcap, "one result file: give at least two to compare");
        return -1;
    }
    if (compare && o->ntargets && c->url[0]) {
        snprintf(err, errcap, "--url %s: compare takes --target NAME=URL instead", c->url);
        return -1;
    }
    return 0;
}

void sweep_cmd_free(struct sweep_opts *o, struct run_cli *rc)
{
    sweep_opts_free(o);
    workload_free(rc->cfg.workload);
    rc->cfg.workload = NULL;
}

/* ---- llmload sweep ---------------------------------------------------------------- */

static void sweep_usage(FILE *f)
{
    fprintf(f, "usage: llmload sweep [--url URL --model NAME] [--concurrency 1,2,5,10,20 | --rate LIST |\n"
               "                     --temperature LIST | --max-tokens LIST | --prompt-set LIST]\n"
               "                     [--slo EXPR] [--find-max concurrency|rate] [run options]\n\n"
               "Runs one full benchmark (with warm-up) per level of one parameter, prints a table\n"
               "with one row per level, and names the knee: the last level whose step up still\n"
               "gained --knee-threshold throughput, or the last one meeting every --slo.\n"
               "Without --url the built-in simulator is benchmarked (shape it with --mock-arg).\n\n");
    sweep_help_flags(f, 0);
    fprintf(f, "\nrun options (each level is a run with these):\n");
    cli_run_help_flags(f);
    fprintf(f, "\nExit codes: 0 ok, 2 usage error, 3 the sweep could not be done, 4 interrupted.\n");
}

int cmd_sweep(int argc, char **argv)
{
    struct sweep_opts o;
    struct run_cli rc;
    char err[1024];
    int code = EXIT_OK;
    if (sweep_opts_parse(&o, &rc, argc, argv, 0, err, sizeof err) < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_cmd_free(&o, &rc);
        return EXIT_USAGE;
    }
    if (rc.help) {
        sweep_usage(stdout);
        sweep_cmd_free(&o, &rc);
        return EXIT_OK;
    }
    if (cli_run_validate(&rc, err, sizeof err) < 0 ||
        (o.json_path && report_check_writable(o.json_path, err, sizeof err) < 0) ||
        (o.csv_path && report_check_writable(o.csv_path, err, sizeof err) < 0) ||
        (o.param != SWEEP_PROMPT_SET && cli_run_open_workload(&rc, err, sizeof err) < 0)) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_cmd_free(&o, &rc);
        return EXIT_USAGE;
    }
    pid_t mock = cli_run_start_mock(&rc, err, sizeof err);
    if (mock < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_cmd_free(&o, &rc);
        return EXIT_RUN;
    }
    if (mock > 0 && !rc.cfg.quiet)
        fprintf(stderr, "no --url given: sweeping the built-in simulator at %s\n", rc.cfg.url);
    enum sweep_status st = SWEEP_DONE;
    engine_catch_signals();
    cJSON *doc = sweep_execute(&o, "", rc.cfg.quiet ? NULL : stderr, &st, err, sizeof err);
    cli_run_stop_mock(mock);
    if (!doc) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_cmd_free(&o, &rc);
        return EXIT_RUN;
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "levels")) > 0)
        sweep_print(stdout, doc);
    if (o.json_path && report_write_json(o.json_path, doc, err, sizeof err) < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        code = EXIT_RUN;
    }
    if (o.csv_path && sweep_write_csv(o.csv_path, doc, err, sizeof err) < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        code = EXIT_RUN;
    }
    if (st == SWEEP_DONE && code == EXIT_OK && o.gate.n_asserts) {
        const cJSON *one = doc;
        code = sweep_gate_check(&o, NULL, &one, 1, stdout, err, sizeof err);
        if (code >= EXIT_USAGE)
            fprintf(stderr, "llmload sweep: %s\n", err);
    }
    if (st == SWEEP_INTERRUPTED)
        code = EXIT_INTERRUPTED;
    else if (st == SWEEP_DOWN) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
        fprintf(stderr, "llmload sweep: the target went down %s\n",
                cJSON_IsString(e) ? e->valuestring : "");
        code = EXIT_RUN;
    }
    cJSON_Delete(doc);
    sweep_cmd_free(&o, &rc);
    return code;
}
