/* `llmload tokenize`: prints the token ids of a text and their count, for
 * users checking counts against a server and for the tests. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tokenizer.h"

enum tokenize_flag { T_TOKENIZER, T_ENCODING, T_COUNT, T_JSON, T_DECODE };

struct tokenize_args {
    const char *path, *encoding;
    int count_only, json, decode;
};

static int tokenize_apply(void *ud, const struct opt *o, const char *flag, const char *v,
                          char *err, size_t cap)
{
    struct tokenize_args *a = ud;
    (void)flag;
    (void)err;
    (void)cap;
    switch ((enum tokenize_flag)o->id) {
    case T_TOKENIZER: a->path = v; break;
    case T_ENCODING: a->encoding = v; break;
    case T_COUNT: a->count_only = 1; break;
    case T_JSON: a->json = 1; break;
    case T_DECODE: a->decode = 1; break;
    }
    return 1;
}

static const struct opt tokenize_opts[] = {
    { T_TOKENIZER, "--tokenizer", { NULL }, "FILE", "a tiktoken ranks file (.tiktoken) or a Hugging Face\n"
                                                   "tokenizer.json (byte-level BPE); required" },
    { T_ENCODING, "--encoding", { NULL }, "E", "pre-tokenizer of a ranks file: cl100k_base or o200k_base\n"
                                              "(guessed from the rank count or file name when omitted)" },
    { T_COUNT, "--count", { NULL }, NULL, "print only the count" },
    { T_JSON, "--json", { NULL }, NULL, "print {\"count\":N,\"ids\":[...]}" },
    { T_DECODE, "--decode", { NULL }, NULL, "TEXT is token ids (separated by spaces or commas):\n"
                                            "print their bytes" },
};

static const struct opt_table tokenize_table = OPT_TABLE(tokenize_opts, tokenize_apply);
static const struct opt_table *const tokenize_tables[] = { &tokenize_table, NULL };

const struct opt_cmd cli_tokenize_cmd = {
    .name = "tokenize",
    .summary = "print the token ids and count of a text",
    .usage = "llmload tokenize --tokenizer FILE [--encoding E] [--count|--json|--decode] [TEXT | -]",
    .about = "Prints the token ids of TEXT (or of standard input with `-` or no TEXT)\n"
             "on one line, then the count (\"N tokens\").  A TEXT that starts with a dash\n"
             "comes after `--`.",
    .tables = tokenize_tables,
    .args = "TEXT",
    .max_args = 1,
    .epilog = "Exit codes: 0 ok, 2 usage error (a flag, the tokenizer file or a token id),\n"
              "3 the text could not be read or written.",
};

/* Reads all of stdin; NULL on error. */
static char *read_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    for (;;) {
        if (n == cap) {
            char *nb = cap < ((size_t)1 << 34) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, stdin);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(stdin)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* --decode: parses ids from text and writes their bytes to stdout. */
static int tokenize_decode(const struct tokenizer *t, const char *text, size_t len)
{
    size_t n = 0, cap = 0;
    uint32_t *ids = NULL;
    int rc = EXIT_USAGE;
    for (size_t i = 0; i < len; ) {
        if (text[i] == ' ' || text[i] == ',' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r' ||
            text[i] == '[' || text[i] == ']') {
            i++;
            continue;
        }
        uint64_t v = 0;
        size_t start = i;
        while (i < len && text[i] >= '0' && text[i] <= '9' && v <= UINT32_MAX)
            v = v * 10 + (uint64_t)(text[i++] - '0');
        if (i == start || v > UINT32_MAX) {
            fprintf(stderr, "llmload tokenize: --decode: '%.20s' is not a token id\n", text + start);
            goto out;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            uint32_t *ni = realloc(ids, cap * sizeof *ni);
            if (!ni) {
                fprintf(stderr, "llmload tokenize: out of memory\n");
                rc = EXIT_RUN;
                goto out;
            }
            ids = ni;
        }
        ids[n++] = (uint32_t)v;
    }
    long bl = tokenizer_decode(t, ids, n, NULL, 0);
    if (bl < 0) {
        fprintf(stderr, "llmload tokenize: --decode: an id is not in the vocabulary (%zu ids)\n",
                tokenizer_vocab_size(t));
        goto out;
    }
    char *buf = malloc((size_t)bl + 1);
    if (!buf || tokenizer_decode(t, ids, n, buf, (size_t)bl) != bl) {
        free(buf);
        fprintf(stderr, "llmload tokenize: out of memory\n");
        rc = EXIT_RUN;
        goto out;
    }
    rc = fwrite(buf, 1, (size_t)bl, stdout) == (size_t)bl && fflush(stdout) == 0 ? EXIT_OK : EXIT_RUN;
    free(buf);
out:
    free(ids);
    return rc;
}

int cmd_tokenize(int argc, char **argv)
{
    struct tokenize_args a = { 0 };
    const char *text = NULL;
    size_t ntext;
    char err[512];
    void *ud[] = { &a };
    int rc = opt_parse(&cli_tokenize_cmd, ud, argc, argv, 1, &text, &ntext, err, sizeof err);
    if ((rc = cli_parse_result(&cli_tokenize_cmd, rc, err)) >= 0)
        return rc;
    rc = EXIT_RUN;
    const char *path = a.path, *encoding = a.encoding;
    if (!path) {
        fprintf(stderr, "llmload tokenize: --tokenizer FILE is required\n");
        return EXIT_USAGE;
    }
    struct tokenizer *t = tokenizer_load(path, encoding, err, sizeof err);
    if (!t) {
        fprintf(stderr, "llmload tokenize: %s\n", err);
        return EXIT_USAGE;
    }
    char *owned = NULL;
    size_t len;
    if (!text || !strcmp(text, "-")) {
        owned = read_stdin(&len);
        if (!owned) {
            fprintf(stderr, "llmload tokenize: cannot read standard input\n");
            goto out;
        }
        text = owned;
    } else {
        len = strlen(text);
    }
    if (a.decode) {
        rc = tokenize_decode(t, text, len);
        goto out;
    }
    long n = tokenizer_count(t, text, len);
    uint32_t *ids = n > 0 ? malloc((size_t)n * sizeof *ids) : NULL;
    if (n < 0 || (n > 0 && !ids) || (n > 0 && tokenizer_encode(t, text, len, ids, (size_t)n) != n)) {
        fprintf(stderr, "llmload tokenize: tokenization failed (out of memory?)\n");
        free(ids);
        goto out;
    }
    if (a.json) {
        printf("{\"count\":%ld,\"ids\":[", n);
        for (long i = 0; i < n; i++)
            printf(i ? ",%u" : "%u", ids[i]);
        printf("]}\n");
    } else if (a.count_only) {
        printf("%ld\n", n);
    } else {
        for (long i = 0; i < n; i++)
            printf(i ? " %u" : "%u", ids[i]);
        printf("\n%ld token%s\n", n, n == 1 ? "" : "s");
    }
    free(ids);
    rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_RUN;
out:
    free(owned);
    tokenizer_free(t);
    return rc;
}
