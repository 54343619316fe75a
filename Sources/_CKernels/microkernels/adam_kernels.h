// Internal to _CKernels: what the Adam entry point (operators/adam.c) and the per-ISA Adam kernels
// (adam_body.h, compiled by x86_avx512/adam_avx512.c, x86_avx2/adam_avx2.c and
// portable/adam_portable.c) share: the task context and the table each ISA exports.
#ifndef IMG2IMG_ADAM_KERNELS_H
#define IMG2IMG_ADAM_KERNELS_H
#include "_CKernels.h"

typedef struct {
    float *x, *m, *v;
    const float *g;
    float w, b2, omb2, bc2Sqrt, eps, negStep;
} adam_ctx;

/// The Adam task of one ISA: the update of elements [lo, hi) (adam_ctx).
typedef struct {
    i2i_task_fn update;
} i2i_adam_kernels;

extern const i2i_adam_kernels i2i_adam_kernels_portable;
#if defined(__x86_64__)
extern const i2i_adam_kernels i2i_adam_kernels_avx2;
extern const i2i_adam_kernels i2i_adam_kernels_avx512;
#endif
#endif
