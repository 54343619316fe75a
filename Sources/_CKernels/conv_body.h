// The direct NHWC convolution kernels, written once for every instruction set.
// Included by conv_avx512.c, conv_avx2.c and conv_portable.c, which define first:
//   SFX(name)          name with the ISA suffix (conv_nhwc_fwd -> conv_nhwc_fwd_avx512)
//   TGT                the function attribute that enables the ISA (empty for portable)
//   VT, VW             the vector type and its float lanes
//   VZERO() VLOAD(p) VLOADN(p,n) VSTORE(p,v) VBCAST(x) VFMA(a,b,c)=a*b+c VHSUM(v); VT supports + and -
//   MR, NV             register tile of the channel-vectorized kernels: MR pixels x NV vectors
//   DOT_ACC            accumulators of the reduction-vectorized ("dot") kernels
//
// Shape legend:  x: [N,H,W,C]  w: [KH,KW,C,OC]  b: [OC]  y: [N,OH,OW,OC]
//
// No im2col: kernels read the input in place through per-tile pointer lists ("taps", as in XNNPACK's
// indirection buffers), a tap pointing at a zero row where it falls into padding. Weights are packed
// once per call into [OC/NR][KH][KW][C][NR] so that a tile's weight rows are contiguous (forward
// reads them in place, row stride OC, when OC is a multiple of NR), and a tap
// whose whole kernel row lies inside the image covers KW*C contiguous floats at once (this is what
// makes C = 3 first layers fast).
//
// Two kernel shapes:
//  - tile: output channels in vectors (NR = NV*VW per block), MR output pixels; per reduction step
//    NV weight loads and MR broadcasts feed MR*NV FMAs. For output channel counts > DOT_MAX_OUT.
//  - dot: the reduction dimension in vectors, a few output channels (the last layer of a generator
//    has 3, of PatchGAN 1); horizontal sums once per tile.
// Backward-input is the same tile/dot machinery over dy, one pass per stride phase of dx.
// Backward-filter copies x into a zero-padded buffer and runs a GEMM per kernel row kh over the
// pixels, (KW*C) x OC, vectorized over OC or, for small OC, over KW*C.
//
// Every output element is reduced by one thread in an order that does not depend on the thread
// count, so results are bitwise reproducible.

#include "conv_internal.h"
#include <stdlib.h>
#include <string.h>

#define ALWAYS __attribute__((always_inline))
#define UNROLL _Pragma("unroll")
#define NR (NV * VW)
// Most output channels a dot kernel handles (its accumulator arrays are sized by it); more go to
// the tile kernels.
#define DOT_MAX_OUT 8

// MARK: - Helpers

/// Workspace floats (64-byte aligned) from the cache in workspace.c; release with i2i_ws_free.
static float *SFX(alloc_floats)(int64_t n) { return i2i_ws_alloc((size_t)(n > 0 ? n : 1) * sizeof(float)); }

