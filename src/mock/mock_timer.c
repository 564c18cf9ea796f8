/* A binary min-heap of nanosecond deadlines driven by one timerfd. */
#include "mock_timer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void heap_set(struct mtimers *ts, size_t i, struct mtimer_slot e)
{
    ts->heap[i] = e;
    e.t->idx = i + 1;
}

static void sift_up(struct mtimers *ts, size_t i)
{
    struct mtimer_slot e = ts->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (e.due >= ts->heap[parent].due)
            break;
        heap_set(ts, i, ts->heap[parent]);
        i = parent;
    }
    heap_set(ts, i, e);
}

static void sift_down(struct mtimers *ts, size_t i)
{
    struct mtimer_slot e = ts->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t best = e.due;
        if (l < ts->n && ts->heap[l].due < best) {
            m = l;
            best = ts->heap[l].due;
        }
        if (l + 1 < ts->n && ts->heap[l + 1].due < best)
            m = l + 1;
        if (m == i)
            break;
        heap_set(ts, i, ts->heap[m]);
        i = m;
    }
    heap_set(ts, i, e);
}

/* Sets the timerfd to the earliest deadline.  Runs once per loop iteration
 * (prepare phase) rather than at every start/stop, which keeps it to at most
 * one syscall per iteration. */
static void timers_arm(struct mtimers *ts)
{
    uint64_t want = ts->n ? ts->heap[0].due : 0;
    if (want == ts->armed)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (want) {
        /* An absolute deadline in the past fires at once. */
        its.it_value.tv_sec = (time_t)(want / 1000000000u);
        its.it_value.tv_nsec = (long)(want % 1000000000u);
    }
    if (timerfd_settime(ts->fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        ts->armed = want;
}

static void on_prepare(uv_prepare_t *h)
{
    timers_arm(h->data);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct mtimers *ts = h->data;
    uint64_t expirations;
    /* The read only clears readiness; its count is not needed.  EAGAIN
     * means an earlier re-arm already consumed it. */
    if (read(ts->fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        return;
    ts->armed = 0;
    uint64_t now = uv_hrtime();
    while (ts->n && !ts->closing && ts->heap[0].due <= now) {
        struct mtimer *t = ts->heap[0].t;
        mtimer_stop(ts, t);
        t->cb(t);
    }
    timers_arm(ts);
}

int mtimers_init(struct mtimers *ts, uv_loop_t *loop)
{
    int r;
    memset(ts, 0, sizeof *ts);
    ts->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ts->fd < 0)
        return -errno;
    if ((r = uv_poll_init(loop, &ts->poll, ts->fd)) < 0)
        goto err;
    ts->poll.data = ts;
    if ((r = uv_poll_start(&ts->poll, UV_READABLE, on_poll)) < 0)
        goto err_poll;
    if ((r = uv_prepare_init(loop, &ts->prep)) < 0)
        goto err_poll;
    ts->prep.data = ts;
    if ((r = uv_prepare_start(&ts->prep, on_prepare)) < 0) {
        uv_close((uv_handle_t *)&ts->prep, NULL);
        goto err_poll;
    }
    return 0;
err_poll:
    uv_close((uv_handle_t *)&ts->poll, NULL);
err:
    close(ts->fd);
    ts->fd = -1;
    return r;
}

int mtimer_start(struct mtimers *ts, struct mtimer *t, uint64_t due)
{
    if (ts->closing)
        return 0;
    if (t->idx)
        mtimer_stop(ts, t);
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 1024;
        struct mtimer_slot *h = realloc(ts->heap, cap * sizeof *h);
        if (!h)
            return UV_ENOMEM;
        ts->heap = h;
        ts->cap = cap;
    }
    /* The timerfd reads an all-zero deadline as "disarm". */
    t->due = due ? due : 1;
    heap_set(ts, ts->n++, (struct mtimer_slot){ t->due, t });
    sift_up(ts, ts->n - 1);
    return 0;
}

void mtimer_stop(struct mtimers *ts, struct mtimer *t)
{
    if (!t->idx)
        return;
    size_t i = t->idx - 1;
    t->idx = 0;
    ts->n--;
    if (i == ts->n)
        return;
    heap_set(ts, i, ts->heap[ts->n]);
    if (i > 0 && ts->heap[i].due < ts->heap[(i - 1) / 2].due)
        sift_up(ts, i);
    else
        sift_down(ts, i);
}

static void on_fd_handle_closed(uv_handle_t *h)
{
    struct mtimers *ts = h->data;
    if (ts->fd >= 0) {
        close(ts->fd);
        ts->fd = -1;
    }
}

void mtimers_close(struct mtimers *ts)
{
    if (ts->closing)
        return;
    ts->closing = 1;
    for (size_t i = 0; i < ts->n; i++)
        ts->heap[i].t->idx = 0;
    ts->n = 0;
    free(ts->heap);
    ts->heap = NULL;
    ts->cap = 0;
    uv_close((uv_handle_t *)&ts->prep, NULL);
    /* The fd must outlive the poll handle that watches it. */
    uv_close((uv_handle_t *)&ts->poll, on_fd_handle_closed);
}
