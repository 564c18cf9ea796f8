#ifndef LLMLOAD_OBS_PROCFS_H
#define LLMLOAD_OBS_PROCFS_H
/* Linux /proc for the resource monitor: pure parsers of each file's text
 * (unit-tested on captures) and the thin readers around them.  Nothing
 * here allocates; a sample reads a handful of small files. */
#include <stddef.h>
#include <stdint.h>

/* /proc/PID/stat: times in clock ticks (sysconf(_SC_CLK_TCK)), RSS in pages. */
struct obs_pid_stat {
    char state;
    uint64_t utime, stime;
    long threads;
    uint64_t rss_pages;
};
/* 0, or -1 when text is not a stat line.  The command name may hold spaces
 * and parentheses: the fields start after its last ')'. */
int obs_parse_pid_stat(const char *text, struct obs_pid_stat *out);

/* The "cpu" line of /proc/stat, in clock ticks summed over every CPU.
 * guest time is already inside user, so it is not added again. */
struct obs_cpu_times {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};
int obs_parse_proc_stat(const char *text, struct obs_cpu_times *out);
uint64_t obs_cpu_total(const struct obs_cpu_times *t);

/* /proc/meminfo, in bytes. */
struct obs_meminfo {
    uint64_t total, available;
};
int obs_parse_meminfo(const char *text, struct obs_meminfo *out);

/* /proc/loadavg: the 1, 5 and 15 minute load averages. */
int obs_parse_loadavg(const char *text, double load[3]);

/* Inodes of the listening sockets (state 0A) on port in the text of
 * /proc/net/tcp or /proc/net/tcp6, whatever their address.  Returns how
 * many were found (at most max are stored). */
size_t obs_parse_net_listen(const char *text, unsigned port, uint64_t *inodes, size_t max);

/* Reads a whole small file into buf (NUL-terminated, truncated at cap-1).
 * The length, or -1 with errno. */
long obs_read_file(const char *path, char *buf, size_t cap);

/* The process that owns one of the socket inodes, found through the
 * /proc/PID/fd links ("socket:[INODE]"); not this process.  0 when none is
 * visible (another user's process needs root). */
long obs_socket_owner(const uint64_t *inodes, size_t n);

/* The process listening on TCP port (IPv4 or IPv6), or 0. */
long obs_find_listener(unsigned port);

/* Open file descriptors of pid (0: this process), or -1.  Since Linux 6.2
 * the kernel gives the count as the size of /proc/PID/fd; before, the
 * directory is listed (*listed = 1), which costs a few microseconds per
 * descriptor. */
long obs_count_fds(long pid, int *listed);

#endif
