#ifndef LLMLOAD_SERVE_RUN_H
#define LLMLOAD_SERVE_RUN_H
/* A run request from the page (POST /api/run) checked against the
 * operator's limits and turned into the arguments of the child
 * `llmload compare`.  Nothing from the body reaches the child unchecked:
 * targets are names of the operator's list (never URLs), numbers are
 * bounded, text goes in --flag=VALUE form so it can never be a flag. */
#include <stddef.h>
#include "serve.h"

#define SERVE_RUN_MAX_LEVELS 12
#define SERVE_RUN_MAX_PROMPT 16384
#define SERVE_RUN_MAX_ARGS (16 + 2 * SERVE_MAX_TARGETS)

/* The run's child arguments: argv[0] is the subcommand ("compare"); the
 * caller puts the binary's path in front.  Strings are owned (args_free). */
struct serve_run_args {
    char *argv[SERVE_RUN_MAX_ARGS + 1];
    int argc;
    size_t targets[SERVE_MAX_TARGETS];      /* indexes into o->targets */
    size_t ntargets;
};

/* Parses body (JSON: targets, prompt or prompts (an allowed source's
 * name), model, models (a model per target name), max_tokens, levels,
 * requests, slo) against o; results go to json_path and csv_path.  0, or -1
 * with a one-line err for the 400 answer (naming the field or the limit). */
int serve_run_parse(const struct serve_opts *o, const char *body, const char *json_path,
                    const char *csv_path, struct serve_run_args *a, char *err, size_t errcap);

/* Appends one argument (printf-style).  0, or -1 when full or out of memory. */
int serve_run_arg(struct serve_run_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void serve_run_args_free(struct serve_run_args *a);

/* 1 when s is a model name as servers spell them ("llama3:8b",
 * "org/model-1.5"): a restricted alphabet, 1 to 128 bytes. */
int serve_run_model_ok(const char *s);

#endif
