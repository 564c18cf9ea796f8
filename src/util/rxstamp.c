/* Kernel receive timestamps for TCP reads (rxstamp.h says why). */
#include "rxstamp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#if defined(SO_TIMESTAMPNS) && defined(SCM_TIMESTAMPNS)
#define RXSTAMP_OK 1
#else
#define RXSTAMP_OK 0
#endif

int rxstamp_supported(void)
{
    return RXSTAMP_OK;
}

int rxstamp_enable(int fd)
{
#if RXSTAMP_OK
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0 ? 0 : -errno;
#else
    (void)fd;
    return -ENOTSUP;
#endif
}

static int64_t ts_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

ssize_t rxstamp_read(int fd, char *buf, size_t len, uint64_t *mono_ns)
{
    *mono_ns = 0;
#if RXSTAMP_OK
    struct iovec iov = { buf, len };
    /* Room for the timestamp and whatever else the kernel might add. */
    union { char b[CMSG_SPACE(sizeof(struct timespec)) * 2]; struct cmsghdr align; } ctl;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.b;
    m.msg_controllen = sizeof ctl.b;
    ssize_t n;
    do
        n = recvmsg(fd, &m, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec k, rt, mono;
        memcpy(&k, CMSG_DATA(h), sizeof k);
        /* The offset between the two clocks, read back to back: its error
         * is the time between the two calls, tens of nanoseconds.  Read at
         * every stamp, so a step of the wall clock (NTP) only touches the
         * stamps taken before it and read after it. */
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mono);
        int64_t v = ts_ns(&k) - (ts_ns(&rt) - ts_ns(&mono));
        /* Never later than now (a stamp cannot be in the future) and never
         * 0, which means "no stamp". */
        if (v > ts_ns(&mono))
            v = ts_ns(&mono);
        *mono_ns = v > 0 ? (uint64_t)v : 1;
        break;
    }
    return n;
#else
    ssize_t n;
    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
#endif
}

int rxstamp_hold(void)
{
#if RXSTAMP_OK
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rxstamp_enable(fd) < 0) {
        close(fd);
        return -1;
    }
    return fd;
#else
    return -1;
#endif
}

void rxstamp_release(int fd)
{
    if (fd >= 0)
        close(fd);
}

void rxstamp_read_stream(uv_stream_t *s, char *buf, size_t cap, rxstamp_bytes_cb on_bytes, void *ud)
{
    for (int i = 0; i < 32; i++) {
        uv_os_fd_t fd;
        if (uv_fileno((const uv_handle_t *)s, &fd) < 0)
            return;
        uint64_t k = 0;
        ssize_t n = rxstamp_read(fd, buf, cap, &k);
        if (n == UV_EAGAIN)
            return;
        /* On Unix a uv error code is the negative errno. */
        if (!on_bytes(ud, n == 0 ? UV_EOF : n, buf, n > 0 ? k : 0) || n < (ssize_t)cap)
            return;
    }
}
