// Instance and batch norm kernels of one instruction set (see _CKernels.h, "Normalization"), written
// once: statistics, the affine apply, and the backward sums and dx. Included by
// x86_avx512/norm_avx512.c, x86_avx2/norm_avx2.c and portable/norm_portable.c, which define first
//   SFX(name)   name with the ISA suffix (stats -> stats_avx512)
//   TGT         the function attribute that enables the ISA (empty for portable)
// The compiler vectorizes the loops for that ISA. Every (group, channel) reduction runs over m in
// order in its own double accumulator (vectors only span channels), so every ISA and thread count
// gives the same bits. No contraction: a product and a sum round separately, as in the formulas.
#pragma clang fp contract(off)
#include "norm_kernels.h"
#include "../dispatch/isa.h"
#include <stddef.h>

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

/// Mean and variance of one 16-channel block of one group.
static TGT void SFX(stats)(void *vc, int64_t lo, int64_t hi) {
    const norm_ctx *c = vc;
    for (int64_t task = lo; task < hi; task++) {
        int64_t g, c0, cw;
        channel_block(c, task, &g, &c0, &cw);
        const float *base = c->x + g * c->M * c->C + c0;
        double acc[CB] = {0}, mu[CB] = {0};
        if (cw == CB) {
            for (int64_t m = 0; m < c->M; m++)
                for (int j = 0; j < CB; j++) acc[j] = acc[j] + (double)base[m * c->C + j];
        } else {
            for (int64_t m = 0; m < c->M; m++)
                for (int64_t j = 0; j < cw; j++) acc[j] = acc[j] + (double)base[m * c->C + j];
        }
        for (int j = 0; j < CB; j++) { mu[j] = acc[j] / (double)c->M; acc[j] = 0; }
        if (cw == CB) {
            for (int64_t m = 0; m < c->M; m++)
                for (int j = 0; j < CB; j++) {
                    const double d = (double)base[m * c->C + j] - mu[j];
                    acc[j] = acc[j] + d * d;
                }
        } else {
            for (int64_t m = 0; m < c->M; m++)
                for (int64_t j = 0; j < cw; j++) {
                    const double d = (double)base[m * c->C + j] - mu[j];
                    acc[j] = acc[j] + d * d;
                }
        }
        for (int64_t j = 0; j < cw; j++) {
            const double v = acc[j] / (double)c->M;
            const int64_t o = g * c->C + c0 + j;
            c->mean_out[o] = (float)mu[j];
            c->rstd_out[o] = (float)(1.0 / __builtin_elementwise_sqrt(v + (double)c->eps));
            if (c->unbiased)
                c->unbiased[o] = (float)(c->M > 1 ? v * (double)c->M / (double)(c->M - 1) : v);
        }
    }
}

/// Y = x * a + b over a chunk of rows of one group, AB channels at a time.
static TGT void SFX(apply)(void *vc, int64_t lo, int64_t hi) {
    const norm_ctx *c = vc;
    for (int64_t task = lo; task < hi; task++) {
        int64_t g, r0, r1;
        row_block(c, task, &g, &r0, &r1);
        for (int64_t c0 = 0; c0 < c->C; c0 += AB) {
            const int64_t cw = c->C - c0 < AB ? c->C - c0 : AB;
            float a[AB], b[AB];
            for (int64_t j = 0; j < cw; j++) {
                const int64_t o = g * c->C + c0 + j;
                const float ga = c->gamma ? c->gamma[c0 + j] : 1.0f;
                const float be = c->beta ? c->beta[c0 + j] : 0.0f;
                a[j] = c->rstd[o] * ga;
                b[j] = be - c->mean[o] * a[j];
            }
            for (int64_t r = r0; r < r1; r++) {
                const float *restrict xr = c->x + (g * c->M + r) * c->C + c0;
                float *restrict yr = c->y + (g * c->M + r) * c->C + c0;
                for (int64_t j = 0; j < cw; j++) yr[j] = xr[j] * a[j] + b[j];
            }
        }
    }
}

/// Sum dy and dy * xhat per (g, c) over one 16-channel block.
static TGT void SFX(bsums)(void *vc, int64_t lo, int64_t hi) {
    const norm_ctx *c = vc;
    for (int64_t task = lo; task < hi; task++) {
        int64_t g, c0, cw;
        channel_block(c, task, &g, &c0, &cw);
        double a1[CB] = {0}, a2[CB] = {0};
        float mu[CB] = {0}, rs[CB] = {0};
        for (int64_t j = 0; j < cw; j++) { mu[j] = c->mean[g * c->C + c0 + j]; rs[j] = c->rstd[g * c->C + c0 + j]; }
        if (cw == CB) {
            for (int64_t m = 0; m < c->M; m++) {
                const float *px = c->x + (g * c->M + m) * c->C + c0;
                const float *pd = c->dy + (g * c->M + m) * c->C + c0;
                for (int j = 0; j < CB; j++) {
                    const double d = (double)pd[j];
                    const float xh = (px[j] - mu[j]) * rs[j];
                    a1[j] = a1[j] + d;
                    a2[j] = a2[j] + d * (double)xh;
                }
            }
        } else {
            for (int64_t m = 0; m < c->M; m++) {
                const float *px = c->x + (g * c->M + m) * c->C + c0;
                const float *pd = c->dy + (g * c->M + m) * c->C + c0;
                for (int64_t j = 0; j < cw; j++) {
                    const double d = (double)pd[j];
                    const float xh = (px[j] - mu[j]) * rs[j];
                    a1[j] = a1[j] + d;
                    a2[j] = a2[j] + d * (double)xh;
                }
            }
        }
        for (int64_t j = 0; j < cw; j++) { c->sdy[g * c->C + c0 + j] = a1[j]; c->sdyx[g * c->C + c0 + j] = a2[j]; }
    }
}

/// Dx = k1 * ((dy - k2) - xhat * k3) over a chunk of rows of one group.
static TGT void SFX(bdx)(void *vc, int64_t lo, int64_t hi) {
    const norm_ctx *c = vc;
    for (int64_t task = lo; task < hi; task++) {
        int64_t g, r0, r1;
        row_block(c, task, &g, &r0, &r1);
        for (int64_t c0 = 0; c0 < c->C; c0 += AB) {
            const int64_t cw = c->C - c0 < AB ? c->C - c0 : AB;
            float k1[AB], k2[AB], k3[AB], mu[AB], rs[AB];
            for (int64_t j = 0; j < cw; j++) {
                const int64_t o = g * c->C + c0 + j;
                mu[j] = c->mean[o]; rs[j] = c->rstd[o];
                k1[j] = rs[j] * (c->gamma ? c->gamma[c0 + j] : 1.0f);
                k2[j] = (float)(c->sdy[o] / (double)c->M);
                k3[j] = (float)(c->sdyx[o] / (double)c->M);
            }
            for (int64_t r = r0; r < r1; r++) {
                const int64_t off = (g * c->M + r) * c->C + c0;
                const float *restrict xr = c->x + off, *restrict dr = c->dy + off;
                float *restrict out = c->y + off;
                for (int64_t j = 0; j < cw; j++) {
                    const float xh = (xr[j] - mu[j]) * rs[j];
                    out[j] = k1[j] * ((dr[j] - k2[j]) - xh * k3[j]);
                }
            }
        }
    }
}

const i2i_norm_kernels SFX(i2i_norm_kernels) = {SFX(stats), SFX(apply), SFX(bsums), SFX(bdx)};
