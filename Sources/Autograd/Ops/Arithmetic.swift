// Element-wise arithmetic with broadcasting (NumPy rules, shapes aligned on the right).
//   a: [...A]  b: [...B]  y: broadcast(A, B)
//   add: da = sumTo(g, A)            db = sumTo(g, B)
//   sub: da = sumTo(g, A)            db = -sumTo(g, B)
//   mul: da = sumTo(g * b, A)        db = sumTo(g * a, B)
//   div: da = sumTo(g / b, A)        db = -sumTo(g * a / (b * b), B)
// All rules are differentiable ops, so these close under differentiation.
import TensorCore

// add and sub capture only the shapes: their operands' values die with the forward code's references.
public func add(_ a: Variable, _ b: Variable) -> Variable {
    let (sa, sb) = (a.shape, b.shape)
    return record("add", a.value + b.value, [a, b]) { g, need in
        [need[0] ? sum(g, toShape: sa) : nil, need[1] ? sum(g, toShape: sb) : nil]
    }
}

public func sub(_ a: Variable, _ b: Variable) -> Variable {
    let (sa, sb) = (a.shape, b.shape)
    return record("sub", a.value - b.value, [a, b]) { g, need in
        [need[0] ? sum(g, toShape: sa) : nil, need[1] ? scale(sum(g, toShape: sb), -1) : nil]
    }
}

public func mul(_ a: Variable, _ b: Variable) -> Variable {
    record("mul", a.value * b.value, [a, b]) { g, need in
        [need[0] ? sum(mul(g, b), toShape: a.shape) : nil, need[1] ? sum(mul(g, a), toShape: b.shape) : nil]
    }
}

public func div(_ a: Variable, _ b: Variable) -> Variable {
    record("div", a.value / b.value, [a, b]) { g, need in
        [need[0] ? sum(div(g, b), toShape: a.shape) : nil,
         need[1] ? scale(sum(div(mul(g, a), mul(b, b)), toShape: b.shape), -1) : nil]
    }
}

/// y = s * x.
public func scale(_ x: Variable, _ s: Float) -> Variable {
    record("scale", x.value * s, [x]) { g, _ in [scale(g, s)] }
}

/// y = x + s.
public func addScalar(_ x: Variable, _ s: Float) -> Variable {
    record("addScalar", x.value + s, [x]) { g, _ in [g] }
}

/// Sums `x` over broadcast dimensions down to `shape` (the adjoint of broadcasting).
public func sum(_ x: Variable, toShape shape: [Int]) -> Variable {
    if x.shape == shape { return x }
    let from = x.shape
    return record("sumTo", x.value.sum(toShape: shape), [x]) { g, _ in [broadcast(g, to: from)] }
}

/// Broadcasts `x` to `shape` (copying).
public func broadcast(_ x: Variable, to shape: [Int]) -> Variable {
    if x.shape == shape { return x }
    let from = x.shape
    return record("broadcast", x.value.broadcast(to: shape), [x]) { g, _ in [sum(g, toShape: from)] }
}

extension Variable {
    public static func + (a: Variable, b: Variable) -> Variable { add(a, b) }
    public static func - (a: Variable, b: Variable) -> Variable { sub(a, b) }
    public static func * (a: Variable, b: Variable) -> Variable { mul(a, b) }
    public static func / (a: Variable, b: Variable) -> Variable { div(a, b) }
    public static func * (a: Variable, s: Float) -> Variable { scale(a, s) }
    public static func * (s: Float, a: Variable) -> Variable { scale(a, s) }
    public static func / (a: Variable, s: Float) -> Variable { scale(a, 1 / s) }
    public static func + (a: Variable, s: Float) -> Variable { addScalar(a, s) }
    public static func - (a: Variable, s: Float) -> Variable { addScalar(a, -s) }
    public static func + (s: Float, a: Variable) -> Variable { addScalar(a, s) }
    public static func - (s: Float, a: Variable) -> Variable { addScalar(scale(a, -1), s) }
    public static prefix func - (a: Variable) -> Variable { scale(a, -1) }
}
