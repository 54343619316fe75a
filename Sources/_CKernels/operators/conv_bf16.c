// bf16 inference convolutions for CPUs with AVX512_BF16 (vdpbf16ps: Zen 4 and 5, Sapphire Rapids).
// Weights and activations rounded to bf16 (round to nearest even), products accumulated in fp32.
//   x: [N,H,W,C] float   w: [KH,KW,C,OC] float   packed: uint16 (bf16) as i2i_conv_bf16_pack writes
//   b: [OC] or NULL      y: [N,OH,OW,OC] float
//
// vdpbf16ps multiplies pairs along the reduction: acc[o] += a[2i]*b[2i] + a[2i+1]*b[2i+1] per 32-bit
// lane. Every path therefore packs weights as [..][K/2][NR][2] (consecutive reduction pairs (k, k+1)
// adjacent, NR output channels per block) and broadcasts one 32-bit pair of activations per step, or
// for few output channels ("dot") vectorizes the reduction itself.
//
// Three paths, chosen from the shape only (i2i_conv_bf16_layout), so the packed weights of a conv do
// not depend on the image size:
//  - Winograd (3x3, stride 1, C and OC >= 16): F(4x4,3x3) or F(2x2,3x3) (i2i_set_bf16_winograd).
//    Input and output transforms in fp32; the transformed input V and transformed weights U rounded
//    to bf16; the 36 (16) GEMMs M = V U accumulate in fp32 with vdpbf16ps.
//  - tile (other shapes, OC > 8): x rounded to bf16 once into a zero-padded copy [N][Hp][Wp][Cq]
//    (Cq = C rounded up to even, the extra channel 0), so a kernel row of an output pixel is KW*Cq
//    contiguous bf16 (KW*Cq/2 pairs): one tap per kernel row, no padding branches. MR pixels x NR
//    output channels in registers, as the fp32 tile kernel.
//  - dot (OC <= 8, e.g. the 7x7 64->3 last layer): the reduction over a kernel row in vectors of 32
//    bf16, horizontal sums at the end.
// Every output element is reduced by one thread in a fixed order: results do not depend on the
// thread count.
#include "../microkernels/conv_internal.h"
#include <stdlib.h>
#include <string.h>

// MARK: - Rounding (portable; what the pack and the oracle use)

/// float -> bf16, round to nearest even, as vcvtneps2bf16 does: denormal inputs read as (signed) zero,
/// NaN stays a (quiet) NaN.
static inline uint16_t bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// MARK: - Settings

enum { PATH_TILE = 1, PATH_DOT = 2, PATH_WINO2 = 16, PATH_WINO4 = 36 };

// The defaults, from measurements on this machine (AMD EPYC, AVX-512 + AVX512_BF16, 2 threads,
// release img2img-bench, median of 5-7; the machine is shared, so +-10%). 3x3 256->256 conv at
// 64x64, forward: fp32 (its F(4x4)) 12.0 ms; bf16 F(4x4) 4.5 ms; bf16 F(2x2) 6.2 ms; bf16 direct
// 11.4 ms. Error against the oracle (rms / rms of the output, uniform random data): direct 1e-7,
// F(2x2) ~2e-3, F(4x4) ~1.5e-2 (the transforms amplify the bf16 rounding of V and U). End to end:
// share of 8-bit output values within 3 levels of fp32 on the bundled earth-night2day model with its
// 8 samples / on a random kaiming ResNet-9 (ngf 16, 2 images 64x64), and the speedup of the
// ResNet-9 forward (ngf 64, 256x256, resnet9_fwd 0.25-0.27 s in fp32):
//   every conv bf16, F(4x4):                    99.67% / 62.1%   1.37-1.45x (0.181 s)
//   every conv bf16, F(2x2):                    99.81% / 96.7%   ~1.2x      (0.214 s)
//   every conv bf16, direct:                    99.94% / 98.1%   < 1x
//   3x3 stride-1 convs only, F(4x4):            99.69% / 62.7%   1.39-1.47x (0.178-0.187 s)
//   3x3 stride-1 convs only, F(2x2):            99.99% / 99.17%  1.26-1.27x (0.194-0.218 s)  <- default
//   3x3 stride-1 convs only, direct:           100.00% / 99.94%  < 1x
// The first conv, the downsampling convs and the last conv carry most of the error (their errors
// pass through every later layer) and ~10% of the work: they stay fp32 unless I2I_BF16_SCOPE=all.
// F(4x4) misses the bar of 99.9% within 3 levels on the bundled samples: F(2x2) by default. No
// configuration reaches the 1.6x: norms, pads and the fp32 transposed convs remain.
#define BF16_WINOGRAD_DEFAULT 2
static _Atomic int bf16_winograd = -1;
static _Atomic int bf16_scope_all = -1;
static _Atomic int conv_precision = I2I_PRECISION_FP32;

