// Element-wise kernels and plain reductions (see _CKernels.h, "Element-wise"). Each loop is written
// once and compiled for AVX-512, AVX2 and plain C (isa.h); the compiler vectorizes the copies.
// Every element is computed alone from IEEE operations (+ - * /, sqrt, compare/select, integer bit
// moves), without contraction, so results do not depend on the ISA or the thread count; the sums
// have a fixed order, also ISA- and thread-independent.
//
// tanh and sigmoid evaluate exp in double with a degree-10 polynomial after reduction by ln 2
// (relative error below 3e-13, five orders under float's), so the float result is the correctly
// rounded value except near rounding ties: as accurate as libm's tanhf, and vectorizable, which
// libm calls are not.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "../dispatch/isa.h"
#include <stddef.h>
#include <string.h>

// MARK: - Scalar building blocks (inlined into every ISA copy)

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

typedef struct {
    int op;
    const float *x;
    float *y;
    float s;
} un_ctx;

// Swift's Tensor operators give the same bits: (x * s), (x + s), (s - x), (x / s), -x, x * x,
// x.squareRoot(), 1 / x.squareRoot(), |x|, sign(x) as PyTorch (0 at 0).
#define UNARY_LOOP(EXPR)                                                                           \
    for (int64_t i = lo; i < hi; i++) {                                                            \
        const float v = x[i];                                                                      \
        y[i] = (EXPR);                                                                             \
    }                                                                                              \
    break;

#define UNARY_BODY(SFX, TGT)                                                                       \
    TGT static void unary_##SFX(void *vc, int64_t lo, int64_t hi) {                               \
        const un_ctx *c = vc;                                                                      \
        const float *restrict x = c->x;                                                            \
        float *restrict y = c->y;                                                                  \
        const float s = c->s;                                                                      \
        switch (c->op) {                                                                           \
        case I2I_UNARY_SCALE: UNARY_LOOP(v * s)                                                    \
        case I2I_UNARY_ADD_SCALAR: UNARY_LOOP(v + s)                                               \
        case I2I_UNARY_SCALAR_SUB: UNARY_LOOP(s - v)                                               \
        case I2I_UNARY_DIV_SCALAR: UNARY_LOOP(v / s)                                               \
        case I2I_UNARY_NEG: UNARY_LOOP(-v)                                                         \
        case I2I_UNARY_SQUARE: UNARY_LOOP(v * v)                                                   \
        case I2I_UNARY_SQRT: UNARY_LOOP(__builtin_elementwise_sqrt(v))                             \
        case I2I_UNARY_RSQRT: UNARY_LOOP(1.0f / __builtin_elementwise_sqrt(v))                     \
        case I2I_UNARY_ABS: UNARY_LOOP(__builtin_fabsf(v))                                         \
        case I2I_UNARY_SIGN: UNARY_LOOP(v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f))                    \
        case I2I_UNARY_RELU: UNARY_LOOP(v > 0 ? v : 0.0f)                                          \
        case I2I_UNARY_LEAKY_RELU: UNARY_LOOP(v > 0.0f ? v : v * s)                                \
        case I2I_UNARY_TANH: UNARY_LOOP(tanh_one(v))                                               \
        case I2I_UNARY_SIGMOID: UNARY_LOOP(sigmoid_one(v))                                         \
        default: break;                                                                            \
        }                                                                                          \
    }
I2I_FOR_EACH_ISA(UNARY_BODY)

void i2i_unary(int op, int64_t n, const float *x, float *y, float s) {
    if (n <= 0) return;
    un_ctx c = {op, x, y, s};
    // tanh and sigmoid cost ~20x a copy per element: smaller chunks still pay for a region.
    const int64_t grain = (op == I2I_UNARY_TANH || op == I2I_UNARY_SIGMOID) ? 1 << 12 : 1 << 15;
    i2i_parallel_for(n, grain, I2I_PICK(unary), &c);
}

// MARK: - Binary

typedef struct {
    int op;
    const float *a, *b;
    int64_t sa, sb;
    float *y;
    float s;
} bin_ctx;

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

#define BINARY_BODY(SFX, TGT)                                                                      \
    TGT static void binary_##SFX(void *vc, int64_t lo, int64_t hi) {                              \
        const bin_ctx *c = vc;                                                                     \
        const float *restrict a = c->a, *restrict b = c->b;                                        \
        float *restrict y = c->y;                                                                  \
        const float s = c->s;                                                                      \
        (void)s;                                                                                   \
        if (c->sa && c->sb) { BIN_CASES(a[i], b[i]) }                                              \
        else if (c->sa) { const float bb = b[0]; BIN_CASES(a[i], bb) }                             \
        else if (c->sb) { const float aa = a[0]; BIN_CASES(aa, b[i]) }                             \
        else { const float aa = a[0], bb = b[0]; BIN_CASES(aa, bb) }                               \
    }
