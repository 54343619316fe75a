// Pooling entry points (see _CKernels.h, "Pooling"): max and average pooling over windows of the image's
// pixels (the padding takes no part). The entry point walks each window in (kh, kw) order; the channel
// loops are the ISA's kernels (microkernels/pool_body.h, one copy per ISA, picked by I2I_PICK), so every
// ISA and thread count gives the reference's bits.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "../dispatch/isa.h"
#include "../microkernels/pool_kernels.h"
#include <string.h>

int i2i_pool_shape_finalize(i2i_pool_shape *s) {
    if (s->N < 1 || s->H < 1 || s->W < 1 || s->C < 1 || s->KH < 1 || s->KW < 1 || s->strideH < 1 || s->strideW < 1 ||
        s->padT < 0 || s->padL < 0 || s->padB < 0 || s->padR < 0 || s->padT >= s->KH || s->padB >= s->KH ||
        s->padL >= s->KW || s->padR >= s->KW)
        return -1;
    const int hp = s->H + s->padT + s->padB, wp = s->W + s->padL + s->padR;
    if (hp < s->KH || wp < s->KW) return -1;
    s->OH = (hp - s->KH) / s->strideH + 1;
    s->OW = (wp - s->KW) / s->strideW + 1;
    return 0;
}

typedef struct {
    const i2i_pool_shape *s;
    int max, countPad;
    const float *x;
    float *y;
    const i2i_pool_kernels *k;
} pool_ctx;

/// Output rows (n, oh) lo..<hi: each pixel's channel row from the window's pixels in the image.
static void pool_task(void *vctx, int64_t lo, int64_t hi) {
    const pool_ctx *c = vctx;
    const i2i_pool_shape *s = c->s;
    const int64_t C = s->C;
    for (int64_t r = lo; r < hi; r++) {
        const int64_t n = r / s->OH, oh = r % s->OH;
        const int64_t h0 = oh * s->strideH - s->padT;
        const int64_t ih0 = h0 < 0 ? 0 : h0, ih1 = h0 + s->KH < s->H ? h0 + s->KH : s->H;
        for (int64_t ow = 0; ow < s->OW; ow++) {
            const int64_t w0 = ow * s->strideW - s->padL;
            const int64_t iw0 = w0 < 0 ? 0 : w0, iw1 = w0 + s->KW < s->W ? w0 + s->KW : s->W;
            float *d = c->y + (r * s->OW + ow) * C;
            if (c->max) {
                memcpy(d, c->x + ((n * s->H + ih0) * s->W + iw0) * C, (size_t)C * sizeof(float));
                for (int64_t ih = ih0; ih < ih1; ih++)
                    for (int64_t iw = ih == ih0 ? iw0 + 1 : iw0; iw < iw1; iw++)
                        c->k->max_into(d, c->x + ((n * s->H + ih) * s->W + iw) * C, C);
            } else {
                memset(d, 0, (size_t)C * sizeof(float));
                for (int64_t ih = ih0; ih < ih1; ih++)
                    for (int64_t iw = iw0; iw < iw1; iw++) c->k->add_into(d, c->x + ((n * s->H + ih) * s->W + iw) * C, C);
                const int64_t taps = c->countPad ? (int64_t)s->KH * s->KW : (ih1 - ih0) * (iw1 - iw0);
                c->k->div_by(d, (float)taps, C);
            }
        }
    }
}

static void pool_run(const i2i_pool_shape *s, int max, int countPad, const float *x, float *y) {
    pool_ctx c = {s, max, countPad, x, y, I2I_PICK(i2i_pool_kernels)};
    // Chunks of at least ~16K output floats: smaller ones cost more to hand out than to compute.
    const int64_t rowFloats = (int64_t)s->OW * s->C;
    i2i_parallel_for((int64_t)s->N * s->OH, rowFloats >= (1 << 14) ? 1 : (1 << 14) / rowFloats, pool_task, &c);
}

void i2i_max_pool(const i2i_pool_shape *s, const float *x, float *y) { pool_run(s, 1, 0, x, y); }

void i2i_avg_pool(const i2i_pool_shape *s, int countPad, const float *x, float *y) { pool_run(s, 0, countPad, x, y); }
