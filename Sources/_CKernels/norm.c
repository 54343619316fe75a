// Normalization reductions (see i2i_norm_backward_sums in _CKernels.h): one body compiled for
// AVX-512, AVX2 and plain C, chosen once by the CPU. Each (group, channel) sum runs over m in
// order in its own double accumulator (vectors only span channels), so every variant and thread
// count gives the same bits. No contraction: the product and the sum round separately.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include <stddef.h>

typedef struct {
    int64_t G, M, C, nb;
    const float *x, *dy, *mean, *rstd;
    double *sdy, *sdyx;
} nbs_ctx;

typedef void (*nbs_fn)(const nbs_ctx *c, int64_t lo, int64_t hi);

#define NBS_BODY(SFX, TGT)                                                                          \
    TGT static void nbs_##SFX(const nbs_ctx *c, int64_t lo, int64_t hi) {                           \
        for (int64_t task = lo; task < hi; task++) {                                                \
            const int64_t g = task / c->nb, c0 = (task % c->nb) * 16;                               \
            const int64_t cw = c->C - c0 < 16 ? c->C - c0 : 16;                                     \
            double a1[16] = {0}, a2[16] = {0};                                                      \
            float mu[16] = {0}, rs[16] = {0};                                                       \
            for (int64_t j = 0; j < cw; j++) { mu[j] = c->mean[g * c->C + c0 + j]; rs[j] = c->rstd[g * c->C + c0 + j]; } \
            if (cw == 16) {                                                                         \
                for (int64_t m = 0; m < c->M; m++) {                                                \
                    const float *px = c->x + (g * c->M + m) * c->C + c0;                            \
                    const float *pd = c->dy + (g * c->M + m) * c->C + c0;                           \
                    for (int j = 0; j < 16; j++) {                                                  \
                        const double d = (double)pd[j];                                             \
                        const float xh = (px[j] - mu[j]) * rs[j];                                   \
                        a1[j] = a1[j] + d;                                                          \
                        a2[j] = a2[j] + d * (double)xh;                                             \
                    }                                                                               \
                }                                                                                   \
            } else {                                                                                \
                for (int64_t m = 0; m < c->M; m++) {                                                \
                    const float *px = c->x + (g * c->M + m) * c->C + c0;                            \
                    const float *pd = c->dy + (g * c->M + m) * c->C + c0;                           \
                    for (int64_t j = 0; j < cw; j++) {                                              \
                        const double d = (double)pd[j];                                             \
                        const float xh = (px[j] - mu[j]) * rs[j];                                   \
                        a1[j] = a1[j] + d;                                                          \
                        a2[j] = a2[j] + d * (double)xh;                                             \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
            for (int64_t j = 0; j < cw; j++) { c->sdy[g * c->C + c0 + j] = a1[j]; c->sdyx[g * c->C + c0 + j] = a2[j]; } \
        }                                                                                           \
    }

NBS_BODY(portable, )
#if defined(__x86_64__)
NBS_BODY(avx512, __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))))
NBS_BODY(avx2, __attribute__((target("avx2,fma"))))
#endif

static nbs_fn _Atomic nbs_selected;

static nbs_fn nbs_select(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
        return nbs_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return nbs_avx2;
#endif
    return nbs_portable;
}

static void nbs_task(void *vctx, int64_t begin, int64_t end) { nbs_selected(vctx, begin, end); }

void i2i_norm_backward_sums(int64_t G, int64_t M, int64_t C, const float *x, const float *dy, const float *mean,
                            const float *rstd, double *sdy, double *sdyx) {
    if (G <= 0 || C <= 0) return;
    if (!nbs_selected) nbs_selected = nbs_select();
    nbs_ctx c = {G, M, C, (C + 15) / 16, x, dy, mean, rstd, sdy, sdyx};
    i2i_parallel_for(G * c.nb, 1, nbs_task, &c);
}
