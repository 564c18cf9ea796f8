/* /proc parsers and readers (obs_procfs.h). */
#include "obs_procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int obs_parse_pid_stat(const char *text, struct obs_pid_stat *out)
{
    const char *p = strrchr(text, ')');
    unsigned long long ut, st, rss;
    long threads;
    char state;
    /* After "pid (comm)": 3 state, 14 utime, 15 stime, 20 num_threads,
     * 24 rss (fields numbered from 1 as in proc(5)). */
    if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                            "%*d %ld %*d %*u %*u %llu", &state, &ut, &st, &threads, &rss) != 5)
        return -1;
    out->state = state;
    out->utime = ut;
    out->stime = st;
    out->threads = threads;
    out->rss_pages = rss;
    return 0;
}

int obs_parse_proc_stat(const char *text, struct obs_cpu_times *out)
{
    unsigned long long v[8] = { 0 };
    /* Old kernels stop after iowait or irq: missing fields are 0. */
    int n = sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]);
    if (n < 4)
        return -1;
    *out = (struct obs_cpu_times){ v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7] };
    return 0;
}

uint64_t obs_cpu_total(const struct obs_cpu_times *t)
{
    return t->user + t->nice + t->system + t->idle + t->iowait + t->irq + t->softirq + t->steal;
}

int obs_parse_meminfo(const char *text, struct obs_meminfo *out)
{
    int found = 0;
    out->total = out->available = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        unsigned long long kb;
        if (sscanf(p, "MemTotal: %llu kB", &kb) == 1) {
            out->total = kb * 1024;
            found |= 1;
        } else if (sscanf(p, "MemAvailable: %llu kB", &kb) == 1) {
            out->available = kb * 1024;
            found |= 2;
        }
    }
    return found == 3 ? 0 : -1;
}

int obs_parse_loadavg(const char *text, double load[3])
{
    return sscanf(text, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3 ? 0 : -1;
}

size_t obs_parse_net_listen(const char *text, unsigned port, uint64_t *inodes, size_t max)
{
    size_t n = 0;
    const char *p = strchr(text, '\n');     /* the header line */
    for (p = p ? p + 1 : NULL; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        char local[64];
        unsigned lport, st;
        unsigned long long inode;
        /* "sl: local rem st tx:rx tr:when retrnsmt uid timeout inode" */
        if (sscanf(p, " %*d: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %llu",
                   local, &lport, &st, &inode) != 4)
            continue;
        if (st != 0x0A || lport != port)
            continue;
        if (n < max)
            inodes[n] = inode;
        n++;
    }
    return n;
}

long obs_read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    if (fd < 0)
        return -1;
    while (len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd);
    return (long)len;
}

static int is_pid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

long obs_socket_owner(const uint64_t *inodes, size_t n)
{
    DIR *proc = opendir("/proc");
    struct dirent *d;
    long self = (long)getpid(), found = 0;
    if (!proc || n == 0) {
        if (proc)
            closedir(proc);
        return 0;
    }
    while (!found && (d = readdir(proc))) {
        char path[64], link[64];
        if (!is_pid_name(d->d_name) || strtol(d->d_name, NULL, 10) == self)
            continue;
        snprintf(path, sizeof path, "/proc/%.20s/fd", d->d_name);
        DIR *fds = opendir(path);
        struct dirent *f;
        if (!fds)
            continue;       /* gone, or another user's */
        while (!found && (f = readdir(fds))) {
            char fpath[96];
            if (!is_pid_name(f->d_name))
                continue;
            snprintf(fpath, sizeof fpath, "%.40s/%.20s", path, f->d_name);
            ssize_t l = readlink(fpath, link, sizeof link - 1);
            unsigned long long ino;
            if (l <= 0)
                continue;
            link[l] = '\0';
            if (sscanf(link, "socket:[%llu]", &ino) != 1)
                continue;
            for (size_t i = 0; i < n; i++)
                if (inodes[i] == ino)
                    found = strtol(d->d_name, NULL, 10);
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}

long obs_find_listener(unsigned port)
{
    static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
    uint64_t inodes[16];
    size_t n = 0;
    /* /proc/net/tcp holds a line per socket: on a busy machine tens of
     * thousands; this runs once, before the run. */
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    if (!buf)
        return 0;
    for (size_t i = 0; i < 2; i++) {
        if (obs_read_file(files[i], buf, cap) < 0)
            continue;
        size_t k = obs_parse_net_listen(buf, port, inodes + n, sizeof inodes / sizeof inodes[0] - n);
        n += k < sizeof inodes / sizeof inodes[0] - n ? k : sizeof inodes / sizeof inodes[0] - n;
    }
    free(buf);
    return obs_socket_owner(inodes, n);
}

long obs_count_fds(long pid, int *listed)
{
    char path[64];
    struct stat st;
    long n = 0;
    if (pid > 0)
        snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    else
        snprintf(path, sizeof path, "/proc/self/fd");
    /* Since Linux 6.2 the directory's size is the count: no listing. */
    *listed = 0;
    if (stat(path, &st) == 0 && st.st_size > 0)
        return (long)st.st_size;
    if (stat(path, &st) < 0)
        return -1;
    *listed = 1;
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    /* not the descriptor reading the directory */
    return pid > 0 && pid != (long)getpid() ? n : n - 1;
}
