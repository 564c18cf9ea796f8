#ifndef LLMLOAD_FILEIO_H
#define LLMLOAD_FILEIO_H
/* Output files written whole at the end of a run (the result JSON, JUnit,
 * Markdown, baselines, sweep and compare documents): opened before the run,
 * so a bad path costs no benchmark, and written so that a crash, a full
 * disk or a closed pipe never passes for success.
 *
 * What a path names decides how it is written:
 *
 *   a regular file, or a new name   atomically: a temporary file created in
 *                                   the same directory at out_open, filled,
 *                                   fsync'ed and renamed over the name, then
 *                                   the directory fsync'ed.  A reader sees
 *                                   the old file or the new one, never half
 *                                   of one.  An existing file keeps its
 *                                   permission bits.
 *   a symbolic link                 the same, beside the file the link
 *                                   points to (followed to its end), so the
 *                                   link stays a link; a dangling link
 *                                   creates its target.
 *   -, /dev/stdout, /dev/stderr,    the descriptor already open in this
 *   /dev/fd/N, /proc/self/fd/N      process, duplicated: written at its
 *                                   offset, in its mode (a shell's `>>` keeps
 *                                   appending), never truncated or replaced.
 *   anything else that is not a     written through: opened for writing at
 *   regular file (FIFO, character   out_open (a FIFO's open waits for its
 *   device, socket: /dev/null,      reader, as a shell's redirection does),
 *   /dev/full, `>(cmd)`)            never renamed over, so a device, FIFO or
 *                                   socket is never replaced by a file.
 *
 * "-" is the standard output, and at most one output of a process may be
 * "-" (out_open and out_open_fd refuse a second while the first is open):
 * the human summary then goes to the standard error (out_human).
 *
 * A directory, a missing directory, or a file or directory this process
 * may not write is refused by out_open.  Write errors are never hidden: a
 * short write, ENOSPC, EIO or EPIPE (SIGPIPE is held off during the write)
 * fails out_commit with a message naming the path and the reason.
 *
 * Messages are one line: "cannot write PATH: REASON". */
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct out_file;

/* Opens (or, for a regular file, prepares) path for one output.  Returns
 * the handle, or NULL with err.  Nothing visible changes at path until
 * out_commit; a regular file's temporary file ("." name ".tmp" suffix,
 * hidden) exists in its directory until then. */
struct out_file *out_open(const char *path, char *err, size_t errcap);

/* Writes data[0..len) as the whole content of the output.  0, or -1 with
 * err; after a failure a regular file's old content is untouched.  May be
 * called again: a regular file is then replaced again; a stream (device,
 * FIFO, socket, descriptor) receives the new bytes after the earlier
 * ones, since what was sent cannot be taken back. */
int out_commit(struct out_file *f, const void *data, size_t len, char *err, size_t errcap);

/* Releases f.  An output never committed is left as it was (its temporary
 * file removed; a stream closed with nothing written).  NULL is a no-op. */
void out_close(struct out_file *f);

/* The path as given to out_open. */
const char *out_path(const struct out_file *f);

/* 1 when f is written through (a stream or a descriptor), 0 when it is
 * replaced atomically. */
int out_is_stream(const struct out_file *f);

/* Checks path the way out_open does, without opening or creating
 * anything: for a caller that cannot keep a handle from before its run.
 * 0, or -1 with err. */
int out_check(const char *path, char *err, size_t errcap);

/* out_open, out_commit and out_close in one call.  0, or -1 with err. */
int out_write_file(const char *path, const void *data, size_t len, char *err, size_t errcap);

/* For outputs written as they go (the per-request raw file), which are not
 * replaced atomically: a descriptor path (/dev/stdout, /dev/fd/N, ...)
 * gives a duplicate of that descriptor, at its offset and in its mode; any
 * other path is opened with flags (O_CLOEXEC added) and mode.  The new
 * descriptor, or -1 with errno. */
int out_open_fd(const char *path, int flags, mode_t mode);

/* Where text for people goes: the standard output, or the standard error
 * while an output holds "-" (`--json -` leaves stdout to the document). */
FILE *out_human(void);

/* ---- input --------------------------------------------------------------- */

/* Opens path for reading; "-" is a duplicate of the standard input.  The
 * descriptor, or -1 with errno. */
int in_open_fd(const char *path);

/* 1 once an input has opened "-" (in_open_fd, fileio_read_all): the
 * standard input can be read by one of them only. */
int in_stdin_taken(void);

/* Reads the whole file at path (a FIFO, /dev/stdin or "-" too) into a new
 * buffer, NUL-terminated, *len bytes before the NUL (NULs inside are kept).
 * max is the largest size accepted.  NULL with err "PATH: REASON": the
 * system's reason it cannot be opened or read, "larger than N MiB", or
 * "out of memory".  The caller frees the buffer. */
char *fileio_read_all(const char *path, size_t max, size_t *len, char *err, size_t errcap);

#endif
