import ImageIO

/// Resampling filters. Bilinear and bicubic reproduce Pillow's `Image.resize`
/// (which the paper code calls through torchvision with BICUBIC): the same
/// separable convolution with antialiasing support scaled by the reduction factor,
/// the same fixed-point rounding on 8-bit images, horizontal pass first.
/// Nearest is for label maps and never blends values.
public enum ResizeFilter: String, Sendable, CaseIterable, Codable {
    case nearest
    case bilinear
    case bicubic
}

extension Image {
    /// Resizes to `width` x `height` with `filter`. 8-bit images use Pillow's
    /// fixed-point arithmetic (so the output matches Pillow to within 1 level),
    /// 16-bit images the same filters in floating point.
    public func resized(width newW: Int, height newH: Int, filter: ResizeFilter = .bicubic) -> Image {
        precondition(newW > 0 && newH > 0, "resize target must be positive")
        if newW == width && newH == height { return self }
        if filter == .nearest { return resizedNearest(width: newW, height: newH) }
        switch samples {
        case .u8(let px):
            let out = PillowResample.resample8(px, width: width, height: height, channels: channels,
                                               newWidth: newW, newHeight: newH, filter: filter)
            return Image(width: newW, height: newH, channels: channels, pixels8: out)
        case .u16(let px):
            let out = PillowResample.resample16(px, width: width, height: height, channels: channels,
                                                newWidth: newW, newHeight: newH, filter: filter)
            return Image(width: newW, height: newH, channels: channels, pixels16: out)
        }
    }

    /// Pillow's NEAREST: the source pixel under the centre of each output pixel.
    func resizedNearest(width newW: Int, height newH: Int) -> Image {
        let sx = Double(width) / Double(newW), sy = Double(height) / Double(newH)
        let xs = (0..<newW).map { min(width - 1, Int((Double($0) + 0.5) * sx)) }
        let ys = (0..<newH).map { min(height - 1, Int((Double($0) + 0.5) * sy)) }
        func gather<T>(_ px: [T]) -> [T] {
            var out = [T]()
            out.reserveCapacity(newW * newH * channels)
            for y in ys {
                let row = y * width
                for x in xs {
                    let base = (row + x) * channels
                    for c in 0..<channels { out.append(px[base + c]) }
                }
            }
            return out
        }
        switch samples {
        case .u8(let px): return Image(width: newW, height: newH, channels: channels, pixels8: gather(px))
        case .u16(let px): return Image(width: newW, height: newH, channels: channels, pixels16: gather(px))
        }
    }
}

/// A transcription of Pillow's `libImaging/Resample.c` (precompute_coeffs,
/// normalize_coeffs_8bpc, ImagingResampleHorizontal/Vertical_8bpc).
enum PillowResample {
    static let precisionBits = 32 - 8 - 2

    static func support(_ f: ResizeFilter) -> Double {
        switch f {
        case .nearest: return 0
        case .bilinear: return 1
        case .bicubic: return 2
        }
    }

