// Reshape (shares storage; one dimension may be -1).
//   x: [d...] (n elements)  y: [e...] (n elements)   dx = reshape(g, x.shape)
import TensorCore

public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
    let from = x.shape
    let to = Tensor.resolve(shape, count: x.value.count)
    if to == from { return x }
    return record("reshape", x.value.reshaped(to), [x]) { g, _ in [reshape(g, from)] }
}

extension Variable {
    public func reshaped(_ shape: [Int]) -> Variable { reshape(self, shape) }
}

/// A linear map y = A x given by its forward and adjoint (A^T) on tensors. Its backward is
/// the adjoint, recorded as the same kind of op, so any linear op closes under
/// differentiation (padding, upsampling, slicing, embedding lookups, ...).
public func linearMap(_ name: String, _ x: Variable,
                      forward: @escaping (Tensor) -> Tensor, adjoint: @escaping (Tensor) -> Tensor) -> Variable {
    record(name, forward(x.value), [x]) { g, _ in
        [linearMap(name + "ᵀ", g, forward: adjoint, adjoint: forward)]
    }
}
