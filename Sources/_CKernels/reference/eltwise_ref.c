// Naive reference twins of the element-wise, normalization, layout and Adam kernels: the test oracle
// (as conv_ref.c is for the convolutions). One thread, one element at a time, written from the
// formulas in _CKernels.h and nothing else; tanh, sigmoid and sqrt come from libm in double.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include <math.h>
#include <string.h>

void i2i_unary_ref(int op, int64_t n, const float *x, float *y, float s) {
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        float r = 0;
        switch (op) {
        case I2I_UNARY_SCALE: r = v * s; break;
        case I2I_UNARY_ADD_SCALAR: r = v + s; break;
        case I2I_UNARY_SCALAR_SUB: r = s - v; break;
        case I2I_UNARY_DIV_SCALAR: r = v / s; break;
        case I2I_UNARY_NEG: r = -v; break;
        case I2I_UNARY_SQUARE: r = v * v; break;
        case I2I_UNARY_SQRT: r = sqrtf(v); break;
        case I2I_UNARY_RSQRT: r = 1.0f / sqrtf(v); break;
        case I2I_UNARY_ABS: r = fabsf(v); break;
        case I2I_UNARY_SIGN: r = v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f); break;
        case I2I_UNARY_RELU: r = v > 0 ? v : 0.0f; break;
        case I2I_UNARY_LEAKY_RELU: r = v > 0 ? v : v * s; break;
        case I2I_UNARY_TANH: r = (float)tanh((double)v); break;
        case I2I_UNARY_SIGMOID: r = (float)(1.0 / (1.0 + exp(-(double)v))); break;
        default: r = NAN;
        }
        y[i] = r;
    }
}

void i2i_binary_ref(int op, int64_t n, const float *a, int64_t sa, const float *b, int64_t sb, float *y, float s) {
    for (int64_t i = 0; i < n; i++) {
        const float u = a[sa ? i : 0], w = b[sb ? i : 0];
        float r = 0;
        switch (op) {
        case I2I_BINARY_ADD: r = u + w; break;
        case I2I_BINARY_SUB: r = u - w; break;
        case I2I_BINARY_MUL: r = u * w; break;
        case I2I_BINARY_DIV: r = u / w; break;
        case I2I_BINARY_MAX: r = w >= u ? w : u; break;
        case I2I_BINARY_MIN: r = w < u ? w : u; break;
        case I2I_BINARY_TANH_GRAD: r = u * (1.0f - w * w); break;
        case I2I_BINARY_SIGMOID_GRAD: r = u * w * (1.0f - w); break;
        case I2I_BINARY_LEAKY_RELU_GRAD: r = w > 0 ? u : u * s; break;
        case I2I_BINARY_RELU_GRAD: r = w > 0 ? u : 0.0f; break;
        default: r = NAN;
        }
        y[i] = r;
    }
}

double i2i_sum_f64_ref(int64_t n, const float *x) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s;
}

void i2i_sum_rows_f64_ref(int64_t rows, int64_t cols, const float *x, double *out) {
    for (int64_t c = 0; c < cols; c++) {
        double s = 0;
        for (int64_t r = 0; r < rows; r++) s += x[r * cols + c];
        out[c] = s;
    }
}

void i2i_norm_stats_ref(int64_t G, int64_t M, int64_t C, const float *x, float eps, float *mean, float *rstd,
                        float *unbiased) {
    for (int64_t g = 0; g < G; g++)
        for (int64_t c = 0; c < C; c++) {
            double s = 0, q = 0;
            for (int64_t m = 0; m < M; m++) s += x[(g * M + m) * C + c];
            const double mu = s / (double)M;
            for (int64_t m = 0; m < M; m++) {
                const double d = x[(g * M + m) * C + c] - mu;
                q += d * d;
            }
            const double v = q / (double)M;
            mean[g * C + c] = (float)mu;
            rstd[g * C + c] = (float)(1.0 / sqrt(v + (double)eps));
            if (unbiased) unbiased[g * C + c] = (float)(M > 1 ? v * (double)M / (double)(M - 1) : v);
        }
}

