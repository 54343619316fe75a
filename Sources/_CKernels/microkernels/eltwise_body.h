// Element-wise kernels and plain reductions of one instruction set (see _CKernels.h, "Element-wise"),
// written once. Included by x86_avx512/eltwise_avx512.c, x86_avx2/eltwise_avx2.c and
// portable/eltwise_portable.c, which define first
//   SFX(name)   name with the ISA suffix (unary -> unary_avx512)
//   TGT         the function attribute that enables the ISA (empty for portable)
// The compiler vectorizes the loops for that ISA. Every element is computed alone from IEEE
// operations (+ - * /, sqrt, compare/select, integer bit moves), without contraction, so results do
// not depend on the ISA or the thread count; the sums have a fixed order, also ISA- and
// thread-independent.
//
// tanh and sigmoid evaluate exp in double with a degree-10 polynomial after reduction by ln 2
// (relative error below 3e-13, five orders under float's), so the float result is the correctly
// rounded value except near rounding ties: as accurate as libm's tanhf, and vectorizable, which
// libm calls are not.
#pragma clang fp contract(off)
#include "eltwise_kernels.h"
#include "../dispatch/isa.h"
#include <stddef.h>
#include <string.h>

// MARK: - Scalar building blocks (inlined into every kernel)

/// e^y for y in [-300, 0] (callers clamp): y = n ln2 + r, |r| <= ln2/2, e^r by Taylor to r^10
/// (relative error < 3e-13).
I2I_INLINE double exp_nonpositive(double y) {
    const double k = y * 1.4426950408889634 + 0x1.8p52; // n in the low mantissa bits (round to even)
    const double n = k - 0x1.8p52;
    const double r = (y - n * 0.6931471803691238) - n * 1.9082149292705877e-10;
    double p = 1.0 / 3628800;
    p = p * r + 1.0 / 362880;
    p = p * r + 1.0 / 40320;
    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;
    p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t kb;
    memcpy(&kb, &k, 8);
    const uint64_t sb = (kb - 0x4338000000000000ull + 1023ull) << 52; // 2^n
    double s;
    memcpy(&s, &sb, 8);
    return p * s;
}

I2I_INLINE float tanh_one(float xf) {
    const double v = xf;
    double a = __builtin_fabs(v);
    a = a > 20.0 ? 20.0 : a; // tanh(20) rounds to 1 in float; NaN stays NaN
    const double e = exp_nonpositive(-2.0 * a);
    const double big = (1.0 - e) / (1.0 + e);
    const double a2 = a * a; // below 1/16 the series (error < 1e-14 relative) avoids 1 - e cancelling
    const double small = a + a * a2 * (-1.0 / 3 + a2 * (2.0 / 15 + a2 * (-17.0 / 315 + a2 * (62.0 / 2835))));
    const double t = a < 0.0625 ? small : big;
    return (float)__builtin_copysign(t, v); // keeps tanh(-0) = -0
}

I2I_INLINE float sigmoid_one(float xf) {
    const double v = xf;
    double a = v < 0 ? -v : v;
    a = a > 120.0 ? 120.0 : a; // sigmoid(-120) rounds to 0 in float
    const double e = exp_nonpositive(-a);
    const double s = v >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    return (float)s;
}

// MARK: - Unary

// Swift's Tensor operators give the same bits: (x * s), (x + s), (s - x), (x / s), -x, x * x,
// x.squareRoot(), 1 / x.squareRoot(), |x|, sign(x) as PyTorch (0 at 0).
#define UNARY_LOOP(EXPR)                                                                           \
    for (int64_t i = lo; i < hi; i++) {                                                            \
        const float v = x[i];                                                                      \
        y[i] = (EXPR);                                                                             \
    }                                                                                              \
    break;

static TGT void SFX(unary)(void *vc, int64_t lo, int64_t hi) {
    const un_ctx *c = vc;
    const float *restrict x = c->x;
    float *restrict y = c->y;
    const float s = c->s;
    switch (c->op) {
    case I2I_UNARY_SCALE: UNARY_LOOP(v * s)
    case I2I_UNARY_ADD_SCALAR: UNARY_LOOP(v + s)
    case I2I_UNARY_SCALAR_SUB: UNARY_LOOP(s - v)
    case I2I_UNARY_DIV_SCALAR: UNARY_LOOP(v / s)
    case I2I_UNARY_NEG: UNARY_LOOP(-v)
    case I2I_UNARY_SQUARE: UNARY_LOOP(v * v)
    case I2I_UNARY_SQRT: UNARY_LOOP(__builtin_elementwise_sqrt(v))
    case I2I_UNARY_RSQRT: UNARY_LOOP(1.0f / __builtin_elementwise_sqrt(v))
    case I2I_UNARY_ABS: UNARY_LOOP(__builtin_fabsf(v))
    case I2I_UNARY_SIGN: UNARY_LOOP(v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f))
    case I2I_UNARY_RELU: UNARY_LOOP(v > 0 ? v : 0.0f)
    case I2I_UNARY_LEAKY_RELU: UNARY_LOOP(v > 0.0f ? v : v * s)
    case I2I_UNARY_TANH: UNARY_LOOP(tanh_one(v))
    case I2I_UNARY_SIGMOID: UNARY_LOOP(sigmoid_one(v))
    default: break;
    }
}

