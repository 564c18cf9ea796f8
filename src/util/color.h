#ifndef LLMLOAD_COLOR_H
#define LLMLOAD_COLOR_H
/* Colour on the terminal: one switch for the whole process (--color, set by
 * the option parser) and one question every printer asks (color()).
 *
 * auto (the default) colours a stream only when it is a terminal and the
 * environment does not say otherwise: NO_COLOR set to any non-empty value
 * (no-color.org) or TERM=dumb turns it off.  always colours even into a pipe
 * or a file (for `less -R`, CI logs that render ANSI); never never does. */
#include <stdio.h>

enum color_mode { COLOR_AUTO = 0, COLOR_ALWAYS, COLOR_NEVER };

/* SGR sequences the printers use; modest by design. */
#define COLOR_BOLD   "\033[1m"
#define COLOR_RED    "\033[1;31m"
#define COLOR_GREEN  "\033[32m"
#define COLOR_YELLOW "\033[33m"
#define COLOR_RESET  "\033[0m"

/* "auto", "always", "never" (and the usual "yes"/"no" spellings of
 * always/never, as ls and grep take them).  The mode, or -1. */
int color_parse(const char *s);

void color_set(enum color_mode m);
enum color_mode color_get(void);

/* 1 when text written to f should be coloured. */
int color_on(FILE *f);

/* sgr when f is coloured, "" otherwise: printf("%sFAIL%s", color(f,
 * COLOR_RED), color(f, COLOR_RESET)). */
const char *color(FILE *f, const char *sgr);

#endif
