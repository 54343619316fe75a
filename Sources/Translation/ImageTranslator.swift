/// What the folder pipeline needs from a model: NHWC floats in [-1, 1] in, the same out.
///
/// `GeneratorTranslator` adapts a generator of the Models module to this; tests use simple stand-ins,
/// so the pipeline's file handling is tested without a network.
public protocol ImageTranslator: Sendable {
    /// Channels the model takes (1 gray or 3 RGB).
    var inputChannels: Int { get }
    /// Channels the model returns (1 or 3).
    var outputChannels: Int { get }
    /// Heights and widths given to `translate` are multiples of this
    /// (4 for the ResNet generators, 2^downsamplings for the U-Nets).
    var sizeMultiple: Int { get }
    /// Heights and widths given to `translate` are at least this: smaller images are reflected
    /// out to it (a ResNet generator's reflection pads need its bottleneck to be 2x2 or more).
    var minimumSide: Int { get }
    /// `x` is `[count, height, width, inputChannels]`; returns `[count, height, width, outputChannels]`.
    func translate(_ x: [Float], count: Int, height: Int, width: Int) throws -> [Float]
}

extension ImageTranslator {
    public var minimumSide: Int { sizeMultiple }
}
