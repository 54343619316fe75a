// The geometry of a pooling window, shared by MaxPool2D.swift and AvgPool2D.swift (as ConvGeometry is
// the conv family's): the conv's padding and output size, floor mode, dilation 1.
//   x: [N,H,W,C]  window KH x KW  y: [N,OH,OW,C]   OH = (H + padT + padB - KH) / strideH + 1
// Window (oh, ow) covers input rows [oh*strideH - padT, +KH) and columns [ow*strideW - padL, +KW);
// only the image's pixels in it take part.
import TensorCore
import _CKernels

public struct PoolGeometry: Sendable {
    public var raw: i2i_pool_shape

    public var inputShape: [Int] { [Int(raw.N), Int(raw.H), Int(raw.W), Int(raw.C)] }
    public var outputShape: [Int] { [Int(raw.N), Int(raw.OH), Int(raw.OW), Int(raw.C)] }

    /// padding: each side smaller than the kernel on its axis (PyTorch asks at most half), so that every
    /// window holds a pixel of the image.
    public init(input x: [Int], kernel: (Int, Int), strides: (Int, Int), padding p: ConvPadding) {
        precondition(x.count == 4, "pool: x \(x) must be [N,H,W,C]")
        var s = i2i_pool_shape()
        s.N = Int32(x[0]); s.H = Int32(x[1]); s.W = Int32(x[2]); s.C = Int32(x[3])
        s.KH = Int32(kernel.0); s.KW = Int32(kernel.1); s.strideH = Int32(strides.0); s.strideW = Int32(strides.1)
        s.padT = Int32(p.top); s.padL = Int32(p.left); s.padB = Int32(p.bottom); s.padR = Int32(p.right)
        precondition(i2i_pool_shape_finalize(&s) == 0,
                     "pool: invalid geometry x \(x) kernel \(kernel) strides \(strides) padding \(p)")
        raw = s
    }

    /// The input rows of output row oh (likewise columns): the window clipped to the image.
    @inline(__always) func rows(_ oh: Int) -> Range<Int> {
        let h0 = oh * Int(raw.strideH) - Int(raw.padT)
        return max(h0, 0)..<min(h0 + Int(raw.KH), Int(raw.H))
    }

    @inline(__always) func columns(_ ow: Int) -> Range<Int> {
        let w0 = ow * Int(raw.strideW) - Int(raw.padL)
        return max(w0, 0)..<min(w0 + Int(raw.KW), Int(raw.W))
    }

    /// The output rows whose windows hold input row ih (likewise columns).
    @inline(__always) func outputRows(holding ih: Int) -> Range<Int> {
        outputs(holding: ih, pad: Int(raw.padT), kernel: Int(raw.KH), stride: Int(raw.strideH), count: Int(raw.OH))
    }

    @inline(__always) func outputColumns(holding iw: Int) -> Range<Int> {
        outputs(holding: iw, pad: Int(raw.padL), kernel: Int(raw.KW), stride: Int(raw.strideW), count: Int(raw.OW))
    }

    /// o with o*stride - pad <= i < o*stride - pad + kernel, 0 <= o < count.
    private func outputs(holding i: Int, pad: Int, kernel: Int, stride: Int, count: Int) -> Range<Int> {
        let hi = (i + pad) / stride                                   // last o with o*stride <= i + pad
        let lo = max(0, (i + pad - kernel + stride) / stride)         // first o with o*stride > i + pad - kernel
        let upper = min(hi, count - 1)
        return lo <= upper ? lo..<(upper + 1) : 0..<0
    }
}
