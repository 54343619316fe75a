// Issue 26 from the command line: bad files in a training folder are named, skipped and
// counted (the log, the report) unless --strict-data; a NaN loss is traced to its op, layer and
// files, in the message and RUN/anomaly.json.
import XCTest
import Foundation
import ImageIO
import Checkpoint
import Models
import TensorCore

final class RobustTrainingTests: CLITestCase {
    func pattern(_ w: Int, _ h: Int, seed: Int) -> Image {
        Image(width: w, height: h, channels: 3, pixels8: (0..<(w * h * 3)).map { UInt8(($0 * 29 + seed * 13) % 256) })
    }

    func train(_ root: String, name: String, extra: [String] = []) -> [String] {
        ["train", "pix2pix", "--dataroot", root, "--name", name, "--checkpoints-dir", path("runs"), "--netG", "resnet_1blocks",
         "--ngf", "4", "--ndf", "4", "--preprocess", "none", "--n-epochs", "1", "--n-epochs-decay", "1",
         "--print-freq", "1", "--seed", "1", "--threads", "1", "--quiet"] + extra
    }

    /// Three good pairs and a PNG cut short (its header reads, its pixels do not).
    func data(_ root: String) throws {
        try FileManager.default.createDirectory(atPath: root + "/train", withIntermediateDirectories: true)
        for i in 0..<3 { try writeImage(pattern(64, 32, seed: i), to: root + "/train/p\(i).png") }
        try writeImage(pattern(64, 32, seed: 9), to: path("whole.png"))
        let whole = try Data(contentsOf: URL(fileURLWithPath: path("whole.png")))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: root + "/train/truncated.png"))
    }

    func testABadTrainingFileIsSkippedAndCountedUnlessStrict() throws {
        let root = path("pairs")
        try data(root)
        let r = try img2img(train(root, name: "skip"))
        XCTAssertEqual(r.status, 3, "the run ends, with the failed file's status: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("truncated.png"), r.stderr)
        XCTAssertTrue(r.stdout.contains("finished 2 epochs"), r.stdout)
        let log = try String(contentsOfFile: path("runs/skip/loss_log.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("\"skipped_files\":1"), log)
        let page = try String(contentsOfFile: path("runs/skip/index.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("1 input file skipped") && page.contains("truncated.png"), page)

        let strict = try img2img(train(root, name: "strict", extra: ["--strict-data"]))
        XCTAssertEqual(strict.status, 1, strict.stderr)
        XCTAssertTrue(strict.stderr.contains("truncated.png") && strict.stderr.contains("--strict-data"), strict.stderr)
        XCTAssertFalse(strict.stdout.contains("finished"), strict.stdout)

        // Without a bad file, --strict-data changes nothing.
        try FileManager.default.removeItem(atPath: root + "/train/truncated.png")
        let clean = try img2img(train(root, name: "clean", extra: ["--strict-data"]))
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertFalse(try String(contentsOfFile: path("runs/clean/loss_log.jsonl"), encoding: .utf8).contains("skipped_files"))
    }

    /// A NaN loss (a learning rate of 1e30 after a first epoch) names the op, its layer, the pass
    /// and the batch's files, and writes RUN/anomaly.json; --detect-anomaly finds it as it runs.
    func testANaNIsTracedToItsOpLayerAndFiles() throws {
        let root = path("pairs")
        try data(root)
        try FileManager.default.removeItem(atPath: root + "/train/truncated.png")
        XCTAssertEqual(try img2img(train(root, name: "nan", extra: ["--norm", "none"])).status, 0)
        let more = ["--continue", "--override", "--lr", "1e30", "--n-epochs", "3"]
        for (name, extra) in [("replayed", [String]()), ("live", ["--detect-anomaly"])] {
            try? FileManager.default.removeItem(atPath: path("runs/nan/anomaly.json"))
            let r = try img2img(["train", "--continue", "--name", "nan", "--checkpoints-dir", path("runs")] + more + extra)
            XCTAssertEqual(r.status, 1, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("First non-finite value:"), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(" in G.model.") || r.stderr.contains(" in D.model."), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("pass"), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("The batch: " + root + "/train/p"), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("lower --lr"), "\(name): \(r.stderr)")
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("runs/nan/anomaly.json")))) as! [String: Any]
            XCTAssertNotNil(record["op"], "\(name)")
            XCTAssertNotNil(record["layer"], "\(name)")
        }
    }
}

/// Weights saved from a run that diverged are refused by every command that loads a generator,
/// naming the tensor.
final class NonFiniteWeightsTests: CLITestCase {
    func testNonFiniteWeightsAreRefusedNamingTheTensor() throws {
        var rng = SplitMix64(seed: 2)
        let cfg = ModelConfig.generator("resnet_1blocks", ngf: 4)
        let good = path("good.safetensors")
        try save(try makeGenerator(cfg, using: &rng), config: cfg, to: good)
        var file = try SafeTensors.read(path: good)
        let i = file.tensors.firstIndex { $0.name == "model.1.weight" }!
        file.tensors[i].values[5] = .nan
        let bad = path("bad.safetensors")
        try SafeTensors.write(file, to: bad)
        try FileManager.default.createDirectory(atPath: path("in"), withIntermediateDirectories: true)
        try writeImage(Image(width: 16, height: 16, channels: 3, fill: 90), to: path("in/a.png"))

        // The good file works: the refusal is about the NaN.
        XCTAssertEqual(try img2img(["translate", "--model", good, "--input", path("in"), "--output", path("ok"), "--quiet"]).status, 0)
        for args in [["translate", "--model", bad, "--input", path("in"), "--output", path("out"), "--quiet"],
                     ["export", "--model", bad, "--output", path("g.onnx")],
                     ["convert", "--model", bad, "--output", path("c.safetensors")]] {
            let r = try img2img(args)
            XCTAssertEqual(r.status, 1, "\(args[0]): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("tensor model.1.weight holds nan (1 of"), "\(args[0]): \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out/a.png")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("g.onnx")))
    }
}
