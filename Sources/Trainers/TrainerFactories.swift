// Building trainers from architecture configs, as the paper code's model constructors
// (define_G / define_D + init_weights), with every generator seeded from the run's seed.
//
//   var o = TrainOptions(); o.seed = 42; o.ganMode = .lsgan; o.lambdaA = 10
//   let trainer = try CycleGANTrainer(generator: .generator("resnet_9blocks", ngf: 64),
//                                     discriminator: .discriminator("basic", ndf: 64), options: o)
//
// Weights are initialized from deriveSeed(seed, 0) in network order (G_A, G_B, D_A, D_B), and
// every Dropout layer gets its own generator derived from the seed, so one seed fixes the run.
import Models
import NN
import TensorCore
import Training

extension CycleGANTrainer {
    /// The paper code's CycleGANModel: G_A: A -> B and G_B: B -> A from `generator` (G_B with
    /// input and output channels swapped), D_A on B images and D_B on A images from `discriminator`.
    public convenience init(generator: ModelConfig, discriminator: ModelConfig, options: TrainOptions = TrainableModel.cyclegan.defaults,
                            initialization: InitOptions = .init()) throws {
        if options.lambdaIdentity > 0 && generator.inputNC != generator.outputNC {
            // as the paper code's assert: G_A(real_B) needs B images to fit G_A's input
            throw TrainingError.invalidOptions("the identity loss (lambda_identity \(options.lambdaIdentity)) needs input_nc == output_nc, got \(generator.inputNC) and \(generator.outputNC)")
        }
        var rng = SplitMix64(seed: deriveSeed(options.seed, 0))
        var gB = generator; gB.inputNC = generator.outputNC; gB.outputNC = generator.inputNC
        var dA = discriminator; dA.inputNC = generator.outputNC
        var dB = discriminator; dB.inputNC = generator.inputNC
        let (t, g) = (initialization.type, initialization.gain)
        let nets = [try makeLayer(generator, initType: t, gain: g, using: &rng), try makeLayer(gB, initType: t, gain: g, using: &rng),
                    try makeLayer(dA, initType: t, gain: g, using: &rng), try makeLayer(dB, initType: t, gain: g, using: &rng)]
        reseedDropout(nets, seed: options.seed)
        self.init(G_A: nets[0], G_B: nets[1], D_A: nets[2], D_B: nets[3], options: options)
    }
}

extension Pix2PixTrainer {
    /// The paper code's Pix2PixModel: G from `generator`, a conditional D on input_nc + output_nc channels.
    public convenience init(generator: ModelConfig, discriminator: ModelConfig, options: TrainOptions = TrainableModel.pix2pix.defaults,
                            initialization: InitOptions = .init(), colorization: Bool = false) throws {
        var rng = SplitMix64(seed: deriveSeed(options.seed, 0))
        var d = discriminator; d.inputNC = generator.inputNC + generator.outputNC
        let G = try makeLayer(generator, initType: initialization.type, gain: initialization.gain, using: &rng)
        let D = try makeLayer(d, initType: initialization.type, gain: initialization.gain, using: &rng)
        reseedDropout([G, D], seed: options.seed)
        self.init(G: G, D: D, options: options, colorization: colorization)
    }
}

extension NoiseGANTrainer {
    /// DCGAN: G(z) with z [N,1,1,nz] -> [N,S,S,nc], D(x) -> logit.
    public static func dcgan(nz: Int = 100, ngf: Int = 64, ndf: Int = 64, channels: Int = 3, imageSize: Int = 64,
                             options: TrainingOptions = .init(), initialization: InitOptions = .init()) -> NoiseGANTrainer {
        var rng = SplitMix64(seed: deriveSeed(options.seed, 0))
        let G = DCGANGenerator(nz: nz, ngf: ngf, outputNC: channels, imageSize: imageSize)
        let D = DCGANDiscriminator(inputNC: channels, ndf: ndf, imageSize: imageSize)
        initialize(G, initialization.type, gain: initialization.gain, using: &rng)
        initialize(D, initialization.type, gain: initialization.gain, using: &rng)
        return NoiseGANTrainer(G: G, D: D, latentShape: [1, 1, nz], options: options)
    }

    /// The discriminators of `cgan`.
    public enum CGANDiscriminatorKind: String, Sendable {
        /// The label embedded (embedDim) as constant planes concatenated to the image.
        case basic
        /// Miyato & Koyama's projection: psi(phi(x)) + <embed(y), phi(x)>.
        case projection
    }

    /// Label-conditional GAN: G(z, y) with the label embedded (embedDim); D(x, y) as `discriminator`,
    /// spectrally normalized if `spectralNorm`; `mismatchWeight` as `NoiseGANTrainer`'s.
    public static func cgan(numClasses: Int, embedDim: Int = 10, nz: Int = 100, ngf: Int = 64, ndf: Int = 64,
                            channels: Int = 3, imageSize: Int = 64, discriminator: CGANDiscriminatorKind = .basic,
                            spectralNorm: Bool = false, mismatchWeight: Float = 0.5, options: TrainingOptions = .init(),
                            initialization: InitOptions = .init()) -> NoiseGANTrainer {
        var rng = SplitMix64(seed: deriveSeed(options.seed, 0))
        let G = Models.ConditionalGenerator(numClasses: numClasses, embedDim: embedDim, nz: nz, ngf: ngf,
                                            outputNC: channels, imageSize: imageSize, using: &rng)
        let D: any LabelConditionalDiscriminator
        switch discriminator {
        case .basic:
            D = Models.ConditionalDiscriminator(numClasses: numClasses, embedDim: embedDim, inputNC: channels, ndf: ndf,
                                                imageSize: imageSize, spectralNorm: spectralNorm, using: &rng)
        case .projection:
            D = Models.ProjectionDiscriminator(numClasses: numClasses, inputNC: channels, ndf: ndf, imageSize: imageSize,
                                               spectralNorm: spectralNorm, using: &rng)
        }
        initialize(G, initialization.type, gain: initialization.gain, using: &rng)
        initialize(D, initialization.type, gain: initialization.gain, using: &rng)
        return NoiseGANTrainer(G: G, D: D, latentShape: [nz], numClasses: numClasses, mismatchWeight: mismatchWeight,
                               options: options)
    }
}
