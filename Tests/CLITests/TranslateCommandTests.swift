import XCTest
import Foundation
import ImageIO
import Models
import NN
import TensorCore

final class TranslateCommandTests: CLITestCase {
    /// A small random ResNet generator saved as our safetensors (config in the header).
    func makeModel(inputNC: Int = 3, outputNC: Int = 3) throws -> String {
        var rng = SplitMix64(seed: 7)
        let cfg = ModelConfig.generator("resnet_2blocks", inputNC: inputNC, outputNC: outputNC, ngf: 4)
        let g = try makeGenerator(cfg, using: &rng)
        let path = path("g.safetensors")
        try save(g, config: cfg, to: path)
        return path
    }

    func put(_ img: Image, _ rel: String, _ fmt: ImageFormat = .png) throws {
        let p = path("in/" + rel)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try writeImage(img, to: p, format: fmt)
    }

    func pattern(_ w: Int, _ h: Int, channels: Int) -> Image {
        Image(width: w, height: h, channels: channels, pixels8: (0..<(w * h * channels)).map { UInt8(($0 * 29) % 256) })
    }

    func testMixedFolderNestedSizesAndBadFiles() throws {
        let model = try makeModel()
        try put(pattern(30, 22, channels: 3), "a.png")
        try put(pattern(17, 9, channels: 1), "sub/gray.png")
        try put(pattern(12, 20, channels: 4), "sub/deeper/rgba.png")
        try put(Image(width: 10, height: 6, channels: 3, pixels16: (0..<180).map { UInt16($0 * 300) }), "deep16.png")
        try put(pattern(40, 32, channels: 3), "photo.jpg", .jpeg)
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0x4A, 0x46, 0x49, 0x46, 0, 1]).write(to: URL(fileURLWithPath: path("in/sub/corrupt.jpg")))
        try Data("just text".utf8).write(to: URL(fileURLWithPath: path("in/notes.txt")))

        let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet"])
        XCTAssertEqual(r.status, 3, "some files failed: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("corrupt.jpg"), r.stderr)
        XCTAssertFalse(r.stderr.contains("notes.txt"))
        XCTAssertTrue(r.stdout.contains("translated 5 images"), r.stdout)
        XCTAssertEqual(files(under: path("out")), ["a.png", "deep16.png", "photo.jpg", "sub/deeper/rgba.png", "sub/gray.png"])
        let sizes: [String: [Int]] = ["a.png": [30, 22, 3], "sub/gray.png": [17, 9, 3], "sub/deeper/rgba.png": [12, 20, 4],
                                      "deep16.png": [10, 6, 3], "photo.jpg": [40, 32, 3]]
        for (f, s) in sizes {
            let img = try readImage(at: path("out/" + f))
            XCTAssertEqual([img.width, img.height, img.channels], s, f)
        }
        XCTAssertEqual(try readImage(at: path("out/deep16.png")).depth, .sixteen)
        let rgba = try readImage(at: path("out/sub/deeper/rgba.png"))
        let srcAlpha = pattern(12, 20, channels: 4).pixels8
        XCTAssertEqual(rgba.pixels8[3], srcAlpha[3], "alpha re-attached")

        // Resume: nothing to redo; --overwrite redoes everything.
        let again = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet"])
        XCTAssertTrue(again.stdout.contains("translated 0 images") && again.stdout.contains("5 already done"), again.stdout)
        try FileManager.default.removeItem(atPath: path("out/a.png"))
        let partial = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet"])
        XCTAssertTrue(partial.stdout.contains("translated 1 images"), partial.stdout)
    }

    /// --max-image-mb refuses the image whose decoded pixels exceed it (named, status 3) and
    /// translates the rest.
    func testMaxImageMbRefusesOnlyTheBigImage() throws {
        let model = try makeModel()
        try put(pattern(700, 600, channels: 3), "big.png")     // 1.26 MB decoded
        try put(pattern(30, 20, channels: 3), "small.png")
        let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet",
                             "--max-image-mb", "1"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("big.png") && r.stderr.contains("above the limit of 1 MB"), r.stderr)
        XCTAssertEqual(files(under: path("out")), ["small.png"])
    }

    func testShardsPartitionTheFolderExactly() throws {
        let model = try makeModel()
        for i in 0..<9 { try put(pattern(8, 8, channels: 3), "d\(i % 2)/f\(i).png") }
        var all: [String] = []
        for k in 0..<3 {
            let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out\(k)"),
                                 "--shard", "\(k)/3", "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
            all += files(under: path("out\(k)"))
        }
        XCTAssertEqual(all.sorted(), (0..<9).map { "d\($0 % 2)/f\($0).png" }.sorted())
        let bad = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("x"), "--shard", "3/3"])
        XCTAssertEqual(bad.status, 64, "a usage error")
        XCTAssertTrue(bad.stderr.contains("--shard"), bad.stderr)
    }

    func testPaperCodePthLoadsWithoutFlags() throws {
        let pth = Self.repoRoot.appendingPathComponent("Tests/ModelTests/Fixtures/resnet6_ngf4.pth").path
        try put(pattern(20, 12, channels: 3), "x.png")
        let r = try img2img(["translate", "--model", pth, "--input", path("in"), "--output", path("out"), "--format", "jpeg"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resnet_6blocks"), "architecture inferred: \(r.stderr)")
        XCTAssertEqual(files(under: path("out")), ["x.jpg"])
    }

    func testMismatchedCheckpointNamesTheKeys() throws {
        let model = try makeModel()
        try put(pattern(8, 8, channels: 3), "x.png")
        let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--ngf", "8"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("model.1.weight"), r.stderr)
    }

    func testHelpOfModelCommands() throws {
        for sub in ["translate", "train", "test", "generate"] {
            let r = try img2img([sub, "--help"])
            XCTAssertEqual(r.status, 0, sub)
            XCTAssertTrue(r.stdout.contains("USAGE: img2img \(sub)"), r.stdout)
        }
        let t = try img2img(["translate", "--help"])
        XCTAssertTrue(t.stdout.contains("--shard") && t.stdout.contains("dropout"), "help documents sharding and test-time dropout")
        let tr = try img2img(["train", "--help"])
        for flag in ["--netG", "--gan-mode", "--load-size", "--crop-size", "--preprocess", "--no-flip", "--n-epochs",
                     "--n-epochs-decay", "--lr", "--beta1", "--lr-policy", "--pool-size", "--lambda-A", "--lambda-B",
                     "--lambda-identity", "--lambda-L1", "--batch-size", "--seed", "--continue", "--save-epoch-freq", "--d-steps"] {
            XCTAssertTrue(tr.stdout.contains(flag), "train --help lists \(flag)")
        }
    }

    /// --precision bf16: on a CPU with AVX512_BF16 the output differs from fp32 by a few levels at
    /// most; on one without, a usage error (64) with the message, and no output.
    func testPrecisionBF16TranslatesOrIsRefused() throws {
        var rng = SplitMix64(seed: 9)
        let cfg = ModelConfig.generator("resnet_2blocks", inputNC: 3, outputNC: 3, ngf: 8)  // blocks: 32 -> 32
        let g = try makeGenerator(cfg, using: &rng)
        let model = path("g8.safetensors")
        try save(g, config: cfg, to: model)
        try put(pattern(40, 32, channels: 3), "a.png")
        let bf = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("bf16"),
                              "--precision", "bf16", "--quiet"])
        guard Engine.supportsBF16 else {
            XCTAssertEqual(bf.status, 64, bf.stderr)
            XCTAssertTrue(bf.stderr.contains("bf16 needs a CPU with AVX512_BF16"), bf.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("bf16/a.png")))
            return
        }
        XCTAssertEqual(bf.status, 0, bf.stderr)
        let fp = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("fp32"), "--quiet"])
        XCTAssertEqual(fp.status, 0, fp.stderr)
        let a = try readImage(at: path("bf16/a.png")).pixels8, b = try readImage(at: path("fp32/a.png")).pixels8
        XCTAssertEqual(a.count, b.count)
        XCTAssertTrue(zip(a, b).allSatisfy { abs(Int($0) - Int($1)) <= 3 }, "bf16 within 3 levels of fp32")
        let bad = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("x"),
                               "--precision", "fp16", "--quiet"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
    }
}

