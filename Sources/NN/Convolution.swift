// Convolution layers (PyTorch nn.Conv2d and nn.ConvTranspose2d, zero padding, square kernels).
//   Conv2D:          x: [N,H,W,C]    weight: [KH,KW,C,OC]      bias: [OC]   y: [N,OH,OW,OC]
//                    OH = (H + 2*padding - KH) / stride + 1
//   ConvTranspose2D: x: [N,H,W,Cin]  weight: [KH,KW,Cout,Cin]  bias: [Cout] y: [N,OH,OW,Cout]
//                    OH = (H - 1)*stride - 2*padding + KH + outputPadding
// State dict layouts are PyTorch's: conv weight [OC,C,KH,KW], transposed [Cin,Cout,KH,KW].
// Weights start at zero: networks are initialized by `initialize(_:_:gain:using:)`.
import TensorCore
import Autograd

public final class Conv2D: Layer, SpectrallyNormalizable {
    public let weight: Variable
    public let bias: Variable?
    public let stride: Int
    public let padding: Int
    public private(set) var spectralNorm: SpectralNorm?
    /// The conv plans of this layer: its weights packed once per change (per optimizer step).
    public let plans = ConvPlans()

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        weight = Variable(Tensor(zeros: [kernelSize, kernelSize, inChannels, outChannels]), requiresGrad: true)
        self.bias = bias ? Variable(Tensor(zeros: [outChannels]), requiresGrad: true) : nil
        self.stride = stride
        self.padding = padding
    }

    public var ownTensors: [ModuleTensor] {
        let b = bias.map { [ModuleTensor.parameter("bias", $0)] } ?? []
        guard let sn = spectralNorm else { return [.parameter("weight", weight, layout: .conv)] + b }
        return b + [.parameter("weight_orig", weight, layout: .conv)] + sn.buffers(prefix: "weight")
    }

    public func applySpectralNorm<G: RandomNumberGenerator>(using rng: inout G) {
        spectralNorm = SpectralNorm(convWeightShape: weight.shape, using: &rng)
    }

    public func setMode(_ mode: ModuleMode) { spectralNorm?.training = mode == .training }

    public func callAsFunction(_ x: Variable) -> Variable {
        conv2d(x, spectralNorm?(weight) ?? weight, bias: bias, strides: (stride, stride), padding: .symmetric(padding),
               plans: plans)
    }
}

public final class ConvTranspose2D: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let stride: Int
    public let padding: Int
    public let outputPadding: Int
    public let plans = ConvPlans()

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, bias: Bool = true) {
        weight = Variable(Tensor(zeros: [kernelSize, kernelSize, outChannels, inChannels]), requiresGrad: true)
        self.bias = bias ? Variable(Tensor(zeros: [outChannels]), requiresGrad: true) : nil
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    public var ownTensors: [ModuleTensor] {
        [.parameter("weight", weight, layout: .transposedConv)] + (bias.map { [.parameter("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        convTranspose2d(x, weight, bias: bias, strides: (stride, stride), padding: (padding, padding),
                        outputPadding: (outputPadding, outputPadding), plans: plans)
    }
}
