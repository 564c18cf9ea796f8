#ifndef LLMLOAD_SECRET_H
#define LLMLOAD_SECRET_H
/* Secrets: what llmload knows must never reach a terminal or a file (the
 * API key today; header values given for authentication and proxy
 * credentials when they exist), and the one function that takes them out of
 * a text.
 *
 * A server may echo what it was sent ("Incorrect API key provided: Bearer
 * sk-..."), whole, cut short by the client's own bound on error text, or
 * masked the way OpenAI does ("sk-proj-ab****wxyz").  Every text that comes
 * from a server passes secret_redact at the point where it enters
 * llmload's records (result_text_clean, the probes of `check`), so nothing
 * downstream (summary, JSON, CSV, raw, gate reports, baselines, sweep and
 * compare documents) can carry a secret.
 *
 * The registry is process-wide and grows only: a command registers its
 * secrets once, after parsing its flags. */
#include <stddef.h>

#define SECRET_MAX 48           /* secrets registered at most: a key, --header values, a proxy's */
#define SECRET_MASK "***"       /* what a secret becomes */

/* Registers a copy of s (NULL or "" is a no-op; a secret given twice is
 * kept once).  0, or -1 when the registry is full or out of memory. */
int secret_add(const char *s);

/* Forgets every secret (tests). */
void secret_clear(void);

/* Replaces in the NUL-terminated s, in place, every part of a registered
 * secret by SECRET_MASK:
 *   - every occurrence of a secret, and of its JSON-escaped form;
 *   - any run of 8 or more of its characters in a row (a secret quoted in
 *     part);
 *   - a masked echo: a beginning of the secret (3 characters or more), then
 *     3 or more of '*', '.' or '…', then what follows of the secret's end;
 *     or the mask alone followed by the secret's last 4 or more characters;
 *   - at the very end of s, the secret's first 4 or more characters (s was
 *     cut inside the secret).
 * The text never grows (a part shorter than the mask becomes as many '*').
 * Returns the new length. */
size_t secret_redact(char *s);

#endif
