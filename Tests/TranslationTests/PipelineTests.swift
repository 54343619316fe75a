import XCTest
import Foundation
import ImageIO
import Augment
@testable import Translation

/// A stand-in network: inverts every value (x -> -x), or averages to gray, with a size multiple.
struct Invert: ImageTranslator {
    var inputChannels = 3
    var outputChannels = 3
    var sizeMultiple = 4
    var calls = Counter()
    func translate(_ x: [Float], count: Int, height: Int, width: Int) throws -> [Float] {
        precondition(height % sizeMultiple == 0 && width % sizeMultiple == 0, "pipeline must pad to the multiple")
        calls.add(count)
        if outputChannels == inputChannels { return x.map { -$0 } }
        precondition(outputChannels == 1 && inputChannels == 3)
        return stride(from: 0, to: x.count, by: 3).map { -(x[$0] + x[$0 + 1] + x[$0 + 2]) / 3 }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    private var batches = 0
    func add(_ k: Int) { lock.lock(); n += k; batches += 1; lock.unlock() }
    var items: Int { lock.lock(); defer { lock.unlock() }; return n }
    var calls: Int { lock.lock(); defer { lock.unlock() }; return batches }
}

final class PipelineTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "img2img-translate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/in", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func put(_ img: Image, _ rel: String, _ fmt: ImageFormat = .png) throws {
        let p = root + "/in/" + rel
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try writeImage(img, to: p, format: fmt)
    }

    func pattern(_ w: Int, _ h: Int, channels: Int) -> Image {
        var px = [UInt8](repeating: 0, count: w * h * channels)
        for i in 0..<px.count { px[i] = UInt8((i * 37 + i / 7) % 256) }
        return Image(width: w, height: h, channels: channels, pixels8: px)
    }

    func options(_ f: (inout TranslationOptions) -> Void = { _ in }) -> TranslationOptions {
        var o = TranslationOptions(input: root + "/in", output: root + "/out", quantization: .round)
        f(&o)
        return o
    }

    func run(_ o: TranslationOptions, _ t: Invert = Invert()) throws -> TranslationSummary {
        let plan = try TranslationPlan.make(o)
        return TranslationPipeline(options: o, translator: t).run(plan: plan)
    }

