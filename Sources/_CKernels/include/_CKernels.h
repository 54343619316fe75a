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

// MARK: - Activations

/// y[i] = x[i] > 0 ? x[i] : x[i] * slope (ReLU: slope 0), in parallel. y may not overlap x.
void i2i_leaky_relu(int64_t n, const float *x, float *y, float slope);
/// dx[i] = x[i] > 0 ? g[i] : g[i] * slope, in parallel. dx may not overlap g or x.
void i2i_leaky_relu_grad(int64_t n, const float *g, const float *x, float *dx, float slope);

// MARK: - Normalization

/// Per group g < G and channel c < C of x, dy: [G][M][C]: sdy[g*C+c] = sum over m of (double)dy,
/// sdyx[g*C+c] = sum over m of (double)dy * (double)((x - mean[g*C+c]) * rstd[g*C+c]) (the product
/// in float), each in m order with separate roundings; parallel over (group, 16-channel block).
void i2i_norm_backward_sums(int64_t G, int64_t M, int64_t C, const float *x, const float *dy, const float *mean,
                            const float *rstd, double *sdy, double *sdyx);

// MARK: - Kernel selection

/// The instruction set the fast kernels use: "avx512", "avx2" or "portable".
const char *i2i_kernel_isa(void);
/// Forces an instruction set (for tests and benchmarks): "avx512", "avx2", "portable", or NULL / ""
/// for the CPU's best. Returns 0, or -1 if this CPU or build cannot run it (the choice is unchanged).
int i2i_set_kernel_isa(const char *isa);

/// 3x3 stride-1 convs with C, OC >= 16 use Winograd. Forward (and backward-input, which runs
/// through it): 4 = F(4x4,3x3) where the output is at least 8x8, else F(2x2,3x3) (the default;
/// relative error ~2e-5 on a 3x3 256->256 conv at 64x64, against ~2e-6 direct); 2 = F(2x2,3x3)
/// only (~1e-6); 0 = direct. Backward-filter uses F(2x2,3x3) for modes 2 and 4 (~2e-6).
/// A negative mode restores the default (env I2I_WINOGRAD, else 4).
void i2i_set_winograd(int mode);

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

#ifdef __cplusplus
}
#endif
#endif
