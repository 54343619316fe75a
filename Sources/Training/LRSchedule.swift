// Learning-rate schedules, as the paper code's networks.get_scheduler (torch.optim.lr_scheduler):
//   linear:  LambdaLR, lr = base * (1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1))
//   step:    StepLR(step_size = lr_decay_iters, gamma 0.1): lr *= 0.1 every lr_decay_iters steps
//   plateau: ReduceLROnPlateau(mode min, factor 0.2, threshold 0.01 rel, patience 5, cooldown 0)
//   cosine:  CosineAnnealingLR(T_max = n_epochs, eta_min 0), torch's recursive form
// `epoch` here is torch's `last_epoch`: the number of `step()` calls so far. The paper code's
// train.py calls `update_learning_rate()` (one step) at the BEGINNING of every epoch, so
// epoch k (counted from epoch_count) trains with the lr after k - epoch_count + 1 steps; the
// trainers do the same. All arithmetic is in Double, as Python floats.
import Foundation

public enum LRPolicy: String, Sendable, CaseIterable, Codable {
    case linear, step, plateau, cosine
}

public struct LRSchedule: Sendable, Equatable, Codable {
    public var policy: LRPolicy
    public var baseLR: Double
    /// Paper-code options that shape the schedules.
    public var epochCount: Int          // --epoch_count (starting epoch, 1 by default)
    public var nEpochs: Int             // --n_epochs (epochs at the initial lr)
    public var nEpochsDecay: Int        // --n_epochs_decay
    public var lrDecayIters: Int        // --lr_decay_iters (step policy)

    /// Number of step() calls so far (torch last_epoch).
    public private(set) var lastEpoch: Int = 0
    /// The current learning rate.
    public private(set) var lr: Double
    // ReduceLROnPlateau state
    public private(set) var best: Double = .infinity
    public private(set) var numBadEpochs: Int = 0
    public var plateauFactor = 0.2, plateauThreshold = 0.01, plateauPatience = 5

    public init(policy: LRPolicy, baseLR: Double, epochCount: Int = 1, nEpochs: Int = 100,
                nEpochsDecay: Int = 100, lrDecayIters: Int = 50) {
        self.policy = policy; self.baseLR = baseLR; self.epochCount = epochCount
        self.nEpochs = nEpochs; self.nEpochsDecay = nEpochsDecay; self.lrDecayIters = lrDecayIters
        self.lr = baseLR
        if policy == .linear { lr = baseLR * linearFactor(0) }
    }

    /// The paper code's lambda_rule.
    public func linearFactor(_ epoch: Int) -> Double {
        1.0 - Double(max(0, epoch + epochCount - nEpochs)) / Double(nEpochsDecay + 1)
    }

    /// Advances one epoch. `metric` is used by `plateau` only (the paper code passes 0).
    public mutating func step(metric: Double = 0) {
        lastEpoch += 1
        let e = lastEpoch
        switch policy {
        case .linear:
            lr = baseLR * linearFactor(e)
        case .step:
            if e % lrDecayIters == 0 { lr = lr * 0.1 }
        case .cosine:
            let tMax = Double(nEpochs), etaMin = 0.0
            if (e - 1 - nEpochs) % (2 * nEpochs) == 0 {
                lr = lr + (baseLR - etaMin) * (1 - cos(Double.pi / tMax)) / 2
            } else {
                lr = (1 + cos(Double.pi * Double(e) / tMax)) / (1 + cos(Double.pi * Double(e - 1) / tMax))
                    * (lr - etaMin) + etaMin
            }
        case .plateau:
            if metric < best * (1 - plateauThreshold) { best = metric; numBadEpochs = 0 } else { numBadEpochs += 1 }
            if numBadEpochs > plateauPatience {
                let newLR = max(lr * plateauFactor, 0)
                if lr - newLR > 1e-8 { lr = newLR }
                numBadEpochs = 0
            }
        }
    }

    /// Applies the current lr to optimizers.
    public func apply(to optimizers: [Adam]) { for o in optimizers { o.lr = lr } }
}
