// AVX2+FMA convolution kernels: the generic conv body (../conv_body.h) with isa_avx2.h's names and
// target and 8-float vectors, a 6-pixel x 16-channel register tile (12 ymm accumulators of 16
// registers).
#include "../conv_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include "isa_avx2.h"

static const int32_t avx2_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

#define VT __m256
#define VW 8
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VLOADN(p, n) _mm256_maskload_ps((p), _mm256_loadu_si256((const __m256i *)(avx2_mask_table + 8 - (n))))
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VBCAST(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VHSUM(v) avx2_hsum(v)
#define MR 6
#define NV 2
#define DOT_ACC 12

static inline TGT float avx2_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

#include "../conv_body.h"
#endif