// MARK: - Binary

// a[i * sa] op b[i * sb]: the compiler keeps one loop per (op, stride case) so each vectorizes.
#define BIN_CASES(A, B)                                                                            \
    switch (c->op) {                                                                               \
    case I2I_BINARY_ADD: BIN_LOOP(A, B, u + w)                                                     \
    case I2I_BINARY_SUB: BIN_LOOP(A, B, u - w)                                                     \
    case I2I_BINARY_MUL: BIN_LOOP(A, B, u * w)                                                     \
    case I2I_BINARY_DIV: BIN_LOOP(A, B, u / w)                                                     \
    case I2I_BINARY_MAX: BIN_LOOP(A, B, w >= u ? w : u)                                            \
    case I2I_BINARY_MIN: BIN_LOOP(A, B, w < u ? w : u)                                             \
    case I2I_BINARY_TANH_GRAD: BIN_LOOP(A, B, u * (1.0f - w * w))                                  \
    case I2I_BINARY_SIGMOID_GRAD: BIN_LOOP(A, B, u * w * (1.0f - w))                               \
    case I2I_BINARY_LEAKY_RELU_GRAD: BIN_LOOP(A, B, w > 0.0f ? u : u * s)                          \
    case I2I_BINARY_RELU_GRAD: BIN_LOOP(A, B, w > 0.0f ? u : 0.0f)                                 \
    default: break;                                                                                \
    }

#define BIN_LOOP(A, B, EXPR)                                                                       \
    for (int64_t i = lo; i < hi; i++) {                                                            \
        const float u = (A), w = (B);                                                              \
        y[i] = (EXPR);                                                                             \
    }                                                                                              \
    break;

static TGT void SFX(binary)(void *vc, int64_t lo, int64_t hi) {
    const bin_ctx *c = vc;
    const float *restrict a = c->a, *restrict b = c->b;
    float *restrict y = c->y;
    const float s = c->s;
    (void)s;
    if (c->sa && c->sb) { BIN_CASES(a[i], b[i]) }
    else if (c->sa) { const float bb = b[0]; BIN_CASES(a[i], bb) }
    else if (c->sb) { const float aa = a[0]; BIN_CASES(aa, b[i]) }
    else { const float aa = a[0], bb = b[0]; BIN_CASES(aa, bb) }
}

// MARK: - Sums

// sum_blocks: block b of x[0..<n] into out[b]; in each block lane j sums the elements i = j mod 16
// in order, then the lanes are added 0..15. colsum_blocks: 16-column block t into out[16t ..].
static TGT void SFX(sum_blocks)(void *vc, int64_t lo, int64_t hi) {
    const sum_ctx *c = vc;
    for (int64_t b = lo; b < hi; b++) {
        const int64_t start = b * SUM_BLOCK;
        const int64_t n = c->n - start < SUM_BLOCK ? c->n - start : SUM_BLOCK;
        const float *restrict x = c->x + start;
        double acc[SUM_LANES] = {0};
        int64_t i = 0;
        for (; i + SUM_LANES <= n; i += SUM_LANES)
            for (int j = 0; j < SUM_LANES; j++) acc[j] = acc[j] + (double)x[i + j];
        for (int j = 0; i + j < n; j++) acc[j] = acc[j] + (double)x[i + j];
        double sum = 0;
        for (int j = 0; j < SUM_LANES; j++) sum = sum + acc[j];
        c->out[b] = sum;
    }
}

static TGT void SFX(colsum_blocks)(void *vc, int64_t lo, int64_t hi) {
    const sum_ctx *c = vc;
    const float *restrict x = c->x;
    const int64_t rows = c->rows, cols = c->cols;
    for (int64_t t = lo; t < hi; t++) {
        const int64_t c0 = t * 16, cw = cols - c0 < 16 ? cols - c0 : 16;
        double acc[16] = {0};
        if (cw == 16) {
            for (int64_t r = 0; r < rows; r++)
                for (int j = 0; j < 16; j++) acc[j] = acc[j] + (double)x[r * cols + c0 + j];
        } else {
            for (int64_t r = 0; r < rows; r++)
                for (int64_t j = 0; j < cw; j++) acc[j] = acc[j] + (double)x[r * cols + c0 + j];
        }
        for (int64_t j = 0; j < cw; j++) c->out[c0 + j] = acc[j];
    }
}

const i2i_eltwise_kernels SFX(i2i_eltwise_kernels) = {SFX(unary), SFX(binary), SFX(sum_blocks), SFX(colsum_blocks)};
