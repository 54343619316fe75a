import Augment
import Autograd
import Models
import NN
import TensorCore

/// A generator of the Models module as the pipeline's `ImageTranslator`: the one adapter that
/// translate, test and the trainers' sample pages share.
public final class GeneratorTranslator: ImageTranslator, @unchecked Sendable {
    public let generator: any Layer
    public let inputChannels: Int
    public let outputChannels: Int
    public let sizeMultiple: Int
    public let minimumSide: Int
    /// A colorization generator: RGB in and out, the network seeing L and predicting ab.
    public let colorization: Bool

    public init(_ g: any Layer, config: ModelConfig) {
        generator = g
        colorization = config.colorization == true
        inputChannels = colorization ? 3 : config.inputNC
        outputChannels = colorization ? 3 : config.outputNC
        sizeMultiple = config.sizeMultiple
        // ResNet: two stride-2 convs, then ReflectionPad2d(1) in every block, which needs a side
        // of 2 there: 8 at the input (a 1x1 or 4x4 input used to trap in the pad).
        if case .resnet? = ModelConfig.parseNetG(config.netG) {
            minimumSide = 2 * config.sizeMultiple
        } else {
            minimumSide = config.sizeMultiple
        }
    }

    public func translate(_ x: [Float], count: Int, height: Int, width: Int) throws -> [Float] {
        if colorization {
            // The paper code's colorization test: L of the input, ab from G, back to RGB.
            let (l, _) = x.withUnsafeBufferPointer { Lab.splitSignedRGB($0) }
            let input = Variable(Tensor(shape: [count, height, width, 1], scalars: l))
            let ab = withNoGrad { generator(input) }.value.scalars
            return l.withUnsafeBufferPointer { lp in ab.withUnsafeBufferPointer { Lab.signedRGB(l: lp, ab: $0) } }
        }
        let input = Variable(Tensor(shape: [count, height, width, inputChannels], scalars: x))
        return withNoGrad { generator(input) }.value.scalars
    }
}
