// Naive Double references: the oracles of OpTestCase. Written from the definitions
// (PyTorch semantics), in NHWC, with no attempt at speed.
import Foundation

enum Reference {
    /// x: [N,H,W,C]  w: [KH,KW,C,OC]  b: [OC]  -> [N,OH,OW,OC]
    static func conv(_ x: [Double], _ w: [Double], _ b: [Double]?, n: Int, h: Int, w W: Int, c: Int,
                     kh: Int, kw: Int, oc: Int, stride: (Int, Int), pad: (t: Int, l: Int, b: Int, r: Int)) -> [Double] {
        let oh = (h + pad.t + pad.b - kh) / stride.0 + 1, ow = (W + pad.l + pad.r - kw) / stride.1 + 1
        var y = [Double](repeating: 0, count: n * oh * ow * oc)
        for ni in 0..<n { for i in 0..<oh { for j in 0..<ow { for o in 0..<oc {
            var s = b?[o] ?? 0
            for a in 0..<kh { for bb in 0..<kw {
                let hi = i * stride.0 - pad.t + a, wi = j * stride.1 - pad.l + bb
                if hi < 0 || hi >= h || wi < 0 || wi >= W { continue }
                for ci in 0..<c { s += x[((ni * h + hi) * W + wi) * c + ci] * w[((a * kw + bb) * c + ci) * oc + o] }
            } }
            y[((ni * oh + i) * ow + j) * oc + o] = s
        } } } }
        return y
    }

    /// PyTorch ConvTranspose2d in NHWC. u: [N,Hi,Wi,Cin]  w: [KH,KW,Cout,Cin]  -> [N,Ho,Wo,Cout]
    static func convTranspose(_ u: [Double], _ w: [Double], _ b: [Double]?, n: Int, hi: Int, wi: Int, cin: Int,
                              cout: Int, k: Int, stride: Int, pad: Int, outPad: Int) -> [Double] {
        let ho = (hi - 1) * stride - 2 * pad + k + outPad, wo = (wi - 1) * stride - 2 * pad + k + outPad
        var v = [Double](repeating: 0, count: n * ho * wo * cout)
        for ni in 0..<n { for i in 0..<ho { for j in 0..<wo { for co in 0..<cout {
            v[((ni * ho + i) * wo + j) * cout + co] = b?[co] ?? 0
        } } } }
        for ni in 0..<n { for i in 0..<hi { for j in 0..<wi { for a in 0..<k { for bb in 0..<k {
            let oi = i * stride - pad + a, oj = j * stride - pad + bb
            if oi < 0 || oi >= ho || oj < 0 || oj >= wo { continue }
            for co in 0..<cout { for ci in 0..<cin {
                v[((ni * ho + oi) * wo + oj) * cout + co] += u[((ni * hi + i) * wi + j) * cin + ci] * w[((a * k + bb) * cout + co) * cin + ci]
            } }
        } } } } }
        return v
    }

    /// Normalization of x viewed as [G, M, C] over M (instance norm: G = N; batch norm: G = 1).
    static func norm(_ x: [Double], g: Int, m: Int, c: Int, gamma: [Double]?, beta: [Double]?, eps: Double = 1e-5) -> [Double] {
        var y = x
        for gi in 0..<g { for ci in 0..<c {
            var mu = 0.0
            for mi in 0..<m { mu += x[(gi * m + mi) * c + ci] }
            mu /= Double(m)
            var v = 0.0
            for mi in 0..<m { let d = x[(gi * m + mi) * c + ci] - mu; v += d * d }
            v /= Double(m)
            for mi in 0..<m {
                let i = (gi * m + mi) * c + ci
                y[i] = (x[i] - mu) / (v + eps).squareRoot() * (gamma?[ci] ?? 1) + (beta?[ci] ?? 0)
            }
        } }
        return y
    }

    enum PadMode { case zero, reflect, replicate }

    static func pad(_ x: [Double], n: Int, h: Int, w: Int, c: Int, t: Int, l: Int, b: Int, r: Int, mode: PadMode) -> [Double] {
        let oh = h + t + b, ow = w + l + r
        func src(_ i: Int, _ size: Int) -> Int? {
            switch mode {
            case .zero: return (0..<size).contains(i) ? i : nil
            case .replicate: return min(max(i, 0), size - 1)
            case .reflect: return i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i)
            }
        }
        var y = [Double](repeating: 0, count: n * oh * ow * c)
        for ni in 0..<n { for i in 0..<oh { for j in 0..<ow {
            guard let si = src(i - t, h), let sj = src(j - l, w) else { continue }
            for ci in 0..<c { y[((ni * oh + i) * ow + j) * c + ci] = x[((ni * h + si) * w + sj) * c + ci] }
        } } }
        return y
    }

    /// F.interpolate: nearest, or bilinear with align_corners.
    static func upsample(_ x: [Double], n: Int, h: Int, w: Int, c: Int, oh: Int, ow: Int,
                         bilinear: Bool, alignCorners: Bool) -> [Double] {
        func coord(_ d: Int, _ inS: Int, _ outS: Int) -> (Int, Int, Double) {
            if !bilinear { let s = min(Int(floor(Double(d) * Double(inS) / Double(outS))), inS - 1); return (s, s, 0) }
            let s: Double = alignCorners ? (outS > 1 ? Double(d) * Double(inS - 1) / Double(outS - 1) : 0)
                                         : max(0, (Double(d) + 0.5) * Double(inS) / Double(outS) - 0.5)
            let i0 = min(Int(floor(s)), inS - 1)
            return (i0, min(i0 + 1, inS - 1), s - Double(i0))
        }
        var y = [Double](repeating: 0, count: n * oh * ow * c)
        for ni in 0..<n { for i in 0..<oh { for j in 0..<ow {
            let (h0, h1, lh) = coord(i, h, oh), (w0, w1, lw) = coord(j, w, ow)
            for ci in 0..<c {
                func at(_ a: Int, _ b: Int) -> Double { x[((ni * h + a) * w + b) * c + ci] }
                y[((ni * oh + i) * ow + j) * c + ci] = (1 - lh) * ((1 - lw) * at(h0, w0) + lw * at(h0, w1))
                    + lh * ((1 - lw) * at(h1, w0) + lw * at(h1, w1))
            }
        } } }
        return y
    }

    /// x: [N,in]  w: [out,in]  b: [out]
    static func linear(_ x: [Double], _ w: [Double], _ b: [Double]?, n: Int, inF: Int, outF: Int) -> [Double] {
        var y = [Double](repeating: 0, count: n * outF)
        for i in 0..<n { for o in 0..<outF {
            var s = b?[o] ?? 0
            for k in 0..<inF { s += x[i * inF + k] * w[o * inF + k] }
            y[i * outF + o] = s
        } }
        return y
    }

    static func leaky(_ x: [Double], _ slope: Double) -> [Double] { x.map { $0 > 0 ? $0 : slope * $0 } }
}
