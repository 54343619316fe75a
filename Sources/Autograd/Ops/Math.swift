// Element-wise math used by norms, losses and penalties.
//   x: [any]  y: same
//   square: y = x^2          dx = g * 2x
//   pow:    y = x^p          dx = g * p * x^(p-1)     (sqrt = pow 0.5, rsqrt = pow -0.5)
//   exp:    y = e^x          dx = g * e^x
//   log:    y = ln x         dx = g / x
//   abs:    y = |x|          dx = g * sign(x)          (0 at x == 0, as PyTorch)
// Every rule is built from these same ops, so they close under differentiation.
import Foundation
import TensorCore

public func square(_ x: Variable) -> Variable {
    record("square", x.value.applying(.square), [x]) { g, _ in [mul(g, scale(x, 2))] }
}

public func pow(_ x: Variable, _ p: Float) -> Variable {
    let y: Tensor
    switch p {
    case 0.5: y = x.value.applying(.sqrt)
    case -0.5: y = x.value.applying(.rsqrt)
    case 2: y = x.value.applying(.square)
    default: y = x.value.map { Foundation.pow($0, p) }
    }
    return record("pow", y, [x]) { g, _ in [mul(g, scale(pow(x, p - 1), p))] }
}

public func sqrt(_ x: Variable) -> Variable { pow(x, 0.5) }
public func rsqrt(_ x: Variable) -> Variable { pow(x, -0.5) }

public func exp(_ x: Variable) -> Variable {
    record("exp", x.value.map { Foundation.exp($0) }, [x]) { g, _ in [mul(g, exp(x))] }
}

public func log(_ x: Variable) -> Variable {
    record("log", x.value.map { Foundation.log($0) }, [x]) { g, _ in [div(g, x)] }
}

public func abs(_ x: Variable) -> Variable {
    let sign = x.value.applying(.sign)
    return record("abs", x.value.applying(.abs), [x]) { g, _ in [multiplyByConstant(g, sign)] }
}

/// y = x * m with m a constant tensor of x's shape (masks, dropout). Linear in x.
public func multiplyByConstant(_ x: Variable, _ m: Tensor) -> Variable {
    precondition(x.shape == m.shape, "multiplyByConstant: \(x.shape) and mask \(m.shape)")
    return record("multiplyByConstant", Tensor.binary(x.value, m, .mul), [x]) { g, _ in [multiplyByConstant(g, m)] }
}
