// Conv plans: one per conv shape and instruction set, made once and reused by the forward, the
// backward-input and the backward-filter. A plan holds
//   - the algorithm of each pass, from i2i_conv_choose below (the one function that decides);
//   - the weights packed in the layout each algorithm reads, tagged with the weights' generation and
//     packed again only when that changes (once per optimizer step in training, once in inference);
//   - the zero row the tap lists point at in the padding.
// The one-call entry points (i2i_conv2d_forward, ...) run a temporary plan: they pack on every call.
#include "_CKernels.h"
#include "conv_internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// MARK: - The algorithm choice

// Winograd pays when the GEMMs dominate its transforms: the transforms cost ~C + OC work per tile
// point against C * OC for the GEMM, so with fewer than 16 channels on either side the direct
// kernels win (measured: 3x3 3->64 and 64->3 are faster direct on every ISA).
#define WINOGRAD_MIN_CHANNELS 16
// F(4x4,3x3) needs 6x6 input tiles; on outputs smaller than 8x8 most of a tile is padding, and
// F(2x2,3x3) wastes less.
#define WINOGRAD_F4_MIN_OUTPUT 8
// F(3x3,4x4) for 4x4 stride-1 layers (PatchGAN's last two): 4x fewer multiplies on 6x6 tiles of 3x3
// outputs; below 6x6 outputs the padded tiles eat the gain.
#define WINOGRAD_F3K4_MIN_OUTPUT 6
// 4x4 stride-2 layers (U-Net's and PatchGAN's encoders) run as a 2x2 stride-1 conv over 2x2 pixel
// blocks (4C channels) with F(5x5,2x2): 2.8x fewer multiplies for the cost of regrouping the input;
// 5x5-output tiles need outputs of at least 5x5. The regrouped input has 4C channels, so C >= 4.
#define WINOGRAD_S2K4_MIN_OUTPUT 5
// ... and enough 5x5 tiles per thread: with few tiles the transformed weights (36 x 4C x OC floats)
// are streamed for too little work. Measured on the U-Net and PatchGAN layers, 2 threads: 128->256 at
// 64x64 (49 tiles) is 1.3x slower than direct with AVX2 (6x16 register tile) but 1.3x faster with
// AVX-512 (12x32); 64->128 at 128x128 (169 tiles) is faster with both.
#define WINOGRAD_S2K4_MIN_TILES_PER_THREAD_AVX512 16
#define WINOGRAD_S2K4_MIN_TILES_PER_THREAD_OTHER 48
// Stride-1 backward-input as the forward of the flipped kernel (C and OC swapped) costs a transpose
// of the weights (once per weight change in a plan) and gains the forward's algorithms: Winograd for
// 3x3, and merged kernel rows (KW*OC contiguous floats per tap), which matter when OC or C is small.
// With both at least this large and no Winograd, the stride-phase kernels are as fast without the
// second copy of the weights (4x4 256->512 at 32x32).
#define FLIP_MAX_CHANNELS 64
// The phase kernels keep the phases in a fixed array; larger strides are not in any network we ship
// and run the naive loop.
#define MAX_PHASES 64

/// The Winograd forward for s under mode `winograd` (see i2i_set_winograd) on `isa`, or -1.
static int winograd_forward(const i2i_conv_shape *s, int winograd, const char *isa) {
    if (winograd >= 4 && s->KH == 4 && s->KW == 4 && s->strideH == 2 && s->strideW == 2 &&
        4 * s->C >= WINOGRAD_MIN_CHANNELS && s->OC >= WINOGRAD_MIN_CHANNELS && s->OH >= WINOGRAD_S2K4_MIN_OUTPUT &&
        s->OW >= WINOGRAD_S2K4_MIN_OUTPUT) {
        const int64_t tiles = (int64_t)s->N * ((s->OH + 4) / 5) * ((s->OW + 4) / 5);
        const int64_t threads = i2i_get_num_threads() > 0 ? i2i_get_num_threads() : 1;
        const int64_t minPerThread = !strcmp(isa, "avx512") ? WINOGRAD_S2K4_MIN_TILES_PER_THREAD_AVX512
                                                             : WINOGRAD_S2K4_MIN_TILES_PER_THREAD_OTHER;
        return tiles >= minPerThread * threads ? I2I_FWD_WINOGRAD_S2K4 : -1;
    }
    if (!winograd || s->strideH != 1 || s->strideW != 1 || s->C < WINOGRAD_MIN_CHANNELS ||
        s->OC < WINOGRAD_MIN_CHANNELS)
        return -1;
    if (s->KH == 3 && s->KW == 3)
        return winograd >= 4 && s->OH >= WINOGRAD_F4_MIN_OUTPUT && s->OW >= WINOGRAD_F4_MIN_OUTPUT
                   ? I2I_FWD_WINOGRAD_F4K3 : I2I_FWD_WINOGRAD_F2K3;
    if (s->KH == 4 && s->KW == 4 && winograd >= 4 && s->OH >= WINOGRAD_F3K4_MIN_OUTPUT &&
        s->OW >= WINOGRAD_F3K4_MIN_OUTPUT)
        return I2I_FWD_WINOGRAD_F3K4;
    return -1;
}

