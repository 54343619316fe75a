/// An opaque background color for compositing, components in 0...1.
public struct RGBColor: Sendable, Equatable {
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

    public static let white = RGBColor(gray: 1)
    public static let black = RGBColor(gray: 0)

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
        return shuffled(channels == 1 ? [0, 0, 0] : [0, 0, 0, 1])
    }

    /// An opaque alpha channel added (1 -> 2, 3 -> 4); images with alpha unchanged.
    public func addingAlpha() -> Image {
        guard !hasAlpha else { return self }
        return shuffled(Array(0..<channels) + [-1])
    }

    /// The alpha channel removed, colors kept as they are (2 -> 1, 4 -> 3),
    /// which is what Pillow's `convert("RGB")` does.
    public func droppingAlpha() -> Image {
        guard hasAlpha else { return self }
        return shuffled(Array(0..<(channels - 1)))
    }

    /// The image composited over an opaque `background`, alpha removed:
    /// `out = (c * a + bg * (max - a)) / max`, rounded. Gray+alpha over a gray
    /// background stays gray; over a colored one it becomes RGB.
    public func compositingAlpha(over background: RGBColor) -> Image {
        guard hasAlpha else { return self }
        let base = (channels == 2 && !background.isGray) ? expandingGrayToRGB() : self
        let c = base.channels, oc = c - 1, n = width * height
        func run<T: FixedWidthInteger & UnsignedInteger>(_ a: [T]) -> [T] {
            let m = UInt64(T.max)
            let bg = [background.red, background.green, background.blue].map {
                UInt64((min(max($0, 0), 1) * Double(m)).rounded())
            }
            var out = [T](repeating: 0, count: n * oc)
            a.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { d in
                    for p in 0..<n {
                        let alpha = UInt64(s[p * c + oc])
                        for k in 0..<oc {
                            let v = (UInt64(s[p * c + k]) * alpha + bg[k] * (m - alpha) + m / 2) / m
                            d[p * oc + k] = T(v)
                        }
                    }
                }
            }
            return out
        }
        switch base.samples {
        case .u8(let a): return Image(width: width, height: height, channels: oc, samples: .u8(run(a)))
        case .u16(let a): return Image(width: width, height: height, channels: oc, samples: .u16(run(a)))
        }
    }

    /// 8-bit RGB, the layout the rest of img2img works in: 16-bit rounded to 8,
    /// alpha dropped (as Pillow's `convert("RGB")` in the paper code), gray
    /// replicated to RGB.
    public func toRGB8() -> Image {
        to8Bit().droppingAlpha().expandingGrayToRGB()
    }

    /// 8-bit RGB with alpha composited over `background` instead of dropped.
    public func toRGB8(background: RGBColor) -> Image {
        to8Bit().compositingAlpha(over: background).expandingGrayToRGB()
    }

    /// 8-bit gray, as Pillow's `convert("L")` (ITU-R 601-2 luma, the same integer
    /// rounding): alpha dropped, 16-bit rounded to 8 first.
    public func toGray8() -> Image {
        let base = to8Bit().droppingAlpha()
        if base.channels == 1 { return base }
        let px = base.pixels8
        let n = width * height
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            let r = UInt32(px[3 * i]), g = UInt32(px[3 * i + 1]), b = UInt32(px[3 * i + 2])
            out[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
        return Image(width: width, height: height, channels: 1, pixels8: out)
    }

    /// A new image whose channel k is source channel `map[k]`, or the
    /// maximum sample value (opaque alpha) where `map[k]` is -1.
    func shuffled(_ map: [Int]) -> Image {
        let c = channels, oc = map.count, n = width * height
        func run<T: FixedWidthInteger & UnsignedInteger>(_ a: [T]) -> [T] {
            var out = [T](repeating: T.max, count: n * oc)
            a.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { d in
                    for (k, from) in map.enumerated() where from >= 0 {
                        var si = from, di = k
                        for _ in 0..<n {
                            d[di] = s[si]
                            si += c
                            di += oc
                        }
                    }
                }
            }
            return out
        }
        switch samples {
        case .u8(let a): return Image(width: width, height: height, channels: oc, samples: .u8(run(a)))
        case .u16(let a): return Image(width: width, height: height, channels: oc, samples: .u16(run(a)))
        }
    }
}
