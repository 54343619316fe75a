// Internal to _CKernels: what the bf16 inference convs share between the pack (operators/conv_bf16.c),
// the AVX512_BF16 kernels (microkernels/x86_avx512/conv_bf16_avx512.c), the oracle
// (reference/conv_bf16_ref.c) and the settings (dispatch/bf16_settings.c): the rounding, the paths
// and the geometry of the packed weights. See conv_bf16_avx512.c for the algorithms.
#ifndef IMG2IMG_CONV_BF16_INTERNAL_H
#define IMG2IMG_CONV_BF16_INTERNAL_H
#include "conv_internal.h"
#include <string.h>

// MARK: - Rounding (portable; what the pack and the oracle use)

/// float -> bf16, round to nearest even, as vcvtneps2bf16 does: denormal inputs read as (signed) zero,
/// NaN stays a (quiet) NaN.
static inline uint16_t bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// MARK: - Paths (i2i_conv_bf16_layout's values)

enum { PATH_TILE = 1, PATH_DOT = 2, PATH_WINO2 = 16, PATH_WINO4 = 36 };

/// The bf16 Winograd variant of i2i_set_bf16_winograd (env I2I_BF16_WINOGRAD at first use, default
/// I2I_BF16_WINOGRAD_DEFAULT): 4, 2 or 0 (dispatch/bf16_settings.c).
int i2i_bf16_winograd_mode_get(void);

// MARK: - Geometry of the packed weights

#define BF_MR 12               // pixels (or Winograd tiles) per register tile
#define BF_NV 2                // zmm accumulators per pixel
#define BF_NR (BF_NV * 16)     // output channels per block
#define BF_DOT_ACC 24          // accumulators of the dot kernel

static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t even_up(int64_t c) { return (c + 1) & ~(int64_t)1; }
static inline int64_t nblocks(const i2i_conv_shape *s) { return cdiv(s->OC, BF_NR); }
/// Winograd: channels rounded up to whole 16-float vectors (the transforms' width).
static inline int64_t wino_cp(const i2i_conv_shape *s) { return cdiv(s->C, 16) * 16; }

#endif
