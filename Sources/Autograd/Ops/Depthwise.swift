// Depthwise convolution with a fixed (non-trainable) filter, one K x K filter per channel:
// PyTorch F.conv2d / F.conv_transpose2d with groups = C, as the anti-aliased Downsample and
// Upsample of CUT (Zhang 2019, "Making convolutional networks shift-invariant again").
//   x: [N,H,W,C]  filter: [K,K,C] (ours; PyTorch [C,1,K,K])
//   depthwiseConv2d:          y[n,o,p,c] = sum_{i,j} f[i,j,c] x[n, o*s - P + i, p*s - P + j, c]
//                             (zero outside), OH = (H + 2P - K) / s + 1
//   depthwiseConvTranspose2d: its adjoint, y[n,h,w,c] = sum over (o,i) with o*s - P + i = h
//                             (and likewise for w) of f[i,j,c] x[n,o,p,c]; OH = (H-1)s - 2P + K
// Both are linear in x and each other's adjoint, so they close under differentiation. The
// filter gets no gradient (a registered buffer in the paper code).
import TensorCore

/// y = correlate(x, f) with stride s and implicit zero padding P, into [N,OH,OW,C].
func depthwiseCorrelate(_ x: Tensor, _ f: Tensor, stride s: Int, pad P: Int, outH OH: Int, outW OW: Int) -> Tensor {
    let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let K = f.shape[0]
    let y = Tensor(zeros: [N, OH, OW, C])
    let px = x.pointer, pf = f.pointer, py = y.uncheckedMutablePointer
    parallelFor(N * OH, grain: Swift.max(1, 4096 / Swift.max(OW * C, 1))) { lo, hi in
        for r in lo..<hi {
            let n = r / OH, o = r % OH
            for i in 0..<K {
                let h = o * s - P + i
                if h < 0 || h >= H { continue }
                for p in 0..<OW {
                    let dst = py + (r * OW + p) * C
                    for j in 0..<K {
                        let w = p * s - P + j
                        if w < 0 || w >= W { continue }
                        let src = px + ((n * H + h) * W + w) * C, fk = pf + (i * K + j) * C
                        for c in 0..<C { dst[c] += fk[c] * src[c] }
                    }
                }
            }
        }
    }
    return y
}

/// The adjoint of `depthwiseCorrelate`: x [N,OH,OW,C] -> [N,H,W,C], written as a gather over
/// the outputs so that threads never write the same element.
func depthwiseScatter(_ g: Tensor, _ f: Tensor, stride s: Int, pad P: Int, outH H: Int, outW W: Int) -> Tensor {
    let (N, OH, OW, C) = (g.shape[0], g.shape[1], g.shape[2], g.shape[3])
    let K = f.shape[0]
    let y = Tensor(zeros: [N, H, W, C])
    let pg = g.pointer, pf = f.pointer, py = y.uncheckedMutablePointer
    parallelFor(N * H, grain: Swift.max(1, 4096 / Swift.max(W * C, 1))) { lo, hi in
        for r in lo..<hi {
            let n = r / H, h = r % H
            for i in 0..<K {
                let t = h + P - i
                if t < 0 || t % s != 0 { continue }
                let o = t / s
                if o >= OH { continue }
                for w in 0..<W {
                    let dst = py + (r * W + w) * C
                    for j in 0..<K {
                        let u = w + P - j
                        if u < 0 || u % s != 0 { continue }
                        let p = u / s
                        if p >= OW { continue }
                        let src = pg + ((n * OH + o) * OW + p) * C, fk = pf + (i * K + j) * C
                        for c in 0..<C { dst[c] += fk[c] * src[c] }
                    }
                }
            }
        }
    }
    return y
}

