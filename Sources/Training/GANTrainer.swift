// What every trainer shares: the paper code's BaseModel.
//
//   let trainer = try CycleGANTrainer(G_A: ..., G_B: ..., D_A: ..., D_B: ..., options: opts)
//   trainer.updateLearningRate()           // at the start of each epoch, as the paper code
//   trainer.optimizeParameters(batch)      // one iteration
//   print(trainer.lossValues)              // [("G_A", 0.31), ...] of the last batch
//   try TrainingCheckpoint.save(trainer, to: path)     // atomically
//   try TrainingCheckpoint.load(path, into: trainer)   // --continue: exact resume
// The epoch loop, saves, resume and logs are TrainingRun's (the one loop that ships).
//
// A trainer owns its networks (NN modules, in train mode), two Adam optimizers, one lr
// schedule applied to both, image pools, and seeded generators; everything random in a run
// (init is done by the caller from the seed; pools, dropout, noise, labels, penalty alphas)
// comes from generators whose state is in the training checkpoint, so a run is reproducible
// bit for bit on the same machine and thread count, and a resumed run equals an
// uninterrupted one.
import Autograd
import Checkpoint
import NN
import TensorCore

/// One batch as the trainers consume it (the CLI's loaders produce these).
///   realA, realB: [N,H,W,C] in [-1, 1]. CycleGAN: unpaired domains A and B; pix2pix: aligned
///   input A and target B; DCGAN: real images in realA; CGAN: real images in realA with `labels`.
public struct TrainingBatch: Sendable {
    public var realA: Tensor
    public var realB: Tensor?
    public var labels: [Int]?
    public init(realA: Tensor, realB: Tensor? = nil, labels: [Int]? = nil) {
        self.realA = realA; self.realB = realB; self.labels = labels
    }
    public static func pair(_ a: Tensor, _ b: Tensor) -> TrainingBatch { TrainingBatch(realA: a, realB: b) }
    public static func images(_ x: Tensor, labels: [Int]? = nil) -> TrainingBatch { TrainingBatch(realA: x, labels: labels) }
}

/// The options a trainer reads are the run's options (CommonOptions: gan_mode, lr, beta1, the
/// schedule, d_steps, clip_value, lambda_gp, seed); `TrainingOptions()` has every default.
public typealias TrainingOptions = TrainOptions

/// Where a run is: completed epochs and batches.
public struct TrainingProgress: Sendable, Codable, Equatable {
    /// Completed epochs since the start (the next epoch is epochCount + epoch).
    public var epoch: Int = 0
    /// Total optimize calls (batches) since the start.
    public var iteration: Int = 0
    public init() {}
}

public protocol GANTrainer: AnyObject {
    /// Name stored in checkpoints ("cycle_gan", "pix2pix", "dcgan", "cgan", ...).
    var modelName: String { get }
    var options: TrainingOptions { get }
    /// Networks by checkpoint prefix ("G_A", "D_A", ...), as the paper code's model_names.
    var networks: [(name: String, module: any Module)] { get }
    /// Optimizers by checkpoint prefix ("optimizer_G", "optimizer_D").
    var optimizers: [(name: String, optimizer: Adam)] { get }
    /// Image pools by checkpoint prefix ("fake_A_pool", ...); none by default.
    var pools: [(name: String, pool: ImagePool)] { get }
    var schedule: LRSchedule { get set }
    /// The trainer's own generator (noise, labels, penalty alphas).
    var rng: SplitMix64 { get set }
    var progress: TrainingProgress { get set }
    /// The named losses of the last optimize call (the Losses struct's fields, in order).
    var lossValues: [(name: String, value: Float)] { get }
    /// One training iteration on a batch (the paper's optimize_parameters).
    func optimizeParameters(_ batch: TrainingBatch)
    /// Images of the last iteration by name (the paper code's visual_names: real_A, fake_B, ...),
    /// [N,H,W,C] values in [-1, 1], for sample grids (`imageGrid`).
    var visuals: [(name: String, image: Tensor)] { get }
    /// Called by `TrainingCheckpoint.restore` before anything is restored: a trainer whose
    /// networks are created from the data (CUT's netF) creates them here from the file's shapes,
    /// so that they and their optimizers are restored too. Default: nothing.
    func prepareToRestore(_ file: TensorFile) throws
    /// A noise GAN's samples for the report, `perClass` per class (one row per class; one row
    /// for an unconditional GAN), [N,H,W,C] in [-1, 1]; nil for translation models (default).
    func reportSamples(perClass: Int) -> Tensor?
}

extension GANTrainer {
    public var pools: [(name: String, pool: ImagePool)] { [] }
    public var visuals: [(name: String, image: Tensor)] { [] }
    public func prepareToRestore(_ file: TensorFile) throws {}
    public func reportSamples(perClass: Int) -> Tensor? { nil }

    /// Whether this iteration updates G (D is updated every iteration; G every dSteps-th).
    public var isGeneratorIteration: Bool { (progress.iteration + 1) % max(options.dSteps, 1) == 0 }

    /// The paper code's update_learning_rate(): one schedule step, applied to every optimizer.
    /// `metric` feeds the plateau policy (the paper code passes 0).
    public func updateLearningRate(metric: Double = 0) {
        schedule.step(metric: metric)
        schedule.apply(to: optimizers.map(\.optimizer))
    }

    /// The epoch number as the paper code prints it (epoch_count-based).
    public var currentEpochNumber: Int { options.epochCount + progress.epoch }
}

/// Convenience used by the trainers.
extension Module {
    /// Named parameters with a prefix ("G_A.model.1.weight").
    public func prefixedParameters(_ prefix: String) -> [(name: String, variable: Variable)] {
        namedParameters().map { (prefix + "." + $0.name, $0.variable) }
    }
}

public func makeAdam(_ nets: [(String, any Module)], _ o: TrainingOptions) -> Adam {
    Adam(nets.flatMap { $0.1.prefixedParameters($0.0) }, lr: o.lr, beta1: o.beta1, beta2: o.beta2)
}

public func makeSchedule(_ o: TrainingOptions) -> LRSchedule {
    LRSchedule(policy: o.lrPolicy, baseLR: o.lr, epochCount: o.epochCount, nEpochs: o.nEpochs,
               nEpochsDecay: o.nEpochsDecay, lrDecayIters: o.lrDecayIters)
}

/// Derives independent seeds for the generators of a run from one seed.
public func deriveSeed(_ seed: UInt64, _ stream: UInt64) -> UInt64 {
    var g = SplitMix64(seed: seed ^ (0x5851_F42D_4C95_7F2D &* (stream &+ 1)))
    return g.next()
}
