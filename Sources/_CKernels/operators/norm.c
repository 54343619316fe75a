// Instance and batch norm entry points (see _CKernels.h, "Normalization"): statistics, the affine
// apply, and the backward pass, split into tasks and run by the ISA's norm kernels
// (microkernels/norm_body.h, one copy per ISA, picked by I2I_PICK). The per-channel sums of dgamma
// and dbeta add the groups in order here. No contraction: a product and a sum round separately.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "../dispatch/isa.h"
#include "../microkernels/norm_kernels.h"
#include <stddef.h>

/// Row chunks of about 16K floats, never spanning two groups.
static void set_row_tasks(norm_ctx *c) {
    const int64_t per = 16384 / (c->C > 0 ? c->C : 1);
    c->rows_per_task = per > 0 ? per : 1;
    c->tasks_per_group = (c->M + c->rows_per_task - 1) / c->rows_per_task;
}

// MARK: - Entry points

void i2i_norm_stats(int64_t G, int64_t M, int64_t C, const float *x, float eps, float *mean, float *rstd,
                    float *unbiased) {
    if (G <= 0 || C <= 0) return;
    norm_ctx c = {.G = G, .M = M, .C = C, .nb = (C + CB - 1) / CB, .x = x, .mean_out = mean, .rstd_out = rstd,
                  .unbiased = unbiased, .eps = eps};
    i2i_parallel_for(G * c.nb, 1, I2I_PICK(i2i_norm_kernels)->stats, &c);
}

void i2i_norm_apply(int64_t G, int64_t M, int64_t C, const float *x, const float *mean, const float *rstd,
                    const float *gamma, const float *beta, float *y) {
    if (G <= 0 || M <= 0 || C <= 0) return;
    norm_ctx c = {.G = G, .M = M, .C = C, .x = x, .mean = mean, .rstd = rstd, .gamma = gamma, .beta = beta,
                  .y = y};
    set_row_tasks(&c);
    i2i_parallel_for(G * c.tasks_per_group, 1, I2I_PICK(i2i_norm_kernels)->apply, &c);
}

/// The sums of i2i_norm_backward (see _CKernels.h).
static void norm_backward_sums(int64_t G, int64_t M, int64_t C, const float *x, const float *dy, const float *mean,
                            const float *rstd, double *sdy, double *sdyx) {
    if (G <= 0 || C <= 0) return;
    norm_ctx c = {.G = G, .M = M, .C = C, .nb = (C + CB - 1) / CB, .x = x, .dy = dy, .mean = mean, .rstd = rstd,
                  .sdy = sdy, .sdyx = sdyx};
    i2i_parallel_for(G * c.nb, 1, I2I_PICK(i2i_norm_kernels)->bsums, &c);
}

void i2i_norm_backward(int64_t G, int64_t M, int64_t C, const float *x, const float *dy, const float *mean,
                       const float *rstd, const float *gamma, float *dx, float *dgamma, float *dbeta,
                       double *scratch) {
    if (G <= 0 || C <= 0) return;
    double *sdy = scratch, *sdyx = scratch + G * C;
    norm_backward_sums(G, M, C, x, dy, mean, rstd, sdy, sdyx);
    if (M > 0) {
        norm_ctx c = {.G = G, .M = M, .C = C, .x = x, .dy = dy, .mean = mean, .rstd = rstd, .gamma = gamma,
                      .y = dx, .sdy = sdy, .sdyx = sdyx};
        set_row_tasks(&c);
        i2i_parallel_for(G * c.tasks_per_group, 1, I2I_PICK(i2i_norm_kernels)->bdx, &c);
    }
    if (dgamma || dbeta) {
        for (int64_t ch = 0; ch < C; ch++) {
            double s1 = 0, s2 = 0;
            for (int64_t g = 0; g < G; g++) { s1 = s1 + sdyx[g * C + ch]; s2 = s2 + sdy[g * C + ch]; }
            if (dgamma) dgamma[ch] = (float)s1;
            if (dbeta) dbeta[ch] = (float)s2;
        }
    }
}
