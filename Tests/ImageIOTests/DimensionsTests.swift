import XCTest
@testable import ImageIO

/// `ImageDecoder.dimensions` reads the size from the header: it must equal the decoded size,
/// EXIF quarter turns included, and give nil (never trap) on anything else.
final class DimensionsTests: XCTestCase {
    func image(_ w: Int, _ h: Int, channels: Int = 3) -> Image {
        Image(width: w, height: h, channels: channels, pixels8: (0..<(w * h * channels)).map { UInt8($0 % 251) })
    }

    func testHeaderSizeEqualsDecodedSize() throws {
        for (w, h) in [(1, 1), (37, 5), (64, 48), (300, 2)] {
            for bytes in [try encodePNG(image(w, h)), try encodeJPEG(image(w, h)), try encodePNG(image(w, h, channels: 1))] {
                let d = try XCTUnwrap(ImageDecoder.dimensions(bytes))
                let decoded = try decodeImage(data: bytes)
                XCTAssertEqual([d.width, d.height], [decoded.width, decoded.height])
                XCTAssertEqual([d.width, d.height], [w, h])
            }
        }
    }

    func testExifQuarterTurnsSwapTheSize() throws {
        let jpeg = try encodeJPEG(image(40, 24))
        for o in 1...8 {
            let payload = exifApp1(orientation: o, bigEndian: o % 2 == 0)
            let n = payload.count + 2
            let segment: [UInt8] = [0xFF, 0xE1, UInt8(n >> 8), UInt8(n & 0xFF)] + payload
            let withExif: [UInt8] = Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
            let d = try XCTUnwrap(ImageDecoder.dimensions(withExif))
            let decoded: Image = try decodeImage(data: withExif)
            XCTAssertEqual([d.width, d.height], [decoded.width, decoded.height], "orientation \(o)")
            XCTAssertEqual(d.width, o >= 5 ? 24 : 40, "orientation \(o)")
        }
    }

    func testUnreadableHeadersGiveNil() throws {
        let png = try encodePNG(image(8, 8)), jpeg = try encodeJPEG(image(8, 8))
        XCTAssertNil(ImageDecoder.dimensions([]))
        XCTAssertNil(ImageDecoder.dimensions(Array("not an image at all".utf8)))
        XCTAssertNil(ImageDecoder.dimensions(Array(png.prefix(20))))
        XCTAssertNil(ImageDecoder.dimensions(Array(jpeg.prefix(4))))
        var zero = png; for i in 16..<20 { zero[i] = 0 }
        XCTAssertNil(ImageDecoder.dimensions(zero))
        XCTAssertNil(ImageDecoder.dimensions(atPath: "/nonexistent/x.png"))
        // Every prefix and a sweep of corruptions: no trap.
        for k in 0..<jpeg.count { _ = ImageDecoder.dimensions(Array(jpeg.prefix(k))) }
        var g = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var b = Bool.random(using: &g) ? jpeg : png
            for _ in 0..<4 { b[Int.random(in: 0..<b.count, using: &g)] = UInt8.random(in: 0...255, using: &g) }
            _ = ImageDecoder.dimensions(b)
        }
    }
}
