// Layout conversions between PyTorch and the engine.
//   images:       PyTorch [N,C,H,W]      <-> ours [N,H,W,C]
//   conv weights: PyTorch Conv2d [OC,C,KH,KW]           <-> ours [KH,KW,C,OC]
//   transposed conv weights: PyTorch ConvTranspose2d [Cin,Cout,KH,KW] <-> ours [KH,KW,Cout,Cin]
//     (our transposed conv runs conv backward-input with a conv weight whose C = Cout, OC = Cin)

extension Tensor {
    /// General axis permutation: result dim i = self dim perm[i].
    public func permuted(_ perm: [Int]) -> Tensor {
        precondition(perm.sorted() == Array(0..<rank), "bad permutation \(perm) for rank \(rank)")
        let outShape = perm.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape)
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let st = perm.map { inStrides[$0] }
        let px = pointer, po = out.uncheckedMutablePointer
        var idx = [Int](repeating: 0, count: rank)
        var off = 0
        for o in 0..<count {
            po[o] = px[off]
            var k = rank - 1
            while k >= 0 {
                idx[k] += 1; off += st[k]
                if idx[k] < outShape[k] { break }
                off -= st[k] * outShape[k]; idx[k] = 0
                k -= 1
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
