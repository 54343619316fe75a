import ImageIO

extension Image {
    /// The `w` x `h` region at (`x`, `y`). The region must lie inside the image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> Image {
        precondition(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= width && y + h <= height,
                     "crop (\(x),\(y),\(w)x\(h)) outside \(width)x\(height)")
        if x == 0 && y == 0 && w == width && h == height { return self }
        func gather<T>(_ px: [T]) -> [T] {
            var out = [T]()
            out.reserveCapacity(w * h * channels)
            for row in y..<(y + h) {
                let start = (row * width + x) * channels
                out.append(contentsOf: px[start..<(start + w * channels)])
            }
            return out
        }
        switch samples {
        case .u8(let px): return Image(width: w, height: h, channels: channels, pixels8: gather(px))
        case .u16(let px): return Image(width: w, height: h, channels: channels, pixels16: gather(px))
        }
    }

    /// Mirror left-right.
    public func flippedHorizontally() -> Image {
        func mirror<T>(_ px: [T]) -> [T] {
            var out = px
            for row in 0..<height {
                for x in 0..<width {
                    let s = (row * width + x) * channels
                    let d = (row * width + (width - 1 - x)) * channels
                    for c in 0..<channels { out[d + c] = px[s + c] }
                }
            }
            return out
        }
        switch samples {
        case .u8(let px): return Image(width: width, height: height, channels: channels, pixels8: mirror(px))
        case .u16(let px): return Image(width: width, height: height, channels: channels, pixels16: mirror(px))
        }
    }

    /// The left and right halves of a side-by-side pair (the paper code's aligned `A|B` images):
    /// A is columns [0, w/2), B is [w/2, w).
    public func splitHorizontally() -> (left: Image, right: Image) {
        let w2 = width / 2
        precondition(w2 > 0 && width - w2 > 0, "image \(width) wide cannot be split in two")
        return (cropped(x: 0, y: 0, width: w2, height: height),
                cropped(x: w2, y: 0, width: width - w2, height: height))
    }

    /// Two images of the same height side by side (the inverse of `splitHorizontally`).
    public static func sideBySide(_ a: Image, _ b: Image) -> Image {
        precondition(a.height == b.height && a.channels == b.channels && a.depth == b.depth,
                     "side by side needs equal heights, channels and depths")
        let w = a.width + b.width
        func join<T>(_ pa: [T], _ pb: [T]) -> [T] {
            var out = [T]()
            out.reserveCapacity(w * a.height * a.channels)
            for row in 0..<a.height {
                let ra = row * a.width * a.channels, rb = row * b.width * b.channels
                out.append(contentsOf: pa[ra..<(ra + a.width * a.channels)])
                out.append(contentsOf: pb[rb..<(rb + b.width * b.channels)])
            }
            return out
        }
        switch (a.samples, b.samples) {
        case (.u8(let pa), .u8(let pb)): return Image(width: w, height: a.height, channels: a.channels, pixels8: join(pa, pb))
        case (.u16(let pa), .u16(let pb)): return Image(width: w, height: a.height, channels: a.channels, pixels16: join(pa, pb))
        default: preconditionFailure("unreachable: depths checked above")
        }
    }
}
