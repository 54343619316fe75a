// The paper code's discriminators. Outputs are logits (no sigmoid), one per patch.
//   NLayerDiscriminator (PatchGAN): x [N,H,W,input_nc] -> [N,H',W',1]; n_layers stride-2 4x4
//     convs, then two stride-1 4x4 convs, padding 1. `basic` = 3 layers: 70x70 receptive
//     field, 256x256 -> 30x30 (256 -> 128 -> 64 -> 32 -> 31 -> 30).
//     CUT's variant (`antialias`, its default): each stride-2 conv becomes a stride-1 conv
//     followed (after its norm and LeakyReLU) by a blur `Downsample`; the sizes are the same.
//   PixelDiscriminator (1x1 PatchGAN): x [N,H,W,input_nc] -> [N,H,W,1].
import Autograd
import NN

public final class NLayerDiscriminator: Layer {
    public let model: Sequential

    public init(inputNC: Int, ndf: Int = 64, nLayers: Int = 3, norm: ModelConfig.Norm = .batch, antialias: Bool = false) {
        precondition(nLayers >= 1, "NLayerDiscriminator: nLayers must be >= 1")
        let useBias = norm.convolutionsHaveBias
        let downStride = antialias ? 1 : 2
        var layers: [any Layer] = [Conv2D(inChannels: inputNC, outChannels: ndf, kernelSize: 4, stride: downStride, padding: 1),
                                   LeakyReLU(negativeSlope: 0.2)]
        if antialias { layers.append(BlurDownsample(channels: ndf)) }
        var nfMult = 1, nfMultPrev = 1
        for n in 1..<max(nLayers, 1) {
            nfMultPrev = nfMult
            nfMult = min(1 << n, 8)
            layers += [Conv2D(inChannels: ndf * nfMultPrev, outChannels: ndf * nfMult, kernelSize: 4, stride: downStride,
                              padding: 1, bias: useBias),
                       norm.layer(ndf * nfMult), LeakyReLU(negativeSlope: 0.2)]
            if antialias { layers.append(BlurDownsample(channels: ndf * nfMult)) }
        }
        nfMultPrev = nfMult
        nfMult = min(1 << nLayers, 8)
        layers += [Conv2D(inChannels: ndf * nfMultPrev, outChannels: ndf * nfMult, kernelSize: 4, stride: 1, padding: 1,
                          bias: useBias),
                   norm.layer(ndf * nfMult), LeakyReLU(negativeSlope: 0.2)]
        layers.append(Conv2D(inChannels: ndf * nfMult, outChannels: 1, kernelSize: 4, stride: 1, padding: 1))
        model = Sequential(layers)
    }

    /// Output side for an input side `size`: each 4x4 conv with padding 1 maps s to
    /// (s + 2 - 4) / stride + 1.
    public static func outputSize(inputSize: Int, nLayers: Int = 3) -> Int {
        var s = inputSize
        for _ in 0..<nLayers { s = (s + 2 - 4) / 2 + 1 }
        return s - 2
    }

    /// The smallest input side that leaves an output: each stride-2 layer halves (floor) a side
    /// of 2 or more and the two stride-1 layers take 2, so floor(s / 2^n) >= 3.
    public static func smallestInputSize(nLayers: Int = 3) -> Int { 3 << nLayers }

    public var children: [(name: String, module: any Module)] { [("model", model)] }

    public func callAsFunction(_ x: Variable) -> Variable { model(x) }
}

public final class PixelDiscriminator: Layer {
    public let net: Sequential

    public init(inputNC: Int, ndf: Int = 64, norm: ModelConfig.Norm = .batch) {
        let useBias = norm.convolutionsHaveBias
        net = Sequential([Conv2D(inChannels: inputNC, outChannels: ndf, kernelSize: 1),
                          LeakyReLU(negativeSlope: 0.2),
                          Conv2D(inChannels: ndf, outChannels: ndf * 2, kernelSize: 1, bias: useBias),
                          norm.layer(ndf * 2),
                          LeakyReLU(negativeSlope: 0.2),
                          Conv2D(inChannels: ndf * 2, outChannels: 1, kernelSize: 1, bias: useBias)])
    }

    public var children: [(name: String, module: any Module)] { [("net", net)] }

    public func callAsFunction(_ x: Variable) -> Variable { net(x) }
}
