/* util/fileio: what each kind of path becomes after out_open/out_commit.
 * Regular files are replaced atomically (a new inode, no temporary file
 * left), symlinks stay links, FIFOs, devices, sockets and descriptors are
 * written through and never replaced, and every write error is reported
 * with the path and the reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"

static char tmpdir[64];
static char err[1024];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/llmload-test-fileio-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *in_tmp(const char *name)
{
    static char p[32][256];
    static int k;
    k = (k + 1) % 32;     /* a test holds a few of these at once */
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

/* Every entry of dir, dot files included (a temporary file is one). */
static int entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static ino_t inode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_ino;
}

/* ---- regular files ----------------------------------------------------------- */

static void test_regular_file(void **state)
{
    (void)state;
    mkdir(in_tmp("reg"), 0777);
    const char *dir = in_tmp("reg"), *path = in_tmp("reg/out.json");
    struct out_file *f = out_open(path, err, sizeof err);
    assert_non_null(f);
    assert_false(out_is_stream(f));
    assert_string_equal(out_path(f), path);
    /* Prepared before the run: the temporary file exists, the name not yet. */
    assert_int_equal(entries(dir), 1);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(out_commit(f, "one\n", 4, err, sizeof err), 0);
    assert_string_equal(slurp(path), "one\n");
    assert_int_equal(entries(dir), 1);
    /* A second commit replaces the file again, with a new inode: the old
     * file is never written in place. */
    ino_t before = inode(path);
    assert_int_equal(out_commit(f, "two\n", 4, err, sizeof err), 0);
    assert_string_equal(slurp(path), "two\n");
    assert_true(inode(path) != before);
    out_close(f);
    assert_int_equal(entries(dir), 1);

    /* Opened and abandoned: the old content stays, the temporary goes. */
    f = out_open(path, err, sizeof err);
    assert_non_null(f);
    assert_int_equal(entries(dir), 2);
    out_close(f);
    assert_int_equal(entries(dir), 1);
    assert_string_equal(slurp(path), "two\n");

    /* A replaced file keeps its permission bits. */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(out_write_file(path, "three\n", 6, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_string_equal(slurp(path), "three\n");
    out_close(NULL);
}

static void test_symlink(void **state)
{
    (void)state;
    mkdir(in_tmp("links"), 0777);
    mkdir(in_tmp("links/real"), 0777);
    const char *target = in_tmp("links/real/result.json"), *link = in_tmp("links/result.json");
    put(target, "old\n");
    assert_int_equal(symlink("real/result.json", link), 0);     /* relative */
    ino_t before = inode(target);
    struct out_file *f = out_open(link, err, sizeof err);
    assert_non_null(f);
    assert_false(out_is_stream(f));
    /* The temporary file sits beside the target, not beside the link. */
    assert_int_equal(entries(in_tmp("links/real")), 2);
    assert_int_equal(out_commit(f, "new\n", 4, err, sizeof err), 0);
    out_close(f);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));                   /* the link stays a link */
    assert_string_equal(slurp(target), "new\n");
    assert_true(inode(target) != before);               /* replaced, not rewritten */
    assert_int_equal(entries(in_tmp("links/real")), 1);
    assert_int_equal(entries(in_tmp("links")), 2);

    /* A chain of links, and a dangling link: its target is created. */
    const char *chain = in_tmp("links/chain.json");
    assert_int_equal(symlink(link, chain), 0);          /* absolute, to a link */
    assert_int_equal(out_write_file(chain, "chained\n", 8, err, sizeof err), 0);
    assert_string_equal(slurp(target), "chained\n");
    assert_int_equal(lstat(chain, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    const char *dangling = in_tmp("links/dangling.json");
    assert_int_equal(symlink("real/created.json", dangling), 0);
    assert_int_equal(out_write_file(dangling, "made\n", 5, err, sizeof err), 0);
    assert_string_equal(slurp(in_tmp("links/real/created.json")), "made\n");
    assert_int_equal(lstat(dangling, &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    /* A loop is an error, not a hang. */
    const char *loop = in_tmp("links/loop");
    assert_int_equal(symlink("loop", loop), 0);
    assert_null(out_open(loop, err, sizeof err));
    assert_non_null(strstr(err, strerror(ELOOP)));
}

/* ---- streams ----------------------------------------------------------------- */

static void test_fifo(void **state)
{
    (void)state;
    const char *fifo = in_tmp("fifo");
    int back[2];
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(pipe(back), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The reader: copies what arrives on the FIFO to the parent. */
        close(back[0]);
        int fd = open(fifo, O_RDONLY);
        char buf[256];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            if (write(back[1], buf, (size_t)n) != n)
                _exit(1);
        _exit(n == 0 ? 0 : 1);
    }
    close(back[1]);
    struct out_file *f = out_open(fifo, err, sizeof err);   /* waits for the reader */
    assert_non_null(f);
    assert_true(out_is_stream(f));
    assert_int_equal(out_commit(f, "{\"a\":1}\n", 8, err, sizeof err), 0);
    out_close(f);
    char got[64];
    ssize_t n, total = 0;
    while ((n = read(back[0], got + total, sizeof got - 1 - (size_t)total)) > 0)
        total += n;
    got[total] = '\0';
    close(back[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(got, "{\"a\":1}\n");
    struct stat st;
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));                  /* never replaced by a file */
}

static void test_dev_null_and_full(void **state)
{
    (void)state;
    struct stat st;
    struct out_file *f = out_open("/dev/null", err, sizeof err);
    assert_non_null(f);
    assert_true(out_is_stream(f));
    assert_int_equal(out_commit(f, "gone\n", 5, err, sizeof err), 0);
    out_close(f);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(out_write_file("/dev/null", "x", 1, err, sizeof err), 0);

    if (access("/dev/full", W_OK) < 0) {
        skip();
        return;
    }
    f = out_open("/dev/full", err, sizeof err);
    assert_non_null(f);
    assert_int_equal(out_commit(f, "full\n", 5, err, sizeof err), -1);
    assert_non_null(strstr(err, "/dev/full"));
    assert_non_null(strstr(err, strerror(ENOSPC)));
    out_close(f);
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

static void test_descriptors(void **state)
{
    (void)state;
    char path[64];
    /* A file the shell opened with `>>`: appended to, never truncated. */
    const char *log = in_tmp("log.txt");
    put(log, "earlier\n");
    int fd = open(log, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    snprintf(path, sizeof path, "/dev/fd/%d", fd);
    assert_int_equal(out_write_file(path, "appended\n", 9, err, sizeof err), 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    assert_int_equal(out_write_file(path, "again\n", 6, err, sizeof err), 0);
    close(fd);
    assert_string_equal(slurp(log), "earlier\nappended\nagain\n");

    /* A socket handed over as a descriptor. */
    int sv[2];
    char got[32];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    snprintf(path, sizeof path, "/dev/fd/%d", sv[0]);
    assert_int_equal(out_write_file(path, "sock\n", 5, err, sizeof err), 0);
    assert_int_equal(read(sv[1], got, sizeof got), 5);
    assert_memory_equal(got, "sock\n", 5);
    close(sv[1]);

    /* The reader went away: EPIPE named, and the process is still here
     * (SIGPIPE was held off). */
    struct out_file *f = out_open(path, err, sizeof err);
    assert_non_null(f);
    assert_int_equal(out_commit(f, "late\n", 5, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(EPIPE)));
    out_close(f);
    close(sv[0]);
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    snprintf(path, sizeof path, "/dev/fd/%d", p[1]);
    assert_int_equal(out_write_file(path, "x", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, strerror(EPIPE)));
    sigset_t pending;
    assert_int_equal(sigpending(&pending), 0);
    assert_false(sigismember(&pending, SIGPIPE));
    close(p[1]);

    /* Closed, and read-only, descriptors are refused at open. */
    assert_null(out_open("/dev/fd/999", err, sizeof err));
    assert_non_null(strstr(err, strerror(EBADF)));
    fd = open(log, O_RDONLY);
    snprintf(path, sizeof path, "/dev/fd/%d", fd);
    assert_null(out_open(path, err, sizeof err));
    assert_non_null(strstr(err, "not open for writing"));
    close(fd);
}

/* "-" is the standard output, held by one output at a time; the human
 * text moves to the standard error meanwhile.  "-" reads the standard
 * input. */
static void test_dash(void **state)
{
    (void)state;
    const char *out = in_tmp("stdout.txt"), *in = in_tmp("stdin.txt");
    fflush(stdout);
    int saved_out = dup(STDOUT_FILENO), saved_in = dup(STDIN_FILENO);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved_out >= 0 && saved_in >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    assert_ptr_equal(out_human(), stdout);
    struct out_file *f = out_open("-", err, sizeof err);
    assert_non_null(f);
    assert_ptr_equal(out_human(), stderr);
    assert_null(out_open("-", err, sizeof err));
    assert_string_equal(err, "cannot write -: another output already goes to standard output (-)");
    assert_int_equal(out_check("-", err, sizeof err), -1);
    assert_int_equal(out_commit(f, "doc\n", 4, err, sizeof err), 0);
    out_close(f);
    assert_ptr_equal(out_human(), stdout);
    /* Another name of the standard output is not "-": it may be given twice. */
    assert_int_equal(out_write_file("/dev/stdout", "more\n", 5, err, sizeof err), 0);
    dup2(saved_out, STDOUT_FILENO);
    close(saved_out);
    assert_string_equal(slurp(out), "doc\nmore\n");

    put(in, "from stdin");
    fd = open(in, O_RDONLY);
    dup2(fd, STDIN_FILENO);
    close(fd);
    size_t len;
    char *text = fileio_read_all("-", 1 << 20, &len, err, sizeof err);
    assert_non_null(text);
    assert_string_equal(text, "from stdin");
    free(text);
    dup2(saved_in, STDIN_FILENO);
    close(saved_in);
}

static void test_socket_by_name(void **state)
{
    (void)state;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", in_tmp("sock"));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_null(out_open(a.sun_path, err, sizeof err));
    assert_non_null(strstr(err, "socket"));
    struct stat st;
    assert_int_equal(lstat(a.sun_path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));                  /* never replaced */
    close(s);
}

/* ---- refusals ---------------------------------------------------------------- */

/* The refusals of a user who may not write ro (mode 0444) nor create a file
 * beside nodir: 0 when both hold, else a bit per one that did not. */
static int refusals(const char *ro, const char *nodir)
{
    char e[512];
    int bad = 0;
    if (out_open(ro, e, sizeof e) || !strstr(e, strerror(EACCES)))
        bad |= 1;
    if (out_open(nodir, e, sizeof e) || !strstr(e, "cannot create files in"))
        bad |= 2;
    return bad;
}

static void test_refused(void **state)
{
    (void)state;
    const char *missing = in_tmp("no/such/dir/out.json");
    assert_null(out_open(missing, err, sizeof err));
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "does not exist"));
    assert_int_equal(out_check(missing, err, sizeof err), -1);
    assert_int_equal(out_write_file(missing, "x", 1, err, sizeof err), -1);

    assert_null(out_open(tmpdir, err, sizeof err));
    assert_non_null(strstr(err, strerror(EISDIR)));
    put(in_tmp("plain"), "");
    assert_null(out_open(in_tmp("plain/out.json"), err, sizeof err));
    assert_non_null(strstr(err, strerror(ENOTDIR)));
    assert_null(out_open("", err, sizeof err));
    assert_non_null(strstr(err, "empty"));

    /* out_check creates nothing. */
    mkdir(in_tmp("check"), 0777);
    assert_int_equal(out_check(in_tmp("check/new.json"), err, sizeof err), 0);
    assert_int_equal(entries(in_tmp("check")), 0);
    assert_int_equal(out_check("/dev/null", err, sizeof err), 0);

    /* What this user may not write.  Root may write anything, so as root
     * the checks run in a child that has become nobody. */
    const char *ro = in_tmp("check/readonly.json"), *nodir = in_tmp("check/new.json");
    put(ro, "keep\n");
    assert_int_equal(chmod(ro, 0444), 0);
    assert_int_equal(chmod(in_tmp("check"), 0555), 0);
    assert_int_equal(chmod(tmpdir, 0755), 0);
    if (geteuid() != 0) {
        assert_int_equal(refusals(ro, nodir), 0);
    } else {
        int status;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(setgid(65534) < 0 || setuid(65534) < 0 ? 99 : refusals(ro, nodir));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    chmod(in_tmp("check"), 0755);
    chmod(tmpdir, 0700);
}

/* ---- input ------------------------------------------------------------------- */

static void test_read_all(void **state)
{
    (void)state;
    size_t len = 99;
    const char *path = in_tmp("in.bin");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("a\0b", 1, 3, f), 3);
    fclose(f);
    char *b = fileio_read_all(path, 3, &len, err, sizeof err);   /* exactly max */
    assert_non_null(b);
    assert_int_equal(len, 3);
    assert_memory_equal(b, "a\0b\0", 4);                       /* NUL-terminated */
    free(b);
    assert_null(fileio_read_all(path, 2, &len, err, sizeof err));
    assert_non_null(strstr(err, "larger than"));
    put(path, "");
    b = fileio_read_all(path, 10, &len, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(len, 0);
    assert_string_equal(b, "");
    free(b);
    /* Bigger than the first buffer: grows. */
    f = fopen(path, "wb");
    for (int i = 0; i < 200000; i++)
        fputc('x', f);
    fclose(f);
    b = fileio_read_all(path, 1 << 20, &len, err, sizeof err);
    assert_non_null(b);
    assert_int_equal(len, 200000);
    assert_int_equal(strlen(b), 200000);
    free(b);
    const char *missing = in_tmp("missing.json");
    assert_null(fileio_read_all(missing, 10, &len, err, sizeof err));
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, strerror(ENOENT)));
    assert_null(fileio_read_all(tmpdir, 10, &len, err, sizeof err));   /* a directory */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regular_file),
        cmocka_unit_test(test_symlink),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_dev_null_and_full),
        cmocka_unit_test(test_descriptors),
        cmocka_unit_test(test_socket_by_name),
        cmocka_unit_test(test_dash),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_read_all),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
