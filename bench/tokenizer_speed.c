/* Tokenizer throughput: encodes a text repeatedly on one core and prints
 * MB/s (10^6 bytes of UTF-8 input per CPU second of the encoding thread).
 *
 *   tokenizer_speed TOKENIZER_FILE [--encoding E] [--text FILE] [--seconds S]
 *
 * Without --text it uses a generated text of 4 MiB: English-like words with
 * punctuation, digits, newlines and some non-ASCII, so that every branch of
 * the pre-tokenizer pattern is exercised.  The generator is seeded, so runs
 * are comparable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer.h"

/* CPU time of this thread: the speed "on one core" stays meaningful when
 * other processes share the machine (wall time is printed too). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *gen_text(size_t want, size_t *len)
{
    static const char *words[] = {
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "with", "as", "was",
        "benchmark", "latency", "throughput", "server", "tokens", "request", "model",
        "inference", "streaming", "percentile", "concurrency", "cache", "prompt",
        "don't", "it's", "we'll", "Straße", "café", "naïve", "数据", "模型", "😀",
        "2025", "3.14159", "v1.2.3", "HTTP/1.1", "x86_64", "foo_bar", "(see", "below)",
    };
    static const char *seps[] = { " ", " ", " ", " ", ", ", ". ", ".\n", "\n\n", "; ", " - " };
    char *b = malloc(want + 64);
    if (!b)
        return NULL;
    uint64_t s = 42;
    size_t n = 0;
    while (n < want) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const char *w = words[(s >> 33) % (sizeof words / sizeof words[0])];
        const char *sep = seps[(s >> 17) % (sizeof seps / sizeof seps[0])];
        size_t wl = strlen(w), sl = strlen(sep);
        if (n + wl + sl > want)
            break;
        memcpy(b + n, w, wl);
        memcpy(b + n + wl, sep, sl);
        n += wl + sl;
    }
    *len = n;
    return b;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n)) != NULL) {
            if (fread(b, 1, (size_t)n, f) != (size_t)n) {
                free(b);
                b = NULL;
            } else {
                *len = (size_t)n;
            }
        }
    }
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *encoding = NULL, *textfile = NULL;
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--encoding") && i + 1 < argc)
            encoding = argv[++i];
        else if (!strcmp(argv[i], "--text") && i + 1 < argc)
            textfile = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: tokenizer_speed TOKENIZER_FILE [--encoding E] [--text FILE] [--seconds S]\n");
            return 2;
        }
    }
    if (!path || !(seconds > 0)) {
        fprintf(stderr, "usage: tokenizer_speed TOKENIZER_FILE [--encoding E] [--text FILE] [--seconds S]\n");
        return 2;
    }
    char err[512];
    double t0 = now_s();
    struct tokenizer *t = tokenizer_load(path, encoding, err, sizeof err);
    if (!t) {
        fprintf(stderr, "tokenizer_speed: %s\n", err);
        return 1;
    }
    double load_s = now_s() - t0;
    size_t len = 0;
    char *text = textfile ? read_file(textfile, &len) : gen_text(4u << 20, &len);
    if (!text) {
        fprintf(stderr, "tokenizer_speed: cannot read %s\n", textfile ? textfile : "(generated text)");
        tokenizer_free(t);
        return 1;
    }
    long tokens = 0;
    size_t bytes = 0;
    t0 = now_s();
    double c0 = cpu_s(), el, cpu;
    do {
        long n = tokenizer_count(t, text, len);
        if (n < 0) {
            fprintf(stderr, "tokenizer_speed: encode failed\n");
            return 1;
        }
        tokens += n;
        bytes += len;
        cpu = cpu_s() - c0;
    } while (cpu < seconds);
    el = now_s() - t0;
    printf("tokenizer: %s\nload: %.1f ms\ntext: %zu bytes, %.2f bytes/token\n"
           "speed: %.1f MB/s (%.2f M tokens/s) per CPU second, over %.1f s of CPU (%.1f s wall)\n",
           tokenizer_name(t), load_s * 1e3, len, (double)bytes / (double)tokens,
           (double)bytes / cpu / 1e6, (double)tokens / cpu / 1e6, cpu, el);
    free(text);
    tokenizer_free(t);
    return 0;
}