    func testMixedFolderKeepsSizesAlphaDepthAndReportsBadFiles() throws {
        try put(pattern(30, 17, channels: 3), "a.png")                   // odd size: padded and cropped back
        try put(pattern(64, 64, channels: 3), "sub/deeper/b.jpg", .jpeg)
        try put(pattern(21, 9, channels: 1), "gray.png")
        try put(pattern(13, 11, channels: 4), "rgba.png")
        let g16 = Image(width: 10, height: 6, channels: 3, pixels16: (0..<180).map { UInt16($0 * 300) })
        try put(g16, "deep16.png")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: root + "/in/notes.txt"))
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2]).write(to: URL(fileURLWithPath: root + "/in/sub/corrupt.jpg"))
        let s = try run(options())
        XCTAssertEqual(s.translated, 5)
        XCTAssertEqual(s.failures.count, 1)
        XCTAssertTrue(s.failures[0].path.hasSuffix("corrupt.jpg"), "\(s.failures)")
        XCTAssertEqual(s.notImages, 1)

        let a = try readImage(at: root + "/out/a.png")
        XCTAssertEqual([a.width, a.height, a.channels], [30, 17, 3])
        // x -> -x is 255 - v exactly (with rounding) for 8-bit inputs.
        let src = pattern(30, 17, channels: 3).pixels8
        XCTAssertEqual(a.pixels8, src.map { 255 - $0 })
        let b = try readImage(at: root + "/out/sub/deeper/b.jpg")
        XCTAssertEqual([b.width, b.height], [64, 64])
        let gray = try readImage(at: root + "/out/gray.png")
        XCTAssertEqual([gray.width, gray.height, gray.channels], [21, 9, 3], "gray input through an RGB model gives RGB")
        let rgba = try readImage(at: root + "/out/rgba.png")
        XCTAssertEqual(rgba.channels, 4, "alpha is kept and re-attached")
        let srcA = pattern(13, 11, channels: 4).pixels8
        for i in 0..<(13 * 11) { XCTAssertEqual(rgba.pixels8[i * 4 + 3], srcA[i * 4 + 3]) }
        let d16 = try readImage(at: root + "/out/deep16.png")
        XCTAssertEqual(d16.depth, .sixteen, "16-bit PNG in, 16-bit PNG out")
        XCTAssertEqual(Int(d16.pixels16[5]), 65535 - 1500, accuracy: 2)
    }

    func testResumeSkipsFinishedFilesAndOverwriteRedoes() throws {
        for i in 0..<5 { try put(pattern(8 + i, 8, channels: 3), "f\(i).png") }
        let t = Invert()
        var s = try run(options { $0.shard = Shard(index: 0, count: 2) }, t)
        let first = s.translated
        s = try run(options(), t)
        XCTAssertEqual(s.alreadyDone, first)
        XCTAssertEqual(s.translated, 5 - first)
        XCTAssertEqual(t.calls.items, 5, "no image translated twice")
        s = try run(options { $0.overwrite = true }, t)
        XCTAssertEqual(s.translated, 5)
        // Nothing half-written stays behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root + "/out").filter { !$0.hasSuffix(".png") }
        XCTAssertEqual(leftovers, [])
    }

    func testShardsPartitionExactly() throws {
        var names: [String] = []
        for i in 0..<23 { names.append("d\(i % 3)/img\(i).png") }
        for n in names { try put(pattern(4, 4, channels: 3), n) }
        var seen: [String] = []
        for k in 0..<4 {
            let plan = try TranslationPlan.make(options { $0.shard = Shard(index: k, count: 4) })
            seen += plan.todo.map(\.relativePath)
            XCTAssertGreaterThan(plan.todo.count, 0, "shard \(k) is not empty")
        }
        XCTAssertEqual(seen.sorted(), names.sorted(), "each file in exactly one shard")
        XCTAssertNil(Shard(parsing: "4/4"))
        XCTAssertNil(Shard(parsing: "x"))
        XCTAssertEqual(Shard(parsing: "2/5"), Shard(index: 2, count: 5))
    }

    func testOutputFormatFlagAndCollisions() throws {
        try put(pattern(8, 8, channels: 3), "x.png")
        try put(pattern(8, 8, channels: 3), "x.jpg", .jpeg)
        let plan = try TranslationPlan.make(options { $0.format = .jpeg })
        XCTAssertEqual(plan.todo.count, 1)
        XCTAssertEqual(plan.problems.count, 1, "x.png and x.jpg would both write x.jpg")
        XCTAssertNil(safeOutputName("../evil.png", format: .png, keepExtension: true))
        XCTAssertEqual(safeOutputName("a b/ü.jpeg", format: .png, keepExtension: false), "a b/ü.png")
    }

    func testSymlinkInOutputIsNotFollowed() throws {
        try put(pattern(8, 8, channels: 3), "sub/x.png")
        try FileManager.default.createDirectory(atPath: root + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/out", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/out/sub", withDestinationPath: root + "/elsewhere")
        let s = try run(options())
        XCTAssertEqual(s.failures.count, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/elsewhere"), [])
    }

    func testHugeImagesAreTiledAndBlendedSeamlessly() throws {
        try put(pattern(70, 45, channels: 3), "big.png")
        let t = Invert()
        let s = try run(options { $0.tiling = TilingOptions(maxPiecePixels: 500, tileSize: 24, overlap: 8); $0.batchSize = 3 }, t)
        XCTAssertEqual(s.translated, 1)
        XCTAssertGreaterThan(t.calls.items, 6, "the image was cut into tiles")
        let out = try readImage(at: root + "/out/big.png")
        // A pointwise network gives the same result tiled or not: the blend must be exact.
        XCTAssertEqual(out.pixels8, pattern(70, 45, channels: 3).pixels8.map { 255 - $0 })
    }

    func testGrayModelAndPaperPreprocess() throws {
        try put(pattern(40, 30, channels: 3), "p.png")
        let t = Invert(inputChannels: 3, outputChannels: 1)
        let s = try run(options { $0.sizing = .preprocess(AugmentOptions(preprocess: .resize, loadSize: 32, cropSize: 32)) }, t)
        XCTAssertEqual(s.translated, 1)
        let out = try readImage(at: root + "/out/p.png")
        XCTAssertEqual([out.width, out.height, out.channels], [32, 32, 1])
    }

    func testReflectIndexBouncesPastTheImage() {
        XCTAssertEqual((-3...5).map { reflectIndex($0, 3) }, [1, 2, 1, 0, 1, 2, 1, 0, 1])
        XCTAssertEqual(reflectIndex(7, 1), 0)
    }
}

final class ImageMetricsTests: XCTestCase {
    func testMetricsOnKnownImages() {
        let a = Image(width: 16, height: 16, channels: 3, fill: 100)
        let b = Image(width: 16, height: 16, channels: 3, fill: 110)
        XCTAssertEqual(ImageMetrics.l1(a, b), 10.0 / 255, accuracy: 1e-12)
        XCTAssertEqual(ImageMetrics.psnr(a, b), 10 * log10(255.0 * 255.0 / 100.0), accuracy: 1e-9)
        XCTAssertEqual(ImageMetrics.psnr(a, a), .infinity)
        XCTAssertEqual(ImageMetrics.ssim(a, a), 1, accuracy: 1e-12)
        // Constant images: SSIM depends only on the means: (2*100*110 + C1) / (100^2 + 110^2 + C1).
        let c1 = (0.01 * 255) * (0.01 * 255)
        XCTAssertEqual(ImageMetrics.ssim(a, b), (2 * 100 * 110 + c1) / (100 * 100 + 110 * 110 + c1), accuracy: 1e-9)
        var px = [UInt8](repeating: 0, count: 16 * 16 * 3)
        for i in 0..<px.count { px[i] = UInt8((i * 91) % 256) }
        let noisy = Image(width: 16, height: 16, channels: 3, pixels8: px)
        XCTAssertLessThan(ImageMetrics.ssim(a, noisy), 0.1)
    }
}