/// The forward conv whose result is the backward-input of s at stride 1: dy as input, the kernel
/// flipped, C and OC swapped, the pads mirrored.
static i2i_conv_shape flipped_shape(const i2i_conv_shape *s) {
    i2i_conv_shape t = {0};
    t.N = s->N; t.H = s->OH; t.W = s->OW; t.C = s->OC; t.OC = s->C; t.KH = s->KH; t.KW = s->KW;
    t.strideH = t.strideW = 1;
    t.padT = s->KH - 1 - s->padT; t.padB = s->KH - 1 - s->padB;
    t.padL = s->KW - 1 - s->padL; t.padR = s->KW - 1 - s->padR;
    t.OH = s->H; t.OW = s->W;
    return t;
}

void i2i_conv_choose(const i2i_conv_shape *s, const char *isa, int winograd, int *fwd, int *bwdi, int *bwdw) {
    const int vw = !strcmp(isa, "avx512") ? 16 : (!strcmp(isa, "avx2") ? 8 : 4);
    if (!strcmp(isa, "reference")) { *fwd = I2I_FWD_REF; *bwdi = I2I_BWDI_REF; *bwdw = I2I_BWDW_REF; return; }
    // A dot kernel needs a reduction of at least one vector; the tile kernel takes the rest.
    const int fewOut = s->OC <= I2I_DOT_MAX_OUT && s->KW * s->C >= vw;
    const int wino = winograd_forward(s, winograd, isa);
    *fwd = wino >= 0 ? wino : (fewOut ? I2I_FWD_DOT : I2I_FWD_TILE);

    const int stride1 = s->strideH == 1 && s->strideW == 1 && s->padT < s->KH && s->padB < s->KH &&
                        s->padL < s->KW && s->padR < s->KW;
    const i2i_conv_shape flipped = flipped_shape(s);
    const int flipWino = stride1 && winograd_forward(&flipped, winograd, isa) >= 0;
    if (stride1 && s->KW * s->OC >= 8 && (flipWino || s->OC < FLIP_MAX_CHANNELS || s->C < FLIP_MAX_CHANNELS))
        *bwdi = I2I_BWDI_FLIP;
    else if (s->strideH * s->strideW > MAX_PHASES) *bwdi = I2I_BWDI_REF;
    else if (s->C <= I2I_DOT_MAX_OUT && s->OC >= vw) *bwdi = I2I_BWDI_DOT;
    else *bwdi = I2I_BWDI_TILE;

    if (wino == I2I_FWD_WINOGRAD_F2K3 || wino == I2I_FWD_WINOGRAD_F4K3) *bwdw = I2I_BWDW_WINOGRAD_F2K3;
    else *bwdw = fewOut ? I2I_BWDW_DOT : I2I_BWDW_TILE;
}

// MARK: - Plans

struct i2i_conv_plan {
    i2i_conv_shape s;
    const i2i_conv_kernels *k;  // the table bound at creation (k->forward NULL: the naive loops)
    int fwd, bwdi, bwdw;        // algorithms
    float *zero;
    int64_t zeroFloats;
    pthread_mutex_t lock;       // one call at a time: the packed weights are shared state
    float *fwdPacked;
    uint64_t fwdGen;            // generation of the weights fwdPacked holds (0: none)
    const float *fwdW;
    float *bwdiPacked;
    uint64_t bwdiGen;
    const float *bwdiW;
    i2i_conv_plan *flip;        // I2I_BWDI_FLIP: the plan of the flipped forward conv
    uint16_t *bf16Packed;       // the bf16 inference forward's weights (conv_bf16.c)
    uint64_t bf16Gen;
    const float *bf16W;
    int bf16Layout;
    int64_t repacks;
};

static _Atomic int64_t total_repacks;
static _Atomic uint64_t next_generation = 1;

uint64_t i2i_next_generation(void) { return atomic_fetch_add(&next_generation, 1); }
int64_t i2i_conv_repacks_total(void) { return total_repacks; }

