#ifndef LLMLOAD_UNITS_H
#define LLMLOAD_UNITS_H
/* Units on the command line and on the terminal.
 *
 * Parsers return 0 on success and -1 on a malformed value, never exit, and
 * never print: the caller names the flag in its one-line error. */
#include <stddef.h>
#include <stdint.h>

/* "30s", "500ms", "250us", "100ns", "2m", "1h", "1.5s"; a bare number is
 * seconds.  Negative, empty, trailing junk, or overflow: -1. */
int units_parse_duration(const char *s, uint64_t *ns);

/* "100", "1k" (1000), "2M", "1G"; only whole results. */
int units_parse_count(const char *s, uint64_t *out);

/* The table both parsers above and the gate's assertions use:
 * units_duration_suffix gives the nanoseconds of one "ns", "us", "µs", "ms",
 * "s", "m", "min", "h" or "" (a bare number is seconds), -1 for anything
 * else; units_count_prefix reads a leading multiplier k/K (1e3), M (1e6) or
 * G (1e9) into *mult and returns its length, 0 (and *mult 1) when s has
 * none. */
int units_duration_suffix(const char *suffix, double *ns);
size_t units_count_prefix(const char *s, double *mult);

/* A finite double ("0.7", "1e3").  -1 on junk, NaN or inf. */
int units_parse_double(const char *s, double *out);

/* "5%" -> 0.05, "0.05" -> 0.05. */
int units_parse_fraction(const char *s, double *out);

/* Human form of a duration in seconds: "812 us", "12.3 ms", "1.20 s",
 * "2m 05s".  Writes into buf (cap >= 16) and returns buf.  NaN gives "-". */
const char *units_fmt_seconds(double s, char *buf, size_t cap);

/* "1.23 k", "4.56 M" style for rates and counts; unit appended by caller. */
const char *units_fmt_si(double v, char *buf, size_t cap);

#endif