static int bf16_winograd_mode(void) {
    int m = bf16_winograd;
    if (m < 0) {
        const char *e = getenv("I2I_BF16_WINOGRAD");
        m = e ? atoi(e) : BF16_WINOGRAD_DEFAULT;
        m = m >= 4 ? 4 : (m >= 2 ? 2 : 0);
        bf16_winograd = m;
    }
    return m;
}

void i2i_set_bf16_scope(int all) { bf16_scope_all = all < 0 ? -1 : (all ? 1 : 0); }

static int scope_all(void) {
    int a = bf16_scope_all;
    if (a < 0) {
        const char *e = getenv("I2I_BF16_SCOPE");
        a = e && !strcmp(e, "all");
        bf16_scope_all = a;
    }
    return a;
}

int i2i_conv_bf16_applies(const i2i_conv_shape *s) {
    return scope_all() || (s->KH == 3 && s->KW == 3 && s->strideH == 1 && s->strideW == 1 && s->C >= 16 && s->OC >= 16);
}

void i2i_set_bf16_winograd(int mode) { bf16_winograd = mode < 0 ? -1 : (mode >= 4 ? 4 : (mode >= 2 ? 2 : 0)); }

int i2i_set_conv_precision(int p) {
    if (p != I2I_PRECISION_FP32 && p != I2I_PRECISION_BF16) return -1;
    if (p == I2I_PRECISION_BF16 && !i2i_cpu_has_avx512_bf16()) return -1;
    conv_precision = p;
    return 0;
}

int i2i_conv_precision(void) { return conv_precision; }

int i2i_conv_bf16_layout(const i2i_conv_shape *s) {
    const int wino = bf16_winograd_mode();
    if (wino && s->KH == 3 && s->KW == 3 && s->strideH == 1 && s->strideW == 1 && s->C >= 16 && s->OC >= 16)
        return wino == 4 ? PATH_WINO4 : PATH_WINO2;
    return s->OC <= 8 ? PATH_DOT : PATH_TILE;
}

// MARK: - Geometry of the packed weights

#define BF_MR 12               // pixels (or Winograd tiles) per register tile
#define BF_NV 2                // zmm accumulators per pixel
#define BF_NR (BF_NV * 16)     // output channels per block
#define BF_DOT_ACC 24          // accumulators of the dot kernel

static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t even_up(int64_t c) { return (c + 1) & ~(int64_t)1; }
static inline int64_t nblocks(const i2i_conv_shape *s) { return cdiv(s->OC, BF_NR); }
/// Winograd: channels rounded up to whole 16-float vectors (the transforms' width).
static inline int64_t wino_cp(const i2i_conv_shape *s) { return cdiv(s->C, 16) * 16; }

int64_t i2i_conv_bf16_packed_count(const i2i_conv_shape *s) {
    const int path = i2i_conv_bf16_layout(s);
    const int64_t L = (int64_t)s->KW * even_up(s->C); // bf16 per kernel row of the padded copy
    switch (path) {
    case PATH_WINO2: case PATH_WINO4: return (int64_t)path * nblocks(s) * wino_cp(s) * BF_NR;
    case PATH_DOT: return (int64_t)s->OC * s->KH * L;
    default: return nblocks(s) * s->KH * L * BF_NR;
    }
}

