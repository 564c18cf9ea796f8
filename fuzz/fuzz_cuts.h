#ifndef LLMLOAD_FUZZ_CUTS_H
#define LLMLOAD_FUZZ_CUTS_H
/* The cuts of a fuzz input that feeds bytes in pieces: after the input's
 * first byte, ncuts bytes, each the gap from the previous cut minus one;
 * the rest is what is cut.  Shared by the targets that check an outcome
 * does not depend on where reads end. */
#include <stddef.h>
#include <stdint.h>

/* Fills cuts[0..ncuts) (ncuts <= max) from data[1..], and *rest, *n with
 * what follows.  0, or -1 when the input is too short or ncuts > max. */
static inline int fuzz_cuts(const uint8_t *data, size_t size, size_t ncuts, size_t *cuts, size_t max,
                            const uint8_t **rest, size_t *n)
{
    size_t at = 0;
    if (ncuts > max || size < 1 + ncuts)
        return -1;
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] = at += (size_t)data[1 + i] + 1;
    *rest = data + 1 + ncuts;
    *n = size - 1 - ncuts;
    return 0;
}

#endif
