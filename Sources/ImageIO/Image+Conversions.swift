/// An opaque background color for compositing, components in 0...1.
public struct Color: Sendable, Equatable {
    public var red: Double
    public var green: Double
    public var blue: Double

    public init(red: Double, green: Double, blue: Double) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// A gray level, 0 black ... 1 white.
    public init(gray: Double) { self.init(red: gray, green: gray, blue: gray) }

    public static let white = Color(gray: 1)
    public static let black = Color(gray: 0)

    var isGray: Bool { red == green && green == blue }
}

// Conversions between channel layouts and depths. Each returns a new image and
// keeps the depth unless its name says otherwise.
extension Image {
    /// 16-bit samples rounded to 8 bits: `(v * 255 + 32767) / 65535`.
    /// An 8-bit image is returned unchanged.
    public func to8Bit() -> Image {
        guard case .u16(let a) = samples else { return self }
        let b = a.map { UInt8((UInt32($0) * 255 + 32767) / 65535) }
        return Image(width: width, height: height, channels: channels, samples: .u8(b))
    }

    /// 8-bit samples widened to 16 bits exactly: `v * 257` (0 -> 0, 255 -> 65535).
    public func to16Bit() -> Image {
        guard case .u8(let a) = samples else { return self }
        let b = a.map { UInt16($0) * 257 }
        return Image(width: width, height: height, channels: channels, samples: .u16(b))
    }

    /// Gray to RGB (1 -> 3 channels, 2 -> 4 keeping alpha); color images unchanged.
    public func expandingGrayToRGB() -> Image {
        guard isGray else { return self }
        return mapPixels(toChannels: channels + 2) { src, dst, _ in
            dst[0] = src[0]; dst[1] = src[0]; dst[2] = src[0]
            if src.count == 2 { dst[3] = src[1] }
        }
    }

    /// An opaque alpha channel added (1 -> 2, 3 -> 4); images with alpha unchanged.
    public func addingAlpha() -> Image {
        guard !hasAlpha else { return self }
        return mapPixels(toChannels: channels + 1) { src, dst, maxValue in
            for k in 0..<src.count { dst[k] = src[k] }
            dst[src.count] = maxValue
        }
    }

    /// The alpha channel removed, colors kept as they are (2 -> 1, 4 -> 3),
    /// which is what Pillow's `convert("RGB")` does.
    public func droppingAlpha() -> Image {
        guard hasAlpha else { return self }
        return mapPixels(toChannels: channels - 1) { src, dst, _ in
            for k in 0..<(src.count - 1) { dst[k] = src[k] }
        }
    }

    /// The image composited over an opaque `background`, alpha removed:
    /// `out = (c * a + bg * (max - a)) / max`, rounded. Gray+alpha over a gray
    /// background stays gray; over a colored one it becomes RGB.
    public func compositingAlpha(over background: Color) -> Image {
        guard hasAlpha else { return self }
        let base = (channels == 2 && !background.isGray) ? expandingGrayToRGB() : self
        let outChannels = base.channels - 1
        return base.mapPixels(toChannels: outChannels) { src, dst, maxValue in
            let m = UInt64(maxValue)
            let bg = [background.red, background.green, background.blue].map {
                UInt64((min(max($0, 0), 1) * Double(maxValue)).rounded())
            }
            let a = UInt64(src[outChannels])
            for k in 0..<outChannels {
                let v = (UInt64(src[k]) * a + bg[k] * (m - a) + m / 2) / m
                dst[k] = Int(v)
            }
        }
    }

    /// 8-bit RGB, the layout the rest of img2img works in: 16-bit rounded to 8,
    /// alpha dropped (as Pillow's `convert("RGB")` in the paper code), gray
    /// replicated to RGB.
    public func toRGB8() -> Image {
        to8Bit().droppingAlpha().expandingGrayToRGB()
    }

    /// 8-bit RGB with alpha composited over `background` instead of dropped.
    public func toRGB8(background: Color) -> Image {
        to8Bit().compositingAlpha(over: background).expandingGrayToRGB()
    }

    /// Rebuilds the image pixel by pixel. `body` gets one source pixel, a
    /// destination pixel to fill and the maximum sample value (255 or 65535).
    func mapPixels(toChannels outChannels: Int,
                   _ body: (_ src: [Int], _ dst: inout [Int], _ maxValue: Int) -> Void) -> Image {
        let c = channels, n = width * height
        func run<T: FixedWidthInteger & UnsignedInteger>(_ a: [T]) -> [T] {
            var out = [T](repeating: 0, count: n * outChannels)
            var src = [Int](repeating: 0, count: c)
            var dst = [Int](repeating: 0, count: outChannels)
            let maxValue = Int(T.max)
            for p in 0..<n {
                for k in 0..<c { src[k] = Int(a[p * c + k]) }
                body(src, &dst, maxValue)
                for k in 0..<outChannels { out[p * outChannels + k] = T(dst[k]) }
            }
            return out
        }
        switch samples {
        case .u8(let a): return Image(width: width, height: height, channels: outChannels, samples: .u8(run(a)))
        case .u16(let a): return Image(width: width, height: height, channels: outChannels, samples: .u16(run(a)))
        }
    }
}