/// Winograd transformed weights u[P][P] = G g G^T of one (ci, oc), P = 4 or 6, in float.
static void wino_weight(int P, const float g[3][3], float u[6][6]) {
    float G[6][3];
    if (P == 4) {
        const float g2[4][3] = {{1, 0, 0}, {.5f, .5f, .5f}, {.5f, -.5f, .5f}, {0, 0, 1}};
        memcpy(G, g2, sizeof g2);
    } else {
        const float g4[6][3] = {{1.0f / 4, 0, 0},
                                {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                                {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                                {1.0f / 24, 1.0f / 12, 1.0f / 6},
                                {1.0f / 24, -1.0f / 12, 1.0f / 6},
                                {0, 0, 1}};
        memcpy(G, g4, sizeof g4);
    }
    float t[6][3];
    for (int i = 0; i < P; i++)
        for (int j = 0; j < 3; j++) t[i][j] = G[i][0] * g[0][j] + G[i][1] * g[1][j] + G[i][2] * g[2][j];
    for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++) u[i][j] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
}

typedef struct {
    const i2i_conv_shape *s;
    const float *w;
    uint16_t *packed;
    int path;
} pack_ctx;

static void pack_task(void *vctx, int64_t begin, int64_t end) {
    const pack_ctx *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t Cq = even_up(s->C), L = (int64_t)s->KW * Cq, nob = nblocks(s);
    if (c->path == PATH_WINO2 || c->path == PATH_WINO4) {
        // [xi][ob][Cp/2][NR][2]; tasks over input channels ci.
        const int P = c->path == PATH_WINO4 ? 6 : 4;
        const int64_t Cp = wino_cp(s);
        for (int64_t ci = begin; ci < end; ci++)
            for (int64_t oc = 0; oc < s->OC; oc++) {
                float g[3][3], u[6][6];
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) g[kh][kw] = c->w[((kh * 3 + kw) * (int64_t)s->C + ci) * s->OC + oc];
                wino_weight(P, g, u);
                const int64_t ob = oc / BF_NR, r = oc % BF_NR;
                for (int xi = 0; xi < P * P; xi++)
                    c->packed[(((xi * nob + ob) * (Cp / 2) + ci / 2) * BF_NR + r) * 2 + (ci & 1)] = bf16_round(u[xi / P][xi % P]);
            }
    } else if (c->path == PATH_DOT) {
        // [OC][KH][L], L = KW*Cq; tasks over output channels.
        for (int64_t oc = begin; oc < end; oc++)
            for (int64_t kh = 0; kh < s->KH; kh++)
                for (int64_t k = 0; k < L; k++) {
                    const int64_t kw = k / Cq, ci = k % Cq;
                    c->packed[(oc * s->KH + kh) * L + k] =
                        ci < s->C ? bf16_round(c->w[((kh * s->KW + kw) * s->C + ci) * s->OC + oc]) : 0;
                }
    } else {
        // [OC/NR][KH][L/2][NR][2]; tasks over (block, kernel row).
        for (int64_t i = begin; i < end; i++) {
            const int64_t ob = i / s->KH, kh = i % s->KH;
            uint16_t *dst = c->packed + i * L * BF_NR;
            for (int64_t k = 0; k < L; k++) {
                const int64_t kw = k / Cq, ci = k % Cq;
                for (int64_t r = 0; r < BF_NR; r++) {
                    const int64_t oc = ob * BF_NR + r;
                    dst[((k / 2) * BF_NR + r) * 2 + (k & 1)] =
                        (ci < s->C && oc < s->OC) ? bf16_round(c->w[((kh * s->KW + kw) * s->C + ci) * s->OC + oc]) : 0;
                }
            }
        }
    }
}

void i2i_conv_bf16_pack(const i2i_conv_shape *s, const float *w, uint16_t *packed) {
    pack_ctx c = {s, w, packed, i2i_conv_bf16_layout(s)};
    memset(packed, 0, sizeof(uint16_t) * (size_t)i2i_conv_bf16_packed_count(s));
    const int64_t tasks = (c.path == PATH_WINO2 || c.path == PATH_WINO4) ? s->C
                          : c.path == PATH_DOT                           ? s->OC
                                                                         : nblocks(s) * s->KH;
    i2i_parallel_for(tasks, 1, pack_task, &c);
}

// MARK: - Reference

