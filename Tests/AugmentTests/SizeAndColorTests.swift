import XCTest
import ImageIO
@testable import Augment

final class SizeAndColorTests: XCTestCase {
    func gradient(_ w: Int, _ h: Int) -> Image {
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for i in px.indices { px[i] = UInt8((i * 37) % 256) }
        return Image(width: w, height: h, channels: 3, pixels8: px)
    }

    /// `outputSize` is what `apply` gives, for every mode and for sizes around the crop and
    /// load sizes (the start-of-training size check relies on it).
    func testOutputSizeIsTheAppliedSize() {
        for mode in Preprocess.allCases {
            for multiple in [nil, 4] as [Int?] {
                let o = AugmentOptions(preprocess: mode, loadSize: 40, cropSize: 32, flip: true, scaledHeightMultiple: multiple)
                for (w, h) in [(20, 20), (32, 32), (33, 50), (40, 29), (57, 41), (64, 17), (30, 90)] {
                    var rng = SeededGenerator(seed: UInt64(w * h))
                    let p = AugmentParams.sample(options: o, width: w, height: h, using: &rng)
                    let out = p.apply(to: gradient(w, h), options: o)
                    let s = o.outputSize(width: w, height: h)
                    XCTAssertEqual([s.width, s.height], [out.width, out.height], "\(mode) \(String(describing: multiple)) \(w)x\(h)")
                }
            }
        }
    }

    /// scale_width rounds the scaled height to the networks' multiple only when asked.
    func testScaleWidthRoundsItsHeightWhenAsked() {
        let img = gradient(300, 203)  // 150 wide: 101 high
        let plain = AugmentOptions(preprocess: .scaleWidth, loadSize: 150, cropSize: 64, flip: false)
        var rng = SeededGenerator(seed: 1)
        let p = AugmentParams.sample(options: plain, width: 300, height: 203, using: &rng)
        XCTAssertEqual(p.apply(to: img, options: plain).height, 101)
        var rounded = plain; rounded.scaledHeightMultiple = 4
        XCTAssertEqual(p.apply(to: img, options: rounded).height, 100)
    }

    /// The values scikit-image 0.26.0's rgb2lab and lab2rgb print (the paper code's colorization
    /// dataset and model use them), float64.
    func testLabMatchesScikitImage() {
        let cases: [((Double, Double, Double), (Double, Double, Double))] = [
            ((1, 1, 1), (100, -0.00245, 0.00465)), ((0, 0, 0), (0, 0, 0)),
            ((1, 0, 0), (53.24059, 80.09231, 67.20275)), ((0, 1, 0), (87.7351, -86.18303, 83.1797)),
            ((0, 0, 1), (32.29567, 79.18559, -107.8573)), ((0.2, 0.5, 0.7), (50.97204, -6.39818, -33.70932)),
        ]
        for (rgb, lab) in cases {
            let c = Lab.fromRGB(rgb.0, rgb.1, rgb.2)
            XCTAssertEqual(c.l, lab.0, accuracy: 1e-4, "\(rgb)"); XCTAssertEqual(c.a, lab.1, accuracy: 1e-4, "\(rgb)")
            XCTAssertEqual(c.b, lab.2, accuracy: 1e-4, "\(rgb)")
        }
        let back = Lab.toRGB(50, 20, -30)
        XCTAssertEqual(back.r, 0.49636144, accuracy: 1e-6); XCTAssertEqual(back.g, 0.42925764, accuracy: 1e-6)
        XCTAssertEqual(back.b, 0.6668389, accuracy: 1e-6)
    }

    /// RGB -> (L, ab) at the networks' scales -> RGB is the identity up to float rounding; a
    /// wrong ab (the feature off) is not.
    func testLabRoundTrip() {
        var g = SeededGenerator(seed: 9)
        let rgb = (0..<300).map { _ in Float.random(in: -1...1, using: &g) }
        let (l, ab) = rgb.withUnsafeBufferPointer { Lab.splitSignedRGB($0) }
        XCTAssertTrue(l.allSatisfy { (-1.0001...1.0001).contains($0) })
        let back = l.withUnsafeBufferPointer { lp in ab.withUnsafeBufferPointer { Lab.signedRGB(l: lp, ab: $0) } }
        XCTAssertEqual(zip(rgb, back).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-4)
        let gray = [Float](repeating: 0, count: ab.count)
        let grayBack = l.withUnsafeBufferPointer { lp in gray.withUnsafeBufferPointer { Lab.signedRGB(l: lp, ab: $0) } }
        XCTAssertGreaterThan(zip(rgb, grayBack).map { abs($0 - $1) }.max()!, 0.3)
    }
}
