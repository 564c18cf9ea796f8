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
#include "fileio.h"
#include "engine.h"
#include "gate.h"
#include "prompts.h"
#include "report.h"
#include "target.h"
#include "units.h"

/* ---- flags ------------------------------------------------------------------ */

/* The flags only sweep and compare know, and the run flags they give
 * another meaning: a level list, the sweep's own --json and --csv. */
enum sweep_flag {
    /* the level flags are their parameter */
    S_CONC = SWEEP_CONCURRENCY, S_RATE = SWEEP_RATE, S_TEMP = SWEEP_TEMPERATURE,
    S_MAXTOK = SWEEP_MAX_TOKENS, S_PROMPTSET = SWEEP_PROMPT_SET, S_MODEL = SWEEP_MODEL,
    S_KNEE = SWEEP__N, S_SLO, S_GOODPUT, S_FINDMAX, S_FM_START, S_FM_LIMIT, S_FM_STEP, S_JSON, S_CSV, S_TARGET,
    S_COST, S_ROUNDS,
};

/* What the parse gathers before the levels can be read. */
struct sweep_parse {
    struct sweep_opts *o;
    const char *list;               /* the swept parameter's list */
    char list_flag[64];             /* its flag as given, for messages */
    enum sweep_param list_param;
    int have_list;
    const char *single_c;           /* -c N: the one level of a default sweep */
};

static int sweep_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                       char *err, size_t cap);

static const struct opt sweep_opts_tab[] = {
    OPT_SECTION("sweep levels (one parameter; a comma-separated list makes it the swept one)"),
    { S_CONC, "--concurrency", { "-c" }, "LIST", "e.g. 1,2,5,10,20 (the default sweep)" },
    { S_RATE, "--rate", { "-r" }, "LIST", "open loop, requests/s, e.g. 1,2,4,8 (-c caps in-flight)" },
    { S_TEMP, "--temperature", { NULL }, "LIST", "e.g. 0,0.3,0.7,1.0,1.5" },
    { S_MAXTOK, "--max-tokens", { "--tokens" }, "LIST", "e.g. 64,128,256" },
    { S_PROMPTSET, "--prompt-set", { NULL }, "LIST", "prompts (or the built-in sets tiny,short,...), one per level" },
    { S_MODEL, "--model", { NULL }, "LIST", "models of one server, e.g. llama3:8b,gemma3:27b: each at\n"
                                            "the same load, and the one to recommend" },
    { S_KNEE, "--knee-threshold", { NULL }, "F", "within F of the peak throughput is saturated; sending F\n"
                                                 "short of the offered rate is past the knee (default 10%)" },
    { S_SLO, "--slo", { NULL }, "EXPR", "service level (repeatable; all must hold): per request, e.g.\n"
                                        "'ttft<=1s,itl_max<=200ms' (goodput, attainment), or over the\n"
                                        "level, e.g. 'p99(ttft)<=500ms' (knee, find-max)" },
    { S_GOODPUT, "--goodput", { NULL }, "TARGET|KEY:MS", "with --find-max: the attainment a level must meet,\n"
                                        "e.g. 95% (Wilson lower bound); or vLLM's limits 'ttft:500 tpot:50'" },
    { S_FINDMAX, "--find-max", { NULL }, "concurrency|rate", "search the largest level meeting every --slo\n"
                                        "(and --goodput), then hold it once more" },
    { S_FM_START, "--find-max-start", { NULL }, "X", "first level of the search (default 1)" },
    { S_FM_LIMIT, "--find-max-limit", { NULL }, "X", "never try above X (default 1024 for concurrency, 10000 for rate)" },
    { S_FM_STEP, "--find-max-step", { NULL }, "X", "resolution of the search (default 1, or 5% of a rate)" },
    OPT_NOTE("One value (-c 8, --rate 4) sets that parameter for every level, as in run."),

    OPT_SECTION("sweep outputs"),
    { S_JSON, "--json", { NULL }, "FILE", "the sweep document: levels[] of full summaries, knee" },
    { S_CSV, "--csv", { NULL }, "FILE", "one row per level" },
};

const struct opt_table sweep_opt_table = OPT_TABLE(sweep_opts_tab, sweep_apply);

