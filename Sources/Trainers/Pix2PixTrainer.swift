// pix2pix (Isola et al. 2017), as the paper code's models/pix2pix_model.py.
//   G: A -> B (U-Net), D: conditional PatchGAN on concat(A, B) along channels.
//   forward:  fake_B = G(real_A)
//   D step:   loss_D = (GAN(D([real_A, fake_B].detach), fake) + GAN(D([real_A, real_B]), real)) * 0.5
//             (+ gradient penalty for wgangp; clipping for wgan)
//   G step (D frozen, using the UPDATED D):
//             loss_G = GAN(D([real_A, fake_B]), real) + lambda_L1 |fake_B - real_B|
//   Defaults: vanilla GAN, lambda_L1 100, no image pool (the paper code uses none for pix2pix).
// Colorization (models/colorization_model.py) is pix2pix on Lab: the batch's RGB photos become
// real_A = L / 50 - 1 and real_B = ab / 110, and the visuals are shown in RGB again.
import Training
import Augment
import Autograd
import Models
import NN
import TensorCore

public struct Pix2PixLosses: Sendable, Equatable {
    public var G_GAN: Float = 0, G_L1: Float = 0, D_real: Float = 0, D_fake: Float = 0
    public init() {}
    public var named: [(name: String, value: Float)] {
        [("G_GAN", G_GAN), ("G_L1", G_L1), ("D_real", D_real), ("D_fake", D_fake)]
    }
}

public final class Pix2PixTrainer: GANTrainer {
    public var modelName: String { colorization ? "colorization" : "pix2pix" }
    /// The colorization model: batches hold RGB photos (realA), split into L and ab here.
    public let colorization: Bool
    public let G: any Layer, D: any Layer
    /// The run's options (the common ones and this model's own, typed: `options.lambdaA`).
    public let options: TrainOptions
    public let optimizerG: Adam, optimizerD: Adam
    public var schedule: LRSchedule
    public var rng: SplitMix64
    public var progress = TrainingProgress()
    public private(set) var losses = Pix2PixLosses()
    /// loss_D of the last iteration ((real + fake) * 0.5, with the penalty for wgangp).
    public private(set) var lossD: Float = 0
    let criterionGAN: GANLoss
    public private(set) var visuals: [(name: String, image: Tensor)] = []

    public init(G: any Layer, D: any Layer, options: TrainOptions = TrainableModel.pix2pix.defaults, colorization: Bool = false) {
        self.G = G; self.D = D; self.options = options; self.colorization = colorization
        G.train(); D.train()
        let t = options
        optimizerG = makeAdam([("G", G)], t)
        optimizerD = makeAdam([("D", D)], t)
        schedule = makeSchedule(t)
        schedule.apply(to: [optimizerG, optimizerD])
        rng = SplitMix64(seed: deriveSeed(t.seed, 3))
        criterionGAN = GANLoss(t.ganMode)
    }

    public var networks: [(name: String, module: any Module)] { [("G", G), ("D", D)] }
    public var optimizers: [(name: String, optimizer: Adam)] { [("optimizer_G", optimizerG), ("optimizer_D", optimizerD)] }
    public var lossValues: [(name: String, value: Float)] { losses.named }

    public func optimizeParameters(_ batch: TrainingBatch) {
        let batch = colorization ? Self.labBatch(batch.realA) : batch
        guard let realBTensor = batch.realB else { preconditionFailure("pix2pix needs realB") }
        let realA = Variable(batch.realA), realB = Variable(realBTensor)
        let updateG = isGeneratorIteration

        // forward
        let fakeB = withGradMode(updateG) { G(realA) }
        if colorization {
            visuals = [("real_A", realA.value), ("real_B_rgb", Self.rgb(l: realA.value, ab: realB.value)),
                       ("fake_B_rgb", Self.rgb(l: realA.value, ab: fakeB.value))]
        } else {
            visuals = [("real_A", realA.value), ("fake_B", fakeB.value), ("real_B", realB.value)]
        }

        // D
        D.setRequiresGrad(true)
        optimizerD.zeroGrad()
        backwardD(realA: realA, realB: realB, fakeB: fakeB)
        optimizerD.step()
        if options.ganMode == .wgan { clipWeights(D.parameters, options.clipValue) }

        // G
        if updateG {
            D.setRequiresGrad(false)
            optimizerG.zeroGrad()
            backwardG(realA: realA, realB: realB, fakeB: fakeB)
            optimizerG.step()
            D.setRequiresGrad(true)
        }
    }

    func backwardD(realA: Variable, realB: Variable, fakeB: Variable) {
        let fakeAB = concat([realA, fakeB.detached()], axis: -1)
        let lossFake = criterionGAN(D(fakeAB), targetIsReal: false)
        let realAB = concat([realA, realB], axis: -1)
        let lossReal = criterionGAN(D(realAB), targetIsReal: true)
        losses.D_fake = lossFake.value.scalar; losses.D_real = lossReal.value.scalar
        var loss = (lossFake + lossReal) * 0.5
        if options.ganMode == .wgangp {
            loss = loss + gradientPenalty(critic: { D($0) }, real: realAB.value, fake: fakeAB.value,
                                          lambda: options.lambdaGP, using: &rng)
        }
        loss.backward()
        lossD = loss.value.scalar
    }

