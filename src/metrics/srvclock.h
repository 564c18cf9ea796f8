#ifndef LLMLOAD_SRVCLOCK_H
#define LLMLOAD_SRVCLOCK_H
/* This machine's clock against the server's, from the HTTP Date header of
 * its responses (docs/scale.md, "Clock offsets").
 *
 * A Date names the second of the server's clock in which it made the
 * response, somewhere between the request's send and the response's first
 * byte on this machine's clock.  So the offset (server minus client) lies
 * in [date - recv, date + 1 s - send) for each response, and in the
 * intersection of those intervals over all of them: one response bounds
 * it to about a second, responses whose [send, recv] fall at other phases
 * of the server's second cut it down towards their round trip.  Bounds
 * only intersect: a merge of the parts of one machine is their
 * intersection. */
#include <stddef.h>
#include <stdint.h>

struct srv_clock {
    int64_t lo_ns, hi_ns;       /* the offset lies in [lo_ns, hi_ns) */
    uint64_t n;                 /* responses with a Date; 0: nothing known */
};

void srv_clock_init(struct srv_clock *c);
/* One response: its Date (Unix seconds) and the wall-clock times (Unix ns)
 * its request was sent and its first byte arrived. */
void srv_clock_add(struct srv_clock *c, int64_t date_s, int64_t send_ns, int64_t recv_ns);
void srv_clock_merge(struct srv_clock *dst, const struct srv_clock *src);
/* The bounds disagree (lo > hi): the responses came from clocks that are
 * not one (servers behind a balancer), or a clock was stepped. */
int srv_clock_inconsistent(const struct srv_clock *c);

/* An HTTP-date (RFC 9110 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", the
 * only form a server may send) of len bytes into Unix seconds.  0, or -1
 * when it is not one. */
int srv_clock_parse_date(const char *v, size_t len, int64_t *out_s);

#endif
