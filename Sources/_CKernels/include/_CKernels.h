// _CKernels: the convolution microkernels and the thread pool of the img2img conv engine.
// Internal module (leading underscore): no stable API outside this package.
//
// Shape legend (NHWC, float32, every tensor dense and contiguous):
//   x: [N,H,W,C]   w: [KH,KW,C,OC]   b: [OC] or NULL   y: [N,OH,OW,OC]
//   OH = (H + padT + padB - KH)/strideH + 1,  OW = (W + padL + padR - KW)/strideW + 1  (zero padding,
//   floor division; pads >= 0, strides >= 1).
//
// Every fast kernel has a naive reference twin with a `_ref` suffix and the same signature: the test
// oracle. The fast kernel is chosen once, at run time, by the CPU: "avx512", "avx2" (AVX2+FMA) or
// "portable" (plain C, also what arm64 builds run).
//
// Results are deterministic: the same inputs give the same bits run to run, and for the conv kernels
// whatever the thread count (every output element is reduced by one thread in a fixed order).
#ifndef IMG2IMG_CKERNELS_H
#define IMG2IMG_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Convolution

typedef struct {
    int N, H, W, C, OC, KH, KW, strideH, strideW, padT, padL, padB, padR, OH, OW;
} i2i_conv_shape;

/// Fills OH and OW from the other fields. Returns 0, or -1 if the shape is invalid
/// (a size < 1, a negative pad, or a kernel larger than the padded input).
int i2i_conv_shape_finalize(i2i_conv_shape *s);

/// y = conv(x, w) + b. Overwrites y.
void i2i_conv2d_forward(const i2i_conv_shape *s, const float *x, const float *w, const float *b, float *y);

/// dx = d(loss)/dx given dy. Overwrites dx (input positions no output reads get 0).
/// Transposed convolution forward is exactly this; see i2i_conv_transpose_shape.
void i2i_conv2d_backward_input(const i2i_conv_shape *s, const float *dy, const float *w, float *dx);

/// dw (+)= d(loss)/dw, db (+)= sum of dy over N,OH,OW (db may be NULL).
/// accumulate: 0 = overwrite dw and db, 1 = add to them.
void i2i_conv2d_backward_filter(const i2i_conv_shape *s, const float *x, const float *dy,
                                float *dw, float *db, int accumulate);

// MARK: - Conv plans
// A plan is made once per conv shape (and binds the instruction set current then): it chooses the
// algorithm of the forward, backward-input and backward-filter (i2i_conv_plan_algorithm names them)
// and keeps the weights packed in the layouts they read. The caller passes a generation with the
// weights: a number that changes whenever the weights do (i2i_next_generation; 0 = unknown, pack on
// every call); the plan packs again only when it differs from the one it holds. Calls on one plan
// are serialized by its lock. The one-call functions above run a temporary plan (packing every call).
typedef struct i2i_conv_plan i2i_conv_plan;

i2i_conv_plan *i2i_conv_plan_create(const i2i_conv_shape *s);
void i2i_conv_plan_destroy(i2i_conv_plan *p);
void i2i_conv_plan_forward(i2i_conv_plan *p, const float *x, const float *w, uint64_t wgen, const float *b, float *y);
void i2i_conv_plan_backward_input(i2i_conv_plan *p, const float *dy, const float *w, uint64_t wgen, float *dx);
void i2i_conv_plan_backward_filter(i2i_conv_plan *p, const float *x, const float *dy, float *dw, float *db,
                                   int accumulate);
/// The algorithm of pass 0 (forward), 1 (backward-input) or 2 (backward-filter), e.g. "winograd_f4k3".
const char *i2i_conv_plan_algorithm(const i2i_conv_plan *p, int pass);
/// How many times this plan packed weights (the flipped forward of its backward-input included).
int64_t i2i_conv_plan_repacks(const i2i_conv_plan *p);
/// The bf16 inference forward (microkernels/x86_avx512/conv_bf16_avx512.c) with the weights packed to bf16 by the plan, once per
/// generation, like the fp32 forward's.
void i2i_conv_plan_forward_bf16(i2i_conv_plan *p, const float *x, const float *w, uint64_t wgen, const float *b,
                                float *y);
