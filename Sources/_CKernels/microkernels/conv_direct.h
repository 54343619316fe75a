// Direct convolutions, written once for every instruction set (included by conv_body.h after
// conv_common.h and conv_winograd.h): the forward (tile and dot kernels over tap lists) and the
// backward-input by stride phases of dx. Each algorithm has a pack step (run by a plan once per weight
// change) and a run step that reads the packed weights.

// MARK: - Forward

typedef struct {
    const i2i_conv_shape *s;
    const float *x, *w, *b;
    float *y;
    float *wp;          // packed weights (tile: [OC/NR][KH][KW][C][NR]; dot: [OC][KH][KW][C])
    float *bp;          // bias padded to whole blocks (tile) or NULL
    const float *wt;    // tile: the packed weights the kernel reads
    int64_t wks, wblk;  // tile: floats between k rows (NR) and between blocks
    const float *zero;  // a zero row of KW*C (or OC) floats
    int64_t tiles, blocks, P, bandTiles;
    int tileOuter;      // band_task's order within a band (from band_tiles)
    int khPer;          // kernel rows per pass over a block's weights (KH: one pass)
    int mr;             // pixels per tile
    int o0, no;         // dot: the output channels of this pass
} SFX(conv_ctx);

static TGT void SFX(pack_forward_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(conv_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t taps = (int64_t)s->KH * s->KW;
    for (int64_t i = begin; i < end; i++) { // i = block * taps + tap
        int64_t ob = i / taps, tap = i % taps;
        float *dst = c->wp + i * s->C * NR;
        const float *src = c->w + tap * s->C * s->OC;
        int nvalid = s->OC - (int)ob * NR < NR ? s->OC - (int)ob * NR : NR;
        if (nvalid == NR) { // whole blocks in vectors: a U-Net's 54M weights every optimizer step
            for (int ci = 0; ci < s->C; ci++) {
                const float *row = src + (int64_t)ci * s->OC + ob * NR;
                UNROLL for (int v = 0; v < NV; v++) VSTORE(dst + (int64_t)ci * NR + v * VW, VLOAD(row + v * VW));
            }
            continue;
        }
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
        SFX(band_task)(i, c->blocks, c->tiles, c->bandTiles, c->tileOuter, &ob, &tile);
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

static TGT void SFX(pack_dot_task)(void *vctx, int64_t begin, int64_t end) {
    SFX(conv_ctx) *c = vctx;
    const i2i_conv_shape *s = c->s;
    const int64_t taps = (int64_t)s->KH * s->KW;
    for (int64_t o = begin; o < end; o++)
        for (int64_t t = 0; t < taps; t++)
            for (int ci = 0; ci < s->C; ci++) c->wp[(o * taps + t) * s->C + ci] = c->w[(t * s->C + ci) * s->OC + o];
}

static int64_t SFX(forward_packed_floats)(const i2i_conv_shape *s, int algo) {
    const int64_t taps = (int64_t)s->KH * s->KW;
    switch (algo) {
    case I2I_FWD_WINOGRAD_F2K3: return SFX(wino_packed_floats)(s, WINO_F2K3);
    case I2I_FWD_WINOGRAD_F4K3: return SFX(wino_packed_floats)(s, WINO_F4K3);
    case I2I_FWD_WINOGRAD_F3K4: return SFX(wino_packed_floats)(s, WINO_F3K4);
    case I2I_FWD_WINOGRAD_S2K4: { i2i_conv_shape t = SFX(s2d_shape)(s); return SFX(wino_packed_floats)(&t, WINO_F5K2); }
    case I2I_FWD_DOT: return (int64_t)s->OC * taps * s->C;
    case I2I_FWD_TILE: return SFX(cdiv)(s->OC, NR) * taps * s->C * NR;
    default: return 0;
    }
}

/// The weights in the layout `algo` reads: Winograd U; dot [OC][KH][KW][C]; tile [OC/NR][KH][KW][C][NR]
/// (a tile's weight rows contiguous: read in place with row stride OC, the weights of a 512-channel
/// layer were 2 KB apart and a block's rows fell into a few cache sets, the 4x4 256->512 cliff).
static void SFX(forward_pack)(const i2i_conv_shape *s, int algo, const float *w, float *packed) {
    SFX(conv_ctx) c = {0};
    c.s = s; c.w = w; c.wp = packed;
    switch (algo) {
    case I2I_FWD_WINOGRAD_F2K3: SFX(wino_pack)(s, WINO_F2K3, w, packed); break;
    case I2I_FWD_WINOGRAD_F4K3: SFX(wino_pack)(s, WINO_F4K3, w, packed); break;
    case I2I_FWD_WINOGRAD_F3K4: SFX(wino_pack)(s, WINO_F3K4, w, packed); break;
    case I2I_FWD_WINOGRAD_S2K4: { i2i_conv_shape t = SFX(s2d_shape)(s); SFX(wino_pack)(&t, WINO_F5K2, w, packed); break; }
    case I2I_FWD_DOT: i2i_parallel_for(s->OC, 1, SFX(pack_dot_task), &c); break;
    case I2I_FWD_TILE:
        i2i_parallel_for(SFX(cdiv)(s->OC, NR) * s->KH * s->KW, 1, SFX(pack_forward_task), &c);
        break;
    default: break;
    }
}

/// y = conv(x, w) + b with the weights packed by forward_pack; zero: the plan's zero row.
static void SFX(forward)(const i2i_conv_shape *s, int algo, const float *x, const float *packed, const float *b,
                         float *y, const float *zero) {
    if (algo == I2I_FWD_WINOGRAD_F2K3) { SFX(wino_forward)(s, WINO_F2K3, x, packed, b, y, zero); return; }
    if (algo == I2I_FWD_WINOGRAD_F4K3) { SFX(wino_forward)(s, WINO_F4K3, x, packed, b, y, zero); return; }
    if (algo == I2I_FWD_WINOGRAD_F3K4) { SFX(wino_forward)(s, WINO_F3K4, x, packed, b, y, zero); return; }
    if (algo == I2I_FWD_WINOGRAD_S2K4) { SFX(wino_s2k4_forward)(s, x, packed, b, y, zero); return; }
    SFX(conv_ctx) c = {0};
    c.s = s; c.x = x; c.b = b; c.y = y; c.zero = zero;
    c.P = (int64_t)s->N * s->OH * s->OW;
    const int64_t taps = (int64_t)s->KH * s->KW;
    if (algo == I2I_FWD_DOT) {
        // Few output channels: reduce over KW*C in vectors, one parallel pass per group of <= 4.
        c.wp = (float *)packed;
        for (c.o0 = 0; c.o0 < s->OC; c.o0 += 4) {
            c.no = s->OC - c.o0 < 4 ? s->OC - c.o0 : 4;
            c.mr = DOT_MRD(c.no);
            c.tiles = SFX(cdiv)(c.P, c.mr);
            i2i_parallel_for(c.tiles, 1, SFX(forward_dot_task), &c);
        }
        return;
    }
    c.blocks = SFX(cdiv)(s->OC, NR);
    c.tiles = SFX(cdiv)(c.P, MR);
    c.wt = packed; c.wks = NR; c.wblk = taps * s->C * NR;
    if (b) {
        c.bp = SFX(alloc_floats)(c.blocks * NR);
        for (int64_t o = 0; o < c.blocks * NR; o++) c.bp[o] = o < s->OC ? b[o] : 0.0f;
    }
    c.bandTiles = SFX(band_tiles)(c.tiles, c.blocks, c.blocks * taps * s->C * NR * 4,
                                  (int64_t)MR * s->strideH * s->strideW * s->C * 4, &c.tileOuter);
    // Kernel rows per pass so that a block's weights of one pass stay within L2.
    const int64_t rowBytes = (int64_t)s->KW * s->C * NR * 4;
    c.khPer = (int)(I2I_TILE_WEIGHT_L2_BYTES / rowBytes);
    if (c.khPer < 1) c.khPer = 1;
    if (c.khPer > s->KH || c.bandTiles != c.tiles) c.khPer = s->KH;
    i2i_parallel_for(c.blocks * c.tiles, 1, SFX(forward_tile_task), &c);
    i2i_ws_free(c.bp);
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
    int tileOuter;
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
        SFX(band_task)(i, c->blocks, c->totalTiles, c->bandTiles, c->tileOuter, &cb, &tile);
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

static int64_t SFX(backward_input_packed_floats)(const i2i_conv_shape *s, int algo) {
    return algo == I2I_BWDI_TILE ? SFX(cdiv)(s->C, NR) * s->KH * s->KW * s->OC * NR : 0;
}

/// The weights in the layout of the phase tile kernel: [C/NR][KH][KW][OC][NR] (the dot kernel reads
/// w in place).
static void SFX(backward_input_pack)(const i2i_conv_shape *s, int algo, const float *w, float *packed) {
    if (algo != I2I_BWDI_TILE) return;
    SFX(bwdi_ctx) *c = calloc(1, sizeof(*c));
    c->s = s; c->w = w; c->wp = packed;
    i2i_parallel_for(SFX(cdiv)(s->C, NR) * s->KH * s->KW, 1, SFX(pack_backward_input_task), c);
    free(c);
}

/// dx = the adjoint of conv in x, one pass per stride phase of dx (I2I_BWDI_TILE, I2I_BWDI_DOT); the
/// flipped-kernel algorithm lives in operators/conv_plan.c. zero: at least OC floats of zeros.
static void SFX(backward_input)(const i2i_conv_shape *s, int algo, const float *dy, const float *w,
                                const float *packed, float *dx, const float *zero) {
    SFX(bwdi_ctx) *c = calloc(1, sizeof(*c)); // 64 phases: too large for the stack of a pool thread
    c->s = s; c->dy = dy; c->w = w; c->dx = dx; c->zero = zero;
    if (algo == I2I_BWDI_DOT) {
        for (c->o0 = 0; c->o0 < s->C; c->o0 += 4) {
            c->no = s->C - c->o0 < 4 ? s->C - c->o0 : 4;
            c->mr = DOT_MRD(c->no);
            c->nph = SFX(make_phases)(s, c->mr, c->ph, &c->totalTiles);
            i2i_parallel_for(c->totalTiles, 1, SFX(backward_input_dot_task), c);
        }
    } else {
        const int64_t taps = (int64_t)s->KH * s->KW;
        c->blocks = SFX(cdiv)(s->C, NR);
        c->nph = SFX(make_phases)(s, MR, c->ph, &c->totalTiles);
        c->wp = (float *)packed;
        c->bandTiles = SFX(band_tiles)(c->totalTiles, c->blocks, c->blocks * taps * s->OC * NR * 4,
                                        (int64_t)MR * s->OC * 4, &c->tileOuter);
        i2i_parallel_for(c->blocks * c->totalTiles, 1, SFX(backward_input_tile_task), c);
    }
    free(c);
}