static float *alloc_floats(int64_t n) {
    size_t bytes = ((size_t)(n > 0 ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

/// forwardOnly: the flipped plan of a backward-input, which runs only its forward (its own
/// backward-input would be the original conv again).
static i2i_conv_plan *plan_create(const i2i_conv_shape *s, int forwardOnly) {
    i2i_conv_plan *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->s = *s;
    p->k = i2i_conv_kernels_current();
    i2i_conv_choose(s, p->k->name, i2i_winograd_mode_get(), &p->fwd, &p->bwdi, &p->bwdw);
    // The tap lists read up to KW*C floats (forward), OC (phase kernels) or C rounded up to a vector
    // (Winograd) from the zero row; 64 more for the vector tails.
    int64_t z = (int64_t)s->KW * s->C;
    if (s->OC > z) z = s->OC;
    if (s->C + 16 > z) z = s->C + 16;
    p->zeroFloats = z + 64;
    p->zero = calloc((size_t)p->zeroFloats, sizeof(float));
    pthread_mutex_init(&p->lock, NULL);
    if (p->bwdi == I2I_BWDI_FLIP && !forwardOnly) {
        i2i_conv_shape t = flipped_shape(s);
        p->flip = plan_create(&t, 1);
    }
    return p;
}

i2i_conv_plan *i2i_conv_plan_create(const i2i_conv_shape *s) { return plan_create(s, 0); }

void i2i_conv_plan_destroy(i2i_conv_plan *p) {
    if (!p) return;
    i2i_conv_plan_destroy(p->flip);
    pthread_mutex_destroy(&p->lock);
    free(p->zero); free(p->fwdPacked); free(p->bwdiPacked); free(p->bf16Packed);
    free(p);
}

static int stale(uint64_t held, const float *heldW, uint64_t gen, const float *w) {
    return gen == 0 || held != gen || heldW != w;
}

/// Packs w for the forward unless the plan holds this generation already.
static void ensure_forward_packed(i2i_conv_plan *p, const float *w, uint64_t gen) {
    if (!p->k->forward || !stale(p->fwdGen, p->fwdW, gen, w)) return;
    if (!p->fwdPacked) p->fwdPacked = alloc_floats(p->k->forward_packed_floats(&p->s, p->fwd));
    p->k->forward_pack(&p->s, p->fwd, w, p->fwdPacked);
    p->fwdGen = gen; p->fwdW = w;
    p->repacks++;
    total_repacks++;
}

void i2i_conv_plan_forward(i2i_conv_plan *p, const float *x, const float *w, uint64_t wgen, const float *b, float *y) {
    pthread_mutex_lock(&p->lock);
    if (!p->k->forward) {
        i2i_conv2d_forward_ref(&p->s, x, w, b, y);
    } else {
        ensure_forward_packed(p, w, wgen);
        p->k->forward(&p->s, p->fwd, x, p->fwdPacked, b, y, p->zero);
    }
    pthread_mutex_unlock(&p->lock);
}

/// The flipped kernel, C and OC swapped, in tasks of one tap and 32 input channels (32x32 blocks:
/// both sides stay in L1). A 4x4 256->512 kernel is 8 MB each way.
typedef struct {
    const i2i_conv_shape *s;
    const float *w;
    float *wf;
} flip_ctx;

static void flip_task(void *vctx, int64_t begin, int64_t end) {
    const flip_ctx *f = vctx;
    const i2i_conv_shape *s = f->s;
    const int64_t cblocks = (s->C + 31) / 32;
    for (int64_t t = begin; t < end; t++) {
        const int64_t tap = t / cblocks, c0 = (t % cblocks) * 32, kh = tap / s->KW, kw = tap % s->KW;
        const float *src = f->w + ((s->KH - 1 - kh) * s->KW + (s->KW - 1 - kw)) * s->C * s->OC;
        float *dst = f->wf + (kh * s->KW + kw) * s->C * s->OC;
        for (int64_t o0 = 0; o0 < s->OC; o0 += 32)
            for (int64_t ci = c0; ci < c0 + 32 && ci < s->C; ci++)
                for (int64_t oc = o0; oc < o0 + 32 && oc < s->OC; oc++) dst[oc * s->C + ci] = src[ci * s->OC + oc];
    }
}

void i2i_conv_plan_backward_input(i2i_conv_plan *p, const float *dy, const float *w, uint64_t wgen, float *dx) {
    pthread_mutex_lock(&p->lock);
    const i2i_conv_shape *s = &p->s;
    if (!p->k->forward || p->bwdi == I2I_BWDI_REF) {
        i2i_conv2d_backward_input_ref(s, dy, w, dx);
    } else if (p->bwdi == I2I_BWDI_FLIP) {
        pthread_mutex_lock(&p->flip->lock);
        if (stale(p->flip->fwdGen, p->bwdiW, wgen, w)) {
            // The flipped weights live only until the flipped plan has packed them.
            const int64_t n = (int64_t)s->KH * s->KW * s->C * s->OC;
            float *wf = i2i_ws_alloc((size_t)n * sizeof(float));
            flip_ctx fc = {s, w, wf};
            i2i_parallel_for((int64_t)s->KH * s->KW * ((s->C + 31) / 32), 1, flip_task, &fc);
            p->flip->fwdGen = 0;
            ensure_forward_packed(p->flip, wf, wgen);
            p->flip->fwdW = NULL; // wf is gone: the generation alone identifies the weights from here
            p->bwdiW = w;
            i2i_ws_free(wf);
        }
        p->flip->k->forward(&p->flip->s, p->flip->fwd, dy, p->flip->fwdPacked, NULL, dx, p->flip->zero);
        pthread_mutex_unlock(&p->flip->lock);
    } else {
        if (p->k->backward_input_packed_floats(s, p->bwdi) > 0 && stale(p->bwdiGen, p->bwdiW, wgen, w)) {
            if (!p->bwdiPacked) p->bwdiPacked = alloc_floats(p->k->backward_input_packed_floats(s, p->bwdi));
            p->k->backward_input_pack(s, p->bwdi, w, p->bwdiPacked);
            p->bwdiGen = wgen; p->bwdiW = w;
            p->repacks++;
            total_repacks++;
        }
        p->k->backward_input(s, p->bwdi, dy, w, p->bwdiPacked, dx, p->zero);
    }
    pthread_mutex_unlock(&p->lock);
}

void i2i_conv_plan_backward_filter(i2i_conv_plan *p, const float *x, const float *dy, float *dw, float *db,
                                   int accumulate) {
    pthread_mutex_lock(&p->lock);
    if (!p->k->forward) i2i_conv2d_backward_filter_ref(&p->s, x, dy, dw, db, accumulate);
    else p->k->backward_filter(&p->s, p->bwdw, x, dy, dw, db, accumulate);
    pthread_mutex_unlock(&p->lock);
}

int64_t i2i_conv_plan_repacks(const i2i_conv_plan *p) { return p->repacks + (p->flip ? p->flip->repacks : 0); }

const char *i2i_conv_plan_algorithm(const i2i_conv_plan *p, int pass) {
    static const char *fwd[] = {"reference", "direct_tile", "direct_dot", "winograd_f2k3", "winograd_f4k3",
                                "winograd_f3k4", "winograd_s2k4"};
    static const char *bwdi[] = {"reference", "flipped_forward", "phase_tile", "phase_dot"};
    static const char *bwdw[] = {"reference", "gemm_tile", "gemm_dot", "winograd_f2k3"};
    switch (pass) {
    case 0: return fwd[p->fwd];
    case 1: return bwdi[p->bwdi];
    default: return bwdw[p->bwdw];
    }
}

void i2i_conv_plan_forward_bf16(i2i_conv_plan *p, const float *x, const float *w, uint64_t wgen, const float *b,
                                float *y) {
    pthread_mutex_lock(&p->lock);
    // The layout depends on the bf16 Winograd mode, which may change between calls.
    const int layout = i2i_conv_bf16_layout(&p->s);
    if (layout != p->bf16Layout || stale(p->bf16Gen, p->bf16W, wgen, w)) {
        if (layout != p->bf16Layout) { free(p->bf16Packed); p->bf16Packed = NULL; }
        if (!p->bf16Packed) {
            size_t bytes = ((size_t)i2i_conv_bf16_packed_count(&p->s) * sizeof(uint16_t) + 63) & ~(size_t)63;
            p->bf16Packed = aligned_alloc(64, bytes > 0 ? bytes : 64);
        }
        i2i_conv_bf16_pack(&p->s, w, p->bf16Packed);
        p->bf16Gen = wgen; p->bf16W = w; p->bf16Layout = layout;
        p->repacks++;
        total_repacks++;
    }
    i2i_conv_bf16_forward(&p->s, x, p->bf16Packed, b, y);
    pthread_mutex_unlock(&p->lock);
}

// MARK: - One call, no plan kept

void i2i_conv2d_forward(const i2i_conv_shape *s, const float *x, const float *w, const float *b, float *y) {
    i2i_conv_plan *p = i2i_conv_plan_create(s);
    i2i_conv_plan_forward(p, x, w, 0, b, y);
    i2i_conv_plan_destroy(p);
}

void i2i_conv2d_backward_input(const i2i_conv_shape *s, const float *dy, const float *w, float *dx) {
    i2i_conv_plan *p = i2i_conv_plan_create(s);
    i2i_conv_plan_backward_input(p, dy, w, 0, dx);
    i2i_conv_plan_destroy(p);
}

void i2i_conv2d_backward_filter(const i2i_conv_shape *s, const float *x, const float *dy, float *dw, float *db,
                                int accumulate) {
    i2i_conv_plan *p = i2i_conv_plan_create(s);
    i2i_conv_plan_backward_filter(p, x, dy, dw, db, accumulate);
    i2i_conv_plan_destroy(p);
}
