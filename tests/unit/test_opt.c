/* The option parser and the generated help (util/opt.c), on two small
 * tables: a command's own table that redefines a flag of a shared one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "color.h"
#include "opt.h"
#include "util.h"

enum { B_COUNT, B_TIME, B_QUIET, B_OUT, B_NAME, B_TAG };

/* What the handlers saw. */
struct seen {
    char log[512];          /* "flag=value;" for each call, in order */
    int declined;           /* the own table's calls that it passed on */
    char own_out[64];
};

static void note(struct seen *s, const char *who, const char *flag, const char *value)
{
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "%s%s=%s;", who, flag, value ? value : "(none)");
}

static int base_apply(void *ud, const struct opt *o, const char *flag, const char *value,
                      char *err, size_t errcap)
{
    struct seen *s = ud;
    if (o->id == B_COUNT && value && !strcmp(value, "bad")) {
        util_errf(err, errcap, "%s %s: not a whole number", flag, value);
        return -1;
    }
    note(s, "", o->name, value);
    return 1;
}

static const struct opt base_opts[] = {
    OPT_SECTION("shared"),
    { B_COUNT, "--count", { "-n" }, "N", "how many (default 1)" },
    { B_TIME, "--time", { "-t", "--duration", "--for" }, "TIME", "how long, e.g. 5s\nsecond line" },
    { B_QUIET, "--quiet", { "-q" }, NULL, "say nothing" },
    { B_OUT, "--out", { NULL }, "FILE", "the shared meaning of --out" },
    { B_NAME, "--a-rather-long-flag-name", { NULL }, "PLACEHOLDER", "wraps" },
    OPT_NOTE("a note under the flags"),
};
static const struct opt_table base_table = OPT_TABLE(base_opts, base_apply);

/* The command's own table: --out means something else here, and --count
 * takes a list, leaving one number to the shared table. */
static int own_apply(void *ud, const struct opt *o, const char *flag, const char *value,
                     char *err, size_t errcap)
{
    struct seen *s = ud;
    (void)err;
    (void)errcap;
    if (o->id == B_COUNT && !strchr(value, ',')) {
        s->declined++;
        return 0;
    }
    if (o->id == B_OUT)
        snprintf(s->own_out, sizeof s->own_out, "%s", value);
    note(s, "own", flag, value);
    return 1;
}

static const struct opt own_opts[] = {
    OPT_SECTION("own"),
    { B_COUNT, "--count", { "-n" }, "LIST", "a list of counts" },
    { B_OUT, "--out", { NULL }, "FILE", "the command's meaning of --out" },
    { B_TAG, "--tag", { NULL }, "T", "repeatable" },
};
static const struct opt_table own_table = OPT_TABLE(own_opts, own_apply);

static const struct opt_table *const tables[] = { &own_table, &base_table, NULL };
static const struct opt_omit omit[] = { { "--quiet", "it is never quiet" }, { NULL, NULL } };

static const struct opt_cmd cmd = {
    .name = "demo", .summary = "a demo", .usage = "llmload demo [options] [WORD...]\nllmload demo --help",
    .about = "Does nothing.", .tables = tables, .args = "WORD", .max_args = 2,
    .epilog = "The end.",
};
static const struct opt_cmd cmd_noargs = {
    .name = "flat", .summary = "no arguments", .usage = "llmload flat", .tables = tables + 1,
    .omit = omit,
};

/* Parses a space-separated line (argv[0] is the command). */
static int parse(const struct opt_cmd *c, struct seen *s, const char *line, const char **args,
                 size_t *nargs, char *err, size_t cap)
{
    static char buf[512];
    static char *argv[32];
    int argc = 0;
    memset(s, 0, sizeof *s);
    snprintf(buf, sizeof buf, "demo %s", line);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    void *ud[] = { s, s };
    err[0] = '\0';
    return opt_parse(c, c == &cmd ? ud : ud + 1, argc, argv, 1, args, nargs, err, cap);
}

