#ifndef LLMLOAD_SCHEDULE_H
#define LLMLOAD_SCHEDULE_H
/* Arrival processes for open-loop runs: when each request should be sent.
 *
 * A schedule is a caller-owned struct (no allocation).  It produces the
 * offsets, in nanoseconds from the run start, of successive arrivals:
 *
 *   poisson   exponential gaps, mean 1/rate
 *   constant  gaps of exactly 1/rate
 *   gamma     gamma gaps with shape = burstiness and mean 1/rate, so the
 *             squared coefficient of variation of a gap is 1/burstiness:
 *             burstiness 1 is poisson, < 1 burstier, > 1 smoother
 *
 * The k-th arrival (k = 1, 2, ...) comes after k gaps, so a constant
 * schedule at rate R sends its first request at 1/R and its n-th at n/R.
 *
 * Ramp-up: with ramp_up_ns > 0 the rate grows linearly from 0 to `rate`
 * over ramp_up_ns and stays at `rate` afterwards.  Gaps are drawn in
 * "expected arrivals" (mean 1) and mapped through the inverse of the
 * integrated rate, so the count of arrivals by time t follows
 * Lambda(t) = rate * t^2 / (2 T) during the ramp and
 * rate * (T / 2 + t - T) after it (exactly for constant, in expectation for
 * the random processes).
 *
 * The same seed gives the same schedule on every machine (the PRNG and the
 * variate algorithms are hand-written, see schedule.c). */
#include <stdint.h>
#include "config.h"

struct schedule {
    enum arrival arrival;
    double rate;            /* requests/s */
    double shape;           /* gamma shape (burstiness) */
    double ramp_s;          /* ramp-up length, seconds */
    double work;            /* expected arrivals so far (sum of unit gaps) */
    uint64_t last_ns;       /* previous offset, for monotonicity */
    uint64_t rng[4];        /* xoshiro256** state */
};

/* Prepares s.  rate must be > 0 and finite for an open-loop arrival; for
 * ARRIVAL_CLOSED (or rate <= 0) schedule_next always returns 0.  A gamma
 * burstiness <= 0 or non-finite is taken as 1 (poisson). */
void schedule_init(struct schedule *s, enum arrival a, double rate, double burstiness,
                   uint64_t seed, uint64_t ramp_up_ns);

/* Offset in ns from the run start of the next arrival.  Monotonically
 * non-decreasing; saturates at UINT64_MAX rather than wrapping. */
uint64_t schedule_next(struct schedule *s);

/* A uniform variate in the open interval (0, 1) from s's PRNG. */
double schedule_uniform(struct schedule *s);

/* A gamma variate with the given shape (> 0) and scale 1, from s's PRNG. */
double schedule_gamma(struct schedule *s, double shape);

/* Closed-loop ramp-up: the fraction of the target concurrency allowed at
 * offset t_ns, growing linearly from 0 to 1 over ramp_up_ns (1 when
 * ramp_up_ns is 0).  The engine admits ceil(fraction * concurrency), at
 * least 1. */
double schedule_ramp_fraction(uint64_t ramp_up_ns, uint64_t t_ns);

/* "poisson", "constant", "gamma", "closed". */
const char *schedule_arrival_name(enum arrival a);

/* Parses an --arrival value.  0, or -1 on an unknown name. */
int schedule_arrival_parse(const char *s, enum arrival *out);

#endif
