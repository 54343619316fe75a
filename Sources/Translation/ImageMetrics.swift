import ImageIO

/// Image-quality figures for paired test sets (output against ground truth), on 8-bit images
/// of equal size and channel count.
public enum ImageMetrics {
    /// Mean absolute difference, in [0, 1] (levels / 255).
    public static func l1(_ a: Image, _ b: Image) -> Double {
        let (x, y) = pixels(a, b)
        var s = 0.0
        for i in 0..<x.count { s += abs(Double(x[i]) - Double(y[i])) }
        return s / Double(max(x.count, 1)) / 255
    }

    /// Peak signal-to-noise ratio in dB for 8-bit images (infinite when identical).
    public static func psnr(_ a: Image, _ b: Image) -> Double {
        let (x, y) = pixels(a, b)
        var s = 0.0
        for i in 0..<x.count { let d = Double(x[i]) - Double(y[i]); s += d * d }
        let mse = s / Double(max(x.count, 1))
        return mse == 0 ? .infinity : 10 * _log10(255 * 255 / mse)
    }

    /// Structural similarity (Wang et al. 2004): 11x11 Gaussian window with sigma 1.5,
    /// K1 = 0.01, K2 = 0.03, L = 255, computed per channel over the valid region and averaged
    /// (as scikit-image's `structural_similarity(..., gaussian_weights=True)`).
    public static func ssim(_ a: Image, _ b: Image) -> Double {
        let (x, y) = pixels(a, b)
        let w = a.width, h = a.height, c = a.channels
        let r = 5
        guard w > 2 * r, h > 2 * r else { return x == y ? 1 : 0 }
        var g = [Double](repeating: 0, count: 2 * r + 1)
        for i in -r...r { g[i + r] = _exp(-Double(i * i) / (2 * 1.5 * 1.5)) }
        let gs = g.reduce(0, +)
        g = g.map { $0 / gs }
        let c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255)
        var total = 0.0
        for ch in 0..<c {
            // Separable blur of x, y, x^2, y^2, xy.
            func plane(_ f: (Double, Double) -> Double) -> [Double] {
                var p = [Double](repeating: 0, count: w * h)
                for i in 0..<(w * h) { p[i] = f(Double(x[i * c + ch]), Double(y[i * c + ch])) }
                return p
            }
            func blur(_ p: [Double]) -> [Double] {
                var t = [Double](repeating: 0, count: w * h)
                for yy in 0..<h { for xx in r..<(w - r) {
                    var s = 0.0
                    for k in -r...r { s += g[k + r] * p[yy * w + xx + k] }
                    t[yy * w + xx] = s
                } }
                var o = [Double](repeating: 0, count: w * h)
                for yy in r..<(h - r) { for xx in r..<(w - r) {
                    var s = 0.0
                    for k in -r...r { s += g[k + r] * t[(yy + k) * w + xx] }
                    o[yy * w + xx] = s
                } }
                return o
            }
            let mx = blur(plane { a, _ in a }), my = blur(plane { _, b in b })
            let sxx = blur(plane { a, _ in a * a }), syy = blur(plane { _, b in b * b }), sxy = blur(plane { a, b in a * b })
            var s = 0.0
            var n = 0
            for yy in r..<(h - r) { for xx in r..<(w - r) {
                let i = yy * w + xx
                let vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cxy = sxy[i] - mx[i] * my[i]
                s += ((2 * mx[i] * my[i] + c1) * (2 * cxy + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
                n += 1
            } }
            total += s / Double(n)
        }
        return total / Double(c)
    }

    static func pixels(_ a: Image, _ b: Image) -> ([UInt8], [UInt8]) {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels,
                     "metrics need images of one size and channel count")
        return (a.to8Bit().pixels8, b.to8Bit().pixels8)
    }
}

#if canImport(Glibc)
import Glibc
private func _log10(_ x: Double) -> Double { Glibc.log10(x) }
private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Darwin)
import Darwin
private func _log10(_ x: Double) -> Double { Darwin.log10(x) }
private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
