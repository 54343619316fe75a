// Shared kernels of instance norm and batch norm. Both normalize x viewed as [G, M, C]:
//   instance norm: x [N,H,W,C] -> G = N, M = H*W      (stats per (n, c))
//   batch norm:    x [N,H,W,C] -> G = 1, M = N*H*W    (stats per c)
//   mean, rstd: [G, C]   gamma, beta: [C] or nil
//   y  = (x - mean) * rstd * gamma + beta,   var biased (divide by M), rstd = 1/sqrt(var + eps)
//   dx = rstd * (gy - mean_M(gy) - xhat * mean_M(gy * xhat)),  gy = dy * gamma, xhat = (x - mean) * rstd
//   dgamma = sum_{G,M} dy * xhat,  dbeta = sum_{G,M} dy
// Statistics accumulate in Double, two passes, in a fixed order; parallel over G and
// over channel blocks, so results do not depend on the thread count.
import TensorCore
import _CKernels

struct NormStats { var mean: [Float]; var rstd: [Float]; var variance: [Double] }

@inline(__always) private func channelBlocks(_ C: Int) -> Int { (C + 15) / 16 }

func normStatistics(_ x: Tensor, G: Int, M: Int, C: Int, eps: Float) -> NormStats {
    var mean = [Float](repeating: 0, count: G * C), rstd = mean
    var variance = [Double](repeating: 0, count: G * C)
    let px = x.pointer
    let nb = channelBlocks(C)
    mean.withUnsafeMutableBufferPointer { pm in rstd.withUnsafeMutableBufferPointer { pr in
    variance.withUnsafeMutableBufferPointer { pv in
        let pm = pm.baseAddress!, pr = pr.baseAddress!, pv = pv.baseAddress!
        parallelFor(G * nb, grain: 1) { lo, hi in
            var acc = [Double](repeating: 0, count: 16)
            for task in lo..<hi {
                let g = task / nb, c0 = (task % nb) * 16, cw = min(16, C - c0)
                let base = px + g * M * C + c0
                for j in 0..<cw { acc[j] = 0 }
                for m in 0..<M { let row = base + m * C; for j in 0..<cw { acc[j] += Double(row[j]) } }
                var mu = [Double](repeating: 0, count: 16)
                for j in 0..<cw { mu[j] = acc[j] / Double(M); acc[j] = 0 }
                for m in 0..<M {
                    let row = base + m * C
                    for j in 0..<cw { let d = Double(row[j]) - mu[j]; acc[j] += d * d }
                }
                for j in 0..<cw {
                    let v = acc[j] / Double(M)
                    pm[g * C + c0 + j] = Float(mu[j])
                    pv[g * C + c0 + j] = v
                    pr[g * C + c0 + j] = Float(1 / (v + Double(eps)).squareRoot())
                }
            }
        }
    }}}
    return NormStats(mean: mean, rstd: rstd, variance: variance)
}

func normApply(_ x: Tensor, G: Int, M: Int, C: Int, _ st: NormStats, gamma: Tensor?, beta: Tensor?) -> Tensor {
    let y = Tensor(uninitializedShape: x.shape)
    let px = x.pointer, py = y.uncheckedMutablePointer
    // per (g, c): y = x * a + b
    var a = [Float](repeating: 0, count: G * C), b = a
    for g in 0..<G { for c in 0..<C {
        let ga = gamma.map { $0[flat: c] } ?? 1, be = beta.map { $0[flat: c] } ?? 0
        a[g * C + c] = st.rstd[g * C + c] * ga
        b[g * C + c] = be - st.mean[g * C + c] * a[g * C + c]
    } }
    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
        let pa = pa.baseAddress!, pb = pb.baseAddress!
        parallelFor(G * M, grain: max(1, 8192 / max(C, 1))) { lo, hi in
            for r in lo..<hi {
                let g = r / M, xa = px + r * C, ya = py + r * C, ra = pa + g * C, rb = pb + g * C
                for c in 0..<C { ya[c] = xa[c] * ra[c] + rb[c] }
            }
        }
    }}
    return y
}

/// Returns (dx, dgamma, dbeta); dgamma/dbeta only when `gamma` is given.
func normBackward(_ dy: Tensor, _ x: Tensor, G: Int, M: Int, C: Int, _ st: NormStats,
                  gamma: Tensor?) -> (Tensor, Tensor?, Tensor?) {
    let px = x.pointer, pdy = dy.pointer
    // per (g, c): sum dy, sum dy * xhat
    var sdy = [Double](repeating: 0, count: G * C), sdyx = sdy
    // The C kernel: the same double sums, in m order per (g, c), channels in vectors.
    sdy.withUnsafeMutableBufferPointer { p1 in sdyx.withUnsafeMutableBufferPointer { p2 in
        st.mean.withUnsafeBufferPointer { qm in st.rstd.withUnsafeBufferPointer { qr in
            i2i_norm_backward_sums(Int64(G), Int64(M), Int64(C), px, pdy, qm.baseAddress!, qr.baseAddress!,
                                   p1.baseAddress!, p2.baseAddress!)
        }}
    }}
    // dx = rstd * gamma * (dy - sdy/M - xhat * sdyx/M)
    var k1 = [Float](repeating: 0, count: G * C), k2 = k1, k3 = k1
    for g in 0..<G { for c in 0..<C {
        let i = g * C + c, ga = gamma.map { $0[flat: c] } ?? 1
        k1[i] = st.rstd[i] * ga
        k2[i] = Float(sdy[i] / Double(M))
        k3[i] = Float(sdyx[i] / Double(M))
    } }
    let dx = Tensor(uninitializedShape: x.shape)
    let pdx = dx.uncheckedMutablePointer
    k1.withUnsafeBufferPointer { q1 in k2.withUnsafeBufferPointer { q2 in k3.withUnsafeBufferPointer { q3 in
        let q1 = q1.baseAddress!, q2 = q2.baseAddress!, q3 = q3.baseAddress!
        st.mean.withUnsafeBufferPointer { qm in st.rstd.withUnsafeBufferPointer { qr in
            let qm = qm.baseAddress!, qr = qr.baseAddress!
            parallelFor(G * M, grain: max(1, 8192 / max(C, 1))) { lo, hi in
                for r in lo..<hi {
                    let g = r / M, o = r * C, gi = g * C
                    for c in 0..<C {
                        let xh = (px[o + c] - qm[gi + c]) * qr[gi + c]
                        pdx[o + c] = q1[gi + c] * (pdy[o + c] - q2[gi + c] - xh * q3[gi + c])
                    }
                }
            }
        }}
    }}}
    guard gamma != nil else { return (dx, nil, nil) }
    var dgamma = [Float](repeating: 0, count: C), dbeta = dgamma
    for c in 0..<C {
        var s1 = 0.0, s2 = 0.0
        for g in 0..<G { s1 += sdyx[g * C + c]; s2 += sdy[g * C + c] }
        dgamma[c] = Float(s1); dbeta[c] = Float(s2)
    }
    return (dx, Tensor(shape: [C], scalars: dgamma), Tensor(shape: [C], scalars: dbeta))
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
