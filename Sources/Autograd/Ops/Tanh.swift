// Tanh.   x: [any]  y = tanh(x)   dx = g * (1 - y^2)
// First-order backward is one fused pass over saved y; when the backward pass is being
// recorded (createGraph) the rule is the composite g * (1 - tanh(x)^2) of differentiable
// ops instead, so derivatives of every order are exact.
import Foundation
import TensorCore

public func tanh(_ x: Variable) -> Variable {
    let y = x.value.map { Foundation.tanh($0) }
    return record("tanh", y, [x]) { g, _ in
        if !GradMode.isEnabled { return [Variable(g.value.zip(y) { gi, yi in gi * (1 - yi * yi) })] }
        return [mul(g, 1 - square(tanh(x)))]
    }
}
