import XCTest
import ImageIO
@testable import Augment

final class PreprocessTests: XCTestCase {
    func gradient(_ w: Int, _ h: Int, channels: Int = 3) -> Image {
        var px = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0..<h { for x in 0..<w { for c in 0..<channels {
            px[(y * w + x) * channels + c] = UInt8((x * 7 + y * 3 + c * 50) % 256)
        } } }
        return Image(width: w, height: h, channels: channels, pixels8: px)
    }

    func run(_ o: AugmentOptions, _ img: Image, seed: UInt64 = 1) -> Image {
        var rng = SeededGenerator(seed: seed)
        let p = AugmentParams.sample(options: o, width: img.width, height: img.height, using: &rng)
        return p.apply(to: img, options: o)
    }

    func testOutputSizesOfEveryMode() {
        let img = gradient(300, 200)
        XCTAssertEqual(run(AugmentOptions(preprocess: .resizeAndCrop, loadSize: 286, cropSize: 256), img).width, 256)
        XCTAssertEqual(run(AugmentOptions(preprocess: .resizeAndCrop, loadSize: 286, cropSize: 256), img).height, 256)
        let r = run(AugmentOptions(preprocess: .resize, loadSize: 64, cropSize: 64), img)
        XCTAssertEqual([r.width, r.height], [64, 64])
        let c = run(AugmentOptions(preprocess: .crop, loadSize: 286, cropSize: 128), img)
        XCTAssertEqual([c.width, c.height], [128, 128])
        // scale_width: width = load size, height keeps the aspect ratio (at least the crop size).
        let sw = run(AugmentOptions(preprocess: .scaleWidth, loadSize: 150, cropSize: 64), img)
        XCTAssertEqual([sw.width, sw.height], [150, 100])
        let swMin = run(AugmentOptions(preprocess: .scaleWidth, loadSize: 150, cropSize: 120), img)
        XCTAssertEqual([swMin.width, swMin.height], [150, 120])
        let swc = run(AugmentOptions(preprocess: .scaleWidthAndCrop, loadSize: 150, cropSize: 64), img)
        XCTAssertEqual([swc.width, swc.height], [64, 64])
        // none: each side rounded to the nearest multiple of 4.
        let n = run(AugmentOptions(preprocess: .none, flip: false), gradient(103, 49))
        XCTAssertEqual([n.width, n.height], [104, 48])
        let same = gradient(64, 32)
        XCTAssertEqual(run(AugmentOptions(preprocess: .none, flip: false), same), same)
    }

    func testSameSeedSameBytesAndPairsShareTheTransform() {
        let o = AugmentOptions(preprocess: .resizeAndCrop, loadSize: 80, cropSize: 64)
        let a = gradient(120, 90), b = gradient(120, 90, channels: 1)
        XCTAssertEqual(run(o, a, seed: 7), run(o, a, seed: 7))
        // One sample, applied to both images of a pair: identical geometry.
        var flips = 0
        var crops = Set<[Int]>()
        for seed in 0..<40 as Range<UInt64> {
            var rng = SeededGenerator(seed: seed)
            let p = AugmentParams.sample(options: o, width: a.width, height: a.height, using: &rng)
            crops.insert([p.cropX, p.cropY])
            if p.flip { flips += 1 }
            let ta = p.apply(to: a, options: o), tb = p.apply(to: b, options: o)
            // b is a's first channel shifted by nothing: compare the geometry via the gray version of a.
            let aGray = p.apply(to: Image(width: a.width, height: a.height, channels: 1,
                                          pixels8: stride(from: 0, to: a.pixels8.count, by: 3).map { a.pixels8[$0] }), options: o)
            XCTAssertEqual(tb, aGray)
            XCTAssertEqual([ta.width, ta.height], [tb.width, tb.height])
        }
        XCTAssertGreaterThan(crops.count, 10, "crops should vary with the seed")
        XCTAssertTrue((8...32).contains(flips), "flip is a fair coin: \(flips)/40")
    }

    func testCropPositionsStayInRange() {
        let o = AugmentOptions(preprocess: .resizeAndCrop, loadSize: 286, cropSize: 256)
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<200 {
            let p = AugmentParams.sample(options: o, width: 500, height: 300, using: &rng)
            XCTAssertTrue((0...30).contains(p.cropX) && (0...30).contains(p.cropY))
        }
    }

    func testFlipCropAndSplit() {
        let img = gradient(6, 4)
        XCTAssertEqual(img.flippedHorizontally().flippedHorizontally(), img)
        let f = img.flippedHorizontally()
        XCTAssertEqual(Array(f.pixels8[0..<3]), Array(img.pixels8[15..<18]))
        let c = img.cropped(x: 2, y: 1, width: 3, height: 2)
        XCTAssertEqual(Array(c.pixels8[0..<3]), Array(img.pixels8[(1 * 6 + 2) * 3..<(1 * 6 + 2) * 3 + 3]))
        let (l, r) = img.splitHorizontally()
        XCTAssertEqual(Image.sideBySide(l, r), img)
    }

    func testNormalizationMatchesThePaperCode() {
        let px: [UInt8] = [0, 1, 127, 128, 254, 255]
        let img = Image(width: 6, height: 1, channels: 1, pixels8: px)
        let v = Normalization.toSignedUnit(img)
        XCTAssertEqual(v.first, -1)
        XCTAssertEqual(v.last, 1)
        for (i, p) in px.enumerated() { XCTAssertEqual(v[i], (Float(p) / 255 - 0.5) / 0.5) }
        // Rounding gives the samples back exactly; the paper code's truncation may lose one level.
        XCTAssertEqual(Normalization.toImage8(v, width: 6, height: 1, channels: 1, quantization: .round).pixels8, px)
        let t = Normalization.toImage8(v, width: 6, height: 1, channels: 1).pixels8
        for (a, b) in zip(t, px) { XCTAssertTrue(a == b || a + 1 == b) }
        // Out of range and NaN are clamped, never trap.
        let odd = Normalization.toImage8([-3, 5, .nan], width: 3, height: 1, channels: 1)
        XCTAssertEqual(odd.pixels8, [0, 255, 0])
    }

    func testGeneratorStateRoundTrips() {
        var g = SeededGenerator(seed: 42)
        _ = g.next()
        var h = SeededGenerator(state: g.state)
        XCTAssertEqual(g.next(), h.next())
        XCTAssertNotEqual(SeededGenerator(seed: 1, stream: 0, index: 0).state, SeededGenerator(seed: 1, stream: 0, index: 1).state)
    }
}
