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

    public init(_ g: any Layer, config: ModelConfig) {
        generator = g
        inputChannels = config.inputNC
        outputChannels = config.outputNC
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
        let input = Variable(Tensor(shape: [count, height, width, inputChannels], scalars: x))
        return withNoGrad { generator(input) }.value.scalars
    }
}
