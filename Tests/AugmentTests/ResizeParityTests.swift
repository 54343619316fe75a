import XCTest
import ImageIO
@testable import Augment
import _TestSupport

/// Resize against Pillow. Fixtures: `python3 tools/make_augment_fixtures.py` (Pillow 13.0.0),
/// which resizes `resize_src_*.png` with Image.resize and saves `resize_<src>_<W>x<H>_<filter>.png`.
/// Tolerance: 1 level of 255 (the bar); today every case matches exactly.
final class ResizeParityTests: XCTestCase {
    static let fixtures = TestPaths.fixtures()

    func fixture(_ name: String) throws -> Image {
        try readImage(at: Self.fixtures.appendingPathComponent(name).path)
    }

    func testMatchesPillowWithinOneLevel() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path)
            .filter { $0.hasPrefix("resize_") && !$0.hasPrefix("resize_src") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 8, "fixtures missing")
        var exact = 0
        for f in files {
            // resize_<src>_<W>x<H>_<filter>.png
            let parts = f.dropLast(4).split(separator: "_")
            let src = try fixture("resize_src_\(parts[1]).png")
            let dims = parts[2].split(separator: "x").map { Int($0)! }
            let filter = ResizeFilter(rawValue: String(parts[3]))!
            let want = try fixture(f)
            let got = src.resized(width: dims[0], height: dims[1], filter: filter)
            XCTAssertEqual(got.width, want.width, f)
            XCTAssertEqual(got.height, want.height, f)
            XCTAssertEqual(got.channels, want.channels, f)
            let g = got.pixels8, w = want.pixels8
            var maxDiff = 0
            for i in 0..<min(g.count, w.count) { maxDiff = max(maxDiff, abs(Int(g[i]) - Int(w[i]))) }
            XCTAssertLessThanOrEqual(maxDiff, 1, "\(f): max difference \(maxDiff) levels")
            if maxDiff == 0 { exact += 1 }
        }
        print("resize parity: \(files.count) Pillow cases, \(exact) bit-exact, all within 1 level")
    }

    func testSixteenBitResizeTracksEightBit() throws {
        let src8 = try fixture("resize_src_rgb.png")
        let r8 = src8.resized(width: 23, height: 17, filter: .bicubic).pixels8
        let r16 = src8.to16Bit().resized(width: 23, height: 17, filter: .bicubic).to8Bit().pixels8
        // The 8-bit path rounds between its passes (as Pillow does), the 16-bit one keeps floats:
        // they agree to a few levels, and on average to well under one.
        var total = 0
        for i in 0..<r8.count {
            let d = abs(Int(r8[i]) - Int(r16[i]))
            XCTAssertLessThanOrEqual(d, 4)
            total += d
        }
        XCTAssertLessThan(Double(total) / Double(r8.count), 0.5)
    }

    func testNearestNeverBlends() {
        let px: [UInt8] = [0, 10, 20, 30, 40, 50]
        let img = Image(width: 3, height: 2, channels: 1, pixels8: px)
        let big = img.resized(width: 7, height: 5, filter: .nearest)
        XCTAssertTrue(big.pixels8.allSatisfy { px.contains($0) })
        XCTAssertEqual(big.pixels8.first, 0)
        XCTAssertEqual(big.pixels8.last, 50)
    }
}
