/// How one image is cut into the pieces the network sees, and put back together.
///
/// Small images are one piece: the image reflected out to the network's size multiple
/// and cropped back afterwards, so the output has the input's size. Images above
/// `maxPiecePixels` are cut into overlapping tiles whose outputs are blended with linear
/// ramps across the overlaps, so memory stays bounded whatever the image size.
public struct TilingOptions: Sendable, Equatable {
    /// Images with more pixels than this are tiled.
    public var maxPiecePixels: Int
    /// Tile side (rounded up to the network's multiple).
    public var tileSize: Int
    /// Overlap between neighbouring tiles, blended linearly.
    public var overlap: Int

    public init(maxPiecePixels: Int = 1024 * 1024, tileSize: Int = 512, overlap: Int = 64) {
        self.maxPiecePixels = maxPiecePixels
        self.tileSize = tileSize
        self.overlap = overlap
    }
}

/// A region of the image, padded by reflection to a `height` x `width` network input.
struct PieceGeometry: Equatable {
    /// The region of the image this piece covers (before padding).
    var x0: Int, y0: Int, w: Int, h: Int
    /// Padding added on the top and left (the rest goes bottom and right).
    var padTop: Int, padLeft: Int
    /// The network input size.
    var height: Int, width: Int
    /// Whether the piece has a neighbour on each side (for blending).
    var left: Bool, right: Bool, top: Bool, bottom: Bool
}

func roundUp(_ v: Int, _ m: Int) -> Int { (v + m - 1) / m * m }

/// Mirror index into 0..<n with repeated bouncing, so padding wider than the image still works
/// (PyTorch's ReflectionPad2d is the single-bounce special case).
@inline(__always)
func reflectIndex(_ i: Int, _ n: Int) -> Int {
    if n == 1 { return 0 }
    let period = 2 * (n - 1)
    var k = i % period
    if k < 0 { k += period }
    return k < n ? k : period - k
}

/// The pieces an image is translated in; each is padded to a multiple of `m` and to at least
/// `minimum` on each side.
func planPieces(width: Int, height: Int, multiple m: Int, minimum: Int = 1, options o: TilingOptions) -> [PieceGeometry] {
    let least = roundUp(max(minimum, 1), m)
    if width * height <= o.maxPiecePixels {
        let ph = max(roundUp(height, m), least), pw = max(roundUp(width, m), least)
        return [PieceGeometry(x0: 0, y0: 0, w: width, h: height, padTop: (ph - height) / 2, padLeft: (pw - width) / 2,
                              height: ph, width: pw, left: false, right: false, top: false, bottom: false)]
    }
    let t = roundUp(max(o.tileSize, m), m)
    let overlap = min(o.overlap, t / 2)
    func starts(_ n: Int) -> [Int] {
        if n <= t { return [0] }
        var s: [Int] = []
        var p = 0
        while p + t < n { s.append(p); p += t - overlap }
        s.append(n - t)
        return s
    }
    let xs = starts(width), ys = starts(height)
    var pieces: [PieceGeometry] = []
    for (yi, y) in ys.enumerated() {
        for (xi, x) in xs.enumerated() {
            let w = min(t, width), h = min(t, height)
            let ph = max(roundUp(h, m), least), pw = max(roundUp(w, m), least)
            pieces.append(PieceGeometry(x0: x, y0: y, w: w, h: h, padTop: (ph - h) / 2, padLeft: (pw - w) / 2,
                                        height: ph, width: pw,
                                        left: xi > 0, right: xi < xs.count - 1, top: yi > 0, bottom: yi < ys.count - 1))
        }
    }
    return pieces
}

/// Copies a piece out of an HWC float image, reflecting at the borders.
func extractPiece(_ src: [Float], width: Int, height: Int, channels c: Int, piece g: PieceGeometry) -> [Float] {
    var out = [Float](repeating: 0, count: g.height * g.width * c)
    src.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { d in
            for y in 0..<g.height {
                // Reflect inside the piece's region first (as padding that region would),
                // then map into the image.
                let sy = g.y0 + reflectIndex(y - g.padTop, g.h)
                for x in 0..<g.width {
                    let sx = g.x0 + reflectIndex(x - g.padLeft, g.w)
                    let si = (sy * width + sx) * c, di = (y * g.width + x) * c
                    for k in 0..<c { d[di + k] = s[si + k] }
                }
            }
        }
    }
    return out
}

/// Blending weight of position `i` of `n` along one axis: 1 inside, a linear ramp where a
/// neighbouring piece overlaps.
@inline(__always)
func ramp(_ i: Int, _ n: Int, before: Bool, after: Bool, overlap: Int) -> Float {
    guard overlap > 0 else { return 1 }
    var w: Float = 1
    if before { w = min(w, (Float(i) + 0.5) / Float(overlap)) }
    if after { w = min(w, (Float(n - i) - 0.5) / Float(overlap)) }
    return w
}

/// Accumulates piece outputs into the full image.
struct Assembler {
    let width: Int, height: Int, channels: Int, overlap: Int
    var sum: [Float]
    var weight: [Float]

    init(width: Int, height: Int, channels: Int, overlap: Int) {
        self.width = width
        self.height = height
        self.channels = channels
        self.overlap = overlap
        sum = [Float](repeating: 0, count: width * height * channels)
        weight = [Float](repeating: 0, count: width * height)
    }

    mutating func add(_ y: UnsafeBufferPointer<Float>, piece g: PieceGeometry) {
        let c = channels
        for yy in 0..<g.h {
            let wy = ramp(yy, g.h, before: g.top, after: g.bottom, overlap: overlap)
            for xx in 0..<g.w {
                let wgt = wy * ramp(xx, g.w, before: g.left, after: g.right, overlap: overlap)
                let si = ((yy + g.padTop) * g.width + (xx + g.padLeft)) * c
                let p = (g.y0 + yy) * width + (g.x0 + xx)
                for k in 0..<c { sum[p * c + k] += wgt * y[si + k] }
                weight[p] += wgt
            }
        }
    }

    func result() -> [Float] {
        var out = sum
        for p in 0..<(width * height) {
            let w = weight[p] > 0 ? weight[p] : 1
            for k in 0..<channels { out[p * channels + k] /= w }
        }
        return out
    }
}