    @inline(__always)
    static func kernel(_ f: ResizeFilter, _ xIn: Double) -> Double {
        let x = xIn < 0 ? -xIn : xIn
        switch f {
        case .nearest:
            return 0
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }

    /// Per output index: first source index, tap count, and `ksize` weights.
    struct Coefficients {
        var ksize: Int
        var bounds: [(start: Int, count: Int)]
        var weights: [Double]
    }

    static func coefficients(inSize: Int, outSize: Int, filter: ResizeFilter) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = PillowResample.support(filter) * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var bounds = [(start: Int, count: Int)]()
        bounds.reserveCapacity(outSize)
        var weights = [Double](repeating: 0, count: outSize * ksize)
        let ss = 1.0 / filterScale
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            // C's (int) cast truncates toward zero; the operands here can be negative.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var ww = 0.0
            for x in 0..<max(xmax, 0) {
                let w = kernel(filter, (Double(x + xmin) - center + 0.5) * ss)
                weights[xx * ksize + x] = w
                ww += w
            }
            if ww != 0 {
                for x in 0..<max(xmax, 0) { weights[xx * ksize + x] /= ww }
            }
            bounds.append((xmin, max(xmax, 0)))
        }
        return Coefficients(ksize: ksize, bounds: bounds, weights: weights)
    }

    static func fixedPoint(_ w: [Double]) -> [Int32] {
        let one = Double(1 << precisionBits)
        return w.map { $0 < 0 ? Int32(-0.5 + $0 * one) : Int32(0.5 + $0 * one) }
    }

    @inline(__always)
    static func clip8(_ v: Int32) -> UInt8 {
        if v >= (Int32(1) << Int32(precisionBits + 8)) { return 255 }
        if v <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: v >> Int32(precisionBits))
    }

    static func resample8(_ src: [UInt8], width: Int, height: Int, channels: Int,
                          newWidth: Int, newHeight: Int, filter: ResizeFilter) -> [UInt8] {
        let needH = newWidth != width
        let needV = newHeight != height
        let ch = coefficients(inSize: width, outSize: newWidth, filter: filter)
        let cv = coefficients(inSize: height, outSize: newHeight, filter: filter)
        let kh = fixedPoint(ch.weights), kv = fixedPoint(cv.weights)
        // Pillow 13 runs the vertical pass first when the width grows and the height shrinks
        // (found by comparing against it: tools/make_augment_fixtures.py), else horizontal first.
        if needH && needV && newWidth > width && newHeight < height {
            let tmp = verticalPass(src, width: width, channels: channels, outHeight: newHeight,
                                   bounds: cv.bounds, ksize: cv.ksize, weights: kv)
            return horizontalPass(tmp, width: width, channels: channels, rows: 0..<newHeight, outWidth: newWidth,
                                  bounds: ch.bounds, ksize: ch.ksize, weights: kh)
        }
        guard needH else {
            return needV ? verticalPass(src, width: width, channels: channels, outHeight: newHeight,
                                        bounds: cv.bounds, ksize: cv.ksize, weights: kv) : src
        }
        // Only the source rows the vertical pass will read are resampled horizontally.
        let yFirst = needV ? cv.bounds[0].start : 0
        let yLast = needV ? cv.bounds[newHeight - 1].start + cv.bounds[newHeight - 1].count : height
        let tmp = horizontalPass(src, width: width, channels: channels, rows: yFirst..<yLast, outWidth: newWidth,
                                 bounds: ch.bounds, ksize: ch.ksize, weights: kh)
        guard needV else { return tmp }
        let shifted = cv.bounds.map { (start: $0.start - yFirst, count: $0.count) }
        return verticalPass(tmp, width: newWidth, channels: channels, outHeight: newHeight,
                            bounds: shifted, ksize: cv.ksize, weights: kv)
    }

    static func horizontalPass(_ src: [UInt8], width: Int, channels: Int, rows: Range<Int>, outWidth: Int,
                               bounds: [(start: Int, count: Int)], ksize: Int, weights: [Int32]) -> [UInt8] {
        let half = Int32(1) << Int32(precisionBits - 1)
        var out = [UInt8](repeating: 0, count: rows.count * outWidth * channels)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                for (y, sy) in rows.enumerated() {
                    let srow = sy * width * channels
                    let drow = y * outWidth * channels
                    for xx in 0..<outWidth {
                        let (xmin, n) = bounds[xx]
                        let kb = xx * ksize
                        for c in 0..<channels {
                            var acc = half
                            for x in 0..<n {
                                acc &+= Int32(s[srow + (x + xmin) * channels + c]) &* weights[kb + x]
                            }
                            d[drow + xx * channels + c] = clip8(acc)
                        }
                    }
                }
            }
        }
        return out
    }

    static func verticalPass(_ src: [UInt8], width: Int, channels: Int, outHeight: Int,
                             bounds: [(start: Int, count: Int)], ksize: Int, weights: [Int32]) -> [UInt8] {
        let half = Int32(1) << Int32(precisionBits - 1)
        let rowLen = width * channels
        var out = [UInt8](repeating: 0, count: outHeight * rowLen)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                for yy in 0..<outHeight {
                    let (ymin, n) = bounds[yy]
                    let kb = yy * ksize
                    for i in 0..<rowLen {
                        var acc = half
                        for y in 0..<n {
                            acc &+= Int32(s[(y + ymin) * rowLen + i]) &* weights[kb + y]
                        }
                        d[yy * rowLen + i] = clip8(acc)
                    }
                }
            }
        }
        return out
    }

    static func resample16(_ src: [UInt16], width: Int, height: Int, channels: Int,
                           newWidth: Int, newHeight: Int, filter: ResizeFilter) -> [UInt16] {
        let ch = coefficients(inSize: width, outSize: newWidth, filter: filter)
        let cv = coefficients(inSize: height, outSize: newHeight, filter: filter)
        // Horizontal pass into floats, vertical pass back to 16 bit with rounding.
        var tmp = [Float](repeating: 0, count: height * newWidth * channels)
        for y in 0..<height {
            for xx in 0..<newWidth {
                let (xmin, n) = ch.bounds[xx]
                for c in 0..<channels {
                    var acc = 0.0
                    for x in 0..<n {
                        acc += Double(src[(y * width + x + xmin) * channels + c]) * ch.weights[xx * ch.ksize + x]
                    }
                    tmp[(y * newWidth + xx) * channels + c] = Float(acc)
                }
            }
        }
        var out = [UInt16](repeating: 0, count: newHeight * newWidth * channels)
        let rowLen = newWidth * channels
        for yy in 0..<newHeight {
            let (ymin, n) = cv.bounds[yy]
            for i in 0..<rowLen {
                var acc = 0.0
                for y in 0..<n { acc += Double(tmp[(y + ymin) * rowLen + i]) * cv.weights[yy * cv.ksize + y] }
                out[yy * rowLen + i] = UInt16(max(0, min(65535, acc.rounded())))
            }
        }
        return out
    }
}

