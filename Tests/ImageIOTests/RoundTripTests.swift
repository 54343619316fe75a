import Foundation
import XCTest
@testable import ImageIO

/// Encode -> decode, format detection, the bomb guard and truncation modes.
final class RoundTripTests: XCTestCase {
    /// A deterministic test pattern: gradients plus a hash, so every sample
    /// value range is exercised and rows differ.
    func pattern8(width: Int, height: Int, channels: Int) -> Image {
        var a = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    let h = (x &* 73 &+ y &* 151 &+ c &* 29) & 0xFF
                    a[(y * width + x) * channels + c] = UInt8((x * 255 / max(width - 1, 1) + h) / 2 & 0xFF)
                }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels8: a)
    }

    func pattern16(width: Int, height: Int, channels: Int) -> Image {
        var a = [UInt16](repeating: 0, count: width * height * channels)
        for i in a.indices { a[i] = UInt16(truncatingIfNeeded: i &* 40_503 &+ (i >> 3) &* 977) }
        return Image(width: width, height: height, channels: channels, pixels16: a)
    }

    func testPNGRoundTripEveryLayout() throws {
        for channels in 1...4 {
            for (w, h) in [(1, 1), (7, 5), (33, 17)] {
                let i8 = pattern8(width: w, height: h, channels: channels)
                let png8 = try encodePNG(i8)
                XCTAssertEqual(ImageFormat.detect(png8), .png)
                XCTAssertEqual(try decodeImage(data: png8), i8, "8-bit, \(channels) channels, \(w)x\(h)")

                let i16 = pattern16(width: w, height: h, channels: channels)
                let png16 = try encodePNG(i16, compressionLevel: 9)
                XCTAssertEqual(try decodeImage(data: png16), i16, "16-bit, \(channels) channels, \(w)x\(h)")
            }
        }
    }

    func testJPEGRoundTripIsCloseAtQuality95() throws {
        // A smooth image (JPEG's friend): max error stays small.
        let w = 64, h = 48
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                rgb[(y * w + x) * 3] = UInt8(x * 4)
                rgb[(y * w + x) * 3 + 1] = UInt8(y * 5)
                rgb[(y * w + x) * 3 + 2] = UInt8((x + y) * 2)
            }
        }
        let image = Image(width: w, height: h, channels: 3, pixels8: rgb)
        let jpeg = try encodeJPEG(image, quality: 95)
        XCTAssertEqual(ImageFormat.detect(jpeg), .jpeg)
        let back = try decodeImage(data: jpeg)
        let d = try XCTUnwrap(diff8(back, image))
        XCTAssertLessThanOrEqual(d.maxAbs, 6, "\(d)")
        XCTAssertLessThanOrEqual(d.meanAbs, 1.0, "\(d)")

        // Gray stays gray; alpha is composited, 16-bit rounded.
        let gray = Image(width: w, height: h, channels: 1, pixels8: rgb.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
        let grayBack = try decodeImage(data: try encodeJPEG(gray, quality: 95))
        XCTAssertEqual(grayBack.channels, 1)
        XCTAssertLessThanOrEqual(try XCTUnwrap(diff8(grayBack, gray)).maxAbs, 4)
        let rgba16 = image.addingAlpha().to16Bit()
        let rgbaBack = try decodeImage(data: try encodeJPEG(rgba16, quality: 95))
        XCTAssertEqual(shape(rgbaBack), "64x48x3@8")
        XCTAssertLessThanOrEqual(try XCTUnwrap(diff8(rgbaBack, image)).maxAbs, 6)
    }

    func testFormatIsDetectedByContentNotName() throws {
        let dir = try tempDir()
        let image = pattern8(width: 9, height: 4, channels: 3)
        let path = dir + "/actually-a-png.jpg"
        try writeImage(image, to: path, format: .png)
        let decoded = try ImageDecoder.decodeFile(at: path)
        XCTAssertEqual(decoded.format, .png)
        XCTAssertEqual(decoded.image, image)
        // And a text file called .png is not an image.
        let fake = dir + "/notes.png"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: fake))
        XCTAssertThrowsError(try readImage(at: fake)) { e in
            let err = e as! ImageIOError
            XCTAssertEqual(err.kind, .notAnImage)
            XCTAssertTrue(err.description.hasPrefix("\(fake): not a PNG or JPEG image"), err.description)
        }
        XCTAssertEqual(ImageFormat.detect([0xFF, 0xD8, 0xFF, 0xE0]), .jpeg)
        XCTAssertNil(ImageFormat.detect([0x89, 0x50, 0x4E]))
        XCTAssertNil(ImageFormat.detect([UInt8]()))
    }

    func testWriteImageIsAtomicAndNamesFormatByExtension() throws {
        let dir = try tempDir()
        let image = pattern8(width: 5, height: 5, channels: 4)
        try writeImage(image, to: dir + "/a.png")
        try writeImage(image.droppingAlpha(), to: dir + "/b.JPEG")
        XCTAssertEqual(try readImage(at: dir + "/a.png"), image)
        XCTAssertEqual(try ImageDecoder.decodeFile(at: dir + "/b.JPEG").format, .jpeg)
        // Overwrite in place; no temporary files are left behind.
        try writeImage(image.to16Bit(), to: dir + "/a.png")
        XCTAssertEqual(try readImage(at: dir + "/a.png"), image.to16Bit())
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(names, ["a.png", "b.JPEG"])
        XCTAssertThrowsError(try writeImage(image, to: dir + "/c.bmp")) { e in
            XCTAssertEqual((e as! ImageIOError).kind, .unsupported)
        }
        XCTAssertThrowsError(try writeImage(image, to: dir + "/no/such/folder/d.png")) { e in
            let err = e as! ImageIOError
            XCTAssertEqual(err.kind, .io)
            XCTAssertEqual(err.path, dir + "/no/such/folder/d.png")
        }
    }

    /// A PNG whose IHDR claims 100,000 x 100,000 pixels (10^10, about 30 GB of
    /// RGB) is refused from its header, before anything is allocated.
    func testBombGuardRefusesHugePNGBeforeAllocating() throws {
        func png(width: UInt32, height: UInt32) -> [UInt8] {
            let ihdr = be32(width) + be32(height) + [8, 2, 0, 0, 0]
            return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", ihdr)
                + pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + pngChunk("IEND", [])
        }
        let t0 = Date()
        XCTAssertThrowsError(try decodeImage(data: png(width: 100_000, height: 100_000))) { e in
            let err = e as! ImageIOError
            XCTAssertEqual(err.kind, .tooLarge)
            XCTAssertTrue(err.message.contains("10000000000 pixels"), err.message)
        }
        XCTAssertLessThan(Date().timeIntervalSince(t0), 0.5)
        // The caller sets the limit: 2000 x 2000 passes the default guard (and then
        // fails on its missing data), but not a 1-megapixel limit.
        let medium = png(width: 2000, height: 2000)
        XCTAssertThrowsError(try decodeImage(data: medium, options: DecodingOptions(maxPixels: 1_000_000))) { e in
            XCTAssertEqual((e as! ImageIOError).kind, .tooLarge)
        }
        XCTAssertThrowsError(try decodeImage(data: medium)) { e in
            XCTAssertNotEqual((e as! ImageIOError).kind, .tooLarge)
        }
    }

    /// The same for JPEG: the SOF of a small JPEG patched to 60000 x 60000.
    func testBombGuardRefusesHugeJPEG() throws {
        var jpeg = try encodeJPEG(pattern8(width: 16, height: 16, channels: 3), quality: 80)
        let sof = try XCTUnwrap((0..<(jpeg.count - 9)).first { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC1) })
        // FF C0, length(2), precision(1), height(2), width(2)
        jpeg[sof + 5] = 0xEA; jpeg[sof + 6] = 0x60
        jpeg[sof + 7] = 0xEA; jpeg[sof + 8] = 0x60
        XCTAssertThrowsError(try decodeImage(data: jpeg)) { e in
            XCTAssertEqual((e as! ImageIOError).kind, .tooLarge, "\(e)")
        }
    }

    /// The decoded-size cap: counts channels and bytes per sample (a 16-bit RGBA PNG takes 8 bytes
    /// a pixel), for PNG and JPEG, and says the sizes in its message.
    func testDecodedByteCap() throws {
        let rgba16 = try encodePNG(pattern16(width: 100, height: 50, channels: 4))   // 40,000 bytes decoded
        XCTAssertNoThrow(try decodeImage(data: rgba16, options: DecodingOptions(maxDecodedBytes: 40_000)))
        XCTAssertThrowsError(try decodeImage(data: rgba16, options: DecodingOptions(maxDecodedBytes: 39_999))) { e in
            let err = e as! ImageIOError
            XCTAssertEqual(err.kind, .tooLarge)
            XCTAssertTrue(err.message.contains("100x50 at 8 bytes per pixel"), err.message)
        }
        let gray8 = try encodePNG(pattern8(width: 100, height: 50, channels: 1))      // 5,000 bytes
        XCTAssertNoThrow(try decodeImage(data: gray8, options: DecodingOptions(maxDecodedBytes: 5_000)))
        let jpeg = try encodeJPEG(pattern8(width: 64, height: 32, channels: 3), quality: 90)  // 6,144 bytes
        XCTAssertNoThrow(try decodeImage(data: jpeg, options: DecodingOptions(maxDecodedBytes: 6_144)))
        XCTAssertThrowsError(try decodeImage(data: jpeg, options: DecodingOptions(maxDecodedBytes: 6_143))) { e in
            XCTAssertEqual((e as! ImageIOError).kind, .tooLarge, "\(e)")
        }
    }

    func testTruncatedJPEGStrictByDefaultLenientOnRequest() throws {
        let image = pattern8(width: 64, height: 64, channels: 3)
        let jpeg = try encodeJPEG(image, quality: 90)
        let cut = Array(jpeg.prefix(jpeg.count * 2 / 3))
        XCTAssertThrowsError(try decodeImage(data: cut)) { e in
            let err = e as! ImageIOError
            XCTAssertEqual(err.kind, .truncated)
            XCTAssertEqual(err.description, "truncated JPEG data: Premature end of JPEG file")
        }
        let lenient = try ImageDecoder.decode(cut, options: .lenient)
        XCTAssertTrue(lenient.isTruncated)
        XCTAssertGreaterThanOrEqual(lenient.warningCount, 1)
        XCTAssertEqual(shape(lenient.image), "64x64x3@8")
        // The complete file has no warnings.
        let full = try ImageDecoder.decode(jpeg)
        XCTAssertFalse(full.isTruncated)
        XCTAssertEqual(full.warnings, [])
        // A truncated PNG always fails.
        let png = try encodePNG(image)
        XCTAssertThrowsError(try decodeImage(data: Array(png.prefix(png.count / 2)), options: .lenient)) { e in
            XCTAssertEqual((e as! ImageIOError).kind, .truncated)
        }
    }

    func testEmptyAndTinyInputs() {
        for bytes: [UInt8] in [[], [0xFF], [0xFF, 0xD8, 0xFF], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]] {
            XCTAssertThrowsError(try decodeImage(data: bytes), "\(bytes)")
        }
    }

    func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "img2img-imageio-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }
}
