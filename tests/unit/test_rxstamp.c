/* rxstamp: kernel receive timestamps over a real loopback TCP connection.
 * The stamp of bytes must fall between their write and their read, on the
 * CLOCK_MONOTONIC time line that uv_hrtime() uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rxstamp.h"

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A connected pair on 127.0.0.1, port chosen by the kernel; *rd is
 * non-blocking. */
static void tcp_pair(int *rd, int *wr)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
    *rd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(*rd, (struct sockaddr *)&a, sizeof a), 0);
    *wr = accept(l, NULL, NULL);
    assert_true(*wr >= 0);
    close(l);
    assert_int_equal(fcntl(*rd, F_SETFL, fcntl(*rd, F_GETFL) | O_NONBLOCK), 0);
}

/* Reads until data comes (the loopback delivers within the write, but a
 * poll loop keeps the test honest on any kernel). */
static ssize_t read_some(int fd, char *buf, size_t len, uint64_t *ts)
{
    for (int i = 0; i < 1000; i++) {
        ssize_t n = rxstamp_read(fd, buf, len, ts);
        if (n != -EAGAIN)
            return n;
        struct timespec d = { 0, 1000000 };
        nanosleep(&d, NULL);
    }
    return -EAGAIN;
}

static void test_stamp_between_write_and_read(void **state)
{
    (void)state;
    if (!rxstamp_supported())
        skip();
    int hold = rxstamp_hold();
    int rd, wr;
    tcp_pair(&rd, &wr);
    assert_int_equal(rxstamp_enable(rd), 0);
    char buf[64];
    uint64_t ts;
    /* Stamping may switch on a moment after it is asked for: the first
     * segments may carry none.  Within a few tries it must. */
    int stamped = 0;
    for (int i = 0; i < 50 && !stamped; i++) {
        uint64_t before = mono_ns();
        assert_int_equal(write(wr, "hello", 5), 5);
        struct timespec d = { 0, 2000000 };   /* the read is 2 ms after the write */
        nanosleep(&d, NULL);
        ssize_t n = read_some(rd, buf, sizeof buf, &ts);
        uint64_t after = mono_ns();
        assert_int_equal(n, 5);
        assert_memory_equal(buf, "hello", 5);
        if (ts == 0)
            continue;
        stamped = 1;
        assert_true(ts + 100000 >= before);   /* 0.1 ms slack for the clock offset */
        assert_true(ts <= after);
        /* The stamp is the arrival, not the read: well before the read
         * that came 2 ms later. */
        assert_true(after - ts >= 1500000);
    }
    assert_true(stamped);
    /* Nothing there: -EAGAIN, no stamp. */
    assert_int_equal(rxstamp_read(rd, buf, sizeof buf, &ts), -EAGAIN);
    assert_int_equal(ts, 0);
    /* End of stream: 0. */
    close(wr);
    assert_int_equal(read_some(rd, buf, sizeof buf, &ts), 0);
    close(rd);
    rxstamp_release(hold);
}

static void test_no_stamp_when_not_asked(void **state)
{
    (void)state;
    int hold = rxstamp_hold();   /* stamping on for the host, not for this socket */
    int rd, wr;
    tcp_pair(&rd, &wr);
    char buf[16];
    uint64_t ts = 123;
    assert_int_equal(write(wr, "abc", 3), 3);
    assert_int_equal(read_some(rd, buf, sizeof buf, &ts), 3);
    assert_int_equal(ts, 0);
    close(wr);
    close(rd);
    rxstamp_release(hold);
}

static void test_errors(void **state)
{
    (void)state;
    uint64_t ts = 5;
    char buf[4];
    assert_int_equal(rxstamp_read(-1, buf, sizeof buf, &ts), -EBADF);
    assert_int_equal(ts, 0);
    if (rxstamp_supported())
        assert_int_equal(rxstamp_enable(-1), -EBADF);
    rxstamp_release(-1);   /* no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stamp_between_write_and_read),
        cmocka_unit_test(test_no_stamp_when_not_asked),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
