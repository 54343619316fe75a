// CycleGAN (Zhu et al. 2017), as the paper code's models/cycle_gan_model.py.
//   G_A: A -> B, G_B: B -> A, D_A judges B images, D_B judges A images.
//   forward:  fake_B = G_A(real_A), rec_A = G_B(fake_B), fake_A = G_B(real_B), rec_B = G_A(fake_A)
//   G step (D_A, D_B frozen):
//     loss_G = GAN(D_A(fake_B), real) + GAN(D_B(fake_A), real)
//            + lambda_A |rec_A - real_A| + lambda_B |rec_B - real_B|
//            + lambda_idt (lambda_B |G_A(real_B) - real_B| + lambda_A |G_B(real_A) - real_A|)
//   D step: D_A on (real_B, pool(fake_B)), D_B on (real_A, pool(fake_A)), each (real + fake) * 0.5
//           (+ gradient penalty for wgangp; weights clipped after the step for wgan)
//   Adam over chain(G_A, G_B) and over chain(D_A, D_B).
import Training
import Autograd
import Models
import NN
import TensorCore

/// The losses of one iteration, named as the paper code's loss_names.
public struct CycleGANLosses: Sendable, Equatable {
    public var D_A: Float = 0, G_A: Float = 0, cycle_A: Float = 0, idt_A: Float = 0
    public var D_B: Float = 0, G_B: Float = 0, cycle_B: Float = 0, idt_B: Float = 0
    public init() {}
    public var named: [(name: String, value: Float)] {
        [("D_A", D_A), ("G_A", G_A), ("cycle_A", cycle_A), ("idt_A", idt_A),
         ("D_B", D_B), ("G_B", G_B), ("cycle_B", cycle_B), ("idt_B", idt_B)]
    }
}

public final class CycleGANTrainer: GANTrainer {
    public var modelName: String { "cycle_gan" }
    public let G_A: any Layer, G_B: any Layer, D_A: any Layer, D_B: any Layer
    /// The run's options (the common ones and this model's own, typed: `options.lambdaA`).
    public let options: TrainOptions
    public let optimizerG: Adam, optimizerD: Adam
    public let fakeAPool: ImagePool, fakeBPool: ImagePool
    public var schedule: LRSchedule
    public var rng: SplitMix64
    public var progress = TrainingProgress()
    public private(set) var losses = CycleGANLosses()
    let criterionGAN: GANLoss

    /// Visuals of the last iteration (values): real_A, fake_B, rec_A, real_B, fake_A, rec_B.
    public private(set) var visuals: [(name: String, image: Tensor)] = []

    public init(G_A: any Layer, G_B: any Layer, D_A: any Layer, D_B: any Layer, options: TrainOptions = TrainableModel.cyclegan.defaults) {
        self.G_A = G_A; self.G_B = G_B; self.D_A = D_A; self.D_B = D_B
        self.options = options
        for n in [G_A, G_B, D_A, D_B] as [any Module] { n.train() }
        let t = options
        optimizerG = makeAdam([("G_A", G_A), ("G_B", G_B)], t)
        optimizerD = makeAdam([("D_A", D_A), ("D_B", D_B)], t)
        fakeAPool = ImagePool(poolSize: options.poolSize, seed: deriveSeed(t.seed, 1))
        fakeBPool = ImagePool(poolSize: options.poolSize, seed: deriveSeed(t.seed, 2))
        schedule = makeSchedule(t)
        schedule.apply(to: [optimizerG, optimizerD])
        rng = SplitMix64(seed: deriveSeed(t.seed, 3))
        criterionGAN = GANLoss(t.ganMode)
    }

    public var networks: [(name: String, module: any Module)] { [("G_A", G_A), ("G_B", G_B), ("D_A", D_A), ("D_B", D_B)] }
    public var optimizers: [(name: String, optimizer: Adam)] { [("optimizer_G", optimizerG), ("optimizer_D", optimizerD)] }
    public var pools: [(name: String, pool: ImagePool)] { [("fake_A_pool", fakeAPool), ("fake_B_pool", fakeBPool)] }
    public var lossValues: [(name: String, value: Float)] { losses.named }