static const struct opt compare_opts_tab[] = {
    OPT_SECTION("targets and outputs"),
    { S_TARGET, "--target", { NULL }, "NAME=URL[@MODEL]", "a server to compare (repeatable, at least two);\n"
                                                          "@MODEL gives it its own model (after the URL's last '@')" },
    { S_ROUNDS, "--rounds", { NULL }, "K", "split each level's requests (or duration) into K rounds,\n"
                                           "the targets alternating, so drift on the machine falls on\n"
                                           "all of them; the interval then comes from the rounds (default 1)" },
    { S_COST, "--cost", { NULL }, "NAME=USD_PER_HOUR", "the target's price: dollars per million good output\n"
                                                         "tokens in the recommendation (repeatable)" },
    { S_JSON, "--json", { NULL }, "FILE", "the compare document: every target's sweep, the winners,\n"
                                          "the recommendation" },
    { S_CSV, "--csv", { NULL }, "FILE", "one row per target and level" },
};

const struct opt_table compare_opt_table = OPT_TABLE(compare_opts_tab, sweep_apply);

/* A sweep has many levels: baselines compare one benchmark with another. */
#define BASELINE_WHY "a sweep has many levels; baselines are for llmload run"
const struct opt_omit sweep_omit[] = {
    { "--raw", "use llmload run for per-request files" },
    { "--baseline", BASELINE_WHY },
    { "--max-regression", BASELINE_WHY },
    { "--save-baseline", BASELINE_WHY },
    { "--repeat", BASELINE_WHY },
    { "--requests-per-thread", "a sweep's -c is a list of levels: give -n" },
    { "--shard", "a sweep is a run per level: spread it over cores with --workers" },
    { "--start-at", "a sweep is a run per level: shards and their start are for llmload run" },
    { NULL, NULL },
};

static int parse_positive(const char *flag, const char *v, double *out, char *err, size_t cap)
{
    if (units_parse_double(v, out) < 0 || *out <= 0) {
        snprintf(err, cap, "%s %s: must be a number > 0", flag, v);
        return -1;
    }
    return 1;
}

/* --target NAME=URL[@MODEL]; a bare URL is named by itself. */
static int add_target(struct sweep_opts *o, const char *flag, const char *v, char *err, size_t cap)
{
    if (o->ntargets == SWEEP_MAX_TARGETS) {
        snprintf(err, cap, "%s: at most %d targets", flag, SWEEP_MAX_TARGETS);
        return -1;
    }
    const char *eq = strchr(v, '=');
    const char *url = eq ? eq + 1 : v;
    const char *colon = strstr(v, "://");
    /* An '=' inside the URL's query does not make a name. */
    if (eq && colon && colon < eq)
        url = v, eq = NULL;
    const char *at = target_model_at(url);
    size_t ulen = at ? (size_t)(at - url) : strlen(url);
    size_t nlen = eq ? (size_t)(eq - v) : ulen;
    if ((eq && nlen == 0) || ulen == 0 || (at && !at[1])) {
        snprintf(err, cap, "%s %s: expected NAME=URL or NAME=URL@MODEL", flag, v);
        return -1;
    }
    struct sweep_target *t = &o->targets[o->ntargets];
    t->name = strndup(eq ? v : url, nlen);
    t->url = strndup(url, ulen);
    t->model = at ? strdup(at + 1) : NULL;
    if (!t->name || !t->url || (at && !t->model)) {
        free(t->name);
        free(t->url);
        free(t->model);
        memset(t, 0, sizeof *t);
        snprintf(err, cap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < o->ntargets; i++)
        if (!strcmp(o->targets[i].name, t->name)) {
            snprintf(err, cap, "%s %s: the name '%s' is used twice", flag, v, t->name);
            free(t->name);
            free(t->url);
            free(t->model);
            memset(t, 0, sizeof *t);
            return -1;
        }
    o->ntargets++;
    return 1;
}

/* --cost NAME=USD_PER_HOUR. */
static int add_cost(struct sweep_opts *o, const char *flag, const char *v, char *err, size_t cap)
{
    const char *eq = strrchr(v, '=');
    double usd;
    if (!eq || eq == v || units_parse_double(eq + 1, &usd) < 0 || !(usd >= 0) || !isfinite(usd)) {
        snprintf(err, cap, "%s %s: expected NAME=USD_PER_HOUR, e.g. a=2.5", flag, v);
        return -1;
    }
    if (o->ncosts == SWEEP_MAX_TARGETS) {
        snprintf(err, cap, "%s: at most %d prices", flag, SWEEP_MAX_TARGETS);
        return -1;
    }
    char *name = strndup(v, (size_t)(eq - v));
    if (!name) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < o->ncosts; i++)
        if (!strcmp(o->costs[i].name, name)) {
            snprintf(err, cap, "%s %s: '%s' has a price already", flag, v, name);
            free(name);
            return -1;
        }
    o->costs[o->ncosts].name = name;
    o->costs[o->ncosts++].usd_per_hour = usd;
    return 1;
}

