// Conv plans: one per conv shape and instruction set, made once and reused by the forward, the
// backward-input and the backward-filter. A plan holds
//   - the algorithm of each pass, from i2i_conv_choose below (the one function that decides);
//   - the weights packed in the layout each algorithm reads, tagged with the weights' generation and
//     packed again only when that changes (once per optimizer step in training, once in inference);
//   - the zero row the tap lists point at in the padding.
// The one-call entry points (i2i_conv2d_forward, ...) run a temporary plan: they pack on every call.
#include "_CKernels.h"
#include "../microkernels/conv_internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// MARK: - The algorithm choice (its thresholds, with the measurements behind them, are in
// dispatch/tuning.h)

// The phase kernels keep the phases in a fixed array; larger strides are not in any network we ship
// and run the naive loop.
#define MAX_PHASES 64

/// The Winograd forward for s under mode `winograd` (see i2i_set_winograd) on `isa`, or -1.
static int winograd_forward(const i2i_conv_shape *s, int winograd, const char *isa) {
    if (winograd >= 4 && s->KH == 4 && s->KW == 4 && s->strideH == 2 && s->strideW == 2 &&
        4 * s->C >= I2I_WINOGRAD_MIN_CHANNELS && s->OC >= I2I_WINOGRAD_MIN_CHANNELS && s->OH >= I2I_WINOGRAD_S2K4_MIN_OUTPUT &&
        s->OW >= I2I_WINOGRAD_S2K4_MIN_OUTPUT) {
        const int64_t tiles = (int64_t)s->N * ((s->OH + 4) / 5) * ((s->OW + 4) / 5);
        const int64_t threads = i2i_get_num_threads() > 0 ? i2i_get_num_threads() : 1;
        const int64_t minPerThread = !strcmp(isa, "avx512") ? I2I_WINOGRAD_S2K4_MIN_TILES_PER_THREAD_AVX512
                                                             : I2I_WINOGRAD_S2K4_MIN_TILES_PER_THREAD_OTHER;
        return tiles >= minPerThread * threads ? I2I_FWD_WINOGRAD_S2K4 : -1;
    }
    if (!winograd || s->strideH != 1 || s->strideW != 1 || s->C < I2I_WINOGRAD_MIN_CHANNELS ||
        s->OC < I2I_WINOGRAD_MIN_CHANNELS)
        return -1;
    if (s->KH == 3 && s->KW == 3)
        return winograd >= 4 && s->OH >= I2I_WINOGRAD_F4_MIN_OUTPUT && s->OW >= I2I_WINOGRAD_F4_MIN_OUTPUT
                   ? I2I_FWD_WINOGRAD_F4K3 : I2I_FWD_WINOGRAD_F2K3;
    if (s->KH == 4 && s->KW == 4 && winograd >= 4 && s->OH >= I2I_WINOGRAD_F3K4_MIN_OUTPUT &&
        s->OW >= I2I_WINOGRAD_F3K4_MIN_OUTPUT)
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
    if (stride1 && s->KW * s->OC >= 8 && (flipWino || s->OC < I2I_FLIP_MAX_CHANNELS || s->C < I2I_FLIP_MAX_CHANNELS))
        *bwdi = I2I_BWDI_FLIP;
    else if (s->strideH * s->strideW > MAX_PHASES) *bwdi = I2I_BWDI_REF;
    else if (s->C <= I2I_DOT_MAX_OUT && s->OC >= vw) *bwdi = I2I_BWDI_DOT;
    else *bwdi = I2I_BWDI_TILE;

    if (wino == I2I_FWD_WINOGRAD_F2K3 || wino == I2I_FWD_WINOGRAD_F4K3) *bwdw = I2I_BWDW_WINOGRAD_F2K3;
    else if (fewOut) *bwdw = I2I_BWDW_DOT;
    else if ((int64_t)s->KH * s->KW * s->C <= I2I_BWDW_INPLACE_MAX_TAPS && s->OC <= I2I_BWDW_INPLACE_MAX_OC &&
             s->OC % (2 * vw) == 0)
        *bwdw = I2I_BWDW_INPLACE;
    else *bwdw = I2I_BWDW_TILE;
}

// MARK: - Plans

/// Weights packed in one layout, tagged with what they were packed from: the weights' generation,
/// their address, and the layout (the bf16 layout depends on a setting that may change).
typedef struct {
    void *data;
    size_t bytes;
    uint64_t gen;               // 0: none held
    const float *src;
    int layout;
} packed_weights;

