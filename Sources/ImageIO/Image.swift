/// Pixels in HWC order: row-major, `channels` interleaved samples per pixel.
///
/// Channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. Samples are 8 or 16 bit;
/// 16-bit samples use the full 0...65535 range (no pre-shifting).
public struct Image: Sendable, Equatable {
    public enum Depth: Int, Sendable, Equatable {
        case eight = 8
        case sixteen = 16
    }

    /// Exactly one of the two arrays is used, chosen by `depth`; the other is empty.
    public enum Samples: Sendable, Equatable {
        case u8([UInt8])
        case u16([UInt16])
    }

    public let width: Int
    public let height: Int
    public let channels: Int
    public var samples: Samples

    public var depth: Depth {
        switch samples {
        case .u8: return .eight
        case .u16: return .sixteen
        }
    }

    public var hasAlpha: Bool { channels == 2 || channels == 4 }
    public var isGray: Bool { channels <= 2 }
    public var pixelCount: Int { width * height }

    public init(width: Int, height: Int, channels: Int, samples: Samples) {
        precondition(width > 0 && height > 0, "image dimensions must be positive")
        precondition((1...4).contains(channels), "channels must be 1...4")
        let n = width * height * channels
        switch samples {
        case .u8(let a): precondition(a.count == n, "sample count \(a.count) != \(n)")
        case .u16(let a): precondition(a.count == n, "sample count \(a.count) != \(n)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
    }

    public init(width: Int, height: Int, channels: Int, pixels8: [UInt8]) {
        self.init(width: width, height: height, channels: channels, samples: .u8(pixels8))
    }

    public init(width: Int, height: Int, channels: Int, pixels16: [UInt16]) {
        self.init(width: width, height: height, channels: channels, samples: .u16(pixels16))
    }

    /// A blank 8-bit image.
    public init(width: Int, height: Int, channels: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, channels: channels,
                  samples: .u8([UInt8](repeating: fill, count: width * height * channels)))
    }

    /// The 8-bit samples; traps if the image is 16-bit (convert with `to8Bit()` first).
    public var pixels8: [UInt8] {
        guard case .u8(let a) = samples else { preconditionFailure("image is 16-bit; call to8Bit() first") }
        return a
    }

    /// The 16-bit samples; traps if the image is 8-bit (convert with `to16Bit()` first).
    public var pixels16: [UInt16] {
        guard case .u16(let a) = samples else { preconditionFailure("image is 8-bit; call to16Bit() first") }
        return a
    }

    /// One sample scaled to 0...1, whatever the depth.
    @inlinable
    public func normalizedSample(x: Int, y: Int, c: Int) -> Float {
        let i = (y * width + x) * channels + c
        switch samples {
        case .u8(let a): return Float(a[i]) / 255
        case .u16(let a): return Float(a[i]) / 65535
        }
    }
}