void i2i_norm_apply_ref(int64_t G, int64_t M, int64_t C, const float *x, const float *mean, const float *rstd,
                        const float *gamma, const float *beta, float *y) {
    for (int64_t g = 0; g < G; g++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t c = 0; c < C; c++) {
                const float a = rstd[g * C + c] * (gamma ? gamma[c] : 1.0f);
                const float b = (beta ? beta[c] : 0.0f) - mean[g * C + c] * a;
                const int64_t o = (g * M + m) * C + c;
                y[o] = x[o] * a + b;
            }
}

void i2i_norm_backward_ref(int64_t G, int64_t M, int64_t C, const float *x, const float *dy, const float *mean,
                           const float *rstd, const float *gamma, float *dx, float *dgamma, float *dbeta) {
    for (int64_t c = 0; c < C; c++) {
        double dg = 0, db = 0;
        for (int64_t g = 0; g < G; g++) {
            const float mu = mean[g * C + c], rs = rstd[g * C + c];
            double sdy = 0, sdyx = 0;
            for (int64_t m = 0; m < M; m++) {
                const int64_t o = (g * M + m) * C + c;
                sdy += dy[o];
                sdyx += (double)dy[o] * (double)((x[o] - mu) * rs);
            }
            const float k1 = rs * (gamma ? gamma[c] : 1.0f), k2 = (float)(sdy / (double)M),
                        k3 = (float)(sdyx / (double)M);
            for (int64_t m = 0; m < M; m++) {
                const int64_t o = (g * M + m) * C + c;
                dx[o] = k1 * ((dy[o] - k2) - ((x[o] - mu) * rs) * k3);
            }
            dg += sdyx;
            db += sdy;
        }
        if (dgamma) dgamma[c] = (float)dg;
        if (dbeta) dbeta[c] = (float)db;
    }
}

/// PyTorch's rule per axis: reflect mirrors around the edge without repeating it, replicate
/// repeats the edge, zero reads nothing.
static int64_t ref_source(int64_t i, int64_t size, int64_t before, int mode) {
    int64_t j = i - before;
    if (j >= 0 && j < size) return j;
    if (mode == I2I_PAD_ZERO) return -1;
    if (mode == I2I_PAD_REPLICATE) return j < 0 ? 0 : size - 1;
    return j < 0 ? -j : 2 * (size - 1) - j;  // one reflection: pads < size
}

void i2i_pad_nhwc_ref(int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t bottom,
                      int64_t right, int mode, const float *x, float *y) {
    const int64_t OH = H + top + bottom, OW = W + left + right;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++)
                for (int64_t c = 0; c < C; c++) {
                    const int64_t sh = ref_source(oh, H, top, mode), sw = ref_source(ow, W, left, mode);
                    y[((n * OH + oh) * OW + ow) * C + c] = sh < 0 || sw < 0 ? 0.0f : x[((n * H + sh) * W + sw) * C + c];
                }
}

void i2i_pad_nhwc_adjoint_ref(int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left,
                              int64_t bottom, int64_t right, int mode, const float *g, float *dx) {
    const int64_t OH = H + top + bottom, OW = W + left + right;
    memset(dx, 0, (size_t)(N * H * W * C) * sizeof(float));
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t sh = ref_source(oh, H, top, mode), sw = ref_source(ow, W, left, mode);
                if (sh < 0 || sw < 0) continue;
                for (int64_t c = 0; c < C; c++)
                    dx[((n * H + sh) * W + sw) * C + c] += g[((n * OH + oh) * OW + ow) * C + c];
            }
}

void i2i_adam_update_ref(int64_t n, float *x, float *m, float *v, const float *g, float w, float beta2,
                         float oneMinusBeta2, float bc2Sqrt, float eps, float negStep) {
    for (int64_t j = 0; j < n; j++) {
        const float gj = g[j];
        m[j] = w < 0.5f ? fmaf(w, gj - m[j], m[j]) : fmaf(w - 1.0f, gj - m[j], gj);
        v[j] = v[j] * beta2 + (oneMinusBeta2 * gj) * gj;
        x[j] = x[j] + (negStep * m[j]) / (sqrtf(v[j]) / bc2Sqrt + eps);
    }
}
