// `img2img train cgan` with the matching-aware D options (issue 12), then `generate`.
import XCTest
import Foundation
import ImageIO
import Models

final class CGANCommandTests: CLITestCase {
    func makeData(classes: [String]) throws {
        for (ci, cls) in classes.enumerated() {
            for i in 0..<4 {
                let p = path("data/\(cls)/\(i).png")
                try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try writeImage(Image(width: 8, height: 8, channels: 1, fill: UInt8(30 + ci * 90 + i)), to: p, format: .png)
            }
        }
    }

    func train(_ name: String, epochs: Int, _ extra: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try img2img(["train", "cgan", "--dataroot", path("data"), "--name", name, "--checkpoints-dir", path("runs"),
                             "--image-size", "8", "--nz", "8", "--ngf", "4", "--ndf", "4", "--output-nc", "1",
                             "--batch-size", "4", "--n-epochs", "\(epochs)", "--n-epochs-decay", "0", "--quiet"] + extra)
        return (r.status, r.stdout, r.stderr)
    }

    func testProjectionSpectralNormMismatchTrainsContinuesAndGenerates() throws {
        try makeData(classes: ["dark", "mid", "light"])
        let opts = ["--netD", "projection", "--spectral-norm", "--mismatch-weight", "0.5"]
        let t = try train("p", epochs: 1, opts)
        XCTAssertEqual(t.status, 0, t.stderr)
        let d = try loadNetwork(path: path("runs/p/latest_net_D.safetensors"))
        XCTAssertEqual(d.config.netD, "projection")
        XCTAssertTrue(d.config.spectralNorm)
        XCTAssertTrue(d.module is ProjectionDiscriminator)
        XCTAssertTrue(d.file.names.contains("linear.weight_u"), "spectral norm's vectors are saved")
        let log = try String(contentsOfFile: path("runs/p/loss_log.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("D_wrong"), log)

        let c = try train("p", epochs: 2, opts + ["--continue", "--override"])
        XCTAssertEqual(c.status, 0, c.stderr)

        let g = try img2img(["generate", "--model", path("runs/p/latest_net_G.safetensors"), "--label", "mid", "--count", "2",
                             "--output", path("gen")])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertEqual(files(under: path("gen")), ["mid_0.png", "mid_1.png"])
        let fromCheckpoint = try img2img(["generate", "--model", path("runs/p/latest.safetensors"), "--all-labels", "--count", "1",
                                          "--output", path("gen2")])
        XCTAssertEqual(fromCheckpoint.status, 0, fromCheckpoint.stderr)
    }

    func testWithoutMismatchedPairsNoDWrongIsLogged() throws {
        try makeData(classes: ["a", "b"])
        let t = try train("plain", epochs: 1, ["--mismatch-weight", "0"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let log = try String(contentsOfFile: path("runs/plain/loss_log.jsonl"), encoding: .utf8)
        XCTAssertFalse(log.contains("D_wrong"), log)
        XCTAssertTrue(log.contains("D_real"), log)
    }

    func testOptionsAreCheckedAndDocumented() throws {
        try makeData(classes: ["only"])
        let help = try img2img(["train", "cgan", "--help"])
        for word in ["--mismatch-weight", "--spectral-norm", "projection", "GAN-CLS"] {
            XCTAssertTrue(help.stdout.contains(word), "help lacks \(word): \(help.stdout)")
        }
        let oneClass = try train("one", epochs: 1, [])
        XCTAssertNotEqual(oneClass.status, 0)
        XCTAssertTrue(oneClass.stderr.contains("--mismatch-weight 0"), oneClass.stderr)
        XCTAssertEqual(try train("one0", epochs: 1, ["--mismatch-weight", "0"]).status, 0, "one class trains without mismatched pairs")
        let tooBig = try train("w", epochs: 1, ["--mismatch-weight", "1.5"])
        XCTAssertNotEqual(tooBig.status, 0); XCTAssertTrue(tooBig.stderr.contains("[0, 1]"), tooBig.stderr)
        let pixel = try train("px", epochs: 1, ["--netD", "pixel"])
        XCTAssertNotEqual(pixel.status, 0); XCTAssertTrue(pixel.stderr.contains("basic"), pixel.stderr)
        let p2p = try img2img(["train", "pix2pix", "--dataroot", path("data"), "--name", "x", "--checkpoints-dir", path("runs"),
                               "--netD", "projection", "--quiet"])
        XCTAssertNotEqual(p2p.status, 0); XCTAssertTrue(p2p.stderr.contains("cgan"), p2p.stderr)
        let dc = try img2img(["train", "dcgan", "--dataroot", path("data"), "--name", "y", "--checkpoints-dir", path("runs"),
                              "--spectral-norm", "--quiet"])
        XCTAssertNotEqual(dc.status, 0, "spectral norm is cgan's option")
    }

    func testEvalFreqWithoutHeldOutDataIsRefusedBeforeTraining() throws {
        try makeData(classes: ["dark", "light"])
        let t = try train("e", epochs: 1, ["--eval-freq", "1"])
        XCTAssertEqual(t.status, 64, t.stderr)
        XCTAssertTrue(t.stderr.contains("--eval-dataroot"), t.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/e/latest_net_G.safetensors")), "nothing was trained")
        let m = try train("m", epochs: 1, ["--eval-freq", "1", "--eval-dataroot", path("nowhere")])
        XCTAssertEqual(m.status, 64, m.stderr)
        XCTAssertTrue(m.stderr.contains("nowhere: no such folder"), m.stderr)
    }
}