void i2i_conv2d_forward_bf16_ref(const i2i_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
    // The fp32 oracle on x and w rounded to bf16: products of the rounded values summed in double.
    const int64_t nx = (int64_t)s->N * s->H * s->W * s->C, nw = (int64_t)s->KH * s->KW * s->C * s->OC;
    float *xr = malloc(sizeof(float) * (size_t)(nx > 0 ? nx : 1)), *wr = malloc(sizeof(float) * (size_t)(nw > 0 ? nw : 1));
    for (int64_t i = 0; i < nx; i++) xr[i] = bf16_value(bf16_round(x[i]));
    for (int64_t i = 0; i < nw; i++) wr[i] = bf16_value(bf16_round(w[i]));
    i2i_conv2d_forward_ref(s, xr, wr, b, y);
    free(xr); free(wr);
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int i2i_cpu_has_avx512_bf16(void) {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma")))
        return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1; // CPUID.(EAX=7,ECX=1):EAX[5] = AVX512_BF16
}

#define TGT __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")))
#define ALWAYS __attribute__((always_inline))
#define UNROLL _Pragma("unroll")
typedef __m512 VT;

// MARK: - Microkernels

/// out[p][0:nvalid] = bias + sum over taps t, pairs k < tapK[t] of ptr[t][p][k] . wb[tapW[t] + k*2*NR ..]
/// (each term a pair product, vdpbf16ps), BF_MR pixels x BF_NR channels. out[p] == NULL: not stored.
static inline ALWAYS TGT void bf16_tile_kernel(int ntaps, const int *tapK, const int64_t *tapW,
                                               const uint32_t *const *ptr, const uint16_t *wb, const float *bias,
                                               float *const *out, int nvalid) {
    VT acc[BF_MR][BF_NV];
    UNROLL for (int v = 0; v < BF_NV; v++) {
        VT b0 = bias ? _mm512_loadu_ps(bias + v * 16) : _mm512_setzero_ps();
        UNROLL for (int p = 0; p < BF_MR; p++) acc[p][v] = b0;
    }
    for (int t = 0; t < ntaps; t++) {
        const uint32_t *a[BF_MR];
        UNROLL for (int p = 0; p < BF_MR; p++) a[p] = ptr[t * BF_MR + p];
        const uint16_t *wk = wb + tapW[t];
        const int K = tapK[t];
        for (int k = 0; k < K; k++, wk += 2 * BF_NR) {
            __m512bh wv[BF_NV];
            UNROLL for (int v = 0; v < BF_NV; v++) wv[v] = (__m512bh)_mm512_loadu_si512(wk + v * 32);
            UNROLL for (int p = 0; p < BF_MR; p++) {
                __m512bh xb = (__m512bh)_mm512_set1_epi32((int)a[p][k]);
                UNROLL for (int v = 0; v < BF_NV; v++) acc[p][v] = _mm512_dpbf16_ps(acc[p][v], xb, wv[v]);
            }
        }
    }
    if (nvalid == BF_NR) {
        UNROLL for (int p = 0; p < BF_MR; p++)
            if (out[p]) UNROLL for (int v = 0; v < BF_NV; v++) _mm512_storeu_ps(out[p] + v * 16, acc[p][v]);
    } else {
        UNROLL for (int p = 0; p < BF_MR; p++) {
            if (!out[p]) continue;
            UNROLL for (int v = 0; v < BF_NV; v++) {
                int n = nvalid - v * 16;
                if (n <= 0) break;
                _mm512_mask_storeu_ps(out[p] + v * 16, (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1u), acc[p][v]);
            }
        }
    }
}

/// out[p][o] = bias[o] + sum over kernel rows kh, k < L of row[p][kh*rowStride + k] * w[(o*KH + kh)*L + k],
/// o < NO, MRD pixels; the reduction in vectors of 32 bf16.
static inline ALWAYS TGT void bf16_dot_kernel(int NO, int MRD, int KH, int64_t L, int64_t rowStride,
                                              const uint16_t *const *row, const uint16_t *w, const float *bias,
                                              float *const *out) {
    VT acc[16][8];
    UNROLL for (int p = 0; p < MRD; p++) UNROLL for (int o = 0; o < NO; o++) acc[p][o] = _mm512_setzero_ps();
    for (int kh = 0; kh < KH; kh++) {
        const uint16_t *wo[8];
        UNROLL for (int o = 0; o < NO; o++) wo[o] = w + ((int64_t)o * KH + kh) * L;
        const uint16_t *a[16];
        UNROLL for (int p = 0; p < MRD; p++) a[p] = row[p] + kh * rowStride;
        for (int64_t k = 0; k < L; k += 32) {
            const __mmask32 m = L - k >= 32 ? 0xffffffffu : (__mmask32)((1u << (L - k)) - 1u);
            __m512bh wv[8];
            UNROLL for (int o = 0; o < NO; o++) wv[o] = (__m512bh)_mm512_maskz_loadu_epi16(m, wo[o] + k);
            UNROLL for (int p = 0; p < MRD; p++) {
                __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, a[p] + k);
                UNROLL for (int o = 0; o < NO; o++) acc[p][o] = _mm512_dpbf16_ps(acc[p][o], xv, wv[o]);
            }
        }
    }
    UNROLL for (int p = 0; p < MRD; p++) {
        if (!out[p]) continue;
        UNROLL for (int o = 0; o < NO; o++) out[p][o] = _mm512_reduce_add_ps(acc[p][o]) + (bias ? bias[o] : 0.0f);
    }
}

#define DOT_MRD(no) ((BF_DOT_ACC / (no)) > 16 ? 16 : (BF_DOT_ACC / (no)))

