// DCGAN (Radford et al. 2016) and the label-conditional GAN (Mirza & Osindero 2014).
//   z ~ N(0, 1): [N, latentShape...] (default [N,1,1,nz], NHWC)   labels: [N] in 0..<numClasses
//   forward:  fake = G(z)                    (CGAN: G(z, labels), D(x, labels))
//   D step:   DCGAN: loss_D = (GAN(D(real), real) + GAN(D(fake.detach), fake)) * 0.5
//             CGAN, mismatch weight w in [0, 1] (matching-aware D, Reed et al. 2016, GAN-CLS):
//               loss_D = (GAN(D(real, y), real) + (1 - w) GAN(D(fake.detach, y), fake)
//                         + w GAN(D(real, y_wrong), fake)) * 0.5
//               y_wrong: for each sample another class, uniform, from the trainer's generator.
//               w = 0.5 is GAN-CLS (the two kinds of negatives share the fake half); w = 0 is
//               the plain CGAN loss, computed as before and drawing nothing more.
//             (+ gradient penalty for wgangp, taken w.r.t. the image; clipping for wgan)
//   G step (D frozen, updated D):  loss_G = GAN(D(fake), real)
// Without mismatched pairs a CGAN's D can tell real from fake while ignoring the label; a
// real image with a wrong label is the negative that only the label gives away.
// wgan / wgangp: the critic's mean over the mismatched pairs counts as fake with weight w, as
// the fakes' mean does with 1 - w. The penalty stays on real/fake interpolates with the true
// labels: labels are discrete, there is no path between y and y_wrong to penalize along.
// Noise and labels for fakes come from the trainer's seeded generator; sample grids use a fixed
// noise per class drawn once from its own seed, so grids of successive epochs are comparable.
import Training
import Augment
import Autograd
import Datasets
import Models
import NN
import TensorCore

/// A generator of images from noise and class labels.
public protocol LabelConditionalGenerator: Module {
    func callAsFunction(_ z: Variable, labels: [Int]) -> Variable
}

/// A discriminator of (image, label) pairs.
public protocol LabelConditionalDiscriminator: Module {
    func callAsFunction(_ x: Variable, labels: [Int]) -> Variable
}

public struct GANLosses: Sendable, Equatable {
    public var G: Float = 0, D_real: Float = 0, D_fake: Float = 0, D: Float = 0
    /// CGAN with mismatched pairs: D's loss on (real image, wrong label) as fake.
    public var D_wrong: Float = 0
    public init() {}
    public var named: [(name: String, value: Float)] { [("G", G), ("D_real", D_real), ("D_fake", D_fake), ("D", D)] }
}

public typealias DCGANTrainer = NoiseGANTrainer
public typealias CGANTrainer = NoiseGANTrainer

/// The DCGAN and CGAN trainer: the networks seen as functions of (input, labels).
public final class NoiseGANTrainer: GANTrainer {
    public let generator: any Module, discriminator: any Module
    let gForward: (Variable, [Int]?) -> Variable
    let dForward: (Variable, [Int]?) -> Variable
    public let options: TrainingOptions
    /// Per-sample noise shape (e.g. [1, 1, nz]).
    public let latentShape: [Int]
    /// 0 for an unconditional GAN.
    public let numClasses: Int
    /// CGAN: the share of D's fake term given to (real image, wrong label) pairs; 0: none.
    public let mismatchWeight: Float
    public let optimizerG: Adam, optimizerD: Adam
    public var schedule: LRSchedule
    public var rng: SplitMix64
    public var progress = TrainingProgress()
    public private(set) var losses = GANLosses()
    public private(set) var visuals: [(name: String, image: Tensor)] = []
    let criterionGAN: GANLoss
    let name: String

    /// DCGAN: G maps noise [N, latentShape...] to images, D maps images to scores.
    public convenience init(G: any Layer, D: any Layer, latentShape: [Int], options: TrainingOptions = .init()) {
        self.init(name: "dcgan", G: G, D: D, gForward: { z, _ in G(z) }, dForward: { x, _ in D(x) },
                  latentShape: latentShape, numClasses: 0, options: options)
    }