I2I_FOR_EACH_ISA(BINARY_BODY)

void i2i_binary(int op, int64_t n, const float *a, const float *b, float *y, float s) {
    if (n <= 0) return;
    bin_ctx c = {op, a, b, 1, 1, y, s};
    i2i_parallel_for(n, 1 << 15, I2I_PICK(binary), &c);
}

void i2i_binary_row(int op, int64_t n, const float *a, int64_t sa, const float *b, int64_t sb, float *y, float s) {
    if (n <= 0) return;
    bin_ctx c = {op, a, b, sa != 0, sb != 0, y, s};
    I2I_PICK(binary)(&c, 0, n);
}


// MARK: - Sums

enum { SUM_BLOCK = 4096, SUM_LANES = 16 };

typedef struct {
    const float *x;
    int64_t n, rows, cols;
    double *out;
} sum_ctx;

// sum_blocks: block b of x[0..<n] into out[b]; in each block lane j sums the elements i = j mod 16
// in order, then the lanes are added 0..15. colsum_blocks: 16-column block t into out[16t ..].
#define SUM_BODY(SFX, TGT)                                                                         \
    TGT static void sum_blocks_##SFX(void *vc, int64_t lo, int64_t hi) {                          \
        const sum_ctx *c = vc;                                                                     \
        for (int64_t b = lo; b < hi; b++) {                                                        \
            const int64_t start = b * SUM_BLOCK;                                                   \
            const int64_t n = c->n - start < SUM_BLOCK ? c->n - start : SUM_BLOCK;                 \
            const float *restrict x = c->x + start;                                                \
            double acc[SUM_LANES] = {0};                                                           \
            int64_t i = 0;                                                                         \
            for (; i + SUM_LANES <= n; i += SUM_LANES)                                             \
                for (int j = 0; j < SUM_LANES; j++) acc[j] = acc[j] + (double)x[i + j];            \
            for (int j = 0; i + j < n; j++) acc[j] = acc[j] + (double)x[i + j];                    \
            double sum = 0;                                                                        \
            for (int j = 0; j < SUM_LANES; j++) sum = sum + acc[j];                                \
            c->out[b] = sum;                                                                       \
        }                                                                                          \
    }                                                                                              \
    TGT static void colsum_blocks_##SFX(void *vc, int64_t lo, int64_t hi) {                       \
        const sum_ctx *c = vc;                                                                     \
        const float *restrict x = c->x;                                                            \
        const int64_t rows = c->rows, cols = c->cols;                                              \
        for (int64_t t = lo; t < hi; t++) {                                                        \
            const int64_t c0 = t * 16, cw = cols - c0 < 16 ? cols - c0 : 16;                       \
            double acc[16] = {0};                                                                  \
            if (cw == 16) {                                                                        \
                for (int64_t r = 0; r < rows; r++)                                                 \
                    for (int j = 0; j < 16; j++) acc[j] = acc[j] + (double)x[r * cols + c0 + j];   \
            } else {                                                                               \
                for (int64_t r = 0; r < rows; r++)                                                 \
                    for (int64_t j = 0; j < cw; j++) acc[j] = acc[j] + (double)x[r * cols + c0 + j]; \
            }                                                                                      \
            for (int64_t j = 0; j < cw; j++) c->out[c0 + j] = acc[j];                              \
        }                                                                                          \
    }
I2I_FOR_EACH_ISA(SUM_BODY)

double i2i_sum_f64(int64_t n, const float *x) {
    if (n <= 0) return 0;
    enum { STACK_BLOCKS = 512 };
    const int64_t nb = (n + SUM_BLOCK - 1) / SUM_BLOCK;
    double stack[STACK_BLOCKS];
    double total = 0;
    // Blocks in groups of STACK_BLOCKS (2M elements), each group in parallel, then added in order.
    for (int64_t g0 = 0; g0 < nb; g0 += STACK_BLOCKS) {
        const int64_t gb = nb - g0 < STACK_BLOCKS ? nb - g0 : STACK_BLOCKS;
        const int64_t start = g0 * SUM_BLOCK, len = n - start < gb * SUM_BLOCK ? n - start : gb * SUM_BLOCK;
        sum_ctx c = {x + start, len, 0, 0, stack};
        i2i_parallel_for(gb, 4, I2I_PICK(sum_blocks), &c);
        for (int64_t b = 0; b < gb; b++) total = total + stack[b];
    }
    return total;
}

void i2i_sum_rows_f64(int64_t rows, int64_t cols, const float *x, double *out) {
    if (cols <= 0) return;
    if (rows <= 0) { memset(out, 0, (size_t)cols * sizeof(double)); return; }
    sum_ctx c = {x, 0, rows, cols, out};
    i2i_parallel_for((cols + 15) / 16, 1, I2I_PICK(colsum_blocks), &c);
}
