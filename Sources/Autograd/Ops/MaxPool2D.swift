// Max pooling (PyTorch F.max_pool2d: floor mode, dilation 1, the padding -inf so it never wins).
//   x: [N,H,W,C]  y: [N,OH,OW,C]   y[n,oh,ow,c] = max of the window's pixels inside the image
//   (geometry: PoolGeometry.swift)
//   backward: dx = g scattered to each window's argmax (the first maximum in (kh, kw) order, a NaN
//   winning, as PyTorch's). For a fixed x that map is linear in g, its adjoint the gather from the same
//   argmax, so the backward closes under differentiation; nothing flows to x (the argmax is piecewise
//   constant), as in PyTorch.
// Kernels: i2i_max_pool (operators/pool.c, per-ISA channel loops), oracle i2i_max_pool_ref.
import TensorCore
import _CKernels

func maxPoolForward(_ x: Tensor, _ geo: PoolGeometry) -> Tensor {
    let y = Tensor(uninitializedShape: geo.outputShape)
    var s = geo.raw
    i2i_max_pool(&s, x.pointer, y.uncheckedMutablePointer)
    withExtendedLifetime(x) {}
    return y
}

/// Per output element [N,OH,OW,C], the flat pixel index ih*W + iw of its window's argmax.
func maxPoolArgmax(_ x: Tensor, _ geo: PoolGeometry) -> [Int32] {
    let (H, W, C) = (Int(geo.raw.H), Int(geo.raw.W), Int(geo.raw.C))
    let (OH, OW) = (Int(geo.raw.OH), Int(geo.raw.OW))
    var idx = [Int32](repeating: 0, count: Tensor.count(of: geo.outputShape))
    let px = x.pointer
    idx.withUnsafeMutableBufferPointer { out in
        let po = out.baseAddress!
        parallelFor(Int(geo.raw.N) * OH, grain: 4) { lo, hi in
            for r in lo..<hi {
                let n = r / OH, oh = r % OH, rows = geo.rows(oh)
                for ow in 0..<OW {
                    let cols = geo.columns(ow)
                    for c in 0..<C {
                        var best = -Float.infinity, at = rows.lowerBound * W + cols.lowerBound
                        for ih in rows { for iw in cols {
                            let v = px[((n * H + ih) * W + iw) * C + c]
                            // PyTorch's test, so a later NaN takes the index too.
                            if v > best || v.isNaN { best = v; at = ih * W + iw }
                        } }
                        po[(r * OW + ow) * C + c] = Int32(at)
                    }
                }
            }
        }
    }
    withExtendedLifetime(x) {}
    return idx
}

/// dx[n, argmax, c] += g[n,oh,ow,c], outputs in order: [N,OH,OW,C] -> [N,H,W,C]. Parallel over images.
func maxPoolScatter(_ g: Tensor, _ argmax: [Int32], _ geo: PoolGeometry) -> Tensor {
    let dx = Tensor(zeros: geo.inputShape)
    let (HW, C, P) = (Int(geo.raw.H) * Int(geo.raw.W), Int(geo.raw.C), Int(geo.raw.OH) * Int(geo.raw.OW))
    let pg = g.pointer, pd = dx.uncheckedMutablePointer
    argmax.withUnsafeBufferPointer { idx in
        parallelFor(Int(geo.raw.N), grain: 1) { lo, hi in
            for n in lo..<hi { for p in 0..<P { for c in 0..<C {
                let o = (n * P + p) * C + c
                pd[(n * HW + Int(idx[o])) * C + c] += pg[o]
            } } }
        }
    }
    withExtendedLifetime(g) {}
    return dx
}

/// y[n,oh,ow,c] = v[n, argmax, c]: [N,H,W,C] -> [N,OH,OW,C], the scatter's adjoint.
func maxPoolGather(_ v: Tensor, _ argmax: [Int32], _ geo: PoolGeometry) -> Tensor {
    let y = Tensor(uninitializedShape: geo.outputShape)
    let (HW, C, P) = (Int(geo.raw.H) * Int(geo.raw.W), Int(geo.raw.C), Int(geo.raw.OH) * Int(geo.raw.OW))
    let pv = v.pointer, py = y.uncheckedMutablePointer
    argmax.withUnsafeBufferPointer { idx in
        parallelFor(Int(geo.raw.N), grain: 1) { lo, hi in
            for n in lo..<hi { for p in 0..<P { for c in 0..<C {
                let o = (n * P + p) * C + c
                py[o] = pv[(n * HW + Int(idx[o])) * C + c]
            } } }
        }
    }
    withExtendedLifetime(v) {}
    return y
}

/// F.max_pool2d(x, kernel, stride, padding) on NHWC. padding: each side smaller than the kernel.
public func maxPool2d(_ x: Variable, kernel: (Int, Int), strides: (Int, Int), padding: ConvPadding = .none) -> Variable {
    let geo = PoolGeometry(input: x.shape, kernel: kernel, strides: strides, padding: padding)
    let xv = x.value
    return record("maxPool2d", maxPoolForward(xv, geo), [x]) { g, _ in
        // The argmax only when a gradient is asked: inference keeps no index tensor.
        let idx = maxPoolArgmax(xv, geo)
        return [linearMap("maxPool2dBackward", g, forward: { maxPoolScatter($0, idx, geo) },
                          adjoint: { maxPoolGather($0, idx, geo) })]
    }
}
