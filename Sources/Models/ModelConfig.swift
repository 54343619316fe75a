// ModelConfig: everything needed to rebuild a network, stored as JSON in the safetensors
// header (`__metadata__["img2img.config"]`), so loading needs no flags. Names and
// defaults follow the paper code's options (`--netG resnet_9blocks --ngf 64 --norm instance`).
//
//   {"kind":"generator","netG":"resnet_9blocks","input_nc":3,"output_nc":3,"ngf":64,
//    "norm":"instance","use_dropout":false,"padding_type":"reflect"}
import Foundation

public struct ModelConfig: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Paper-code generator (`netG`: resnet_Nblocks, unet_S).
        case generator
        /// Paper-code discriminator (`netD`: basic, n_layers, pixel).
        case discriminator
        /// DCGAN generator: noise [N,1,1,nz] -> image [N,S,S,output_nc].
        case dcganGenerator = "dcgan_generator"
        /// DCGAN discriminator: image [N,S,S,input_nc] -> logit [N,1,1,1].
        case dcganDiscriminator = "dcgan_discriminator"
        /// Label-conditional generator: noise [N,nz] and labels -> image.
        case cganGenerator = "cgan_generator"
        /// Label-conditional discriminator: image and labels -> logit.
        case cganDiscriminator = "cgan_discriminator"
    }

    public enum Norm: String, Codable, Sendable, CaseIterable {
        /// InstanceNorm2d(affine=False, track_running_stats=False), convs with bias (paper code).
        case instance
        /// BatchNorm2d(affine=True), convs without bias.
        case batch
        /// Identity, convs without bias (paper code).
        case none
        /// InstanceNorm2d(affine=True), convs with bias (checkpoints trained elsewhere).
        case instanceAffine = "instance_affine"
    }

    public enum Padding: String, Codable, Sendable, CaseIterable { case reflect, replicate, zero }

    public var kind: Kind
    /// resnet_9blocks, resnet_6blocks, resnet_<n>blocks, unet_256, unet_128, unet_<2^downs>.
    public var netG: String
    /// basic (n_layers 3), n_layers, pixel; a cgan_discriminator: basic (label planes
    /// concatenated to the image) or projection.
    public var netD: String
    public var inputNC: Int
    public var outputNC: Int
    public var ngf: Int
    public var ndf: Int
    public var norm: Norm
    public var useDropout: Bool
    public var nLayersD: Int
    public var paddingType: Padding
    /// DCGAN / CGAN: noise size, image side (4 * 2^k), classes and label-embedding size.
    public var nz: Int
    public var imageSize: Int
    public var numClasses: Int
    public var embedDim: Int
    /// A colorization generator (the paper code's colorization model): L of Lab in (one
    /// channel, L / 50 - 1), ab out (two channels, ab / 110). Translators feed it the input's
    /// L and return L with the predicted ab as RGB. nil (not written) for every other network.
    public var colorization: Bool?
    /// CUT's anti-aliased downsampling (blur Downsample after stride-1 convs) in the ResNet
    /// generator and the PatchGAN discriminator (CUT's default; its --no_antialias turns it off).
    public var antialias: Bool = false
    /// CUT's anti-aliased upsampling in the ResNet generator (blur Upsample, then a conv;
    /// CUT's default; its --no_antialias_up turns it off).
    public var antialiasUp: Bool = false
    /// CGAN discriminator: spectral norm on its layers (and no batch norm). Written to JSON
    /// only when set, so the files of every other network read as before.
    public var spectralNorm: Bool

    public init(kind: Kind, netG: String = "resnet_9blocks", netD: String = "basic", inputNC: Int = 3,
                outputNC: Int = 3, ngf: Int = 64, ndf: Int = 64, norm: Norm = .instance, useDropout: Bool = false,
                nLayersD: Int = 3, paddingType: Padding = .reflect, nz: Int = 100, imageSize: Int = 64,
                numClasses: Int = 10, embedDim: Int = 10, spectralNorm: Bool = false) {
        self.kind = kind; self.netG = netG; self.netD = netD; self.inputNC = inputNC; self.outputNC = outputNC
        self.ngf = ngf; self.ndf = ndf; self.norm = norm; self.useDropout = useDropout; self.nLayersD = nLayersD
        self.paddingType = paddingType; self.nz = nz; self.imageSize = imageSize
        self.numClasses = numClasses; self.embedDim = embedDim; self.spectralNorm = spectralNorm
    }

    /// The paper code's generator (`define_G`).
    public static func generator(_ netG: String, inputNC: Int = 3, outputNC: Int = 3, ngf: Int = 64,
                                 norm: Norm = .instance, useDropout: Bool = false) -> ModelConfig {
        ModelConfig(kind: .generator, netG: netG, inputNC: inputNC, outputNC: outputNC, ngf: ngf, norm: norm,
                    useDropout: useDropout)
    }

    /// The paper code's discriminator (`define_D`).
    public static func discriminator(_ netD: String, inputNC: Int = 3, ndf: Int = 64, nLayersD: Int = 3,
                                     norm: Norm = .instance) -> ModelConfig {
        ModelConfig(kind: .discriminator, netD: netD, inputNC: inputNC, ndf: ndf, norm: norm, nLayersD: nLayersD)
    }

    enum CodingKeys: String, CodingKey {
        case kind, netG, netD, ngf, ndf, norm, nz
        case inputNC = "input_nc", outputNC = "output_nc", useDropout = "use_dropout", nLayersD = "n_layers_D"
        case paddingType = "padding_type", imageSize = "image_size", numClasses = "num_classes", embedDim = "embed_dim"
        case colorization
        case antialias, antialiasUp = "antialias_up"
        case spectralNorm = "spectral_norm"
    }

    /// Every field, except colorization when nil and the anti-aliasing and spectral-norm flags
    /// when off: configs of the paper code's networks stay byte for byte what they were.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind); try c.encode(netG, forKey: .netG); try c.encode(netD, forKey: .netD)
        try c.encode(inputNC, forKey: .inputNC); try c.encode(outputNC, forKey: .outputNC); try c.encode(ngf, forKey: .ngf)
        try c.encode(ndf, forKey: .ndf); try c.encode(norm, forKey: .norm); try c.encode(useDropout, forKey: .useDropout)
        try c.encode(nLayersD, forKey: .nLayersD); try c.encode(paddingType, forKey: .paddingType); try c.encode(nz, forKey: .nz)
        try c.encode(imageSize, forKey: .imageSize); try c.encode(numClasses, forKey: .numClasses)
        try c.encode(embedDim, forKey: .embedDim)
        try c.encodeIfPresent(colorization, forKey: .colorization)
        if antialias { try c.encode(antialias, forKey: .antialias) }
        if antialiasUp { try c.encode(antialiasUp, forKey: .antialiasUp) }
        if spectralNorm { try c.encode(spectralNorm, forKey: .spectralNorm) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ModelConfig(kind: try c.decode(Kind.self, forKey: .kind))
        self = d
        netG = try c.decodeIfPresent(String.self, forKey: .netG) ?? d.netG
        netD = try c.decodeIfPresent(String.self, forKey: .netD) ?? d.netD
        inputNC = try c.decodeIfPresent(Int.self, forKey: .inputNC) ?? d.inputNC
        outputNC = try c.decodeIfPresent(Int.self, forKey: .outputNC) ?? d.outputNC
        ngf = try c.decodeIfPresent(Int.self, forKey: .ngf) ?? d.ngf
        ndf = try c.decodeIfPresent(Int.self, forKey: .ndf) ?? d.ndf
        norm = try c.decodeIfPresent(Norm.self, forKey: .norm) ?? d.norm
        useDropout = try c.decodeIfPresent(Bool.self, forKey: .useDropout) ?? d.useDropout
        nLayersD = try c.decodeIfPresent(Int.self, forKey: .nLayersD) ?? d.nLayersD
        paddingType = try c.decodeIfPresent(Padding.self, forKey: .paddingType) ?? d.paddingType
        nz = try c.decodeIfPresent(Int.self, forKey: .nz) ?? d.nz
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        numClasses = try c.decodeIfPresent(Int.self, forKey: .numClasses) ?? d.numClasses
        embedDim = try c.decodeIfPresent(Int.self, forKey: .embedDim) ?? d.embedDim
        colorization = try c.decodeIfPresent(Bool.self, forKey: .colorization)
        antialias = try c.decodeIfPresent(Bool.self, forKey: .antialias) ?? false
        antialiasUp = try c.decodeIfPresent(Bool.self, forKey: .antialiasUp) ?? false
        spectralNorm = try c.decodeIfPresent(Bool.self, forKey: .spectralNorm) ?? d.spectralNorm
    }

    /// The metadata key of the config in a safetensors header.
    public static let metadataKey = "img2img.config"

    /// Compact JSON with sorted keys (stable files).
    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) throws -> ModelConfig {
        try JSONDecoder().decode(ModelConfig.self, from: Data(text.utf8))
    }

    // MARK: - Architecture names

    public enum GeneratorArchitecture: Equatable, Sendable {
        case resnet(blocks: Int)
        case unet(downs: Int)
    }

    /// `resnet_<n>blocks` or `unet_<size>` (size = 2^downs).
    public static func parseNetG(_ name: String) -> GeneratorArchitecture? {
        if name.hasPrefix("resnet_"), name.hasSuffix("blocks"),
           let n = Int(name.dropFirst("resnet_".count).dropLast("blocks".count)), n >= 0 {
            return .resnet(blocks: n)
        }
        if name.hasPrefix("unet_"), let s = Int(name.dropFirst("unet_".count)), s >= 32, s & (s - 1) == 0 {
            return .unet(downs: s.trailingZeroBitCount)
        }
        return nil
    }

    public static func netGName(_ a: GeneratorArchitecture) -> String {
        switch a {
        case .resnet(let n): return "resnet_\(n)blocks"
        case .unet(let d): return "unet_\(1 << d)"
        }
    }
}

/// A config that cannot be built, or a file whose network cannot be rebuilt.
public struct ModelError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A config value out of range or unknown (netG name, image size, ...).
        case invalidConfig
        /// The config JSON in a file's header does not decode.
        case unreadableConfig
        /// No config in the file and the tensor names/shapes match no known network.
        case unknownArchitecture
        /// The file holds a different kind of network than asked for.
        case wrongKind
        /// A folder given as the model holds no network file to load.
        case noModel
        /// A tensor holds NaN or infinity (saved from a run that diverged).
        case nonFiniteWeights
        /// Weights fetched apart from img2img (the FID Inception's) are not where they are looked for.
        case missingWeights
    }
    public var kind: Kind
    public var file: String?
    public var reason: String

    public init(_ kind: Kind, file: String? = nil, _ reason: String) {
        self.kind = kind; self.file = file; self.reason = reason
    }

    public var description: String { (file.map { "\($0): " } ?? "") + reason }
}