/* A level flag: a list is the swept parameter; one value is the run flag's
 * (declined, so the run table applies it). */
static int level_flag(struct sweep_parse *x, enum sweep_param p, const char *flag, const char *v,
                      char *err, size_t cap)
{
    if (p != SWEEP_PROMPT_SET && !strchr(v, ',')) {
        /* One model is the run flag's --model. */
        if (p == SWEEP_CONCURRENCY)
            x->single_c = v;
        return 0;
    }
    if (x->have_list && x->list_param != p) {
        snprintf(err, cap, "%s %s: only one parameter can be swept (--%s already has a list)",
                 flag, v, sweep_param_name(x->list_param));
        return -1;
    }
    x->have_list = 1;
    x->list_param = p;
    x->list = v;
    snprintf(x->list_flag, sizeof x->list_flag, "%s", flag);
    return 1;
}

static int sweep_apply(void *ud, const struct opt *opt, const char *flag, const char *v,
                       char *err, size_t cap)
{
    struct sweep_parse *x = ud;
    struct sweep_opts *o = x->o;
    switch ((enum sweep_flag)opt->id) {
    case S_CONC: case S_RATE: case S_TEMP: case S_MAXTOK: case S_PROMPTSET: case S_MODEL:
        return level_flag(x, (enum sweep_param)opt->id, flag, v, err, cap);
    case S_KNEE: {
        double t;
        if (units_parse_fraction(v, &t) < 0 || t <= 0 || t > 10) {
            snprintf(err, cap, "%s %s: a relative gain such as 10%% or 0.1", flag, v);
            return -1;
        }
        o->threshold = t;
        return 1;
    }
    case S_SLO: {
        struct cli_slo_agg agg = { o->slo, o->nslo, SWEEP_MAX_SLO };
        if (cli_slo_opt(o->cfg, &agg, flag, v, err, cap) < 0)
            return -1;
        o->nslo = agg.n;
        return 1;
    }
    case S_GOODPUT:
        return cli_goodput_opt(o->cfg, &o->fm.goodput, flag, v, err, cap) < 0 ? -1 : 1;
    case S_FINDMAX:
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
    case S_FM_START: return parse_positive(flag, v, &o->fm.start, err, cap);
    case S_FM_LIMIT: return parse_positive(flag, v, &o->fm.limit, err, cap);
    case S_FM_STEP: return parse_positive(flag, v, &o->fm.step, err, cap);
    case S_JSON: o->json_path = v; return 1;
    case S_CSV: o->csv_path = v; return 1;
    case S_TARGET: return add_target(o, flag, v, err, cap);
    case S_COST: return add_cost(o, flag, v, err, cap);
    case S_ROUNDS: {
        double k;
        if (units_parse_double(v, &k) < 0 || k < 1 || k > SWEEP_MAX_ROUNDS || k != floor(k)) {
            snprintf(err, cap, "%s %s: a whole number from 1 to %d", flag, v, SWEEP_MAX_ROUNDS);
            return -1;
        }
        o->rounds = (unsigned)k;
        return 1;
    }
    }
    return 0;
}