static inline int64_t SFX(cdiv)(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Tap lists of one tile of output pixels for the forward conv. Pixel p of the tile is output pixel
/// `first + p` (flattened over N,OH,OW); pixels past `total` read only zeros. For each kernel row kh,
/// one merged tap of K = KW*C floats when every pixel's kernel row lies inside the image width, else
/// one tap per kw of K = C floats; only kernel rows kh0 <= kh < kh1. Taps whose pointers are all
/// the zero row are dropped.
/// Writes ptr[t*mr + p], tapK[t], tapW[t] (offset of the tap in a [KH][KW][C][stride] weight block)
/// and returns the tap count.
static int SFX(forward_taps)(const i2i_conv_shape *s, const float *x, const float *zero, int64_t first,
                             int64_t total, int mr, int64_t wstride, int kh0, int kh1, const float **ptr,
                             int *tapK, int64_t *tapW) {
    int n_[64], ih0[64], iw0[64], valid[64];
    int allInside = 1;
    for (int p = 0; p < mr; p++) {
        int64_t q = first + p;
        valid[p] = q < total;
        if (!valid[p]) { n_[p] = 0; ih0[p] = -(1 << 28); iw0[p] = 0; continue; }
        int ow = (int)(q % s->OW);
        int64_t r = q / s->OW;
        int oh = (int)(r % s->OH);
        n_[p] = (int)(r / s->OH);
        ih0[p] = oh * s->strideH - s->padT;
        iw0[p] = ow * s->strideW - s->padL;
        if (iw0[p] < 0 || iw0[p] + s->KW > s->W) allInside = 0;
    }
    const int64_t rowStride = (int64_t)s->W * s->C;
    int nt = 0;
    for (int kh = kh0; kh < kh1; kh++) {
        if (allInside) {
            int any = 0;
            for (int p = 0; p < mr; p++) {
                int ih = ih0[p] + kh;
                if (valid[p] && ih >= 0 && ih < s->H) {
                    ptr[nt * mr + p] = x + ((int64_t)n_[p] * s->H + ih) * rowStride + (int64_t)iw0[p] * s->C;
                    any = 1;
                } else {
                    ptr[nt * mr + p] = zero;
                }
            }
            if (any) {
                tapK[nt] = s->KW * s->C;
                tapW[nt] = (int64_t)kh * s->KW * s->C * wstride;
                nt++;
            }
        } else {
            for (int kw = 0; kw < s->KW; kw++) {
                int any = 0;
                for (int p = 0; p < mr; p++) {
                    int ih = ih0[p] + kh, iw = iw0[p] + kw;
                    if (valid[p] && ih >= 0 && ih < s->H && iw >= 0 && iw < s->W) {
                        ptr[nt * mr + p] = x + ((int64_t)n_[p] * s->H + ih) * rowStride + (int64_t)iw * s->C;
                        any = 1;
                    } else {
                        ptr[nt * mr + p] = zero;
                    }
                }
                if (any) {
                    tapK[nt] = s->C;
                    tapW[nt] = ((int64_t)kh * s->KW + kw) * s->C * wstride;
                    nt++;
                }
            }
        }
    }
    return nt;
}

/// Stride phases of dx for backward-input: dx rows ih = rh + strideH*qh get contributions only from
/// kernel rows kh = (rh + padT) mod strideH (+ multiples of strideH); likewise columns.
typedef struct {
    int rh, rw, QH, QW;  // phase offsets and the dx rows / columns of the phase
    int64_t pixels;      // N*QH*QW
    int64_t firstTile;   // prefix sum of tiles over phases
} SFX(phase);

static int SFX(make_phases)(const i2i_conv_shape *s, int mr, SFX(phase) *ph, int64_t *totalTiles) {
    int np = 0;
    int64_t tiles = 0;
    for (int rh = 0; rh < s->strideH; rh++) {
        if (rh >= s->H) continue;
        for (int rw = 0; rw < s->strideW; rw++) {
            if (rw >= s->W) continue;
            SFX(phase) *p = &ph[np++];
            p->rh = rh; p->rw = rw;
            p->QH = (s->H - rh + s->strideH - 1) / s->strideH;
            p->QW = (s->W - rw + s->strideW - 1) / s->strideW;
            p->pixels = (int64_t)s->N * p->QH * p->QW;
            p->firstTile = tiles;
            tiles += SFX(cdiv)(p->pixels, mr);
        }
    }
    *totalTiles = tiles;
    return np;
}

/// Tap lists of one tile of dx pixels (of one phase) for backward-input: each tap is one (kh,kw)
/// of the phase, K = OC floats of dy at (oh,ow) = ((ih+padT-kh)/sH, (iw+padL-kw)/sW).
/// Also writes the dx pixel offsets of the tile (-1 past the end).
static int SFX(backward_input_taps)(const i2i_conv_shape *s, const SFX(phase) *ph, const float *dy,
                                    const float *zero, int64_t first, int mr, int64_t wstride,
                                    const float **ptr, int *tapK, int64_t *tapW, int64_t *dxOffset) {
    int n_[64], ih[64], iw[64], valid[64];
    for (int p = 0; p < mr; p++) {
        int64_t q = first + p;
        valid[p] = q < ph->pixels;
        if (!valid[p]) { dxOffset[p] = -1; n_[p] = 0; ih[p] = iw[p] = 0; continue; }
        int qw = (int)(q % ph->QW);
        int64_t r = q / ph->QW;
        int qh = (int)(r % ph->QH);
        n_[p] = (int)(r / ph->QH);
        ih[p] = ph->rh + qh * s->strideH;
        iw[p] = ph->rw + qw * s->strideW;
        dxOffset[p] = (((int64_t)n_[p] * s->H + ih[p]) * s->W + iw[p]) * s->C;
    }
    int kh0 = (ph->rh + s->padT) % s->strideH, kw0 = (ph->rw + s->padL) % s->strideW;
    int nt = 0;
    for (int kh = kh0; kh < s->KH; kh += s->strideH) {
        for (int kw = kw0; kw < s->KW; kw += s->strideW) {
            int any = 0;
            for (int p = 0; p < mr; p++) {
                int th = ih[p] + s->padT - kh, tw = iw[p] + s->padL - kw;
                int oh = th / s->strideH, ow = tw / s->strideW; // exact when th, tw >= 0
                if (valid[p] && th >= 0 && tw >= 0 && oh < s->OH && ow < s->OW) {
                    ptr[nt * mr + p] = dy + (((int64_t)n_[p] * s->OH + oh) * s->OW + ow) * s->OC;
                    any = 1;
                } else {
                    ptr[nt * mr + p] = zero;
                }
            }
            if (any) {
                tapK[nt] = s->OC;
                tapW[nt] = ((int64_t)kh * s->KW + kw) * wstride;
                nt++;
            }
        }
    }
    return nt;
}

/// Task order of the tile kernels over (weight block, pixel tile). When the packed weights of all
/// blocks fit in L2 with room to spare, bands of `bandTiles` tiles go outer and blocks inner (each
/// input band is read once while it is in cache); otherwise blocks go outer (one block's weights
/// stay in L2 while the input streams). bandTiles == tiles is the blocks-outer order.
static int64_t SFX(band_tiles)(int64_t tiles, int64_t weightBytes, int64_t inputBytesPerTile) {
    if (weightBytes > 512 * 1024) return tiles;
    int64_t bt = (192 * 1024) / (inputBytesPerTile > 0 ? inputBytesPerTile : 1);
    return bt < 1 ? 1 : (bt > tiles ? tiles : bt);
}

/// Maps task i of blocks*tiles to (block, tile) in the band order above.
static inline void SFX(band_task)(int64_t i, int64_t blocks, int64_t tiles, int64_t bandTiles, int64_t *block,
                                  int64_t *tile) {
    int64_t band = i / (blocks * bandTiles), within = i % (blocks * bandTiles);
    int64_t bt = tiles - band * bandTiles < bandTiles ? tiles - band * bandTiles : bandTiles;
    *block = within / bt;
    *tile = band * bandTiles + within % bt;
}

// MARK: - Microkernels

/// out[p][0:nvalid] = bias + sum over taps t, k < K_t of ptr[t][p][k] * wb[tapW[t] + k*NR + (0:NR)].
/// MR pixels x NR output channels in NV*MR accumulators. out[p] == NULL: pixel not stored.
/// wks: floats between the weight rows of consecutive k (NR packed; OC for weights read in place).
/// addOut (a constant at every call): start from out[p] (partial sums of earlier kernel rows)
/// instead of the bias.
static inline ALWAYS TGT void SFX(conv_tile_kernel_x)(int addOut, int64_t wks, int ntaps, const int *tapK,
                                                      const int64_t *tapW, const float *const *ptr, const float *wb,
                                                      const float *bias, float *const *out, int nvalid) {
    VT acc[MR][NV];
    if (addOut) {
        UNROLL for (int p = 0; p < MR; p++) {
            float tmp[NR] = {0};
            if (out[p]) memcpy(tmp, out[p], sizeof(float) * (size_t)nvalid);
            UNROLL for (int v = 0; v < NV; v++) acc[p][v] = VLOAD(tmp + v * VW);
        }
    } else {
        UNROLL for (int v = 0; v < NV; v++) {
            VT b0 = bias ? VLOAD(bias + v * VW) : VZERO();
            UNROLL for (int p = 0; p < MR; p++) acc[p][v] = b0;
        }
    }
    for (int t = 0; t < ntaps; t++) {
        const float *a[MR];
        UNROLL for (int p = 0; p < MR; p++) a[p] = ptr[t * MR + p];
        const float *wk = wb + tapW[t];
        const int K = tapK[t];
        for (int k = 0; k < K; k++, wk += wks) {
            VT wv[NV];
            UNROLL for (int v = 0; v < NV; v++) wv[v] = VLOAD(wk + v * VW);
            UNROLL for (int p = 0; p < MR; p++) {
                VT bx = VBCAST(a[p][k]);
                UNROLL for (int v = 0; v < NV; v++) acc[p][v] = VFMA(bx, wv[v], acc[p][v]);
            }
        }
    }
    if (nvalid == NR) {
        UNROLL for (int p = 0; p < MR; p++)
            if (out[p]) for (int v = 0; v < NV; v++) VSTORE(out[p] + v * VW, acc[p][v]);
    } else {
        UNROLL for (int p = 0; p < MR; p++) {
            if (!out[p]) continue;
            float tmp[NR];
            UNROLL for (int v = 0; v < NV; v++) VSTORE(tmp + v * VW, acc[p][v]);
            memcpy(out[p], tmp, (size_t)nvalid * sizeof(float));
        }
    }
}

#define conv_tile_kernel_(...) SFX(conv_tile_kernel_x)(0, NR, __VA_ARGS__)

/// out[p][o] = bias[o] + sum over taps, k < K_t of ptr[t][p][k] * wb[o*ostride + tapW[t] + k],
/// for o < NO (a compile-time constant after inlining), MRD pixels; reduction in vectors.
static inline ALWAYS TGT void SFX(conv_dot_kernel)(int NO, int MRD, int ntaps, const int *tapK,
                                                   const int64_t *tapW, const float *const *ptr,
                                                   const float *wb, int64_t ostride, const float *bias,
                                                   float *const *out) {
    VT acc[16][DOT_MAX_OUT];
    UNROLL for (int p = 0; p < MRD; p++)
        UNROLL for (int o = 0; o < NO; o++) acc[p][o] = VZERO();
    for (int t = 0; t < ntaps; t++) {
        const float *a[16];
        UNROLL for (int p = 0; p < MRD; p++) a[p] = ptr[t * MRD + p];
        const float *wo[DOT_MAX_OUT];
        UNROLL for (int o = 0; o < NO; o++) wo[o] = wb + o * ostride + tapW[t];
        const int K = tapK[t];
        int k = 0;
        for (; k + VW <= K; k += VW) {
            VT wv[DOT_MAX_OUT];
            UNROLL for (int o = 0; o < NO; o++) wv[o] = VLOAD(wo[o] + k);
            UNROLL for (int p = 0; p < MRD; p++) {
                VT xv = VLOAD(a[p] + k);
                UNROLL for (int o = 0; o < NO; o++) acc[p][o] = VFMA(xv, wv[o], acc[p][o]);
            }
        }
        if (k < K) {
            const int rem = K - k;
            VT wv[DOT_MAX_OUT];
            UNROLL for (int o = 0; o < NO; o++) wv[o] = VLOADN(wo[o] + k, rem);
            UNROLL for (int p = 0; p < MRD; p++) {
                VT xv = VLOADN(a[p] + k, rem);
                UNROLL for (int o = 0; o < NO; o++) acc[p][o] = VFMA(xv, wv[o], acc[p][o]);
            }
        }
    }
    UNROLL for (int p = 0; p < MRD; p++) {
        if (!out[p]) continue;
        UNROLL for (int o = 0; o < NO; o++) out[p][o] = VHSUM(acc[p][o]) + (bias ? bias[o] : 0.0f);
    }
}

/// The dot kernel for NO = 1..4 output channels, each with its own pixel count (compile-time after
/// inlining, so the accumulators stay in registers).
#define DOT_MRD(no) ((DOT_ACC / (no)) > 16 ? 16 : (DOT_ACC / (no)))
static TGT void SFX(conv_dot_kernel_any)(int NO, int ntaps, const int *tapK, const int64_t *tapW,
                                         const float *const *ptr, const float *wb, int64_t ostride,
                                         const float *bias, float *const *out) {
    switch (NO) {
    case 1: SFX(conv_dot_kernel)(1, DOT_MRD(1), ntaps, tapK, tapW, ptr, wb, ostride, bias, out); break;
    case 2: SFX(conv_dot_kernel)(2, DOT_MRD(2), ntaps, tapK, tapW, ptr, wb, ostride, bias, out); break;
    case 3: SFX(conv_dot_kernel)(3, DOT_MRD(3), ntaps, tapK, tapW, ptr, wb, ostride, bias, out); break;
    default: SFX(conv_dot_kernel)(4, DOT_MRD(4), ntaps, tapK, tapW, ptr, wb, ostride, bias, out); break;
    }
}

// MARK: - Winograd F(2x2, 3x3), stride 1

// Y = A^T [ (G g G^T) . (B^T d B) ] A per 2x2 output tile and 4x4 input tile; the 16 elementwise
// products summed over C are 16 GEMMs [tiles x C] x [C x OC], run by the tile microkernel with one
// tap of K = C. 2.25x fewer multiplies than direct 3x3. Tiles go in blocks of TB (~192, balanced
// over the threads): per transform point xi, the block's [TB][C] slice of transformed input and
// xi's transformed weights [C][OC] stay in L2 while its GEMM runs, and the transformed weights
// stream from L3 once per block. The threads split the blocks.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]

typedef struct {
    const i2i_conv_shape *s;
    const float *x, *w, *b;
    float *y;
    float *U;             // [16][OC/NR][C][NR] transformed, packed weights
    float *bp;            // bias padded to OCp
    int64_t TH, TW, T, TB, blocks, Cp, OCp, nob;
} SFX(wino_ctx);

/// The input pixels of the P x P patch of a Winograd tile of image n whose outputs start at row oh0,
/// column ow0, row-major into src[P*P]: pointers to their C channels, or `outside` where the patch
/// reaches into the padding. (Forward F(2x2) and F(4x4), and the F(2x2) backward-filter.)
static inline ALWAYS void SFX(wino_patch)(const i2i_conv_shape *s, const float *x, int64_t n, int64_t oh0, int64_t ow0,
                                   int P, const float *outside, const float **src) {
    const int ih0 = (int)oh0 - s->padT, iw0 = (int)ow0 - s->padL;
    for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++) {
            const int ih = ih0 + i, iw = iw0 + j;
            src[i * P + j] = (ih >= 0 && ih < s->H && iw >= 0 && iw < s->W) ? x + ((n * s->H + ih) * s->W + iw) * s->C
                                                                             : outside;
        }
}

static TGT void SFX(wino_weights_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(wino_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const VT half = VBCAST(0.5f);
    for (int64_t ci = begin; ci < end; ci++) {
        for (int64_t oc = 0; oc < s->OC; oc += VW) { // vectors over OC (NR is a multiple of VW)
            const int rem = s->OC - oc < VW ? (int)(s->OC - oc) : VW;
            VT g[3][3], t[4][3];
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++)
                    g[kh][kw] = VLOADN(c->w + ((kh * 3 + kw) * (int64_t)s->C + ci) * s->OC + oc, rem);
            UNROLL for (int j = 0; j < 3; j++) {
                t[0][j] = g[0][j];
                t[1][j] = half * (g[0][j] + g[1][j] + g[2][j]);
                t[2][j] = half * (g[0][j] - g[1][j] + g[2][j]);
                t[3][j] = g[2][j];
            }
            const int64_t ob = oc / NR, r = oc % NR;
            float *dst = c->U + (ob * s->C + ci) * NR + r;
            const int64_t xstride = c->nob * s->C * NR;
            UNROLL for (int i = 0; i < 4; i++) {
                VT u[4];
                u[0] = t[i][0];
                u[1] = half * (t[i][0] + t[i][1] + t[i][2]);
                u[2] = half * (t[i][0] - t[i][1] + t[i][2]);
                u[3] = t[i][2];
                UNROLL for (int j = 0; j < 4; j++) VSTORE(dst + (i * 4 + j) * xstride, u[j]); // padded lanes: 0
            }
        }
    }
}

