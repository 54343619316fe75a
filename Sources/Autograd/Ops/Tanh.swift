// Tanh.   x: [any]  y = tanh(x)   dx = g * (1 - y^2)
// Kernels: i2i_unary(TANH) (exp in double, correctly rounded but for rare ties) and the fused
// i2i_binary(TANH_GRAD). First-order backward is one fused pass over saved y; when the backward pass is being
// recorded (createGraph) the rule is the composite g * (1 - tanh(x)^2) of differentiable
// ops instead, so derivatives of every order are exact.
import TensorCore

public func tanh(_ x: Variable) -> Variable {
    let y = x.value.applying(.tanh)
    return record("tanh", y, [x]) { g, _ in
        if !GradMode.isEnabled { return [Variable(Tensor.binary(g.value, y, .tanhGrad))] }
        return [mul(g, 1 - square(tanh(x)))]
    }
}
