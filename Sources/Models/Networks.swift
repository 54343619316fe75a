// Building networks from a ModelConfig (the paper code's define_G / define_D + init_net).
//
//   var rng = SplitMix64(seed: 1)
//   let g = try makeGenerator(.generator("resnet_9blocks", ngf: 64), using: &rng)   // any Layer
//   let y = withNoGrad { g(x) }                                 // x: [N,H,W,3] in [-1, 1]
//   let d = try makeNetwork(.discriminator("basic", inputNC: 6), using: &rng)
// Networks come out in training mode; call `testMode()` for inference.
import TensorCore
import NN

/// Any network a config describes: a `Layer` (image or noise in) for the paper-code
/// networks and DCGAN, a `ConditionalGenerator` / `ConditionalDiscriminator` for CGAN.
public func makeNetwork<G: RandomNumberGenerator>(_ config: ModelConfig, initType: InitType = .normal,
                                                  gain: Float = 0.02, using rng: inout G) throws -> any Module {
    let net = try buildNetwork(config, using: &rng)
    initialize(net, initType, gain: gain, using: &rng)
    return net
}

/// A network that maps one tensor to one tensor: ResNet / U-Net generators, the
/// discriminators, DCGAN G (noise in) and D.
public func makeLayer<G: RandomNumberGenerator>(_ config: ModelConfig, initType: InitType = .normal,
                                                gain: Float = 0.02, using rng: inout G) throws -> any Layer {
    guard let layer = try makeNetwork(config, initType: initType, gain: gain, using: &rng) as? any Layer else {
        throw ModelError(.wrongKind, "a \(config.kind.rawValue) takes labels too: build it with makeNetwork")
    }
    return layer
}

/// The paper code's `define_G`: a ResNet or U-Net generator.
public func makeGenerator<G: RandomNumberGenerator>(_ config: ModelConfig, initType: InitType = .normal,
                                                    gain: Float = 0.02, using rng: inout G) throws -> any Layer {
    guard config.kind == .generator else {
        throw ModelError(.wrongKind, "expected a generator config, got \(config.kind.rawValue)")
    }
    return try makeLayer(config, initType: initType, gain: gain, using: &rng)
}

/// The structure only (weights zero, embeddings drawn from `rng`).
func buildNetwork<G: RandomNumberGenerator>(_ c: ModelConfig, using rng: inout G) throws -> any Module {
    func check(_ ok: Bool, _ reason: @autoclosure () -> String) throws {
        if !ok { throw ModelError(.invalidConfig, reason()) }
    }
    try check(c.inputNC > 0 && c.outputNC > 0 && c.ngf > 0 && c.ndf > 0,
              "channels must be positive (input_nc \(c.inputNC), output_nc \(c.outputNC), ngf \(c.ngf), ndf \(c.ndf))")
    try check(c.nz > 0, "nz must be positive, got \(c.nz)")
    if c.kind == .discriminator && c.netD == "n_layers" {
        try check(c.nLayersD >= 1, "n_layers_D must be >= 1, got \(c.nLayersD)")
    }
    // A config read from a file is untrusted: refuse sizes that would allocate more than the cap
    // before any weight is allocated (a hostile header must not make us allocate gigabytes).
    let bound = c.parameterBound()
    try check(bound.map { $0 <= ModelConfig.maxParameters } ?? false,
              "network too large: about \(bound.map(String.init) ?? "more than 2^63") parameters, "
              + "the limit is \(ModelConfig.maxParameters) (ModelConfig.maxParameters)")
    func checkImageSize() throws {
        let q = c.imageSize / 4
        try check(c.imageSize >= 8 && c.imageSize % 4 == 0 && q & (q - 1) == 0,
                  "image_size must be 4 * 2^k (8, 16, 32, 64, ...), got \(c.imageSize)")
    }
    switch c.kind {
    case .generator:
        switch ModelConfig.parseNetG(c.netG) {
        case .resnet(let n)?:
            return ResnetGenerator(inputNC: c.inputNC, outputNC: c.outputNC, ngf: c.ngf, norm: c.norm,
                                   useDropout: c.useDropout, nBlocks: n, paddingType: c.paddingType,
                                   antialias: c.antialias, antialiasUp: c.antialiasUp)
        case .unet(let d)?:
            try check(d >= 5, "a U-Net needs at least 5 downsamplings (unet_32), got \(c.netG)")
            return UnetGenerator(inputNC: c.inputNC, outputNC: c.outputNC, numDowns: d, ngf: c.ngf, norm: c.norm,
                                 useDropout: c.useDropout)
        case nil:
            throw ModelError(.invalidConfig, "unknown netG '\(c.netG)' (resnet_9blocks, resnet_6blocks, resnet_<n>blocks, unet_256, unet_128)")
        }
    case .discriminator:
        switch c.netD {
        case "basic": return NLayerDiscriminator(inputNC: c.inputNC, ndf: c.ndf, nLayers: 3, norm: c.norm, antialias: c.antialias)
        case "n_layers":
            try check(c.nLayersD >= 1, "n_layers_D must be >= 1, got \(c.nLayersD)")
            return NLayerDiscriminator(inputNC: c.inputNC, ndf: c.ndf, nLayers: c.nLayersD, norm: c.norm, antialias: c.antialias)
        case "pixel": return PixelDiscriminator(inputNC: c.inputNC, ndf: c.ndf, norm: c.norm)
        default: throw ModelError(.invalidConfig, "unknown netD '\(c.netD)' (basic, n_layers, pixel)")
        }
    case .dcganGenerator:
        try checkImageSize()
        return DCGANGenerator(nz: c.nz, ngf: c.ngf, outputNC: c.outputNC, imageSize: c.imageSize)
    case .dcganDiscriminator:
        try checkImageSize()
        return DCGANDiscriminator(inputNC: c.inputNC, ndf: c.ndf, imageSize: c.imageSize)
    case .cganGenerator:
        try checkImageSize()
        try check(c.numClasses > 0 && c.embedDim > 0, "num_classes and embed_dim must be positive")
        return ConditionalGenerator(numClasses: c.numClasses, embedDim: c.embedDim, nz: c.nz, ngf: c.ngf,
                                    outputNC: c.outputNC, imageSize: c.imageSize, using: &rng)
    case .cganDiscriminator:
        try checkImageSize()
        try check(c.numClasses > 0 && c.embedDim > 0, "num_classes and embed_dim must be positive")
        switch c.netD {
        case "basic":
            return ConditionalDiscriminator(numClasses: c.numClasses, embedDim: c.embedDim, inputNC: c.inputNC,
                                            ndf: c.ndf, imageSize: c.imageSize, spectralNorm: c.spectralNorm, using: &rng)
        case "projection":
            return ProjectionDiscriminator(numClasses: c.numClasses, inputNC: c.inputNC, ndf: c.ndf, imageSize: c.imageSize,
                                           spectralNorm: c.spectralNorm, using: &rng)
        default:
            throw ModelError(.invalidConfig, "unknown netD '\(c.netD)' for a cgan_discriminator (basic, projection)")
        }
    }
}
