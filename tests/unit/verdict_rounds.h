#ifndef LLMLOAD_TEST_VERDICT_ROUNDS_H
#define LLMLOAD_TEST_VERDICT_ROUNDS_H
/* Real values for the verdict tests (test_stats.c, test_knee.c): the 12
 * rounds' log ratios (first target's rate over the second's) of one
 * `compare --rounds 12` of two identical simulators in
 * bench/verdict_trials.py, on a loaded machine.  A burst of other work
 * slowed the first target by 4% and 7% in rounds 1 and 2. */
static const double verdict_rounds_lr[12] = {
    0.00077634367054074888, -0.04252035777677645, -0.074034286029816487,
    -0.00082730303235929606, -0.0004973739269569711, -0.00026661052576697837,
    0.00042964469612329976, 0.00065741791489271127, -0.00023618958184446745,
    9.4980318589495201e-05, -0.0044540691363995685, -0.00036223573652896496,
};

#endif
