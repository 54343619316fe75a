import Foundation
import XCTest
@testable import ImageIO

final class ExifTests: XCTestCase {
    func app1(orientation value: Int, bigEndian: Bool, type: UInt16 = 3) -> [UInt8] {
        exifApp1(orientation: value, bigEndian: bigEndian, type: type)
    }

    func testParsesBothByteOrders() {
        for o in 1...8 {
            XCTAssertEqual(Exif.orientation(app1: app1(orientation: o, bigEndian: true)), o)
            XCTAssertEqual(Exif.orientation(app1: app1(orientation: o, bigEndian: false)), o)
            XCTAssertEqual(Exif.orientation(app1: Array(app1(orientation: o, bigEndian: false).dropFirst(6))), o)
            XCTAssertEqual(Exif.orientation(app1: app1(orientation: o, bigEndian: true, type: 4)), o)
        }
        XCTAssertNil(Exif.orientation(app1: app1(orientation: 0, bigEndian: true)))
        XCTAssertNil(Exif.orientation(app1: app1(orientation: 9, bigEndian: false)))
    }

    /// Garbage never traps: random bytes, every truncation and every single-byte
    /// corruption of a valid block, huge offsets and entry counts.
    func testGarbageNeverCrashes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<64, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if Bool.random(using: &rng) { bytes = Array("Exif\0\0II*\0".utf8) + bytes }
            _ = Exif.orientation(app1: bytes)
            _ = Exif.orientation(jpeg: [0xFF, 0xD8, 0xFF, 0xE1] + bytes)
        }
        let good = app1(orientation: 6, bigEndian: true)
        for k in 0...good.count { _ = Exif.orientation(app1: Array(good.prefix(k))) }
        for i in good.indices {
            for v: UInt8 in [0x00, 0x7F, 0x80, 0xFF] {
                var b = good
                b[i] = v
                if let o = Exif.orientation(app1: b) { XCTAssertTrue((1...8).contains(o)) }
            }
        }
        // IFD offset and entry count pointing far outside.
        let huge = Array("MM".utf8) + [0, 42, 0xFF, 0xFF, 0xFF, 0xF0]
        XCTAssertNil(Exif.orientation(app1: huge))
        let manyEntries = Array("II".utf8) + [42, 0, 8, 0, 0, 0, 0xFF, 0xFF]
        XCTAssertNil(Exif.orientation(app1: manyEntries))
    }

    func testOrientationTransformsAreTheEightSymmetries() {
        // 3x2 image with distinct pixels: 1 2 3 / 4 5 6.
        let img = Image(width: 3, height: 2, channels: 1, pixels8: [1, 2, 3, 4, 5, 6])
        let expected: [Int: (Int, Int, [UInt8])] = [
            1: (3, 2, [1, 2, 3, 4, 5, 6]),
            2: (3, 2, [3, 2, 1, 6, 5, 4]),     // mirror
            3: (3, 2, [6, 5, 4, 3, 2, 1]),     // rotate 180
            4: (3, 2, [4, 5, 6, 1, 2, 3]),     // flip vertical
            5: (2, 3, [1, 4, 2, 5, 3, 6]),     // transpose
            6: (2, 3, [4, 1, 5, 2, 6, 3]),     // rotate 90 clockwise
            7: (2, 3, [6, 3, 5, 2, 4, 1]),     // transverse
            8: (2, 3, [3, 6, 2, 5, 1, 4]),     // rotate 90 counter-clockwise
        ]
        for (o, (w, h, px)) in expected {
            let r = img.applyingExifOrientation(o)
            XCTAssertEqual(r.width, w, "orientation \(o)")
            XCTAssertEqual(r.height, h, "orientation \(o)")
            XCTAssertEqual(r.pixels8, px, "orientation \(o)")
        }
        let rgb16 = Image(width: 2, height: 1, channels: 3, pixels16: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(rgb16.applyingExifOrientation(6).pixels16, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(rgb16.applyingExifOrientation(2).pixels16, [4, 5, 6, 1, 2, 3])
    }
}

final class ConversionTests: XCTestCase {
    func testDepthConversions() {
        let i16 = Image(width: 4, height: 1, channels: 1, pixels16: [0, 128, 32767, 65535])
        // (v * 255 + 32767) / 65535
        XCTAssertEqual(i16.to8Bit().pixels8, [0, 0, 127, 255])
        XCTAssertEqual(Image(width: 1, height: 1, channels: 1, pixels16: [129]).to8Bit().pixels8, [1])
        let i8 = Image(width: 3, height: 1, channels: 1, pixels8: [0, 1, 255])
        XCTAssertEqual(i8.to16Bit().pixels16, [0, 257, 65535])
        // 8 -> 16 -> 8 is the identity for every value.
        let all = Image(width: 256, height: 1, channels: 1, pixels8: (0...255).map { UInt8($0) })
        XCTAssertEqual(all.to16Bit().to8Bit(), all)
    }

    func testChannelConversions() {
        let ga = Image(width: 2, height: 1, channels: 2, pixels8: [10, 255, 200, 0])
        XCTAssertEqual(ga.expandingGrayToRGB().pixels8, [10, 10, 10, 255, 200, 200, 200, 0])
        XCTAssertEqual(ga.droppingAlpha().pixels8, [10, 200])
        XCTAssertEqual(ga.toRGB8().pixels8, [10, 10, 10, 200, 200, 200])
        XCTAssertEqual(ga.compositingAlpha(over: .white).pixels8, [10, 255])
        XCTAssertEqual(ga.compositingAlpha(over: RGBColor(red: 1, green: 0, blue: 0)).pixels8, [10, 10, 10, 255, 0, 0])
        XCTAssertEqual(ga.toRGB8(background: .black).pixels8, [10, 10, 10, 0, 0, 0])
        let rgb = Image(width: 1, height: 1, channels: 3, pixels8: [1, 2, 3])
        XCTAssertEqual(rgb.addingAlpha().pixels8, [1, 2, 3, 255])
        XCTAssertEqual(rgb.addingAlpha().droppingAlpha(), rgb)
        XCTAssertEqual(rgb.toRGB8(), rgb)
        // Half-transparent over white, rounded: (100 * 128 + 255 * 127 + 127) / 255 = 177.
        let half = Image(width: 1, height: 1, channels: 4, pixels8: [100, 0, 255, 128])
        XCTAssertEqual(half.compositingAlpha(over: .white).pixels8, [177, 127, 255])
        // 16-bit composite keeps 16 bits.
        let h16 = Image(width: 1, height: 1, channels: 2, pixels16: [0, 32768])
        XCTAssertEqual(h16.compositingAlpha(over: .white).pixels16, [32767])
        XCTAssertEqual(h16.toRGB8(background: .white).pixels8, [127, 127, 127])
        XCTAssertEqual(Image(width: 1, height: 1, channels: 1, pixels16: [65535]).addingAlpha().pixels16, [65535, 65535])
    }
}

final class ImageFolderTests: XCTestCase {
    func testScanIsRecursiveSortedByContentAndReportsSkips() throws {
        let root = NSTemporaryDirectory() + "img2img-folder-\(UUID().uuidString)"
        let fm = FileManager.default
        addTeardownBlock { try? fm.removeItem(atPath: root) }
        try fm.createDirectory(atPath: root + "/b/deep", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/a", withIntermediateDirectories: true)
        let img = Image(width: 2, height: 2, channels: 3, fill: 9)
        try writeImage(img, to: root + "/b/deep/z.png")
        try writeImage(img, to: root + "/a/photo.dat", format: .jpeg)     // odd name, still a JPEG
        try writeImage(img, to: root + "/B.png")                            // "B" < "a" in code point order
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: root + "/a/readme.png"))
        try Data().write(to: URL(fileURLWithPath: root + "/empty.jpg"))
        try writeImage(img, to: root + "/secret.png")
        chmod(root + "/secret.png", 0)
        try fm.createSymbolicLink(atPath: root + "/loop", withDestinationPath: root)      // directory link
        try fm.createSymbolicLink(atPath: root + "/link.png", withDestinationPath: root + "/B.png")
        try fm.createSymbolicLink(atPath: root + "/dangling.png", withDestinationPath: root + "/nowhere")

        let scan = try ImageFolder.scan(root: root)
        let chmodBlocksReads = getuid() != 0 // root reads a chmod 000 file anyway
        var expected = ["B.png", "a/photo.dat", "b/deep/z.png", "link.png"]
        if !chmodBlocksReads { expected.append("secret.png") }
        XCTAssertEqual(scan.images.map(\.relativePath), expected.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertEqual(scan.images.first { $0.relativePath == "a/photo.dat" }?.format, .jpeg)
        let skipped = Dictionary(uniqueKeysWithValues: scan.skipped.map { ($0.relativePath, $0.reason) })
        XCTAssertEqual(skipped["a/readme.png"], .notAnImage)
        XCTAssertEqual(skipped["empty.jpg"], .notAnImage)
        XCTAssertEqual(skipped["loop"], .symlinkedDirectory)
        XCTAssertEqual(skipped["dangling.png"], .unreadable)
        if chmodBlocksReads { XCTAssertEqual(skipped["secret.png"], .unreadable) }
        XCTAssertEqual(scan.images.count + scan.skipped.count, 9, "every entry accounted for")
        // names that claim an image make a non-image a failure; other names are ignored quietly
        XCTAssertTrue(scan.skipped.first { $0.relativePath == "a/readme.png" }!.claimsImage)
        XCTAssertEqual(scan.ignored.map(\.relativePath), [], "every non-image here is named as an image")
        XCTAssertEqual(Set(scan.failed.map(\.relativePath)).isSuperset(of: ["a/readme.png", "empty.jpg", "loop", "dangling.png"]), true)
        for (name, claims) in [("x.PNG", true), ("a/b.jpeg", true), ("c.webp", true), ("README.txt", false), (".DS_Store", false),
                               (".png", false), ("png", false), ("dir.png/file", false)] {
            XCTAssertEqual(ImageFormat.nameClaimsImage(name), claims, name)
        }
        XCTAssertEqual(try readImage(at: scan.path(of: scan.images[0])), img)

        XCTAssertThrowsError(try ImageFolder.scan(root: root + "/missing")) { e in
            XCTAssertEqual((e as! ImageIOError).kind, .io)
        }
    }
}
