/* Output files: atomic replacement of regular files, write-through for
 * everything else (fileio.h has the rules). */
#include "fileio.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 40        /* symlinks followed before ELOOP, as the kernel does */

enum out_kind { OUT_ATOMIC = 0, OUT_STREAM };

/* Outputs that hold "-", the standard output: at most one may (two
 * documents on one stream could not be told apart). */
static int stdout_holders;

struct out_file {
    enum out_kind kind;
    int holds_stdout;       /* opened as "-" */
    int fd;                 /* the temporary file (atomic) or the stream; -1 none */
    int dirfd;              /* atomic: the directory of the target */
    int dir_sync;           /* dirfd can be fsync'ed (opened for reading) */
    int keep_mode;          /* atomic: the target existed with mode */
    mode_t mode;
    char *path;             /* as given, for messages */
    char *base;             /* atomic: the target's name in dirfd */
    char tmp[NAME_MAX + 1]; /* atomic: the temporary file's name in dirfd, "" none */
};

/* What a path names, as out_open and out_check see it. */
struct plan {
    enum out_kind kind;
    int fdnum;                  /* >= 0: the path names this open descriptor */
    int exists;
    mode_t mode;
    char target[PATH_MAX];      /* the path with its symlinks followed */
    char dir[PATH_MAX];         /* atomic: the target's directory and name */
    char base[NAME_MAX + 1];
};

