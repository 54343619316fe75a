// Normalization layers (PyTorch semantics, eps 1e-5).
//   x: [N,H,W,C]  weight (gamma), bias (beta): [C]  y: [N,H,W,C]
//   InstanceNorm2D: statistics per (image, channel) over H,W. The paper code's
//                   `--norm instance` is affine: false with no running statistics.
//   BatchNorm2D:    statistics per channel over N,H,W; running mean / var (momentum 0.1,
//                   unbiased var) and num_batches_tracked are buffers in the state dict.
import TensorCore
import Autograd
import Distributed

public final class InstanceNorm2D: Layer {
    public let channels: Int
    public let weight: Variable?
    public let bias: Variable?

    public init(channels: Int, affine: Bool = false) {
        self.channels = channels
        weight = affine ? Variable(Tensor(ones: [channels]), requiresGrad: true) : nil
        bias = affine ? Variable(Tensor(zeros: [channels]), requiresGrad: true) : nil
    }

    public var affine: Bool { weight != nil }

    public var ownTensors: [ModuleTensor] {
        guard let weight, let bias else { return [] }
        return [.parameter("weight", weight), .parameter("bias", bias)]
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        instanceNorm(x, gamma: weight, beta: bias)
    }
}

public final class BatchNorm2D: Layer {
    /// Which statistics normalize the input.
    public enum Statistics: Sendable, Equatable {
        /// Training (PyTorch `train()`): batch statistics; running ones updated.
        case batchUpdatingRunning
        /// The paper code's test time: batch statistics; running ones left as they are.
        case batch
        /// PyTorch `eval()`: running statistics.
        case running
    }

    public let channels: Int
    public let weight: Variable
    public let bias: Variable
    public var running: BatchNormStatistics
    public var numBatchesTracked: Int = 0
    public var statistics: Statistics = .batchUpdatingRunning

    public init(channels: Int, momentum: Float = 0.1) {
        self.channels = channels
        weight = Variable(Tensor(ones: [channels]), requiresGrad: true)
        bias = Variable(Tensor(zeros: [channels]), requiresGrad: true)
        running = BatchNormStatistics(channels: channels, momentum: momentum)
    }

    /// Whether the layer trains (batch statistics, running ones updated).
    public var training: Bool {
        get { statistics == .batchUpdatingRunning }
        set { statistics = newValue ? .batchUpdatingRunning : .running }
    }

    public func setMode(_ mode: ModuleMode) {
        switch mode {
        case .training: statistics = .batchUpdatingRunning
        case .test(let runningStatistics, _): statistics = runningStatistics ? .running : .batch
        }
    }

    public var ownTensors: [ModuleTensor] {
        [.parameter("weight", weight), .parameter("bias", bias),
         .buffer("running_mean", get: { self.running.runningMean }, set: { self.running.runningMean = $0 }),
         .buffer("running_var", get: { self.running.runningVar }, set: { self.running.runningVar = $0 }),
         .buffer("num_batches_tracked", integer: true,
                 get: { Tensor(Float(self.numBatchesTracked)) },
                 set: { self.numBatchesTracked = Int($0.scalar) })]
    }

    /// Synchronized batch norm (data-parallel training's `--sync-bn`, as PyTorch's
    /// `SyncBatchNorm(process_group=...)`): when set, training-mode statistics are over every
    /// rank's batch. The group's `allReduceSum` is differentiable (its backward sums the gradient
    /// the same way), so the composite below has the exact gradient of batch norm over the
    /// global batch.
    public var processGroup: (any ProcessGroup)?

    public func callAsFunction(_ x: Variable) -> Variable {
        switch statistics {
        case .batchUpdatingRunning:
            numBatchesTracked += 1
            if let group = processGroup, group.isActive { return synchronized(x, sum: group.allReduceSum) }
            return batchNorm(x, gamma: weight, beta: bias, statistics: &running, training: true)
        case .batch:
            var scratch = running
            return batchNorm(x, gamma: weight, beta: bias, statistics: &scratch, training: true)
        case .running:
            return batchNorm(x, gamma: weight, beta: bias, statistics: &running, training: false)
        }
    }

    /// Batch norm with statistics over every process's batch (see `processGroup`).
    ///   count = sum_p M_p,  mean = sum_p sum_{NHW} x / count,  var = sum_p sum_{NHW} (x - mean)^2 / count
    func synchronized(_ x: Variable, sum reduce: (Variable) -> Variable, eps: Float = 1e-5) -> Variable {
        let m = Float(x.shape[0] * x.shape[1] * x.shape[2])
        let count = reduce(Variable(Tensor(m))).value.scalar
        let mean = scale(reduce(sum(x, alongAxes: [0, 1, 2])), 1 / count)
        let centered = x - mean
        let variance = scale(reduce(sum(square(centered), alongAxes: [0, 1, 2])), 1 / count)
        let y = centered * rsqrt(addScalar(variance, eps)) * weight + bias
        let (mom, unbiased) = (running.momentum, count / max(count - 1, 1))
        let (mv, vv) = (mean.value, variance.value)
        running.runningMean = running.runningMean * (1 - mom) + mv * mom
        running.runningVar = running.runningVar * (1 - mom) + vv * (mom * unbiased)
        return y
    }
}