    /// Label-conditional GAN; `mismatchWeight` in [0, 1] (0.5: GAN-CLS; > 0 needs two classes).
    public convenience init(G: any LabelConditionalGenerator, D: any LabelConditionalDiscriminator, latentShape: [Int],
                            numClasses: Int, mismatchWeight: Float = 0.5, options: TrainingOptions = .init()) {
        precondition(numClasses > 0, "a conditional GAN needs classes")
        precondition((0...1).contains(mismatchWeight) && (mismatchWeight == 0 || numClasses > 1),
                     "mismatchWeight must be in [0, 1], and 0 with one class; got \(mismatchWeight), \(numClasses) classes")
        self.init(name: "cgan", G: G, D: D, gForward: { z, l in G(z, labels: l!) }, dForward: { x, l in D(x, labels: l!) },
                  latentShape: latentShape, numClasses: numClasses, mismatchWeight: mismatchWeight, options: options)
    }

    init(name: String, G: any Module, D: any Module, gForward: @escaping (Variable, [Int]?) -> Variable,
         dForward: @escaping (Variable, [Int]?) -> Variable, latentShape: [Int], numClasses: Int,
         mismatchWeight: Float = 0, options: TrainingOptions) {
        self.name = name
        generator = G; discriminator = D
        self.gForward = gForward; self.dForward = dForward
        self.latentShape = latentShape; self.numClasses = numClasses; self.mismatchWeight = mismatchWeight
        self.options = options
        G.train(); D.train()
        optimizerG = makeAdam([("G", G)], options)
        optimizerD = makeAdam([("D", D)], options)
        schedule = makeSchedule(options)
        schedule.apply(to: [optimizerG, optimizerD])
        rng = SplitMix64(seed: deriveSeed(options.seed, 3))
        criterionGAN = GANLoss(options.ganMode)
    }

    public var networks: [(name: String, module: any Module)] { [("G", generator), ("D", discriminator)] }
    public var optimizers: [(name: String, optimizer: Adam)] { [("optimizer_G", optimizerG), ("optimizer_D", optimizerD)] }
    public var lossValues: [(name: String, value: Float)] {
        losses.named + (mismatchWeight > 0 ? [("D_wrong", losses.D_wrong)] : [])
    }
    /// "dcgan" or "cgan" (checkpoints).
    public var modelName: String { name }

    /// Noise for `n` samples from the trainer's generator.
    public func sampleNoise(_ n: Int) -> Tensor { Tensor(randomNormal: [n] + latentShape, using: &rng) }

    /// For each label another class, uniform over the other numClasses - 1, from the trainer's generator.
    public func wrongLabels(for labels: [Int]) -> [Int] {
        labels.map { ($0 + Int.random(in: 1..<numClasses, using: &rng)) % numClasses }
    }

    public func optimizeParameters(_ batch: TrainingBatch) {
        let n = batch.realA.shape[0]
        let labels: [Int]? = numClasses > 0 ? (batch.labels ?? { preconditionFailure("CGAN batches need labels") }()) : nil
        let updateG = isGeneratorIteration
        // fakes are drawn for the same labels as the real batch (the pairs D judges)
        let z = Variable(sampleNoise(n))
        let fake = withGradMode(updateG) { gForward(z, labels) }
        visuals = [("real", batch.realA), ("fake", fake.value)]

        // D
        discriminator.setRequiresGrad(true)
        optimizerD.zeroGrad()
        let critic: (Variable) -> Variable = { [dForward] x in dForward(x, labels) }
        let lossReal = criterionGAN(critic(Variable(batch.realA)), targetIsReal: true)
        let lossFake = criterionGAN(critic(fake.detached()), targetIsReal: false)
        var lossD: Variable
        if let labels, mismatchWeight > 0 {
            let lossWrong = criterionGAN(dForward(Variable(batch.realA), wrongLabels(for: labels)), targetIsReal: false)
            lossD = (lossReal + lossFake * (1 - mismatchWeight) + lossWrong * mismatchWeight) * 0.5
            losses.D_wrong = lossWrong.value.scalar
        } else {
            lossD = (lossReal + lossFake) * 0.5
        }
        if options.ganMode == .wgangp {
            lossD = lossD + gradientPenalty(critic: critic, real: batch.realA, fake: fake.value,
                                            lambda: options.lambdaGP, using: &rng)
        }
        lossD.backward()
        losses.D_real = lossReal.value.scalar; losses.D_fake = lossFake.value.scalar; losses.D = lossD.value.scalar
        optimizerD.step()
        if options.ganMode == .wgan { clipWeights(discriminator.parameters, options.clipValue) }

        // G
        if updateG {
            discriminator.setRequiresGrad(false)
            optimizerG.zeroGrad()
            let lossG = criterionGAN(critic(fake), targetIsReal: true)
            lossG.backward()
            losses.G = lossG.value.scalar
            optimizerG.step()
            discriminator.setRequiresGrad(true)
        }
    }

