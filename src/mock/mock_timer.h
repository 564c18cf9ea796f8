#ifndef LLMLOAD_MOCK_TIMER_H
#define LLMLOAD_MOCK_TIMER_H
/* Nanosecond timers for the simulator.
 *
 * libuv timers count whole milliseconds, but a fast simulated model emits a
 * token every 0.5 ms and the fidelity tests compare client and server times
 * to well under a millisecond.  So the simulator keeps its own min-heap of
 * deadlines (uv_hrtime() nanoseconds, CLOCK_MONOTONIC) and wakes the libuv
 * loop with one timerfd armed at the earliest deadline.  Nothing sleeps. */
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct mtimer;
typedef void (*mtimer_cb)(struct mtimer *t);

/* Embedded in its owner; the owner finds itself from t with container_of
 * arithmetic or a back-pointer.  Zero-initialise, then set cb. */
struct mtimer {
    uint64_t due;       /* uv_hrtime() ns */
    size_t idx;         /* heap position + 1; 0 when not scheduled */
    mtimer_cb cb;
};

/* Heap entries carry the deadline inline, so sifting compares without
 * touching the (scattered) connection structs. */
struct mtimer_slot {
    uint64_t due;
    struct mtimer *t;
};

struct mtimers {
    struct mtimer_slot *heap;
    size_t n, cap;
    int fd;             /* timerfd */
    uint64_t armed;     /* deadline the timerfd is set to; 0 = disarmed */
    uv_poll_t poll;
    uv_prepare_t prep;
    int closing;
};

/* Creates the timerfd and its libuv handles on loop.  Returns 0 or a
 * negative errno / libuv code. */
int mtimers_init(struct mtimers *ts, uv_loop_t *loop);

/* Schedules t (again) at due ns.  A due in the past fires on the next loop
 * iteration.  Returns 0, or UV_ENOMEM when the heap cannot grow (t is then
 * not scheduled). */
int mtimer_start(struct mtimers *ts, struct mtimer *t, uint64_t due);

/* Unschedules t; a no-op when it is not scheduled. */
void mtimer_stop(struct mtimers *ts, struct mtimer *t);

static inline int mtimer_active(const struct mtimer *t) { return t->idx != 0; }

/* Closes the handles (the loop can then end) and frees the heap.  Pending
 * timers never fire afterwards. */
void mtimers_close(struct mtimers *ts);

#endif
