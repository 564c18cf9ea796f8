/* Unit tests of the dataset reader: JSONL, ShareGPT, prompt files, bad
 * lines with file:line, and the memory bound on a large ShareGPT file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>
#include <nettle/sha2.h>

#include "dataset.h"

static struct dataset *open_str(const char *s, enum dataset_format f, int skip, char *err, size_t cap)
{
    return dataset_open_mem(s, strlen(s), "data.jsonl", f, skip, 0, err, cap);
}

static void expect_prompt(struct dataset *d, size_t i, const char *want, int64_t max_tokens)
{
    struct dataset_scratch s = { 0 };
    struct dataset_item it;
    assert_int_equal(dataset_get(d, i, &s, 1, &it), 0);
    assert_non_null(it.prompt);
    assert_string_equal(it.prompt, want);
    assert_int_equal(it.max_tokens, max_tokens);
    dataset_scratch_free(&s);
}

static void test_jsonl(void **state)
{
    (void)state;
    const char *text =
        "{\"prompt\": \"hello\\nworld\", \"max_tokens\": 12}\n"
        "\r\n"
        "  \n"
        "{\"prompt\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/\",\"max_tokens\":null}\r\n"
        "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
        "{\"role\":\"user\",\"content\":\"hi \\t there\"}],\"max_tokens\":3}\n"
        "{\"conversations\":[{\"from\":\"human\",\"value\":\"q1\"},{\"from\":\"gpt\",\"value\":\"0123456789\"}]}";
    char err[256] = "";
    struct dataset *d = open_str(text, DATASET_AUTO, 0, err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    assert_int_equal(dataset_format(d), DATASET_JSONL);
    assert_int_equal(dataset_count(d), 4);
    assert_int_equal(dataset_skipped(d), 0);
    expect_prompt(d, 0, "hello\nworld", 12);
    expect_prompt(d, 1, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ /", -1);
    struct dataset_scratch s = { 0 };
    struct dataset_item it;
    assert_int_equal(dataset_get(d, 2, &s, 0, &it), 0);
    assert_null(it.prompt);
    assert_int_equal(it.nmessages, 2);
    assert_string_equal(it.messages[0].role, "system");
    assert_string_equal(it.messages[0].content, "be brief");
    assert_string_equal(it.messages[1].role, "user");
    assert_string_equal(it.messages[1].content, "hi \t there");
    assert_int_equal(it.max_tokens, 3);
    /* A ShareGPT entry on a JSONL line. */
    assert_int_equal(dataset_get(d, 3, &s, 1, &it), 0);
    assert_string_equal(it.prompt, "q1");
    assert_int_equal(it.reply_len, 10);
    assert_memory_equal(it.reply, "0123456789", 10);
    assert_int_equal(dataset_get(d, 3, &s, 0, &it), 0);
    assert_null(it.reply);
    dataset_scratch_free(&s);
    dataset_free(d);
}

static void expect_bad_line(const char *text, enum dataset_format f, const char *needle)
{
    char err[256] = "";
    struct dataset *d = open_str(text, f, 0, err, sizeof err);
    if (d)
        fail_msg("accepted: %s", text);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
}

static void test_jsonl_bad_lines(void **state)
{
    (void)state;
    const char *ok = "{\"prompt\":\"a\"}\n";
    char buf[512];
    const char *bad[] = {
        "{\"prompt\":\"a\"", "not json", "[1,2]", "{\"prompt\":1}", "{\"prompt\":\"a\"} x",
        "{\"prompt\":\"bad \\q escape\"}", "{\"prompt\":\"nul \\u0000\"}", "{\"other\":\"a\"}",
        "{\"messages\":[]}", "{\"messages\":[{\"role\":\"user\"}]}", "{\"prompt\":\"a\",\"max_tokens\":-1}",
        "{\"prompt\":\"a\",\"max_tokens\":1.5}", "{\"prompt\":\"a\",\"max_tokens\":0}", "{\"prompt\":\"\\u12\"}",
        "{\"conversations\":{}}", "{\"prompt\" \"a\"}", "{\"prompt\":\"a\",}", "{\"prompt\":\"a\"}{}",
        "{\"prompt\":\"a\",\"max_tokens\":1 2}", "{\"prompt\":\"a\",\"x\":tru}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s\n%s", ok, bad[i], ok);
        expect_bad_line(buf, DATASET_JSONL, "data.jsonl:2: ");
        /* With --skip-bad-lines the line is skipped and counted. */
        char err[256];
        struct dataset *d = open_str(buf, DATASET_JSONL, 1, err, sizeof err);
        if (!d)
            fail_msg("skip: %s: %s", bad[i], err);
        assert_int_equal(dataset_count(d), 2);
        assert_int_equal(dataset_skipped(d), 1);
        dataset_free(d);
    }
    expect_bad_line("{\"prompt\":\"a\"}\n{\"other\":1}\n", DATASET_JSONL, "--skip-bad-lines");
    expect_bad_line("{\"prompt\":\"a\"}\n{\"prompt\":\"b\"} {}\n", DATASET_JSONL,
                    "data.jsonl:2: not a valid JSON object (data after it)");
    expect_bad_line("{\"prompt\" \"a\"}\n", DATASET_JSONL, "data.jsonl:1: not a valid JSON object");
    /* All lines bad: nothing usable is an error even when skipping. */
    char err[256];
    assert_null(open_str("{\"x\":1}\n{\"y\":2}\n", DATASET_JSONL, 1, err, sizeof err));
    assert_non_null(strstr(err, "no usable prompt (2 bad entries skipped"));
    expect_bad_line("hello", DATASET_AUTO, "cannot tell the dataset format");
    expect_bad_line("   \n\n", DATASET_AUTO, "cannot tell");
}

