/* `llmload mock --workers N`: N simulator processes on one port.
 *
 * One process holds at most as many streams as it has descriptors (20,000
 * on these machines), so 50,000 streams need several.  The parent binds
 * the port first (so port 0 gets one number for all), each worker binds it
 * again with SO_REUSEPORT and the kernel spreads the connections among the
 * listeners.  The URL is printed once every worker listens.  Each worker
 * writes its own truth file; the parent joins them into the one --truth
 * file at the end (lines stay whole: no two processes write one file). */
#include "mock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* A socket bound to the configured address with SO_REUSEPORT, holding the
 * port for the workers; its address into ss.  -1 with errno. */
static int hold_port(const struct mock_config *c, struct sockaddr_storage *ss)
{
    socklen_t len = sizeof *ss;
    int one = 1, v6 = strchr(c->host, ':') != NULL;
    memset(ss, 0, sizeof *ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)c->port);
        if (inet_pton(AF_INET6, c->host, &a->sin6_addr) != 1)
            return errno = EINVAL, -1;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)c->port);
        if (inet_pton(AF_INET, c->host, &a->sin_addr) != 1)
            return errno = EINVAL, -1;
    }
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)ss, v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0 ||
        getsockname(fd, (struct sockaddr *)ss, &len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void truth_part(char *buf, size_t cap, const char *path, uint32_t i)
{
    snprintf(buf, cap, "%s.worker%u", path, i);
}

/* Appends the file at part to out and removes it.  0, or -1. */
static int join_part(FILE *out, const char *part)
{
    char buf[65536];
    size_t n;
    FILE *in = fopen(part, "re");
    if (!in)
        return errno == ENOENT ? 0 : -1;   /* a worker that never started wrote none */
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (ferror(in))
        rc = -1;
    fclose(in);
    unlink(part);
    return rc;
}

int mock_workers_run(const struct mock_config *c)
{
    struct sockaddr_storage ss;
    uint32_t n = c->workers, started = 0, ready = 0;
    pid_t *pids = calloc(n, sizeof *pids);
    int pipefd[2] = { -1, -1 }, rc = 0, hold = -1;
    char part[4200], host[64];
    FILE *truth = NULL;
    struct sigaction sa, old_int, old_term;
    if (!pids)
        return -ENOMEM;
    /* The truth file is opened now, so a bad path fails before any worker. */
    if (c->truth_path && !(truth = fopen(c->truth_path, "we"))) {
        rc = -errno;
        fprintf(stderr, "llmload mock: --truth: cannot write '%s': %s\n", c->truth_path, strerror(errno));
        goto out;
    }
    if ((hold = hold_port(c, &ss)) < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
        rc = -errno;
        fprintf(stderr, "llmload mock: cannot listen on %s port %d: %s\n", c->host, c->port, strerror(errno));
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    fflush(NULL);
    for (; started < n; started++) {
        pid_t p = fork();
        if (p == 0) {
            struct mock_config w = *c;
            setpgid(0, 0);   /* signals come from the parent, once */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            close(pipefd[0]);
            w.workers = 1;
            w.worker_fd = pipefd[1];
            w.port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                    : ((struct sockaddr_in *)&ss)->sin_port);
            if (c->truth_path) {
                truth_part(part, sizeof part, c->truth_path, started);
                w.truth_path = part;
            }
            _exit(mock_server_run(&w) == 0 ? 0 : 3);
        }
        if (p < 0) {
            rc = -errno;
            fprintf(stderr, "llmload mock: cannot start worker %u: %s\n", started, strerror(errno));
            break;
        }
        pids[started] = p;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    /* Every worker listens (one byte each), or one has failed (EOF). */
    while (!rc && ready < started && !g_stop) {
        char b[64];
        struct pollfd pf = { pipefd[0], POLLIN, 0 };
        if (poll(&pf, 1, 1000) <= 0)
            continue;
        ssize_t k = read(pipefd[0], b, sizeof b);
        if (k <= 0)
            break;
        ready += (uint32_t)k;
    }
    if (ready == n && !rc) {
        if (ss.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
            printf("http://[%s]:%d\n", host, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
        } else {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
            printf("http://%s:%d\n", host, ntohs(((struct sockaddr_in *)&ss)->sin_port));
        }
        fflush(stdout);
    } else if (!rc) {
        fprintf(stderr, "llmload mock: %u of %u workers did not start\n", n - ready, n);
        rc = -EIO;
        g_stop = 1;
    }
    /* Until a signal or a worker's end: then every worker stops. */
    for (uint32_t alive = started, stopping = 0; alive;) {
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0 && errno != EINTR)
            break;
        for (uint32_t i = 0; p > 0 && i < started; i++)
            if (pids[i] == p) {
                pids[i] = 0;
                alive--;
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                    rc = rc ? rc : -EIO;
                g_stop = 1;   /* one worker gone: the port is not whole, stop */
            }
        if (g_stop && !stopping) {
            stopping = 1;
            for (uint32_t i = 0; i < started; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGTERM);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    for (uint32_t i = 0; truth && i < started; i++) {
        truth_part(part, sizeof part, c->truth_path, i);
        if (join_part(truth, part) < 0 && !rc)
            rc = -EIO;
    }
out:
    if (truth && fclose(truth) != 0 && !rc)
        rc = -errno;
    if (rc == -EIO && c->truth_path)
        fprintf(stderr, "llmload mock: a worker failed or the truth file '%s' could not be joined\n",
                c->truth_path);
    if (hold >= 0)
        close(hold);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(pids);
    return rc;
}