struct i2i_conv_plan {
    i2i_conv_shape s;
    const i2i_conv_kernels *k;  // the table bound at creation (k->forward NULL: the naive loops)
    int fwd, bwdi, bwdw;        // algorithms
    float *zero;
    int64_t zeroFloats;
    pthread_mutex_t lock;       // one call at a time: the packed weights are shared state
    packed_weights fwdW;        // the forward's layout (k->forward_pack)
    packed_weights bwdiW;       // the phase kernels' backward-input layout
    packed_weights bf16W;       // the bf16 inference forward's (conv_bf16.c)
    i2i_conv_plan *flip;        // I2I_BWDI_FLIP: the plan of the flipped forward conv
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
    free(p->zero); free(p->fwdW.data); free(p->bwdiW.data); free(p->bf16W.data);
    free(p);
}

/// Whether w (generation gen; 0: unknown, always pack) must be packed into pw in `layout`. If so,
/// makes room for `bytes`, records what pw will hold and counts a repack; the caller then packs into
/// pw->data. src may be other than the floats the caller packs from (the flipped backward-input
/// packs a transposed copy of w, gone after the call): it names the weights the result stands for.
static int needs_pack(i2i_conv_plan *p, packed_weights *pw, size_t bytes, int layout, const float *w, uint64_t gen) {
    if (gen != 0 && pw->gen == gen && pw->src == w && pw->layout == layout && pw->data) return 0;
    if (!pw->data || pw->bytes < bytes || pw->layout != layout) {
        free(pw->data);
        pw->bytes = (bytes + 63) & ~(size_t)63;
        pw->data = aligned_alloc(64, pw->bytes > 0 ? pw->bytes : 64);
    }
    pw->gen = gen; pw->src = w; pw->layout = layout;
    p->repacks++;
    total_repacks++;
    return 1;
}

static size_t forward_bytes(const i2i_conv_plan *p) {
    return (size_t)p->k->forward_packed_floats(&p->s, p->fwd) * sizeof(float);
}

void i2i_conv_plan_forward(i2i_conv_plan *p, const float *x, const float *w, uint64_t wgen, const float *b, float *y) {
    pthread_mutex_lock(&p->lock);
    if (!p->k->forward) {
        i2i_conv2d_forward_ref(&p->s, x, w, b, y);
    } else {
        if (needs_pack(p, &p->fwdW, forward_bytes(p), p->fwd, w, wgen))
            p->k->forward_pack(&p->s, p->fwd, w, p->fwdW.data);
        p->k->forward(&p->s, p->fwd, x, p->fwdW.data, b, y, p->zero);
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
        i2i_conv_plan *f = p->flip;
        pthread_mutex_lock(&f->lock);
        if (needs_pack(f, &f->fwdW, forward_bytes(f), f->fwd, w, wgen)) {
            // The flipped weights live only until the flipped plan has packed them.
            const int64_t n = (int64_t)s->KH * s->KW * s->C * s->OC;
            float *wf = i2i_ws_alloc((size_t)n * sizeof(float));
            flip_ctx fc = {s, w, wf};
            i2i_parallel_for((int64_t)s->KH * s->KW * ((s->C + 31) / 32), 1, flip_task, &fc);
            f->k->forward_pack(&f->s, f->fwd, wf, f->fwdW.data);
            i2i_ws_free(wf);
        }
        f->k->forward(&f->s, f->fwd, dy, f->fwdW.data, NULL, dx, f->zero);
        pthread_mutex_unlock(&f->lock);
    } else {
        const int64_t floats = p->k->backward_input_packed_floats(s, p->bwdi);
        if (floats > 0 && needs_pack(p, &p->bwdiW, (size_t)floats * sizeof(float), p->bwdi, w, wgen))
            p->k->backward_input_pack(s, p->bwdi, w, p->bwdiW.data);
        p->k->backward_input(s, p->bwdi, dy, w, p->bwdiW.data, dx, p->zero);
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
    static const char *bwdw[] = {"reference", "gemm_tile", "gemm_dot", "winograd_f2k3", "gemm_inplace"};
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
    const size_t bytes = (size_t)i2i_conv_bf16_packed_count(&p->s) * sizeof(uint16_t);
    if (needs_pack(p, &p->bf16W, bytes, i2i_conv_bf16_layout(&p->s), w, wgen))
        i2i_conv_bf16_pack(&p->s, w, p->bf16W.data);
    i2i_conv_bf16_forward(&p->s, x, p->bf16W.data, b, y);
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