final class ConvertCommandTests: CLITestCase {
    func testPthConvertsToSafetensorsAndFp16KeepsTheOutputClose() throws {
        let pth = Self.repoRoot.appendingPathComponent("Tests/ModelTests/Fixtures/resnet6_ngf4.pth").path
        let a = try img2img(["convert", "--model", pth, "--output", path("g32.safetensors")])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try img2img(["convert", "--model", path("g32.safetensors"), "--output", path("g16.safetensors"), "--fp16"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let s32 = try FileManager.default.attributesOfItem(atPath: path("g32.safetensors"))[.size] as! Int
        let s16 = try FileManager.default.attributesOfItem(atPath: path("g16.safetensors"))[.size] as! Int
        XCTAssertLessThan(Double(s16), Double(s32) * 0.6)
        let img = Image(width: 16, height: 12, channels: 3, pixels8: (0..<576).map { UInt8(($0 * 37) % 256) })
        try FileManager.default.createDirectory(atPath: path("in"), withIntermediateDirectories: true)
        try writeImage(img, to: path("in/x.png"), format: .png)
        for m in ["pth": pth, "32": path("g32.safetensors"), "16": path("g16.safetensors")] {
            let r = try img2img(["translate", "--model", m.value, "--input", path("in"), "--output", path("out" + m.key), "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(try readImage(at: path("outpth/x.png")), try readImage(at: path("out32/x.png")), "conversion is exact")
        let p16 = try readImage(at: path("out16/x.png")).pixels8, p32 = try readImage(at: path("out32/x.png")).pixels8
        for i in 0..<p32.count { XCTAssertLessThanOrEqual(abs(Int(p16[i]) - Int(p32[i])), 2) }
    }
}
