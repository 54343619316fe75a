// bf16 inference convolution kernels for CPUs with AVX512_BF16 (vdpbf16ps: Zen 4 and 5, Sapphire
// Rapids) and their drivers, on the weights operators/conv_bf16.c packed. One ISA only, so no body
// header: its functions carry their own TGT (AVX-512 plus avx512bf16). Nothing runs on arm64.
// Weights and activations rounded to bf16 (round to nearest even), products accumulated in fp32.
//   x: [N,H,W,C] float   w: [KH,KW,C,OC] float   packed: uint16 (bf16) as i2i_conv_bf16_pack writes
//   b: [OC] or NULL      y: [N,OH,OW,OC] float
//
// vdpbf16ps multiplies pairs along the reduction: acc[o] += a[2i]*b[2i] + a[2i+1]*b[2i+1] per 32-bit
// lane. Every path therefore packs weights as [..][K/2][NR][2] (consecutive reduction pairs (k, k+1)
// adjacent, NR output channels per block) and broadcasts one 32-bit pair of activations per step, or
// for few output channels ("dot") vectorizes the reduction itself.
//
// Three paths, chosen from the shape only (i2i_conv_bf16_layout in operators/conv_bf16.c), so the
// packed weights of a conv do not depend on the image size:
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
#include "../conv_bf16_internal.h"
#include "../../dispatch/tuning.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

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
#include "../conv_winograd_transforms.h" // the fp32 kernels' transforms: WINO2_*, WINO4_BT, WINO6_AT
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

static void bf16_winograd_fwd(const i2i_conv_shape *s, const float *x, const uint16_t *U, const float *b, float *y, int P) {
    wino_ctx c = {0};
    c.s = s; c.x = x; c.U = U; c.b = b; c.y = y; c.P = P; c.m = P - 2;
    c.TH = cdiv(s->OH, c.m); c.TW = cdiv(s->OW, c.m);
    c.T = (int64_t)s->N * c.TH * c.TW;
    c.nob = nblocks(s);
    c.Cp = wino_cp(s);
    c.OCp = c.nob * BF_NR;
    const int64_t threads = i2i_get_num_threads() > 0 ? i2i_get_num_threads() : 1;
    int64_t blocks = cdiv(c.T, I2I_BF16_WINOGRAD_TILES_PER_BLOCK);
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

void i2i_conv_bf16_forward(const i2i_conv_shape *s, const float *x, const uint16_t *packed, const float *b, float *y) {
    (void)s; (void)x; (void)packed; (void)b; (void)y;
}

#endif
