// ReLU and LeakyReLU.
//   x: [any]  y: same      y = x > 0 ? x : slope * x      (ReLU: slope 0)
//   dx = leakyReLUGrad(g, x)  = g * (x > 0 ? 1 : slope)  (PyTorch convention at x == 0)
// leakyReLUGrad is linear in g with a piecewise-constant mask in x, so its own backward
// is itself (and nothing flows to x): second derivatives are exact.
import TensorCore

public func leakyReLU(_ x: Variable, slope: Float = 0.2) -> Variable {
    let y = x.value.map { $0 > 0 ? $0 : $0 * slope }
    return record("leakyReLU", y, [x]) { g, _ in [leakyReLUGrad(g, x.value, slope: slope)] }
}

public func relu(_ x: Variable) -> Variable {
    let y = x.value.map { $0 > 0 ? $0 : 0 }
    return record("relu", y, [x]) { g, _ in [leakyReLUGrad(g, x.value, slope: 0)] }
}

/// g * (x > 0 ? 1 : slope), with x a constant.
public func leakyReLUGrad(_ g: Variable, _ x: Tensor, slope: Float) -> Variable {
    let dx = g.value.zip(x) { gi, xi in xi > 0 ? gi : gi * slope }
    return record("leakyReLUGrad", dx, [g]) { gg, _ in [leakyReLUGrad(gg, x, slope: slope)] }
}