    public func optimizeParameters(_ batch: TrainingBatch) {
        guard let realBTensor = batch.realB else { preconditionFailure("CycleGAN needs realB") }
        let realA = Variable(batch.realA), realB = Variable(realBTensor)
        let updateG = isGeneratorIteration

        // forward (recorded only when G is updated this iteration)
        let (fakeB, recA, fakeA, recB) = withGradMode(updateG) {
            let fakeB = G_A(realA)
            let recA = G_B(fakeB)
            let fakeA = G_B(realB)
            let recB = G_A(fakeA)
            return (fakeB, recA, fakeA, recB)
        }
        visuals = [("real_A", realA.value), ("fake_B", fakeB.value), ("rec_A", recA.value),
                   ("real_B", realB.value), ("fake_A", fakeA.value), ("rec_B", recB.value)]

        // G_A and G_B
        if updateG {
            D_A.setRequiresGrad(false); D_B.setRequiresGrad(false)
            optimizerG.zeroGrad()
            backwardG(realA: realA, realB: realB, fakeB: fakeB, recA: recA, fakeA: fakeA, recB: recB)
            optimizerG.step()
            D_A.setRequiresGrad(true); D_B.setRequiresGrad(true)
        }

        // D_A and D_B
        optimizerD.zeroGrad()
        losses.D_A = backwardD(D_A, real: realBTensor, fake: fakeBPool.query(fakeB.value))
        losses.D_B = backwardD(D_B, real: batch.realA, fake: fakeAPool.query(fakeA.value))
        optimizerD.step()
        if options.ganMode == .wgan { clipWeights(D_A.parameters + D_B.parameters, options.clipValue) }
    }

    func backwardG(realA: Variable, realB: Variable, fakeB: Variable, recA: Variable, fakeA: Variable, recB: Variable) {
        let o = options
        var total = criterionGAN(D_A(fakeB), targetIsReal: true)
        losses.G_A = total.value.scalar
        let lossGB = criterionGAN(D_B(fakeA), targetIsReal: true)
        let cycleA = l1(recA, realA) * o.lambdaA
        let cycleB = l1(recB, realB) * o.lambdaB
        losses.G_B = lossGB.value.scalar; losses.cycle_A = cycleA.value.scalar; losses.cycle_B = cycleB.value.scalar
        total = total + lossGB + cycleA + cycleB
        if o.lambdaIdentity > 0 {
            let idtA = l1(G_A(realB), realB) * (o.lambdaB * o.lambdaIdentity)
            let idtB = l1(G_B(realA), realA) * (o.lambdaA * o.lambdaIdentity)
            losses.idt_A = idtA.value.scalar; losses.idt_B = idtB.value.scalar
            total = total + idtA + idtB
        } else {
            losses.idt_A = 0; losses.idt_B = 0
        }
        total.backward()
    }

    /// backward_D_basic: (GAN(D(real), real) + GAN(D(fake), fake)) * 0.5 [+ gradient penalty].
    func backwardD(_ D: any Layer, real: Tensor, fake: Tensor) -> Float {
        discriminatorLoss(D, real: real, fake: fake, gan: criterionGAN, options: options, rng: &rng)
    }
}

/// The paper code's backward_D_basic for an unconditional D, with the WGAN-GP penalty added
/// for ganMode .wgangp (loss_D = (real + fake) * 0.5 + gp). Runs backward; returns loss_D.
func discriminatorLoss(_ D: (Variable) -> Variable, real: Tensor, fake: Tensor, gan: GANLoss,
                       options: TrainingOptions, rng: inout SplitMix64) -> Float {
    let lossReal = gan(D(Variable(real)), targetIsReal: true)
    let lossFake = gan(D(Variable(fake)), targetIsReal: false)
    var loss = (lossReal + lossFake) * 0.5
    if options.ganMode == .wgangp {
        // Unpaired images of mixed sizes (batch 1): the penalty interpolates the two on their
        // common centre, the only place where both have pixels.
        let (r, f) = real.shape == fake.shape ? (real, fake) : centredOnCommonSize(real, fake)
        loss = loss + gradientPenalty(critic: D, real: r, fake: f, lambda: options.lambdaGP, using: &rng)
    }
    loss.backward()
    return loss.value.scalar
}