static int fail(char *err, size_t errcap, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errcap, const char *path, const char *fmt, ...)
{
    char why[PATH_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    util_errf(err, errcap, "cannot write %s: %s", path, why);
    return -1;
}

/* The descriptor a path names: /dev/stdout, /dev/stderr, /dev/fd/N,
 * /proc/self/fd/N; -1 for any other path.  Opening these by name would
 * make a new open file (O_TRUNC would empty a file the shell opened with
 * `>>`): the descriptor itself is what the user means. */
static int fd_path(const char *p)
{
    const char *n;
    if (!strcmp(p, "-") || !strcmp(p, "/dev/stdout"))
        return STDOUT_FILENO;
    if (!strcmp(p, "/dev/stderr"))
        return STDERR_FILENO;
    if (!strncmp(p, "/dev/fd/", 8))
        n = p + 8;
    else if (!strncmp(p, "/proc/self/fd/", 14))
        n = p + 14;
    else
        return -1;
    if (!isdigit((unsigned char)*n))
        return -1;
    char *e;
    errno = 0;
    long v = strtol(n, &e, 10);
    if (*e || errno || v > INT_MAX)
        return -1;
    return (int)v;
}

/* Follows path's symlinks to their end, into out (the end may not exist:
 * a dangling link names the file to create).  0, or -1 with errno. */
static int follow_links(const char *path, char *out, size_t cap)
{
    char link[PATH_MAX];
    struct stat st;
    if (strlen(path) >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(out, path);
    for (int hops = 0; hops <= MAX_LINKS; hops++) {
        if (lstat(out, &st) < 0)
            return errno == ENOENT ? 0 : -1;
        if (!S_ISLNK(st.st_mode))
            return 0;
        ssize_t n = readlink(out, link, sizeof link - 1);
        if (n < 0)
            return -1;
        link[n] = '\0';
        /* A relative target is relative to the link's own directory. */
        const char *slash = strrchr(out, '/');
        size_t keep = link[0] == '/' || !slash ? 0 : (size_t)(slash - out) + 1;
        if (keep + (size_t)n >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out + keep, link, (size_t)n + 1);
    }
    errno = ELOOP;
    return -1;
}

static int plan_fd(const char *path, struct plan *p, char *err, size_t errcap)
{
    struct stat st;
    int fl;
    p->kind = OUT_STREAM;
    if (fstat(p->fdnum, &st) < 0 || (fl = fcntl(p->fdnum, F_GETFL)) < 0)
        return fail(err, errcap, path, "%s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fail(err, errcap, path, "%s", strerror(EISDIR));
    if ((fl & O_ACCMODE) == O_RDONLY)
        return fail(err, errcap, path, "descriptor %d is not open for writing", p->fdnum);
    return 0;
}

/* Decides how path is written and checks that it can be, creating nothing. */
static int plan(const char *path, struct plan *p, char *err, size_t errcap)
{
    struct stat st;
    memset(p, 0, sizeof *p);
    if (!path || !*path) {
        util_errf(err, errcap, "empty output file name");
        return -1;
    }
    if (!strcmp(path, "-") && stdout_holders) {
        util_errf(err, errcap, "cannot write -: another output already goes to standard output (-)");
        return -1;
    }
    if ((p->fdnum = fd_path(path)) >= 0)
        return plan_fd(path, p, err, errcap);
    if (follow_links(path, p->target, sizeof p->target) < 0)
        return fail(err, errcap, path, "%s", strerror(errno));
    if (stat(p->target, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return fail(err, errcap, path, "%s", strerror(EISDIR));
        if (access(p->target, W_OK) < 0)
            return fail(err, errcap, path, "%s", strerror(errno));
        if (!S_ISREG(st.st_mode)) {
            p->kind = OUT_STREAM;
            return 0;
        }
        p->exists = 1;
        p->mode = st.st_mode;
    } else if (errno != ENOENT) {
        return fail(err, errcap, path, "%s", strerror(errno));
    }
    p->kind = OUT_ATOMIC;
    const char *slash = strrchr(p->target, '/');
    const char *base = slash ? slash + 1 : p->target;
    if (!*base)
        return fail(err, errcap, path, "%s", strerror(EISDIR));
    if (strlen(base) > NAME_MAX)
        return fail(err, errcap, path, "%s", strerror(ENAMETOOLONG));
    strcpy(p->base, base);
    if (!slash)
        strcpy(p->dir, ".");
    else if (slash == p->target)
        strcpy(p->dir, "/");
    else
        snprintf(p->dir, sizeof p->dir, "%.*s", (int)(slash - p->target), p->target);
    /* The temporary file and the rename need a directory we may write. */
    if (stat(p->dir, &st) < 0) {
        if (errno == ENOENT)
            return fail(err, errcap, path, "directory %s does not exist", p->dir);
        return fail(err, errcap, path, "directory %s: %s", p->dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return fail(err, errcap, path, "%s is not a directory", p->dir);
    if (access(p->dir, W_OK | X_OK) < 0)
        return fail(err, errcap, path, "cannot create files in %s: %s", p->dir, strerror(errno));
    return 0;
}

/* Creates the temporary file beside the target: O_EXCL, so a concurrent
 * writer's temporary file is never shared; named after the target so a
 * leftover (the process was killed) says whose it was. */
static int make_temp(struct out_file *f, char *err, size_t errcap)
{
    static unsigned counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned k = counter++;
        int w = snprintf(f->tmp, sizeof f->tmp, ".%s.%ld.%u.tmp", f->base, (long)getpid(), k);
        if (w < 0 || (size_t)w >= sizeof f->tmp)
            snprintf(f->tmp, sizeof f->tmp, ".llmload.%ld.%u.tmp", (long)getpid(), k);
        /* 0666: the umask decides, as for any new file. */
        do
            f->fd = openat(f->dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        while (f->fd < 0 && errno == EINTR);
        if (f->fd >= 0)
            break;
        if (errno != EEXIST) {
            f->tmp[0] = '\0';
            return fail(err, errcap, f->path, "%s", strerror(errno));
        }
    }
    if (f->fd < 0) {
        f->tmp[0] = '\0';
        return fail(err, errcap, f->path, "%s", strerror(EEXIST));
    }
    /* A replaced file keeps its permissions (a private 0600 result stays
     * private).  Best effort: we own the new file, so this only fails on a
     * file system without modes, where there is nothing to keep. */
    if (f->keep_mode)
        (void)fchmod(f->fd, f->mode & 0777);
    return 0;
}

struct out_file *out_open(const char *path, char *err, size_t errcap)
{
    struct plan p;
    struct out_file *f;
    if (plan(path, &p, err, errcap) < 0)
        return NULL;
    if (!(f = calloc(1, sizeof *f)) || !(f->path = strdup(path))) {
        free(f);
        fail(err, errcap, path, "out of memory");
        return NULL;
    }
    f->kind = p.kind;
    f->fd = f->dirfd = -1;
    if ((f->holds_stdout = !strcmp(path, "-")))
        stdout_holders++;
    if (f->kind == OUT_STREAM) {
        if (p.fdnum >= 0)
            f->fd = fcntl(p.fdnum, F_DUPFD_CLOEXEC, 3);
        else
            do
                f->fd = open(p.target, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
            while (f->fd < 0 && errno == EINTR);
        if (f->fd < 0) {
            if (errno == ENXIO)
                fail(err, errcap, path, "a socket cannot be opened by name "
                     "(hand its descriptor over as /dev/fd/N)");
            else
                fail(err, errcap, path, "%s", strerror(errno));
            goto bad;
        }
        return f;
    }
    if (!(f->base = strdup(p.base))) {
        fail(err, errcap, path, "out of memory");
        goto bad;
    }
    f->keep_mode = p.exists;
    f->mode = p.mode;
    f->dir_sync = 1;
    f->dirfd = open(p.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dirfd < 0 && errno == EACCES) {
        /* A directory we may write but not list: usable, not syncable. */
        f->dir_sync = 0;
        f->dirfd = open(p.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (f->dirfd < 0) {
        fail(err, errcap, path, "directory %s: %s", p.dir, strerror(errno));
        goto bad;
    }
    if (make_temp(f, err, errcap) < 0)
        goto bad;
    return f;
bad:
    out_close(f);
    return NULL;
}

/* Writes all n bytes to fd with SIGPIPE held off, so a reader that went
 * away is an EPIPE to report, not a signal that kills the process before
 * it can say which output failed.  A SIGPIPE our write raised is taken
 * back; one that was already pending is left alone. */
static int write_stream(int fd, const char *p, size_t n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    int was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    int rc = util_write_all(fd, p, n);
    int e = errno;
    if (rc < 0 && e == EPIPE && !was_pending) {
        const struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return rc;
}

static int commit_atomic(struct out_file *f, const void *data, size_t len, char *err, size_t errcap)
{
    if (f->fd < 0 && make_temp(f, err, errcap) < 0)
        return -1;
    int fd = f->fd;
    f->fd = -1;
    /* The data reaches the disk before the name points at it: after a
     * crash the name holds the old file or the whole new one. */
    if (util_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        goto undo;
    }
    if (close(fd) < 0 || renameat(f->dirfd, f->tmp, f->dirfd, f->base) < 0)
        goto undo;
    f->tmp[0] = '\0';
    /* And the rename itself is made durable.  EINVAL: a file system that
     * cannot sync a directory, where there is nothing more to do. */
    if (f->dir_sync && fsync(f->dirfd) < 0 && errno != EINVAL)
        return fail(err, errcap, f->path, "written, but syncing its directory failed: %s",
                    strerror(errno));
    return 0;
undo:;
    int e = errno;
    unlinkat(f->dirfd, f->tmp, 0);
    f->tmp[0] = '\0';
    return fail(err, errcap, f->path, "%s", strerror(e));
}

int out_commit(struct out_file *f, const void *data, size_t len, char *err, size_t errcap)
{
    if (f->kind == OUT_ATOMIC)
        return commit_atomic(f, data, len, err, errcap);
    if (write_stream(f->fd, data, len) < 0)
        return fail(err, errcap, f->path, "%s", strerror(errno));
    return 0;
}

void out_close(struct out_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp[0])
        unlinkat(f->dirfd, f->tmp, 0);
    if (f->dirfd >= 0)
        close(f->dirfd);
    if (f->holds_stdout)
        stdout_holders--;
    free(f->path);
    free(f->base);
    free(f);
}

const char *out_path(const struct out_file *f)
{
    return f->path;
}

int out_is_stream(const struct out_file *f)
{
    return f->kind == OUT_STREAM;
}

int out_check(const char *path, char *err, size_t errcap)
{
    struct plan p;
    return plan(path, &p, err, errcap);
}

int out_write_file(const char *path, const void *data, size_t len, char *err, size_t errcap)
{
    struct out_file *f = out_open(path, err, errcap);
    if (!f)
        return -1;
    int rc = out_commit(f, data, len, err, errcap);
    out_close(f);
    return rc;
}

int out_open_fd(const char *path, int flags, mode_t mode)
{
    int fd, n = fd_path(path);
    if (!strcmp(path, "-")) {
        if (stdout_holders) {
            errno = EBUSY;
            return -1;
        }
        stdout_holders++;   /* for the life of the process: the writer owns the descriptor */
    }
    if (n >= 0)
        return fcntl(n, F_DUPFD_CLOEXEC, 3);
    do
        fd = open(path, flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

FILE *out_human(void)
{
    return stdout_holders ? stderr : stdout;
}

/* How many inputs opened "-": a second reader would find it consumed. */
static int stdin_readers;

int in_stdin_taken(void)
{
    return stdin_readers > 0;
}

int in_open_fd(const char *path)
{
    int fd;
    if (!strcmp(path, "-")) {
        stdin_readers++;
        return fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    }
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd;
}

char *fileio_read_all(const char *path, size_t max, size_t *len, char *err, size_t errcap)
{
    int fd = in_open_fd(path);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f && fd >= 0)
        close(fd);
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        util_errf(err, errcap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1 << 16;
            if (cap >= max + 1) {
                util_errf(err, errcap, "%s: larger than %zu MiB", path, max >> 20);
                goto fail;
            }
            if (nc > max + 1)
                nc = max + 1;   /* one byte past max tells a file of max bytes from a larger one */
            char *nb = realloc(buf, nc + 1);
            if (!nb) {
                util_errf(err, errcap, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
            cap = nc;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        util_errf(err, errcap, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}
