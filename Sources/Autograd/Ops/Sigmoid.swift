// Sigmoid.   x: [any]  y = 1 / (1 + exp(-x))   dx = g * y * (1 - y)
// Kernels: i2i_unary(SIGMOID), i2i_binary(SIGMOID_GRAD). Fused first-order rule on saved y; composite of differentiable ops under createGraph.
import TensorCore

public func sigmoid(_ x: Variable) -> Variable {
    let y = x.value.applying(.sigmoid)
    return record("sigmoid", y, [x]) { g, _ in
        if !GradMode.isEnabled { return [Variable(Tensor.binary(g.value, y, .sigmoidGrad))] }
        let s = sigmoid(x)
        return [mul(g, mul(s, 1 - s))]
    }
}
