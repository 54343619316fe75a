import XCTest
import Foundation
import Models
import NN
import TensorCore

/// `img2img export` as a user runs it; the graph itself is checked in ONNXTests.
final class ExportCommandTests: CLITestCase {
    func saved(_ cfg: ModelConfig, _ name: String) throws -> String {
        var rng = SplitMix64(seed: 5)
        let net = try makeNetwork(cfg, using: &rng)
        let p = path(name)
        try save(net, config: cfg, to: p)
        return p
    }

    func testExportKeepsAnExistingFileUnlessOverwrite() throws {
        let model = try saved(ModelConfig.generator("resnet_1blocks", ngf: 4), "g.safetensors")
        let out = path("g.onnx")
        let first = try img2img(["export", "--model", model, "--output", out])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("resnet_1blocks"), first.stdout)
        XCTAssertTrue(first.stdout.contains("opset 17"), first.stdout)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertGreaterThan(bytes.count, 1000)

        // A different model to the same path: refused, the file untouched.
        let other = try saved(ModelConfig.generator("resnet_2blocks", ngf: 4), "g2.safetensors")
        let again = try img2img(["export", "--model", other, "--output", out])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("--overwrite"), again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), bytes)

        let forced = try img2img(["export", "--model", other, "--output", out, "--overwrite"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: out)), bytes)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.contains(".tmp-") }, [])
    }

    func testDiscriminatorIsRefused() throws {
        let model = try saved(ModelConfig.discriminator("basic", ndf: 4), "d.safetensors")
        let r = try img2img(["export", "--model", model, "--output", path("d.onnx")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("discriminator"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("d.onnx")))
    }

    func testUsageErrors() throws {
        let model = try saved(ModelConfig.generator("resnet_0blocks", ngf: 2), "g.safetensors")
        for args in [["--opset", "9"], ["--batch-norm", "sometimes"], ["--direction", "sideways"]] {
            let r = try img2img(["export", "--model", model, "--output", path("g.onnx")] + args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("g.onnx")))
    }

    func testHelpDocumentsTheGraphContract() throws {
        let root = try img2img(["--help"])
        XCTAssertTrue(root.stdout.contains("export"), root.stdout)
        let r = try img2img(["export", "--help"])
        XCTAssertEqual(r.status, 0)
        for text in ["USAGE: img2img export", "--opset", "--batch-norm", "--centered-norms", "--overwrite", "\"input\"",
                     "\"output\"", "opset 17"] {
            XCTAssertTrue(r.stdout.contains(text), "export --help mentions \(text)")
        }
    }

    func testDirectionPicksTheCheckpointsGenerator() throws {
        let ckpt = Self.repoRoot.appendingPathComponent("Tests/ModelTests/Fixtures/cyclegan_step.safetensors").path
        let a = try img2img(["export", "--model", ckpt, "--output", path("a.onnx")])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("(G_A)"), a.stdout)
        let b = try img2img(["export", "--model", ckpt, "--output", path("b.onnx"), "--direction", "BtoA"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("(G_B)"), b.stdout)
    }
    /// --direction BtoA on a file with one generator is an error (before: ignored, the G file
    /// exported as if AtoB); a run folder is read as its latest generator.
    func testDirectionOnOneGeneratorIsAnErrorAndRunFoldersWork() throws {
        try FileManager.default.createDirectory(atPath: path("runs/p2p"), withIntermediateDirectories: true)
        let model = try saved(ModelConfig.generator("unet_32", ngf: 2), "runs/p2p/latest_net_G.safetensors")
        let b = try img2img(["export", "--model", model, "--output", path("b.onnx"), "--direction", "BtoA"])
        XCTAssertEqual(b.status, 1, b.stderr)
        XCTAssertTrue(b.stderr.contains("holds one generator (G, unet_32); --direction BtoA needs a CycleGAN checkpoint"), b.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("b.onnx")))
        let f = try img2img(["export", "--model", path("runs/p2p"), "--output", path("f.onnx")])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertTrue(f.stderr.contains("using \(model)") && f.stdout.contains("unet_32"), f.stderr + f.stdout)
    }
}
