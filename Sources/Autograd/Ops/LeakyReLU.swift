// ReLU and LeakyReLU.
//   x: [any]  y: same      y = x > 0 ? x : slope * x      (ReLU: slope 0)
//   dx = leakyReLUGrad(g, x)  = x > 0 ? g : g * slope  (PyTorch convention at x == 0; ReLU: x > 0 ? g : 0)
// leakyReLUGrad is linear in g with a piecewise-constant mask in x, so its own backward
// is itself (and nothing flows to x): second derivatives are exact.
import TensorCore
import _CKernels

public func leakyReLU(_ x: Variable, slope: Float = 0.2) -> Variable {
    let y = x.value.applying(.leakyReLU, slope)
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
    // ReLU's is a select, as PyTorch's threshold_backward: an infinite g at x <= 0 gives 0, not NaN.
    let op = slope == 0 ? I2I_BINARY_RELU_GRAD : I2I_BINARY_LEAKY_RELU_GRAD
    i2i_binary(Int32(op), Int64(x.count), g.value.pointer, x.pointer, dx.uncheckedMutablePointer, slope)
    return record("leakyReLUGrad", dx, [g]) { gg, _ in [leakyReLUGrad(gg, x, slope: slope)] }
}
