#ifndef LLMLOAD_UTIL_H
#define LLMLOAD_UTIL_H
/* Small helpers several modules share. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes all n bytes to fd, retrying on EINTR and short writes.  0, or -1
 * with errno set. */
int util_write_all(int fd, const char *p, size_t n);

/* snprintf into an error buffer; a NULL buffer or zero cap is a no-op. */
void util_errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Optimal string alignment distance between two short names (Levenshtein
 * plus swaps of adjacent characters), for "did you mean" suggestions.
 * Names longer than 63 bytes are far from everything (SIZE_MAX/2). */
size_t util_edit_distance(const char *a, const char *b);

/* The wall clock (CLOCK_REALTIME) in Unix nanoseconds, 0 if unavailable.
 * For laying runs on one time line, never for timing. */
int64_t util_wall_ns(void);

/* What the kernel's clock discipline (NTP, chrony, via adjtimex) says of
 * the wall clock: the offset it is still correcting and its estimated
 * error, in seconds, and whether it is synchronised at all.  -1 when the
 * kernel does not say (then nothing is set). */
int util_clock_status(double *offset_s, double *error_s, int *synced);

#endif
