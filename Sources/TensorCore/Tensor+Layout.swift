// Layout conversions between PyTorch and the engine.
//   images:       PyTorch [N,C,H,W]      <-> ours [N,H,W,C]
//   conv weights: PyTorch Conv2d [OC,C,KH,KW]           <-> ours [KH,KW,C,OC]
//   transposed conv weights: PyTorch ConvTranspose2d [Cin,Cout,KH,KW] <-> ours [KH,KW,Cout,Cin]
//     (our transposed conv runs conv backward-input with a conv weight whose C = Cout, OC = Cin)

extension Tensor {
    /// General axis permutation: result dim i = self dim perm[i]. Rows of the output's last
    /// dimension in parallel (checkpoints permute every conv weight and Adam moment on save and load).
    public func permuted(_ perm: [Int]) -> Tensor {
        precondition(perm.sorted() == Array(0..<rank), "bad permutation \(perm) for rank \(rank)")
        let outShape = perm.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape)
        if rank == 0 || count == 0 {
            if count == 1 { out.uncheckedMutablePointer[0] = pointer[0] }
            return out
        }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let st = perm.map { inStrides[$0] }
        let px = pointer, po = out.uncheckedMutablePointer
        let inner = outShape[rank - 1], innerStride = st[rank - 1]
        parallelFor(count / inner, grain: Swift.max(1, 16384 / inner)) { lo, hi in
            // The multi-index of row `lo` over the outer dimensions, then advance row by row.
            var idx = [Int](repeating: 0, count: rank - 1)
            var rem = lo, off = 0
            for k in stride(from: rank - 2, through: 0, by: -1) {
                idx[k] = rem % outShape[k]; rem /= outShape[k]
                off += idx[k] * st[k]
            }
            for o in lo..<hi {
                let dst = po + o * inner
                var src = off
                for j in 0..<inner { dst[j] = px[src]; src += innerStride }
                var k = rank - 2
                while k >= 0 {
                    idx[k] += 1; off += st[k]
                    if idx[k] < outShape[k] { break }
                    off -= st[k] * outShape[k]; idx[k] = 0
                    k -= 1
                }
            }
        }
        return out
    }

    public func nchwToNHWC() -> Tensor { permuted([0, 2, 3, 1]) }
    public func nhwcToNCHW() -> Tensor { permuted([0, 3, 1, 2]) }
    /// PyTorch Conv2d weight [OC,C,KH,KW] -> ours [KH,KW,C,OC].
    public func convWeightFromPyTorch() -> Tensor { permuted([2, 3, 1, 0]) }
    /// Ours [KH,KW,C,OC] -> PyTorch Conv2d [OC,C,KH,KW].
    public func convWeightToPyTorch() -> Tensor { permuted([3, 2, 0, 1]) }
    /// PyTorch ConvTranspose2d weight [Cin,Cout,KH,KW] -> ours [KH,KW,Cout,Cin].
    public func transposedConvWeightFromPyTorch() -> Tensor { permuted([2, 3, 1, 0]) }
    /// Ours [KH,KW,Cout,Cin] -> PyTorch ConvTranspose2d [Cin,Cout,KH,KW].
    public func transposedConvWeightToPyTorch() -> Tensor { permuted([3, 2, 0, 1]) }
}
