// Spatial padding: zero, reflection (PyTorch ReflectionPad2d) and replication (ReplicationPad2d).
//   x: [N,H,W,C]  pads (top, left, bottom, right)  y: [N,H+top+bottom,W+left+right,C]
//   forward copies each output pixel's C channels from its source pixel (or writes 0);
//   backward (adjoint) adds each output pixel's gradient into its source pixel.
// Kernels: i2i_pad_nhwc and i2i_pad_nhwc_adjoint (_CKernels/operators/layout.c).
// A linear map, so it closes under differentiation (see linearMap).
import TensorCore
import _CKernels

public enum PaddingMode: Sendable { case zero, reflect, replicate }

extension PaddingMode {
    var code: Int32 {
        switch self {
        case .zero: return Int32(I2I_PAD_ZERO)
        case .reflect: return Int32(I2I_PAD_REFLECT)
        case .replicate: return Int32(I2I_PAD_REPLICATE)
        }
    }
}

func padForward(_ x: Tensor, _ p: ConvPadding, _ mode: PaddingMode) -> Tensor {
    let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let OH = H + p.top + p.bottom, OW = W + p.left + p.right
    if mode == .reflect { precondition(p.top < H && p.bottom < H && p.left < W && p.right < W, "reflection pad must be < input size") }
    let y = Tensor(uninitializedShape: [N, OH, OW, C])
    i2i_pad_nhwc(Int64(N), Int64(H), Int64(W), Int64(C), Int64(p.top), Int64(p.left), Int64(p.bottom), Int64(p.right),
                 mode.code, x.pointer, y.uncheckedMutablePointer)
    return y
}

func padAdjoint(_ g: Tensor, inputShape: [Int], _ p: ConvPadding, _ mode: PaddingMode) -> Tensor {
    let (N, H, W, C) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
    let dx = Tensor(uninitializedShape: inputShape)
    i2i_pad_nhwc_adjoint(Int64(N), Int64(H), Int64(W), Int64(C), Int64(p.top), Int64(p.left), Int64(p.bottom),
                         Int64(p.right), mode.code, g.pointer, dx.uncheckedMutablePointer)
    return dx
}

public func pad(_ x: Variable, _ p: ConvPadding, mode: PaddingMode = .zero) -> Variable {
    precondition(x.shape.count == 4, "pad: x must be [N,H,W,C], got \(x.shape)")
    precondition(p.top >= 0 && p.left >= 0 && p.bottom >= 0 && p.right >= 0, "pad: negative padding \(p)")
    precondition(x.shape.allSatisfy { $0 > 0 } || mode == .zero, "pad: \(mode) padding of an empty tensor \(x.shape)")
    let inShape = x.shape
    return linearMap("pad", x, forward: { padForward($0, p, mode) },
                     adjoint: { padAdjoint($0, inputShape: inShape, p, mode) })
}
