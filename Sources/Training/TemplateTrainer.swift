// How to add a model: a template, as the paper code's models/template_model.py.
//
// A trainer is a class conforming to GANTrainer. Copy this file, rename the class, and fill in:
//   1. The options struct: your hyper-parameters (loss weights, ...) next to TrainingOptions.
//   2. The losses struct: one named field per loss you report (the paper code's loss_names);
//      `named` lists them for logs and for the NaN check before each checkpoint.
//   3. init: keep the networks (NN modules, put in train mode), make one Adam per group of
//      networks (makeAdam names the parameters "<net>.<state_dict name>" for checkpoints),
//      make the schedule and the trainer's generator from the seed.
//   4. `networks`, `optimizers` (and `pools` if you use ImagePool): prefixes used in the
//      training checkpoint. Everything listed there is saved and restored by
//      TrainingCheckpoint, so resume is exact without any model-specific code.
//   5. optimizeParameters: forward, then for each network group: freeze the others
//      (setRequiresGrad(false)), zeroGrad, backward of the loss, step; record the losses.
//   6. A factory from ModelConfig (see TrainerFactories.swift) so the CLI can build it.
// Anything random must come from `rng` (or another generator whose state is in the checkpoint).
//
// This template is a working model: a generator trained by plain regression,
//   fake_B = G(real_A),  loss_G = lambda_regression * |fake_B - real_B|
// (the paper code's template), optionally with an adversarial term from a PatchGAN D on
// fake_B alone when `lambdaGAN` > 0.
import Autograd
import NN
import TensorCore

public struct TemplateOptions: Sendable, Codable, Equatable {
    public var training = TrainingOptions()
    public var lambdaRegression: Float = 1
    /// 0: pure regression, D is not trained.
    public var lambdaGAN: Float = 0
    public init() {}
}

public struct TemplateLosses: Sendable, Equatable {
    public var G_regression: Float = 0, G_GAN: Float = 0, D: Float = 0
    public init() {}
    public var named: [(name: String, value: Float)] { [("G_regression", G_regression), ("G_GAN", G_GAN), ("D", D)] }
}

public final class TemplateTrainer: GANTrainer {
    public var modelName: String { "template" }
    public let G: any Layer, D: any Layer
    public let templateOptions: TemplateOptions
    public var options: TrainingOptions { templateOptions.training }
    public let optimizerG: Adam, optimizerD: Adam
    public var schedule: LRSchedule
    public var rng: SplitMix64
    public var progress = TrainingProgress()
    public private(set) var losses = TemplateLosses()
    let criterionGAN: GANLoss

    public init(G: any Layer, D: any Layer, options: TemplateOptions = .init()) {
        self.G = G; self.D = D; self.templateOptions = options
        G.train(); D.train()
        optimizerG = makeAdam([("G", G)], options.training)
        optimizerD = makeAdam([("D", D)], options.training)
        schedule = makeSchedule(options.training)
        schedule.apply(to: [optimizerG, optimizerD])
        rng = SplitMix64(seed: deriveSeed(options.training.seed, 3))
        criterionGAN = GANLoss(options.training.ganMode)
    }

    public var networks: [(name: String, module: any Module)] { [("G", G), ("D", D)] }
    public var optimizers: [(name: String, optimizer: Adam)] { [("optimizer_G", optimizerG), ("optimizer_D", optimizerD)] }
    public var lossValues: [(name: String, value: Float)] { losses.named }

    public func optimizeParameters(_ batch: TrainingBatch) {
        guard let target = batch.realB else { preconditionFailure("the template model needs realB") }
        let realA = Variable(batch.realA), realB = Variable(target)
        let o = templateOptions

        // forward
        let fakeB = G(realA)

        // G update, D frozen
        D.setRequiresGrad(false)
        optimizerG.zeroGrad()
        var lossG = l1(fakeB, realB) * o.lambdaRegression
        losses.G_regression = lossG.value.scalar
        if o.lambdaGAN > 0 {
            let gan = criterionGAN(D(fakeB), targetIsReal: true) * o.lambdaGAN
            losses.G_GAN = gan.value.scalar
            lossG = lossG + gan
        }
        lossG.backward()
        optimizerG.step()
        D.setRequiresGrad(true)

        // D update on the (detached) fake
        if o.lambdaGAN > 0 {
            optimizerD.zeroGrad()
            losses.D = discriminatorLoss(D, real: target, fake: fakeB.value, gan: criterionGAN, options: options, rng: &rng)
            optimizerD.step()
            if options.ganMode == .wgan { clipWeights(D.parameters, options.clipValue) }
        }
    }
}
