#ifndef LLMLOAD_OPT_H
#define LLMLOAD_OPT_H
/* Command-line options: one table format for the flags of every layer, one
 * parser, and --help generated from the tables (docs/cli.md, "Option
 * conventions").
 *
 * A module describes its flags in a struct opt_table and applies them one at
 * a time in the table's handler.  A command (struct opt_cmd) lists the
 * tables it accepts, highest precedence first: the first table that names a
 * flag owns it, for parsing and for the help line, so a command that gives
 * a flag another meaning (sweep's --json) shows that meaning only.  A
 * handler may decline a value (return 0); the next table naming the same
 * flag then gets it (sweep's -c takes a list and leaves one number to run).
 *
 * Every command also accepts the built-in flags below (--help, --version,
 * --color, --config), and every flag two more ways, lowest precedence
 * first: a key of the JSON file given by --config FILE ({"concurrency": 8,
 * "assert": ["p99(ttft)<=1s"]}: the long name without its dashes; a list
 * gives a repeated flag), then an environment variable LLMLOAD_<NAME>
 * (--max-tokens is LLMLOAD_MAX_TOKENS).  A flag given on the command line
 * replaces what the environment or the file said for it, and the
 * environment replaces the file, whether the flag is repeatable or not.
 *
 * Nothing here prints an error or exits: errors are one line in err naming
 * the flag and the value (or the variable, or the file and its key).  A program can list every flag of a command by
 * walking cmd->tables (or opt_next), which is what --help does. */
#include <stddef.h>
#include <stdio.h>

#define OPT_ALIASES 3

/* One flag, or a heading or a note of the help (name NULL). */
struct opt {
    int id;                             /* the owner's code for the flag, handed back to its
                                           handler; OPT_ID_SECTION / OPT_ID_NOTE for text */
    const char *name;                   /* "--concurrency"; NULL for a heading or a note */
    const char *alias[OPT_ALIASES];     /* other spellings: short ("-c") or long ("--host") */
    const char *meta;                   /* the value's placeholder ("N", "TIME"); NULL: the
                                           flag takes no value */
    const char *help;                   /* '\n' between lines; says the unit and the default.
                                           A heading's title or a note's text */
};

#define OPT_ID_SECTION (-1)
#define OPT_ID_NOTE (-2)
/* A heading: "\n<title>:" in the help; the flags below belong to it. */
#define OPT_SECTION(title) { OPT_ID_SECTION, NULL, { NULL }, NULL, (title) }
/* A line of text among the flags of a section. */
#define OPT_NOTE(text) { OPT_ID_NOTE, NULL, { NULL }, NULL, (text) }

/* Applies one flag: o is its entry, flag the spelling given (for messages),
 * value its argument, NULL for a flag that takes none.  Returns 1 when it
 * took the flag, 0 to decline (the next table naming the flag gets it), or
 * -1 on a bad value with a one-line err naming the flag and the value. */
typedef int (*opt_apply_fn)(void *ud, const struct opt *o, const char *flag, const char *value,
                            char *err, size_t errcap);

struct opt_table {
    const struct opt *opts;
    size_t n;
    opt_apply_fn apply;
};
#define OPT_TABLE(arr, fn) { (arr), sizeof(arr) / sizeof((arr)[0]), (fn) }

/* A flag that a command's tables hold but the command refuses, and why. */
struct opt_omit {
    const char *name;                   /* the flag's name (not an alias) */
    const char *why;                    /* "use run for per-request files" */
};

/* A command: its words for --help and the tables it accepts. */
struct opt_cmd {
    const char *name;                   /* "sweep", as typed after llmload */
    const char *summary;                /* one line, for `llmload --help` */
    const char *usage;                  /* printed after "usage: " ('\n' between forms) */
    const char *about;                  /* what the command does; NULL: nothing */
    const struct opt_table *const *tables;  /* NULL-ended, highest precedence first */
    const struct opt_omit *omit;        /* NULL-name-ended, or NULL: none */
    const char *args;                   /* the positional arguments' placeholder ("TEXT");
                                           NULL: the command takes none */
    size_t max_args;                    /* at most this many positional arguments */
    const char *epilog;                 /* after the flags (units, exit codes); NULL: none */
    void (*epilog_fn)(FILE *f);         /* more of it, built when printed; NULL: none */
};

enum { OPT_ERROR = -1, OPT_OK = 0, OPT_HELP = 1, OPT_VERSION = 2 };

/* Parses argv[first..argc) against cmd.  ud[k] is handed to the handler of
 * cmd->tables[k].  Accepts `--flag value`, `--flag=value`, `-c VALUE`,
 * `-cVALUE`; `--` ends the flags of a command that takes positional
 * arguments, which go to args[0..*nargs) (room for cmd->max_args; both NULL
 * when the command takes none).  Handlers see the flags in the order given,
 * so a repeated flag is applied each time; the --config file's keys and the
 * LLMLOAD_* variables before them (neither is read when --help or
 * --version is given).  --color sets the process's colour mode (color.h).
 * Returns OPT_OK, OPT_HELP as soon as -h or --help is met, OPT_VERSION as
 * soon as -V or --version is met, or OPT_ERROR with a one-line err: an unknown
 * flag (naming the nearest valid one when a name is close), a refused flag,
 * a missing value, a value given to a flag that takes none, an unexpected
 * argument, or the handler's message. */
int opt_parse(const struct opt_cmd *cmd, void *const *ud, int argc, char **argv, int first,
              const char **args, size_t *nargs, char *err, size_t errcap);

/* Offers one flag to one table, as opt_parse does (the value was already
 * taken from argv): 0 when the table has no such flag, 1 when its handler
 * took it, -1 with err for a missing or unexpected value or a bad one. */
int opt_apply1(const struct opt_table *t, void *ud, const char *flag, const char *value,
               char *err, size_t errcap);

/* The entry of t named flag (name or alias), or NULL. */
const struct opt *opt_table_find(const struct opt_table *t, const char *flag);

/* The entry that owns flag in cmd (the first table naming it) with its
 * table's index in *table (may be NULL); NULL when cmd does not accept it.
 * "-h" and "--help" give opt_help_entry. */
const struct opt *opt_lookup(const struct opt_cmd *cmd, const char *flag, size_t *table);

/* The flags every command accepts, handled by opt_parse itself:
 * -h, --help (OPT_HELP), -V, --version (OPT_VERSION), --color WHEN and
 * --config FILE.  opt_builtin_entries lists them, NULL-ended. */
extern const struct opt opt_help_entry, opt_version_entry, opt_color_entry, opt_config_entry;
extern const struct opt *const opt_builtin_entries[];

/* The environment variable that gives flag o (LLMLOAD_MAX_TOKENS for
 * --max-tokens) into buf.  buf, or NULL when it does not fit. */
char *opt_env_name(const struct opt *o, char *buf, size_t cap);

/* Walks what cmd's --help shows, in order: headings, notes and each flag
 * the command accepts once (its owning entry; the built-in entries at the
 * end of the first section).  Start with it zeroed; NULL at the end. */
struct opt_iter { size_t table, entry; int flags_seen, builtins_done; };
const struct opt *opt_next(const struct opt_cmd *cmd, struct opt_iter *it);

/* The whole --help of cmd: usage, about, the flags, the epilog. */
void opt_help(FILE *f, const struct opt_cmd *cmd);

/* The help lines of one table (headings, notes and flags). */
void opt_help_table(FILE *f, const struct opt_table *t);

#endif
