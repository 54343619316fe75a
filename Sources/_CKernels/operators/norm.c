// Instance and batch norm kernels (see _CKernels.h, "Normalization"): statistics, the affine
// apply, and the backward pass. Each loop body is compiled for AVX-512, AVX2 and plain C (isa.h).
// Every (group, channel) reduction runs over m in order in its own double accumulator (vectors only
// span channels), so every variant and thread count gives the same bits. No contraction: a product
// and a sum round separately, as in the formulas.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "../dispatch/isa.h"
#include <stddef.h>

enum { CB = 16 };  // channels per reduction task (one AVX-512 vector of floats)
enum { AB = 64 };  // channels whose coefficients an apply task keeps on the stack

typedef struct {
    int64_t G, M, C, nb;
    const float *x, *dy, *mean, *rstd, *gamma, *beta;
    float *y, *mean_out, *rstd_out, *unbiased;
    double *sdy, *sdyx;
    float eps;
    int64_t rows_per_task, tasks_per_group;
} norm_ctx;

// MARK: - Loop bodies

/// Reduction task -> group g and channel block [c0, c0 + cw).
I2I_INLINE void channel_block(const norm_ctx *c, int64_t task, int64_t *g, int64_t *c0, int64_t *cw) {
    *g = task / c->nb;
    *c0 = (task % c->nb) * CB;
    *cw = c->C - *c0 < CB ? c->C - *c0 : CB;
}

/// Row task -> group g and rows [r0, r1) of it.
I2I_INLINE void row_block(const norm_ctx *c, int64_t task, int64_t *g, int64_t *r0, int64_t *r1) {
    *g = task / c->tasks_per_group;
    *r0 = (task % c->tasks_per_group) * c->rows_per_task;
    *r1 = *r0 + c->rows_per_task < c->M ? *r0 + c->rows_per_task : c->M;
}

