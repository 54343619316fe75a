// Issue 16: no silent loss of input. A file whose name claims an image (notes.png, empty.jpg;
// ImageFormat.imageNameExtensions) and whose content is not one is named on stderr and counts as
// failed (exit status 3) in translate, train and test; README.txt and .DS_Store stay quietly
// ignored. Also the network-size check on data-derived sizes and the learning-rate-0 warning.
import XCTest
import Foundation
import ImageIO
import Models
import NN
import TensorCore

final class NamedSkipTests: CLITestCase {
    func pattern(_ w: Int, _ h: Int, seed: Int) -> Image {
        Image(width: w, height: h, channels: 3, pixels8: (0..<(w * h * 3)).map { UInt8(($0 * 29 + seed * 13) % 256) })
    }

    /// Text and an empty file named as images, and two files that do not claim to be images.
    func addImpostors(_ dir: String) throws {
        try Data("just text".utf8).write(to: URL(fileURLWithPath: dir + "/notes.png"))
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.jpg"))
        try Data("read me".utf8).write(to: URL(fileURLWithPath: dir + "/README.txt"))
        try Data([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]).write(to: URL(fileURLWithPath: dir + "/.DS_Store"))
    }

    func assertNamed(_ r: Run, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 3, "\(what): \(r.stderr)", file: file, line: line)
        for name in ["notes.png", "empty.jpg"] {
            XCTAssertTrue(r.stderr.contains(name), "\(what): \(name) is named: \(r.stderr)", file: file, line: line)
        }
        for name in ["README.txt", ".DS_Store"] {
            XCTAssertFalse(r.stderr.contains(name), "\(what): \(name) stays quiet: \(r.stderr)", file: file, line: line)
        }
    }

    func testTranslateNamesFilesThatClaimToBeImages() throws {
        var rng = SplitMix64(seed: 7)
        let cfg = ModelConfig.generator("resnet_1blocks", ngf: 4)
        let model = path("g.safetensors")
        try save(try makeGenerator(cfg, using: &rng), config: cfg, to: model)
        let input = path("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        try writeImage(pattern(16, 12, seed: 1), to: input + "/good.png")
        try Data("read me".utf8).write(to: URL(fileURLWithPath: input + "/README.txt"))

        // Only files that do not claim to be images besides the good one: status 0, nothing named.
        let clean = try img2img(["translate", "--model", model, "--input", input, "--output", path("out"), "--quiet"])
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertEqual(clean.stderr, "")

        try addImpostors(input)
        let r = try img2img(["translate", "--model", model, "--input", input, "--output", path("out2"), "--quiet"])
        assertNamed(r, "translate")
        XCTAssertTrue(r.stderr.contains("named as an image but not one"), r.stderr)
        XCTAssertTrue(r.stdout.contains("translated 1 images") && r.stdout.contains("2 failed"), r.stdout)
        XCTAssertEqual(files(under: path("out2")), ["good.png"])
    }

    /// A 2-pair aligned dataset of 32x32 halves (64x32 A|B images) under `root`/train.
    func smallPairs(_ root: String) throws {
        try FileManager.default.createDirectory(atPath: root + "/train", withIntermediateDirectories: true)
        for i in 0..<2 { try writeImage(pattern(64, 32, seed: i), to: root + "/train/p\(i).png") }
    }

    func trainArgs(_ root: String, name: String = "run", netG: String = "resnet_1blocks", extra: [String] = []) -> [String] {
        ["train", "pix2pix", "--dataroot", root, "--name", name, "--checkpoints-dir", path("runs"), "--netG", netG,
         "--ngf", "4", "--ndf", "4", "--preprocess", "none", "--batch-size", "1", "--n-epochs", "1",
         "--n-epochs-decay", "0", "--seed", "1", "--quiet"] + extra
    }

    func testTrainAndTestNameFilesThatClaimToBeImages() throws {
        let root = path("pairs")
        try smallPairs(root)
        try Data("read me".utf8).write(to: URL(fileURLWithPath: root + "/train/README.txt"))
        let clean = try img2img(trainArgs(root))
        XCTAssertEqual(clean.status, 0, "README.txt alone is ignored: \(clean.stderr)")
        XCTAssertFalse(clean.stderr.contains("README.txt"), clean.stderr)

        try addImpostors(root + "/train")
        let r = try img2img(trainArgs(root, extra: ["--overwrite"]))
        assertNamed(r, "train")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/run/latest_net_G.safetensors")), "the run still trains")

        let t = try img2img(["test", "pix2pix", "--dataroot", root, "--phase", "train", "--name", "run",
                             "--checkpoints-dir", path("runs"), "--results-dir", path("results")])
        assertNamed(t, "test")
    }

    func testImagesANetworkCannotTakeAreRefusedBeforeTheFirstStep() throws {
        let root = path("pairs")
        try smallPairs(root)
        let r = try img2img(trainArgs(root, netG: "unet_128"))
        // A usage error found from the files' headers, naming a file, before any step.
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("unet_128 needs sides that are multiples of 128; got 32x32: use --crop-size 128"), r.stderr)
        XCTAssertTrue(r.stderr.contains("p0.png is 32x32 after --preprocess none"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/run/latest.safetensors")), "no step, no checkpoint")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/run/loss_log.jsonl"))
                       && ((try? String(contentsOfFile: path("runs/run/loss_log.jsonl"), encoding: .utf8)) ?? "") != "",
                       "no iteration was logged")
        // unet_32 takes 32x32: the same data trains
        let ok = try img2img(trainArgs(root, name: "unet32", netG: "unet_32", extra: ["--norm", "instance"]))
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    func testWarnsWhenAWholeEpochRunsAtLearningRateZero() throws {
        let root = path("pairs")
        try smallPairs(root)
        let only = try img2img(trainArgs(root))
        XCTAssertEqual(only.status, 0, only.stderr)
        XCTAssertTrue(only.stderr.contains("warning: epoch 1 of 1 will run at learning rate 0"), only.stderr)
        XCTAssertTrue(only.stderr.contains("--n-epochs 1 --n-epochs-decay 0"), only.stderr)
        XCTAssertTrue(only.stderr.contains("the run will not change the networks"), only.stderr)
        // step policy: the rate never reaches 0 in two epochs, no warning
        let step = try img2img(trainArgs(root, name: "step", extra: ["--lr-policy", "step", "--n-epochs", "2"]))
        XCTAssertEqual(step.status, 0, step.stderr)
        XCTAssertFalse(step.stderr.contains("learning rate 0"), step.stderr)
    }
}
