// Naive reference pooling: the test oracle for operators/pool.c. One thread, one element at a time, the
// same operations in the same order as the fast path (max: the first pixel, then the rest; average: 0,
// then each pixel added in (kh, kw) order, then one division), so the results are bit for bit equal.
// x: [N,H,W,C]  y: [N,OH,OW,C]
#pragma clang fp contract(off)
#include "_CKernels.h"

static void pool_ref(const i2i_pool_shape *s, int max, int countPad, const float *x, float *y) {
    for (int64_t n = 0; n < s->N; n++)
    for (int64_t oh = 0; oh < s->OH; oh++)
    for (int64_t ow = 0; ow < s->OW; ow++)
    for (int64_t c = 0; c < s->C; c++) {
        float acc = 0;
        int64_t taps = 0;
        for (int64_t kh = 0; kh < s->KH; kh++) {
            const int64_t ih = oh * s->strideH - s->padT + kh;
            if (ih < 0 || ih >= s->H) continue;
            for (int64_t kw = 0; kw < s->KW; kw++) {
                const int64_t iw = ow * s->strideW - s->padL + kw;
                if (iw < 0 || iw >= s->W) continue;
                const float v = x[((n * s->H + ih) * s->W + iw) * s->C + c];
                if (!max) acc = acc + v;
                else if (taps == 0 || v > acc || v != v) acc = v;
                taps++;
            }
        }
        if (!max) acc = acc / (float)(countPad ? (int64_t)s->KH * s->KW : taps);
        y[((n * s->OH + oh) * s->OW + ow) * s->C + c] = acc;
    }
}

void i2i_max_pool_ref(const i2i_pool_shape *s, const float *x, float *y) { pool_ref(s, 1, 0, x, y); }

void i2i_avg_pool_ref(const i2i_pool_shape *s, int countPad, const float *x, float *y) { pool_ref(s, 0, countPad, x, y); }
