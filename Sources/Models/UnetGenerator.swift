// U-Net generator (paper code `UnetGenerator`, Isola et al.): numDowns stride-2 4x4 convs
// down to 1x1 and as many transposed convs up, with skip connections by channel concat.
//   x: [N,S,S,input_nc], S = 2^numDowns (unet_256: 8 downs, unet_128: 7) -> [N,S,S,output_nc]
// Built from the innermost block outwards, as the paper code; names nest:
// model.model.0 (outermost down conv), model.model.1.model.1 (next down conv), ...
import Autograd
import NN

public final class UnetGenerator: Layer {
    public let model: UnetSkipConnectionBlock
    public let numDowns: Int

    public init(inputNC: Int, outputNC: Int, numDowns: Int, ngf: Int = 64, norm: ModelConfig.Norm = .batch,
                useDropout: Bool = false) {
        precondition(numDowns >= 5, "UnetGenerator: numDowns must be >= 5")
        self.numDowns = numDowns
        var block = UnetSkipConnectionBlock(outerNC: ngf * 8, innerNC: ngf * 8, position: .innermost, norm: norm)
        for i in 0..<(numDowns - 5) {
            block = UnetSkipConnectionBlock(outerNC: ngf * 8, innerNC: ngf * 8, submodule: block, norm: norm,
                                            useDropout: useDropout, seed: UInt64(i))
        }
        block = UnetSkipConnectionBlock(outerNC: ngf * 4, innerNC: ngf * 8, submodule: block, norm: norm)
        block = UnetSkipConnectionBlock(outerNC: ngf * 2, innerNC: ngf * 4, submodule: block, norm: norm)
        block = UnetSkipConnectionBlock(outerNC: ngf, innerNC: ngf * 2, submodule: block, norm: norm)
        model = UnetSkipConnectionBlock(outerNC: outputNC, innerNC: ngf, inputNC: inputNC, submodule: block,
                                        position: .outermost, norm: norm)
    }

    public var children: [(name: String, module: any Module)] { [("model", model)] }

    public func callAsFunction(_ x: Variable) -> Variable {
        let s = 1 << numDowns
        precondition(x.shape.count == 4 && x.shape[1] % s == 0 && x.shape[2] % s == 0,
                     "UnetGenerator: input must be [N,H,W,C] with H and W multiples of \(s), got \(x.shape)")
        return model(x)
    }
}

/// X ------------------- identity ------------------- X
///   |-- downsampling -- |submodule| -- upsampling --|
///
/// outermost: [downconv, submodule, ReLU, upconv, tanh]               y = model(x)
/// middle:    [LeakyReLU, downconv, norm, submodule, ReLU, upconv, norm, (dropout)]
/// innermost: [LeakyReLU, downconv, ReLU, upconv, norm]               y = cat(skip, model(x))
///
/// The skip is LeakyReLU(x), not x: the paper code's downrelu is `LeakyReLU(0.2, inplace=True)`
/// and is applied to x itself before `torch.cat([x, self.model(x)], 1)` reads it. Every
/// checkpoint of the paper code was trained (and is tested) with that, so we reproduce it.
public final class UnetSkipConnectionBlock: Layer {
    public enum Position: Sendable { case outermost, middle, innermost }
    public let model: Sequential
    public let position: Position

    public init(outerNC: Int, innerNC: Int, inputNC: Int? = nil, submodule: UnetSkipConnectionBlock? = nil,
                position: Position = .middle, norm: ModelConfig.Norm, useDropout: Bool = false, seed: UInt64 = 0) {
        self.position = position
        let useBias = norm.convolutionsHaveBias
        let downconv = Conv2D(inChannels: inputNC ?? outerNC, outChannels: innerNC, kernelSize: 4, stride: 2,
                              padding: 1, bias: useBias)
        switch position {
        case .outermost:
            let upconv = ConvTranspose2D(inChannels: innerNC * 2, outChannels: outerNC, kernelSize: 4, stride: 2, padding: 1)
            model = Sequential([downconv, submodule!, ReLU(), upconv, Tanh()])
        case .innermost:
            let upconv = ConvTranspose2D(inChannels: innerNC, outChannels: outerNC, kernelSize: 4, stride: 2, padding: 1,
                                         bias: useBias)
            model = Sequential([LeakyReLU(negativeSlope: 0.2), downconv, ReLU(), upconv, norm.layer(outerNC)])
        case .middle:
            let upconv = ConvTranspose2D(inChannels: innerNC * 2, outChannels: outerNC, kernelSize: 4, stride: 2,
                                         padding: 1, bias: useBias)
            var layers: [any Layer] = [LeakyReLU(negativeSlope: 0.2), downconv, norm.layer(innerNC), submodule!,
                                       ReLU(), upconv, norm.layer(outerNC)]
            if useDropout { layers.append(Dropout(probability: 0.5, seed: seed)) }
            model = Sequential(layers)
        }
    }

    public var children: [(name: String, module: any Module)] { [("model", model)] }

    public func callAsFunction(_ x: Variable) -> Variable {
        if position == .outermost { return model(x) }
        let skip = model[0](x)                       // in-place LeakyReLU of the paper code
        return concat([skip, model.forward(skip, from: 1)], axis: -1)
    }
}
