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
//   6. Your options: computed `Opt`s in an `extension ModelOptions` (name, default, help, check;
//      see `lambdaRegression` below); read them typed (`o.lambdaRegression`).
//   7. The registration (the `TrainableModel` at the end of this file): name, help, dataset
//      mode, your options (`.use(\.lambdaRegression)`: the CLI parses and documents them, and
//      options.json and opt.txt record them), your defaults, how `test` runs it, and `build`,
//      which makes the networks from the options and returns the trainer; then add it to
//      `ModelRegistry.builtIn` (Trainers/ModelRegistry.swift). `img2img train <name>`,
//      `img2img test <name>` and --help pick it up from there.
// Anything random must come from `rng` (or another generator whose state is in the checkpoint).
//
// This template is a working model: a generator trained by plain regression,
//   fake_B = G(real_A),  loss_G = lambda_regression * |fake_B - real_B|
// (the paper code's template), optionally with an adversarial term from a PatchGAN D on
// fake_B alone when `lambdaGAN` > 0.
import Training
import Autograd
import Models
import NN
import TensorCore

public struct TemplateLosses: Sendable, Equatable {
    public var G_regression: Float = 0, G_GAN: Float = 0, D: Float = 0
    public init() {}
    public var named: [(name: String, value: Float)] { [("G_regression", G_regression), ("G_GAN", G_GAN), ("D", D)] }
}

public final class TemplateTrainer: GANTrainer {
    public var modelName: String { "template" }
    public let G: any Layer, D: any Layer
    /// The run's options (the common ones and this model's own, typed: `options.lambdaA`).
    public let options: TrainOptions
    public let optimizerG: Adam, optimizerD: Adam
    public var schedule: LRSchedule
    public var rng: SplitMix64
    public var progress = TrainingProgress()
    public private(set) var losses = TemplateLosses()
    /// Images of the last iteration for the report: real_A, fake_B, real_B.
    public private(set) var visuals: [(name: String, image: Tensor)] = []
    let criterionGAN: GANLoss

    public init(G: any Layer, D: any Layer, options: TrainOptions = TrainableModel.template.defaults) {
        self.G = G; self.D = D; self.options = options
        G.train(); D.train()
        optimizerG = makeAdam([("G", G)], options)
        optimizerD = makeAdam([("D", D)], options)
        schedule = makeSchedule(options)
        schedule.apply(to: [optimizerG, optimizerD])
        rng = SplitMix64(seed: deriveSeed(options.seed, 3))
        criterionGAN = GANLoss(options.ganMode)
    }

    public var networks: [(name: String, module: any Module)] { [("G", G), ("D", D)] }
    public var optimizers: [(name: String, optimizer: Adam)] { [("optimizer_G", optimizerG), ("optimizer_D", optimizerD)] }
    public var lossValues: [(name: String, value: Float)] { losses.named }

    public func optimizeParameters(_ batch: TrainingBatch) {
        guard let target = batch.realB else { preconditionFailure("the template model needs realB") }
        let realA = Variable(batch.realA), realB = Variable(target)
        let o = options

        // forward
        let fakeB = G(realA)
        visuals = [("real_A", batch.realA), ("fake_B", fakeB.value), ("real_B", target)]

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

extension ModelOptions {
    public var lambdaRegression: Opt<Float> {
        Opt("lambda-regression", 1, "Weight of the L1 regression loss.", check: .atLeast(0))
    }
}

extension TrainableModel {
    /// `img2img train template`: the template as a trainable model, from the registration alone.
    public static let template = TrainableModel(
        name: "template", abstract: "the template model: a generator trained by L1 regression on pairs (a how-to for new models).",
        datasetMode: .aligned,
        options: [.use(\.lambdaRegression), .use(\.lambdaGAN, default: 0)],
        setDefaults: { o in o.netG = "resnet_9blocks"; o.norm = .batch; o.ganMode = .lsgan },
        test: TestSpec(datasetMode: .aligned),
        usesDiscriminator: { $0.lambdaGAN > 0 },
        build: { o, _ in
            let g = ModelConfig.generator(o.netG, inputNC: o.inputNc, outputNC: o.outputNc, ngf: o.ngf,
                                          norm: o.norm, useDropout: o.useDropout)
            let d = ModelConfig(kind: .discriminator, netD: o.netD, inputNC: o.outputNc, ndf: o.ndf, norm: o.norm,
                                nLayersD: o.nLayersD)
            var rng = SplitMix64(seed: deriveSeed(o.seed, 0))
            let (it, gain) = (o.initType, o.initGain)
            let G = try makeLayer(g, initType: it, gain: gain, using: &rng)
            let D = try makeLayer(d, initType: it, gain: gain, using: &rng)
            reseedDropout([G, D], seed: o.seed)
            return BuiltTrainer(trainer: TemplateTrainer(G: G, D: D, options: o), configs: ["G": g, "D": d])
        })
}
