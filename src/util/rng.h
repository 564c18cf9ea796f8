#ifndef LLMLOAD_RNG_H
#define LLMLOAD_RNG_H
/* splitmix64 (Steele, Lea, Flood 2014; public-domain reference by Vigna):
 * small, well mixed, and the same sequence on every platform and libc, so a
 * schedule, a bootstrap interval or a simulated reply is reproducible from
 * its seed alone.  Inline: it sits in loops that draw millions of numbers. */
#include <stdint.h>

#define RNG_GOLDEN 0x9e3779b97f4a7c15ULL     /* 2^64 / phi, the state's step */

/* The output function: mixes z into 64 well-spread bits. */
static inline uint64_t rng_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Advances *state and returns the next number of its sequence. */
static inline uint64_t rng_splitmix64(uint64_t *state)
{
    return rng_mix64(*state += RNG_GOLDEN);
}

#endif
