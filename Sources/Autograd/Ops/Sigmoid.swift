// Sigmoid.   x: [any]  y = 1 / (1 + exp(-x))   dx = g * y * (1 - y)
// Fused first-order rule on saved y; composite of differentiable ops under createGraph.
import Foundation
import TensorCore

@inline(__always) func stableSigmoid(_ v: Float) -> Float {
    v >= 0 ? 1 / (1 + Foundation.exp(-v)) : { let e = Foundation.exp(v); return e / (1 + e) }()
}

public func sigmoid(_ x: Variable) -> Variable {
    let y = x.value.map(stableSigmoid)
    return record("sigmoid", y, [x]) { g, _ in
        if !GradMode.isEnabled { return [Variable(g.value.zip(y) { gi, yi in gi * yi * (1 - yi) })] }
        let s = sigmoid(x)
        return [mul(g, mul(s, 1 - s))]
    }
}
