#ifndef LLMLOAD_STATUS_H
#define LLMLOAD_STATUS_H
/* The one contract for results that cross a module boundary.
 *
 * A function that can fail returns 0 (LL_OK) or one of these negative
 * codes, and writes one line into the caller's err buffer saying what was
 * wrong (util_errf).  The class decides what the command does with it:
 * a usage error exits 2, an unavailable server or a failed write exits 3
 * (exitcode.h).  Functions that only fail one way may keep returning -1,
 * which is LL_EUSAGE's value only by accident: say which in their comment.
 * Inside a module, cleanup after a failure is one `goto out`. */
enum ll_status {
    LL_OK = 0,
    LL_EUSAGE = -1,     /* the input is wrong: a flag, a URL, a file's content */
    LL_EUNAVAIL = -2,   /* the outside failed: unreachable, refused, timed out */
    LL_ENOMEM = -3,     /* out of memory */
    LL_EIO = -4,        /* reading or writing a file failed */
};

#endif