/// Weight packings of all plans since the process started.
int64_t i2i_conv_repacks_total(void);
/// A process-wide unique, increasing number (never 0): tensor storage takes a new one on every write.
uint64_t i2i_next_generation(void);
/// The algorithms i2i_conv_plan_create picks for shape s on instruction set `isa` with Winograd mode
/// `winograd` (see i2i_set_winograd): the one place the choice is made. Values: microkernels/conv_internal.h.
void i2i_conv_choose(const i2i_conv_shape *s, const char *isa, int winograd, int *fwd, int *bwdi, int *bwdw);

// Naive loops (double accumulators): the test oracle. Same contracts as above.
void i2i_conv2d_forward_ref(const i2i_conv_shape *s, const float *x, const float *w, const float *b, float *y);
void i2i_conv2d_backward_input_ref(const i2i_conv_shape *s, const float *dy, const float *w, float *dx);
void i2i_conv2d_backward_filter_ref(const i2i_conv_shape *s, const float *x, const float *dy,
                                    float *dw, float *db, int accumulate);

/// The conv whose backward-input is PyTorch's ConvTranspose2d(Cin, Cout, (KH,KW), stride, padding,
/// output_padding) applied to an input u: [N,Hi,Wi,Cin], giving v: [N,Ho,Wo,Cout] with
/// Ho = (Hi-1)*strideH - 2*padH + KH + outPadH (likewise Wo).
/// The resulting shape has C = Cout, OC = Cin, H = Ho, W = Wo, OH = Hi, OW = Wi,
/// padT = padB = padH, padL = padR = padW (output_padding only makes H larger; the extra rows at the
/// bottom are those no output position reaches beyond the floor division). Weights are w:
/// [KH,KW,Cout,Cin], i.e. w[kh][kw][co][ci] = torchWeight[ci][co][kh][kw].
///   transposed forward:  i2i_conv2d_backward_input(s, u, w, v)            (then add the bias per Cout)
///   its backward:        du = i2i_conv2d_forward(s, dv, w, NULL, du)
///                        dw = i2i_conv2d_backward_filter(s, dv, u, dw, NULL, acc)  (x = dv, dy = u)
///                        db = sum of dv over N,Ho,Wo
/// Returns 0, or -1 if the arguments are invalid (requires 0 <= outPad < stride, as PyTorch does).
int i2i_conv_transpose_shape(i2i_conv_shape *s, int N, int Hi, int Wi, int Cin, int Cout, int KH, int KW,
                             int strideH, int strideW, int padH, int padW, int outPadH, int outPadW);

// MARK: - Optimizer

/// One Adam update of n elements, element-wise, in parallel (torch.optim.Adam's single-tensor float32
/// path; the caller computes the per-step scalars):
///   m = w < 0.5 ? fma(w, g - m, m) : fma(w - 1, g - m, g)
///   v = v * beta2 + (oneMinusBeta2 * g) * g
///   x = x + (negStep * m) / (sqrt(v) / bc2Sqrt + eps)
/// Every ISA variant performs the same IEEE operations (no other contraction), so results do not
/// depend on the CPU or the thread count.
void i2i_adam_update(int64_t n, float *x, float *m, float *v, const float *g, float w, float beta2,
                     float oneMinusBeta2, float bc2Sqrt, float eps, float negStep);

// MARK: - Element-wise (operators/eltwise.c)
// One loop per op compiled for AVX-512, AVX2 and plain C, chosen by the CPU (or i2i_set_kernel_isa);
// each element is computed alone with the same IEEE operations in every copy, so the result does not
// depend on the ISA or the thread count. Outputs may not overlap inputs (the loops are `restrict`).