// MARK: - Direct (tile and dot)

typedef struct {
    const i2i_conv_shape *s;
    const float *x;
    uint16_t *xp;        // [N][Hp][Wp][Cq] bf16, zero padded
    const uint16_t *wp;  // packed weights
    const float *b, *bp; // bias; padded to whole blocks (tile)
    float *y;
    const uint16_t *zero;
    int64_t Hp, Wp, Cq, L, P, tiles;
    int o0, no, mr;      // dot: output channels of this pass, pixels per tile
} direct_ctx;

/// One row of the padded bf16 copy: rows r = n*Hp + hp.
static TGT void pad_convert_task(void *vctx, int64_t begin, int64_t end) {
    direct_ctx *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t Cq = c->Cq, rowLen = c->Wp * Cq;
    for (int64_t r = begin; r < end; r++) {
        const int64_t n = r / c->Hp, ih = r % c->Hp - s->padT;
        uint16_t *dst = c->xp + r * rowLen;
        if (ih < 0 || ih >= s->H) { memset(dst, 0, sizeof(uint16_t) * (size_t)rowLen); continue; }
        memset(dst, 0, sizeof(uint16_t) * (size_t)(s->padL * Cq));
        memset(dst + (s->padL + s->W) * Cq, 0, sizeof(uint16_t) * (size_t)(s->padR * Cq));
        const float *src = c->x + (n * s->H + ih) * s->W * s->C;
        if (Cq == s->C) { // the row is W*C contiguous floats
            const int64_t len = (int64_t)s->W * s->C;
            uint16_t *d = dst + s->padL * Cq;
            int64_t k = 0;
            for (; k + 16 <= len; k += 16)
                _mm256_storeu_si256((__m256i *)(d + k), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + k)));
            if (k < len) {
                const __mmask16 m = (__mmask16)((1u << (len - k)) - 1u);
                _mm256_mask_storeu_epi16(d + k, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + k)));
            }
        } else {
            for (int64_t iw = 0; iw < s->W; iw++) {
                const float *sp = src + iw * s->C;
                uint16_t *d = dst + (s->padL + iw) * Cq;
                for (int64_t k = 0; k < Cq; k += 16) {
                    const int64_t nin = s->C - k < 16 ? s->C - k : 16, nout = Cq - k < 16 ? Cq - k : 16;
                    const __mmask16 mi = (__mmask16)((1u << nin) - 1u), mo = (__mmask16)((1u << nout) - 1u);
                    _mm256_mask_storeu_epi16(d + k, mo, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mi, sp + k)));
                }
            }
        }
    }
}

/// The padded copy's offset of output pixel q's window (kernel row 0), or -1 past the end.
static inline int64_t window(const direct_ctx *c, int64_t q) {
    if (q >= c->P) return -1;
    const i2i_conv_shape *s = c->s;
    const int64_t ow = q % s->OW, r = q / s->OW, oh = r % s->OH, n = r / s->OH;
    return ((n * c->Hp + oh * s->strideH) * c->Wp + ow * s->strideW) * c->Cq;
}

static TGT void tile_task(void *vctx, int64_t begin, int64_t end) {
    direct_ctx *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int KH = s->KH;
    const int64_t L2 = c->L / 2, rowStride = c->Wp * c->Cq, nob = nblocks(s);
    const uint32_t **ptr = malloc(sizeof(*ptr) * (size_t)KH * BF_MR);
    int *tapK = malloc(sizeof(int) * (size_t)KH);
    int64_t *tapW = malloc(sizeof(int64_t) * (size_t)KH);
    for (int kh = 0; kh < KH; kh++) { tapK[kh] = (int)L2; tapW[kh] = kh * L2 * 2 * BF_NR; }
    for (int64_t tile = begin; tile < end; tile++) {
        const int64_t first = tile * BF_MR;
        int64_t off[BF_MR];
        for (int p = 0; p < BF_MR; p++) {
            off[p] = window(c, first + p);
            for (int kh = 0; kh < KH; kh++)
                ptr[kh * BF_MR + p] = (const uint32_t *)(off[p] >= 0 ? c->xp + off[p] + kh * rowStride : c->zero);
        }
        for (int64_t ob = 0; ob < nob; ob++) {
            float *out[BF_MR];
            for (int p = 0; p < BF_MR; p++) out[p] = off[p] >= 0 ? c->y + (first + p) * s->OC + ob * BF_NR : NULL;
            const int nvalid = s->OC - ob * BF_NR < BF_NR ? (int)(s->OC - ob * BF_NR) : BF_NR;
            bf16_tile_kernel(KH, tapK, tapW, ptr, c->wp + ob * KH * L2 * 2 * BF_NR, c->bp + ob * BF_NR, out, nvalid);
        }
    }
    free(ptr); free(tapK); free(tapW);
}

