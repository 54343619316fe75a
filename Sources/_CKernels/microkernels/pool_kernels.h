// Internal to _CKernels: what the pooling entry points (operators/pool.c) and the per-ISA pooling
// kernels (pool_body.h, compiled by x86_avx512/pool_avx512.c, x86_avx2/pool_avx2.c and
// portable/pool_portable.c) share: the table each ISA exports. The kernels know one output pixel's
// channel row and nothing of windows; the entry point walks the window.
#ifndef IMG2IMG_POOL_KERNELS_H
#define IMG2IMG_POOL_KERNELS_H
#include "_CKernels.h"

/// The pooling kernels of one ISA, over n channels, in place on the output row d:
///   max_into(d, s, n):  d[i] = (s[i] > d[i] || s[i] is NaN) ? s[i] : d[i]   (PyTorch's max, NaN wins)
///   add_into(d, s, n):  d[i] = d[i] + s[i]
///   div_by(d, k, n):    d[i] = d[i] / k
typedef struct {
    void (*max_into)(float *d, const float *s, int64_t n);
    void (*add_into)(float *d, const float *s, int64_t n);
    void (*div_by)(float *d, float k, int64_t n);
} i2i_pool_kernels;

extern const i2i_pool_kernels i2i_pool_kernels_portable;
#if defined(__x86_64__)
extern const i2i_pool_kernels i2i_pool_kernels_avx2;
extern const i2i_pool_kernels i2i_pool_kernels_avx512;
#endif
#endif
