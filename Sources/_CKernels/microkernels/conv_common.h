// What every convolution algorithm shares, written once for every instruction set: the helpers, the
// tap lists, and the two microkernels. Included (through conv_body.h) by x86_avx512/conv_avx512.c,
// x86_avx2/conv_avx2.c and portable/conv_portable.c, which define first:
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
// by the conv plan (operators/conv_plan.c), once per weight change, into [OC/NR][KH][KW][C][NR] so that a
// tile's weight rows are contiguous, and a tap
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
#define DOT_MAX_OUT I2I_DOT_MAX_OUT

// MARK: - Helpers

/// Workspace floats (64-byte aligned) from the cache in operators/workspace.c; release with i2i_ws_free.
static float *SFX(alloc_floats)(int64_t n) { return i2i_ws_alloc((size_t)(n > 0 ? n : 1) * sizeof(float)); }

static inline int64_t SFX(cdiv)(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Scratch for the tasks of a parallel region, allocated by the caller: one block per task call (a
/// region calls its task once per chunk, at most once per thread). Tasks that allocated their own
/// scratch made the workspace cache's hits depend on the threads' timing: a worker that started
/// after its neighbour had finished took the neighbour's freed block, another size took the spare
/// one, and a later step with both tasks overlapping needed a fresh block in steady state.
typedef struct {
    float *base;
    int64_t floats; // per task, a multiple of 16 (64-byte aligned blocks)
    int slots, next;
} SFX(task_scratch);

static void SFX(task_scratch_init)(SFX(task_scratch) *t, int64_t floats) {
    t->floats = (floats + 15) & ~(int64_t)15;
    const int threads = i2i_get_num_threads();
    t->slots = threads > 0 ? threads : 1;
    t->base = SFX(alloc_floats)(t->floats * t->slots);
    t->next = 0;
}

/// Before each region that takes blocks (i2i_parallel_for publishes the store to the workers).
static void SFX(task_scratch_reset)(SFX(task_scratch) *t) { t->next = 0; }

/// A task's block; *own is non-NULL (free it) only if more tasks run than the thread count the
/// caller saw (the count changed in between).
static float *SFX(task_scratch_take)(SFX(task_scratch) *t, float **own) {
    const int i = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED);
    if (i < t->slots) { *own = NULL; return t->base + i * t->floats; }
    return *own = SFX(alloc_floats)(t->floats);
}

static void SFX(task_scratch_free)(SFX(task_scratch) *t) { i2i_ws_free(t->base); }

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

/// Task order of the tile kernels over (weight block, pixel tile): the one that moves fewer bytes
/// from beyond L2. Blocks outer: one block's weights stay in L2 while the input streams past once per
/// block (unless the whole input stays in L2). Bands outer: bands of `bandTiles` tiles, each read once
/// while every block's weights stream past it (once in all, if they stay in L2). Returns bandTiles;
/// tiles is the blocks-outer order. (3x3 stride-2 128->256 at 128x128: the 8 MB input streamed 16
/// times from L3 blocks-outer, at half the FMA rate of the bands-outer order.) *tileOuter: the order
/// within a band (see I2I_TILE_OUTER_WEIGHT_BYTES and band_task).
static int64_t SFX(band_tiles)(int64_t tiles, int64_t blocks, int64_t weightBytes, int64_t inputBytesPerTile,
                               int *tileOuter) {
    *tileOuter = weightBytes <= I2I_TILE_OUTER_WEIGHT_BYTES;
    if (inputBytesPerTile < 1) inputBytesPerTile = 1;
    int64_t bt = I2I_BAND_INPUT_BYTES / inputBytesPerTile;
    bt = bt < 1 ? 1 : (bt > tiles ? tiles : bt);
    const int64_t input = tiles * inputBytesPerTile, bands = (tiles + bt - 1) / bt;
    const int64_t blocksOuter = (input <= I2I_L2_RESIDENT_BYTES ? input : blocks * input) + weightBytes;
    const int64_t bandsOuter = input + (weightBytes <= I2I_BAND_WEIGHT_BYTES ? weightBytes : bands * weightBytes);
    return bandsOuter < blocksOuter ? bt : tiles;
}

/// Maps task i of blocks*tiles to (block, tile) in the band order above; within a band, tile by tile
/// (each through every block) when tileOuter, else block by block (see I2I_TILE_OUTER_WEIGHT_BYTES).
static inline void SFX(band_task)(int64_t i, int64_t blocks, int64_t tiles, int64_t bandTiles, int tileOuter,
                                  int64_t *block, int64_t *tile) {
    int64_t band = i / (blocks * bandTiles), within = i % (blocks * bandTiles);
    int64_t bt = tiles - band * bandTiles < bandTiles ? tiles - band * bandTiles : bandTiles;
    *block = tileOuter ? within % blocks : within / bt;
    *tile = band * bandTiles + (tileOuter ? within / blocks : within % bt);
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

/// The GEMM microkernel of the backward-filters (direct and Winograd): a panel of MR rows of A
/// times a panel of NR columns of B, reduced over pixels, added to an MR x NR tile of dw.
/// dw[kh][j0 + (0:MR)][o0 + (0:NR)] += sum over npix pixels of A[p][0:MR] (x, packed) times
/// B[p][0:NR] (dy, packed); both panels contiguous, so the loop streams L1/L2 lines in order.
/// fresh: the tile starts at zero instead of dw (the first chunk of a non-accumulating call: dw is
/// then written once, not cleared, read and written; the U-Net's inner layers are all dw traffic).
static inline ALWAYS TGT void SFX(bwdw_oc_kernel)(int64_t npix, const float *A, const float *B, float *dwt,
                                                  int64_t ldw, int mvalid, int nvalid, int fresh) {
    VT acc[MR][NV];
    if (fresh) {
        UNROLL for (int p = 0; p < MR; p++)
            UNROLL for (int v = 0; v < NV; v++) acc[p][v] = VZERO();
    } else if (mvalid == MR && nvalid == NR) {
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

