// AVX-512 convolution kernels: the generic conv body (../conv_body.h) with isa_avx512.h's names and
// target and 16-float vectors, a 12-pixel x 32-channel register tile (24 zmm accumulators).
#include "../conv_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include "isa_avx512.h"

#define VT __m512
#define VW 16
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VLOADN(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p))
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VHSUM(v) _mm512_reduce_add_ps(v)
#define MR 12
#define NV 2
#define DOT_ACC 24

#include "../conv_body.h"
#endif
