// Adam's element-wise update (see i2i_adam_update in _CKernels.h): one loop compiled for AVX-512,
// AVX2 and plain C (isa.h). Every copy performs the same IEEE operations in the same order, so every
// variant gives the same bits as torch.optim.Adam's single-tensor path and as the reference twin.
// No contraction: a*b + c stays two roundings where the formula says so; the one fused
// multiply-add of the first-moment update (torch's lerp) is written as fmaf.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "../dispatch/isa.h"
#include <stddef.h>

typedef struct {
    float *x, *m, *v;
    const float *g;
    float w, b2, omb2, bc2Sqrt, eps, negStep;
} adam_ctx;

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

#define ADAM_BODY(SFX, TGT)                                                                        \
    TGT static void adam_##SFX(void *vc, int64_t lo, int64_t hi) {                                \
        const adam_ctx *c = vc;                                                                    \
        float *restrict x = c->x, *restrict m = c->m, *restrict v = c->v;                          \
        const float *restrict g = c->g;                                                            \
        const float w = c->w, b2 = c->b2, omb2 = c->omb2, bc2Sqrt = c->bc2Sqrt, eps = c->eps;      \
        const float negStep = c->negStep;                                                          \
        if (w < 0.5f) { ADAM_LOOP(w, m[j]) }                                                       \
        else { ADAM_LOOP(w - 1.0f, gj) }                                                           \
    }
I2I_FOR_EACH_ISA(ADAM_BODY)

void i2i_adam_update(int64_t n, float *x, float *m, float *v, const float *g, float w, float beta2,
                     float oneMinusBeta2, float bc2Sqrt, float eps, float negStep) {
    if (n <= 0) return;
    adam_ctx c = {x, m, v, g, w, beta2, oneMinusBeta2, bc2Sqrt, eps, negStep};
    i2i_parallel_for(n, 1 << 14, I2I_PICK(adam), &c);
}
