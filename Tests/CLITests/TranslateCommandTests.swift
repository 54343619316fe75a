import XCTest
import Foundation
import ImageIO
import Models
import NN
import TensorCore
import _TestSupport

final class TranslateCommandTests: CLITestCase {
    /// A small random ResNet generator saved as our safetensors (config in the header).
    func makeModel(inputNC: Int = 3, outputNC: Int = 3, seed: UInt64 = 7, name: String = "g.safetensors") throws -> String {
        var rng = SplitMix64(seed: seed)
        let cfg = ModelConfig.generator("resnet_2blocks", inputNC: inputNC, outputNC: outputNC, ngf: 4)
        let g = try makeGenerator(cfg, using: &rng)
        let path = path(name)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try save(g, config: cfg, to: path)
        return path
    }

    func bytes(_ rel: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(rel))) }

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
    // MARK: Issue 25: the output folder, the model, the input

    /// An output folder inside the input is not read back as input (before: out/out/out...
    /// per rerun); --output equal to --input, however spelled, is a usage error (before: "0
    /// translated, N already done").
    func testOutputInsideInputIsSkippedAndOutputEqualToInputIsRefused() throws {
        let model = try makeModel()
        try put(pattern(12, 8, channels: 3), "a.png")
        try put(pattern(8, 8, channels: 3), "sub/b.png")
        for round in 0..<2 {
            let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("in/out")])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stderr.contains("skipping \(path("in/out")) (the output folder) in the input walk"), round == 1, r.stderr)
            XCTAssertTrue(r.stdout.contains(round == 0 ? "translated 2 images" : "translated 0 images"), r.stdout)
        }
        XCTAssertEqual(files(under: path("in/out")), ["a.png", "sub/b.png"], "no in/out/out")

        try FileManager.default.createSymbolicLink(atPath: path("link"), withDestinationPath: path("in"))
        for output in [path("in"), path("in/"), path("in/sub/.."), path("link")] {
            let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", output])
            XCTAssertEqual(r.status, 64, "\(output): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("is the --input folder itself"), r.stderr)
        }
        XCTAssertEqual(files(under: path("in")), ["a.png", "out/.img2img-translate.json", "out/a.png", "out/sub/b.png", "sub/b.png"],
                       "nothing written")
    }

    /// OUTPUT/.img2img-translate.json: another model or other pixel settings are refused with
    /// what differs (before: "0 translated, N already done" and the first model's images);
    /// --overwrite redoes every file; the same settings resume.
    func testOutputRecordRefusesAnotherModelOrOtherSettings() throws {
        let first = try makeModel(seed: 7, name: "g1.safetensors")
        let second = try makeModel(seed: 8, name: "g2.safetensors")
        try put(pattern(12, 8, channels: 3), "a.png")
        try put(pattern(9, 7, channels: 3), "b.png")
        func run(_ model: String, _ extra: [String] = []) throws -> Run {
            try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet"] + extra)
        }
        XCTAssertEqual(try run(first).status, 0)
        let record = try JSONDecoder().decode([String: JSONValue].self, from: bytes("out/.img2img-translate.json"))
        XCTAssertEqual(record["modelSHA256"], .string(try sha256(first)))
        let a1 = try bytes("out/a.png")

        let other = try run(second)
        XCTAssertEqual(other.status, 1, other.stderr)
        XCTAssertTrue(other.stderr.contains("the model file's content") && other.stderr.contains("--overwrite redoes every file"),
                      other.stderr)
        XCTAssertEqual(try bytes("out/a.png"), a1, "refused: nothing rewritten")

        let settings = try run(first, ["--tile-size", "256", "--quantization", "round"])
        XCTAssertEqual(settings.status, 1, settings.stderr)
        XCTAssertTrue(settings.stderr.contains("--tile-size: 512 before, 256 now")
                      && settings.stderr.contains("--quantization: truncate before, round now"), settings.stderr)

        let forced = try run(second, ["--overwrite"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stdout.contains("translated 2 images"), forced.stdout)
        XCTAssertNotEqual(try bytes("out/a.png"), a1, "the second model's image")
        let replaced = try JSONDecoder().decode([String: JSONValue].self, from: bytes("out/.img2img-translate.json"))
        XCTAssertEqual(replaced["modelSHA256"], .string(try sha256(second)))

        // Same settings: resume.
        try FileManager.default.removeItem(atPath: path("out/b.png"))
        let resume = try run(second)
        XCTAssertEqual(resume.status, 0, resume.stderr)
        XCTAssertTrue(resume.stdout.contains("translated 1 images") && resume.stdout.contains("1 already done"), resume.stdout)
        // Options that change no pixel are not part of the record.
        XCTAssertEqual(try run(second, ["--batch-size", "2", "--max-image-pixels", "100000"]).status, 0)
    }

    /// An output folder with no record: refused when it holds a file this run would write
    /// (made before records, or by hand), unless --overwrite; other files do not matter.
    func testUnrecordedOutputFolderIsRefusedUnlessOverwrite() throws {
        let model = try makeModel()
        try put(pattern(12, 8, channels: 3), "a.png")
        try put(pattern(9, 7, channels: 3), "b.png")
        try FileManager.default.createDirectory(atPath: path("out"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("in/a.png"), toPath: path("out/a.png"))
        let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("already holds 1 of the files this run would write (a.png)"), r.stderr)
        XCTAssertEqual(try bytes("out/a.png"), try bytes("in/a.png"))
        let o = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet", "--overwrite"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertNotEqual(try bytes("out/a.png"), try bytes("in/a.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("out/.img2img-translate.json")))

        try FileManager.default.createDirectory(atPath: path("other"), withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: path("other/notes.txt")))
        let fine = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("other"), "--quiet"])
        XCTAssertEqual(fine.status, 0, fine.stderr)
    }

    /// Shards of one job into one folder share its record.
    func testShardsIntoOneFolderShareTheRecord() throws {
        let model = try makeModel()
        for i in 0..<6 { try put(pattern(8, 8, channels: 3), "f\(i).png") }
        for k in 0..<2 {
            let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"),
                                 "--shard", "\(k)/2", "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(files(under: path("out")), (0..<6).map { "f\($0).png" })
    }

    /// --direction BtoA on a file with one generator is an error naming what it holds (before:
    /// ignored, the output byte-identical to AtoB's); on a CycleGAN checkpoint it picks G_B.
    func testDirectionOnAFileWithOneGeneratorIsAnError() throws {
        let model = try makeModel(name: "runs/p2p/latest_net_G.safetensors")
        try put(pattern(12, 8, channels: 3), "a.png")
        let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--direction", "BtoA"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(model): holds one generator (G, resnet_2blocks); --direction BtoA needs a CycleGAN "
                                        + "checkpoint holding G_A and G_B"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out/a.png")))
        // A lone G_B is one generator too.
        try FileManager.default.copyItem(atPath: model, toPath: path("latest_net_G_B.safetensors"))
        let b = try img2img(["translate", "--model", path("latest_net_G_B.safetensors"), "--input", path("in"),
                             "--output", path("out"), "--direction", "BtoA"])
        XCTAssertEqual(b.status, 1, b.stderr)
        XCTAssertTrue(b.stderr.contains("holds one generator (G_B, resnet_2blocks)"), b.stderr)
        XCTAssertEqual(try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet"]).status, 0)

        let ckpt = Self.repoRoot.appendingPathComponent("Tests/ModelTests/Fixtures/cyclegan_step.safetensors").path
        for d in ["AtoB", "BtoA"] {
            let c = try img2img(["translate", "--model", ckpt, "--input", path("in"), "--output", path(d), "--direction", d, "--quiet"])
            XCTAssertEqual(c.status, 0, c.stderr)
        }
        XCTAssertNotEqual(try bytes("AtoB/a.png"), try bytes("BtoA/a.png"))
    }

    /// One image file as --input (before: "Not a directory").
    func testOneFileAsInput() throws {
        let model = try makeModel()
        try put(pattern(12, 8, channels: 3), "a.png")
        try put(pattern(9, 7, channels: 3), "b.png")
        let r = try img2img(["translate", "--model", model, "--input", path("in/a.png"), "--output", path("out"), "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(files(under: path("out")), ["a.png"])
        let img = try readImage(at: path("out/a.png"))
        XCTAssertEqual([img.width, img.height], [12, 8])
        let j = try img2img(["translate", "--model", model, "--input", path("in/b.png"), "--output", path("out"), "--quiet",
                             "--format", "jpeg"])
        XCTAssertEqual(j.status, 1, "another format into the same folder is another setting: \(j.stderr)")
        let k = try img2img(["translate", "--model", model, "--input", path("in/b.png"), "--output", path("jpeg"), "--quiet",
                             "--format", "jpeg"])
        XCTAssertEqual(k.status, 0, k.stderr)
        XCTAssertEqual(files(under: path("jpeg")), ["b.jpg"])
        // Into its own folder, the output would replace the input.
        let own = try img2img(["translate", "--model", model, "--input", path("in/a.png"), "--output", path("in"), "--overwrite"])
        XCTAssertEqual(own.status, 64, own.stderr)
        XCTAssertEqual(try readImage(at: path("in/a.png")), pattern(12, 8, channels: 3))
    }

    /// A run folder as --model (before: "not a regular file"): its latest_net_G, or G_A / G_B
    /// by --direction; the file used is named; a folder without one is an error listing it.
    func testRunFolderAsModel() throws {
        let model = try makeModel(name: "runs/p2p/latest_net_G.safetensors")
        try put(pattern(12, 8, channels: 3), "a.png")
        let r = try img2img(["translate", "--model", path("runs/p2p"), "--input", path("in"), "--output", path("folder"), "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("using \(model)"), r.stderr)
        XCTAssertEqual(try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("file"), "--quiet"]).status, 0)
        XCTAssertEqual(try bytes("folder/a.png"), try bytes("file/a.png"))

        _ = try makeModel(seed: 1, name: "runs/h2z/latest_net_G_A.safetensors")
        _ = try makeModel(seed: 2, name: "runs/h2z/latest_net_G_B.safetensors")
        for d in ["AtoB", "BtoA"] {
            let c = try img2img(["translate", "--model", path("runs/h2z"), "--input", path("in"), "--output", path(d),
                                 "--direction", d, "--quiet"])
            XCTAssertEqual(c.status, 0, c.stderr)
            XCTAssertTrue(c.stderr.contains("latest_net_\(d == "AtoB" ? "G_A" : "G_B").safetensors"), c.stderr)
        }
        XCTAssertNotEqual(try bytes("AtoB/a.png"), try bytes("BtoA/a.png"))

        try FileManager.default.createDirectory(atPath: path("runs/none"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: path("runs/none/options.json")))
        let none = try img2img(["translate", "--model", path("runs/none"), "--input", path("in"), "--output", path("x")])
        XCTAssertEqual(none.status, 1, none.stderr)
        XCTAssertTrue(none.stderr.contains("without a generator to load") && none.stderr.contains("options.json"), none.stderr)
    }

    /// A checkpoint loaded into the wrong architecture: three lines, with the flags that fit
    /// (before: every key and shape, thousands of characters for a real model).
    func testArchitectureMismatchIsSummarizedWithTheFlagsThatFit() throws {
        let model = try makeModel()
        try put(pattern(8, 8, channels: 3), "x.png")
        for (flags, fit) in [(["--ngf", "16"], "--ngf 4"), (["--netG", "resnet_9blocks"], "--netG resnet_2blocks")] {
            let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out")] + flags)
            XCTAssertEqual(r.status, 1, r.stderr)
            let error = r.stderr.components(separatedBy: "Error: ").last ?? ""
            XCTAssertEqual(error.split(separator: "\n").count, 3, error)
            XCTAssertTrue(error.contains("unexpected") && error.contains("of another shape") && error.contains(fit), error)
            XCTAssertTrue(error.contains("its tensors fit --netG resnet_2blocks --ngf 4 --norm instance"), error)
        }
    }

    /// An input with no images fails (before: exit 0, "translated 0 images"); all already
    /// done stays 0.
    func testInputWithoutImagesFails() throws {
        let model = try makeModel()
        try FileManager.default.createDirectory(atPath: path("in"), withIntermediateDirectories: true)
        let empty = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out")])
        XCTAssertEqual(empty.status, 1, empty.stderr)
        XCTAssertTrue(empty.stderr.contains("\(path("in")): no images (the folder holds no files; formats read: PNG, JPEG)"), empty.stderr)
        for n in ["a.txt", "b.md", "c"] { try Data("text".utf8).write(to: URL(fileURLWithPath: path("in/" + n))) }
        let text = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out")])
        XCTAssertEqual(text.status, 1, text.stderr)
        XCTAssertTrue(text.stderr.contains("no images (3 files, none an image; formats read: PNG, JPEG)"), text.stderr)
        try put(pattern(8, 8, channels: 3), "d.png")
        for _ in 0..<2 {
            let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
    }

    /// --html: links relative to the page (they survive moving input and output together),
    /// the model's file name and the input in the title, the model, counts, time and failures.
    func testHTMLPageIsRelativeAndSaysWhatHappened() throws {
        let model = try makeModel()
        try put(pattern(12, 8, channels: 3), "a b.png")
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: path("in/bad.png")))
        let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("res/out"), "--html", "--quiet"])
        XCTAssertEqual(r.status, 3, r.stderr)
        let page = String(decoding: try bytes("res/out/index.html"), as: UTF8.self)
        XCTAssertFalse(page.contains("file:"), "no absolute links")
        XCTAssertTrue(page.contains("src=\"../../in/a%20b.png\"") && page.contains("src=\"a%20b.png\""), page)
        XCTAssertTrue(page.contains("<title>g.safetensors on \(path("in"))</title>"), page)
        XCTAssertTrue(page.contains("resnet_2blocks, ngf 4"), page)
        XCTAssertTrue(page.contains("translated 1, already done 0, failed 1 in "), page)
        XCTAssertTrue(page.contains("bad.png</code>: named as an image but not one"), page)
        // Moved together, the links still resolve.
        try FileManager.default.createDirectory(atPath: path("moved"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: path("in"), toPath: path("moved/in"))
        try FileManager.default.moveItem(atPath: path("res"), toPath: path("moved/res"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("moved/res/out/../../in/a b.png")))
    }

    /// Ctrl-C finishes the images in flight, says so, and exits 130 (before: killed by the
    /// signal, no summary); the same command then does the rest.
    func testInterruptFinishesInFlightImagesAndExits130() throws {
        let model = try makeModel()
        let count = 400
        for i in 0..<count { try put(pattern(48, 40, channels: 3), String(format: "f%03d.png", i)) }
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet", "--threads", "1"]
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && files(under: path("out")).filter({ !$0.hasPrefix(".") }).isEmpty && Date() < deadline {
            usleep(2_000)
        }
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        let out = String(decoding: (p.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationReason, .exit, "exits, not killed by the signal")
        XCTAssertEqual(p.terminationStatus, 130, out)
        XCTAssertTrue(out.contains("interrupted: the same command finishes the rest"), out)
        let done = files(under: path("out"))
        XCTAssertLessThan(done.count, count)
        XCTAssertFalse(done.contains { $0.contains(".tmp-") }, "images in flight were finished")
        for f in done { XCTAssertNoThrow(try readImage(at: path("out/" + f)), f) }
        let rest = try img2img(["translate", "--model", model, "--input", path("in"), "--output", path("out"), "--quiet"])
        XCTAssertEqual(rest.status, 0, rest.stderr)
        XCTAssertTrue(rest.stdout.contains("translated \(count - done.count) images"), rest.stdout)
    }

    func testHelpListsEveryExitStatus() throws {
        let r = try img2img(["translate", "--help"])
        let text = r.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for status in ["0 when", "3 when", "64 for a usage error", "130 when stopped by Ctrl-C", "1 on any other error"] {
            XCTAssertTrue(text.contains(status), "translate --help: \(status)")
        }
    }

    func sha256(_ file: String) throws -> String {
        let r = try runProcess(URL(fileURLWithPath: "/usr/bin/sha256sum"), [file])
        return String(r.stdout.prefix(64))
    }
}

/// Just enough of JSON to read the output record in a test.
enum JSONValue: Decodable, Equatable {
    case string(String), other
    init(from decoder: Decoder) throws {
        if let s = try? decoder.singleValueContainer().decode(String.self) { self = .string(s) } else { self = .other }
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

    /// convert refuses to replace a file without --overwrite (before: replaced silently), and
    /// takes a run folder (its one generator, or --net).
    func testConvertKeepsAnExistingFileUnlessOverwriteAndReadsRunFolders() throws {
        let ckpt = Self.repoRoot.appendingPathComponent("Tests/ModelTests/Fixtures/cyclegan_step.safetensors").path
        let out = path("g.safetensors")
        XCTAssertEqual(try img2img(["convert", "--model", ckpt, "--net", "G_A", "--output", out]).status, 0)
        let first = try Data(contentsOf: URL(fileURLWithPath: out))
        let again = try img2img(["convert", "--model", ckpt, "--net", "G_B", "--output", out])
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.contains("\(out) exists") && again.stderr.contains("--overwrite"), again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), first)
        let forced = try img2img(["convert", "--model", ckpt, "--net", "G_B", "--output", out, "--overwrite"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: out)), first)

        // A run folder: G_A and G_B need --net; D_A by name.
        try FileManager.default.createDirectory(atPath: path("run"), withIntermediateDirectories: true)
        for n in ["G_A", "G_B", "D_A"] {
            XCTAssertEqual(try img2img(["convert", "--model", ckpt, "--net", n, "--output", path("run/latest_net_\(n).safetensors")]).status, 0)
        }
        let two = try img2img(["convert", "--model", path("run"), "--output", path("x.safetensors")])
        XCTAssertEqual(two.status, 1, two.stderr)
        XCTAssertTrue(two.stderr.contains("holds the generators G_A, G_B: pick one with --net"), two.stderr)
        let d = try img2img(["convert", "--model", path("run"), "--net", "D_A", "--output", path("d.safetensors")])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(d.stderr.contains("using \(path("run/latest_net_D_A.safetensors"))") && d.stdout.contains("discriminator"),
                      d.stderr + d.stdout)
    }
}
