// Backward-filter, written once for every instruction set (included by conv_body.h): x is copied into
// a zero-padded buffer and each kernel row kh is a GEMM over the output pixels, (KW*C) x OC,
// vectorized over OC (tile) or, for few output channels, over KW*C (dot); small kernels run one GEMM
// over all KH*KW*C taps with x and dy read in place. The Winograd F(2x2,3x3)
// backward-filter is in conv_winograd.h.

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
    int64_t r0, r1;           // tile and in place: the current chunk of output rows
    float *B;                 // tile: dy of the chunk packed into [OC/NR][pixels][NR] panels
    int ipNV;                 // in place: vectors of output channels per block
    int accumulate;           // dw += (else dw =: the first chunk starts from zero, dw is not cleared)
    SFX(task_scratch) A;      // tile: per task, x of the chunk packed into a [pixels][MR] panel
} SFX(bwdw_ctx);

/// The chunk starting at output row r0 starts its dw tiles from zero instead of reading dw (the
/// first chunk of a non-accumulating call: dw is written once, never cleared and read back).
static inline int SFX(bwdw_fresh)(const SFX(bwdw_ctx) *c, int64_t r0) { return r0 == 0 && !c->accumulate; }

/// The next chunk of output rows: [*r0, *r1) moves on to the chunkRows rows after *r1 (at most up to
/// rows); 0 when none is left. Start with *r1 = 0: `for (r1 = 0; bwdw_next_chunk(c, &r0, &r1);)` runs
/// the chunks [0, chunkRows), [chunkRows, 2 chunkRows), ... in order (each dw element adds its chunks
/// in that order).
static inline int SFX(bwdw_next_chunk)(const SFX(bwdw_ctx) *c, int64_t *r0, int64_t *r1) {
    *r0 = *r1;
    if (*r0 >= c->rows) return 0;
    *r1 = *r0 + c->chunkRows < c->rows ? *r0 + c->chunkRows : c->rows;
    return 1;
}

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

