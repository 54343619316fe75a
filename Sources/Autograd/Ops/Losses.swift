// Losses (mean reduction, as PyTorch's defaults). Results are rank-0.
//   x, target: same shape (target broadcastable for BCE)
//   MSE: mean((x - t)^2)     L1: mean(|x - t|)
//   BCE with logits, stable: mean(max(x,0) - x t + log(1 + exp(-|x|)))
//     dx = g (sigmoid(x) - t) / n      dt = -g x / n      (differentiable ops: closes)
import Foundation
import TensorCore

public func mseLoss(_ x: Variable, _ target: Variable) -> Variable { mean(square(x - target)) }

public func l1Loss(_ x: Variable, _ target: Variable) -> Variable { mean(abs(x - target)) }

public func bceWithLogitsLoss(_ x: Variable, _ target: Variable) -> Variable {
    let t = target.shape == x.shape ? target.value : target.value.broadcast(to: x.shape)
    let n = x.value.count
    var acc = 0.0
    let px = x.value.pointer, pt = t.pointer
    for i in 0..<n {
        let v = px[i]
        acc += Double(max(v, 0) - v * pt[i]) + Double(Foundation.log1p(Foundation.exp(-Swift.abs(v))))
    }
    let inv = 1 / Float(n)
    return record("bceWithLogits", Tensor(Float(acc / Double(n))), [x, target]) { g, need in
        [need[0] ? mul(scale(sigmoid(x) - target, inv), g) : nil,
         need[1] ? sum(mul(scale(x, -inv), g), toShape: target.shape) : nil]
    }
}

/// BCE with logits against a constant target value (e.g. 1 for "real").
public func bceWithLogitsLoss(_ x: Variable, target: Float) -> Variable {
    bceWithLogitsLoss(x, Variable(Tensor(repeating: target, shape: x.shape)))
}