static TGT void SFX(wino_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(wino_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t Cp = c->Cp, OCp = c->OCp, TB = c->TB;
    float *V = SFX(alloc_floats)(16 * TB * Cp);   // [16][TB][Cp]
    float *M = SFX(alloc_floats)(16 * TB * OCp);  // [16][TB][OCp]
    float *zero = calloc((size_t)Cp + 64, sizeof(float));
    for (int64_t blk = begin; blk < end; blk++) {
        const int64_t t0 = blk * TB;
        const int nt = c->T - t0 < TB ? (int)(c->T - t0) : (int)TB;
        // Input transform, vectors over C.
        for (int t = 0; t < nt; t++) {
            int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            const float *src[4][4];
            SFX(wino_patch)(s, c->x, n, th * 2, tw * 2, 4, zero, &src[0][0]);
            for (int64_t k = 0; k < s->C; k += VW) {
                const int full = s->C - k >= VW;
                const int rem = (int)(s->C - k);
                VT d[4][4], tt[4][4];
                UNROLL for (int i = 0; i < 4; i++)
                    UNROLL for (int j = 0; j < 4; j++) d[i][j] = full ? VLOAD(src[i][j] + k) : VLOADN(src[i][j] + k, rem);
                UNROLL for (int j = 0; j < 4; j++) {
                    tt[0][j] = d[0][j] - d[2][j];
                    tt[1][j] = d[1][j] + d[2][j];
                    tt[2][j] = d[2][j] - d[1][j];
                    tt[3][j] = d[1][j] - d[3][j];
                }
                UNROLL for (int i = 0; i < 4; i++) {
                    float *dst = V + ((int64_t)(i * 4) * TB + t) * Cp + k;
                    VSTORE(dst, tt[i][0] - tt[i][2]);
                    VSTORE(dst + 1 * TB * Cp, tt[i][1] + tt[i][2]);
                    VSTORE(dst + 2 * TB * Cp, tt[i][2] - tt[i][1]);
                    VSTORE(dst + 3 * TB * Cp, tt[i][1] - tt[i][3]);
                }
            }
        }
        // 16 GEMMs through the tile kernel: one tap, K = C.
        int tapK = s->C;
        int64_t tapW = 0;
        for (int xi = 0; xi < 16; xi++) {
            for (int64_t ob = 0; ob < c->nob; ob++) {
                const float *Ub = c->U + ((int64_t)xi * c->nob + ob) * s->C * NR;
                for (int m0 = 0; m0 < nt; m0 += MR) {
                    const float *ptr[MR];
                    float *out[MR];
                    for (int p = 0; p < MR; p++) {
                        int t = m0 + p;
                        ptr[p] = t < nt ? V + ((int64_t)xi * TB + t) * Cp : zero;
                        out[p] = t < nt ? M + ((int64_t)xi * TB + t) * OCp + ob * NR : NULL;
                    }
                    conv_tile_kernel_(1, &tapK, &tapW, ptr, Ub, NULL, out, NR);
                }
            }
        }
        // Output transform, vectors over OC; bias added here.
        for (int t = 0; t < nt; t++) {
            int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            int oh0 = (int)th * 2, ow0 = (int)tw * 2;
            for (int64_t k = 0; k < s->OC; k += VW) {
                VT m[4][4], q[2][4];
                UNROLL for (int xi = 0; xi < 16; xi++) m[xi / 4][xi % 4] = VLOAD(M + ((int64_t)xi * TB + t) * OCp + k);
                UNROLL for (int j = 0; j < 4; j++) {
                    q[0][j] = m[0][j] + m[1][j] + m[2][j];
                    q[1][j] = m[1][j] - m[2][j] - m[3][j];
                }
                VT bias = c->bp ? VLOAD(c->bp + k) : VZERO();
                const int nvalid = s->OC - k < VW ? (int)(s->OC - k) : VW;
                UNROLL for (int i = 0; i < 2; i++) {
                    VT o[2];
                    o[0] = q[i][0] + q[i][1] + q[i][2] + bias;
                    o[1] = q[i][1] - q[i][2] - q[i][3] + bias;
                    if (oh0 + i >= s->OH) continue;
                    UNROLL for (int j = 0; j < 2; j++) {
                        if (ow0 + j >= s->OW) continue;
                        float *dst = c->y + ((n * s->OH + oh0 + i) * s->OW + ow0 + j) * s->OC + k;
                        if (nvalid == VW) VSTORE(dst, o[j]);
                        else { float tmp[VW]; VSTORE(tmp, o[j]); memcpy(dst, tmp, sizeof(float) * (size_t)nvalid); }
                    }
                }
            }
        }
    }
    i2i_ws_free(V); i2i_ws_free(M); free(zero);
}

static void SFX(conv_winograd_f2k3_fwd)(const i2i_conv_shape *s, const float *x, const float *w, const float *b,
                                        float *y) {
    SFX(wino_ctx) c = {0};
    c.s = s; c.x = x; c.w = w; c.b = b; c.y = y;
    c.TH = (s->OH + 1) / 2; c.TW = (s->OW + 1) / 2;
    c.T = (int64_t)s->N * c.TH * c.TW;
    c.TB = 4 * MR; // measured: 1..8 tiles of MR similar, 16 clearly slower (the block leaves L2)
    c.blocks = SFX(cdiv)(c.T, c.TB);
    c.nob = SFX(cdiv)(s->OC, NR);
    c.Cp = SFX(cdiv)(s->C, VW) * VW;
    c.OCp = c.nob * NR;
    c.U = SFX(alloc_floats)(16 * c.nob * s->C * NR);
    memset(c.U, 0, sizeof(float) * (size_t)(16 * c.nob * s->C * NR));
    i2i_parallel_for(s->C, 1, SFX(wino_weights_task), &c);
    c.bp = SFX(alloc_floats)(c.OCp);
    for (int64_t o = 0; o < c.OCp; o++) c.bp[o] = (b && o < s->OC) ? b[o] : 0.0f;
    i2i_parallel_for(c.blocks, 1, SFX(wino_task), &c);
    i2i_ws_free(c.U); i2i_ws_free(c.bp);
}

// MARK: - Winograd F(4x4, 3x3), stride 1

// As F(2x2,3x3) with 4x4 output tiles from 6x6 input tiles (points 0, +-1, +-2, inf; Lavin & Gray):
// 36 GEMMs, 4x fewer multiplies than direct 3x3, relative error ~1e-6..1e-5 in float.
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]

static TGT void SFX(wino4_weights_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(wino_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const VT q4 = VBCAST(1.0f / 4), q6 = VBCAST(-1.0f / 6), q24 = VBCAST(1.0f / 24), q12 = VBCAST(1.0f / 12),
             p6 = VBCAST(1.0f / 6);
    for (int64_t ci = begin; ci < end; ci++) {
        for (int64_t oc = 0; oc < s->OC; oc += VW) { // vectors over OC (NR is a multiple of VW)
            const int rem = s->OC - oc < VW ? (int)(s->OC - oc) : VW;
            VT g[3][3], t[6][3];
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++)
                    g[kh][kw] = VLOADN(c->w + ((kh * 3 + kw) * (int64_t)s->C + ci) * s->OC + oc, rem);
            UNROLL for (int j = 0; j < 3; j++) {
                t[0][j] = q4 * g[0][j];
                t[1][j] = q6 * (g[0][j] + g[1][j] + g[2][j]);
                t[2][j] = q6 * (g[0][j] - g[1][j] + g[2][j]);
                t[3][j] = q24 * g[0][j] + q12 * g[1][j] + p6 * g[2][j];
                t[4][j] = q24 * g[0][j] - q12 * g[1][j] + p6 * g[2][j];
                t[5][j] = g[2][j];
            }
            const int64_t ob = oc / NR, r = oc % NR;
            float *dst = c->U + (ob * s->C + ci) * NR + r;
            const int64_t xstride = c->nob * s->C * NR;
            UNROLL for (int i = 0; i < 6; i++) {
                VT u[6];
                u[0] = q4 * t[i][0];
                u[1] = q6 * (t[i][0] + t[i][1] + t[i][2]);
                u[2] = q6 * (t[i][0] - t[i][1] + t[i][2]);
                u[3] = q24 * t[i][0] + q12 * t[i][1] + p6 * t[i][2];
                u[4] = q24 * t[i][0] - q12 * t[i][1] + p6 * t[i][2];
                u[5] = t[i][2];
                UNROLL for (int j = 0; j < 6; j++) VSTORE(dst + (i * 6 + j) * xstride, u[j]); // padded lanes: 0
            }
        }
    }
}

/// B^T d over one dimension: t[0..5] from d[0..5] (stride-free, vectors).
#define WINO4_BT(d, t)                                                          \
    do {                                                                        \
        VT four = VBCAST(4.0f), five = VBCAST(5.0f), two = VBCAST(2.0f);        \
        t[0] = VFMA(four, d[0], d[4]) - five * d[2];                            \
        t[1] = d[3] + d[4] - four * (d[1] + d[2]);                              \
        t[2] = d[4] - d[3] + four * (d[1] - d[2]);                              \
        t[3] = d[4] - d[2] + two * (d[3] - d[1]);                               \
        t[4] = d[4] - d[2] - two * (d[3] - d[1]);                               \
        t[5] = VFMA(four, d[1], d[5]) - five * d[3];                            \
    } while (0)

/// A^T m over one dimension: o[0..3] from m[0..5].
#define WINO4_AT(m, o)                                                          \
    do {                                                                        \
        VT a12 = m[1] + m[2], s12 = m[1] - m[2], a34 = m[3] + m[4], s34 = m[3] - m[4]; \
        o[0] = m[0] + a12 + a34;                                                \
        o[1] = VFMA(VBCAST(2.0f), s34, s12);                                    \
        o[2] = VFMA(VBCAST(4.0f), a34, a12);                                    \
        o[3] = VFMA(VBCAST(8.0f), s34, s12) + m[5];                             \
    } while (0)

