// Internal to _CKernels: what the layout entry points (operators/layout.c) and the per-ISA layout
// kernels (layout_body.h, compiled by x86_avx512/layout_avx512.c, x86_avx2/layout_avx2.c and
// portable/layout_portable.c) share: the table each ISA exports.
#ifndef IMG2IMG_LAYOUT_KERNELS_H
#define IMG2IMG_LAYOUT_KERNELS_H
#include "_CKernels.h"

/// The layout kernels of one ISA: add_into(d, s, n) is d[i] = d[i] + s[i] for i < n, in order (the
/// padding adjoint's channel loop).
typedef struct {
    void (*add_into)(float *d, const float *s, int64_t n);
} i2i_layout_kernels;

extern const i2i_layout_kernels i2i_layout_kernels_portable;
#if defined(__x86_64__)
extern const i2i_layout_kernels i2i_layout_kernels_avx2;
extern const i2i_layout_kernels i2i_layout_kernels_avx512;
#endif
#endif
