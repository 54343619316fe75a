// The pooling kernels of one instruction set, written once: the channel loops of max and average
// pooling (one output pixel's row at a time; operators/pool.c walks the window). Included by
// x86_avx512/pool_avx512.c, x86_avx2/pool_avx2.c and portable/pool_portable.c, which define first
//   SFX(name)   name with the ISA suffix (max_into -> max_into_avx512)
//   TGT         the function attribute that enables the ISA (empty for portable)
// Compiled without contraction, as every body of this kind: each copy gives the reference's bits.
#pragma clang fp contract(off)
#include "pool_kernels.h"
#include "../dispatch/isa.h"
#include <stddef.h>

static TGT void SFX(max_into)(float *restrict d, const float *restrict s, int64_t n) {
    // `v != v`: a NaN input wins and then stays (nothing compares greater than NaN), as in PyTorch.
    for (int64_t i = 0; i < n; i++) {
        const float v = s[i];
        d[i] = (v > d[i] || v != v) ? v : d[i];
    }
}

static TGT void SFX(add_into)(float *restrict d, const float *restrict s, int64_t n) {
    for (int64_t i = 0; i < n; i++) d[i] = d[i] + s[i];
}

static TGT void SFX(div_by)(float *restrict d, float k, int64_t n) {
    for (int64_t i = 0; i < n; i++) d[i] = d[i] / k;
}

const i2i_pool_kernels SFX(i2i_pool_kernels) = {SFX(max_into), SFX(add_into), SFX(div_by)};
