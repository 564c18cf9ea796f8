#ifndef LLMLOAD_RXSTAMP_H
#define LLMLOAD_RXSTAMP_H
/* Kernel receive timestamps for TCP reads.
 *
 * The kernel stamps every received segment when it arrives (SO_TIMESTAMPNS);
 * recvmsg() hands the stamp of the newest bytes it returns back as a control
 * message.  Timing an event by that stamp instead of by the moment our loop
 * got round to read() keeps the client's own scheduling delays (a busy
 * loop with 10,000 sockets, a VM losing its CPU to the hypervisor) out of
 * TTFT and ITL.  On loopback the stamp is taken inside the sender's write,
 * so it is the server's send time to within microseconds.
 *
 * libuv reads TCP with read(2) and has no way to return control messages,
 * so the read itself is done here (hand-written: no packaged library does
 * it).  A caller keeps its uv_tcp_t and its uv_read_start(); its alloc
 * callback returns a zero-length buffer, which libuv documents as "report
 * UV_ENOBUFS to the read callback instead of reading", and the read
 * callback then reads with rxstamp_read().
 *
 * Stamps are CLOCK_REALTIME in the kernel; they are converted to
 * CLOCK_MONOTONIC, the clock of uv_hrtime() on Linux, with the offset
 * between the two read at the same moment.  Where the platform has no
 * SO_TIMESTAMPNS, rxstamp_supported() is 0 and callers read as usual. */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 1 where this build can ask the kernel for receive timestamps. */
int rxstamp_supported(void);

/* Asks the kernel to stamp fd's incoming data.  0, or a negative errno
 * (-ENOTSUP where unsupported). */
int rxstamp_enable(int fd);

/* One recvmsg() of at most len bytes.  Returns the byte count, 0 at end of
 * stream, or a negative errno (-EAGAIN when nothing is there).  With data,
 * *mono_ns is the arrival of the newest byte returned on the CLOCK_MONOTONIC
 * time line, or 0 when the kernel gave no stamp (segments that arrived
 * before stamping was switched on). */
ssize_t rxstamp_read(int fd, char *buf, size_t len, uint64_t *mono_ns);

/* The kernel switches its stamping on lazily, a moment after the first
 * socket asks, and off again when the last one closes.  rxstamp_hold()
 * opens a socket that asks and keeps it until rxstamp_release(), so
 * stamping is on from the first request to the last.  Returns the socket,
 * or -1 (then stamps may be missing for the first reads; never an error). */
int rxstamp_hold(void);
void rxstamp_release(int fd);

/* The read loop of a libuv stream whose alloc callback returned a zero
 * length (so its read callback got UV_ENOBUFS): like libuv's own loop, it
 * reads into buf again while a read fills it, at most 32 times, and leaves
 * the rest to the next readiness.  Each read goes to on_bytes with n as
 * libuv would give it (bytes, UV_EOF, or a negative errno) and the
 * kernel's stamp of its newest byte (0 when none).  on_bytes returns 1 to
 * go on reading, 0 when the stream is no longer reading (closed, done).
 * The client's connections and the simulator share it. */
struct uv_stream_s;
typedef int (*rxstamp_bytes_cb)(void *ud, ssize_t n, const char *buf, uint64_t kernel_ns);
void rxstamp_read_stream(struct uv_stream_s *s, char *buf, size_t cap,
                         rxstamp_bytes_cb on_bytes, void *ud);

#endif