static TGT void SFX(wino4_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(wino_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t Cp = c->Cp, OCp = c->OCp, TB = c->TB;
    float *V = SFX(alloc_floats)(36 * TB * Cp);   // [36][TB][Cp]
    float *M = SFX(alloc_floats)(36 * TB * OCp);  // [36][TB][OCp]
    float *zero = calloc((size_t)Cp + 64, sizeof(float));
    for (int64_t blk = begin; blk < end; blk++) {
        const int64_t t0 = blk * TB;
        const int nt = c->T - t0 < TB ? (int)(c->T - t0) : (int)TB;
        for (int t = 0; t < nt; t++) {
            int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            const float *src[6][6];
            SFX(wino_patch)(s, c->x, n, th * 4, tw * 4, 6, zero, &src[0][0]);
            for (int64_t k = 0; k < s->C; k += VW) {
                const int full = s->C - k >= VW;
                const int rem = (int)(s->C - k);
                VT tt[6][6];
                UNROLL for (int j = 0; j < 6; j++) { // columns: tt[.][j] = B^T d[.][j]
                    VT d[6], o[6];
                    UNROLL for (int i = 0; i < 6; i++) d[i] = full ? VLOAD(src[i][j] + k) : VLOADN(src[i][j] + k, rem);
                    WINO4_BT(d, o);
                    UNROLL for (int i = 0; i < 6; i++) tt[i][j] = o[i];
                }
                UNROLL for (int i = 0; i < 6; i++) { // rows: V[i][.] = tt[i][.] B
                    VT o[6];
                    WINO4_BT(tt[i], o);
                    UNROLL for (int j = 0; j < 6; j++) VSTORE(V + ((int64_t)(i * 6 + j) * TB + t) * Cp + k, o[j]);
                }
            }
        }
        int tapK = s->C;
        int64_t tapW = 0;
        for (int xi = 0; xi < 36; xi++) {
            for (int64_t ob = 0; ob < c->nob; ob++) {
                const float *Ub = c->U + ((int64_t)xi * c->nob + ob) * s->C * NR;
                for (int m0 = 0; m0 < nt; m0 += MR) {
                    const float *ptr[MR];
                    float *out[MR];
                    for (int p = 0; p < MR; p++) {
                        int t = m0 + p;
                        ptr[p] = t < nt ? V + ((int64_t)xi * TB + t) * Cp : zero;
                        out[p] = t < nt ? M + ((int64_t)xi * TB + t) * OCp + ob * NR : NULL;
                    }
                    conv_tile_kernel_(1, &tapK, &tapW, ptr, Ub, NULL, out, NR);
                }
            }
        }
        for (int t = 0; t < nt; t++) {
            int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            int oh0 = (int)th * 4, ow0 = (int)tw * 4;
            for (int64_t k = 0; k < s->OC; k += VW) {
                VT q[4][6];
                UNROLL for (int j = 0; j < 6; j++) { // columns: q[.][j] = A^T m[.][j]
                    VT m[6], o[4];
                    UNROLL for (int i = 0; i < 6; i++) m[i] = VLOAD(M + ((int64_t)(i * 6 + j) * TB + t) * OCp + k);
                    WINO4_AT(m, o);
                    UNROLL for (int i = 0; i < 4; i++) q[i][j] = o[i];
                }
                VT bias = c->bp ? VLOAD(c->bp + k) : VZERO();
                const int nvalid = s->OC - k < VW ? (int)(s->OC - k) : VW;
                UNROLL for (int i = 0; i < 4; i++) {
                    if (oh0 + i >= s->OH) break;
                    VT o[4];
                    WINO4_AT(q[i], o);
                    UNROLL for (int j = 0; j < 4; j++) {
                        if (ow0 + j >= s->OW) break;
                        float *dst = c->y + ((n * s->OH + oh0 + i) * s->OW + ow0 + j) * s->OC + k;
                        VT v = o[j] + bias;
                        if (nvalid == VW) VSTORE(dst, v);
                        else { float tmp[VW]; VSTORE(tmp, v); memcpy(dst, tmp, sizeof(float) * (size_t)nvalid); }
                    }
                }
            }
        }
    }
    i2i_ws_free(V); i2i_ws_free(M); free(zero);
}

static void SFX(conv_winograd_f4k3_fwd)(const i2i_conv_shape *s, const float *x, const float *w, const float *b,
                                        float *y) {
    SFX(wino_ctx) c = {0};
    c.s = s; c.x = x; c.w = w; c.b = b; c.y = y;
    c.TH = (s->OH + 3) / 4; c.TW = (s->OW + 3) / 4;
    c.T = (int64_t)s->N * c.TH * c.TW;
    c.TB = 4 * MR;
    c.blocks = SFX(cdiv)(c.T, c.TB);
    c.nob = SFX(cdiv)(s->OC, NR);
    c.Cp = SFX(cdiv)(s->C, VW) * VW;
    c.OCp = c.nob * NR;
    c.U = SFX(alloc_floats)(36 * c.nob * s->C * NR);
    memset(c.U, 0, sizeof(float) * (size_t)(36 * c.nob * s->C * NR));
    i2i_parallel_for(s->C, 1, SFX(wino4_weights_task), &c);
    c.bp = SFX(alloc_floats)(c.OCp);
    for (int64_t o = 0; o < c.OCp; o++) c.bp[o] = (b && o < s->OC) ? b[o] : 0.0f;
    i2i_parallel_for(c.blocks, 1, SFX(wino4_task), &c);
    i2i_ws_free(c.U); i2i_ws_free(c.bp);
}

// MARK: - Forward

typedef struct {
    const i2i_conv_shape *s;
    const float *x, *w, *b;
    float *y;
    float *wp;          // packed weights (tile: [OC/NR][KH][KW][C][NR]; dot: [OC][KH][KW][C])
    float *bp;          // bias padded to whole blocks (tile) or NULL
    const float *wt;    // tile: the weights the kernel reads (wp, or w itself when OC % NR == 0)
    int64_t wks, wblk;  // tile: floats between k rows (NR, or OC in place) and between blocks
    const float *zero;  // a zero row of KW*C (or OC) floats
    int64_t tiles, blocks, P, bandTiles;
    int khPer;          // kernel rows per pass over a block's weights (KH: one pass)
    int mr;             // pixels per tile
    int o0, no;         // dot: the output channels of this pass
} SFX(conv_ctx);

static void SFX(pack_forward_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(conv_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t taps = (int64_t)s->KH * s->KW;
    for (int64_t i = begin; i < end; i++) { // i = block * taps + tap
        int64_t ob = i / taps, tap = i % taps;
        float *dst = c->wp + i * s->C * NR;
        const float *src = c->w + tap * s->C * s->OC;
        int nvalid = s->OC - (int)ob * NR < NR ? s->OC - (int)ob * NR : NR;
        for (int ci = 0; ci < s->C; ci++) {
            const float *row = src + (int64_t)ci * s->OC + ob * NR;
            for (int r = 0; r < NR; r++) dst[(int64_t)ci * NR + r] = r < nvalid ? row[r] : 0.0f;
        }
    }
}

static TGT void SFX(forward_tile_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(conv_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int maxTaps = s->KH * s->KW;
    const float **ptr = malloc(sizeof(*ptr) * (size_t)maxTaps * MR);
    int *tapK = malloc(sizeof(int) * (size_t)maxTaps);
    int64_t *tapW = malloc(sizeof(int64_t) * (size_t)maxTaps);
    if (c->khPer < s->KH) {
        // A block's weights exceed L2: blocks outer (bandTiles == tiles), and within the run of
        // tasks of one block, kernel rows in groups of khPer, the later groups adding to y. The
        // order of the sums does not depend on how tasks are split between threads.
        for (int64_t i0 = begin; i0 < end;) {
            int64_t ob = i0 / c->tiles;
            int64_t i1 = (ob + 1) * c->tiles < end ? (ob + 1) * c->tiles : end;
            int nvalid = s->OC - (int)ob * NR < NR ? s->OC - (int)ob * NR : NR;
            for (int kh0 = 0; kh0 < s->KH; kh0 += c->khPer) {
                int kh1 = kh0 + c->khPer < s->KH ? kh0 + c->khPer : s->KH;
                for (int64_t i = i0; i < i1; i++) {
                    int64_t first = (i % c->tiles) * MR;
                    int nt = SFX(forward_taps)(s, c->x, c->zero, first, c->P, MR, c->wks, kh0, kh1, ptr, tapK, tapW);
                    float *out[MR];
                    for (int p = 0; p < MR; p++)
                        out[p] = first + p < c->P ? c->y + (first + p) * s->OC + ob * NR : NULL;
                    if (kh0 == 0)
                        SFX(conv_tile_kernel_x)(0, c->wks, nt, tapK, tapW, ptr, c->wt + ob * c->wblk,
                                                c->bp ? c->bp + ob * NR : NULL, out, nvalid);
                    else
                        SFX(conv_tile_kernel_x)(1, c->wks, nt, tapK, tapW, ptr, c->wt + ob * c->wblk, NULL, out,
                                                nvalid);
                }
            }
            i0 = i1;
        }
        free(ptr); free(tapK); free(tapW);
        return;
    }
    int64_t builtTile = -1;
    int nt = 0;
    for (int64_t i = begin; i < end; i++) {
        int64_t ob, tile;
        SFX(band_task)(i, c->blocks, c->tiles, c->bandTiles, &ob, &tile);
        int64_t first = tile * MR;
        if (tile != builtTile) {
            nt = SFX(forward_taps)(s, c->x, c->zero, first, c->P, MR, c->wks, 0, s->KH, ptr, tapK, tapW);
            builtTile = tile;
        }
        float *out[MR];
        for (int p = 0; p < MR; p++)
            out[p] = first + p < c->P ? c->y + (first + p) * s->OC + ob * NR : NULL;
        int nvalid = s->OC - (int)ob * NR < NR ? s->OC - (int)ob * NR : NR;
        SFX(conv_tile_kernel_x)(0, c->wks, nt, tapK, tapW, ptr, c->wt + ob * c->wblk,
                                c->bp ? c->bp + ob * NR : NULL, out, nvalid);
    }
    free(ptr); free(tapK); free(tapW);
}

static TGT void SFX(forward_dot_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(conv_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int maxTaps = s->KH * s->KW;
    const float **ptr = malloc(sizeof(*ptr) * (size_t)maxTaps * 16);
    int *tapK = malloc(sizeof(int) * (size_t)maxTaps);
    int64_t *tapW = malloc(sizeof(int64_t) * (size_t)maxTaps);
    const int64_t ostride = (int64_t)maxTaps * s->C;
    for (int64_t tile = begin; tile < end; tile++) {
        int64_t first = tile * c->mr;
        int nt = SFX(forward_taps)(s, c->x, c->zero, first, c->P, c->mr, 1, 0, s->KH, ptr, tapK, tapW);
        float *out[16];
        for (int p = 0; p < c->mr; p++) out[p] = first + p < c->P ? c->y + (first + p) * s->OC + c->o0 : NULL;
        SFX(conv_dot_kernel_any)(c->no, nt, tapK, tapW, ptr, c->wp + c->o0 * ostride, ostride,
                                 c->b ? c->b + c->o0 : NULL, out);
    }
    free(ptr); free(tapK); free(tapW);
}

static void SFX(conv_nhwc_fwd)(const i2i_conv_shape *s, const float *x, const float *w, const float *b,
                               float *y) {
    SFX(conv_ctx) c = {0};
    c.s = s; c.x = x; c.w = w; c.b = b; c.y = y;
    c.P = (int64_t)s->N * s->OH * s->OW;
    // 3x3 stride-1 forward (and so stride-1 backward-input) via Winograd: i2i_winograd_mode_get()
    // (see i2i_set_winograd) 4 = F(4x4,3x3) for outputs of at least 8x8, else F(2x2,3x3);
    // 2 = F(2x2,3x3) only; 0 = direct.
    const int wino = i2i_winograd_mode_get();
    if (wino && s->KH == 3 && s->KW == 3 && s->strideH == 1 && s->strideW == 1 && s->C >= 16 && s->OC >= 16) {
        if (wino >= 4 && s->OH >= 8 && s->OW >= 8)
            SFX(conv_winograd_f4k3_fwd)(s, x, w, b, y);
        else
            SFX(conv_winograd_f2k3_fwd)(s, x, w, b, y);
        return;
    }
    const int64_t taps = (int64_t)s->KH * s->KW;
    const int64_t Kmax = (int64_t)s->KW * s->C;
    float *zero = calloc((size_t)Kmax + 64, sizeof(float));
    c.zero = zero;
    if (s->OC <= DOT_MAX_OUT && Kmax >= VW) {
        // Few output channels: reduce over KW*C in vectors, weights [OC][KH][KW][C], one parallel
        // pass per group of <= 4 channels.
        c.wp = SFX(alloc_floats)(s->OC * taps * s->C);
        for (int64_t t = 0; t < taps; t++)
            for (int ci = 0; ci < s->C; ci++)
                for (int o = 0; o < s->OC; o++)
                    c.wp[((int64_t)o * taps + t) * s->C + ci] = w[(t * s->C + ci) * s->OC + o];
        for (c.o0 = 0; c.o0 < s->OC; c.o0 += 4) {
            c.no = s->OC - c.o0 < 4 ? s->OC - c.o0 : 4;
            c.mr = DOT_MRD(c.no);
            c.tiles = SFX(cdiv)(c.P, c.mr);
            i2i_parallel_for(c.tiles, 1, SFX(forward_dot_task), &c);
        }
        i2i_ws_free(c.wp);
    } else {
        c.blocks = SFX(cdiv)(s->OC, NR);
        c.tiles = SFX(cdiv)(c.P, MR);
        if (s->OC % NR == 0) {
            // Whole blocks: block ob's weights for (tap, ci) are NR contiguous floats of w's row, so
            // the kernel reads w in place with a row stride of OC (same values, same order: the same
            // bits as packed). Saves a copy of every weight per call, which dominates the layers with
            // many channels and few pixels.
            c.wt = w; c.wks = s->OC; c.wblk = NR;
        } else {
            c.wp = SFX(alloc_floats)(c.blocks * taps * s->C * NR);
            i2i_parallel_for(c.blocks * taps, 1, SFX(pack_forward_task), &c);
            c.wt = c.wp; c.wks = NR; c.wblk = taps * s->C * NR;
        }
        if (b) {
            c.bp = SFX(alloc_floats)(c.blocks * NR);
            for (int64_t o = 0; o < c.blocks * NR; o++) c.bp[o] = o < s->OC ? b[o] : 0.0f;
        }
        c.bandTiles = SFX(band_tiles)(c.tiles, c.blocks * taps * s->C * NR * 4,
                                      (int64_t)MR * s->strideH * s->strideW * s->C * 4);
        // Kernel rows per pass so that a block's weights of one pass stay within ~384 KB of L2.
        const int64_t rowBytes = (int64_t)s->KW * s->C * NR * 4;
        c.khPer = (int)((384 * 1024) / rowBytes);
        if (c.khPer < 1) c.khPer = 1;
        if (c.khPer > s->KH || c.bandTiles != c.tiles) c.khPer = s->KH;
        i2i_parallel_for(c.blocks * c.tiles, 1, SFX(forward_tile_task), &c);
        i2i_ws_free(c.wp); i2i_ws_free(c.bp);
    }
    free(zero);
}

// MARK: - Backward-input

typedef struct {
    const i2i_conv_shape *s;
    const float *dy, *w;
    float *dx;
    float *wp;          // tile: [C/NR][KH][KW][OC][NR]
    const float *zero;  // OC zeros
    SFX(phase) ph[64];
    int nph, mr, o0, no;
    int64_t totalTiles, blocks, bandTiles;
} SFX(bwdi_ctx);

static TGT void SFX(pack_backward_input_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdi_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t taps = (int64_t)s->KH * s->KW;
    for (int64_t i = begin; i < end; i++) { // i = block * taps + tap
        int64_t cb = i / taps, tap = i % taps;
        float *dst = c->wp + i * s->OC * NR;
        int nvalid = s->C - (int)cb * NR < NR ? s->C - (int)cb * NR : NR;
        if (nvalid == NR && s->OC % VW == 0) {
            // VW x VW transposes through registers: NR rows of OC floats read in VW-column strips.
            const float *src0 = c->w + (tap * s->C + cb * NR) * s->OC;
            for (int oc0 = 0; oc0 < s->OC; oc0 += VW)
                for (int r0 = 0; r0 < NR; r0 += VW) {
                    float blk[VW][VW];
                    for (int r = 0; r < VW; r++) VSTORE(blk[r], VLOAD(src0 + (int64_t)(r0 + r) * s->OC + oc0));
                    for (int o = 0; o < VW; o++) {
                        float col[VW];
                        for (int r = 0; r < VW; r++) col[r] = blk[r][o];
                        VSTORE(dst + (int64_t)(oc0 + o) * NR + r0, VLOAD(col));
                    }
                }
            continue;
        }
        for (int r = 0; r < NR; r++) {
            if (r < nvalid) {
                const float *src = c->w + (tap * s->C + cb * NR + r) * s->OC;
                for (int oc = 0; oc < s->OC; oc++) dst[(int64_t)oc * NR + r] = src[oc];
            } else {
                for (int oc = 0; oc < s->OC; oc++) dst[(int64_t)oc * NR + r] = 0.0f;
            }
        }
    }
}

static const SFX(phase) *SFX(phase_of_tile)(const SFX(bwdi_ctx) *c, int64_t tile) {
    int k = 0;
    while (k + 1 < c->nph && c->ph[k + 1].firstTile <= tile) k++;
    return &c->ph[k];
}

static TGT void SFX(backward_input_tile_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdi_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int maxTaps = s->KH * s->KW;
    const float **ptr = malloc(sizeof(*ptr) * (size_t)maxTaps * MR);
    int *tapK = malloc(sizeof(int) * (size_t)maxTaps);
    int64_t *tapW = malloc(sizeof(int64_t) * (size_t)maxTaps);
    const int64_t blockFloats = (int64_t)maxTaps * s->OC * NR;
    int64_t builtTile = -1, dxOff[MR];
    int nt = 0;
    for (int64_t i = begin; i < end; i++) { // i = block * totalTiles + tile
        int64_t cb, tile;
        SFX(band_task)(i, c->blocks, c->totalTiles, c->bandTiles, &cb, &tile);
        if (tile != builtTile) {
            const SFX(phase) *ph = SFX(phase_of_tile)(c, tile);
            nt = SFX(backward_input_taps)(s, ph, c->dy, c->zero, (tile - ph->firstTile) * MR, MR,
                                          (int64_t)s->OC * NR, ptr, tapK, tapW, dxOff);
            builtTile = tile;
        }
        float *out[MR];
        for (int p = 0; p < MR; p++) out[p] = dxOff[p] >= 0 ? c->dx + dxOff[p] + cb * NR : NULL;
        int nvalid = s->C - (int)cb * NR < NR ? s->C - (int)cb * NR : NR;
        conv_tile_kernel_(nt, tapK, tapW, ptr, c->wp + cb * blockFloats, NULL, out, nvalid);
    }
    free(ptr); free(tapK); free(tapW);
}

static TGT void SFX(backward_input_dot_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdi_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int maxTaps = s->KH * s->KW;
    const float **ptr = malloc(sizeof(*ptr) * (size_t)maxTaps * 16);
    int *tapK = malloc(sizeof(int) * (size_t)maxTaps);
    int64_t *tapW = malloc(sizeof(int64_t) * (size_t)maxTaps);
    int64_t dxOff[16];
    for (int64_t tile = begin; tile < end; tile++) {
        const SFX(phase) *ph = SFX(phase_of_tile)(c, tile);
        int nt = SFX(backward_input_taps)(s, ph, c->dy, c->zero, (tile - ph->firstTile) * c->mr, c->mr,
                                          (int64_t)s->C * s->OC, ptr, tapK, tapW, dxOff);
        float *out[16];
        for (int p = 0; p < c->mr; p++) out[p] = dxOff[p] >= 0 ? c->dx + dxOff[p] + c->o0 : NULL;
        // Weight of output channel c, tap (kh,kw), reduction index oc: w[((kh*KW+kw)*C + c)*OC + oc].
        SFX(conv_dot_kernel_any)(c->no, nt, tapK, tapW, ptr, c->w + (int64_t)c->o0 * s->OC, s->OC, NULL, out);
    }
    free(ptr); free(tapK); free(tapW);
}

/// The stride-1 backward-input's weights: kernel flipped, C and OC swapped, in tasks of one tap and 32
/// input channels (32x32 blocks: both sides stay in L1). A 4x4 256->512 kernel is 8 MB each way: done
/// on one thread it was an eighth of that layer's backward-input.
typedef struct {
    const i2i_conv_shape *s;
    const float *w;
    float *wf;
} SFX(flip_ctx);

static void SFX(flip_task)(void *vctx, int64_t begin, int64_t end) {
    const SFX(flip_ctx) *f = vctx;
    const i2i_conv_shape *s = f->s;
    const int64_t cblocks = SFX(cdiv)(s->C, 32);
    for (int64_t t = begin; t < end; t++) {
        const int64_t tap = t / cblocks, c0 = (t % cblocks) * 32, kh = tap / s->KW, kw = tap % s->KW;
        const float *src = f->w + ((s->KH - 1 - kh) * s->KW + (s->KW - 1 - kw)) * s->C * s->OC;
        float *dst = f->wf + (kh * s->KW + kw) * s->C * s->OC;
        for (int64_t o0 = 0; o0 < s->OC; o0 += 32)
            for (int64_t ci = c0; ci < c0 + 32 && ci < s->C; ci++)
                for (int64_t oc = o0; oc < o0 + 32 && oc < s->OC; oc++)
                    dst[oc * s->C + ci] = src[ci * s->OC + oc];
    }
}

static void SFX(conv_nhwc_bwd_input)(const i2i_conv_shape *s, const float *dy, const float *w, float *dx) {
    SFX(bwdi_ctx) *c = calloc(1, sizeof(*c));
    c->s = s; c->dy = dy; c->w = w; c->dx = dx;
    const int64_t taps = (int64_t)s->KH * s->KW;
    float *zero = calloc((size_t)s->OC + 64, sizeof(float));
    c->zero = zero;
    const int winograd = i2i_winograd_mode_get() && s->KH == 3 && s->KW == 3 && s->C >= 16 && s->OC >= 16;
    if (s->strideH == 1 && s->strideW == 1 && s->padT < s->KH && s->padB < s->KH && s->padL < s->KW &&
        s->padR < s->KW && s->KW * s->OC >= 8 && (winograd || s->OC < 64 || s->C < 64)) {
        // Stride 1: dx is the forward conv of dy with the kernel flipped and C, OC swapped, so it gets
        // Winograd for 3x3 and the forward path's merged kernel rows (KW*OC contiguous floats per tap),
        // which matters when OC is small (the last layer of a generator) or C is (its first). With
        // both large and no Winograd, the phase kernels below are faster (4x4 256->512 at 32x32:
        // 9.4 ms against 11.3 with the flip: the transposed weights cost more than they save).
        i2i_conv_shape t = {0};
        t.N = s->N; t.H = s->OH; t.W = s->OW; t.C = s->OC; t.OC = s->C; t.KH = s->KH; t.KW = s->KW;
        t.strideH = t.strideW = 1;
        t.padT = s->KH - 1 - s->padT; t.padB = s->KH - 1 - s->padB;
        t.padL = s->KW - 1 - s->padL; t.padR = s->KW - 1 - s->padR;
        t.OH = s->H; t.OW = s->W;
        float *wf = SFX(alloc_floats)((int64_t)s->KH * s->KW * s->C * s->OC);
        SFX(flip_ctx) fc = {s, w, wf};
        i2i_parallel_for((int64_t)s->KH * s->KW * SFX(cdiv)(s->C, 32), 1, SFX(flip_task), &fc);
        SFX(conv_nhwc_fwd)(&t, dy, wf, NULL, dx);
        i2i_ws_free(wf);
    } else if (s->strideH * s->strideW > 64) { // more phases than the context holds: not a shape we ship
        i2i_conv2d_backward_input_ref(s, dy, w, dx);
    } else if (s->C <= DOT_MAX_OUT && s->OC >= VW) {
        for (c->o0 = 0; c->o0 < s->C; c->o0 += 4) {
            c->no = s->C - c->o0 < 4 ? s->C - c->o0 : 4;
            c->mr = DOT_MRD(c->no);
            c->nph = SFX(make_phases)(s, c->mr, c->ph, &c->totalTiles);
            i2i_parallel_for(c->totalTiles, 1, SFX(backward_input_dot_task), c);
        }
    } else {
        c->blocks = SFX(cdiv)(s->C, NR);
        c->nph = SFX(make_phases)(s, MR, c->ph, &c->totalTiles);
        c->wp = SFX(alloc_floats)(c->blocks * taps * s->OC * NR);
        i2i_parallel_for(c->blocks * taps, 1, SFX(pack_backward_input_task), c);
        c->bandTiles = SFX(band_tiles)(c->totalTiles, c->blocks * taps * s->OC * NR * 4, (int64_t)MR * s->OC * 4);
        i2i_parallel_for(c->blocks * c->totalTiles, 1, SFX(backward_input_tile_task), c);
        i2i_ws_free(c->wp);
    }
    free(zero);
    free(c);
}

// MARK: - Backward-filter

#define BWF_NVB(no) ((DOT_ACC / (no)) > 12 ? 12 : (DOT_ACC / (no)))

typedef struct {
    const i2i_conv_shape *s;
    const float *x, *dy;
    float *dw;
    float *xp;                // x zero-padded: [N][Hp][Wp][C] plus slack
    int Hp, Wp;
    int64_t L;                // KW*C: the merged (kw, c) index of a kernel row
    int64_t rows, chunkRows;  // output rows N*OH, rows per cache chunk
    int64_t jt, ob;           // tiles along L and along OC
    int byOC;                 // 1: vectors over OC (tile MR x NR); 0: vectors over L (dot-like)
    int64_t r0, r1;           // byOC: the current chunk of output rows
    float *B;                 // byOC: dy of the chunk packed into [OC/NR][pixels][NR] panels
} SFX(bwdw_ctx);

static void SFX(pad_copy_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdw_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    for (int64_t r = begin; r < end; r++) { // r = n*Hp + hp
        float *dst = c->xp + r * c->Wp * s->C;
        int64_t n = r / c->Hp, h = r % c->Hp - s->padT;
        if (h < 0 || h >= s->H) {
            memset(dst, 0, sizeof(float) * (size_t)c->Wp * s->C);
            continue;
        }
        memset(dst, 0, sizeof(float) * (size_t)s->padL * s->C);
        memcpy(dst + (int64_t)s->padL * s->C, c->x + ((n * s->H + h) * s->W) * s->C,
               sizeof(float) * (size_t)s->W * s->C);
        memset(dst + ((int64_t)s->padL + s->W) * s->C, 0, sizeof(float) * (size_t)s->padR * s->C);
    }
}

/// dw[kh][j0 + (0:MR)][o0 + (0:NR)] += sum over npix pixels of A[p][0:MR] (x, packed) times
/// B[p][0:NR] (dy, packed); both panels contiguous, so the loop streams L1/L2 lines in order.
static inline ALWAYS TGT void SFX(bwdw_oc_kernel)(int64_t npix, const float *A, const float *B, float *dwt,
                                                  int64_t ldw, int mvalid, int nvalid) {
    VT acc[MR][NV];
    if (mvalid == MR && nvalid == NR) {
        UNROLL for (int p = 0; p < MR; p++)
            UNROLL for (int v = 0; v < NV; v++) acc[p][v] = VLOAD(dwt + p * ldw + v * VW);
    } else {
        UNROLL for (int p = 0; p < MR; p++) {
            float tmp[NR];
            for (int r = 0; r < NR; r++) tmp[r] = (p < mvalid && r < nvalid) ? dwt[p * ldw + r] : 0.0f;
            UNROLL for (int v = 0; v < NV; v++) acc[p][v] = VLOAD(tmp + v * VW);
        }
    }
    for (int64_t q = 0; q < npix; q++, A += MR, B += NR) {
        VT dv[NV];
        UNROLL for (int v = 0; v < NV; v++) dv[v] = VLOAD(B + v * VW);
        UNROLL for (int p = 0; p < MR; p++) {
            VT bx = VBCAST(A[p]);
            UNROLL for (int v = 0; v < NV; v++) acc[p][v] = VFMA(bx, dv[v], acc[p][v]);
        }
    }
    if (mvalid == MR && nvalid == NR) {
        UNROLL for (int p = 0; p < MR; p++)
            UNROLL for (int v = 0; v < NV; v++) VSTORE(dwt + p * ldw + v * VW, acc[p][v]);
        return;
    }
    UNROLL for (int p = 0; p < MR; p++) {
        if (p >= mvalid) break;
        float tmp[NR];
        UNROLL for (int v = 0; v < NV; v++) VSTORE(tmp + v * VW, acc[p][v]);
        memcpy(dwt + p * ldw, tmp, sizeof(float) * (size_t)nvalid);
    }
}

/// dw[kh][j0 + (0:NVB*VW)][o0 + (0:NO)] += sum over pixels of xrow[j] * dyrow[o], vectors over j.
static inline ALWAYS TGT void SFX(bwdw_l_kernel)(int NO, int NVB, const SFX(bwdw_ctx) *c, int kh, int64_t r0,
                                                 int64_t r1, int64_t j0, int o0) {
    const i2i_conv_shape *s = c->s;
    float *dwt = c->dw + (int64_t)kh * c->L * s->OC + j0 * s->OC + o0;
    const int64_t jvalid = c->L - j0 < (int64_t)NVB * VW ? c->L - j0 : (int64_t)NVB * VW;
    VT acc[DOT_MAX_OUT][12];
    UNROLL for (int o = 0; o < NO; o++) {
        UNROLL for (int v = 0; v < NVB; v++) {
            float tmp[VW];
            for (int l = 0; l < VW; l++) {
                int64_t j = (int64_t)v * VW + l;
                tmp[l] = j < jvalid ? dwt[j * s->OC + o] : 0.0f;
            }
            acc[o][v] = VLOAD(tmp);
        }
    }
    const int64_t xstep = (int64_t)s->strideW * s->C;
    for (int64_t row = r0; row < r1; row++) {
        int64_t n = row / s->OH, oh = row % s->OH;
        const float *xr = c->xp + ((n * c->Hp + oh * s->strideH + kh) * c->Wp) * s->C + j0;
        const float *dr = c->dy + row * s->OW * s->OC + o0;
        for (int ow = 0; ow < s->OW; ow++, xr += xstep, dr += s->OC) {
            VT xv[12];
            UNROLL for (int v = 0; v < NVB; v++) xv[v] = VLOAD(xr + v * VW);
            UNROLL for (int o = 0; o < NO; o++) {
                VT bd = VBCAST(dr[o]);
                UNROLL for (int v = 0; v < NVB; v++) acc[o][v] = VFMA(bd, xv[v], acc[o][v]);
            }
        }
    }
    UNROLL for (int o = 0; o < NO; o++) {
        UNROLL for (int v = 0; v < NVB; v++) {
            float tmp[VW];
            VSTORE(tmp, acc[o][v]);
            for (int l = 0; l < VW; l++) {
                int64_t j = (int64_t)v * VW + l;
                if (j < jvalid) dwt[j * s->OC + o] = tmp[l];
            }
        }
    }
}

/// The j-tile width is BWF_NVB(OC) vectors when OC <= 4 (one group), else BWF_NVB(4) for every
/// group, so that all groups' tasks cover the same j ranges.
static int SFX(bwdw_l_vectors)(int OC) { return BWF_NVB(OC <= 4 ? OC : 4); }

static TGT void SFX(bwdw_l_kernel_any)(int no, int OC, const SFX(bwdw_ctx) *c, int kh, int64_t r0, int64_t r1,
                                       int64_t j0, int o0) {
    if (OC <= 4) {
        switch (no) {
        case 1: SFX(bwdw_l_kernel)(1, BWF_NVB(1), c, kh, r0, r1, j0, o0); break;
        case 2: SFX(bwdw_l_kernel)(2, BWF_NVB(2), c, kh, r0, r1, j0, o0); break;
        case 3: SFX(bwdw_l_kernel)(3, BWF_NVB(3), c, kh, r0, r1, j0, o0); break;
        default: SFX(bwdw_l_kernel)(4, BWF_NVB(4), c, kh, r0, r1, j0, o0); break;
        }
    } else {
        switch (no) {
        case 1: SFX(bwdw_l_kernel)(1, BWF_NVB(4), c, kh, r0, r1, j0, o0); break;
        case 2: SFX(bwdw_l_kernel)(2, BWF_NVB(4), c, kh, r0, r1, j0, o0); break;
        case 3: SFX(bwdw_l_kernel)(3, BWF_NVB(4), c, kh, r0, r1, j0, o0); break;
        default: SFX(bwdw_l_kernel)(4, BWF_NVB(4), c, kh, r0, r1, j0, o0); break;
        }
    }
}

/// Vectors over OC, one chunk of output rows [r0, r1): dy is packed into [OC/NR][pixels][NR] panels
/// by all threads together (pack_dy_task), then each task (kh, j tile, OC block), in that order,
/// packs x into a [pixels][MR] panel per (kh, j tile) and runs the GEMM. Chunks run one after the
/// other, so every dw element still adds its chunks in order. (Each thread used to pack all of dy
/// itself: a quarter of the 7x7 3->64 stem's backward-filter.)
static TGT void SFX(pack_dy_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdw_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t maxPix = c->chunkRows * s->OW, npix = (c->r1 - c->r0) * s->OW;
    const float *dyc = c->dy + c->r0 * s->OW * s->OC;
    for (int64_t i = begin; i < end; i++) { // i = ob * npix + q
        const int64_t ob = i / npix, q = i % npix, o0 = ob * NR;
        const int nvalid = s->OC - o0 < NR ? (int)(s->OC - o0) : NR;
        const float *src = dyc + q * s->OC + o0;
        float *dst = c->B + ob * maxPix * NR + q * NR;
        if (nvalid == NR) { UNROLL for (int v = 0; v < NV; v++) VSTORE(dst + v * VW, VLOAD(src + v * VW)); }
        else { for (int r = 0; r < NR; r++) dst[r] = r < nvalid ? src[r] : 0.0f; }
    }
}

static TGT void SFX(backward_filter_oc_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdw_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t maxPix = c->chunkRows * s->OW;
    float *A = SFX(alloc_floats)(maxPix * MR);
    const int64_t xstep = (int64_t)s->strideW * s->C;
    const int64_t r0 = c->r0, r1 = c->r1, npix = (r1 - r0) * s->OW;
    int64_t packed = -1;
    for (int64_t i = begin; i < end; i++) { // i = (kh * jt + jtile) * ob + oblock
        int64_t ob = i % c->ob, kj = i / c->ob, jtile = kj % c->jt;
        int kh = (int)(kj / c->jt);
        int64_t j0 = jtile * MR;
        int mvalid = c->L - j0 < MR ? (int)(c->L - j0) : MR;
        if (kj != packed) {
            float *dst = A;
            for (int64_t row = r0; row < r1; row++) {
                int64_t n = row / s->OH, oh = row % s->OH;
                const float *xr = c->xp + ((n * c->Hp + oh * s->strideH + kh) * c->Wp) * s->C + j0;
                if (mvalid == MR) {
                    for (int ow = 0; ow < s->OW; ow++, xr += xstep, dst += MR) memcpy(dst, xr, sizeof(float) * MR);
                } else {
                    for (int ow = 0; ow < s->OW; ow++, xr += xstep, dst += MR)
                        for (int p = 0; p < MR; p++) dst[p] = p < mvalid ? xr[p] : 0.0f;
                }
            }
            packed = kj;
        }
        int64_t o0 = ob * NR;
        int nvalid = s->OC - o0 < NR ? (int)(s->OC - o0) : NR;
        float *dwt = c->dw + (int64_t)kh * c->L * s->OC + j0 * s->OC + o0;
        if (mvalid == MR && nvalid == NR) // constants: no tail code in the hot instance
            SFX(bwdw_oc_kernel)(npix, A, c->B + ob * maxPix * NR, dwt, s->OC, MR, NR);
        else
            SFX(bwdw_oc_kernel)(npix, A, c->B + ob * maxPix * NR, dwt, s->OC, mvalid, nvalid);
    }
    i2i_ws_free(A);
}

/// Vectors over KW*C (few output channels): reads x and dy in place.
static TGT void SFX(backward_filter_l_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdw_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    for (int64_t r0 = 0; r0 < c->rows; r0 += c->chunkRows) {
        int64_t r1 = r0 + c->chunkRows < c->rows ? r0 + c->chunkRows : c->rows;
        for (int64_t i = begin; i < end; i++) { // i = (kh * jt + jtile) * ob + group
            int64_t ob = i % c->ob, jtile = (i / c->ob) % c->jt;
            int kh = (int)(i / (c->ob * c->jt));
            int o0 = (int)ob * 4, no = s->OC - o0 < 4 ? s->OC - o0 : 4;
            SFX(bwdw_l_kernel_any)(no, s->OC, c, kh, r0, r1, jtile * (int64_t)SFX(bwdw_l_vectors)(s->OC) * VW, o0);
        }
    }
}

// MARK: - Backward-filter, Winograd F(2x2,3x3)

// The gradient of the Winograd forward: with V = B^T d B per input tile and Z = A dY A^T per output
// tile (dY: the 2x2 tile of dy), dU[xi][c][oc] = sum over tiles of V[xi][t][c] * Z[xi][t][oc]
// (16 GEMMs reducing over tiles) and dw = G^T dU G. 2.25x fewer multiplies than direct.
// Tiles go in chunks: one parallel region transforms a chunk (V packed [16][C/MR][TC][MR], Z packed
// [16][OC/NR][TC][NR]), a second runs the GEMM tasks (xi, c tile, OC block), each owning its dU
// tile and adding the chunk's sum to it, so every element is reduced in the same order whatever
// the thread count.
//   A = [1 0; 1 1; 1 -1; 0 -1]   G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]
typedef struct {
    const i2i_conv_shape *s;
    const float *x, *dy;
    float *V, *Z, *dU;
    int64_t TH, TW, T, TC, t0, nct, nob, OCp;
    int nt;
} SFX(winow_ctx);

static TGT void SFX(winow_transform_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(winow_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t TC = c->TC;
    float zero[VW] = {0};
    for (int64_t t = begin; t < end; t++) {
        int64_t tile = c->t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
        // V = B^T d B, vectors over C, scattered into MR-wide c tiles.
        const float *src[4][4];
        SFX(wino_patch)(s, c->x, n, th * 2, tw * 2, 4, NULL, &src[0][0]);
        for (int64_t k = 0; k < c->nct * MR; k += VW) {
            const int rem = s->C - k <= 0 ? 0 : (s->C - k < VW ? (int)(s->C - k) : VW);
            VT d[4][4], tt[4][4], v[16];
            UNROLL for (int i = 0; i < 4; i++)
                UNROLL for (int j = 0; j < 4; j++) d[i][j] = (src[i][j] && rem) ? VLOADN(src[i][j] + k, rem) : VLOAD(zero);
            UNROLL for (int j = 0; j < 4; j++) {
                tt[0][j] = d[0][j] - d[2][j];
                tt[1][j] = d[1][j] + d[2][j];
                tt[2][j] = d[2][j] - d[1][j];
                tt[3][j] = d[1][j] - d[3][j];
            }
            UNROLL for (int i = 0; i < 4; i++) {
                v[i * 4 + 0] = tt[i][0] - tt[i][2];
                v[i * 4 + 1] = tt[i][1] + tt[i][2];
                v[i * 4 + 2] = tt[i][2] - tt[i][1];
                v[i * 4 + 3] = tt[i][1] - tt[i][3];
            }
            for (int xi = 0; xi < 16; xi++) {
                float tmp[VW];
                VSTORE(tmp, v[xi]);
                for (int l = 0; l < VW; l++) {
                    int64_t ch = k + l;
                    if (ch >= c->nct * MR) break;
                    c->V[(((int64_t)xi * c->nct + ch / MR) * TC + t) * MR + ch % MR] = tmp[l];
                }
            }
        }
        // Z = A dY A^T, vectors over OC, into NR-wide blocks.
        int oh0 = (int)th * 2, ow0 = (int)tw * 2;
        const float *dsrc[2][2];
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++)
                dsrc[a][b] = (oh0 + a < s->OH && ow0 + b < s->OW) ? c->dy + ((n * s->OH + oh0 + a) * s->OW + ow0 + b) * s->OC : NULL;
        for (int64_t k = 0; k < c->OCp; k += VW) {
            const int rem = s->OC - k <= 0 ? 0 : (s->OC - k < VW ? (int)(s->OC - k) : VW);
            VT y[2][2], q[4][2];
            UNROLL for (int a = 0; a < 2; a++)
                UNROLL for (int b = 0; b < 2; b++) y[a][b] = (dsrc[a][b] && rem) ? VLOADN(dsrc[a][b] + k, rem) : VLOAD(zero);
            UNROLL for (int b = 0; b < 2; b++) {
                q[0][b] = y[0][b];
                q[1][b] = y[0][b] + y[1][b];
                q[2][b] = y[0][b] - y[1][b];
                q[3][b] = VLOAD(zero) - y[1][b];
            }
            const int64_t ob = k / NR, rr = k % NR;
            UNROLL for (int i = 0; i < 4; i++) {
                VT z[4];
                z[0] = q[i][0];
                z[1] = q[i][0] + q[i][1];
                z[2] = q[i][0] - q[i][1];
                z[3] = VLOAD(zero) - q[i][1];
                UNROLL for (int j = 0; j < 4; j++)
                    VSTORE(c->Z + ((((int64_t)(i * 4 + j) * c->nob + ob) * TC + t) * NR) + rr, z[j]);
            }
        }
    }
}

static TGT void SFX(winow_gemm_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(winow_ctx) *c = vctx;
    for (int64_t i = begin; i < end; i++) { // i = (xi * nct + ct) * nob + ob
        int64_t ob = i % c->nob, ct = (i / c->nob) % c->nct, xi = i / (c->nob * c->nct);
        const float *A = c->V + ((xi * c->nct + ct) * c->TC) * MR;
        const float *B = c->Z + ((xi * c->nob + ob) * c->TC) * NR;
        float *dUt = c->dU + (xi * c->nct * MR + ct * MR) * c->OCp + ob * NR;
        SFX(bwdw_oc_kernel)(c->nt, A, B, dUt, c->OCp, MR, NR); // dU padded: whole tiles only
    }
}

static TGT void SFX(winow_output_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(winow_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    float *dw = (float *)c->x; // the caller passes dw here for this pass
    const VT half = VBCAST(0.5f);
    for (int64_t ci = begin; ci < end; ci++) {
        for (int64_t k = 0; k < s->OC; k += VW) {
            const int nvalid = s->OC - k < VW ? (int)(s->OC - k) : VW;
            VT u[4][4], t[3][4];
            UNROLL for (int xi = 0; xi < 16; xi++) u[xi / 4][xi % 4] = VLOAD(c->dU + (xi * c->nct * MR + ci) * c->OCp + k);
            UNROLL for (int j = 0; j < 4; j++) {
                VT a = half * (u[1][j] + u[2][j]);
                t[0][j] = u[0][j] + a;
                t[1][j] = half * (u[1][j] - u[2][j]);
                t[2][j] = a + u[3][j];
            }
            UNROLL for (int i = 0; i < 3; i++) {
                VT a = half * (t[i][1] + t[i][2]), g[3];
                g[0] = t[i][0] + a;
                g[1] = half * (t[i][1] - t[i][2]);
                g[2] = a + t[i][3];
                UNROLL for (int j = 0; j < 3; j++) {
                    float *dst = dw + ((int64_t)(i * 3 + j) * s->C + ci) * s->OC + k;
                    float tmp[VW];
                    VSTORE(tmp, g[j]);
                    for (int l = 0; l < nvalid; l++) dst[l] += tmp[l];
                }
            }
        }
    }
}

static void SFX(conv_winograd_f2k3_bwd_filter)(const i2i_conv_shape *s, const float *x, const float *dy, float *dw,
                                               int accumulate) {
    SFX(winow_ctx) c = {0};
    c.s = s; c.x = x; c.dy = dy;
    c.TH = (s->OH + 1) / 2; c.TW = (s->OW + 1) / 2;
    c.T = (int64_t)s->N * c.TH * c.TW;
    c.TC = 16 * MR;
    c.nct = SFX(cdiv)(s->C, MR);
    c.nob = SFX(cdiv)(s->OC, NR);
    c.OCp = c.nob * NR;
    c.V = SFX(alloc_floats)(16 * c.nct * c.TC * MR);
    c.Z = SFX(alloc_floats)(16 * c.nob * c.TC * NR);
    c.dU = SFX(alloc_floats)(16 * c.nct * MR * c.OCp); // [16][C rounded up to MR][OCp]
    memset(c.dU, 0, sizeof(float) * (size_t)(16 * c.nct * MR * c.OCp));
    for (c.t0 = 0; c.t0 < c.T; c.t0 += c.TC) {
        c.nt = c.T - c.t0 < c.TC ? (int)(c.T - c.t0) : (int)c.TC;
        i2i_parallel_for(c.nt, 1, SFX(winow_transform_task), &c);
        i2i_parallel_for(16 * c.nct * c.nob, 1, SFX(winow_gemm_task), &c);
    }
    if (!accumulate) memset(dw, 0, sizeof(float) * (size_t)9 * s->C * s->OC);
    c.x = dw;
    i2i_parallel_for(s->C, 1, SFX(winow_output_task), &c);
    i2i_ws_free(c.V); i2i_ws_free(c.Z); i2i_ws_free(c.dU);
}

static TGT void SFX(bias_grad)(const i2i_conv_shape *s, const float *dy, float *db, int accumulate) {
    float *sum = calloc((size_t)s->OC, sizeof(float));
    const int64_t P = (int64_t)s->N * s->OH * s->OW;
    for (int64_t p = 0; p < P; p++) {
        const float *d = dy + p * s->OC;
        for (int oc = 0; oc < s->OC; oc++) sum[oc] += d[oc];
    }
    for (int oc = 0; oc < s->OC; oc++) db[oc] = accumulate ? db[oc] + sum[oc] : sum[oc];
    free(sum);
}

static TGT void SFX(conv_nhwc_bwd_filter)(const i2i_conv_shape *s, const float *x, const float *dy,
                                          float *dw, float *db, int accumulate) {
    if (db) SFX(bias_grad)(s, dy, db, accumulate);
    if (i2i_winograd_mode_get() && s->KH == 3 && s->KW == 3 && s->strideH == 1 && s->strideW == 1 &&
        s->C >= 16 && s->OC >= 16) {
        SFX(conv_winograd_f2k3_bwd_filter)(s, x, dy, dw, accumulate);
        return;
    }
    SFX(bwdw_ctx) c = {0};
    c.s = s; c.x = x; c.dy = dy; c.dw = dw;
    c.Hp = s->H + s->padT + s->padB;
    c.Wp = s->W + s->padL + s->padR;
    c.L = (int64_t)s->KW * s->C;
    const int64_t slack = 16 * 64;
    const int64_t xpFloats = (int64_t)s->N * c.Hp * c.Wp * s->C;
    c.xp = SFX(alloc_floats)(xpFloats + slack);
    memset(c.xp + xpFloats, 0, sizeof(float) * (size_t)slack);
    i2i_parallel_for((int64_t)s->N * c.Hp, 1, SFX(pad_copy_task), &c);
    if (!accumulate) memset(dw, 0, sizeof(float) * (size_t)s->KH * c.L * s->OC);

    c.rows = (int64_t)s->N * s->OH;
    int64_t rowFloats = (int64_t)s->OW * s->OC + (int64_t)s->strideH * c.Wp * s->C;
    c.chunkRows = (160 * 1024) / (rowFloats > 0 ? rowFloats : 1); // ~640 KB of x and dy: stays in L2
    if (c.chunkRows < 1) c.chunkRows = 1;
    c.byOC = !(s->OC <= DOT_MAX_OUT && c.L >= VW);
    if (c.byOC) {
        c.jt = SFX(cdiv)(c.L, MR);
        c.ob = SFX(cdiv)(s->OC, NR);
    } else {
        c.jt = SFX(cdiv)(c.L, (int64_t)SFX(bwdw_l_vectors)(s->OC) * VW);
        c.ob = (s->OC + 3) / 4;
    }
    if (c.byOC) {
        c.B = SFX(alloc_floats)(c.ob * c.chunkRows * s->OW * NR);
        for (c.r0 = 0; c.r0 < c.rows; c.r0 += c.chunkRows) {
            c.r1 = c.r0 + c.chunkRows < c.rows ? c.r0 + c.chunkRows : c.rows;
            const int64_t npix = (c.r1 - c.r0) * s->OW;
            i2i_parallel_for(c.ob * npix, 256, SFX(pack_dy_task), &c);
            i2i_parallel_for((int64_t)s->KH * c.jt * c.ob, 1, SFX(backward_filter_oc_task), &c);
        }
        i2i_ws_free(c.B);
    } else {
        i2i_parallel_for((int64_t)s->KH * c.jt * c.ob, 1, SFX(backward_filter_l_task), &c);
    }
    i2i_ws_free(c.xp);
}

const i2i_conv_kernels SFX(i2i_conv_kernels) = {
    ISA_NAME, SFX(conv_nhwc_fwd), SFX(conv_nhwc_bwd_input), SFX(conv_nhwc_bwd_filter),
};
