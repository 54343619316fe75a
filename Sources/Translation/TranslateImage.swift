import ImageIO
import Augment

/// Translates one image in memory, the same way the folder pipeline does (sizing, tiling,
/// channel adaptation, alpha and depth kept), on the calling thread. For test sets and tools
/// that need the result as an `Image`; folders go through `TranslationPipeline`.
/// `keepSixteenBit: false` gives 8-bit output from a 16-bit source, quantized as the pipeline
/// does when it writes a JPEG (so a JPEG made from this equals `img2img translate --format jpeg`).
public func translateImage(_ source: Image, with tr: any ImageTranslator, sizing: Sizing = .pad,
                           tiling: TilingOptions = TilingOptions(), quantization: Quantization = .round,
                           index: Int = 0, keepSixteenBit: Bool = true) throws -> Image {
    let (img, alpha) = sized(source, sizing: sizing, index: index)
    let input = Normalization.toSignedUnit(adapt(img, channels: tr.inputChannels))
    var asm = Assembler(width: img.width, height: img.height, channels: tr.outputChannels, overlap: tiling.overlap)
    for g in planPieces(width: img.width, height: img.height, multiple: max(1, tr.sizeMultiple), minimum: tr.minimumSide, options: tiling) {
        let x = extractPiece(input, width: img.width, height: img.height, channels: tr.inputChannels, piece: g)
        let y = try tr.translate(x, count: 1, height: g.height, width: g.width)
        y.withUnsafeBufferPointer { asm.add($0, piece: g) }
    }
    return outputImage(asm.result(), width: img.width, height: img.height, channels: tr.outputChannels,
                       sixteenBit: keepSixteenBit && img.depth == .sixteen, alpha: alpha, quantization: quantization)
}