/// dw[kh][j0 + (0:NVB*VW)][o0 + (0:NO)] += sum over pixels of xrow[j] * dyrow[o], vectors over j.
static inline ALWAYS TGT void SFX(bwdw_l_kernel)(int NO, int NVB, const SFX(bwdw_ctx) *c, int kh, int64_t r0,
                                                 int64_t r1, int64_t j0, int o0) {
    const int fresh = SFX(bwdw_fresh)(c, r0);
    const i2i_conv_shape *s = c->s;
    float *dwt = c->dw + (int64_t)kh * c->L * s->OC + j0 * s->OC + o0;
    const int64_t jvalid = c->L - j0 < (int64_t)NVB * VW ? c->L - j0 : (int64_t)NVB * VW;
    VT acc[DOT_MAX_OUT][12];
    UNROLL for (int o = 0; o < NO; o++) {
        UNROLL for (int v = 0; v < NVB; v++) {
            float tmp[VW];
            for (int l = 0; l < VW; l++) {
                int64_t j = (int64_t)v * VW + l;
                tmp[l] = j < jvalid && !fresh ? dwt[j * s->OC + o] : 0.0f;
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
    float *own, *A = SFX(task_scratch_take)(&c->A, &own);
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
        const int fresh = SFX(bwdw_fresh)(c, r0);
        if (mvalid == MR && nvalid == NR) // constants: no tail code in the hot instance
            SFX(bwdw_oc_kernel)(npix, A, c->B + ob * maxPix * NR, dwt, s->OC, MR, NR, fresh);
        else
            SFX(bwdw_oc_kernel)(npix, A, c->B + ob * maxPix * NR, dwt, s->OC, mvalid, nvalid, fresh);
    }
    i2i_ws_free(own);
}

/// In place (I2I_BWDW_INPLACE), for small kernels such as the 7x7 3->64 stem: the reduction index j
/// = (kh, kw, c) runs over the whole kernel, so the tiles of BWF_IP_MR rows waste at most a partial
/// tile per kernel (per kernel row wasted 1/8 of the stem's multiplies), and neither x nor dy is
/// packed: x is broadcast from the padded copy at each tile row's offset, dy is loaded from its pixel
/// rows (stride OC). With few reductions per dy panel, packing dy was a sixth of the stem's time.
#define BWF_IP_MR 6

/// dw[j0 + (0:BWF_IP_MR)][o0 + (0:NT*VW)] += sum over the chunk's pixels of x(pixel, j) * dy[pixel][o].
static inline ALWAYS TGT void SFX(bwdw_inplace_kernel)(int NT, const SFX(bwdw_ctx) *c, int64_t j0, int64_t o0) {
    const i2i_conv_shape *s = c->s;
    const int64_t J = (int64_t)s->KH * c->L;
    const int mvalid = J - j0 < BWF_IP_MR ? (int)(J - j0) : BWF_IP_MR;
    int64_t off[BWF_IP_MR]; // x offset of row j relative to the pixel's (kh = 0, kw = 0, c = 0)
    UNROLL for (int p = 0; p < BWF_IP_MR; p++) {
        const int64_t j = j0 + (p < mvalid ? p : 0);
        off[p] = (j / c->L) * c->Wp * s->C + j % c->L;
    }
    float *dwt = c->dw + j0 * s->OC + o0;
    VT acc[BWF_IP_MR][4];
    const int fresh = SFX(bwdw_fresh)(c, c->r0);
    UNROLL for (int p = 0; p < BWF_IP_MR; p++)
        UNROLL for (int v = 0; v < NT; v++) 
            acc[p][v] = p < mvalid && !fresh ? VLOAD(dwt + p * s->OC + v * VW) : VZERO();
    const int64_t xstep = (int64_t)s->strideW * s->C;
    for (int64_t row = c->r0; row < c->r1; row++) {
        const int64_t n = row / s->OH, oh = row % s->OH;
        const float *xr = c->xp + ((n * c->Hp + oh * s->strideH) * c->Wp) * s->C;
        const float *dr = c->dy + row * s->OW * s->OC + o0;
        for (int ow = 0; ow < s->OW; ow++, xr += xstep, dr += s->OC) {
            VT dv[4];
            UNROLL for (int v = 0; v < NT; v++) dv[v] = VLOAD(dr + v * VW);
            UNROLL for (int p = 0; p < BWF_IP_MR; p++) {
                const VT bx = VBCAST(xr[off[p]]);
                UNROLL for (int v = 0; v < NT; v++) acc[p][v] = VFMA(bx, dv[v], acc[p][v]);
            }
        }
    }
    UNROLL for (int p = 0; p < BWF_IP_MR; p++)
        if (p < mvalid) UNROLL for (int v = 0; v < NT; v++) VSTORE(dwt + p * s->OC + v * VW, acc[p][v]);
}

static TGT void SFX(backward_filter_inplace_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdw_ctx) *c = vctx;
    for (int64_t i = begin; i < end; i++) { // i = jtile * ob + oblock
        const int64_t j0 = (i / c->ob) * BWF_IP_MR, o0 = (i % c->ob) * c->ipNV * VW;
#if VW >= 16 // 4 x 6 accumulators need 32 vector registers
        if (c->ipNV == 4) { SFX(bwdw_inplace_kernel)(4, c, j0, o0); continue; }
#endif
        SFX(bwdw_inplace_kernel)(2, c, j0, o0);
    }
}

/// Vectors over KW*C (few output channels): reads x and dy in place.
static TGT void SFX(backward_filter_l_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(bwdw_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    for (int64_t r0, r1 = 0; SFX(bwdw_next_chunk)(c, &r0, &r1);) {
        for (int64_t i = begin; i < end; i++) { // i = (kh * jt + jtile) * ob + group
            int64_t ob = i % c->ob, jtile = (i / c->ob) % c->jt;
            int kh = (int)(i / (c->ob * c->jt));
            int o0 = (int)ob * 4, no = s->OC - o0 < 4 ? s->OC - o0 : 4;
            SFX(bwdw_l_kernel_any)(no, s->OC, c, kh, r0, r1, jtile * (int64_t)SFX(bwdw_l_vectors)(s->OC) * VW, o0);
        }
    }
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

/// dw (+)= the adjoint of conv in w, db (+)= sum of dy: I2I_BWDW_WINOGRAD_F2K3, I2I_BWDW_TILE (vectors
/// over OC) or I2I_BWDW_DOT (vectors over KW*C).
static TGT void SFX(backward_filter)(const i2i_conv_shape *s, int algo, const float *x, const float *dy, float *dw,
                                     float *db, int accumulate) {
    if (db) SFX(bias_grad)(s, dy, db, accumulate);
    if (algo == I2I_BWDW_WINOGRAD_F2K3) {
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
    c.accumulate = accumulate;
    c.rows = (int64_t)s->N * s->OH;
    // Every task of the first chunk writes its dw tile: dw is cleared only if there is no chunk.
    if (!accumulate && c.rows == 0) memset(dw, 0, sizeof(float) * (size_t)s->KH * c.L * s->OC);
    int64_t rowFloats = (int64_t)s->OW * s->OC + (int64_t)s->strideH * c.Wp * s->C;
    c.chunkRows = (I2I_BWDW_CHUNK_BYTES / 4) / (rowFloats > 0 ? rowFloats : 1);
    if (c.chunkRows < 1) c.chunkRows = 1;
    if (algo == I2I_BWDW_INPLACE) {
        // The chooser guarantees OC is a multiple of 2 vectors.
        c.ipNV = VW >= 16 && s->OC % (4 * VW) == 0 ? 4 : 2;
        c.jt = SFX(cdiv)((int64_t)s->KH * c.L, BWF_IP_MR);
        c.ob = s->OC / (c.ipNV * VW);
        for (c.r1 = 0; SFX(bwdw_next_chunk)(&c, &c.r0, &c.r1);) {
            i2i_parallel_for(c.jt * c.ob, 1, SFX(backward_filter_inplace_task), &c);
        }
    } else if (algo == I2I_BWDW_TILE) {
        c.jt = SFX(cdiv)(c.L, MR);
        c.ob = SFX(cdiv)(s->OC, NR);
        c.B = SFX(alloc_floats)(c.ob * c.chunkRows * s->OW * NR);
        SFX(task_scratch_init)(&c.A, c.chunkRows * s->OW * MR);
        for (c.r1 = 0; SFX(bwdw_next_chunk)(&c, &c.r0, &c.r1);) {
            const int64_t npix = (c.r1 - c.r0) * s->OW;
            i2i_parallel_for(c.ob * npix, 256, SFX(pack_dy_task), &c);
            SFX(task_scratch_reset)(&c.A);
            i2i_parallel_for((int64_t)s->KH * c.jt * c.ob, 1, SFX(backward_filter_oc_task), &c);
        }
        SFX(task_scratch_free)(&c.A);
        i2i_ws_free(c.B);
    } else {
        c.jt = SFX(cdiv)(c.L, (int64_t)SFX(bwdw_l_vectors)(s->OC) * VW);
        c.ob = (s->OC + 3) / 4;
        i2i_parallel_for((int64_t)s->KH * c.jt * c.ob, 1, SFX(backward_filter_l_task), &c);
    }
    i2i_ws_free(c.xp);
}