    /// A grid of samples: `perClass` images for each class (rows = classes; DCGAN: one row
    /// of `perClass`), from fixed noise drawn from `seed` (not the training generator), with
    /// batch norm on the batch's own statistics and running statistics left untouched.
    /// Returns [rows * perClass, H, W, C].
    public func reportSamples(perClass: Int) -> Tensor? { samples(perClass: perClass) }

    public func samples(perClass: Int, seed: UInt64 = 1234) -> Tensor {
        let rows = max(numClasses, 1)
        var g = SplitMix64(seed: seed)
        let noise = Tensor(randomNormal: [perClass] + latentShape, using: &g)
        // the same noise for every class: a row differs from another only by its label
        let per = noise.count
        let z = Tensor(uninitializedShape: [rows * perClass] + latentShape)
        for r in 0..<rows { (z.uncheckedMutablePointer + r * per).update(from: noise.pointer, count: per) }
        let labels: [Int]? = numClasses > 0 ? (0..<rows).flatMap { Array(repeating: $0, count: perClass) } : nil
        generator.testMode()
        defer { generator.train() }
        return withNoGrad { gForward(Variable(z), labels).value }
    }
}

/// Tiles images [K,H,W,C] into one image [1, rows*H, columns*W, C] (row-major).
public func imageGrid(_ images: Tensor, columns: Int) -> Tensor {
    let (k, h, w, c) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
    let rows = (k + columns - 1) / columns
    let out = Tensor(repeating: -1, shape: [1, rows * h, columns * w, c])
    let po = out.uncheckedMutablePointer, pi = images.pointer
    for i in 0..<k {
        let r = i / columns, col = i % columns
        for y in 0..<h {
            (po + ((r * h + y) * columns * w + col * w) * c).update(from: pi + ((i * h + y) * w) * c, count: w * c)
        }
    }
    return out
}

extension Models.ConditionalGenerator: LabelConditionalGenerator {}
extension Models.ConditionalDiscriminator: LabelConditionalDiscriminator {}
extension Models.ProjectionDiscriminator: LabelConditionalDiscriminator {}

/// The label embedding size of `img2img train cgan`'s G and concatenating D.
let cganEmbedDim = 10
/// Classes assumed by the size check before the data is read.
let maxClassesBound = 1000

extension ModelOptions {
    public var imageSize: Opt<Int> { Opt("image-size", 64, "Image side: 4 * 2^k (8, 16, 32, 64, ...).", check: .atLeast(8), shapesNetworks: true) }
    public var nz: Opt<Int> { Opt("nz", 100, "Noise size.", check: .atLeast(1), shapesNetworks: true) }
    public var mismatchWeight: Opt<Float> {
        Opt("mismatch-weight", 0.5, "Share of D's fake term given to real images paired with a wrong label (0...1; "
            + "0.5: GAN-CLS, 0: no mismatched pairs). --netD basic (label planes) or projection (Miyato & Koyama) picks D.",
            check: .atLeast(0))
    }
    public var spectralNorm: Opt<Bool> {
        Opt("spectral-norm", false, "Spectral norm on D's conv, linear and embedding layers, in place of its batch norm.", shapesNetworks: true)
    }
}

extension TrainableModel {
    /// `img2img train cgan`: a label-conditional GAN on a folder of class subfolders.
    public static let cgan = noiseModel(
        name: "cgan", abstract: "label-conditional GAN: images from class labels (one subfolder per class).")

    /// `img2img train dcgan`: an unconditional DCGAN (class subfolders are read, labels ignored).
    public static let dcgan = noiseModel(name: "dcgan", abstract: "unconditional DCGAN: images images from noise.")

