// Matrix multiply and linear (fully connected) layers.
//   a: [M,K] (or [K,M] if transposeA)  b: [K,N] (or [N,K] if transposeB)  c: [M,N]
//   c = op(a) op(b);  gradients are matmuls again (closes):
//     (F,F): da = g b^T         db = a^T g
//     (F,T): da = g b           db = g^T a
//     (T,F): da = b g^T         db = a g
//     (T,T): da = b^T g^T       db = g^T a^T
//   linear: x [N,in]  weight [out,in] (PyTorch layout)  bias [out]  y = x weight^T + bias  [N,out]
import TensorCore
import _CKernels

/// A [M,K] x B [K,N] is a 1x1 convolution of M one-pixel images with K channels: the conv
/// engine's SIMD kernels (threads, fixed reduction order) do it, as for every other layer.
func matmulKernel(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
    let A = transposeA ? a.permuted([1, 0]) : a
    let B = transposeB ? b.permuted([1, 0]) : b
    let (M, K, N) = (A.shape[0], A.shape[1], B.shape[1])
    precondition(B.shape[0] == K, "matmul: inner dimensions \(A.shape) x \(B.shape)")
    if M == 0 || N == 0 || K == 0 { return Tensor(zeros: [M, N]) }
    var s = i2i_conv_shape()
    s.N = Int32(M); s.H = 1; s.W = 1; s.C = Int32(K); s.OC = Int32(N); s.KH = 1; s.KW = 1
    s.strideH = 1; s.strideW = 1
    precondition(i2i_conv_shape_finalize(&s) == 0, "matmul: shape \(A.shape) x \(B.shape)")
    let c = Tensor(uninitializedShape: [M, N])
    i2i_conv2d_forward(&s, A.pointer, B.pointer, nil, c.uncheckedMutablePointer)
    return c
}

public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
    precondition(a.shape.count == 2 && b.shape.count == 2, "matmul takes rank-2 tensors, got \(a.shape) \(b.shape)")
    let c = matmulKernel(a.value, b.value, transposeA: transposeA, transposeB: transposeB)
    return record("matmul", c, [a, b]) { g, need in
        let da: Variable?, db: Variable?
        switch (transposeA, transposeB) {
        case (false, false):
            da = need[0] ? matmul(g, b, transposeB: true) : nil
            db = need[1] ? matmul(a, g, transposeA: true) : nil
        case (false, true):
            da = need[0] ? matmul(g, b) : nil
            db = need[1] ? matmul(g, a, transposeA: true) : nil
        case (true, false):
            da = need[0] ? matmul(b, g, transposeB: true) : nil
            db = need[1] ? matmul(a, g) : nil
        case (true, true):
            da = need[0] ? matmul(b, g, transposeA: true, transposeB: true) : nil
            db = need[1] ? matmul(g, a, transposeA: true, transposeB: true) : nil
        }
        return [da, db]
    }
}

/// y = x weight^T + bias. x: [N,in] (other ranks are flattened to [-1, in]), weight: [out,in], bias: [out].
public func linear(_ x: Variable, weight: Variable, bias: Variable? = nil) -> Variable {
    let inF = weight.shape[1]
    let x2 = x.shape.count == 2 ? x : reshape(x, [-1, inF])
    let y = matmul(x2, weight, transposeB: true)
    return bias.map { add(y, $0) } ?? y
}
