// Anti-aliased down- and up-sampling (Zhang 2019), as CUT's models/networks.py `Downsample`
// and `Upsample`: a fixed binomial blur, one filter per channel, kept as the buffer `filt`
// [C,1,K,K] in the state dict (so CUT's released .pth files load key for key).
//   Downsample (reflect pad, filt_size 3, stride 2):  x [N,H,W,C] -> [N,ceil(H/2),ceil(W/2),C]
//     y = conv2d(reflect_pad(x), filt, stride 2, groups C), filt = a a^T / sum, a = [1,2,1]
//   Upsample (replicate pad 1, filt_size 4, stride 2): x [N,H,W,C] -> [N,2H,2W,C]
//     y = conv_transpose2d(repl_pad(x, 1), filt * 4, stride 2, padding 1 + (K-1)/2, groups C)[1:, 1:]
//         and [:-1, :-1] for an even K
import TensorCore
import Autograd

/// CUT's get_filter: the normalized outer product of the binomial row of size `size` (1...7).
public func binomialFilter(size: Int) -> [Float] {
    precondition((1...7).contains(size), "binomialFilter: size must be 1...7, got \(size)")
    var a: [Double] = [1]
    for _ in 1..<size { a = zip(a + [0], [0] + a).map { $0 + $1 } }
    let total = a.reduce(0, +) * a.reduce(0, +)
    return a.flatMap { x in a.map { Float(x * $0 / total) } }
}

/// A per-channel K x K filter kept in our layout [K,K,C], read and written as PyTorch's [C,1,K,K].
final class FixedDepthwiseFilter {
    var value: Tensor
    init(channels: Int, size: Int, scale: Float) {
        let f = binomialFilter(size: size)
        var s = [Float](repeating: 0, count: size * size * channels)
        for k in 0..<(size * size) { for c in 0..<channels { s[k * channels + c] = f[k] * scale } }
        value = Tensor(shape: [size, size, channels], scalars: s)
    }
    var pyTorch: Tensor {
        let (K, C) = (value.shape[0], value.shape[2])
        return value.permuted([2, 0, 1]).reshaped([C, 1, K, K])
    }
    func set(pyTorch t: Tensor) {
        let (C, K) = (t.shape[0], t.shape[2])
        value = t.reshaped([C, K, K]).permuted([1, 2, 0])
    }
}

public final class BlurDownsample: Layer {
    public let channels: Int
    public let filterSize: Int
    public let stride: Int
    public let padding: PaddingMode
    let filt: FixedDepthwiseFilter

    public init(channels: Int, padding: PaddingMode = .reflect, filterSize: Int = 3, stride: Int = 2) {
        self.channels = channels; self.filterSize = filterSize; self.stride = stride; self.padding = padding
        filt = FixedDepthwiseFilter(channels: channels, size: filterSize, scale: 1)
    }

    public var ownTensors: [ModuleTensor] {
        [.buffer("filt", get: { self.filt.pyTorch }, set: { self.filt.set(pyTorch: $0) })]
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        let lo = (filterSize - 1) / 2, hi = filterSize / 2   // int((K-1)/2), ceil((K-1)/2)
        let padded = pad(x, ConvPadding(top: lo, left: lo, bottom: hi, right: hi), mode: padding)
        return depthwiseConv2d(padded, filter: filt.value, stride: stride)
    }
}

public final class BlurUpsample: Layer {
    public let channels: Int
    public let filterSize: Int
    public let stride: Int
    public let padding: PaddingMode
    let filt: FixedDepthwiseFilter

    public init(channels: Int, padding: PaddingMode = .replicate, filterSize: Int = 4, stride: Int = 2) {
        self.channels = channels; self.filterSize = filterSize; self.stride = stride; self.padding = padding
        filt = FixedDepthwiseFilter(channels: channels, size: filterSize, scale: Float(stride * stride))
    }

    public var ownTensors: [ModuleTensor] {
        [.buffer("filt", get: { self.filt.pyTorch }, set: { self.filt.set(pyTorch: $0) })]
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        let padSize = (filterSize - 1) / 2
        let u = depthwiseConvTranspose2d(pad(x, .symmetric(1), mode: padding), filter: filt.value, stride: stride,
                                         padding: 1 + padSize)
        let odd = filterSize % 2 == 1
        let (h, w) = (u.shape[1], u.shape[2])
        let rows = 1..<(odd ? h : h - 1), cols = 1..<(odd ? w : w - 1)
        return slice(slice(u, axis: 1, range: rows), axis: 2, range: cols)
    }
}
