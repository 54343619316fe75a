// Batch norm (PyTorch BatchNorm2d semantics).
//   x: [N,H,W,C]  gamma, beta: [C] or nil  runningMean, runningVar: [C]  y: [N,H,W,C]
//   training: y = (x - mean_{N,H,W}) / sqrt(var_{N,H,W} + eps) * gamma + beta   (biased var)
//             running = (1 - momentum) * running + momentum * batch  (momentum 0.1;
//             the running var uses the unbiased batch variance, M/(M-1))
//   eval:     y = (x - runningMean) / sqrt(runningVar + eps) * gamma + beta
//   backward (training): NormKernels.swift with G = 1, M = N*H*W; eval: composite ops.
import TensorCore

/// Running statistics of a batch norm layer (buffers, saved in checkpoints, not trained).
public struct BatchNormStatistics: Sendable {
    public var runningMean: Tensor
    public var runningVar: Tensor
    public var momentum: Float
    public init(channels: Int, momentum: Float = 0.1) {
        runningMean = Tensor(zeros: [channels]); runningVar = Tensor(ones: [channels]); self.momentum = momentum
    }
}

public func batchNorm(_ x: Variable, gamma: Variable? = nil, beta: Variable? = nil,
                      statistics: inout BatchNormStatistics, training: Bool, eps: Float = 1e-5) -> Variable {
    precondition(x.shape.count == 4, "batchNorm: x must be [N,H,W,C], got \(x.shape)")
    let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(statistics.runningMean.shape == [C], "batchNorm: running stats must be [\(C)]")
    if !training {
        let invStd = (statistics.runningVar + eps).applying(.rsqrt)
        var y = (x - Variable(statistics.runningMean)) * Variable(invStd)
        if let gamma { y = y * gamma }
        if let beta { y = y + beta }
        return y
    }
    let M = N * H * W
    let unbiased = Tensor(uninitializedShape: [C])
    let st = normStatistics(x.value, G: 1, M: M, C: C, eps: eps, unbiased: unbiased)
    let mom = statistics.momentum
    withExtendedLifetime((st, unbiased)) {
        let pm = st.mean.pointer, pu = unbiased.pointer
        statistics.runningMean.withUnsafeMutableBufferPointer { rm in
            for c in 0..<C { rm[c] = (1 - mom) * rm[c] + mom * pm[c] }
        }
        statistics.runningVar.withUnsafeMutableBufferPointer { rv in
            for c in 0..<C { rv[c] = (1 - mom) * rv[c] + mom * pu[c] }
        }
    }
    let y = normApply(x.value, G: 1, M: M, C: C, st, gamma: gamma?.value, beta: beta?.value)
    var inputs = [x]
    if let gamma { inputs.append(gamma) }
    if let beta { inputs.append(beta) }
    let hasAffine = gamma != nil && beta != nil
    precondition(hasAffine || (gamma == nil && beta == nil), "batchNorm: give both gamma and beta or neither")
    return record("batchNorm", y, inputs) { g, _ in
        if GradMode.isEnabled {
            let (dx, dg, db) = normBackwardComposite(g, x, gamma: gamma, axes: [0, 1, 2], eps: eps)
            return hasAffine ? [dx, dg, db] : [dx]
        }
        let (dx, dg, db) = normBackward(g.value, x.value, G: 1, M: M, C: C, st, gamma: gamma?.value)
        return hasAffine ? [Variable(dx), Variable(dg!), Variable(db!)] : [Variable(dx)]
    }
}
