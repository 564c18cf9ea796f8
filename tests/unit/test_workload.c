/* Unit tests of workloads: flags, sources, nonce, output lengths, shared
 * prefix, multi-turn history, exact synthetic lengths, reproducibility. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "prompts.h"
#include "tokenizer.h"
#include "workload.h"

static char *write_tmp(const char *content)
{
    char *path = strdup("/tmp/llmload-wl-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

/* A byte-only ranks file (every byte its own token, no merges): counts are
 * byte counts, which makes expected values easy to state. */
static char *bytes_ranks_file(void)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *buf = malloc(256 * 16);
    size_t n = 0;
    for (int i = 0; i < 256; i++)
        n += (size_t)sprintf(buf + n, "%c%c== %d\n", b64[i >> 2], b64[(i & 3) << 4], i);
    char *p = write_tmp(buf);
    free(buf);
    return p;
}

static struct workload *open_ok(const struct workload_opts *o, uint64_t seed)
{
    char err[256] = "";
    struct workload *w = workload_open(o, seed, err, sizeof err);
    if (!w)
        fail_msg("workload_open: %s", err);
    return w;
}

static void base_req(struct api_request *r)
{
    memset(r, 0, sizeof *r);
    r->model = "m";
    r->max_tokens = 77;
}

static void test_flags(void **state)
{
    (void)state;
    struct workload_opts o;
    workload_opts_defaults(&o);
    assert_int_equal(o.nonce, 1);
    assert_int_equal(o.turns, 1);
    char err[256];
    assert_int_equal(workload_opt(&o, "--input-tokens", "1k:50", err, sizeof err), 1);
    assert_int_equal(o.input_tokens, 1000);
    assert_true(o.input_stddev == 50.0);
    assert_int_equal(workload_opt(&o, "--output-tokens", "64", err, sizeof err), 1);
    assert_int_equal(o.output_tokens, 64);
    assert_true(o.output_stddev == 0.0);
    assert_int_equal(workload_opt(&o, "--no-nonce", NULL, err, sizeof err), 1);
    assert_int_equal(o.nonce, 0);
    assert_int_equal(workload_opt(&o, "--prompt-set", "very_long", err, sizeof err), 1);
    assert_int_equal(o.prompt_set, PROMPT_SET_VERY_LONG);
    assert_int_equal(workload_opt(&o, "--turns", "3", err, sizeof err), 1);
    assert_int_equal(o.turns, 3);
    assert_int_equal(workload_opt(&o, "--dataset-format", "sharegpt", err, sizeof err), 1);
    assert_int_equal(o.dataset_format, DATASET_SHAREGPT);
    assert_int_equal(workload_opt(&o, "--concurrency", "3", err, sizeof err), 0);
    assert_int_equal(workload_flag_takes_value("--skip-bad-lines"), 0);
    assert_int_equal(workload_flag_takes_value("--dataset"), 1);
    assert_int_equal(workload_flag_takes_value("--url"), -1);
    struct { const char *flag, *value, *needle; } bad[] = {
        { "--input-tokens", "0", "--input-tokens: '0'" },
        { "--input-tokens", "12:x", "'12:x'" },
        { "--input-tokens", "-5", "'-5'" },
        { "--output-tokens", "1:-1", "'1:-1'" },
        { "--output-tokens", "20000000", "'20000000'" },
        { "--turns", "0", "--turns: '0'" },
        { "--prompt-set", "huge", "'huge'" },
        { "--dataset-format", "csv", "'csv'" },
        { "--encoding", "p50k_base", "'p50k_base'" },
        { "--shared-prefix", "abc", "'abc'" },
        { "--dataset", NULL, "--dataset needs a value" },
        { "--prompt", "", "--prompt: empty" },
        { "--nonce", "1", "--nonce takes no value" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(workload_opt(&o, bad[i].flag, bad[i].value, err, sizeof err), -1);
        if (!strstr(err, bad[i].needle))
            fail_msg("%s %s: '%s' lacks '%s'", bad[i].flag, bad[i].value ? bad[i].value : "(null)",
                     err, bad[i].needle);
    }
    char *help = NULL;
    size_t hl = 0;
    FILE *f = open_memstream(&help, &hl);
    workload_help(f);
    fclose(f);
    assert_non_null(strstr(help, "--skip-bad-lines"));
    assert_non_null(strstr(help, "--input-tokens N[:SD]"));
    free(help);
}

static void test_open_conflicts(void **state)
{
    (void)state;
    struct { const char *f1, *v1, *f2, *v2, *needle; } cases[] = {
        { "--prompt", "x", "--dataset", "d.jsonl", "--prompt and --dataset cannot be used together" },
        { "--prompt-set", "short", "--input-tokens", "10", "--prompt-set and --input-tokens" },
        { "--dataset-format", "jsonl", "--prompt", "x", "--dataset-format needs --dataset" },
        { "--force-tokenizer", NULL, "--prompt", "x", "--force-tokenizer needs --tokenizer" },
        { "--input-tokens", "10", "--shared-prefix", "10", "must be smaller than --input-tokens" },
        { "--skip-bad-lines", NULL, "--prompt", "x", "--skip-bad-lines needs" },
        { "--dataset", "/nonexistent.jsonl", "--no-nonce", NULL, "/nonexistent.jsonl: No such file" },
        { "--tokenizer", "/nonexistent.tiktoken", "--no-nonce", NULL, "/nonexistent.tiktoken" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct workload_opts o;
        char err[256] = "";
        workload_opts_defaults(&o);
        assert_int_equal(workload_opt(&o, cases[i].f1, cases[i].v1, err, sizeof err), 1);
        assert_int_equal(workload_opt(&o, cases[i].f2, cases[i].v2, err, sizeof err), 1);
        assert_null(workload_open(&o, 1, err, sizeof err));
        if (!strstr(err, cases[i].needle))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].needle);
    }
}

