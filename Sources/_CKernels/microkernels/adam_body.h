// Adam's element-wise update of one instruction set (see i2i_adam_update in _CKernels.h), written
// once. Included by x86_avx512/adam_avx512.c, x86_avx2/adam_avx2.c and portable/adam_portable.c,
// which define first
//   SFX(name)   name with the ISA suffix (adam -> adam_avx512)
//   TGT         the function attribute that enables the ISA (empty for portable)
// Every copy performs the same IEEE operations in the same order, so every ISA gives the same bits
// as torch.optim.Adam's single-tensor path and as the reference twin. No contraction: a*b + c stays
// two roundings where the formula says so; the one fused multiply-add of the first-moment update
// (torch's lerp) is written as fmaf.
#pragma clang fp contract(off)
#include "adam_kernels.h"
#include "../dispatch/isa.h"
#include <stddef.h>

// m = lerp(m, g, w): torch computes it as fma(w, g - m, m) below w = 0.5 and fma(w - 1, g - m, g)
// above; the branch is the same for every element, so each copy gets its own loop.
#define ADAM_LOOP(WEIGHT, BASE)                                                                    \
    for (int64_t j = lo; j < hi; j++) {                                                            \
        const float gj = g[j];                                                                     \
        const float mj = __builtin_fmaf(WEIGHT, gj - m[j], BASE);                                  \
        m[j] = mj;                                                                                 \
        const float vj = v[j] * b2 + (omb2 * gj) * gj;                                             \
        v[j] = vj;                                                                                 \
        x[j] = x[j] + (negStep * mj) / (__builtin_elementwise_sqrt(vj) / bc2Sqrt + eps);           \
    }

static TGT void SFX(adam)(void *vc, int64_t lo, int64_t hi) {
    const adam_ctx *c = vc;
    float *restrict x = c->x, *restrict m = c->m, *restrict v = c->v;
    const float *restrict g = c->g;
    const float w = c->w, b2 = c->b2, omb2 = c->omb2, bc2Sqrt = c->bc2Sqrt, eps = c->eps;
    const float negStep = c->negStep;
    if (w < 0.5f) { ADAM_LOOP(w, m[j]) }
    else { ADAM_LOOP(w - 1.0f, gj) }
}

const i2i_adam_kernels SFX(i2i_adam_kernels) = {SFX(adam)};