#define NORM_BODIES(SFX, TGT)                                                                      \
    /* mean and variance of one 16-channel block of one group */                                   \
    TGT static void stats_##SFX(void *vc, int64_t lo, int64_t hi) {                         \
        const norm_ctx *c = vc;                                                                    \
        for (int64_t task = lo; task < hi; task++) {                                               \
            int64_t g, c0, cw;                                                                     \
            channel_block(c, task, &g, &c0, &cw);                                                  \
            const float *base = c->x + g * c->M * c->C + c0;                                       \
            double acc[CB] = {0}, mu[CB] = {0};                                                    \
            if (cw == CB) {                                                                        \
                for (int64_t m = 0; m < c->M; m++)                                                 \
                    for (int j = 0; j < CB; j++) acc[j] = acc[j] + (double)base[m * c->C + j];     \
            } else {                                                                               \
                for (int64_t m = 0; m < c->M; m++)                                                 \
                    for (int64_t j = 0; j < cw; j++) acc[j] = acc[j] + (double)base[m * c->C + j]; \
            }                                                                                      \
            for (int j = 0; j < CB; j++) { mu[j] = acc[j] / (double)c->M; acc[j] = 0; }            \
            if (cw == CB) {                                                                        \
                for (int64_t m = 0; m < c->M; m++)                                                 \
                    for (int j = 0; j < CB; j++) {                                                 \
                        const double d = (double)base[m * c->C + j] - mu[j];                       \
                        acc[j] = acc[j] + d * d;                                                   \
                    }                                                                              \
            } else {                                                                               \
                for (int64_t m = 0; m < c->M; m++)                                                 \
                    for (int64_t j = 0; j < cw; j++) {                                             \
                        const double d = (double)base[m * c->C + j] - mu[j];                       \
                        acc[j] = acc[j] + d * d;                                                   \
                    }                                                                              \
            }                                                                                      \
            for (int64_t j = 0; j < cw; j++) {                                                     \
                const double v = acc[j] / (double)c->M;                                            \
                const int64_t o = g * c->C + c0 + j;                                               \
                c->mean_out[o] = (float)mu[j];                                                     \
                c->rstd_out[o] = (float)(1.0 / __builtin_elementwise_sqrt(v + (double)c->eps));    \
                if (c->unbiased)                                                                   \
                    c->unbiased[o] = (float)(c->M > 1 ? v * (double)c->M / (double)(c->M - 1) : v); \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    /* y = x * a + b over a chunk of rows of one group, AB channels at a time */                   \
    TGT static void apply_##SFX(void *vc, int64_t lo, int64_t hi) {                         \
        const norm_ctx *c = vc;                                                                    \
        for (int64_t task = lo; task < hi; task++) {                                               \
            int64_t g, r0, r1;                                                                     \
            row_block(c, task, &g, &r0, &r1);                                                      \
            for (int64_t c0 = 0; c0 < c->C; c0 += AB) {                                            \
                const int64_t cw = c->C - c0 < AB ? c->C - c0 : AB;                                \
                float a[AB], b[AB];                                                                \
                for (int64_t j = 0; j < cw; j++) {                                                 \
                    const int64_t o = g * c->C + c0 + j;                                           \
                    const float ga = c->gamma ? c->gamma[c0 + j] : 1.0f;                           \
                    const float be = c->beta ? c->beta[c0 + j] : 0.0f;                             \
                    a[j] = c->rstd[o] * ga;                                                        \
                    b[j] = be - c->mean[o] * a[j];                                                 \
                }                                                                                  \
                for (int64_t r = r0; r < r1; r++) {                                                \
                    const float *restrict xr = c->x + (g * c->M + r) * c->C + c0;                  \
                    float *restrict yr = c->y + (g * c->M + r) * c->C + c0;                        \
                    for (int64_t j = 0; j < cw; j++) yr[j] = xr[j] * a[j] + b[j];                  \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    /* sum dy and dy * xhat per (g, c) over one 16-channel block */                                \
    TGT static void bsums_##SFX(void *vc, int64_t lo, int64_t hi) {                         \
        const norm_ctx *c = vc;                                                                    \
        for (int64_t task = lo; task < hi; task++) {                                               \
            int64_t g, c0, cw;                                                                     \
            channel_block(c, task, &g, &c0, &cw);                                                  \
            double a1[CB] = {0}, a2[CB] = {0};                                                     \
            float mu[CB] = {0}, rs[CB] = {0};                                                      \
            for (int64_t j = 0; j < cw; j++) { mu[j] = c->mean[g * c->C + c0 + j]; rs[j] = c->rstd[g * c->C + c0 + j]; } \
            if (cw == CB) {                                                                        \
                for (int64_t m = 0; m < c->M; m++) {                                               \
                    const float *px = c->x + (g * c->M + m) * c->C + c0;                           \
                    const float *pd = c->dy + (g * c->M + m) * c->C + c0;                          \
                    for (int j = 0; j < CB; j++) {                                                 \
                        const double d = (double)pd[j];                                            \
                        const float xh = (px[j] - mu[j]) * rs[j];                                  \
                        a1[j] = a1[j] + d;                                                         \
                        a2[j] = a2[j] + d * (double)xh;                                            \
                    }                                                                              \
                }                                                                                  \
            } else {                                                                               \
                for (int64_t m = 0; m < c->M; m++) {                                               \
                    const float *px = c->x + (g * c->M + m) * c->C + c0;                           \
                    const float *pd = c->dy + (g * c->M + m) * c->C + c0;                          \
                    for (int64_t j = 0; j < cw; j++) {                                             \
                        const double d = (double)pd[j];                                            \
                        const float xh = (px[j] - mu[j]) * rs[j];                                  \
                        a1[j] = a1[j] + d;                                                         \
                        a2[j] = a2[j] + d * (double)xh;                                            \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            for (int64_t j = 0; j < cw; j++) { c->sdy[g * c->C + c0 + j] = a1[j]; c->sdyx[g * c->C + c0 + j] = a2[j]; } \
        }                                                                                          \
    }                                                                                              \
    /* dx = k1 * ((dy - k2) - xhat * k3) over a chunk of rows of one group */                      \
    TGT static void bdx_##SFX(void *vc, int64_t lo, int64_t hi) {                           \
        const norm_ctx *c = vc;                                                                    \
        for (int64_t task = lo; task < hi; task++) {                                               \
            int64_t g, r0, r1;                                                                     \
            row_block(c, task, &g, &r0, &r1);                                                      \
            for (int64_t c0 = 0; c0 < c->C; c0 += AB) {                                            \
                const int64_t cw = c->C - c0 < AB ? c->C - c0 : AB;                                \
                float k1[AB], k2[AB], k3[AB], mu[AB], rs[AB];                                      \
                for (int64_t j = 0; j < cw; j++) {                                                 \
                    const int64_t o = g * c->C + c0 + j;                                           \
                    mu[j] = c->mean[o]; rs[j] = c->rstd[o];                                        \
                    k1[j] = rs[j] * (c->gamma ? c->gamma[c0 + j] : 1.0f);                          \
                    k2[j] = (float)(c->sdy[o] / (double)c->M);                                     \
                    k3[j] = (float)(c->sdyx[o] / (double)c->M);                                    \
                }                                                                                  \
                for (int64_t r = r0; r < r1; r++) {                                                \
                    const int64_t off = (g * c->M + r) * c->C + c0;                                \
                    const float *restrict xr = c->x + off, *restrict dr = c->dy + off;             \
                    float *restrict out = c->y + off;                                              \
                    for (int64_t j = 0; j < cw; j++) {                                             \
                        const float xh = (xr[j] - mu[j]) * rs[j];                                  \
                        out[j] = k1[j] * ((dr[j] - k2[j]) - xh * k3[j]);                           \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }
I2I_FOR_EACH_ISA(NORM_BODIES)

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
    i2i_parallel_for(G * c.nb, 1, I2I_PICK(stats), &c);
}

void i2i_norm_apply(int64_t G, int64_t M, int64_t C, const float *x, const float *mean, const float *rstd,
                    const float *gamma, const float *beta, float *y) {
    if (G <= 0 || M <= 0 || C <= 0) return;
    norm_ctx c = {.G = G, .M = M, .C = C, .x = x, .mean = mean, .rstd = rstd, .gamma = gamma, .beta = beta,
                  .y = y};
    set_row_tasks(&c);
    i2i_parallel_for(G * c.tasks_per_group, 1, I2I_PICK(apply), &c);
}

/// The sums of i2i_norm_backward (see _CKernels.h).
static void norm_backward_sums(int64_t G, int64_t M, int64_t C, const float *x, const float *dy, const float *mean,
                            const float *rstd, double *sdy, double *sdyx) {
    if (G <= 0 || C <= 0) return;
    norm_ctx c = {.G = G, .M = M, .C = C, .nb = (C + CB - 1) / CB, .x = x, .dy = dy, .mean = mean, .rstd = rstd,
                  .sdy = sdy, .sdyx = sdyx};
    i2i_parallel_for(G * c.nb, 1, I2I_PICK(bsums), &c);
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
        i2i_parallel_for(G * c.tasks_per_group, 1, I2I_PICK(bdx), &c);
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
