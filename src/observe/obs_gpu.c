/* nvidia-smi's CSV (obs_gpu.h). */
#include "obs_gpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const obs_nvidia_smi_args[] = {
    "--query-gpu=index,name,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu",
    "--format=csv,noheader,nounits", NULL,
};

/* Field [p, e) trimmed, as a number; NaN for "[N/A]" and its kin. */
static double field_num(const char *p, const char *e, int *bad)
{
    char buf[64];
    while (p < e && *p == ' ')
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\r'))
        e--;
    size_t n = (size_t)(e - p);
    if (n == 0 || n >= sizeof buf) {
        *bad = 1;
        return NAN;
    }
    if (*p == '[')
        return NAN;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end)
        *bad = 1;
    return v;
}

int obs_parse_nvidia_smi(const char *text, struct obs_gpu *gpus, int max)
{
    int n = 0;
    for (const char *p = text; *p && n < max;) {
        const char *nl = strchr(p, '\n');
        const char *le = nl ? nl : p + strlen(p);
        int bad = 0;
        if (le == p || (le == p + 1 && *p == '\r')) {
            p = nl ? nl + 1 : le;
            continue;
        }
        /* 7 fields; only the name may hold a comma, so the index is
         * before the first one and the five numbers after the last four. */
        const char *name = memchr(p, ',', (size_t)(le - p));
        if (!name)
            return -1;
        name++;
        const char *r = le;
        const char *tail[5];
        for (int k = 4; k >= 0; k--) {
            while (r > name && r[-1] != ',')
                r--;
            if (r <= name)
                return -1;
            tail[k] = r;
            r--;
        }
        struct obs_gpu *g = &gpus[n];
        g->index = (int)field_num(p, name - 1, &bad);
        const char *ns = name, *ne = tail[0] - 1;
        while (ns < ne && *ns == ' ')
            ns++;
        while (ne > ns && ne[-1] == ' ')
            ne--;
        size_t nlen = (size_t)(ne - ns) < sizeof g->name ? (size_t)(ne - ns) : sizeof g->name - 1;
        memcpy(g->name, ns, nlen);
        g->name[nlen] = '\0';
        g->util = field_num(tail[0], tail[1] - 1, &bad) / 100;
        g->mem_used = field_num(tail[1], tail[2] - 1, &bad) * 1048576;
        g->mem_total = field_num(tail[2], tail[3] - 1, &bad) * 1048576;
        g->power_w = field_num(tail[3], tail[4] - 1, &bad);
        g->temp_c = field_num(tail[4], le, &bad);
        if (bad)
            return -1;
        n++;
        p = nl ? nl + 1 : le;
    }
    return n;
}
