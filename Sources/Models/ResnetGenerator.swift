// ResNet generator (paper code `ResnetGenerator`, Johnson et al.):
//   c7s1-ngf, d2ngf, d4ngf, n x R4ngf, u2ngf, u1ngf, c7s1-output_nc, tanh
//   x: [N,H,W,input_nc] (H, W multiples of 4) -> y: [N,H,W,output_nc] in [-1, 1]
// State-dict names as the paper code's nn.Sequential `model`: model.1 (7x7 conv),
// model.4 and model.7 (downsampling), model.10 ... model.(9+n) (ResnetBlocks),
// transposed convs after them, then the last 7x7 conv.
// CUT's variant (`antialias`, its default): each downsampling is a stride-1 conv, norm, ReLU and
// a blur `Downsample` (model.4-7, model.8-11, blocks from model.12); `antialiasUp` replaces each
// transposed conv by a blur `Upsample` and a stride-1 conv. `encode` returns the outputs of
// chosen layers of `model`, as CUT's forward(input, layers, encode_only=True).
import Autograd
import NN

public final class ResnetGenerator: Layer {
    public let model: Sequential

    public init(inputNC: Int, outputNC: Int, ngf: Int = 64, norm: ModelConfig.Norm = .batch, useDropout: Bool = false,
                nBlocks: Int = 6, paddingType: ModelConfig.Padding = .reflect, antialias: Bool = false,
                antialiasUp: Bool = false) {
        precondition(nBlocks >= 0, "ResnetGenerator: nBlocks must be >= 0")
        let useBias = norm.convolutionsHaveBias
        var layers: [any Layer] = [
            ReflectionPad2D(3),
            Conv2D(inChannels: inputNC, outChannels: ngf, kernelSize: 7, bias: useBias),
            norm.layer(ngf),
            ReLU(),
        ]
        let nDownsampling = 2
        for i in 0..<nDownsampling {
            let mult = 1 << i
            if antialias {
                layers += [Conv2D(inChannels: ngf * mult, outChannels: ngf * mult * 2, kernelSize: 3, stride: 1, padding: 1,
                                  bias: useBias),
                           norm.layer(ngf * mult * 2), ReLU(), BlurDownsample(channels: ngf * mult * 2)]
            } else {
                layers += [Conv2D(inChannels: ngf * mult, outChannels: ngf * mult * 2, kernelSize: 3, stride: 2, padding: 1,
                                  bias: useBias),
                           norm.layer(ngf * mult * 2), ReLU()]
            }
        }
        let mult = 1 << nDownsampling
        for i in 0..<nBlocks {
            layers.append(ResnetBlock(dim: ngf * mult, paddingType: paddingType, norm: norm, useDropout: useDropout,
                                      useBias: useBias, seed: UInt64(i)))
        }
        for i in 0..<nDownsampling {
            let mult = 1 << (nDownsampling - i)
            if antialiasUp {
                layers += [BlurUpsample(channels: ngf * mult),
                           Conv2D(inChannels: ngf * mult, outChannels: ngf * mult / 2, kernelSize: 3, stride: 1, padding: 1,
                                  bias: useBias),
                           norm.layer(ngf * mult / 2), ReLU()]
            } else {
                layers += [ConvTranspose2D(inChannels: ngf * mult, outChannels: ngf * mult / 2, kernelSize: 3, stride: 2,
                                           padding: 1, outputPadding: 1, bias: useBias),
                           norm.layer(ngf * mult / 2), ReLU()]
            }
        }
        layers += [ReflectionPad2D(3), Conv2D(inChannels: ngf, outChannels: outputNC, kernelSize: 7), Tanh()]
        model = Sequential(layers)
    }

    public var children: [(name: String, module: any Module)] { [("model", model)] }

    public func callAsFunction(_ x: Variable) -> Variable {
        precondition(x.shape.count == 4 && x.shape[1] % 4 == 0 && x.shape[2] % 4 == 0,
                     "ResnetGenerator: input must be [N,H,W,C] with H and W multiples of 4, got \(x.shape)")
        return model(x)
    }

    /// The outputs of `model`'s layers `layers` (ascending indices), stopping after the last one.
    public func encode(_ x: Variable, layers: [Int]) -> [Variable] {
        precondition(x.shape.count == 4 && x.shape[1] % 4 == 0 && x.shape[2] % 4 == 0,
                     "ResnetGenerator: input must be [N,H,W,C] with H and W multiples of 4, got \(x.shape)")
        guard let last = layers.max() else { return [] }
        precondition(layers.allSatisfy { $0 >= 0 } && last < model.count,
                     "ResnetGenerator.encode: layers \(layers) outside 0..<\(model.count)")
        var feats: [Variable] = []
        var h = x
        for i in 0...last {
            h = model[i](h)
            if layers.contains(i) { feats.append(h) }
        }
        return feats
    }
}

/// y = x + conv_block(x), conv_block = pad, conv3x3, norm, ReLU, [dropout 0.5], pad, conv3x3, norm.
public final class ResnetBlock: Layer {
    public let convBlock: Sequential

    public init(dim: Int, paddingType: ModelConfig.Padding, norm: ModelConfig.Norm, useDropout: Bool, useBias: Bool,
                seed: UInt64 = 0) {
        func padding() -> (layers: [any Layer], p: Int) {
            switch paddingType {
            case .reflect: return ([ReflectionPad2D(1)], 0)
            case .replicate: return ([ReplicationPad2D(1)], 0)
            case .zero: return ([], 1)
            }
        }
        var layers: [any Layer] = []
        var (pad, p) = padding()
        layers += pad
        layers += [Conv2D(inChannels: dim, outChannels: dim, kernelSize: 3, padding: p, bias: useBias), norm.layer(dim), ReLU()]
        if useDropout { layers.append(Dropout(probability: 0.5, seed: seed)) }
        (pad, p) = padding()
        layers += pad
        layers += [Conv2D(inChannels: dim, outChannels: dim, kernelSize: 3, padding: p, bias: useBias), norm.layer(dim)]
        convBlock = Sequential(layers)
    }

    public var children: [(name: String, module: any Module)] { [("conv_block", convBlock)] }

    public func callAsFunction(_ x: Variable) -> Variable { x + convBlock(x) }
}

extension ModelConfig.Norm {
    /// The paper code's `use_bias`: convs followed by an instance norm have a bias.
    public var convolutionsHaveBias: Bool { self == .instance || self == .instanceAffine }

    /// The paper code's `norm_layer(channels)`.
    public func layer(_ channels: Int) -> any Layer {
        switch self {
        case .instance: return InstanceNorm2D(channels: channels, affine: false)
        case .instanceAffine: return InstanceNorm2D(channels: channels, affine: true)
        case .batch: return BatchNorm2D(channels: channels)
        case .none: return Identity()
        }
    }
}
