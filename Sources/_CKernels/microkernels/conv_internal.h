// Internal to _CKernels: the per-ISA convolution tables that conv plans (operators/conv_plan.c) bind
// and the conv bodies (conv_body.h) export, the algorithms they implement, and the workspace cache
// the kernels allocate from. The blocking constants they share are in dispatch/tuning.h.
#ifndef IMG2IMG_CONV_INTERNAL_H
#define IMG2IMG_CONV_INTERNAL_H
#include "_CKernels.h"
#include "../dispatch/tuning.h" // the blocking constants (I2I_DOT_MAX_OUT, I2I_BAND_*, ...)
#include <stddef.h>

// MARK: - Algorithms (chosen by i2i_conv_choose in operators/conv_plan.c, the only place that decides)

/// Forward: the naive loop (forced "reference" table); direct over tap lists with output channels in
/// vectors (tile) or the reduction in vectors (dot, few output channels); Winograd for 3x3 stride 1
/// (F(2x2,3x3), F(4x4,3x3)), 4x4 stride 1 (F(3x3,4x4)) and 4x4 stride 2 (space-to-depth, F(5x5,2x2)).
enum {
    I2I_FWD_REF, I2I_FWD_TILE, I2I_FWD_DOT, I2I_FWD_WINOGRAD_F2K3, I2I_FWD_WINOGRAD_F4K3, I2I_FWD_WINOGRAD_F3K4,
    I2I_FWD_WINOGRAD_S2K4
};
/// Backward-input: the naive loop; the forward of the flipped kernel (stride 1: it inherits the
/// forward's algorithms, Winograd included; run by the plan); stride phases of dx with the tile or dot
/// kernel.
enum { I2I_BWDI_REF, I2I_BWDI_FLIP, I2I_BWDI_TILE, I2I_BWDI_DOT };
/// Backward-filter: the naive loop; GEMMs per kernel row vectorized over OC (tile) or over KW*C
/// (dot); Winograd F(2x2,3x3); one GEMM over the whole kernel reading x and dy in place (small
/// kernels with few output channels, such as the stem).
enum { I2I_BWDW_REF, I2I_BWDW_TILE, I2I_BWDW_DOT, I2I_BWDW_WINOGRAD_F2K3, I2I_BWDW_INPLACE };

// MARK: - Per-ISA tables

typedef struct {
    const char *name;
    int vw, mr, nr; // vector floats; register tile of the tile kernels: mr pixels x nr channels
    /// Floats of the packed weights of forward algorithm `algo` (0: reads w as it is).
    int64_t (*forward_packed_floats)(const i2i_conv_shape *s, int algo);
    void (*forward_pack)(const i2i_conv_shape *s, int algo, const float *w, float *packed);
    /// y = conv(x, w) + b from the packed weights; zero: at least i2i_conv_zero_floats(s) zeros.
    void (*forward)(const i2i_conv_shape *s, int algo, const float *x, const float *packed, const float *b,
                    float *y, const float *zero);
    int64_t (*backward_input_packed_floats)(const i2i_conv_shape *s, int algo);
    void (*backward_input_pack)(const i2i_conv_shape *s, int algo, const float *w, float *packed);
    /// I2I_BWDI_TILE and I2I_BWDI_DOT (the dot kernel reads w, the tile kernel the packed weights).
    void (*backward_input)(const i2i_conv_shape *s, int algo, const float *dy, const float *w, const float *packed,
                           float *dx, const float *zero);
    void (*backward_filter)(const i2i_conv_shape *s, int algo, const float *x, const float *dy, float *dw,
                            float *db, int accumulate);
} i2i_conv_kernels;

extern const i2i_conv_kernels i2i_conv_kernels_portable;
#if defined(__x86_64__)
extern const i2i_conv_kernels i2i_conv_kernels_avx2;
extern const i2i_conv_kernels i2i_conv_kernels_avx512;
#endif
/// The table plans made now bind (dispatch/kernel_select.c): the CPU's best, or what i2i_set_kernel_isa forced;
/// NULL for the forced "reference".
const i2i_conv_kernels *i2i_conv_kernels_current(void);

/// Workspace buffers (packed weights, transforms, padded copies), 64-byte aligned, kept in a small
/// cache between calls so that a training step does not page-fault fresh buffers in every layer.
/// i2i_ws_free(NULL) is a no-op.
void *i2i_ws_alloc(size_t bytes);
void i2i_ws_free(void *p);

/// The Winograd choice of i2i_set_winograd (env I2I_WINOGRAD at first use; default 4).
int i2i_winograd_mode_get(void);
#endif
