// Winograd convolutions for 3x3 stride-1 layers, written once for every instruction set (included by
// conv_body.h after conv_common.h; see there for the macros and the shape legend):
//   forward F(2x2,3x3) and F(4x4,3x3): weights transformed once per plan (wino_pack), tiles
//     transformed per call, the products as GEMMs through the tile microkernel (wino_forward);
//   backward-filter F(2x2,3x3).
// Stride-1 backward-input reaches the forward through the flipped kernel (operators/conv_plan.c).

#include "conv_winograd_transforms.h" // B^T and A^T of every variant, shared with the bf16 kernels

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
    const float *zero;    // the plan's zero row (at least Cp floats)
    int64_t TH, TW, T, TB, blocks, Cp, OCp, nob;
    SFX(task_scratch) scratch; // per task: V [P*P][TB][Cp], then M [P*P][TB][OCp]
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

/// The points GEMMs of one block of nt tiles: M[xi][t][OCp] = V[xi][t][Cp] x U[xi] for each transform
/// point xi, through the tile kernel with one tap of K = C (tiles past nt read the zero row).
static inline ALWAYS TGT void SFX(wino_gemms)(const SFX(wino_ctx) *c, int points, const float *V, float *M, int nt) {
    const i2i_conv_shape *s = c->s;
    const int64_t Cp = c->Cp, OCp = c->OCp, TB = c->TB;
    int tapK = s->C;
    int64_t tapW = 0;
    for (int xi = 0; xi < points; xi++) {
        for (int64_t ob = 0; ob < c->nob; ob++) {
            const float *Ub = c->U + ((int64_t)xi * c->nob + ob) * s->C * NR;
            for (int m0 = 0; m0 < nt; m0 += MR) {
                const float *ptr[MR];
                float *out[MR];
                for (int p = 0; p < MR; p++) {
                    int t = m0 + p;
                    ptr[p] = t < nt ? V + ((int64_t)xi * TB + t) * Cp : c->zero;
                    out[p] = t < nt ? M + ((int64_t)xi * TB + t) * OCp + ob * NR : NULL;
                }
                conv_tile_kernel_(1, &tapK, &tapW, ptr, Ub, NULL, out, NR);
            }
        }
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
    float *own, *V = SFX(task_scratch_take)(&c->scratch, &own); // [16][TB][Cp]
    float *M = V + 16 * TB * Cp;                                   // [16][TB][OCp]
    const float *zero = c->zero;
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
                UNROLL for (int j = 0; j < 4; j++)
                    WINO2_BT(d[0][j], d[1][j], d[2][j], d[3][j], tt[0][j], tt[1][j], tt[2][j], tt[3][j]);
                UNROLL for (int i = 0; i < 4; i++) {
                    float *dst = V + ((int64_t)(i * 4) * TB + t) * Cp + k;
                    VT v[4];
                    WINO2_BT(tt[i][0], tt[i][1], tt[i][2], tt[i][3], v[0], v[1], v[2], v[3]);
                    UNROLL for (int j = 0; j < 4; j++) VSTORE(dst + j * TB * Cp, v[j]);
                }
            }
        }
        SFX(wino_gemms)(c, 16, V, M, nt); // 16 GEMMs through the tile kernel
        // Output transform, vectors over OC; bias added here.
        for (int t = 0; t < nt; t++) {
            int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            int oh0 = (int)th * 2, ow0 = (int)tw * 2;
            for (int64_t k = 0; k < s->OC; k += VW) {
                VT m[4][4], q[2][4];
                UNROLL for (int xi = 0; xi < 16; xi++) m[xi / 4][xi % 4] = VLOAD(M + ((int64_t)xi * TB + t) * OCp + k);
                UNROLL for (int j = 0; j < 4; j++) WINO2_AT(m[0][j], m[1][j], m[2][j], m[3][j], q[0][j], q[1][j]);
                VT bias = c->bp ? VLOAD(c->bp + k) : VZERO();
                const int nvalid = s->OC - k < VW ? (int)(s->OC - k) : VW;
                UNROLL for (int i = 0; i < 2; i++) {
                    VT o[2];
                    WINO2_AT(q[i][0], q[i][1], q[i][2], q[i][3], o[0], o[1]);
                    o[0] = o[0] + bias;
                    o[1] = o[1] + bias;
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
    i2i_ws_free(own);
}

// MARK: - Winograd F(4x4, 3x3), stride 1

// As F(2x2,3x3) with 4x4 output tiles from 6x6 input tiles (points 0, +-1, +-2, inf; Lavin & Gray):
// 36 GEMMs, 4x fewer multiplies than direct 3x3, relative error ~1e-6..1e-5 in float.
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]

/// G a over one dimension for the 6x6-tile variants: o[0..5] from a[0..K-1] for a K-tap kernel, K = 3
/// (F(4x4,3x3)), 4 (F(3x3,4x4)) or 2 (F(5x5,2x2)); the rows of each G below, with q4 = 1/4,
/// q6 = -1/6, q24 = 1/24, q12 = 1/12, p6 = 1/6, p3 = 1/3 in scope.
#define WINO6_G(K, a, o)                                                        \
    do {                                                                        \
        if ((K) == 3) {                                                         \
            o[0] = q4 * a[0];                                                   \
            o[1] = q6 * (a[0] + a[1] + a[2]);                                   \
            o[2] = q6 * (a[0] - a[1] + a[2]);                                   \
            o[3] = q24 * a[0] + q12 * a[1] + p6 * a[2];                         \
            o[4] = q24 * a[0] - q12 * a[1] + p6 * a[2];                         \
            o[5] = a[2];                                                        \
        } else if ((K) == 4) {                                                  \
            o[0] = q4 * a[0];                                                   \
            o[1] = q6 * (a[0] + a[1] + a[2] + a[3]);                            \
            o[2] = q6 * (a[0] - a[1] + a[2] - a[3]);                            \
            o[3] = q24 * a[0] + q12 * a[1] + p6 * a[2] + p3 * a[3];             \
            o[4] = q24 * a[0] - q12 * a[1] + p6 * a[2] - p3 * a[3];             \
            o[5] = a[3];                                                        \
        } else {                                                                \
            o[0] = q4 * a[0];                                                   \
            o[1] = q6 * (a[0] + a[1]);                                          \
            o[2] = q6 * (a[0] - a[1]);                                          \
            o[3] = q24 * a[0] + q12 * a[1];                                     \
            o[4] = q24 * a[0] - q12 * a[1];                                     \
            o[5] = a[1];                                                        \
        }                                                                       \
    } while (0)

/// U = G g G^T of every (input channel, output channel) pair for the 6x6-tile variants with K x K
/// kernels (see WINO6_G), vectors over OC (NR is a multiple of VW). K = 2 is the space-to-depth 2x2
/// kernel of a 4x4 stride-2 conv: its channel ci = (r*2+q)*C + c reads w[2a+r][2b+q][c] of the
/// original 4x4 kernel (c->s has 4C channels).
static inline ALWAYS TGT void SFX(wino6_weights_run)(void *vctx, int64_t begin, int64_t end, const int K) {
    SFX(wino_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const VT q4 = VBCAST(1.0f / 4), q6 = VBCAST(-1.0f / 6), q24 = VBCAST(1.0f / 24), q12 = VBCAST(1.0f / 12),
             p6 = VBCAST(1.0f / 6), p3 = VBCAST(1.0f / 3);
    (void)p6; (void)p3; // unused for K = 2
    const int64_t C0 = K == 2 ? s->C / 4 : s->C; // channels of the kernel in c->w
    for (int64_t ci = begin; ci < end; ci++) {
        const int64_t rq = ci / C0, c0 = ci % C0, r = rq / 2, q = rq % 2;
        for (int64_t oc = 0; oc < s->OC; oc += VW) {
            const int rem = s->OC - oc < VW ? (int)(s->OC - oc) : VW;
            VT g[4][4], t[6][4];
            for (int a = 0; a < K; a++)
                for (int b = 0; b < K; b++) {
                    const int64_t tap = K == 2 ? (2 * a + r) * 4 + (2 * b + q) : a * K + b;
                    g[a][b] = VLOADN(c->w + (tap * C0 + (K == 2 ? c0 : ci)) * s->OC + oc, rem);
                }
            UNROLL for (int j = 0; j < K; j++) {
                VT col[4], o[6];
                UNROLL for (int k = 0; k < K; k++) col[k] = g[k][j];
                WINO6_G(K, col, o);
                UNROLL for (int i = 0; i < 6; i++) t[i][j] = o[i];
            }
            const int64_t ob = oc / NR, rr = oc % NR;
            float *dst = c->U + (ob * s->C + ci) * NR + rr;
            const int64_t xstride = c->nob * s->C * NR;
            UNROLL for (int i = 0; i < 6; i++) {
                VT u[6];
                WINO6_G(K, t[i], u);
                UNROLL for (int j = 0; j < 6; j++) VSTORE(dst + (i * 6 + j) * xstride, u[j]); // padded lanes: 0
            }
        }
    }
}

static TGT void SFX(wino4_weights_task)(void *c, int64_t begin, int64_t end) {
    SFX(wino6_weights_run)(c, begin, end, 3);
}

/// The 6x6-tile Winograd forward, m x m outputs per tile: F(4x4,3x3) (m = 4), F(3x3,4x4) (m = 3) or
/// F(5x5,2x2) (m = 5).
static inline ALWAYS TGT void SFX(wino6_run)(void *vctx, int64_t begin, int64_t end, const int m) {
    SFX(wino_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t Cp = c->Cp, OCp = c->OCp, TB = c->TB;
    float *own, *V = SFX(task_scratch_take)(&c->scratch, &own); // [36][TB][Cp]
    float *M = V + 36 * TB * Cp;                                   // [36][TB][OCp]
    const float *zero = c->zero;
    for (int64_t blk = begin; blk < end; blk++) {
        const int64_t t0 = blk * TB;
        const int nt = c->T - t0 < TB ? (int)(c->T - t0) : (int)TB;
        for (int t = 0; t < nt; t++) {
            int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            const float *src[6][6];
            SFX(wino_patch)(s, c->x, n, th * m, tw * m, 6, zero, &src[0][0]);
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
        SFX(wino_gemms)(c, 36, V, M, nt);
        for (int t = 0; t < nt; t++) {
            int64_t tile = t0 + t, tw = tile % c->TW, r = tile / c->TW, th = r % c->TH, n = r / c->TH;
            int oh0 = (int)th * m, ow0 = (int)tw * m;
            for (int64_t k = 0; k < s->OC; k += VW) {
                VT q[5][6];
                UNROLL for (int j = 0; j < 6; j++) { // columns: q[.][j] = A^T mm[.][j]
                    VT mm[6], o[5];
                    UNROLL for (int i = 0; i < 6; i++) mm[i] = VLOAD(M + ((int64_t)(i * 6 + j) * TB + t) * OCp + k);
                    WINO6_AT(m, mm, o);
                    UNROLL for (int i = 0; i < m; i++) q[i][j] = o[i];
                }
                VT bias = c->bp ? VLOAD(c->bp + k) : VZERO();
                const int nvalid = s->OC - k < VW ? (int)(s->OC - k) : VW;
                UNROLL for (int i = 0; i < m; i++) {
                    if (oh0 + i >= s->OH) break;
                    VT o[5];
                    WINO6_AT(m, q[i], o);
                    UNROLL for (int j = 0; j < m; j++) {
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
    i2i_ws_free(own);
}

static TGT void SFX(wino4_task)(void *c, int64_t begin, int64_t end) { SFX(wino6_run)(c, begin, end, 4); }

// MARK: - Winograd F(3x3, 4x4), stride 1

// The 4x4 stride-1 layers of PatchGAN: F(3x3,4x4) on the same 6x6 tiles and points as F(4x4,3x3)
// (so the same B^T), 36 multiplies per 9 outputs against 144 direct (4x fewer). With
// f = [4, -6, -6, 24, 24] (the products of point differences of 0, 1, -1, 2, -2):
//   G   = [1/4 0 0 0; -1/6 -1/6 -1/6 -1/6; -1/6 1/6 -1/6 1/6; 1/24 1/12 1/6 1/3; 1/24 -1/12 1/6 -1/3; 0 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 1]

static TGT void SFX(wino34_weights_task)(void *c, int64_t begin, int64_t end) {
    SFX(wino6_weights_run)(c, begin, end, 4);
}

static TGT void SFX(wino34_task)(void *c, int64_t begin, int64_t end) { SFX(wino6_run)(c, begin, end, 3); }

// MARK: - 4x4 stride 2: space-to-depth, then Winograd F(5x5, 2x2)

// The encoder layers of U-Net and PatchGAN. With x' = x (zero-padded) regrouped into 2x2 pixel blocks,
// x'[n][i][j][(r*2+q)*C + c] = x[n][2i+r-padT][2j+q-padL][c], the stride-2 4x4 conv is a stride-1 2x2
// conv over 4C channels with w'[a][b][(r*2+q)*C + c] = w[2a+r][2b+q][c]; that one runs F(5x5,2x2) on
// the 6x6 tiles and points of F(4x4,3x3): 36 multiplies per 25 outputs against 100 (2.8x fewer).
//   G   = [1/4 0; -1/6 -1/6; -1/6 1/6; 1/24 1/12; 1/24 -1/12; 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 0; 0 1 1 16 16 1]
// c->s is the 2x2 conv's shape s'; c->w the original 4x4 weights (C = s'->C / 4).

static TGT void SFX(wino52_weights_task)(void *c, int64_t begin, int64_t end) {
    SFX(wino6_weights_run)(c, begin, end, 2);
}

static TGT void SFX(wino52_task)(void *c, int64_t begin, int64_t end) { SFX(wino6_run)(c, begin, end, 5); }

/// The 2x2 stride-1 conv over x' that equals the 4x4 stride-2 conv s.
static i2i_conv_shape SFX(s2d_shape)(const i2i_conv_shape *s) {
    i2i_conv_shape t = *s;
    t.H = s->OH + 1; t.W = s->OW + 1; t.C = 4 * s->C;
    t.KH = t.KW = 2; t.strideH = t.strideW = 1; t.padT = t.padL = t.padB = t.padR = 0;
    return t;
}

typedef struct {
    const i2i_conv_shape *s, *t;
    const float *x;
    float *xs;
} SFX(s2d_ctx);

static void SFX(s2d_task)(void *vctx, int64_t begin, int64_t end) {
    const SFX(s2d_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s, *t = c->t;
    const size_t row = sizeof(float) * (size_t)s->C;
    for (int64_t k = begin; k < end; k++) { // k = n * H' + i
        const int64_t n = k / t->H, i = k % t->H;
        float *dst = c->xs + k * t->W * t->C;
        for (int64_t j = 0; j < t->W; j++)
            for (int r = 0; r < 2; r++)
                for (int q = 0; q < 2; q++, dst += s->C) {
                    const int64_t ih = 2 * i + r - s->padT, iw = 2 * j + q - s->padL;
                    if (ih >= 0 && ih < s->H && iw >= 0 && iw < s->W)
                        memcpy(dst, c->x + ((n * s->H + ih) * s->W + iw) * s->C, row);
                    else
                        memset(dst, 0, row);
                }
    }
}

// MARK: - Winograd forward entry points

// Variants: F(2x2,3x3) (4x4 tiles), F(4x4,3x3), F(3x3,4x4) and F(5x5,2x2) (6x6 tiles).
enum { WINO_F2K3, WINO_F4K3, WINO_F3K4, WINO_F5K2 };
static inline int SFX(wino_tile)(int v) { return v == WINO_F2K3 ? 4 : 6; }
static inline int SFX(wino_outputs)(int v) {
    return v == WINO_F2K3 ? 2 : (v == WINO_F4K3 ? 4 : (v == WINO_F3K4 ? 3 : 5));
}

/// The context of Winograd variant v; U unset.
static SFX(wino_ctx) SFX(wino_setup)(const i2i_conv_shape *s, int v) {
    SFX(wino_ctx) c = {0};
    c.s = s;
    const int m = SFX(wino_outputs)(v);
    c.TH = (s->OH + m - 1) / m; c.TW = (s->OW + m - 1) / m;
    c.T = (int64_t)s->N * c.TH * c.TW;
    // Blocks of at most I2I_WINOGRAD_TILE_BLOCK_MR * MR tiles, as many as a multiple of the thread
    // count, and equal: the threads split the blocks, and a 31x31 output (121 tiles of 3x3) in blocks of
    // 48 left one thread idle a third of the time. (Not necessarily whole MR tiles: the last kernel
    // call of a block runs part-empty.)
    const int64_t threads = i2i_get_num_threads() > 0 ? i2i_get_num_threads() : 1;
    int64_t nblocks = SFX(cdiv)(c.T, (int64_t)I2I_WINOGRAD_TILE_BLOCK_MR * MR);
    nblocks = SFX(cdiv)(nblocks, threads) * threads;
    c.TB = SFX(cdiv)(c.T, nblocks);
    if (c.TB < 1) c.TB = 1;
    c.blocks = SFX(cdiv)(c.T, c.TB);
    c.nob = SFX(cdiv)(s->OC, NR);
    c.Cp = SFX(cdiv)(s->C, VW) * VW;
    c.OCp = c.nob * NR;
    return c;
}

/// Floats of U, the transformed and packed weights: [P*P][OC/NR][C][NR].
static int64_t SFX(wino_packed_floats)(const i2i_conv_shape *s, int v) {
    const int64_t P = SFX(wino_tile)(v);
    return P * P * SFX(cdiv)(s->OC, NR) * s->C * NR;
}

/// U = G g G^T of every (c, oc), packed for the tile kernel (a plan does this once per weight change).
static void SFX(wino_pack)(const i2i_conv_shape *s, int v, const float *w, float *U) {
    SFX(wino_ctx) c = SFX(wino_setup)(s, v);
    c.w = w; c.U = U;
    memset(U, 0, sizeof(float) * (size_t)SFX(wino_packed_floats)(s, v));
    i2i_parallel_for(s->C, 1, v == WINO_F2K3 ? SFX(wino_weights_task)
                              : v == WINO_F4K3 ? SFX(wino4_weights_task)
                              : v == WINO_F3K4 ? SFX(wino34_weights_task) : SFX(wino52_weights_task), &c);
}

static void SFX(wino_forward)(const i2i_conv_shape *s, int v, const float *x, const float *U, const float *b,
                              float *y, const float *zero) {
    SFX(wino_ctx) c = SFX(wino_setup)(s, v);
    c.x = x; c.b = b; c.y = y; c.U = (float *)U; c.zero = zero;
    c.bp = SFX(alloc_floats)(c.OCp);
    for (int64_t o = 0; o < c.OCp; o++) c.bp[o] = (b && o < s->OC) ? b[o] : 0.0f;
    const int64_t P = SFX(wino_tile)(v);
    SFX(task_scratch_init)(&c.scratch, P * P * c.TB * (c.Cp + c.OCp));
    i2i_parallel_for(c.blocks, 1, v == WINO_F2K3 ? SFX(wino_task) : v == WINO_F4K3 ? SFX(wino4_task)
                                  : v == WINO_F3K4 ? SFX(wino34_task) : SFX(wino52_task), &c);
    SFX(task_scratch_free)(&c.scratch);
    i2i_ws_free(c.bp);
}

/// The 4x4 stride-2 forward: x regrouped into x' (a workspace), then F(5x5,2x2) over it.
static void SFX(wino_s2k4_forward)(const i2i_conv_shape *s, const float *x, const float *U, const float *b,
                                   float *y, const float *zero) {
    const i2i_conv_shape t = SFX(s2d_shape)(s);
    float *xs = SFX(alloc_floats)((int64_t)t.N * t.H * t.W * t.C);
    SFX(s2d_ctx) c = {s, &t, x, xs};
    i2i_parallel_for((int64_t)t.N * t.H, 1, SFX(s2d_task), &c);
    SFX(wino_forward)(&t, WINO_F5K2, xs, U, b, y, zero);
    i2i_ws_free(xs);
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
    int accumulate;           // the output pass adds to dw (else stores)
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
            UNROLL for (int j = 0; j < 4; j++)
                WINO2_BT(d[0][j], d[1][j], d[2][j], d[3][j], tt[0][j], tt[1][j], tt[2][j], tt[3][j]);
            UNROLL for (int i = 0; i < 4; i++)
                WINO2_BT(tt[i][0], tt[i][1], tt[i][2], tt[i][3], v[i * 4 + 0], v[i * 4 + 1], v[i * 4 + 2], v[i * 4 + 3]);
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
        SFX(bwdw_oc_kernel)(c->nt, A, B, dUt, c->OCp, MR, NR, c->t0 == 0); // dU padded: whole tiles only
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
                    if (c->accumulate) for (int l = 0; l < nvalid; l++) dst[l] += tmp[l];
                    else for (int l = 0; l < nvalid; l++) dst[l] = tmp[l];
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
    if (c.T == 0) memset(c.dU, 0, sizeof(float) * (size_t)(16 * c.nct * MR * c.OCp)); // else the first chunk writes it
    for (c.t0 = 0; c.t0 < c.T; c.t0 += c.TC) {
        c.nt = c.T - c.t0 < c.TC ? (int)(c.T - c.t0) : (int)c.TC;
        i2i_parallel_for(c.nt, 1, SFX(winow_transform_task), &c);
        i2i_parallel_for(16 * c.nct * c.nob, 1, SFX(winow_gemm_task), &c);
    }
    c.accumulate = accumulate;
    c.x = dw;
    i2i_parallel_for(s->C, 1, SFX(winow_output_task), &c);
    i2i_ws_free(c.V); i2i_ws_free(c.Z); i2i_ws_free(c.dU);
}