enum {
    I2I_UNARY_SCALE,        // x * s
    I2I_UNARY_ADD_SCALAR,   // x + s
    I2I_UNARY_SCALAR_SUB,   // s - x
    I2I_UNARY_DIV_SCALAR,   // x / s
    I2I_UNARY_NEG,          // -x
    I2I_UNARY_SQUARE,       // x * x
    I2I_UNARY_SQRT,         // sqrt(x)
    I2I_UNARY_RSQRT,        // 1 / sqrt(x)
    I2I_UNARY_ABS,          // |x|
    I2I_UNARY_SIGN,         // 1, -1, or 0 at 0 (and NaN)
    I2I_UNARY_RELU,         // x > 0 ? x : 0
    I2I_UNARY_LEAKY_RELU,   // x > 0 ? x : x * s
    I2I_UNARY_TANH,         // tanh(x), from exp in double: correctly rounded but for rare ties
    I2I_UNARY_SIGMOID,      // 1 / (1 + exp(-x)), likewise
};
/// y[i] = op(x[i]) for i < n, in parallel.
void i2i_unary(int op, int64_t n, const float *x, float *y, float s);

enum {
    I2I_BINARY_ADD,             // a + b
    I2I_BINARY_SUB,             // a - b
    I2I_BINARY_MUL,             // a * b
    I2I_BINARY_DIV,             // a / b
    I2I_BINARY_MAX,             // b >= a ? b : a   (Swift.max)
    I2I_BINARY_MIN,             // b < a ? b : a    (Swift.min)
    I2I_BINARY_TANH_GRAD,       // a * (1 - b * b)         a = dy, b = tanh(x)
    I2I_BINARY_SIGMOID_GRAD,    // a * b * (1 - b)         a = dy, b = sigmoid(x)
    I2I_BINARY_LEAKY_RELU_GRAD, // b > 0 ? a : a * s       a = dy, b = x
    I2I_BINARY_RELU_GRAD,       // b > 0 ? a : 0           (PyTorch's threshold_backward: 0, not NaN, for a = inf)
};
/// y[i] = a[i] op b[i] for i < n, in parallel.
void i2i_binary(int op, int64_t n, const float *a, const float *b, float *y, float s);
/// y[i] = a[i * sa] op b[i * sb] for i < n with sa, sb in {0, 1} (0 repeats the first element), on the
/// calling thread: the inner row of a broadcast, whose caller runs rows in parallel.
void i2i_binary_row(int op, int64_t n, const float *a, int64_t sa, const float *b, int64_t sb, float *y, float s);

/// Sum of x[0..<n] in double, in a fixed order: blocks of 4096 elements, in each block 16 lanes
/// (lane j adds the elements i = j mod 16 in order) added lane 0 to 15, then the blocks in order.
double i2i_sum_f64(int64_t n, const float *x);
/// out[c] = sum over r of (double)x[r*cols + c], each column in row order; parallel over 16-column blocks.
void i2i_sum_rows_f64(int64_t rows, int64_t cols, const float *x, double *out);

// MARK: - Normalization (operators/norm.c)
// x, y, dx, dy: [G][M][C]. Instance norm of [N,H,W,C]: G = N, M = H*W; batch norm: G = 1, M = N*H*W.
// Statistics per (g, c) in double, two passes in m order; vectors span channels only, so every ISA and
// thread count gives the same bits. Parallel over (group, 16-channel block) or over row chunks.

/// mean, rstd: [G*C] (rstd = 1/sqrt(biased var + eps)); unbiased: [G*C] or NULL, the variance times
/// M/(M-1) (M > 1), for running statistics.
void i2i_norm_stats(int64_t G, int64_t M, int64_t C, const float *x, float eps, float *mean, float *rstd,
                    float *unbiased);
/// y = x * a + b per (g, c) with a = rstd * gamma, b = beta - mean * a (gamma 1 and beta 0 when NULL).
void i2i_norm_apply(int64_t G, int64_t M, int64_t C, const float *x, const float *mean, const float *rstd,
                    const float *gamma, const float *beta, float *y);
