// Element-wise and plain-reduction entry points (see _CKernels.h, "Element-wise"): each splits its
// range into tasks run by the ISA's element-wise kernels (microkernels/eltwise_body.h, one copy per
// ISA, picked by I2I_PICK); the sums add the blocks' partial sums in order here. Results do not depend
// on the ISA or the thread count.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "../dispatch/isa.h"
#include "../microkernels/eltwise_kernels.h"
#include <stddef.h>
#include <string.h>

// MARK: - Unary

void i2i_unary(int op, int64_t n, const float *x, float *y, float s) {
    if (n <= 0) return;
    un_ctx c = {op, x, y, s};
    // tanh and sigmoid cost ~20x a copy per element: smaller chunks still pay for a region.
    const int64_t grain = (op == I2I_UNARY_TANH || op == I2I_UNARY_SIGMOID) ? 1 << 12 : 1 << 15;
    i2i_parallel_for(n, grain, I2I_PICK(i2i_eltwise_kernels)->unary, &c);
}

// MARK: - Binary

void i2i_binary(int op, int64_t n, const float *a, const float *b, float *y, float s) {
    if (n <= 0) return;
    bin_ctx c = {op, a, b, 1, 1, y, s};
    i2i_parallel_for(n, 1 << 15, I2I_PICK(i2i_eltwise_kernels)->binary, &c);
}

void i2i_binary_row(int op, int64_t n, const float *a, int64_t sa, const float *b, int64_t sb, float *y, float s) {
    if (n <= 0) return;
    bin_ctx c = {op, a, b, sa != 0, sb != 0, y, s};
    I2I_PICK(i2i_eltwise_kernels)->binary(&c, 0, n);
}


// MARK: - Sums

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
        i2i_parallel_for(gb, 4, I2I_PICK(i2i_eltwise_kernels)->sum_blocks, &c);
        for (int64_t b = 0; b < gb; b++) total = total + stack[b];
    }
    return total;
}

void i2i_sum_rows_f64(int64_t rows, int64_t cols, const float *x, double *out) {
    if (cols <= 0) return;
    if (rows <= 0) { memset(out, 0, (size_t)cols * sizeof(double)); return; }
    sum_ctx c = {x, 0, rows, cols, out};
    i2i_parallel_for((cols + 15) / 16, 1, I2I_PICK(i2i_eltwise_kernels)->colsum_blocks, &c);
}