    private static func noiseModel(name: String, abstract: String) -> TrainableModel {
        let conditional = name == "cgan"
        return TrainableModel(
            name: name, abstract: abstract, datasetMode: .labeled,
            options: [.use(\.imageSize), .use(\.nz)] + (conditional ? [.use(\.mismatchWeight), .use(\.spectralNorm)] : []),
            setDefaults: { o in o.ganMode = .vanilla },
            validate: { o in
                let s = o.imageSize, q = s / 4
                guard s % 4 == 0 && q & (q - 1) == 0 && s <= maxTrainingImageSide else {
                    throw TrainingError.invalidOptions("image-size must be 4 * 2^k (8, 16, 32, 64, 128, ... \(maxTrainingImageSide)), got \(s)")
                }
                let nz = o.nz
                var d = ModelConfig(kind: .dcganDiscriminator, inputNC: o.outputNc, ndf: o.ndf, imageSize: s)
                if conditional {
                    let w = o.mismatchWeight
                    guard w <= 1 else { throw TrainingError.invalidOptions("--mismatch-weight must be in [0, 1], got \(w)") }
                    // the largest label embedding is the projection's (one row of D's widest width per class)
                    d = ModelConfig(kind: .cganDiscriminator, netD: o.netD, inputNC: o.outputNc, ndf: o.ndf, imageSize: s,
                                    numClasses: maxClassesBound, embedDim: cganEmbedDim)
                }
                for c in [ModelConfig(kind: .dcganGenerator, outputNC: o.outputNc, ngf: o.ngf, nz: nz, imageSize: s), d] {
                    guard let n = c.parameterBound(), n <= ModelConfig.maxParameters else {
                        throw TrainingError.invalidOptions("the \(c.kind.rawValue) would have more than \(ModelConfig.maxParameters) "
                                                           + "parameters: lower --nz, --ngf/--ndf or --image-size")
                    }
                }
            },
            augment: { o in
                let s = o.imageSize
                return AugmentOptions(preprocess: .resize, loadSize: s, cropSize: s, flip: !o.noFlip)
            },
            // cgan: label planes concatenated to the image, or Miyato & Koyama's projection
            discriminators: conditional ? ["basic", "projection"] : ["basic", "n_layers", "pixel"],
            build: { o, dataset in
                let size = o.imageSize, nz = o.nz
                let t = o, initOpts = o.initialization
                if conditional {
                    let classes = (dataset as? LabeledDataset)?.classes ?? []
                    let w = o.mismatchWeight, sn = o.spectralNorm
                    if w > 0 && classes.count < 2 {
                        throw TrainingError.invalidOptions("--mismatch-weight \(w) pairs images with another class's label: "
                                                           + "the data has \(classes.count) class; use --mismatch-weight 0")
                    }
                    let dConfig = ModelConfig(kind: .cganDiscriminator, netD: o.netD, inputNC: o.outputNc, ndf: o.ndf,
                                              imageSize: size, numClasses: classes.count, embedDim: cganEmbedDim,
                                              spectralNorm: sn)
                    // `validate` assumed maxClassesBound classes; the data's count is known only here
                    guard let bound = dConfig.parameterBound(), bound <= ModelConfig.maxParameters else {
                        throw TrainingError.invalidOptions("with \(classes.count) classes the discriminator would have more than "
                                                           + "\(ModelConfig.maxParameters) parameters: lower --ndf or --image-size")
                    }
                    let trainer = NoiseGANTrainer.cgan(numClasses: classes.count, embedDim: cganEmbedDim, nz: nz, ngf: o.ngf,
                                                       ndf: o.ndf, channels: o.outputNc, imageSize: size,
                                                       discriminator: o.netD == "projection" ? .projection : .basic,
                                                       spectralNorm: sn, mismatchWeight: w, options: t,
                                                       initialization: initOpts)
                    return BuiltTrainer(trainer: trainer, configs: [
                        "G": ModelConfig(kind: .cganGenerator, outputNC: o.outputNc, ngf: o.ngf, nz: nz,
                                         imageSize: size, numClasses: classes.count, embedDim: cganEmbedDim),
                        "D": dConfig], classes: classes)
                }
                let trainer = NoiseGANTrainer.dcgan(nz: nz, ngf: o.ngf, ndf: o.ndf, channels: o.outputNc, imageSize: size,
                                                    options: t, initialization: initOpts)
                return BuiltTrainer(trainer: trainer, configs: [
                    "G": ModelConfig(kind: .dcganGenerator, outputNC: o.outputNc, ngf: o.ngf, nz: nz, imageSize: size),
                    "D": ModelConfig(kind: .dcganDiscriminator, inputNC: o.outputNc, ndf: o.ndf, imageSize: size)])
            })
    }
}