static void test_prompt_and_nonce(void **state)
{
    (void)state;
    struct workload_opts o;
    char err[256];
    workload_opts_defaults(&o);
    workload_opt(&o, "--prompt", "Tell me a story.", err, sizeof err);
    workload_opt(&o, "--system", "Be brief.", err, sizeof err);
    struct workload *w = open_ok(&o, 42), *w2 = open_ok(&o, 42), *w3 = open_ok(&o, 43);
    struct api_request r, r2;
    char first[128];
    base_req(&r);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_string_equal(r.system, "Be brief.");
    assert_string_equal(r.model, "m");
    assert_int_equal(r.max_tokens, 77);          /* no length known: the caller's */
    assert_int_equal(r.nmessages, 0);
    /* "Request NNNNNNNNN:\n" then the prompt. */
    assert_int_equal(strlen(r.prompt), 19 + 16);
    assert_memory_equal(r.prompt, "Request ", 8);
    assert_string_equal(r.prompt + 19, "Tell me a story.");
    snprintf(first, sizeof first, "%s", r.prompt);
    /* Same (seed, index): same prompt, whichever user (connection) carries
     * it, so --seed repeats a run whatever the timing; another index or
     * seed: another. */
    base_req(&r2);
    assert_int_equal(workload_next(w2, 0, 0, &r2), 0);
    assert_string_equal(r2.prompt, first);
    assert_int_equal(workload_next(w2, 0, 1, &r2), 0);
    assert_string_not_equal(r2.prompt, first);
    assert_int_equal(workload_next(w2, 1, 0, &r2), 0);
    assert_string_equal(r2.prompt, first);
    assert_int_equal(workload_next(w3, 0, 0, &r2), 0);
    assert_string_not_equal(r2.prompt, first);
    assert_int_equal(workload_prompt_tokens(w, 0), -1);   /* no tokenizer */
    assert_null(workload_tokenizer(w));
    assert_non_null(strstr(workload_describe(w), "one prompt, nonce"));
    workload_free(w);
    workload_free(w2);
    workload_free(w3);
    workload_opt(&o, "--no-nonce", NULL, err, sizeof err);
    w = open_ok(&o, 42);
    assert_int_equal(workload_next(w, 5, 9, &r), 0);
    assert_string_equal(r.prompt, "Tell me a story.");
    workload_free(w);
}

static void test_prompt_set_and_default(void **state)
{
    (void)state;
    struct workload_opts o;
    char err[256];
    workload_opts_defaults(&o);
    workload_opt(&o, "--prompt-set", "medium", err, sizeof err);
    workload_opt(&o, "--no-nonce", NULL, err, sizeof err);
    struct workload *w = open_ok(&o, 1);
    struct api_request r;
    base_req(&r);
    int seen[PROMPTS_PER_SET] = { 0 };
    char *set[PROMPTS_PER_SET];
    for (size_t i = 0; i < PROMPTS_PER_SET; i++)
        set[i] = prompts_build(PROMPT_SET_MEDIUM, i);
    for (uint64_t i = 0; i < 200; i++) {
        assert_int_equal(workload_next(w, 0, i, &r), 0);
        int found = -1;
        for (int k = 0; k < PROMPTS_PER_SET; k++)
            if (!strcmp(r.prompt, set[k]))
                found = k;
        assert_true(found >= 0);
        seen[found] = 1;
    }
    for (int k = 0; k < PROMPTS_PER_SET; k++) {
        assert_true(seen[k]);
        free(set[k]);
    }
    workload_free(w);
    /* No source: the caller's default prompt. */
    workload_opts_defaults(&o);
    o.default_prompt = "default text";
    o.nonce = 0;
    w = open_ok(&o, 1);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_string_equal(r.prompt, "default text");
    workload_free(w);
}