/// dx = k1 * ((dy - k2) - xhat * k3) with k1 = rstd * gamma, k2 = sdy / M, k3 = sdyx / M (as float),
/// where per (g, c) sdy = sum over m of (double)dy and sdyx = sum over m of (double)dy * (double)xhat,
/// xhat = (x - mean) * rstd in float, each in m order with separate roundings;
/// dgamma[c] = sum over g of sdyx, dbeta[c] = sum over g of sdy (when not NULL; need gamma).
/// scratch: 2*G*C doubles.
void i2i_norm_backward(int64_t G, int64_t M, int64_t C, const float *x, const float *dy, const float *mean,
                       const float *rstd, const float *gamma, float *dx, float *dgamma, float *dbeta,
                       double *scratch);

// MARK: - Layout (operators/layout.c)

enum { I2I_PAD_ZERO, I2I_PAD_REFLECT, I2I_PAD_REPLICATE };
/// y: [N, H+top+bottom, W+left+right, C] from x: [N,H,W,C] (every size >= 1), zero, reflection (PyTorch
/// ReflectionPad2d, pads < size) or replication padding; pads >= 0 (a negative pad writes nothing).
/// Parallel over output rows.
void i2i_pad_nhwc(int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t bottom,
                  int64_t right, int mode, const float *x, float *y);
/// The adjoint: dx[source pixel] = sum of g over the output pixels copied from it, added in output
/// (row, column) order. Overwrites dx. Parallel over input rows.
void i2i_pad_nhwc_adjoint(int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t bottom,
                          int64_t right, int mode, const float *g, float *dx);
/// dst[o*dstStride + j] = src[o*srcStride + j] for o < outer, j < length (concat, slice). Parallel.
void i2i_copy_rows(int64_t outer, int64_t length, const float *src, int64_t srcStride, float *dst,
                   int64_t dstStride);

// MARK: - Pooling (operators/pool.c)
// Max and average pooling over KH x KW windows at strides (strideH, strideW) with the conv's padding and
// output size (floor mode, dilation 1). Only the image's pixels take part in a window: PyTorch's
// max_pool2d pads with -inf, and avg_pool2d with count_include_pad=False divides by the pixels inside.
//   x: [N,H,W,C]  y: [N,OH,OW,C]   OH = (H + padT + padB - KH)/strideH + 1 (likewise OW)
// The channel loops run on the ISA's kernels; every ISA and thread count gives the reference's bits.
typedef struct {
    int32_t N, H, W, C, KH, KW, strideH, strideW, padT, padL, padB, padR;
    int32_t OH, OW;  // filled by i2i_pool_shape_finalize
} i2i_pool_shape;
/// Fills OH and OW. Returns 0, or -1 if a size < 1, a pad < 0 or not smaller than the kernel on its axis
/// (so that every window holds a pixel of the image, as PyTorch requires), or a kernel larger than the
/// padded input.
int i2i_pool_shape_finalize(i2i_pool_shape *s);
/// y = the max of each window's pixels (NaN if one is NaN, as PyTorch). Parallel over output rows.
void i2i_max_pool(const i2i_pool_shape *s, const float *x, float *y);
/// y = (0 + each window's pixels added in (kh, kw) order) / divisor, in float: the divisor is the number of
/// those pixels (countPad 0: PyTorch count_include_pad=False) or KH*KW (countPad 1). A global average
/// pool is the window of the whole image. Parallel over output rows.
void i2i_avg_pool(const i2i_pool_shape *s, int countPad, const float *x, float *y);

