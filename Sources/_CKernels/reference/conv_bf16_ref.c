// The oracle of the bf16 inference convs: the naive fp32 conv (conv_ref.c) on x and w rounded to
// bf16 as the kernels round them (microkernels/conv_bf16_internal.h).
#include "../microkernels/conv_bf16_internal.h"
#include <stdlib.h>

void i2i_conv2d_forward_bf16_ref(const i2i_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
    // The fp32 oracle on x and w rounded to bf16: products of the rounded values summed in double.
    const int64_t nx = (int64_t)s->N * s->H * s->W * s->C, nw = (int64_t)s->KH * s->KW * s->C * s->OC;
    float *xr = malloc(sizeof(float) * (size_t)(nx > 0 ? nx : 1)), *wr = malloc(sizeof(float) * (size_t)(nw > 0 ? nw : 1));
    for (int64_t i = 0; i < nx; i++) xr[i] = bf16_value(bf16_round(x[i]));
    for (int64_t i = 0; i < nw; i++) wr[i] = bf16_value(bf16_round(w[i]));
    i2i_conv2d_forward_ref(s, xr, wr, b, y);
    free(xr); free(wr);
}
