// Naive reference convolutions: the test oracle for the fast kernels. Double accumulators.
// x: [N,H,W,C]  w: [KH,KW,C,OC]  b: [OC] or NULL  y: [N,OH,OW,OC]
#include "_CKernels.h"
#include <stdlib.h>
#include <string.h>

int i2i_conv_shape_finalize(i2i_conv_shape *s) {
    if (s->N < 1 || s->H < 1 || s->W < 1 || s->C < 1 || s->OC < 1 || s->KH < 1 || s->KW < 1 ||
        s->strideH < 1 || s->strideW < 1 || s->padT < 0 || s->padL < 0 || s->padB < 0 || s->padR < 0)
        return -1;
    int hp = s->H + s->padT + s->padB, wp = s->W + s->padL + s->padR;
    if (hp < s->KH || wp < s->KW) return -1;
    s->OH = (hp - s->KH) / s->strideH + 1;
    s->OW = (wp - s->KW) / s->strideW + 1;
    return 0;
}

int i2i_conv_transpose_shape(i2i_conv_shape *s, int N, int Hi, int Wi, int Cin, int Cout, int KH, int KW,
                             int strideH, int strideW, int padH, int padW, int outPadH, int outPadW) {
    if (strideH < 1 || strideW < 1 || outPadH < 0 || outPadW < 0 || outPadH >= strideH || outPadW >= strideW)
        return -1;
    i2i_conv_shape t = {0};
    t.N = N; t.C = Cout; t.OC = Cin; t.KH = KH; t.KW = KW;
    t.strideH = strideH; t.strideW = strideW;
    t.H = (Hi - 1) * strideH - 2 * padH + KH + outPadH;
    t.W = (Wi - 1) * strideW - 2 * padW + KW + outPadW;
    t.padT = t.padB = padH; t.padL = t.padR = padW;
    if (Hi < 1 || Wi < 1 || i2i_conv_shape_finalize(&t) != 0 || t.OH != Hi || t.OW != Wi) return -1;
    *s = t;
    return 0;
}

void i2i_conv2d_forward_ref(const i2i_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
    for (int n = 0; n < s->N; n++)
    for (int oh = 0; oh < s->OH; oh++)
    for (int ow = 0; ow < s->OW; ow++)
    for (int oc = 0; oc < s->OC; oc++) {
        double acc = b ? b[oc] : 0.0;
        for (int kh = 0; kh < s->KH; kh++) {
            int ih = oh * s->strideH - s->padT + kh;
            if (ih < 0 || ih >= s->H) continue;
            for (int kw = 0; kw < s->KW; kw++) {
                int iw = ow * s->strideW - s->padL + kw;
                if (iw < 0 || iw >= s->W) continue;
                const float *xp = x + (((int64_t)n * s->H + ih) * s->W + iw) * s->C;
                const float *wp = w + ((int64_t)kh * s->KW + kw) * s->C * s->OC + oc;
                for (int c = 0; c < s->C; c++) acc += (double)xp[c] * wp[(int64_t)c * s->OC];
            }
        }
        y[(((int64_t)n * s->OH + oh) * s->OW + ow) * s->OC + oc] = (float)acc;
    }
}

void i2i_conv2d_backward_input_ref(const i2i_conv_shape *s, const float *dy, const float *w, float *dx) {
    // Gather form: dx[n,ih,iw,c] = sum over (kh,kw) with ih = oh*sH - padT + kh (likewise w) of dy*w.
    for (int n = 0; n < s->N; n++)
    for (int ih = 0; ih < s->H; ih++)
    for (int iw = 0; iw < s->W; iw++)
    for (int c = 0; c < s->C; c++) {
        double acc = 0.0;
        for (int kh = 0; kh < s->KH; kh++) {
            int th = ih + s->padT - kh;
            if (th < 0 || th % s->strideH != 0) continue;
            int oh = th / s->strideH;
            if (oh >= s->OH) continue;
            for (int kw = 0; kw < s->KW; kw++) {
                int tw = iw + s->padL - kw;
                if (tw < 0 || tw % s->strideW != 0) continue;
                int ow = tw / s->strideW;
                if (ow >= s->OW) continue;
                const float *dyp = dy + (((int64_t)n * s->OH + oh) * s->OW + ow) * s->OC;
                const float *wp = w + (((int64_t)kh * s->KW + kw) * s->C + c) * s->OC;
                for (int oc = 0; oc < s->OC; oc++) acc += (double)dyp[oc] * wp[oc];
            }
        }
        dx[(((int64_t)n * s->H + ih) * s->W + iw) * s->C + c] = (float)acc;
    }
}

void i2i_conv2d_backward_filter_ref(const i2i_conv_shape *s, const float *x, const float *dy,
                                    float *dw, float *db, int accumulate) {
    for (int kh = 0; kh < s->KH; kh++)
    for (int kw = 0; kw < s->KW; kw++)
    for (int c = 0; c < s->C; c++)
    for (int oc = 0; oc < s->OC; oc++) {
        double acc = 0.0;
        for (int n = 0; n < s->N; n++)
        for (int oh = 0; oh < s->OH; oh++) {
            int ih = oh * s->strideH - s->padT + kh;
            if (ih < 0 || ih >= s->H) continue;
            for (int ow = 0; ow < s->OW; ow++) {
                int iw = ow * s->strideW - s->padL + kw;
                if (iw < 0 || iw >= s->W) continue;
                acc += (double)x[(((int64_t)n * s->H + ih) * s->W + iw) * s->C + c] *
                       dy[(((int64_t)n * s->OH + oh) * s->OW + ow) * s->OC + oc];
            }
        }
        float *d = dw + (((int64_t)kh * s->KW + kw) * s->C + c) * s->OC + oc;
        *d = accumulate ? *d + (float)acc : (float)acc;
    }
    if (db) {
        for (int oc = 0; oc < s->OC; oc++) {
            double acc = 0.0;
            int64_t P = (int64_t)s->N * s->OH * s->OW;
            for (int64_t p = 0; p < P; p++) acc += dy[p * s->OC + oc];
            db[oc] = accumulate ? db[oc] + (float)acc : (float)acc;
        }
    }
}
