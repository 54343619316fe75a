// Internal to _CKernels: the per-ISA kernel tables that kernel_select.c binds.
#ifndef IMG2IMG_CONV_INTERNAL_H
#define IMG2IMG_CONV_INTERNAL_H
#include "_CKernels.h"

typedef struct {
    const char *name;
    void (*forward)(const i2i_conv_shape *, const float *, const float *, const float *, float *);
    void (*backward_input)(const i2i_conv_shape *, const float *, const float *, float *);
    void (*backward_filter)(const i2i_conv_shape *, const float *, const float *, float *, float *, int);
} i2i_conv_kernels;

extern const i2i_conv_kernels i2i_conv_kernels_portable;

/// Workspace buffers (packed weights, transforms, padded copies), 64-byte aligned, kept in a small
/// cache between calls so that a training step does not page-fault fresh buffers in every layer.
/// i2i_ws_free(NULL) is a no-op.
#include <stddef.h>
void *i2i_ws_alloc(size_t bytes);
void i2i_ws_free(void *p);

/// The Winograd choice of i2i_set_winograd (env I2I_WINOGRAD at first use; default 4).
int i2i_winograd_mode_get(void);
#if defined(__x86_64__)
extern const i2i_conv_kernels i2i_conv_kernels_avx2;
extern const i2i_conv_kernels i2i_conv_kernels_avx512;
#endif
#endif
