// ReLU and LeakyReLU.
//   x: [any]  y: same      y = x > 0 ? x : slope * x      (ReLU: slope 0)
//   dx = leakyReLUGrad(g, x)  = x > 0 ? g : g * slope  (PyTorch convention at x == 0; ReLU: x > 0 ? g : 0)
// leakyReLUGrad is linear in g with a piecewise-constant mask in x, so its own backward
// is itself (and nothing flows to x): second derivatives are exact.
import TensorCore
import _CKernels

/// x > 0 ? x : x * slope, by the SIMD kernel in _CKernels (the same select and product per element).
private func leakyReLUValue(_ x: Tensor, slope: Float) -> Tensor {
    let y = Tensor(uninitializedShape: x.shape)
    i2i_leaky_relu(Int64(x.count), x.pointer, y.uncheckedMutablePointer, slope)
    return y
}

public func leakyReLU(_ x: Variable, slope: Float = 0.2) -> Variable {
    let y = leakyReLUValue(x.value, slope: slope)
    return record("leakyReLU", y, [x]) { g, _ in [leakyReLUGrad(g, x.value, slope: slope)] }
}

public func relu(_ x: Variable) -> Variable {
    let y = x.value.applying(.relu)
    return record("relu", y, [x]) { g, _ in [leakyReLUGrad(g, x.value, slope: 0)] }
}

/// g * (x > 0 ? 1 : slope), with x a constant.
public func leakyReLUGrad(_ g: Variable, _ x: Tensor, slope: Float) -> Variable {
    precondition(g.value.shape == x.shape, "leakyReLUGrad of \(g.value.shape) and \(x.shape)")
    let dx = Tensor(uninitializedShape: x.shape)
    if slope == 0 {   // a select, as PyTorch's threshold_backward: an infinite g at x <= 0 gives 0, not NaN
        i2i_binary(Int32(I2I_BINARY_RELU_GRAD), Int64(x.count), g.value.pointer, x.pointer, dx.uncheckedMutablePointer, 0)
    } else {
        i2i_leaky_relu_grad(Int64(x.count), g.value.pointer, x.pointer, dx.uncheckedMutablePointer, slope)
    }
    return record("leakyReLUGrad", dx, [g]) { gg, _ in [leakyReLUGrad(gg, x, slope: slope)] }
}
