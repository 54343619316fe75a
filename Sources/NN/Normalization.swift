// Normalization layers (PyTorch semantics, eps 1e-5).
//   x: [N,H,W,C]  weight (gamma), bias (beta): [C]  y: [N,H,W,C]
//   InstanceNorm2D: statistics per (image, channel) over H,W. The paper code's
//                   `--norm instance` is affine: false with no running statistics.
//   BatchNorm2D:    statistics per channel over N,H,W; running mean / var (momentum 0.1,
//                   unbiased var) and num_batches_tracked are buffers in the state dict.
import TensorCore
import Autograd

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

    public func callAsFunction(_ x: Variable) -> Variable {
        switch statistics {
        case .batchUpdatingRunning:
            numBatchesTracked += 1
            return batchNorm(x, gamma: weight, beta: bias, statistics: &running, training: true)
        case .batch:
            var scratch = running
            return batchNorm(x, gamma: weight, beta: bias, statistics: &scratch, training: true)
        case .running:
            return batchNorm(x, gamma: weight, beta: bias, statistics: &running, training: false)
        }
    }
}