static TGT void dot_task(void *vctx, int64_t begin, int64_t end) {
    direct_ctx *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t rowStride = c->Wp * c->Cq;
    const uint16_t *w = c->wp + (int64_t)c->o0 * s->KH * c->L;
    const float *bias = c->b ? c->b + c->o0 : NULL;
    for (int64_t tile = begin; tile < end; tile++) {
        const int64_t first = tile * c->mr;
        const uint16_t *row[16];
        float *out[16];
        const int64_t off0 = window(c, first); // pixels past the end read the first one's window, unstored
        for (int p = 0; p < c->mr; p++) {
            const int64_t off = window(c, first + p);
            row[p] = c->xp + (off >= 0 ? off : off0);
            out[p] = off >= 0 ? c->y + (first + p) * s->OC + c->o0 : NULL;
        }
        switch (c->no) {
        case 1: bf16_dot_kernel(1, DOT_MRD(1), s->KH, c->L, rowStride, row, w, bias, out); break;
        case 2: bf16_dot_kernel(2, DOT_MRD(2), s->KH, c->L, rowStride, row, w, bias, out); break;
        case 3: bf16_dot_kernel(3, DOT_MRD(3), s->KH, c->L, rowStride, row, w, bias, out); break;
        default: bf16_dot_kernel(4, DOT_MRD(4), s->KH, c->L, rowStride, row, w, bias, out); break;
        }
    }
}

static void bf16_direct(const i2i_conv_shape *s, const float *x, const uint16_t *packed, const float *b, float *y,
                        int path) {
    direct_ctx c = {0};
    c.s = s; c.x = x; c.wp = packed; c.b = b; c.y = y;
    c.Hp = s->H + s->padT + s->padB;
    c.Wp = s->W + s->padL + s->padR;
    c.Cq = even_up(s->C);
    c.L = (int64_t)s->KW * c.Cq;
    c.P = (int64_t)s->N * s->OH * s->OW;
    const int64_t xpCount = (int64_t)s->N * c.Hp * c.Wp * c.Cq;
    c.xp = i2i_ws_alloc(sizeof(uint16_t) * (size_t)(xpCount + 64));
    uint16_t *zero = calloc((size_t)c.L + 64, sizeof(uint16_t));
    c.zero = zero;
    i2i_parallel_for((int64_t)s->N * c.Hp, 1, pad_convert_task, &c);
    if (path == PATH_DOT) {
        for (c.o0 = 0; c.o0 < s->OC; c.o0 += 4) {
            c.no = s->OC - c.o0 < 4 ? s->OC - c.o0 : 4;
            c.mr = DOT_MRD(c.no);
            c.tiles = cdiv(c.P, c.mr);
            i2i_parallel_for(c.tiles, 1, dot_task, &c);
        }
    } else {
        const int64_t OCp = nblocks(s) * BF_NR;
        float *bp = i2i_ws_alloc(sizeof(float) * (size_t)OCp);
        for (int64_t o = 0; o < OCp; o++) bp[o] = (b && o < s->OC) ? b[o] : 0.0f;
        c.bp = bp;
        c.tiles = cdiv(c.P, BF_MR);
        i2i_parallel_for(c.tiles, 1, tile_task, &c);
        i2i_ws_free(bp);
    }
    i2i_ws_free(c.xp);
    free(zero);
}

// MARK: - Winograd

// As the fp32 kernels (conv_body.h): per block of TB tiles, the input transform (fp32, vectors over C)
// into V [P*P][TB][Cp] (rounded to bf16), the P*P GEMMs M[xi] = V[xi] U[xi] (fp32 accumulators), the
// output transform (fp32) with the bias. F(2x2): P = 4, F(4x4): P = 6.
//   F(2x2): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   A^T = [1 1 1 0; 0 1 -1 -1]
//   F(4x4): B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//           A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]

typedef struct {
    const i2i_conv_shape *s;
    const float *x, *b;
    const uint16_t *U;   // [P*P][nob][Cp/2][NR][2]
    float *y;
    int P, m;            // transform size, output tile size (P - 2)
    int64_t TH, TW, T, TB, Cp, OCp, nob;
} wino_ctx;

