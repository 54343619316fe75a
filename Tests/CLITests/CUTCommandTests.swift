import XCTest
import Foundation
import ImageIO

/// `img2img train cut` / `train fastcut` from their registrations, then `translate` with the run's
/// generator and with a CUT-format latest_net_G.pth.
final class CUTCommandTests: CLITestCase {
    func unpaired(_ root: String) throws {
        for (dir, seed) in [("trainA", 1), ("trainB", 2)] {
            try FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
            for i in 0..<2 {
                try writeImage(Image(width: 32, height: 32, channels: 3,
                                     pixels8: (0..<(32 * 32 * 3)).map { UInt8(($0 * (31 + i) + seed * 57) % 256) }),
                               to: "\(root)/\(dir)/\(i).png")
            }
        }
    }

    func args(_ model: String, root: String, name: String, extra: [String] = []) -> [String] {
        ["train", model, "--dataroot", root, "--name", name, "--checkpoints-dir", path("runs"),
         "--netG", "resnet_1blocks", "--ngf", "4", "--ndf", "4", "--preprocess", "none", "--batch-size", "1",
         "--n-epochs", "1", "--n-epochs-decay", "0", "--seed", "2", "--num-patches", "8", "--netF-nc", "8", "--quiet"] + extra
    }

    func testTrainCUTAndFastCUTThenTranslate() throws {
        let root = path("data")
        try unpaired(root)
        let r = try img2img(args("cut", root: root, name: "cut", extra: ["--nce-layers", "0,4,8", "--lambda-NCE", "2"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        for f in ["latest.safetensors", "latest_net_G.safetensors", "latest_net_F.safetensors", "latest_net_D.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/cut/" + f)), "missing \(f)")
        }
        let opt = try String(contentsOfFile: path("runs/cut/opt.txt"), encoding: .utf8)
        XCTAssertTrue(opt.contains("nce_layers: 0,4,8") && opt.contains("lambda_NCE: 2") && opt.contains("nce_idt: True"), opt)
        let log = try String(contentsOfFile: path("runs/cut/loss_log.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("\"NCE\"") && log.contains("\"NCE_Y\""), log)

        let f = try img2img(args("fastcut", root: root, name: "fast"))
        XCTAssertEqual(f.status, 0, f.stderr)
        let fastLog = try String(contentsOfFile: path("runs/fast/loss_log.jsonl"), encoding: .utf8)
        XCTAssertFalse(fastLog.contains("\"NCE_Y\""), "FastCUT has no identity NCE")

        // The run's generator translates without flags, from its own file and from the checkpoint.
        for model in ["runs/cut/latest_net_G.safetensors", "runs/cut/latest.safetensors"] {
            let out = path("out-" + (model as NSString).lastPathComponent)
            let t = try img2img(["translate", "--model", path(model), "--input", root + "/trainA", "--output", out, "--quiet"])
            XCTAssertEqual(t.status, 0, t.stderr)
            XCTAssertEqual(files(under: out).count, 2)
        }

        // The paper code's test.py: testA through G, a results page.
        try FileManager.default.copyItem(atPath: root + "/trainA", toPath: root + "/testA")
        let tt = try img2img(["test", "cut", "--dataroot", root, "--name", "cut", "--checkpoints-dir", path("runs"),
                              "--results-dir", path("results")])
        XCTAssertEqual(tt.status, 0, tt.stderr)
        let page = try String(contentsOfFile: path("results/cut/test_latest/index.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("fake_B") && page.contains("real_A"), page)

        // Usage errors are typed, with the option's name.
        let bad = try img2img(args("cut", root: root, name: "bad", extra: ["--nce-layers", "4,0"]))
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--nce-layers"), bad.stderr)
    }

    func testHelpListsCUTAndItsOptions() throws {
        let help = try img2img(["train", "--help"])
        XCTAssertTrue(help.stdout.contains("cut:") && help.stdout.contains("fastcut:"), help.stdout)
        for option in ["--nce-layers", "--num-patches", "--nce-T", "--lambda-NCE", "--nce-idt", "--flip-equivariance",
                       "--netF-nc", "--no-antialias", "--no-antialias-up"] {
            XCTAssertTrue(help.stdout.contains(option), option)
        }
    }

    /// CUT's released generators are `torch.save(netG.state_dict())`: the architecture (anti-aliased
    /// down and up) comes from the keys.
    func testCUTPthTranslates() throws {
        let pth = Self.repoRoot.appendingPathComponent("Tests/ModelTests/Fixtures/cut_G_ngf4.pth").path
        let input = path("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        try writeImage(Image(width: 36, height: 28, channels: 3, pixels8: (0..<(36 * 28 * 3)).map { UInt8($0 % 251) }),
                       to: input + "/a.png")
        let t = try img2img(["translate", "--model", pth, "--input", input, "--output", path("out"), "--quiet"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertEqual(files(under: path("out")).count, 1)
    }
}
