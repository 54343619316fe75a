// Internal to _CKernels: what the normalization entry points (operators/norm.c) and the per-ISA norm
// kernels (norm_body.h, compiled by x86_avx512/norm_avx512.c, x86_avx2/norm_avx2.c and
// portable/norm_portable.c) share: the task context, the blocking, and the table each ISA exports.
#ifndef IMG2IMG_NORM_KERNELS_H
#define IMG2IMG_NORM_KERNELS_H
#include "_CKernels.h"

enum { CB = 16 };  // channels per reduction task (one AVX-512 vector of floats)
enum { AB = 64 };  // channels whose coefficients an apply task keeps on the stack

typedef struct {
    int64_t G, M, C, nb;
    const float *x, *dy, *mean, *rstd, *gamma, *beta;
    float *y, *mean_out, *rstd_out, *unbiased;
    double *sdy, *sdyx;
    float eps;
    int64_t rows_per_task, tasks_per_group;
} norm_ctx;

/// The norm tasks of one ISA, each over a norm_ctx: the statistics (tasks: (group, 16-channel
/// block)), the affine apply (tasks: row chunks), the backward sums (as the statistics) and dx (as
/// the apply).
typedef struct {
    i2i_task_fn stats, apply, bsums, bdx;
} i2i_norm_kernels;

extern const i2i_norm_kernels i2i_norm_kernels_portable;
#if defined(__x86_64__)
extern const i2i_norm_kernels i2i_norm_kernels_avx2;
extern const i2i_norm_kernels i2i_norm_kernels_avx512;
#endif
#endif
