// Average pooling (PyTorch F.avg_pool2d: floor mode) and global average pooling (AdaptiveAvgPool2d(1)).
//   x: [N,H,W,C]  y: [N,OH,OW,C]   y[n,oh,ow,c] = (sum of the window's pixels inside the image) / d(oh,ow)
//   d = KH*KW (countIncludePad, PyTorch's default) or the number of those pixels (count_include_pad=False:
//   TensorFlow's, which the FID Inception's blocks use). (Geometry: PoolGeometry.swift.)
//   global: the window of the whole image, y: [N,1,1,C], d = H*W.
//   backward: the adjoint, dx[n,ih,iw,c] = sum over the windows holding (ih, iw) of g[n,oh,ow,c] / d(oh,ow),
//   in (oh, ow) order. Linear, so it closes under differentiation (see linearMap).
// Kernels: i2i_avg_pool (operators/pool.c, per-ISA channel loops), oracle i2i_avg_pool_ref.
import TensorCore
import _CKernels

func avgPoolForward(_ x: Tensor, _ geo: PoolGeometry, countIncludePad: Bool) -> Tensor {
    let y = Tensor(uninitializedShape: geo.outputShape)
    var s = geo.raw
    i2i_avg_pool(&s, countIncludePad ? 1 : 0, x.pointer, y.uncheckedMutablePointer)
    withExtendedLifetime(x) {}
    return y
}

func avgPoolAdjoint(_ g: Tensor, _ geo: PoolGeometry, countIncludePad: Bool) -> Tensor {
    let dx = Tensor(uninitializedShape: geo.inputShape)
    let (H, W, C) = (Int(geo.raw.H), Int(geo.raw.W), Int(geo.raw.C))
    let (OH, OW) = (Int(geo.raw.OH), Int(geo.raw.OW))
    let full = Float(Int(geo.raw.KH) * Int(geo.raw.KW))
    let rowTaps = (0..<OH).map { geo.rows($0).count }, colTaps = (0..<OW).map { geo.columns($0).count }
    let pg = g.pointer, pd = dx.uncheckedMutablePointer
    parallelFor(Int(geo.raw.N) * H, grain: 4) { lo, hi in
        for r in lo..<hi {
            let n = r / H, ih = r % H
            for iw in 0..<W {
                let dst = pd + (r * W + iw) * C
                for c in 0..<C { dst[c] = 0 }
                for oh in geo.outputRows(holding: ih) { for ow in geo.outputColumns(holding: iw) {
                    let d = countIncludePad ? full : Float(rowTaps[oh] * colTaps[ow])
                    let src = pg + ((n * OH + oh) * OW + ow) * C
                    for c in 0..<C { dst[c] += src[c] / d }
                } }
            }
        }
    }
    withExtendedLifetime(g) {}
    return dx
}

/// F.avg_pool2d(x, kernel, stride, padding, count_include_pad=countIncludePad) on NHWC.
/// padding: each side smaller than the kernel.
public func avgPool2d(_ x: Variable, kernel: (Int, Int), strides: (Int, Int), padding: ConvPadding = .none,
                      countIncludePad: Bool = true) -> Variable {
    let geo = PoolGeometry(input: x.shape, kernel: kernel, strides: strides, padding: padding)
    return linearMap("avgPool2d", x, forward: { avgPoolForward($0, geo, countIncludePad: countIncludePad) },
                     adjoint: { avgPoolAdjoint($0, geo, countIncludePad: countIncludePad) })
}

/// nn.AdaptiveAvgPool2d(1) on NHWC: [N,H,W,C] -> [N,1,1,C], the mean of each image's pixels per channel.
public func globalAvgPool2d(_ x: Variable) -> Variable {
    precondition(x.shape.count == 4, "globalAvgPool2d: x must be [N,H,W,C], got \(x.shape)")
    return avgPool2d(x, kernel: (x.shape[1], x.shape[2]), strides: (1, 1))
}