static const char sharegpt[] =
    "\xef\xbb\xbf[\n"
    "  {\"id\": \"a\", \"conversations\": [\n"
    "     {\"from\": \"human\", \"value\": \"first {question}\"},\n"
    "     {\"from\": \"gpt\", \"value\": \"answer [one] \\\"two\\\"\"},\n"
    "     {\"from\": \"human\", \"value\": \"more\"}]},\n"
    "  {\"id\": \"b\", \"conversations\": [{\"from\": \"gpt\", \"value\": \"hi\"},\n"
    "     {\"from\": \"human\", \"value\": \"second\"}, {\"from\": \"gpt\", \"value\": \"12345678\"}]},\n"
    "  {\"id\": \"c\", \"conversations\": [{\"from\": \"human\", \"value\": \"no reply\"}]},\n"
    "  {\"id\": \"d\", \"conversations\": []}\n"
    "]\n";

static void test_sharegpt(void **state)
{
    (void)state;
    char err[256] = "";
    struct dataset *d = dataset_open_mem(sharegpt, strlen(sharegpt), "sg.json", DATASET_AUTO, 0, 0, err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    assert_int_equal(dataset_format(d), DATASET_SHAREGPT);
    assert_int_equal(dataset_count(d), 2);
    assert_int_equal(dataset_unusable(d), 2);
    struct dataset_scratch s = { 0 };
    struct dataset_item it;
    assert_int_equal(dataset_get(d, 0, &s, 1, &it), 0);
    assert_string_equal(it.prompt, "first {question}");
    assert_int_equal(it.reply_len, strlen("answer [one] \"two\""));
    assert_int_equal(dataset_get(d, 1, &s, 1, &it), 0);
    assert_string_equal(it.prompt, "second");
    assert_int_equal(it.reply_len, 8);
    dataset_scratch_free(&s);
    dataset_free(d);
}

static void test_sharegpt_errors(void **state)
{
    (void)state;
    char err[256];
    struct { const char *text, *needle; } cases[] = {
        { "[{\"conversations\":[]}", "sg.json:1: ',' or ']' expected" },
        { "[\n{\"conversations\":[{\"from\":\"human\",\"value\":\"x}]}]", "sg.json:2: entry 0: unterminated" },
        { "[{\"conversations\":[]} {}]", "',' or ']' expected" },
        { "[{\"conversations\":[]}] x", "data after the end" },
        { "[1]", "entry 0: '{' expected" },
        { "[\n\n{\"conversations\":[{\"from\":\"human\"}]}]", "sg.json:3: a conversation turn" },
        { "[]", "no usable prompt" },
        { "{\"prompt\":\"x\"}", "JSON array" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        struct dataset *d = dataset_open_mem(cases[i].text, strlen(cases[i].text), "sg.json",
                                             DATASET_SHAREGPT, 0, 0, err, sizeof err);
        if (d)
            fail_msg("accepted %s", cases[i].text);
        if (!strstr(err, cases[i].needle))
            fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].needle);
    }
    /* A bad entry is skippable; the array structure is not. */
    const char *t = "[{\"x\":1},{\"conversations\":[{\"from\":\"human\",\"value\":\"p\"},{\"from\":\"gpt\",\"value\":\"r\"}]}]";
    struct dataset *d = dataset_open_mem(t, strlen(t), "sg.json", DATASET_AUTO, 1, 0, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(dataset_count(d), 1);
    assert_int_equal(dataset_skipped(d), 1);
    dataset_free(d);
}

static void test_lines(void **state)
{
    (void)state;
    const char *t = "first prompt\r\n\n  \nsecond {not json}\nthird";
    char err[256];
    struct dataset *d = dataset_open_mem(t, strlen(t), "p.txt", DATASET_LINES, 0, 0, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(dataset_count(d), 3);
    expect_prompt(d, 0, "first prompt", -1);
    expect_prompt(d, 1, "second {not json}", -1);
    expect_prompt(d, 2, "third", -1);
    dataset_free(d);
    assert_null(dataset_open_mem("a\n\0b\n", 5, "p.txt", DATASET_LINES, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "p.txt:2: line contains a NUL"));
    enum dataset_format f;
    assert_int_equal(dataset_format_from_name("sharegpt", &f), 0);
    assert_int_equal(f, DATASET_SHAREGPT);
    assert_int_equal(dataset_format_from_name("csv", &f), -1);
}

static char *write_tmp(const char *content, size_t len)
{
    char *path = strdup("/tmp/llmload-ds-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_files(void **state)
{
    (void)state;
    char err[256];
    char *p = write_tmp(sharegpt, strlen(sharegpt));
    struct dataset *d = dataset_open(p, DATASET_AUTO, 0, 0, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(dataset_count(d), 2);
    expect_prompt(d, 1, "second", -1);
    dataset_free(d);
    unlink(p);
    free(p);
    p = write_tmp("", 0);
    assert_null(dataset_open(p, DATASET_AUTO, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "empty file"));
    unlink(p);
    free(p);
    assert_null(dataset_open("/nonexistent/d.jsonl", DATASET_AUTO, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/d.jsonl: No such file"));
    assert_null(dataset_open("/tmp", DATASET_AUTO, 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "directory"));
}

/* --max-prompt-bytes: a prompt, the sum of a conversation's messages or a
 * ShareGPT question larger than it is a bad entry naming file:line; a line
 * or an entry too long to hold one fails without being read whole, and a
 * device of NUL bytes at its first read. */
static void test_prompt_bound(void **state)
{
    (void)state;
    char err[256];
    char big[200];
    memset(big, 'x', 150);
    big[150] = '\0';
    char text[1024];
    snprintf(text, sizeof text, "{\"prompt\":\"ok\"}\n{\"prompt\":\"%s\"}\n", big);
    assert_null(dataset_open_mem(text, strlen(text), "d.jsonl", DATASET_AUTO, 0, 100, err, sizeof err));
    assert_string_equal(err, "d.jsonl:2: prompt of 150 bytes is larger than --max-prompt-bytes 100 "
                             "(--skip-bad-lines skips such lines)");
    struct dataset *d = dataset_open_mem(text, strlen(text), "d.jsonl", DATASET_AUTO, 0, 150, err, sizeof err);
    assert_non_null(d);   /* exactly the bound */
    dataset_free(d);
    d = dataset_open_mem(text, strlen(text), "d.jsonl", DATASET_AUTO, 1, 100, err, sizeof err);
    assert_int_equal(dataset_count(d), 1);
    assert_int_equal(dataset_skipped(d), 1);
    dataset_free(d);
    /* Escapes count decoded: 60 "\\u0041" are 60 bytes. */
    char esc[600] = "{\"prompt\":\"";
    for (int i = 0; i < 60; i++)
        strcat(esc, "\\u0041");
    strcat(esc, "\"}");
    d = dataset_open_mem(esc, strlen(esc), "e.jsonl", DATASET_AUTO, 0, 60, err, sizeof err);
    assert_non_null(d);
    dataset_free(d);
    /* Messages add up; a ShareGPT question alone counts. */
    snprintf(text, sizeof text, "{\"messages\":[{\"role\":\"user\",\"content\":\"%.60s\"},"
             "{\"role\":\"user\",\"content\":\"%.60s\"}]}", big, big);
    assert_null(dataset_open_mem(text, strlen(text), "m.jsonl", DATASET_AUTO, 0, 100, err, sizeof err));
    assert_non_null(strstr(err, "m.jsonl:1: prompt of 120 bytes"));
    snprintf(text, sizeof text, "[{\"conversations\":[{\"from\":\"human\",\"value\":\"q\"},"
             "{\"from\":\"gpt\",\"value\":\"%s\"}]},\n{\"conversations\":[{\"from\":\"human\","
             "\"value\":\"%s\"},{\"from\":\"gpt\",\"value\":\"a\"}]}]", big, big);
    assert_null(dataset_open_mem(text, strlen(text), "s.json", DATASET_AUTO, 0, 100, err, sizeof err));
    assert_non_null(strstr(err, "s.json:2: prompt of 150 bytes"));
    /* Lines: the bound, and a line with no end in sight. */
    snprintf(text, sizeof text, "short\n%s\n", big);
    assert_null(dataset_open_mem(text, strlen(text), "p.txt", DATASET_LINES, 0, 100, err, sizeof err));
    assert_non_null(strstr(err, "p.txt:2: prompt longer than --max-prompt-bytes 100"));
    assert_null(dataset_open_mem(text, strlen(text), "p.txt", DATASET_LINES, 0, 149, err, sizeof err));
    assert_non_null(strstr(err, "p.txt:2: prompt of 150 bytes"));
    /* A JSONL line too long to hold a prompt of 1 byte: not tokenised. */
    size_t huge = DATASET_ENTRY_MAX(1) + 10;
    char *h = malloc(huge + 1);
    assert_non_null(h);
    memset(h, ' ', huge);
    h[0] = '{';
    h[huge] = '\0';
    assert_null(dataset_open_mem(h, huge, "h.jsonl", DATASET_JSONL, 0, 1, err, sizeof err));
    assert_non_null(strstr(err, "h.jsonl:1: entry longer than"));
    free(h);
    /* /dev/zero: the first read says it, not "out of memory". */
    assert_null(dataset_open("/dev/zero", DATASET_AUTO, 0, 0, err, sizeof err));
    assert_string_equal(err, "/dev/zero:1: a NUL byte at offset 0: not a text dataset");
}

/* The file's SHA-256 (what a result records of a dataset): the FIPS 180-2
 * example, and its size. */
static void test_sha256(void **state)
{
    (void)state;
    char err[256];
    char *p = write_tmp("abc", 3);
    struct dataset *d = dataset_open(p, DATASET_LINES, 0, 0, err, sizeof err);
    assert_non_null(d);
    assert_string_equal(dataset_sha256(d),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(dataset_bytes(d), 3);
    dataset_free(d);
    unlink(p);
    free(p);
}

static long maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A ShareGPT file of about 96 MB loads with a peak RSS growth well under
 * twice its size (the bound for 700 MB files). */
static void test_large_sharegpt_memory(void **state)
{
    (void)state;
    char *path = strdup("/tmp/llmload-big-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    static char reply[2000];
    memset(reply, 'r', sizeof reply - 1);
    size_t n = 0, entries = 0;
    fputs("[\n", f);
    while (n < (96u << 20)) {
        int w = fprintf(f, "%s{\"id\":\"%zu\",\"conversations\":[{\"from\":\"human\",\"value\":\"question %zu "
                           "with some words \\n and an escape\"},{\"from\":\"gpt\",\"value\":\"%s\"}]}",
                        entries ? ",\n" : "", entries, entries, reply);
        assert_true(w > 0);
        n += (size_t)w;
        entries++;
    }
    fputs("\n]\n", f);
    assert_int_equal(fclose(f), 0);
    long before = maxrss_kib();
    char err[256];
    struct dataset *d = dataset_open(path, DATASET_AUTO, 0, 0, err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    long after = maxrss_kib();
    assert_int_equal(dataset_count(d), entries);
    /* Hashed piece by piece as the scan released its pages: the same as
     * hashing the file in one go. */
    {
        struct sha256_ctx c;
        uint8_t dg[SHA256_DIGEST_SIZE], buf[1 << 16];
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        FILE *in = fopen(path, "rb");
        size_t k;
        assert_non_null(in);
        sha256_init(&c);
        while ((k = fread(buf, 1, sizeof buf, in)) > 0)
            sha256_update(&c, k, buf);
        fclose(in);
        sha256_digest(&c, sizeof dg, dg);
        for (size_t i = 0; i < sizeof dg; i++)
            snprintf(hex + 2 * i, 3, "%02x", dg[i]);
        assert_string_equal(dataset_sha256(d), hex);
    }
    struct dataset_scratch s = { 0 };
    struct dataset_item it;
    assert_int_equal(dataset_get(d, entries - 1, &s, 1, &it), 0);
    char want[64];
    snprintf(want, sizeof want, "question %zu with some words \n and an escape", entries - 1);
    assert_string_equal(it.prompt, want);
    assert_int_equal(it.reply_len, sizeof reply - 1);
    dataset_scratch_free(&s);
    dataset_free(d);
    unlink(path);
    free(path);
    long grew_kib = after - before;
    if ((size_t)grew_kib * 1024 > 2 * n)
        fail_msg("peak RSS grew by %ld KiB for a %zu byte file", grew_kib, n);
    print_message("# %zu entries, %zu bytes: peak RSS grew by %ld KiB\n", entries, n, grew_kib);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_jsonl_bad_lines),
        cmocka_unit_test(test_sharegpt),
        cmocka_unit_test(test_sharegpt_errors),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_prompt_bound),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_large_sharegpt_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