#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VBCAST(x) _mm512_set1_ps(x)
#include "../microkernels/conv_winograd_transforms.h" // the fp32 kernels' transforms: WINO2_*, WINO4_BT, WINO6_AT
#define BT4(d, t) WINO2_BT(d[0], d[1], d[2], d[3], t[0], t[1], t[2], t[3])
#define AT4(m, o) WINO2_AT(m[0], m[1], m[2], m[3], o[0], o[1])

/// Input transform of one tile into V (bf16), P = 4 or 6 (a constant after inlining).
static inline ALWAYS TGT void wino_input(const wino_ctx *c, int P, const float *const *src, uint16_t *V, int t) {
    const i2i_conv_shape *s = c->s;
    const int64_t TB = c->TB, Cp = c->Cp;
    for (int64_t k = 0; k < Cp; k += 16) {
        const int64_t rem = s->C - k;
        const __mmask16 m = rem >= 16 ? 0xffff : (__mmask16)((1u << rem) - 1u);
        VT tt[6][6];
        UNROLL for (int j = 0; j < P; j++) {
            VT d[6], o[6];
            UNROLL for (int i = 0; i < P; i++) d[i] = _mm512_maskz_loadu_ps(m, src[i * P + j] + k);
            if (P == 6) WINO4_BT(d, o); else BT4(d, o);
            UNROLL for (int i = 0; i < P; i++) tt[i][j] = o[i];
        }
        UNROLL for (int i = 0; i < P; i++) {
            VT o[6];
            if (P == 6) WINO4_BT(tt[i], o); else BT4(tt[i], o);
            UNROLL for (int j = 0; j < P; j++)
                _mm256_storeu_si256((__m256i *)(V + ((int64_t)(i * P + j) * TB + t) * Cp + k),
                                    (__m256i)_mm512_cvtneps_pbh(o[j]));
        }
    }
}

/// Output transform of one tile from M (fp32), bias added.
static inline ALWAYS TGT void wino_output(const wino_ctx *c, int P, const float *M, const float *bp, int t,
                                          int64_t n, int oh0, int ow0) {
    const i2i_conv_shape *s = c->s;
    const int mo = P - 2;
    const int64_t TB = c->TB, OCp = c->OCp;
    for (int64_t k = 0; k < s->OC; k += 16) {
        VT q[4][6];
        UNROLL for (int j = 0; j < P; j++) {
            VT mm[6], o[5];
            UNROLL for (int i = 0; i < P; i++) mm[i] = _mm512_loadu_ps(M + ((int64_t)(i * P + j) * TB + t) * OCp + k);
            if (P == 6) WINO6_AT(4, mm, o); else AT4(mm, o);
            UNROLL for (int i = 0; i < mo; i++) q[i][j] = o[i];
        }
        const VT bias = _mm512_loadu_ps(bp + k);
        const int64_t nv = s->OC - k < 16 ? s->OC - k : 16;
        const __mmask16 msk = nv == 16 ? 0xffff : (__mmask16)((1u << nv) - 1u);
        UNROLL for (int i = 0; i < mo; i++) {
            if (oh0 + i >= s->OH) break;
            VT o[5];
            if (P == 6) WINO6_AT(4, q[i], o); else AT4(q[i], o);
            UNROLL for (int j = 0; j < mo; j++) {
                if (ow0 + j >= s->OW) break;
                _mm512_mask_storeu_ps(c->y + ((n * s->OH + oh0 + i) * s->OW + ow0 + j) * s->OC + k, msk, o[j] + bias);
            }
        }
    }
}