// Naive reference twins of the element-wise, normalization, layout, pooling and Adam kernels
// (reference/eltwise_ref.c, reference/pool_ref.c): the test oracle. Same contracts, except that i2i_binary_ref takes the
// strides of i2i_binary_row, i2i_sum_f64_ref adds in plain index order, tanh / sigmoid / sqrt come
// from libm in double, and the backward reference returns no scratch.
void i2i_unary_ref(int op, int64_t n, const float *x, float *y, float s);
void i2i_binary_ref(int op, int64_t n, const float *a, int64_t sa, const float *b, int64_t sb, float *y, float s);
double i2i_sum_f64_ref(int64_t n, const float *x);
void i2i_sum_rows_f64_ref(int64_t rows, int64_t cols, const float *x, double *out);
void i2i_norm_stats_ref(int64_t G, int64_t M, int64_t C, const float *x, float eps, float *mean, float *rstd,
                        float *unbiased);
void i2i_norm_apply_ref(int64_t G, int64_t M, int64_t C, const float *x, const float *mean, const float *rstd,
                        const float *gamma, const float *beta, float *y);
void i2i_norm_backward_ref(int64_t G, int64_t M, int64_t C, const float *x, const float *dy, const float *mean,
                           const float *rstd, const float *gamma, float *dx, float *dgamma, float *dbeta);
void i2i_pad_nhwc_ref(int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t bottom,
                      int64_t right, int mode, const float *x, float *y);
void i2i_pad_nhwc_adjoint_ref(int64_t N, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left,
                              int64_t bottom, int64_t right, int mode, const float *g, float *dx);
void i2i_max_pool_ref(const i2i_pool_shape *s, const float *x, float *y);
void i2i_avg_pool_ref(const i2i_pool_shape *s, int countPad, const float *x, float *y);
void i2i_adam_update_ref(int64_t n, float *x, float *m, float *v, const float *g, float w, float beta2,
                         float oneMinusBeta2, float bc2Sqrt, float eps, float negStep);

/// Workspace blocks (packed weights, Winograd transforms, padded copies) the conv kernels have taken
/// from the system allocator so far; the rest came from the workspace cache. Constant in steady state.
int64_t i2i_workspace_allocations(void);

// MARK: - Kernel selection

/// The instruction set the fast kernels use: "avx512", "avx2" or "portable".
const char *i2i_kernel_isa(void);
/// Forces an instruction set on every kernel (for tests and benchmarks): "avx512", "avx2", "portable",
/// "reference" (the naive conv loops; the other kernels run their portable copy), or NULL / "" for the
/// CPU's best. Returns 0, or -1 if this CPU or build cannot run it (the choice is unchanged).
/// Conv plans made from then on use it; a plan made before keeps its own.
int i2i_set_kernel_isa(const char *isa);

/// 3x3 and 4x4 stride-1 convs with C, OC >= 16 use Winograd. Forward (and backward-input, which runs
/// through it): 4 = F(4x4,3x3) where the output is at least 8x8, else F(2x2,3x3), and F(3x3,4x4) for
/// 4x4 kernels where the output is at least 6x6 (the default; relative error ~2e-5 on a 3x3 256->256
/// conv at 64x64, against ~2e-6 direct); 2 = F(2x2,3x3) only (~1e-6); 0 = direct. Backward-filter
/// uses F(2x2,3x3) for 3x3 in modes 2 and 4 (~2e-6).
/// A negative mode restores the default (env I2I_WINOGRAD, else 4). Plans made from then on use it.
void i2i_set_winograd(int mode);
/// The Winograd mode plans made now use (4, 2 or 0).
int i2i_winograd_mode(void);

// MARK: - Threads

/// Threads used by every parallel region (the caller counts as one). n <= 0 restores the default:
/// the environment variable I2I_NUM_THREADS if set, else the number of online CPUs.
void i2i_set_num_threads(int n);
int i2i_get_num_threads(void);

/// fn(ctx, begin, end) over [0, n) split into at most i2i_get_num_threads() contiguous chunks whose
/// sizes are multiples of grain (except the last). The split depends only on n, grain and the thread
/// count, so per-chunk partial results reduced in chunk order are deterministic. Returns when every
/// chunk is done. Nested calls (from inside fn) and calls while another thread's region runs execute
/// serially on the calling thread, as one chunk [0, n).
typedef void (*i2i_task_fn)(void *ctx, int64_t begin, int64_t end);
void i2i_parallel_for(int64_t n, int64_t grain, i2i_task_fn fn, void *ctx);

