// What the FID Inception network sees: an RGB image at 299x299, as the reference tools make it.
//
//   legacy (pytorch-fid, the CUT paper's numbers): pixels / 255, then F.interpolate(size=299,
//          mode="bilinear", align_corners=False) (no antialiasing), then 2x - 1
//   clean  (clean-fid's "clean" mode): each channel as a float32 Pillow image of the 0-255
//          values, resized with BICUBIC (antialiased), clipped to 0...255, then (x - 128) / 128
//          as clean-fid's Inception does
import Augment
import ImageIO

public enum FIDResize: String, Sendable, CaseIterable {
    case legacy, clean
}

/// The network input of one image: NHWC [299, 299, 3] floats.
public func fidInput(_ image: Image, resize: FIDResize, side: Int = 299) -> [Float] {
    let rgb = image.toRGB8()
    let (w, h) = (rgb.width, rgb.height)
    let px = rgb.pixels8
    var out = [Float](repeating: 0, count: side * side * 3)
    switch resize {
    case .legacy:
        // F.interpolate, bilinear, align_corners=False: source = (i + 0.5) * in / out - 0.5,
        // clamped at 0, with the upper neighbour clamped at the edge.
        func taps(_ inSize: Int) -> [(Int, Int, Float)] {
            let scale = Float(inSize) / Float(side)
            return (0..<side).map { i in
                let s = max(0, (Float(i) + 0.5) * scale - 0.5)
                let i0 = min(Int(s), inSize - 1)
                let i1 = min(i0 + 1, inSize - 1)
                return (i0, i1, s - Float(i0))
            }
        }
        let xs = taps(w), ys = taps(h)
        for (oy, (y0, y1, fy)) in ys.enumerated() {
            for (ox, (x0, x1, fx)) in xs.enumerated() {
                for c in 0..<3 {
                    func p(_ y: Int, _ x: Int) -> Float { Float(px[(y * w + x) * 3 + c]) / 255 }
                    let top = p(y0, x0) * (1 - fx) + p(y0, x1) * fx
                    let bottom = p(y1, x0) * (1 - fx) + p(y1, x1) * fx
                    out[(oy * side + ox) * 3 + c] = 2 * (top * (1 - fy) + bottom * fy) - 1
                }
            }
        }
    case .clean:
        for c in 0..<3 {
            let plane = (0..<(w * h)).map { Float(px[$0 * 3 + c]) }
            let r = pillowResizeFloat(plane, width: w, height: h, newWidth: side, newHeight: side, filter: .bicubic)
            for i in 0..<(side * side) { out[i * 3 + c] = (min(max(r[i], 0), 255) - 128) / 128 }
        }
    }
    return out
}
