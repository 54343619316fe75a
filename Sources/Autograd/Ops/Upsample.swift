// Nearest and bilinear upsampling (PyTorch F.interpolate semantics).
//   x: [N,H,W,C]  y: [N,OH,OW,C]
//   nearest:  src = min(floor(dst * H/OH), H-1)
//   bilinear, alignCorners true:  src = dst * (H-1)/(OH-1)            (0 when OH == 1)
//   bilinear, alignCorners false: src = max(0, (dst + 0.5) * H/OH - 0.5)
//             y = sum of the 4 neighbours (h0, h0+1 clamped) x (w0, w0+1 clamped), bilinear weights
//   backward: the adjoint (scatter-add with the same weights). Linear, closes under differentiation.
import TensorCore

public enum UpsampleMode: Sendable, Equatable { case nearest, bilinear(alignCorners: Bool) }

/// Per output index: (i0, i1, weight of i1).
func interpolationTable(outSize: Int, inSize: Int, mode: UpsampleMode) -> [(Int, Int, Float)] {
    (0..<outSize).map { d in
        switch mode {
        case .nearest:
            let s = min(Int((Float(d) * (Float(inSize) / Float(outSize))).rounded(.down)), inSize - 1)
            return (s, s, 0)
        case .bilinear(let ac):
            var src: Float
            if ac { src = outSize > 1 ? Float(d) * Float(inSize - 1) / Float(outSize - 1) : 0 }
            else { src = max(0, (Float(d) + 0.5) * (Float(inSize) / Float(outSize)) - 0.5) }
            let i0 = min(Int(src), inSize - 1)
            let i1 = min(i0 + 1, inSize - 1)
            return (i0, i1, src - Float(i0))
        }
    }
}

func upsampleForward(_ x: Tensor, _ OH: Int, _ OW: Int, _ mode: UpsampleMode) -> Tensor {
    let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let th = interpolationTable(outSize: OH, inSize: H, mode: mode)
    let tw = interpolationTable(outSize: OW, inSize: W, mode: mode)
    let y = Tensor(uninitializedShape: [N, OH, OW, C])
    let px = x.pointer, py = y.uncheckedMutablePointer
    parallelFor(N * OH, grain: 4) { lo, hi in
        for r in lo..<hi {
            let n = r / OH, (h0, h1, lh) = th[r % OH]
            for ow in 0..<OW {
                let (w0, w1, lw) = tw[ow]
                let dst = py + (r * OW + ow) * C
                let a = px + ((n * H + h0) * W + w0) * C, b = px + ((n * H + h0) * W + w1) * C
                let c_ = px + ((n * H + h1) * W + w0) * C, d = px + ((n * H + h1) * W + w1) * C
                let wa = (1 - lh) * (1 - lw), wb = (1 - lh) * lw, wc = lh * (1 - lw), wd = lh * lw
                for c in 0..<C { dst[c] = wa * a[c] + wb * b[c] + wc * c_[c] + wd * d[c] }
            }
        }
    }
    return y
}

func upsampleAdjoint(_ g: Tensor, inputShape: [Int], _ mode: UpsampleMode) -> Tensor {
    let (N, H, W, C) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
    let OH = g.shape[1], OW = g.shape[2]
    let th = interpolationTable(outSize: OH, inSize: H, mode: mode)
    let tw = interpolationTable(outSize: OW, inSize: W, mode: mode)
    let dx = Tensor(zeros: inputShape)
    let pg = g.pointer, pd = dx.uncheckedMutablePointer
    parallelFor(N, grain: 1) { lo, hi in
        for n in lo..<hi { for oh in 0..<OH {
            let (h0, h1, lh) = th[oh]
            for ow in 0..<OW {
                let (w0, w1, lw) = tw[ow]
                let src = pg + ((n * OH + oh) * OW + ow) * C
                let targets = [(h0, w0, (1 - lh) * (1 - lw)), (h0, w1, (1 - lh) * lw),
                               (h1, w0, lh * (1 - lw)), (h1, w1, lh * lw)]
                for (h, w, wt) in targets where wt != 0 {
                    let dst = pd + ((n * H + h) * W + w) * C
                    for c in 0..<C { dst[c] += wt * src[c] }
                }
            }
        } }
    }
    return dx
}

public func upsample(_ x: Variable, size: (Int, Int), mode: UpsampleMode = .nearest) -> Variable {
    precondition(x.shape.count == 4, "upsample: x must be [N,H,W,C], got \(x.shape)")
    let inShape = x.shape
    return linearMap("upsample", x, forward: { upsampleForward($0, size.0, size.1, mode) },
                     adjoint: { upsampleAdjoint($0, inputShape: inShape, mode) })
}

public func upsample(_ x: Variable, scale: Int, mode: UpsampleMode = .nearest) -> Variable {
    upsample(x, size: (x.shape[1] * scale, x.shape[2] * scale), mode: mode)
}