/// `a` and `b` ([N,H,W,C], equal N and C) cropped to their common height and width, centred.
func centredOnCommonSize(_ a: Tensor, _ b: Tensor) -> (Tensor, Tensor) {
    let h = min(a.shape[1], b.shape[1]), w = min(a.shape[2], b.shape[2])
    func crop(_ t: Tensor) -> Tensor {
        let (n, th, tw, c) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let y0 = (th - h) / 2, x0 = (tw - w) / 2
        let out = Tensor(uninitializedShape: [n, h, w, c])
        let src = t.pointer, dst = out.uncheckedMutablePointer
        for i in 0..<n {
            for y in 0..<h {
                (dst + ((i * h + y) * w) * c).update(from: src + ((i * th + y0 + y) * tw + x0) * c, count: w * c)
            }
        }
        return out
    }
    return (crop(a), crop(b))
}

func discriminatorLoss(_ D: any Layer, real: Tensor, fake: Tensor, gan: GANLoss,
                       options: TrainingOptions, rng: inout SplitMix64) -> Float {
    discriminatorLoss({ D($0) }, real: real, fake: fake, gan: gan, options: options, rng: &rng)
}

extension ModelOptions {
    public var lambdaA: Opt<Float> { Opt("lambda-A", 10, "Weight of the cycle loss A -> B -> A.", check: .atLeast(0)) }
    public var lambdaB: Opt<Float> { Opt("lambda-B", 10, "Weight of the cycle loss B -> A -> B.", check: .atLeast(0)) }
    public var lambdaIdentity: Opt<Float> {
        Opt("lambda-identity", 0.5, "Weight of the identity loss, relative to lambda-A/B (0: none).", check: .atLeast(0))
    }
    public var poolSize: Opt<Int> { Opt("pool-size", 50, "Size of the fake-image pool (0: no pool).", check: .atLeast(0)) }
}

extension TrainableModel {
    /// `img2img train cyclegan`: the paper code's defaults (resnet_9blocks, instance norm, lsgan, pool 50).
    public static let cyclegan = TrainableModel(
        name: "cyclegan", abstract: "unpaired translation A <-> B (two generators, two discriminators).",
        datasetMode: .unaligned,
        options: [.use(\.lambdaA), .use(\.lambdaB), .use(\.lambdaIdentity), .use(\.poolSize)],
        setDefaults: { o in
            o.netG = "resnet_9blocks"; o.norm = .instance; o.ganMode = .lsgan; o.useDropout = false
        },
        validate: { o in
            if o.lambdaIdentity > 0 && o.inputNc != o.outputNc {
                throw TrainingError.invalidOptions("the identity loss needs input and output channel counts to be equal "
                                                   + "(input_nc \(o.inputNc), output_nc \(o.outputNc)); set lambda-identity 0")
            }
        },
        // testA through G_A and back through G_B, testB the other way (BtoA: a run trained with it)
        test: TestSpec(datasetMode: .unaligned, generator: { $0 == .aToB ? "G_A" : "G_B" }, cycle: true),
        build: { o, _ in
            let g = ModelConfig.generator(o.netG, inputNC: o.inputNc, outputNC: o.outputNc, ngf: o.ngf,
                                          norm: o.norm, useDropout: o.useDropout)
            let d = ModelConfig(kind: .discriminator, netD: o.netD, ndf: o.ndf, norm: o.norm, nLayersD: o.nLayersD)
            let trainer = try CycleGANTrainer(generator: g, discriminator: d, options: o, initialization: o.initialization)
            var gB = g; gB.inputNC = g.outputNC; gB.outputNC = g.inputNC
            var dA = d; dA.inputNC = g.outputNC
            var dB = d; dB.inputNC = g.inputNC
            return BuiltTrainer(trainer: trainer, configs: ["G_A": g, "G_B": gB, "D_A": dA, "D_B": dB])
        })
}
