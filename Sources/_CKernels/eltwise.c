// Element-wise activation kernels (see _CKernels.h): one loop body compiled for AVX-512, AVX2 and
// plain C (the compiler vectorizes the select), chosen once by the CPU, run in parallel chunks.
// Each element is computed alone, so results do not depend on the ISA or the thread count.
#include "_CKernels.h"
#include <stddef.h>

typedef struct {
    const float *a, *x;
    float *y;
    float slope;
} lrelu_ctx;

typedef void (*range_fn)(const lrelu_ctx *c, int64_t lo, int64_t hi);

#define LRELU_BODIES(SFX, TGT)                                                                     \
    TGT static void lrelu_fwd_##SFX(const lrelu_ctx *c, int64_t lo, int64_t hi) {                 \
        const float *restrict x = c->x; float *restrict y = c->y; const float s = c->slope;        \
        for (int64_t i = lo; i < hi; i++) y[i] = x[i] > 0.0f ? x[i] : x[i] * s;                    \
    }                                                                                              \
    TGT static void lrelu_bwd_##SFX(const lrelu_ctx *c, int64_t lo, int64_t hi) {                 \
        const float *restrict g = c->a, *restrict x = c->x; float *restrict y = c->y;              \
        const float s = c->slope;                                                                  \
        for (int64_t i = lo; i < hi; i++) y[i] = x[i] > 0.0f ? g[i] : g[i] * s;                    \
    }

LRELU_BODIES(portable, )
#if defined(__x86_64__)
LRELU_BODIES(avx512, __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))))
LRELU_BODIES(avx2, __attribute__((target("avx2,fma"))))
#endif

static range_fn _Atomic fwd_fn, bwd_fn;

static void select_fns(void) {
    range_fn f = lrelu_fwd_portable, b = lrelu_bwd_portable;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")) {
        f = lrelu_fwd_avx512; b = lrelu_bwd_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        f = lrelu_fwd_avx2; b = lrelu_bwd_avx2;
    }
#endif
    bwd_fn = b;
    fwd_fn = f;
}

static void fwd_task(void *vctx, int64_t begin, int64_t end) { fwd_fn(vctx, begin, end); }
static void bwd_task(void *vctx, int64_t begin, int64_t end) { bwd_fn(vctx, begin, end); }

void i2i_leaky_relu(int64_t n, const float *x, float *y, float slope) {
    if (n <= 0) return;
    if (!fwd_fn) select_fns();
    lrelu_ctx c = {NULL, x, y, slope};
    i2i_parallel_for(n, 1 << 15, fwd_task, &c);
}

void i2i_leaky_relu_grad(int64_t n, const float *g, const float *x, float *dx, float slope) {
    if (n <= 0) return;
    if (!fwd_fn) select_fns();
    lrelu_ctx c = {g, x, dx, slope};
    i2i_parallel_for(n, 1 << 15, bwd_task, &c);
}
