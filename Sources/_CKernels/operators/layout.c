// Layout kernels (see _CKernels.h, "Layout"): spatial padding and its adjoint, and the strided row
// copies of concat and slice. Copies are exact whatever the ISA; the padding adjoint adds in a fixed
// order (output row, then column), its channel loop the ISA's add_into (microkernels/layout_body.h,
// one copy per ISA, picked by I2I_PICK) so that it uses wide vectors.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "../dispatch/isa.h"
#include "../microkernels/layout_kernels.h"
#include <stddef.h>
#include <string.h>

/// Source index of output index i along an axis of `size` with `before` padding, or -1 (zero pad).
static inline int64_t pad_source(int64_t i, int64_t size, int64_t before, int mode) {
    int64_t j = i - before;
    if (j >= 0 && j < size) return j;
    if (mode == I2I_PAD_ZERO) return -1;
    if (mode == I2I_PAD_REPLICATE) return j < 0 ? 0 : size - 1;
    if (size <= 1) return 0;
    while (j < 0 || j >= size) j = j < 0 ? -j : 2 * (size - 1) - j;
    return j;
}

typedef struct {
    int64_t N, H, W, C, top, left, bottom, right, OH, OW;
    int mode;
    const float *x;
    float *y;
    void (*add)(float *, const float *, int64_t);
} pad_ctx;

static void pad_task(void *vctx, int64_t lo, int64_t hi) {
    const pad_ctx *c = vctx;
    for (int64_t r = lo; r < hi; r++) {
        const int64_t n = r / c->OH, oh = r % c->OH;
        const int64_t sh = pad_source(oh, c->H, c->top, c->mode);
        float *dst = c->y + r * c->OW * c->C;
        if (sh < 0) { memset(dst, 0, (size_t)(c->OW * c->C) * sizeof(float)); continue; }
        const float *src = c->x + (n * c->H + sh) * c->W * c->C;
        // Left border, the row itself in one copy, right border.
        for (int64_t ow = 0; ow < c->left; ow++) {
            const int64_t sw = pad_source(ow, c->W, c->left, c->mode);
            if (sw < 0) memset(dst + ow * c->C, 0, (size_t)c->C * sizeof(float));
            else memcpy(dst + ow * c->C, src + sw * c->C, (size_t)c->C * sizeof(float));
        }
        memcpy(dst + c->left * c->C, src, (size_t)(c->W * c->C) * sizeof(float));
        for (int64_t ow = c->left + c->W; ow < c->OW; ow++) {
            const int64_t sw = pad_source(ow, c->W, c->left, c->mode);
            if (sw < 0) memset(dst + ow * c->C, 0, (size_t)c->C * sizeof(float));
            else memcpy(dst + ow * c->C, src + sw * c->C, (size_t)c->C * sizeof(float));
        }
    }
}

void i2i_pad_nhwc(int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t bottom,
                  int64_t right, int mode, const float *x, float *y) {
    pad_ctx c = {N, H, W, C, top, left, bottom, right, H + top + bottom, W + left + right, mode, x, y, NULL};
    if (N <= 0 || H <= 0 || W <= 0 || C <= 0 || top < 0 || left < 0 || bottom < 0 || right < 0) return;
    const int64_t rowFloats = c.OW * C;
    i2i_parallel_for(N * c.OH, rowFloats >= (1 << 14) ? 1 : (1 << 14) / rowFloats, pad_task, &c);
}

// One input row (n, sh): every output row copied from it, in order, each column in order.
static void pad_adjoint_task(void *vctx, int64_t lo, int64_t hi) {
    const pad_ctx *c = vctx;
    for (int64_t r = lo; r < hi; r++) {
        const int64_t n = r / c->H, sh = r % c->H;
        float *dst = c->y + r * c->W * c->C;
        memset(dst, 0, (size_t)(c->W * c->C) * sizeof(float));
        for (int64_t oh = 0; oh < c->OH; oh++) {
            if (pad_source(oh, c->H, c->top, c->mode) != sh) continue;
            const float *src = c->x + (n * c->OH + oh) * c->OW * c->C;
            for (int64_t ow = 0; ow < c->OW; ow++) {
                const int64_t sw = pad_source(ow, c->W, c->left, c->mode);
                if (sw >= 0) c->add(dst + sw * c->C, src + ow * c->C, c->C);
            }
        }
    }
}

void i2i_pad_nhwc_adjoint(int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t bottom,
                          int64_t right, int mode, const float *g, float *dx) {
    pad_ctx c = {N, H, W, C, top, left, bottom, right, H + top + bottom, W + left + right, mode, g, dx,
                 I2I_PICK(i2i_layout_kernels)->add_into};
    if (N <= 0 || H <= 0 || W <= 0 || C <= 0 || top < 0 || left < 0 || bottom < 0 || right < 0) return;
    const int64_t rowFloats = c.OW * C;
    i2i_parallel_for(N * H, rowFloats >= (1 << 14) ? 1 : (1 << 14) / rowFloats, pad_adjoint_task, &c);
}

typedef struct {
    int64_t length, srcStride, dstStride;
    const float *src;
    float *dst;
} copy_ctx;

static void copy_task(void *vctx, int64_t lo, int64_t hi) {
    const copy_ctx *c = vctx;
    for (int64_t o = lo; o < hi; o++)
        memcpy(c->dst + o * c->dstStride, c->src + o * c->srcStride, (size_t)c->length * sizeof(float));
}

void i2i_copy_rows(int64_t outer, int64_t length, const float *src, int64_t srcStride, float *dst,
                   int64_t dstStride) {
    if (outer <= 0 || length <= 0) return;
    copy_ctx c = {length, srcStride, dstStride, src, dst};
    i2i_parallel_for(outer, length >= (1 << 15) ? 1 : (1 << 15) / length, copy_task, &c);
}