static void test_forms(void **state)
{
    (void)state;
    struct seen s;
    char err[256];
    const char *args[2];
    size_t n;
    assert_int_equal(parse(&cmd_noargs, &s, "--count 3 --count=4 -n5 -n 6 -t=1s --for 2s --out=",
                           NULL, NULL, err, sizeof err), OPT_OK);
    /* Each handler sees the name of its entry, whatever the spelling. */
    assert_string_equal(s.log, "--count=3;--count=4;--count=5;--count=6;--time==1s;--time=2s;"
                               "--out=;");
    /* A value that starts with a dash is still the flag's value. */
    assert_int_equal(parse(&cmd_noargs, &s, "--count -1", NULL, NULL, err, sizeof err), OPT_OK);
    assert_string_equal(s.log, "--count=-1;");
    /* Positional arguments, "-" among them; "--" ends the flags. */
    assert_int_equal(parse(&cmd, &s, "one --tag x - ", args, &n, err, sizeof err), OPT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(args[0], "one");
    assert_string_equal(args[1], "-");
    assert_int_equal(parse(&cmd, &s, "--tag x -- --tag", args, &n, err, sizeof err), OPT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(args[0], "--tag");
    assert_string_equal(s.log, "own--tag=x;");
    assert_int_equal(parse(&cmd, &s, "-q", args, &n, err, sizeof err), OPT_OK);
    assert_string_equal(s.log, "--quiet=(none);");
}

static void test_errors(void **state)
{
    (void)state;
    struct seen s;
    char err[256];
    const char *args[2];
    size_t n;
    static const struct { const struct opt_cmd *c; const char *line, *msg; } bad[] = {
        { &cmd, "--cuont 3", "unknown flag '--cuont'; did you mean --count?" },
        { &cmd, "--tim 3", "unknown flag '--tim'; did you mean --time?" },
        { &cmd, "--durat 3", "unknown flag '--durat'; did you mean --duration?" },
        { &cmd, "--bogus", "unknown flag '--bogus' (see llmload demo --help)" },
        { &cmd, "-x", "unknown flag '-x' (see llmload demo --help)" },
        { &cmd, "-xyz", "unknown flag '-xyz' (see llmload demo --help)" },
        { &cmd, "--hlep", "unknown flag '--hlep'; did you mean --help?" },
        { &cmd, "--count", "--count needs a value (LIST)" },
        { &cmd, "-t", "-t needs a value (TIME)" },
        { &cmd, "--quiet=yes", "--quiet takes no value (got 'yes')" },
        { &cmd, "-qq", "-q takes no value (got 'q')" },
        { &cmd, "--help=me", "--help takes no value (got 'me')" },
        { &cmd, "--count bad", "--count bad: not a whole number" },
        { &cmd, "a b c", "unexpected argument 'c': give 2 WORD at most" },
        { &cmd_noargs, "word", "unexpected argument 'word' (llmload flat takes only flags; see --help)" },
        { &cmd_noargs, "--", "unknown flag '--' (see llmload flat --help)" },
        { &cmd_noargs, "-q", "-q is not a flag of llmload flat (it is never quiet)" },
        { &cmd_noargs, "--tag x", "unknown flag '--tag' (see llmload flat --help)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i].c, &s, bad[i].line, args, &n, err, sizeof err), OPT_ERROR);
        if (strcmp(err, bad[i].msg))
            fail_msg("'%s' gave '%s', not '%s'", bad[i].line, err, bad[i].msg);
    }
    /* The refused flag is refused under its alias too ("-q" above), but a
     * refused flag is not an error for a command that keeps it. */
    assert_int_equal(parse(&cmd, &s, "-q", args, &n, err, sizeof err), OPT_OK);
}

static void test_help_flag_and_precedence(void **state)
{
    (void)state;
    struct seen s;
    char err[256];
    const char *args[2];
    size_t n;
    /* --help wins when met, but an error before it is still an error. */
    assert_int_equal(parse(&cmd, &s, "--tag x -h --bogus", args, &n, err, sizeof err), OPT_HELP);
    assert_int_equal(parse(&cmd, &s, "--bogus --help", args, &n, err, sizeof err), OPT_ERROR);
    /* The command's table owns --out; its --count takes a list and passes
     * one number on to the shared table. */
    assert_int_equal(parse(&cmd, &s, "--out o.json -n 1,2 --count 7 --tag a --tag b", args, &n, err,
                           sizeof err), OPT_OK);
    assert_string_equal(s.log, "own--out=o.json;own-n=1,2;--count=7;own--tag=a;own--tag=b;");
    assert_string_equal(s.own_out, "o.json");
    assert_int_equal(s.declined, 1);
    size_t k = 9;
    assert_ptr_equal(opt_lookup(&cmd, "--out", &k), &own_opts[2]);
    assert_int_equal(k, 0);
    assert_ptr_equal(opt_lookup(&cmd, "--for", &k), &base_opts[2]);
    assert_int_equal(k, 1);
    assert_ptr_equal(opt_lookup(&cmd, "-h", NULL), &opt_help_entry);
    assert_null(opt_lookup(&cmd_noargs, "--quiet", NULL));
    assert_null(opt_lookup(&cmd, "--nope", NULL));
    /* One table alone, as a module's own helper uses it. */
    assert_int_equal(opt_apply1(&base_table, &s, "--nope", "1", err, sizeof err), 0);
    assert_int_equal(opt_apply1(&base_table, &s, "-t", NULL, err, sizeof err), -1);
    assert_string_equal(err, "-t needs a value (TIME)");
    assert_int_equal(opt_apply1(&base_table, &s, "-q", "1", err, sizeof err), -1);
    assert_int_equal(opt_apply1(&base_table, &s, "-t", "1s", err, sizeof err), 1);
}

static void test_version_and_color(void **state)
{
    (void)state;
    struct seen s;
    char err[256];
    const char *args[2];
    size_t n;
    assert_int_equal(parse(&cmd, &s, "--tag x --version --bogus", args, &n, err, sizeof err), OPT_VERSION);
    assert_int_equal(parse(&cmd_noargs, &s, "-V", NULL, NULL, err, sizeof err), OPT_VERSION);
    assert_int_equal(parse(&cmd, &s, "--color=always", args, &n, err, sizeof err), OPT_OK);
    assert_int_equal(color_get(), COLOR_ALWAYS);
    assert_string_equal(color(stderr, COLOR_RED), COLOR_RED);
    assert_int_equal(parse(&cmd_noargs, &s, "--color never", NULL, NULL, err, sizeof err), OPT_OK);
    assert_int_equal(color_get(), COLOR_NEVER);
    assert_string_equal(color(stderr, COLOR_RED), "");
    assert_int_equal(parse(&cmd, &s, "--color sometimes", args, &n, err, sizeof err), OPT_ERROR);
    assert_string_equal(err, "--color sometimes: give auto, always or never");
    /* auto: never into a file, and NO_COLOR wins even on a terminal. */
    color_set(COLOR_AUTO);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(color_on(f), 0);
    fclose(f);
    setenv("NO_COLOR", "1", 1);
    assert_int_equal(color_on(stdout), 0);
    unsetenv("NO_COLOR");
    assert_ptr_equal(opt_lookup(&cmd, "--config", NULL), &opt_config_entry);
}

static void test_environment(void **state)
{
    (void)state;
    struct seen s;
    char err[256], name[64];
    const char *args[2];
    size_t n;
    assert_string_equal(opt_env_name(&base_opts[5], name, sizeof name), "LLMLOAD_A_RATHER_LONG_FLAG_NAME");
    assert_null(opt_env_name(&base_opts[5], name, 20));
    setenv("LLMLOAD_COUNT", "5", 1);     /* the own table declines it: the shared one takes it */
    setenv("LLMLOAD_QUIET", "yes", 1);
    setenv("LLMLOAD_TAG", "", 1);        /* empty: unset */
    assert_int_equal(parse(&cmd, &s, "--tag a", args, &n, err, sizeof err), OPT_OK);
    assert_string_equal(s.log, "--count=5;--quiet=(none);own--tag=a;");
    /* A flag given replaces the variable, even a repeatable one. */
    setenv("LLMLOAD_TAG", "env", 1);
    assert_int_equal(parse(&cmd, &s, "-n 7 --tag a", args, &n, err, sizeof err), OPT_OK);
    assert_string_equal(s.log, "--quiet=(none);--count=7;own--tag=a;");
    assert_int_equal(parse(&cmd, &s, "-n 7", args, &n, err, sizeof err), OPT_OK);
    assert_string_equal(s.log, "own--tag=env;--quiet=(none);--count=7;");
    /* A refused flag is not read from the environment either. */
    assert_int_equal(parse(&cmd_noargs, &s, "", NULL, NULL, err, sizeof err), OPT_OK);
    assert_string_equal(s.log, "--count=5;");
    setenv("LLMLOAD_QUIET", "maybe", 1);
    assert_int_equal(parse(&cmd, &s, "", args, &n, err, sizeof err), OPT_ERROR);
    assert_string_equal(err, "LLMLOAD_QUIET=maybe: --quiet takes no value; give 1 or 0");
    setenv("LLMLOAD_QUIET", "0", 1);
    setenv("LLMLOAD_COUNT", "bad", 1);
    assert_int_equal(parse(&cmd, &s, "", args, &n, err, sizeof err), OPT_ERROR);
    assert_string_equal(err, "LLMLOAD_COUNT: --count bad: not a whole number");
    /* --help and --version work whatever the environment says. */
    assert_int_equal(parse(&cmd, &s, "--help", args, &n, err, sizeof err), OPT_HELP);
    assert_int_equal(parse(&cmd, &s, "-V", args, &n, err, sizeof err), OPT_VERSION);
    setenv("LLMLOAD_COLOR", "always", 1);
    unsetenv("LLMLOAD_COUNT");
    color_set(COLOR_AUTO);
    assert_int_equal(parse(&cmd, &s, "", args, &n, err, sizeof err), OPT_OK);
    assert_int_equal(color_get(), COLOR_ALWAYS);
    color_set(COLOR_AUTO);
    unsetenv("LLMLOAD_COLOR");
    unsetenv("LLMLOAD_QUIET");
    unsetenv("LLMLOAD_TAG");
}

/* A config file with text, its path in path. */
static void config_file(char *path, size_t cap, const char *text)
{
    snprintf(path, cap, "/tmp/llmload-test-opt-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_config_file(void **state)
{
    (void)state;
    struct seen s;
    char err[512], path[64], line[128];
    const char *args[2];
    size_t n;
    config_file(path, sizeof path,
                "{\"count\": 3, \"time\": \"2s\", \"quiet\": true, \"tag\": [\"a\", \"b\"], \"out\": null}");
    snprintf(line, sizeof line, "--config %s", path);
    assert_int_equal(parse(&cmd, &s, line, args, &n, err, sizeof err), OPT_OK);
    assert_string_equal(s.log, "--count=3;--time=2s;--quiet=(none);own--tag=a;own--tag=b;");
    /* flags > environment > file, a list replaced as a whole. */
    setenv("LLMLOAD_TIME", "9s", 1);
    snprintf(line, sizeof line, "--tag c --config=%s -n 4", path);
    assert_int_equal(parse(&cmd, &s, line, args, &n, err, sizeof err), OPT_OK);
    assert_string_equal(s.log, "--quiet=(none);--time=9s;own--tag=c;--count=4;");
    unsetenv("LLMLOAD_TIME");
    unlink(path);

    static const struct { const char *text, *msg; } bad[] = {
        { "{\"bogus\": 1}", "key 'bogus': unknown key (llmload demo has no flag --bogus)" },
        { "{\"count\": \"bad\"}", "key 'count': --count bad: not a whole number" },
        { "{\"count\": {\"a\": 1}}", "key 'count': give a string, a number, true/false or a list of them" },
        { "{\"help\": true}", "key 'help': not a setting a config file can hold" },
        { "[1]", "not a JSON object of flags ({\"concurrency\": 8, ...})" },
        { "{\"count\": ", "not a JSON object of flags ({\"concurrency\": 8, ...})" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[512];
        config_file(path, sizeof path, bad[i].text);
        snprintf(line, sizeof line, "--config %s", path);
        snprintf(want, sizeof want, "--config %s: %s", path, bad[i].msg);
        assert_int_equal(parse(&cmd, &s, line, args, &n, err, sizeof err), OPT_ERROR);
        if (strcmp(err, want))
            fail_msg("'%s' gave '%s', not '%s'", bad[i].text, err, want);
        unlink(path);
    }
    assert_int_equal(parse(&cmd, &s, "--config /nonexistent/x.json", args, &n, err, sizeof err), OPT_ERROR);
    assert_string_equal(err, "--config /nonexistent/x.json: No such file or directory");
}

static char *help_of(const struct opt_cmd *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    opt_help(f, c);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_generated_help(void **state)
{
    (void)state;
    char *h = help_of(&cmd);
    static const char want[] =
        "usage: llmload demo [options] [WORD...]\n"
        "       llmload demo --help\n"
        "\n"
        "Does nothing.\n"
        "\n"
        "own:\n"
        "  -n, --count LIST           a list of counts\n"
        "  --out FILE                 the command's meaning of --out\n"
        "  --tag T                    repeatable\n"
        "  -h, --help                 this help\n"
        "  -V, --version              print llmload's version and exit\n"
        "  --color WHEN               colour the terminal output: auto (default: on a terminal,\n"
        "                             unless NO_COLOR is set), always or never\n"
        "  --config FILE              read flags from a JSON file: {\"concurrency\": 8, ...}\n"
        "                             (flags and LLMLOAD_* variables override it)\n"
        "\n"
        "shared:\n"
        "  -t, --time TIME            how long, e.g. 5s\n"
        "                             second line\n"
        "  --duration, --for          aliases of --time\n"
        "  -q, --quiet                say nothing\n"
        "  --a-rather-long-flag-name PLACEHOLDER\n"
        "                             wraps\n"
        "  a note under the flags\n"
        "\n"
        "The end.\n";
    assert_string_equal(h, want);
    free(h);
    /* Without a heading first, the flags get one; a refused flag is not
     * shown. */
    h = help_of(&cmd_noargs);
    assert_non_null(strstr(h, "usage: llmload flat\n\nshared:\n  -n, --count N"));
    assert_null(strstr(h, "--quiet"));
    assert_non_null(strstr(h, "the shared meaning of --out"));
    assert_non_null(strstr(h, "  -h, --help                 this help\n"));
    free(h);
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(util_edit_distance("count", "count"), 0);
    assert_int_equal(util_edit_distance("cuont", "count"), 1);    /* a swap */
    assert_int_equal(util_edit_distance("", "abc"), 3);
    assert_int_equal(util_edit_distance("kitten", "sitting"), 3);
    assert_true(util_edit_distance("a", "0123456789012345678901234567890123456789012345678901234567890123456789") > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help_flag_and_precedence),
        cmocka_unit_test(test_generated_help),
        cmocka_unit_test(test_version_and_color),
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_edit_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
