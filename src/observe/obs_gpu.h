#ifndef LLMLOAD_OBS_GPU_H
#define LLMLOAD_OBS_GPU_H
/* NVIDIA GPUs, read with
 *   nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,
 *              memory.total,power.draw,temperature.gpu --format=csv,noheader,nounits
 * (OBS_NVIDIA_SMI_ARGS).  The parser is pure; the monitor runs the program
 * as a child process from the loop, never waiting for it. */
#include <stddef.h>

#define OBS_GPU_MAX 16

/* The arguments after the program name, NULL-ended. */
extern const char *const obs_nvidia_smi_args[];

struct obs_gpu {
    int index;
    char name[96];
    double util;                        /* 0..1 */
    double mem_used, mem_total;         /* bytes */
    double power_w;                     /* NaN: not reported ("[N/A]") */
    double temp_c;
};

/* One GPU per line of the CSV ("0, NVIDIA A100-SXM4-80GB, 87, 61234, 81920,
 * 312.45, 64"; MiB, %, W, C).  A field nvidia-smi cannot give ("[N/A]",
 * "[Not Supported]") is NaN.  Returns the number of GPUs (at most max), or
 * -1 when a line is not one. */
int obs_parse_nvidia_smi(const char *text, struct obs_gpu *gpus, int max);

#endif
