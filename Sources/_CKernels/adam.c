// Adam's element-wise update (see i2i_adam_update in _CKernels.h): AVX-512, AVX2 and plain C variants
// of the same IEEE operations in the same order, so every variant gives the same bits as the Swift
// scalar loop it replaces (and as torch.optim.Adam's single-tensor path).
// No contraction: a*b + c must stay two roundings where the formula says so.
#pragma clang fp contract(off)
#include "_CKernels.h"
#include "isa.h"
#include <math.h>
#include <stddef.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct adam_ctx adam_ctx;
typedef void (*adam_range_fn)(const adam_ctx *c, int64_t lo, int64_t hi);

struct adam_ctx {
    float *x, *m, *v;
    const float *g;
    float w, b2, omb2, bc2Sqrt, eps, negStep;
    adam_range_fn fn;
};

static inline void adam_scalar(const adam_ctx *c, int64_t j) {
    const float g = c->g[j];
    float m = c->m[j];
    m = c->w < 0.5f ? fmaf(c->w, g - m, m) : fmaf(c->w - 1.0f, g - m, g);
    c->m[j] = m;
    float vj = c->v[j] * c->b2;
    vj = vj + (c->omb2 * g) * g;
    c->v[j] = vj;
    const float denom = sqrtf(vj) / c->bc2Sqrt + c->eps;
    c->x[j] = c->x[j] + (c->negStep * m) / denom;
}

static void adam_range_portable(const adam_ctx *c, int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; j++) adam_scalar(c, j);
}

#if defined(__x86_64__)
I2I_TARGET_AVX512
static void adam_range_avx512(const adam_ctx *c, int64_t lo, int64_t hi) {
    const int low = c->w < 0.5f;
    const __m512 wv = _mm512_set1_ps(low ? c->w : c->w - 1.0f), b2 = _mm512_set1_ps(c->b2),
                 omb2 = _mm512_set1_ps(c->omb2), bc2 = _mm512_set1_ps(c->bc2Sqrt), eps = _mm512_set1_ps(c->eps),
                 neg = _mm512_set1_ps(c->negStep);
    int64_t j = lo;
    for (; j + 16 <= hi; j += 16) {
        const __m512 g = _mm512_loadu_ps(c->g + j);
        __m512 m = _mm512_loadu_ps(c->m + j);
        const __m512 d = _mm512_sub_ps(g, m);
        m = _mm512_fmadd_ps(wv, d, low ? m : g);
        _mm512_storeu_ps(c->m + j, m);
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(c->v + j), b2);
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_mul_ps(omb2, g), g));
        _mm512_storeu_ps(c->v + j, v);
        const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(v), bc2), eps);
        const __m512 x = _mm512_add_ps(_mm512_loadu_ps(c->x + j), _mm512_div_ps(_mm512_mul_ps(neg, m), denom));
        _mm512_storeu_ps(c->x + j, x);
    }
    for (; j < hi; j++) adam_scalar(c, j);
}

I2I_TARGET_AVX2
static void adam_range_avx2(const adam_ctx *c, int64_t lo, int64_t hi) {
    const int low = c->w < 0.5f;
    const __m256 wv = _mm256_set1_ps(low ? c->w : c->w - 1.0f), b2 = _mm256_set1_ps(c->b2),
                 omb2 = _mm256_set1_ps(c->omb2), bc2 = _mm256_set1_ps(c->bc2Sqrt), eps = _mm256_set1_ps(c->eps),
                 neg = _mm256_set1_ps(c->negStep);
    int64_t j = lo;
    for (; j + 8 <= hi; j += 8) {
        const __m256 g = _mm256_loadu_ps(c->g + j);
        __m256 m = _mm256_loadu_ps(c->m + j);
        const __m256 d = _mm256_sub_ps(g, m);
        m = _mm256_fmadd_ps(wv, d, low ? m : g);
        _mm256_storeu_ps(c->m + j, m);
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(c->v + j), b2);
        v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_mul_ps(omb2, g), g));
        _mm256_storeu_ps(c->v + j, v);
        const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v), bc2), eps);
        const __m256 x = _mm256_add_ps(_mm256_loadu_ps(c->x + j), _mm256_div_ps(_mm256_mul_ps(neg, m), denom));
        _mm256_storeu_ps(c->x + j, x);
    }
    for (; j < hi; j++) adam_scalar(c, j);
}
#endif

static void adam_task(void *vctx, int64_t begin, int64_t end) {
    const adam_ctx *c = vctx;
    c->fn(c, begin, end);
}

void i2i_adam_update(int64_t n, float *x, float *m, float *v, const float *g, float w, float beta2,
                     float oneMinusBeta2, float bc2Sqrt, float eps, float negStep) {
    if (n <= 0) return;
    adam_ctx c = {x, m, v, g, w, beta2, oneMinusBeta2, bc2Sqrt, eps, negStep, I2I_PICK(adam_range)};
    i2i_parallel_for(n, 1 << 14, adam_task, &c);
}