static int parse_names(struct sweep_opts *o, const char *flag, const char *list, char *err, size_t cap)
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
            snprintf(err, cap, "%s %s: item %d is empty", flag, list, item);
            return -1;
        }
        if (n == KNEE_MAX_LEVELS) {
            snprintf(err, cap, "%s: more than %d levels", flag, KNEE_MAX_LEVELS);
            return -1;
        }
        o->names[n] = p;
        o->levels[n] = (double)n;
        /* A built-in set's name stands for its first prompt, so every level
         * of a length sweep asks the same question at its own length. */
        enum prompt_set ps;
        if (o->param == SWEEP_MODEL) {
            if (strlen(p) >= sizeof o->cfg->model) {
                snprintf(err, cap, "%s: model name '%s' is too long", flag, p);
                return -1;
            }
        } else if (prompts_set_from_name(p, &ps) == 0 && !(o->prompts[n] = prompts_build(ps, 0))) {
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
    if (sweep_param_named(o->param))
        return parse_names(o, flag, list, err, cap);
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
    cli_run_init(rc);              /* sweep_cmd_free is safe from here on */
    o->cfg = &rc->cfg;
    o->wopts = &rc->wopts;
    gate_opts_init(&o->gate);
    o->threshold = 0.10;
    struct sweep_parse x = { .o = o, .list_param = SWEEP_CONCURRENCY };
    /* The user data of each table of cli_compare_cmd; cli_sweep_cmd lacks
     * the first. */
    void *ud[] = { &x, &x, rc, &rc->auth, &rc->wopts, &o->gate, &rc->obs.opts, &rc->obs.opts, &rc->scale };
    const struct opt_cmd *cmd = compare ? &cli_compare_cmd : &cli_sweep_cmd;
    int r = opt_parse(cmd, compare ? ud : ud + 1, argc, argv, 1, o->files, &o->nfiles, err, errcap);
    if (r != OPT_OK)
        return r;
    o->warmup_given = rc->warmup_given;
    /* The run flags want a rate with --arrival; each level (or the search)
     * sets the real one. */
    if (((x.have_list && x.list_param == SWEEP_RATE) || (o->find_max && o->param == SWEEP_RATE)) &&
        rc->cfg.rate <= 0)
        rc->cfg.rate = 1;
    /* A model list names the run's models: the first stands for the run
     * flag's --model until each level sets its own. */
    if (x.have_list && x.list_param == SWEEP_MODEL) {
        size_t len = strcspn(x.list, ",");
        if (len == 0 || len >= sizeof rc->cfg.model) {
            snprintf(err, errcap, "%s %s: item 1 is %s", x.list_flag, x.list, len ? "too long" : "empty");
            return OPT_ERROR;
        }
        snprintf(rc->cfg.model, sizeof rc->cfg.model, "%.*s", (int)len, x.list);
        rc->model_given = 1;
    }
    if (cli_run_finish(rc, err, errcap) < 0 || gate_check_files(&o->gate, err, errcap) < 0)
        return OPT_ERROR;
    struct run_config *c = &rc->cfg;
    if (o->fm.goodput > 0 && !o->find_max) {
        snprintf(err, errcap, "--goodput %g%%: a target attainment is for --find-max concurrency|rate",
                 o->fm.goodput * 100);
        return -1;
    }
    if (o->find_max) {
        if (x.have_list) {
            if (x.list_param == o->param)
                snprintf(err, errcap, "--find-max %s chooses the levels itself: drop the list of --%s",
                         sweep_param_name(o->param), sweep_param_name(o->param));
            else
                snprintf(err, errcap, "--find-max %s cannot be combined with a list for --%s",
                         sweep_param_name(o->param), sweep_param_name(x.list_param));
            return -1;
        }
        if (o->nslo == 0 && !(o->fm.goodput > 0)) {
            snprintf(err, errcap, "--find-max %s needs at least one --slo%s", sweep_param_name(o->param),
                     c->slo.n ? " over the level, or --goodput TARGET (e.g. 95%) for the per-request "
                                "limits" : "");
            return -1;
        }
        if (o->fm.goodput > 0 && !c->slo.n) {
            snprintf(err, errcap, "--goodput %g%%: needs per-request limits, e.g. --slo 'ttft<=1s'",
                     o->fm.goodput * 100);
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
        if (o->param == SWEEP_RATE && cli_run_check_rate(c, o->fm.start, err, errcap) < 0)
            return -1;
    } else if (x.have_list) {
        o->param = x.list_param;
        if (parse_levels(o, x.list_flag, x.list, err, errcap) < 0)
            return -1;
        /* The lowest rate is the one that could send nothing. */
        if (o->param == SWEEP_RATE && cli_run_check_rate(c, o->levels[0], err, errcap) < 0)
            return -1;
    } else {
        o->param = SWEEP_CONCURRENCY;
        if (parse_levels(o, "--concurrency", x.single_c ? x.single_c : "1,2,5,10,20", err, errcap) < 0)
            return -1;
    }
    /* --workers: each level's run in that many processes; the largest
     * level decides whether the descriptors suffice. */
    uint32_t peak = c->concurrency;
    if (o->param == SWEEP_CONCURRENCY && o->find_max)
        peak = (uint32_t)o->fm.limit;
    else if (o->param == SWEEP_CONCURRENCY)
        for (size_t i = 0; i < o->nlevels; i++)
            peak = i == 0 || o->levels[i] > peak ? (uint32_t)o->levels[i] : peak;
    if (scale_opts_apply_levels(&rc->scale, c, peak, err, errcap) < 0)
        return -1;
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

int sweep_cmd_parse(struct sweep_opts *o, struct run_cli *rc, int argc, char **argv, int compare)
{
    char err[1024];
    int r = sweep_opts_parse(o, rc, argc, argv, compare, err, sizeof err);
    r = cli_parse_result(compare ? &cli_compare_cmd : &cli_sweep_cmd, r, err);
    if (r >= 0)
        sweep_cmd_free(o, rc);
    return r;
}

void sweep_cmd_free(struct sweep_opts *o, struct run_cli *rc)
{
    sweep_opts_free(o);
    scale_opts_free(&rc->scale);
    workload_free(rc->cfg.workload);
    rc->cfg.workload = NULL;
}

/* ---- llmload sweep ---------------------------------------------------------------- */

static const struct opt_table *const sweep_tables[] = {
    &sweep_opt_table, &cli_run_table, &cli_auth_table, &workload_opt_table, &gate_opt_table,
    &obs_run_opt_table, &obs_push_opt_table, &scale_opt_table, NULL,
};

const struct opt_cmd cli_sweep_cmd = {
    .name = "sweep",
    .summary = "one parameter over a list of levels; finds the knee",
    .usage = "llmload sweep [--url URL --model NAME] [--concurrency 1,2,5,10,20 | --rate LIST |\n"
             "              --temperature LIST | --max-tokens LIST | --prompt-set LIST |\n"
             "              --model LIST]\n"
             "              [--slo EXPR] [--find-max concurrency|rate] [run options]",
    .about = "Runs one full benchmark (with warm-up) per level of one parameter, prints a table\n"
             "with one row per level, and names the knee: the smallest level whose throughput\n"
             "is within --knee-threshold of the peak of all levels (a dip on the way up is not\n"
             "the knee), confirmed by latency rising with the load after it; for rates, the\n"
             "last level that sends its offered rate; or the last one meeting every --slo.\n"
             "Each level is a run with the run options below.  Without --url the built-in\n"
             "simulator is benchmarked (shape it with --mock-arg).",
    .tables = sweep_tables,
    .omit = sweep_omit,
    .epilog = "Exit codes: 0 ok, 1 an --assert failed, 2 usage error, 3 the sweep could not be\n"
              "done, 4 interrupted.",
};

int cmd_sweep(int argc, char **argv)
{
    struct sweep_opts o;
    struct run_cli rc;
    char err[1024];
    int code = EXIT_OK;
    int pr = sweep_cmd_parse(&o, &rc, argc, argv, 0);
    if (pr >= 0)
        return pr;
    if (cli_run_validate(&rc, err, sizeof err) < 0 ||
        sweep_open_outputs(&o, err, sizeof err) < 0 || cli_run_check_pictures(&rc, err, sizeof err) < 0 ||
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
    cli_obs_sweep(&rc.obs, &o, "sweep");
    cJSON *doc = sweep_execute(&o, "", rc.cfg.quiet ? NULL : stderr, &st, err, sizeof err);
    cli_run_stop_mock(mock);
    if (!doc) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        sweep_cmd_free(&o, &rc);
        return EXIT_RUN;
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "levels")) > 0)
        sweep_print(out_human(), doc);
    /* Both outputs are written before either failure decides the code; a
     * level's push that failed is an output lost too. */
    int lost = rc.obs.push_failures > 0 || cli_obs_result(&rc.obs, doc, NULL, NULL) < 0;
    if (o.json_out && report_commit_json(o.json_out, doc, err, sizeof err) < 0) {
        fprintf(stderr, "llmload sweep: --json: %s\n", err);
        lost = 1;
    }
    if (o.csv_out && sweep_commit_csv(o.csv_out, doc, err, sizeof err) < 0) {
        fprintf(stderr, "llmload sweep: %s\n", err);
        lost = 1;
    }
    const cJSON *one = doc;
    if (cli_run_write_pictures(&rc, "sweep", &one, 1, 0) < 0)
        lost = 1;
    if (lost)
        code = EXIT_RUN;
    if (st == SWEEP_DONE && code == EXIT_OK && o.gate.n_asserts) {
        code = sweep_gate_check(&o, NULL, &one, 1, out_human(), err, sizeof err);
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
