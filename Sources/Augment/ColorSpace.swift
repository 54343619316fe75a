// CIE Lab (D65) as the paper code's colorization model reads and writes it, through
// scikit-image's rgb2lab / lab2rgb: sRGB gamma, the sRGB-to-XYZ matrix, D65 white.
//   rgb [0, 1] -> Lab: L in [0, 100], a and b about [-110, 110]
//   The colorization networks see L / 50 - 1 (in [-1, 1]) and predict ab / 110.
// Computed in Double, as scikit-image's float64.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Lab {
    /// scikit-image's xyz_from_rgb.
    static let xyzFromRGB: [[Double]] = [[0.412453, 0.357580, 0.180423],
                                         [0.212671, 0.715160, 0.072169],
                                         [0.019334, 0.119193, 0.950227]]
    /// Its inverse (scikit-image's rgb_from_xyz, linalg.inv of the above).
    static let rgbFromXYZ: [[Double]] = {
        let m = xyzFromRGB
        let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        return [[(m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det, (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det,
                 (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det],
                [(m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det, (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det,
                 (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det],
                [(m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det, (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det,
                 (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det]]
    }()
    /// The D65 white point (2-degree observer), scikit-image's default illuminant.
    static let white = (x: 0.95047, y: 1.0, z: 1.08883)

    /// sRGB in [0, 1] to (L, a, b).
    public static func fromRGB(_ r: Double, _ g: Double, _ b: Double) -> (l: Double, a: Double, b: Double) {
        func linear(_ c: Double) -> Double { c > 0.04045 ? pow((c + 0.055) / 1.055, 2.4) : c / 12.92 }
        let (lr, lg, lb) = (linear(r), linear(g), linear(b))
        let m = xyzFromRGB
        let x = (m[0][0] * lr + m[0][1] * lg + m[0][2] * lb) / white.x
        let y = (m[1][0] * lr + m[1][1] * lg + m[1][2] * lb) / white.y
        let z = (m[2][0] * lr + m[2][1] * lg + m[2][2] * lb) / white.z
        func f(_ t: Double) -> Double { t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0 }
        let (fx, fy, fz) = (f(x), f(y), f(z))
        return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))
    }

    /// (L, a, b) to sRGB, clipped to [0, 1] as scikit-image's lab2rgb.
    public static func toRGB(_ l: Double, _ a: Double, _ b: Double) -> (r: Double, g: Double, b: Double) {
        let fy = (l + 16) / 116
        let fx = a / 500 + fy
        let fz = max(fy - b / 200, 0)  // scikit-image clips negative z
        func finv(_ t: Double) -> Double { t > 0.2068966 ? t * t * t : (t - 16.0 / 116.0) / 7.787 }
        let x = finv(fx) * white.x, y = finv(fy) * white.y, z = finv(fz) * white.z
        let m = rgbFromXYZ
        func gamma(_ c: Double) -> Double {
            let v = c > 0.0031308 ? 1.055 * pow(c, 1 / 2.4) - 0.055 : 12.92 * c
            return min(max(v, 0), 1)
        }
        return (gamma(m[0][0] * x + m[0][1] * y + m[0][2] * z), gamma(m[1][0] * x + m[1][1] * y + m[1][2] * z),
                gamma(m[2][0] * x + m[2][1] * y + m[2][2] * z))
    }

    /// Interleaved RGB in [-1, 1] (pixels x 3) to the colorization networks' input L / 50 - 1
    /// (pixels) and target ab / 110 (pixels x 2).
    public static func splitSignedRGB(_ rgb: UnsafeBufferPointer<Float>) -> (l: [Float], ab: [Float]) {
        let n = rgb.count / 3
        var l = [Float](repeating: 0, count: n), ab = [Float](repeating: 0, count: 2 * n)
        for i in 0..<n {
            let c = fromRGB((Double(rgb[3 * i]) + 1) / 2, (Double(rgb[3 * i + 1]) + 1) / 2, (Double(rgb[3 * i + 2]) + 1) / 2)
            l[i] = Float(c.l / 50 - 1)
            ab[2 * i] = Float(c.a / 110); ab[2 * i + 1] = Float(c.b / 110)
        }
        return (l, ab)
    }

    /// The inverse: L / 50 - 1 (pixels) and ab / 110 (pixels x 2) to RGB in [-1, 1] (pixels x 3).
    public static func signedRGB(l: UnsafeBufferPointer<Float>, ab: UnsafeBufferPointer<Float>) -> [Float] {
        let n = l.count
        precondition(ab.count == 2 * n, "Lab.signedRGB: \(n) L values, \(ab.count) ab values")
        var rgb = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n {
            let c = toRGB((Double(l[i]) + 1) * 50, Double(ab[2 * i]) * 110, Double(ab[2 * i + 1]) * 110)
            rgb[3 * i] = Float(c.r * 2 - 1); rgb[3 * i + 1] = Float(c.g * 2 - 1); rgb[3 * i + 2] = Float(c.b * 2 - 1)
        }
        return rgb
    }
}