    /// RGB photos [N,H,W,3] in [-1, 1] to the colorization pair: A = L / 50 - 1, B = ab / 110.
    static func labBatch(_ rgb: Tensor) -> TrainingBatch {
        precondition(rgb.shape.last == 3, "colorization needs RGB batches, got \(rgb.shape)")
        let (l, ab) = rgb.scalars.withUnsafeBufferPointer { Lab.splitSignedRGB($0) }
        let s = Array(rgb.shape.dropLast())
        return .pair(Tensor(shape: s + [1], scalars: l), Tensor(shape: s + [2], scalars: ab))
    }

    /// L and ab (network scales) to RGB [N,H,W,3] in [-1, 1], for the visuals.
    static func rgb(l: Tensor, ab: Tensor) -> Tensor {
        let v = l.scalars.withUnsafeBufferPointer { lp in ab.scalars.withUnsafeBufferPointer { Lab.signedRGB(l: lp, ab: $0) } }
        return Tensor(shape: Array(l.shape.dropLast()) + [3], scalars: v)
    }

    func backwardG(realA: Variable, realB: Variable, fakeB: Variable) {
        let fakeAB = concat([realA, fakeB], axis: -1)
        let lossGAN = criterionGAN(D(fakeAB), targetIsReal: true)
        let lossL1 = l1(fakeB, realB) * options.lambdaL1
        losses.G_GAN = lossGAN.value.scalar; losses.G_L1 = lossL1.value.scalar
        (lossGAN + lossL1).backward()
    }
}

extension ModelOptions {
    public var lambdaL1: Opt<Float> { Opt("lambda-L1", 100, "Weight of the L1 loss.", check: .atLeast(0)) }
}

extension TrainableModel {
    /// `img2img train pix2pix`: the paper code's defaults (unet_256, batch norm, vanilla GAN, dropout, L1 x100).
    public static let pix2pix = TrainableModel(
        name: "pix2pix", abstract: "paired translation A -> B (conditional GAN + L1).",
        datasetMode: .aligned,
        options: [.use(\.lambdaL1)],
        setDefaults: { o in
            o.netG = "unet_256"; o.norm = .batch; o.ganMode = .vanilla; o.useDropout = true
        },
        test: TestSpec(datasetMode: .aligned),
        build: { o, _ in
            let g = ModelConfig.generator(o.netG, inputNC: o.inputNc, outputNC: o.outputNc, ngf: o.ngf,
                                          norm: o.norm, useDropout: o.useDropout)
            let d = ModelConfig(kind: .discriminator, netD: o.netD, inputNC: o.inputNc + o.outputNc, ndf: o.ndf,
                                norm: o.norm, nLayersD: o.nLayersD)
            let trainer = try Pix2PixTrainer(generator: g, discriminator: d, options: o, initialization: o.initialization)
            return BuiltTrainer(trainer: trainer, configs: ["G": g, "D": d])
        })
}

extension TrainableModel {
    /// `img2img train colorization`: the paper code's colorization model, pix2pix from the L
    /// channel of Lab to its ab channels, trained on any folder of colour photos.
    public static let colorization = TrainableModel(
        name: "colorization", abstract: "gray to colour (pix2pix from L to ab of Lab) on any folder of colour photos.",
        datasetMode: .colorization,
        options: [.use(\.lambdaL1)],
        setDefaults: { o in
            o.netG = "unet_256"; o.norm = .batch; o.ganMode = .vanilla; o.useDropout = true
            o.inputNc = 1; o.outputNc = 2
        },
        validate: { o in
            // The paper code's colorization dataset asserts the same.
            guard o.inputNc == 1, o.outputNc == 2, o.direction == .aToB else {
                throw TrainingError.invalidOptions("colorization maps L (--input-nc 1) to ab (--output-nc 2), AtoB; "
                                                   + "got --input-nc \(o.inputNc) --output-nc \(o.outputNc) --direction \(o.direction.rawValue)")
            }
        },
        test: TestSpec(datasetMode: .colorization),
        build: { o, _ in
            var g = ModelConfig.generator(o.netG, inputNC: 1, outputNC: 2, ngf: o.ngf, norm: o.norm, useDropout: o.useDropout)
            g.colorization = true
            let d = ModelConfig(kind: .discriminator, netD: o.netD, inputNC: 3, ndf: o.ndf, norm: o.norm, nLayersD: o.nLayersD)
            let trainer = try Pix2PixTrainer(generator: g, discriminator: d, options: o, initialization: o.initialization,
                                             colorization: true)
            return BuiltTrainer(trainer: trainer, configs: ["G": g, "D": d])
        })
}