/// The chunk boundaries i2i_parallel_for would use: writes up to maxChunks+1 boundaries into bounds
/// (bounds[0] = 0, bounds[k] = n) and returns the number of chunks k. Lets callers size per-chunk
/// partial buffers.
int i2i_parallel_chunks(int64_t n, int64_t grain, int64_t *bounds, int maxChunks);

// MARK: - bf16 inference (operators/conv_bf16.c, microkernels/x86_avx512/conv_bf16_avx512.c)
// x86-64 CPUs with AVX512_BF16 (vdpbf16ps): weights and activations rounded to bf16 (round to nearest
// even), products accumulated in fp32. Inference only: training never takes this path (the fp32
// entries above stay fp32 whatever the precision setting). Deterministic for any thread count.

/// 1 if the CPU has AVX512_BF16 (and AVX-512F/BW/VL): the bf16 kernels below may run.
int i2i_cpu_has_avx512_bf16(void);
/// uint16 elements of the packed bf16 weights of shape s (forward conv).
int64_t i2i_conv_bf16_packed_count(const i2i_conv_shape *s);
/// Packs w [KH,KW,C,OC] (float) into bf16 (round to nearest even) in the layout the forward reads.
void i2i_conv_bf16_pack(const i2i_conv_shape *s, const float *w, uint16_t *packed);
/// y = conv(x, w) + b with x rounded to bf16 on the fly, products accumulated in fp32 (vdpbf16ps); y float.
void i2i_conv_bf16_forward(const i2i_conv_shape *s, const float *x, const uint16_t *packed, const float *b, float *y);
/// The oracle: x and w rounded to bf16 (RNE), products summed in double.
void i2i_conv2d_forward_bf16_ref(const i2i_conv_shape *s, const float *x, const float *w, const float *b, float *y);

/// The layout i2i_conv_bf16_pack writes for shape s (a cache of packed weights keys on it): 1 = direct
/// tile, 2 = direct dot (OC <= 8), 16 = Winograd F(2x2,3x3), 36 = Winograd F(4x4,3x3). Depends on
/// KH, KW, C, OC, the strides and the bf16 Winograd mode only, not on the image size.
int i2i_conv_bf16_layout(const i2i_conv_shape *s);
/// bf16 3x3 stride-1 convs with C, OC >= 16: 4 = Winograd F(4x4,3x3), 2 = F(2x2,3x3) (default:
/// F(4x4) is faster but misses the accuracy bar, see dispatch/tuning.h), 0 = direct; negative restores the
/// default (env I2I_BF16_WINOGRAD, else 2). Changes the layout: weights packed before must be packed
/// again.
void i2i_set_bf16_winograd(int mode);
/// 1 if the engine's bf16 precision runs this conv in bf16 (the Swift conv op asks): by default the
/// 3x3 stride-1 convs with C, OC >= 16 (a ResNet generator's blocks: ~90% of its work); every conv
/// after i2i_set_bf16_scope(1) or with env I2I_BF16_SCOPE=all. The kernels above take any shape.
int i2i_conv_bf16_applies(const i2i_conv_shape *s);
/// 1: every conv in the bf16 scope, 0: the default scope; negative: the environment's choice.
void i2i_set_bf16_scope(int all);

enum { I2I_PRECISION_FP32 = 0, I2I_PRECISION_BF16 = 1 };
/// The precision of inference convs (read by the Swift conv op; i2i_conv2d_forward ignores it).
/// Returns 0, or -1 and changes nothing when p is unknown or bf16 is asked on a CPU without it.
int i2i_set_conv_precision(int p);
int i2i_conv_precision(void);

#ifdef __cplusplus
}
#endif
#endif