/// Pillow's resize of a 32-bit float image (mode "F"): the same coefficients as for 8-bit
/// images, sums in double, stored as float, no rounding or clipping; horizontal pass first, each
/// pass skipped when its size does not change (as Pillow does). clean-fid resizes each channel
/// this way. `plane` is one channel, row-major.
public func pillowResizeFloat(_ plane: [Float], width: Int, height: Int, newWidth: Int, newHeight: Int,
                              filter: ResizeFilter = .bicubic) -> [Float] {
    precondition(plane.count == width * height && newWidth > 0 && newHeight > 0 && filter != .nearest)
    var src = plane, w = width
    if newWidth != width {
        let ch = PillowResample.coefficients(inSize: width, outSize: newWidth, filter: filter)
        var tmp = [Float](repeating: 0, count: height * newWidth)
        for y in 0..<height {
            for xx in 0..<newWidth {
                let (xmin, n) = ch.bounds[xx]
                var acc = 0.0
                for x in 0..<n { acc += Double(src[y * width + x + xmin]) * ch.weights[xx * ch.ksize + x] }
                tmp[y * newWidth + xx] = Float(acc)
            }
        }
        src = tmp
        w = newWidth
    }
    guard newHeight != height else { return src }
    let cv = PillowResample.coefficients(inSize: height, outSize: newHeight, filter: filter)
    var out = [Float](repeating: 0, count: newHeight * w)
    for yy in 0..<newHeight {
        let (ymin, n) = cv.bounds[yy]
        for i in 0..<w {
            var acc = 0.0
            for y in 0..<n { acc += Double(src[(y + ymin) * w + i]) * cv.weights[yy * cv.ksize + y] }
            out[yy * w + i] = Float(acc)
        }
    }
    return out
}