/// PyTorch F.conv2d(x, filt, stride=s, padding=P, groups=C) with filt [C,1,K,K] given as [K,K,C].
public func depthwiseConv2d(_ x: Variable, filter f: Tensor, stride s: Int, padding P: Int = 0) -> Variable {
    precondition(x.shape.count == 4 && f.shape.count == 3 && f.shape[0] == f.shape[1] && f.shape[2] == x.shape[3],
                 "depthwiseConv2d: x \(x.shape) must be [N,H,W,C] and the filter \(f.shape) [K,K,C]")
    let (H, W, K) = (x.shape[1], x.shape[2], f.shape[0])
    precondition(s >= 1 && P >= 0 && H + 2 * P >= K && W + 2 * P >= K, "depthwiseConv2d: input \(x.shape) too small for K \(K)")
    let OH = (H + 2 * P - K) / s + 1, OW = (W + 2 * P - K) / s + 1
    return linearMap("depthwise_conv2d", x, forward: { depthwiseCorrelate($0, f, stride: s, pad: P, outH: OH, outW: OW) },
                     adjoint: { depthwiseScatter($0, f, stride: s, pad: P, outH: H, outW: W) })
}

/// PyTorch F.conv_transpose2d(x, filt, stride=s, padding=P, groups=C) with filt [C,1,K,K] given as [K,K,C].
public func depthwiseConvTranspose2d(_ x: Variable, filter f: Tensor, stride s: Int, padding P: Int = 0) -> Variable {
    precondition(x.shape.count == 4 && f.shape.count == 3 && f.shape[0] == f.shape[1] && f.shape[2] == x.shape[3],
                 "depthwiseConvTranspose2d: x \(x.shape) must be [N,H,W,C] and the filter \(f.shape) [K,K,C]")
    let (H, W, K) = (x.shape[1], x.shape[2], f.shape[0])
    let OH = (H - 1) * s - 2 * P + K, OW = (W - 1) * s - 2 * P + K
    precondition(s >= 1 && P >= 0 && OH > 0 && OW > 0, "depthwiseConvTranspose2d: empty output for \(x.shape)")
    return linearMap("depthwise_conv_transpose2d", x, forward: { depthwiseScatter($0, f, stride: s, pad: P, outH: OH, outW: OW) },
                     adjoint: { depthwiseCorrelate($0, f, stride: s, pad: P, outH: H, outW: W) })
}

/// torch.flip(x, [3]) of an NCHW tensor: the W axis of [N,H,W,C] reversed. Its own adjoint.
public func flipHorizontally(_ x: Variable) -> Variable {
    precondition(x.shape.count == 4, "flipHorizontally: x must be [N,H,W,C], got \(x.shape)")
    let flip: (Tensor) -> Tensor = { t in
        let (NH, W, C) = (t.shape[0] * t.shape[1], t.shape[2], t.shape[3])
        let y = Tensor(uninitializedShape: t.shape)
        let src = t.pointer, dst = y.uncheckedMutablePointer
        for r in 0..<NH { for w in 0..<W {
            (dst + (r * W + w) * C).update(from: src + (r * W + (W - 1 - w)) * C, count: C)
        } }
        return y
    }
    return linearMap("flip", x, forward: flip, adjoint: flip)
}

/// Rows `ids` of each item of x [B,M,C], stacked: [B * ids.count, C] (PyTorch
/// `x[:, ids, :].flatten(0, 1)`). The adjoint adds each row back where it came from.
public func gatherRows(_ x: Variable, _ ids: [Int]) -> Variable {
    precondition(x.shape.count == 3, "gatherRows: x must be [B,M,C], got \(x.shape)")
    let (B, M, C) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(ids.allSatisfy { $0 >= 0 && $0 < M }, "gatherRows: index out of 0..<\(M)")
    let P = ids.count
    return linearMap("gather_rows", x, forward: { t in
        let y = Tensor(uninitializedShape: [B * P, C])
        for b in 0..<B { for (k, i) in ids.enumerated() {
            (y.uncheckedMutablePointer + (b * P + k) * C).update(from: t.pointer + (b * M + i) * C, count: C)
        } }
        return y
    }, adjoint: { g in
        let dx = Tensor(zeros: [B, M, C])
        let pd = dx.uncheckedMutablePointer, pg = g.pointer
        for b in 0..<B { for (k, i) in ids.enumerated() {
            let dst = pd + (b * M + i) * C, src = pg + (b * P + k) * C
            for c in 0..<C { dst[c] += src[c] }
        } }
        return dx
    })
}
