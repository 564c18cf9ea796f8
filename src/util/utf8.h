#ifndef LLMLOAD_UTF8_H
#define LLMLOAD_UTF8_H
/* UTF-8 as RFC 3629 defines it: the one place that decides what a valid
 * sequence is, for the escapers, the cleaning of server text and the
 * tokenizer. */
#include <stddef.h>
#include <stdint.h>

/* Bytes a sequence claims from its lead byte alone: 1 for ASCII and for a
 * byte that cannot lead (a continuation byte), else 2 to 4 from its high
 * bits.  Nothing is checked: for stepping over text already known to be
 * (mostly) UTF-8, never for deciding whether it is. */
size_t utf8_lead_len(unsigned char c);

/* Length (1 to 4) of the valid sequence at p, reading at most avail bytes,
 * with its code point in *cp (cp may be NULL); 0 when p does not start a
 * valid sequence: a stray continuation byte, a lead byte 0xC0, 0xC1 or
 * 0xF5..0xFF, a truncated sequence, an overlong form, a UTF-16 surrogate
 * (U+D800..U+DFFF) or a value past U+10FFFF.  avail 0 gives 0. */
size_t utf8_decode(const char *p, size_t avail, uint32_t *cp);

/* 1 when s[0..n) is valid UTF-8 throughout, else 0. */
int utf8_valid(const char *s, size_t n);

/* Writes cp (at most U+10FFFF, not a surrogate) as 1 to 4 bytes into out
 * and returns the count; 0 for a value UTF-8 cannot carry. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* A copy of s[0..n) in which every byte that does not start a valid
 * sequence (utf8_decode) is U+FFFD, NUL-terminated; NULL on out of memory.
 * The caller frees it. */
char *utf8_repaired(const char *s, size_t n);

/* Characters in the NUL-terminated s: the bytes that are not continuation
 * bytes (what a terminal shows, near enough, for a length). */
size_t utf8_chars(const char *s);

#endif