static void test_prompt_sets_content(void **state)
{
    (void)state;
    for (int s = 0; s < PROMPT_SET__COUNT; s++) {
        size_t minb = SIZE_MAX, maxb = 0;
        for (size_t i = 0; i < PROMPTS_PER_SET; i++) {
            char *p = prompts_build((enum prompt_set)s, i);
            assert_non_null(p);
            size_t l = strlen(p);
            minb = l < minb ? l : minb;
            maxb = l > maxb ? l : maxb;
            free(p);
        }
        /* About 4.8 bytes a cl100k token for this English text. */
        uint32_t tok = prompts_set_tokens((enum prompt_set)s);
        assert_true(minb >= tok * 4);
        assert_true(maxb <= tok * 6);
    }
    assert_null(prompts_build(PROMPT_SET_SHORT, PROMPTS_PER_SET));
    enum prompt_set s;
    assert_int_equal(prompts_set_from_name("very-long", &s), 0);
    assert_int_equal(s, PROMPT_SET_VERY_LONG);
    assert_string_equal(prompts_set_name(PROMPT_SET_LONG), "long");
}

static void test_output_tokens(void **state)
{
    (void)state;
    struct workload_opts o;
    char err[256];
    workload_opts_defaults(&o);
    workload_opt(&o, "--output-tokens", "100", err, sizeof err);
    struct workload *w = open_ok(&o, 3);
    struct api_request r;
    base_req(&r);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_int_equal(r.max_tokens, 100);
    assert_int_equal(r.min_tokens, 100);
    assert_int_equal(r.ignore_eos, 1);
    workload_free(w);
    workload_opt(&o, "--output-tokens", "100:20", err, sizeof err);
    w = open_ok(&o, 3);
    double sum = 0, sq = 0;
    int n = 4000;
    for (int i = 0; i < n; i++) {
        assert_int_equal(workload_next(w, (uint32_t)(i % 7), (uint64_t)i, &r), 0);
        assert_true(r.max_tokens >= 1);
        assert_int_equal(r.min_tokens, r.max_tokens);
        sum += (double)r.max_tokens;
        sq += (double)r.max_tokens * (double)r.max_tokens;
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    assert_true(mean > 98 && mean < 102);
    assert_true(sd > 18 && sd < 22);
    workload_free(w);
}

/* What a result records of the workload: each source, the token specs,
 * a dataset by path, size and SHA-256. */
static void test_info(void **state)
{
    (void)state;
    struct workload_opts o;
    struct workload_info wi;
    char err[256];
    workload_opts_defaults(&o);
    o.default_prompt = "the default";
    assert_true(workload_opts_default_source(&o));
    struct workload *w = open_ok(&o, 1);
    workload_info(w, &wi);
    assert_string_equal(wi.source, "default");
    assert_null(wi.path);
    assert_null(wi.prompt_set);
    workload_free(w);
    workload_opt(&o, "--input-tokens", "20:2", err, sizeof err);
    workload_opt(&o, "--output-tokens", "7", err, sizeof err);
    workload_opt(&o, "--shared-prefix", "4", err, sizeof err);
    workload_opt(&o, "--turns", "3", err, sizeof err);
    workload_opt(&o, "--no-nonce", NULL, err, sizeof err);
    workload_opt(&o, "--system", "Be brief.", err, sizeof err);
    assert_false(workload_opts_default_source(&o));
    w = open_ok(&o, 1);
    workload_info(w, &wi);
    assert_string_equal(wi.source, "input_tokens");
    assert_int_equal(wi.input_tokens, 20);
    assert_true(wi.input_stddev == 2);
    assert_int_equal(wi.output_tokens, 7);
    assert_true(wi.output_stddev == 0);
    assert_int_equal(wi.shared_prefix, 4);
    assert_int_equal(wi.turns, 3);
    assert_false(wi.nonce);
    assert_string_equal(wi.system, "Be brief.");
    assert_null(wi.tokenizer);
    workload_free(w);
    char *ds = write_tmp("abc\n");
    workload_opts_defaults(&o);
    workload_opt(&o, "--prompt-file", ds, err, sizeof err);
    w = open_ok(&o, 1);
    workload_info(w, &wi);
    assert_string_equal(wi.source, "prompt_file");
    assert_string_equal(wi.path, ds);
    assert_string_equal(wi.format, "lines");
    assert_int_equal(wi.bytes, 4);
    assert_string_equal(wi.sha256, "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb");
    assert_int_equal(wi.prompts, 1);
    assert_non_null(strstr(workload_describe(w), "sha256 edeaaff3f177"));
    workload_free(w);
    unlink(ds);
    free(ds);
    workload_opts_defaults(&o);
    workload_opt(&o, "--prompt-set", "short", err, sizeof err);
    w = open_ok(&o, 1);
    workload_info(w, &wi);
    assert_string_equal(wi.source, "prompt_set");
    assert_string_equal(wi.prompt_set, "short");
    workload_free(w);
}

static void test_dataset_lengths(void **state)
{
    (void)state;
    char *jl = write_tmp("{\"prompt\":\"p1\",\"max_tokens\":5}\n");
    char *sg = write_tmp("[{\"conversations\":[{\"from\":\"human\",\"value\":\"q\"},"
                         "{\"from\":\"gpt\",\"value\":\"0123456789abc\"}]}]");
    struct workload_opts o;
    char err[256];
    workload_opts_defaults(&o);
    workload_opt(&o, "--dataset", jl, err, sizeof err);
    workload_opt(&o, "--no-nonce", NULL, err, sizeof err);
    struct workload *w = open_ok(&o, 1);
    struct api_request r;
    base_req(&r);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_string_equal(r.prompt, "p1");
    assert_int_equal(r.max_tokens, 5);
    assert_int_equal(r.ignore_eos, 0);
    workload_free(w);
    /* ShareGPT: the reply's length sets the output, bytes/4 without a
     * tokenizer (13 bytes: 4 tokens), exactly with one (13 bytes). */
    o.dataset = sg;
    w = open_ok(&o, 1);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_string_equal(r.prompt, "q");
    assert_int_equal(r.max_tokens, 4);
    assert_int_equal(r.min_tokens, 4);
    assert_int_equal(r.ignore_eos, 1);
    workload_free(w);
    char *ranks = bytes_ranks_file();
    workload_opt(&o, "--tokenizer", ranks, err, sizeof err);
    workload_opt(&o, "--encoding", "cl100k_base", err, sizeof err);
    w = open_ok(&o, 1);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_int_equal(r.max_tokens, 13);
    assert_int_equal(workload_prompt_tokens(w, 0), 1);
    /* --output-tokens wins over the dataset. */
    workload_free(w);
    workload_opt(&o, "--output-tokens", "9", err, sizeof err);
    w = open_ok(&o, 1);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_int_equal(r.max_tokens, 9);
    workload_free(w);
    unlink(jl);
    unlink(sg);
    unlink(ranks);
    free(jl);
    free(sg);
    free(ranks);
}

static void test_messages_dataset(void **state)
{
    (void)state;
    char *jl = write_tmp("{\"messages\":[{\"role\":\"system\",\"content\":\"sys\"},"
                         "{\"role\":\"user\",\"content\":\"question\"}]}\n");
    struct workload_opts o;
    char err[256];
    workload_opts_defaults(&o);
    workload_opt(&o, "--dataset", jl, err, sizeof err);
    struct workload *w = open_ok(&o, 1);
    struct api_request r;
    base_req(&r);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_null(r.prompt);
    assert_int_equal(r.nmessages, 2);
    assert_string_equal(r.messages[0].content, "sys");
    assert_string_equal(r.messages[1].role, "user");
    assert_memory_equal(r.messages[1].content, "Request ", 8);
    assert_string_equal(r.messages[1].content + 19, "question");
    workload_free(w);
    unlink(jl);
    free(jl);
}

static void test_shared_prefix_and_synthetic(void **state)
{
    (void)state;
    struct workload_opts o;
    char err[256];
    workload_opts_defaults(&o);
    workload_opt(&o, "--input-tokens", "200", err, sizeof err);
    workload_opt(&o, "--shared-prefix", "50", err, sizeof err);
    /* Without a tokenizer: one word a token, approximate and labelled. */
    struct workload *w = open_ok(&o, 9);
    assert_non_null(strstr(workload_describe(w), "approximate"));
    struct api_request r;
    base_req(&r);
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    char *a = strdup(r.prompt);
    assert_int_equal(workload_next(w, 1, 1, &r), 0);
    /* The shared prefix: 49 words and a newline, identical in both. */
    const char *nl = strchr(a, '\n');
    assert_non_null(nl);
    size_t pl = (size_t)(nl - a) + 1;
    assert_memory_equal(a, r.prompt, pl);
    size_t words = 0;
    for (const char *p = a; p < nl; p++)
        words += *p == ' ';
    assert_int_equal(words, 49);
    assert_string_not_equal(a, r.prompt);   /* the nonces differ */
    free(a);
    workload_free(w);
    /* With a tokenizer the total is exact, whatever the word lengths. */
    char *ranks = bytes_ranks_file();
    workload_opt(&o, "--tokenizer", ranks, err, sizeof err);
    workload_opt(&o, "--encoding", "cl100k_base", err, sizeof err);
    workload_opt(&o, "--system", "abc", err, sizeof err);
    w = open_ok(&o, 9);
    struct tokenizer *t = workload_tokenizer(w);
    assert_non_null(t);
    for (uint32_t u = 0; u < 5; u++) {
        assert_int_equal(workload_next(w, u, u, &r), 0);
        long c = tokenizer_count(t, r.prompt, strlen(r.prompt));
        assert_int_equal(c, 200);
        assert_int_equal(workload_prompt_tokens(w, u), 200 + 3);   /* + the system prompt */
    }
    workload_free(w);
    /* A spread: lengths vary around the mean. */
    workload_opt(&o, "--input-tokens", "300:40", err, sizeof err);
    workload_opt(&o, "--shared-prefix", "0", err, sizeof err);
    w = open_ok(&o, 9);
    long lo = 1 << 30, hi = 0;
    for (uint32_t i = 0; i < 64; i++) {
        assert_int_equal(workload_next(w, 0, i, &r), 0);
        long c = tokenizer_count(workload_tokenizer(w), r.prompt, strlen(r.prompt));
        assert_int_equal(workload_prompt_tokens(w, 0), c + 3);
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
    }
    assert_true(lo < 300 && hi > 300 && hi - lo > 40);
    workload_free(w);
    unlink(ranks);
    free(ranks);
}

static void test_multi_turn(void **state)
{
    (void)state;
    struct workload_opts o;
    char err[256];
    workload_opts_defaults(&o);
    workload_opt(&o, "--prompt", "hi", err, sizeof err);
    workload_opt(&o, "--turns", "3", err, sizeof err);
    workload_opt(&o, "--no-nonce", NULL, err, sizeof err);
    struct workload *w = open_ok(&o, 1);
    struct api_request r;
    base_req(&r);
    assert_int_equal(workload_next(w, 2, 0, &r), 0);
    assert_null(r.prompt);
    assert_int_equal(r.nmessages, 1);
    assert_string_equal(r.messages[0].role, "user");
    workload_turn_done(w, 2, "reply one", 9);
    assert_int_equal(workload_next(w, 2, 1, &r), 0);
    assert_int_equal(r.nmessages, 3);
    assert_string_equal(r.messages[1].role, "assistant");
    assert_string_equal(r.messages[1].content, "reply one");
    assert_string_equal(r.messages[2].content, "hi");
    workload_turn_done(w, 2, "reply two", 9);
    assert_int_equal(workload_next(w, 2, 2, &r), 0);
    assert_int_equal(r.nmessages, 5);
    workload_turn_done(w, 2, "reply three", 11);
    /* After K turns a new conversation starts. */
    assert_int_equal(workload_next(w, 2, 3, &r), 0);
    assert_int_equal(r.nmessages, 1);
    /* A turn without a reply (failed request) ends the conversation. */
    assert_int_equal(workload_next(w, 2, 4, &r), 0);
    assert_int_equal(r.nmessages, 1);
    /* Other users are independent. */
    assert_int_equal(workload_next(w, 0, 0, &r), 0);
    assert_int_equal(r.nmessages, 1);
    workload_turn_done(w, 99, "x", 1);   /* unknown user: ignored */
    workload_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_open_conflicts),
        cmocka_unit_test(test_prompt_and_nonce),
        cmocka_unit_test(test_prompt_set_and_default),
        cmocka_unit_test(test_prompt_sets_content),
        cmocka_unit_test(test_output_tokens),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_dataset_lengths),
        cmocka_unit_test(test_messages_dataset),
        cmocka_unit_test(test_shared_prefix_and_synthetic),
        cmocka_unit_test(test_multi_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
