/* libFuzzer target: the dataset reader (docs/workloads.md, "Fuzzing").
 * The first byte picks the format and --skip-bad-lines; the rest is the
 * file.  Every entry that loads is decoded, reply included, so the lazy
 * decoding is covered as well as the validating scan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum dataset_format fmt = (enum dataset_format)(data[0] & 3);
    int skip = (data[0] >> 2) & 1;
    /* A private copy, so an over-read past the end is caught by ASan. */
    char *buf = malloc(size - 1 ? size - 1 : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    char err[256];
    struct dataset *d = dataset_open_mem(buf, size - 1, "fuzz", fmt, skip, 0, err, sizeof err);
    if (d) {
        struct dataset_scratch s = { 0 };
        for (size_t i = 0; i < dataset_count(d); i++) {
            struct dataset_item it;
            if (dataset_get(d, i, &s, (int)(i & 1), &it) < 0)
                abort();   /* validated entries must decode */
            if (!it.prompt && !it.nmessages)
                abort();
        }
        dataset_scratch_free(&s);
        dataset_free(d);
    } else if (!err[0]) {
        abort();   /* a failure always says why */
    }
    free(buf);
    return 0;
}
