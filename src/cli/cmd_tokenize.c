/* `llmload tokenize`: prints the token ids of a text and their count, for
 * users checking counts against a server and for the tests. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tokenizer.h"

static void tokenize_usage(FILE *f)
{
    fprintf(f,
        "usage: llmload tokenize --tokenizer FILE [--encoding E] [--count|--json|--decode] [TEXT | -]\n\n"
        "Prints the token ids of TEXT (or of standard input with `-` or no TEXT)\n"
        "on one line, then the count (\"N tokens\").\n\n"
        "  --tokenizer FILE   a tiktoken ranks file (.tiktoken) or a Hugging Face\n"
        "                     tokenizer.json (byte-level BPE)\n"
        "  --encoding E       pre-tokenizer of a ranks file: cl100k_base or o200k_base\n"
        "                     (guessed from the rank count or file name when omitted)\n"
        "  --count            print only the count\n"
        "  --json             print {\"count\":N,\"ids\":[...]}\n"
        "  --decode           TEXT is token ids (separated by spaces or commas):\n"
        "                     print their bytes\n"
        "  -h, --help         this help\n");
}

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
    const char *path = NULL, *encoding = NULL, *text = NULL;
    int count_only = 0, json = 0, decode = 0, rc = EXIT_RUN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t fl = eq && a[0] == '-' && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
        const char *val = eq && fl != strlen(a) ? eq + 1 : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            tokenize_usage(stdout);
            return EXIT_OK;
        }
        if (!strncmp(a, "--tokenizer", fl) && fl == 11) {
            if (!val && (val = i + 1 < argc ? argv[++i] : NULL) == NULL)
                goto missing;
            path = val;
        } else if (!strncmp(a, "--encoding", fl) && fl == 10) {
            if (!val && (val = i + 1 < argc ? argv[++i] : NULL) == NULL)
                goto missing;
            encoding = val;
        } else if (!strcmp(a, "--count")) {
            count_only = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--decode")) {
            decode = 1;
        } else if (!strcmp(a, "--")) {
            if (i + 2 < argc || (i + 1 < argc && text)) {
                fprintf(stderr, "llmload tokenize: give one TEXT argument (quote it)\n");
                return EXIT_USAGE;
            }
            if (i + 1 < argc)
                text = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "llmload tokenize: unknown option '%s' (try --help)\n", a);
            return EXIT_USAGE;
        } else if (text) {
            fprintf(stderr, "llmload tokenize: give one TEXT argument (quote it), got also '%s'\n", a);
            return EXIT_USAGE;
        } else {
            text = a;
        }
        continue;
missing:
        fprintf(stderr, "llmload tokenize: %s needs a value\n", a);
        return EXIT_USAGE;
    }
    if (!path) {
        fprintf(stderr, "llmload tokenize: --tokenizer FILE is required\n");
        return EXIT_USAGE;
    }
    char err[512];
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
    if (decode) {
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
    if (json) {
        printf("{\"count\":%ld,\"ids\":[", n);
        for (long i = 0; i < n; i++)
            printf(i ? ",%u" : "%u", ids[i]);
        printf("]}\n");
    } else if (count_only) {
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
