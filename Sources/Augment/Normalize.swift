import ImageIO

/// How floats in [-1, 1] go back to 8-bit samples.
public enum Quantization: String, Sendable, Codable {
    /// The paper code's `tensor2im`: `uint8((x + 1) / 2 * 255)`, truncating. The default,
    /// so that our PNGs match the paper code's to the level.
    case truncate
    /// Round to nearest: half a level less error on average.
    case round
}

/// Samples to and from the generators' range [-1, 1], as the paper code's
/// `ToTensor` + `Normalize((0.5,)*C, (0.5,)*C)` and `tensor2im`.
public enum Normalization {
    /// HWC samples mapped to [-1, 1]: `(x / max - 0.5) / 0.5`, computed in Float as torchvision does.
    public static func toSignedUnit(_ image: Image) -> [Float] {
        var out = [Float](repeating: 0, count: image.width * image.height * image.channels)
        writeSignedUnit(image, into: &out, offset: 0)
        return out
    }

    /// Writes `toSignedUnit(image)` into `buffer` at `offset` (a slot of a batch).
    public static func writeSignedUnit(_ image: Image, into buffer: inout [Float], offset: Int) {
        let n = image.width * image.height * image.channels
        precondition(offset >= 0 && offset + n <= buffer.count, "batch slot out of range")
        buffer.withUnsafeMutableBufferPointer { d in
            switch image.samples {
            case .u8(let px):
                for i in 0..<n { d[offset + i] = (Float(px[i]) / 255 - 0.5) / 0.5 }
            case .u16(let px):
                for i in 0..<n { d[offset + i] = (Float(px[i]) / 65535 - 0.5) / 0.5 }
            }
        }
    }

    /// An 8-bit image from HWC values in [-1, 1] (values outside are clamped).
    public static func toImage8(_ values: UnsafeBufferPointer<Float>, width: Int, height: Int, channels: Int,
                                quantization: Quantization = .truncate) -> Image {
        let n = width * height * channels
        precondition(values.count >= n, "not enough values for \(width)x\(height)x\(channels)")
        var px = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            var v = (values[i] + 1) / 2 * 255
            if !(v >= 0) { v = 0 }  // also catches NaN
            if v > 255 { v = 255 }
            px[i] = quantization == .truncate ? UInt8(v) : UInt8(v.rounded())
        }
        return Image(width: width, height: height, channels: channels, pixels8: px)
    }

    public static func toImage8(_ values: [Float], width: Int, height: Int, channels: Int,
                                quantization: Quantization = .truncate) -> Image {
        values.withUnsafeBufferPointer {
            toImage8($0, width: width, height: height, channels: channels, quantization: quantization)
        }
    }

    /// A 16-bit image from values in [-1, 1], rounded: for 16-bit inputs whose depth is kept.
    public static func toImage16(_ values: UnsafeBufferPointer<Float>, width: Int, height: Int, channels: Int) -> Image {
        let n = width * height * channels
        precondition(values.count >= n, "not enough values for \(width)x\(height)x\(channels)")
        var px = [UInt16](repeating: 0, count: n)
        for i in 0..<n {
            var v = (values[i] + 1) / 2 * 65535
            if !(v >= 0) { v = 0 }
            if v > 65535 { v = 65535 }
            px[i] = UInt16(v.rounded())
        }
        return Image(width: width, height: height, channels: channels, pixels16: px)
    }
}
