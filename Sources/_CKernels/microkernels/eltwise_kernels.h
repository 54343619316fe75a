// Internal to _CKernels: what the element-wise entry points (operators/eltwise.c) and the per-ISA
// element-wise kernels (eltwise_body.h, compiled by x86_avx512/eltwise_avx512.c,
// x86_avx2/eltwise_avx2.c and portable/eltwise_portable.c) share: the task contexts and the table
// each ISA exports.
#ifndef IMG2IMG_ELTWISE_KERNELS_H
#define IMG2IMG_ELTWISE_KERNELS_H
#include "_CKernels.h"

typedef struct {
    int op;
    const float *x;
    float *y;
    float s;
} un_ctx;

/// sa, sb: 1 if a (b) advances with i, 0 if its element 0 is broadcast.
typedef struct {
    int op;
    const float *a, *b;
    int64_t sa, sb;
    float *y;
    float s;
} bin_ctx;

enum { SUM_BLOCK = 4096, SUM_LANES = 16 };

typedef struct {
    const float *x;
    int64_t n, rows, cols;
    double *out;
} sum_ctx;

/// The element-wise tasks of one ISA: unary (un_ctx) and binary (bin_ctx) over element ranges,
/// sum_blocks (sum_ctx) over SUM_BLOCK-element blocks, colsum_blocks (sum_ctx) over 16-column blocks.
typedef struct {
    i2i_task_fn unary, binary, sum_blocks, colsum_blocks;
} i2i_eltwise_kernels;

extern const i2i_eltwise_kernels i2i_eltwise_kernels_portable;
#if defined(__x86_64__)
extern const i2i_eltwise_kernels i2i_eltwise_kernels_avx2;
extern const i2i_eltwise_kernels i2i_eltwise_kernels_avx512;
#endif
#endif
