// GAN objectives, as the paper code's networks.GANLoss and cal_gradient_penalty.
//   prediction: D's output, any shape (PatchGAN [N,h,w,1], DCGAN [N,1])
//   lsgan:   MSE(prediction, 1 or 0)                 (mean over all elements)
//   vanilla: BCEWithLogits(prediction, 1 or 0)
//   wgan, wgangp: real -> -mean(prediction), fake -> +mean(prediction)
//   wgan also clips D's parameters to [-c, c] after every D step (`clipWeights`);
//   wgangp adds `gradientPenalty` to D's loss.
import Autograd
import TensorCore

public enum GANMode: String, Sendable, CaseIterable, Codable {
    case lsgan, vanilla, wgan, wgangp
}

public struct GANLoss: Sendable {
    public var mode: GANMode
    public var realLabel: Float
    public var fakeLabel: Float

    public init(_ mode: GANMode, realLabel: Float = 1, fakeLabel: Float = 0) {
        self.mode = mode; self.realLabel = realLabel; self.fakeLabel = fakeLabel
    }

    /// The loss of `prediction` against "real" (targetIsReal) or "fake". Rank-0.
    public func callAsFunction(_ prediction: Variable, targetIsReal: Bool) -> Variable {
        switch mode {
        case .lsgan:
            let t = Variable(Tensor(repeating: targetIsReal ? realLabel : fakeLabel, shape: prediction.shape))
            return mseLoss(prediction, t)
        case .vanilla:
            return bceWithLogitsLoss(prediction, target: targetIsReal ? realLabel : fakeLabel)
        case .wgan, .wgangp:
            return targetIsReal ? -mean(prediction) : mean(prediction)
        }
    }
}

/// Where the gradient penalty is evaluated (paper code's `type`).
public enum GradientPenaltyType: String, Sendable, Codable {
    case real, fake, mixed
}

/// The paper code's cal_gradient_penalty:
///   x = alpha * real + (1 - alpha) * fake  (mixed; alpha ~ U[0,1) per sample, broadcast over H, W, C)
///   g = d sum(critic(x)) / dx  (recorded: createGraph), flattened to [N, -1]
///   penalty = mean((||g + 1e-16||_2 - constant)^2) * lambda
/// The result is differentiable w.r.t. the critic's parameters (second derivatives), so
/// `(lossD + penalty).backward()` trains the critic exactly as torch does.
/// `alpha` overrides the random draw (tests, fixtures); otherwise it is drawn from `rng`.
public func gradientPenalty<G: RandomNumberGenerator>(
    critic: (Variable) -> Variable, real: Tensor, fake: Tensor, type: GradientPenaltyType = .mixed,
    constant: Float = 1, lambda: Float = 10, alpha: [Float]? = nil, using rng: inout G
) -> Variable {
    precondition(real.shape == fake.shape, "gradientPenalty: real \(real.shape) and fake \(fake.shape) differ")
    let n = real.shape[0]
    let x: Tensor
    switch type {
    case .real: x = real
    case .fake: x = fake
    case .mixed:
        let a = alpha ?? (0..<n).map { _ in Float.random(in: 0..<1, using: &rng) }
        precondition(a.count == n, "gradientPenalty: \(a.count) alphas for a batch of \(n)")
        let aShape = [n] + Array(repeating: 1, count: real.rank - 1)
        let at = Tensor(shape: aShape, scalars: a)
        x = at * real + (1 - at) * fake
    }
    let xv = Variable(x, requiresGrad: true)
    let out = critic(xv)
    let g = gradients(of: out, wrt: [xv], seed: Tensor(ones: out.shape), createGraph: true)[0]
    let flat = reshape(g, [n, -1]) + Float(1e-16)
    let norms = sqrt(sum(square(flat), alongAxes: [1]))
    return mean(square(norms - constant)) * lambda
}

/// WGAN weight clipping: every parameter clamped to [-c, c] (after each critic step).
public func clipWeights(_ parameters: [Variable], _ c: Float = 0.01) {
    for p in parameters {
        p.update { v in v.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] = min(max(b[i], -c), c) } } }
    }
}

/// Mean absolute error, the paper code's criterionCycle / criterionIdt / criterionL1.
public func l1(_ x: Variable, _ target: Variable) -> Variable { l1Loss(x, target) }