static inline ALWAYS TGT void wino_block_task(wino_ctx *c, int P, int64_t begin, int64_t end, const float *bp) {
    const i2i_conv_shape *s = c->s;
    const int PP = P * P, mo = P - 2;
    const int64_t Cp = c->Cp, OCp = c->OCp, TB = c->TB, nob = c->nob;
    uint16_t *V = i2i_ws_alloc(sizeof(uint16_t) * (size_t)(PP * TB * Cp));
    float *M = i2i_ws_alloc(sizeof(float) * (size_t)(PP * TB * OCp));
    float *zero = calloc((size_t)Cp + 64, sizeof(float));
    for (int64_t blk = begin; blk < end; blk++) {
        const int64_t t0 = blk * TB;
        const int nt = c->T - t0 < TB ? (int)(c->T - t0) : (int)TB;
        for (int t = 0; t < nt; t++) {
            const int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            const float *src[36];
            const int ih0 = (int)(th * mo) - s->padT, iw0 = (int)(tw * mo) - s->padL;
            for (int i = 0; i < P; i++)
                for (int j = 0; j < P; j++) {
                    const int ih = ih0 + i, iw = iw0 + j;
                    src[i * P + j] = (ih >= 0 && ih < s->H && iw >= 0 && iw < s->W)
                                         ? c->x + ((n * s->H + ih) * s->W + iw) * s->C
                                         : zero;
                }
            wino_input(c, P, src, V, t);
        }
        const int tapK = (int)(Cp / 2);
        const int64_t tapW = 0;
        for (int xi = 0; xi < PP; xi++) {
            for (int64_t ob = 0; ob < nob; ob++) {
                const uint16_t *Ub = c->U + ((int64_t)xi * nob + ob) * Cp * BF_NR;
                for (int m0 = 0; m0 < nt; m0 += BF_MR) {
                    const uint32_t *ptr[BF_MR];
                    float *out[BF_MR];
                    for (int p = 0; p < BF_MR; p++) {
                        const int t = m0 + p;
                        ptr[p] = (const uint32_t *)(t < nt ? V + ((int64_t)xi * TB + t) * Cp : (const uint16_t *)zero);
                        out[p] = t < nt ? M + ((int64_t)xi * TB + t) * OCp + ob * BF_NR : NULL;
                    }
                    bf16_tile_kernel(1, &tapK, &tapW, ptr, Ub, NULL, out, BF_NR);
                }
            }
        }
        for (int t = 0; t < nt; t++) {
            const int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            wino_output(c, P, M, bp, t, n, (int)th * mo, (int)tw * mo);
        }
    }
    i2i_ws_free(V); i2i_ws_free(M); free(zero);
}

typedef struct { wino_ctx *c; const float *bp; } wino_task_arg;

static TGT void wino4_task(void *v, int64_t begin, int64_t end) {
    wino_task_arg *a = v;
    wino_block_task(a->c, 4, begin, end, a->bp);
}
static TGT void wino6_task(void *v, int64_t begin, int64_t end) {
    wino_task_arg *a = v;
    wino_block_task(a->c, 6, begin, end, a->bp);
}

/// Tiles per block: ~TB_TARGET, the block count rounded up to a multiple of the threads so that they
/// get equal shares (256 tiles of a 64x64 F(4x4) conv on 2 threads: 6 blocks of 43, not 5 of 48 and
/// one of 16). Results do not depend on it (each tile is computed alone).
#define TB_TARGET 48

static void bf16_winograd_fwd(const i2i_conv_shape *s, const float *x, const uint16_t *U, const float *b, float *y, int P) {
    wino_ctx c = {0};
    c.s = s; c.x = x; c.U = U; c.b = b; c.y = y; c.P = P; c.m = P - 2;
    c.TH = cdiv(s->OH, c.m); c.TW = cdiv(s->OW, c.m);
    c.T = (int64_t)s->N * c.TH * c.TW;
    c.nob = nblocks(s);
    c.Cp = wino_cp(s);
    c.OCp = c.nob * BF_NR;
    const int64_t threads = i2i_get_num_threads() > 0 ? i2i_get_num_threads() : 1;
    int64_t blocks = cdiv(c.T, TB_TARGET);
    blocks = cdiv(blocks, threads) * threads;
    c.TB = cdiv(c.T, blocks);
    blocks = cdiv(c.T, c.TB);
    float *bp = i2i_ws_alloc(sizeof(float) * (size_t)c.OCp);
    for (int64_t o = 0; o < c.OCp; o++) bp[o] = (b && o < s->OC) ? b[o] : 0.0f;
    wino_task_arg a = {&c, bp};
    i2i_parallel_for(blocks, 1, P == 6 ? wino6_task : wino4_task, &a);
    i2i_ws_free(bp);
}

void i2i_conv_bf16_forward(const i2i_conv_shape *s, const float *x, const uint16_t *packed, const float *b, float *y) {
    const int path = i2i_conv_bf16_layout(s);
    if (path == PATH_WINO4) bf16_winograd_fwd(s, x, packed, b, y, 6);
    else if (path == PATH_WINO2) bf16_winograd_fwd(s, x, packed, b, y, 4);
    else bf16_direct(s, x, packed, b, y, path);
}

#else // not x86-64: no bf16 kernels; i2i_set_conv_precision refuses bf16.

int i2i_cpu_has_avx512_bf16(void) { return 0; }
void i2i_conv_bf16_forward(const i2i_conv_shape *s, const float *x, const uint16_t *packed, const float *b, float *y) {
    (void)s; (void)x; (void)packed; (void)b; (void)y;
}

#endif
