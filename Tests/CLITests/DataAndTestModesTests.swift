// Issue 12, points 3 and 4 from the CLI: unpaired data of mixed sizes, --epoch-count,
// --direction for cyclegan, test's single mode, the colorization model.
import XCTest
import Foundation
import Augment
import ImageIO

final class DataAndTestModesTests: CLITestCase {
    static let earth = repoRoot.appendingPathComponent("datasets/earth-day2night").path
    static let night = repoRoot.appendingPathComponent("datasets/samples/earth-night").path

    /// A noisy image around `color` (RGB), `w` x `h`.
    func writeImage(_ rel: String, _ w: Int, _ h: Int, color: [UInt8], seed: Int) throws {
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) { for c in 0..<3 { px[3 * i + c] = UInt8(clamping: Int(color[c]) + (i * 7 + seed * 13 + c) % 23 - 11) } }
        let p = path(rel)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try ImageIO.writeImage(Image(width: w, height: h, channels: 3, pixels8: px), to: p)
    }

    func tinyCycleGAN(_ name: String, data: String, extra: [String]) -> [String] {
        ["train", "cyclegan", "--dataroot", data, "--name", name, "--checkpoints-dir", path("runs"),
         "--netG", "resnet_1blocks", "--ngf", "4", "--ndf", "4", "--n-layers-D", "2", "--netD", "n_layers",
         "--n-epochs", "1", "--n-epochs-decay", "1", "--print-freq", "1", "--seed", "5", "--quiet"] + extra
    }

    func logLines(_ run: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path("runs/\(run)/loss_log.jsonl"), encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// The paper code trains CycleGAN on unpaired images of any sizes with batch 1. Every batch
    /// trains (none skipped), the pool holds fakes of several sizes through --continue, and a
    /// batch of 2 is refused at the start, naming two files of different sizes.
    func testCycleGANTrainsEveryBatchOfMixedSizes() throws {
        for (i, (w, h)) in [(40, 32), (44, 36), (36, 48)].enumerated() {
            try writeImage("mixed/trainA/a\(i).png", w, h, color: [200, 60, 40], seed: i)
        }
        for (i, (w, h)) in [(32, 32), (48, 40), (40, 44), (36, 36)].enumerated() {
            try writeImage("mixed/trainB/b\(i).png", w, h, color: [40, 60, 200], seed: 10 + i)
        }
        let r = try img2img(tinyCycleGAN("mixed", data: path("mixed"), extra: ["--preprocess", "none"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("does not match") || r.stderr.contains("skipped"), r.stderr)
        XCTAssertEqual(try logLines("mixed").count, 2 * 4, "every batch of both epochs trained")
        let c = try img2img(tinyCycleGAN("mixed", data: path("mixed"), extra: ["--preprocess", "none", "--n-epochs", "2", "--continue", "--override"]))
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(try logLines("mixed").count, 3 * 4)

        let b2 = try img2img(tinyCycleGAN("mixed2", data: path("mixed"), extra: ["--preprocess", "none", "--batch-size", "2"]))
        XCTAssertEqual(b2.status, 64, b2.stderr)
        XCTAssertTrue(b2.stderr.contains("--batch-size 2 needs images of one size") && b2.stderr.contains("a0.png")
                      && b2.stderr.contains("40x32"), b2.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/mixed2/latest.safetensors")))
        // The same folder cropped to one size trains with batch 2.
        let crop = try img2img(tinyCycleGAN("mixed3", data: path("mixed"), extra: ["--preprocess", "crop", "--crop-size", "32",
                                                                                  "--batch-size", "2", "--n-epochs-decay", "0"]))
        XCTAssertEqual(crop.status, 0, crop.stderr)
    }

    /// --epoch-count N: epochs N...n_epochs + n_epochs_decay, saves named by them; a continued run
    /// keeps its own numbering.
    func testEpochCountNumbersTheEpochs() throws {
        let base = ["train", "pix2pix", "--dataroot", Self.earth, "--name", "ec", "--checkpoints-dir", path("runs"),
                    "--netG", "resnet_1blocks", "--ngf", "4", "--ndf", "4", "--load-size", "36", "--crop-size", "32",
                    "--batch-size", "8", "--n-epochs", "2", "--n-epochs-decay", "2", "--save-epoch-freq", "2",
                    "--print-freq", "100", "--quiet"]
        let r = try img2img(base + ["--epoch-count", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Set(try logLines("ec").map { $0["epoch"] as! Int }), [3, 4])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/ec/epoch_4_net_G.safetensors")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/ec/epoch_2_net_G.safetensors")))
        let opts = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("runs/ec/options.json")))) as! [String: Any]
        XCTAssertEqual(opts["epoch_count"] as? Int, 3)
        XCTAssertTrue(r.stdout.contains("finished 2 epochs"), r.stdout)
        let c = try img2img(base + ["--epoch-count", "1", "--continue", "--override"])
        XCTAssertEqual(c.status, 64, c.stderr)
        XCTAssertTrue(c.stderr.contains("--epoch-count 1 differs from the run's 3"), c.stderr)
        // The control: without --epoch-count the same options train epochs 1 to 4.
        let all = try img2img(base.map { $0 == "ec" ? "ec1" : $0 })
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(Set(try logLines("ec1").map { $0["epoch"] as! Int }), [1, 2, 3, 4])
    }

    /// --direction BtoA makes G_A map the B folder (training and test), and test's single mode
    /// runs a folder through one generator.
    func testCycleGANDirectionAndSingleMode() throws {
        for i in 0..<2 { try writeImage("rb/trainA/a\(i).png", 32, 32, color: [220, 30, 30], seed: i) }
        for i in 0..<2 { try writeImage("rb/trainB/b\(i).png", 32, 32, color: [30, 30, 220], seed: 5 + i) }
        for i in 0..<2 { try writeImage("rb/testA/ta\(i).png", 32, 32, color: [220, 30, 30], seed: 9 + i) }
        try writeImage("rb/testB/tb0.png", 32, 32, color: [30, 30, 220], seed: 20)
        let opts = ["--preprocess", "none", "--no-flip", "--n-epochs-decay", "0"]
        func sampleIsBlue(_ run: String) throws -> Bool {
            let img = try readImage(at: path("runs/\(run)/web/images/epoch001_00_real_A.png")).toRGB8()
            guard case .u8(let px) = img.samples else { return false }
            return Int(px[2]) > Int(px[0])
        }
        XCTAssertEqual(try img2img(tinyCycleGAN("ab", data: path("rb"), extra: opts)).status, 0)
        XCTAssertFalse(try sampleIsBlue("ab"), "AtoB: real_A comes from trainA (red)")
        let r = try img2img(tinyCycleGAN("ba", data: path("rb"), extra: opts + ["--direction", "BtoA"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try sampleIsBlue("ba"), "BtoA: real_A comes from trainB (blue)")

        let t = try img2img(["test", "cyclegan", "--dataroot", path("rb"), "--name", "ba", "--checkpoints-dir", path("runs"),
                             "--results-dir", path("results"), "--direction", "BtoA"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let images = files(under: path("results/ba/test_latest/images"))
        XCTAssertTrue(images.contains("tb0_real_A.png") && images.contains("ta0_real_B.png"), "\(images)")

        let s = try img2img(["test", "cyclegan", "--dataroot", path("rb/testA"), "--name", "ab", "--checkpoints-dir", path("runs"),
                             "--results-dir", path("single"), "--dataset-mode", "single"])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertEqual(files(under: path("single/ab/test_latest/images")), ["ta0_fake.png", "ta0_real.png", "ta1_fake.png", "ta1_real.png"])

    }

    /// The paper code's colorization model from a folder of photos: translate gives colour images
    /// of the input's size, and test compares them with the photos.
    func testColorizationTrainsTranslatesAndTests() throws {
        let r = try img2img(["train", "colorization", "--dataroot", Self.night, "--name", "col", "--checkpoints-dir", path("runs"),
                             "--netG", "resnet_1blocks", "--ngf", "4", "--ndf", "4", "--load-size", "36", "--crop-size", "32",
                             "--n-epochs", "1", "--n-epochs-decay", "1", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/col/web/images/epoch001_02_fake_B_rgb.png")))
        let t = try img2img(["translate", "--model", path("runs/col/latest_net_G.safetensors"), "--input", Self.night,
                             "--output", path("out"), "--quiet"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let name = try XCTUnwrap(files(under: path("out")).first)
        let input = try readImage(at: Self.night + "/" + name).toRGB8(), output = try readImage(at: path("out/" + name)).toRGB8()
        XCTAssertEqual([output.width, output.height, output.channels], [input.width, input.height, 3])
        guard case .u8(let a) = input.samples, case .u8(let b) = output.samples else { return XCTFail("8-bit") }
        // (That it keeps the input's lightness is TranslationTests'; an untrained G's ab leaves the
        // gamut, and clipping moves L.)
        var maxAB = 0.0
        for i in stride(from: 0, to: b.count, by: 3) {
            let lb = Lab.fromRGB(Double(b[i]) / 255, Double(b[i + 1]) / 255, Double(b[i + 2]) / 255)
            maxAB = max(maxAB, abs(lb.a) + abs(lb.b))
        }
        XCTAssertGreaterThan(maxAB, 1, "the output has colour")
        XCTAssertNotEqual(a, b)
        let tt = try img2img(["test", "colorization", "--dataroot", Self.night, "--name", "col", "--checkpoints-dir", path("runs"),
                              "--results-dir", path("results"), "--num-test", "2"])
        XCTAssertEqual(tt.status, 0, tt.stderr)
        XCTAssertTrue(tt.stdout.contains("PSNR") && tt.stdout.contains("over 2 pairs"), tt.stdout)
        // A one-generator model on unpaired folders: testA through G, a B image beside it.
        try writeImage("u/testA/x0.png", 32, 32, color: [90, 90, 90], seed: 1)
        try writeImage("u/testB/y0.png", 32, 32, color: [20, 120, 200], seed: 2)
        let u = try img2img(["test", "colorization", "--dataroot", path("u"), "--name", "col", "--checkpoints-dir", path("runs"),
                             "--results-dir", path("u-results"), "--dataset-mode", "unaligned"])
        XCTAssertEqual(u.status, 0, u.stderr)
        XCTAssertEqual(files(under: path("u-results/col/test_latest/images")), ["x0_fake_B.png", "x0_real_A.png", "x0_real_B.png"])
        // Options the colorization data cannot take are refused.
        let bad = try img2img(["train", "colorization", "--dataroot", Self.night, "--name", "c2", "--checkpoints-dir", path("runs"),
                               "--output-nc", "3"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("colorization maps L"), bad.stderr)
    }
}
