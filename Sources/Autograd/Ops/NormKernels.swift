// Shared kernels of instance norm and batch norm. Both normalize x viewed as [G, M, C]:
//   instance norm: x [N,H,W,C] -> G = N, M = H*W      (stats per (n, c))
//   batch norm:    x [N,H,W,C] -> G = 1, M = N*H*W    (stats per c)
//   mean, rstd: [G, C]   gamma, beta: [C] or nil
//   y  = (x - mean) * rstd * gamma + beta,   var biased (divide by M), rstd = 1/sqrt(var + eps)
//   dx = rstd * (gy - mean_M(gy) - xhat * mean_M(gy * xhat)),  gy = dy * gamma, xhat = (x - mean) * rstd
//   dgamma = sum_{G,M} dy * xhat,  dbeta = sum_{G,M} dy
// Statistics accumulate in Double, two passes, in a fixed order; parallel over G and
// over channel blocks, so results do not depend on the thread count. The loops are the
// SIMD kernels i2i_norm_* of _CKernels; their scratch comes from the buffer pool.
import TensorCore
import _CKernels

/// Per (g, c) statistics, pooled tensors of G*C floats (kept by the backward rule).
struct NormStats { var mean: Tensor; var rstd: Tensor }

/// mean and rstd of x viewed as [G, M, C]; `unbiased` (running statistics) gets the variance
/// times M/(M-1) when given. Kernel: i2i_norm_stats.
func normStatistics(_ x: Tensor, G: Int, M: Int, C: Int, eps: Float, unbiased: Tensor? = nil) -> NormStats {
    let st = NormStats(mean: Tensor(uninitializedShape: [G * C]), rstd: Tensor(uninitializedShape: [G * C]))
    i2i_norm_stats(Int64(G), Int64(M), Int64(C), x.pointer, eps, st.mean.uncheckedMutablePointer,
                   st.rstd.uncheckedMutablePointer, unbiased?.uncheckedMutablePointer)
    return st
}

func normApply(_ x: Tensor, G: Int, M: Int, C: Int, _ st: NormStats, gamma: Tensor?, beta: Tensor?) -> Tensor {
    let y = Tensor(uninitializedShape: x.shape)
    i2i_norm_apply(Int64(G), Int64(M), Int64(C), x.pointer, st.mean.pointer, st.rstd.pointer,
                   gamma?.pointer, beta?.pointer, y.uncheckedMutablePointer)
    return y
}

/// Returns (dx, dgamma, dbeta); dgamma/dbeta only when `gamma` is given. Kernel: i2i_norm_backward.
func normBackward(_ dy: Tensor, _ x: Tensor, G: Int, M: Int, C: Int, _ st: NormStats,
                  gamma: Tensor?) -> (Tensor, Tensor?, Tensor?) {
    let dx = Tensor(uninitializedShape: x.shape)
    let dgamma = gamma.map { _ in Tensor(uninitializedShape: [C]) }
    let dbeta = gamma.map { _ in Tensor(uninitializedShape: [C]) }
    withScratchDoubles(2 * G * C) { scratch in
        i2i_norm_backward(Int64(G), Int64(M), Int64(C), x.pointer, dy.pointer, st.mean.pointer, st.rstd.pointer,
                          gamma?.pointer, dx.uncheckedMutablePointer, dgamma?.uncheckedMutablePointer,
                          dbeta?.uncheckedMutablePointer, scratch)
    }
    return (dx, dgamma, dbeta)
}

/// dx (and dgamma, dbeta) of a normalization over `axes`, as differentiable ops: used when
/// the backward pass is recorded (createGraph), so second derivatives are exact.
func normBackwardComposite(_ g: Variable, _ x: Variable, gamma: Variable?, axes: [Int], eps: Float) -> (Variable, Variable?, Variable?) {
    let mu = mean(x, alongAxes: axes, keepingDims: true)
    let xc = x - mu
    let r = rsqrt(mean(square(xc), alongAxes: axes, keepingDims: true) + eps)
    let xhat = xc * r
    let gy = gamma.map { g * $0 } ?? g
    let dx = r * (gy - mean(gy, alongAxes: axes, keepingDims: true)
                  - xhat * mean(gy * xhat, alongAxes: axes, keepingDims: true))
    guard let gamma else { return (dx, nil, nil) }
    return (dx, sum(g * xhat, toShape: gamma.shape), sum(g, toShape: gamma.shape))
}
