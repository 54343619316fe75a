// Spatial padding: zero, reflection (PyTorch ReflectionPad2d) and replication (ReplicationPad2d).
//   x: [N,H,W,C]  pads (top, left, bottom, right)  y: [N,H+top+bottom,W+left+right,C]
//   forward copies each output pixel's C channels from its source pixel (or writes 0);
//   backward (adjoint) adds each output pixel's gradient into its source pixel.
// A linear map, so it closes under differentiation (see linearMap).
import TensorCore

public enum PaddingMode: Sendable { case zero, reflect, replicate }

/// Source index of output index `i` along an axis of `size` with `before` padding, or nil (zero pad).
@inline(__always) func padSource(_ i: Int, size: Int, before: Int, mode: PaddingMode) -> Int? {
    let j = i - before
    if j >= 0 && j < size { return j }
    switch mode {
    case .zero: return nil
    case .replicate: return j < 0 ? 0 : size - 1
    case .reflect:
        precondition(size > 1, "reflection padding needs size > 1")
        var k = j
        while k < 0 || k >= size { k = k < 0 ? -k : 2 * (size - 1) - k }
        return k
    }
}

func padForward(_ x: Tensor, _ p: ConvPadding, _ mode: PaddingMode) -> Tensor {
    let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let OH = H + p.top + p.bottom, OW = W + p.left + p.right
    if mode == .reflect { precondition(p.top < H && p.bottom < H && p.left < W && p.right < W, "reflection pad must be < input size") }
    let y = Tensor(uninitializedShape: [N, OH, OW, C])
    let rows = (0..<OH).map { padSource($0, size: H, before: p.top, mode: mode) }
    let cols = (0..<OW).map { padSource($0, size: W, before: p.left, mode: mode) }
    let px = x.pointer, py = y.uncheckedMutablePointer
    parallelFor(N * OH, grain: 8) { lo, hi in
        for r in lo..<hi {
            let n = r / OH, oh = r % OH
            for ow in 0..<OW {
                let dst = py + ((n * OH + oh) * OW + ow) * C
                if let sh = rows[oh], let sw = cols[ow] { dst.update(from: px + ((n * H + sh) * W + sw) * C, count: C) }
                else { dst.update(repeating: 0, count: C) }
            }
        }
    }
    return y
}

func padAdjoint(_ g: Tensor, inputShape: [Int], _ p: ConvPadding, _ mode: PaddingMode) -> Tensor {
    let (N, H, W, C) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
    let OH = g.shape[1], OW = g.shape[2]
    let dx = Tensor(zeros: inputShape)
    let rows = (0..<OH).map { padSource($0, size: H, before: p.top, mode: mode) }
    let cols = (0..<OW).map { padSource($0, size: W, before: p.left, mode: mode) }
    let pg = g.pointer, pd = dx.uncheckedMutablePointer
    parallelFor(N, grain: 1) { lo, hi in      // images are independent: no write conflicts
        for n in lo..<hi { for oh in 0..<OH { for ow in 0..<OW {
            guard let sh = rows[oh], let sw = cols[ow] else { continue }
            let src = pg + ((n * OH + oh) * OW + ow) * C, dst = pd + ((n * H + sh) * W + sw) * C
            for c in 0..<C { dst[c] += src[c] }
        } } }
    }
    return dx
}

public func pad(_ x: Variable, _ p: ConvPadding, mode: PaddingMode = .zero) -> Variable {
    precondition(x.shape.count == 4, "pad: x must be [N,H,W,C], got \(x.shape)")
    let inShape = x.shape
    return linearMap("pad", x, forward: { padForward($0, p, mode) },
                     adjoint: { padAdjoint($0, inputShape: inShape, p, mode) })
}
