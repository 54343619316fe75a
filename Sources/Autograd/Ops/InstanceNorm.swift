// Instance norm (PyTorch InstanceNorm2d, eps 1e-5, biased variance, no running stats).
//   x: [N,H,W,C]  gamma, beta: [C] (affine) or nil  y: [N,H,W,C]
//   y = (x - mean_{H,W}) / sqrt(var_{H,W} + eps) * gamma + beta
//   backward: see NormKernels.swift (fused); composite differentiable rule under createGraph.
import TensorCore

public func instanceNorm(_ x: Variable, gamma: Variable? = nil, beta: Variable? = nil, eps: Float = 1e-5) -> Variable {
    precondition(x.shape.count == 4, "instanceNorm: x must be [N,H,W,C], got \(x.shape)")
    precondition((gamma == nil) == (beta == nil), "instanceNorm: give both gamma and beta or neither")
    let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let st = normStatistics(x.value, G: N, M: H * W, C: C, eps: eps)
    let y = normApply(x.value, G: N, M: H * W, C: C, st, gamma: gamma?.value, beta: beta?.value)
    let inputs = gamma.map { [x, $0, beta!] } ?? [x]
    return record("instanceNorm", y, inputs) { g, _ in
        if GradMode.isEnabled {
            let (dx, dg, db) = normBackwardComposite(g, x, gamma: gamma, axes: [1, 2], eps: eps)
            return gamma == nil ? [dx] : [dx, dg, db]
        }
        let (dx, dg, db) = normBackward(g.value, x.value, G: N, M: H * W, C: C, st, gamma: gamma?.value)
        return gamma == nil ? [Variable(dx)] : [Variable(dx), Variable(dg!), Variable(db!)]
    }
}

/// Layer norm over `axes` (default all but the batch axis), with optional affine
/// parameters broadcastable to x (e.g. [H,W,C] as PyTorch LayerNorm([C,H,W]) permuted, or [C]).
/// Built from differentiable ops, so it is differentiable to any order.
public func layerNorm(_ x: Variable, axes: [Int]? = nil, gamma: Variable? = nil, beta: Variable? = nil,
                      eps: Float = 1e-5) -> Variable {
    let ax = axes ?? Array(1..<x.shape.count)
    let xc = x - mean(x, alongAxes: ax, keepingDims: true)
    var y = xc * rsqrt(mean(square(xc), alongAxes: ax, keepingDims: true) + eps)
    if let gamma { y = y * gamma }
    if let beta { y = y + beta }
    return y
}
