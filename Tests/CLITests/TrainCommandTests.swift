import XCTest
import Foundation
import ImageIO
import _TestSupport

final class TrainCommandTests: CLITestCase {
    static let earth = repoRoot.appendingPathComponent("datasets/earth-day2night").path

    func tiny(_ name: String, epochs: Int, extra: [String] = []) -> [String] {
        ["train", "pix2pix", "--dataroot", Self.earth, "--name", name, "--checkpoints-dir", path("runs"),
         "--netG", "resnet_1blocks", "--ngf", "4", "--ndf", "4", "--norm", "instance",
         "--preprocess", "resize_and_crop", "--load-size", "36", "--crop-size", "32", "--batch-size", "4",
         "--n-epochs", "\(epochs)", "--n-epochs-decay", "0", "--print-freq", "1", "--seed", "3", "--quiet"] + extra
    }

    func testTrainingWritesCheckpointsLogsAndReportAndResumes() throws {
        let r = try img2img(tiny("run", epochs: 1))
        XCTAssertEqual(r.status, 0, r.stderr)
        let dir = path("runs/run")
        for f in ["latest.safetensors", "latest_net_G.safetensors", "latest_net_D.safetensors", "loss_log.jsonl",
                  "index.html", "options.json", "opt.txt", "web/images/epoch001_01_fake_B.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + f), "missing \(f)")
        }
        let html = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && html.contains("<polyline") && html.contains("epoch001_01_fake_B.png") && html.contains("fake_B"))
        XCTAssertFalse(html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"), "no external resources")
        let log = try String(contentsOfFile: dir + "/loss_log.jsonl", encoding: .utf8)
        XCTAssertTrue(log.contains("\"G_L1\""))

        // --continue picks the run up where it stopped and goes on to the new last epoch.
        let c = try img2img(tiny("run", epochs: 2, extra: ["--continue", "--override"]))
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/web/images/epoch002_01_fake_B.png"))

        // The trained generator translates a folder.
        let t = try img2img(["translate", "--model", dir + "/latest_net_G.safetensors",
                             "--input", Self.repoRoot.appendingPathComponent("datasets/samples/earth-night").path,
                             "--output", path("out"), "--quiet"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertEqual(files(under: path("out")).count, 8)
        // The paper code's test.py: results page and metrics against the ground truth.
        let tt = try img2img(["test", "pix2pix", "--dataroot", Self.earth, "--name", "run", "--checkpoints-dir", path("runs"),
                              "--results-dir", path("results"), "--num-test", "3"])
        XCTAssertEqual(tt.status, 0, tt.stderr)
        XCTAssertTrue(tt.stdout.contains("PSNR") && tt.stdout.contains("SSIM"), tt.stdout)
        let page = try String(contentsOfFile: path("results/run/test_latest/index.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("fake_B") && page.contains("real_B"))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("results/run/test_latest/metrics.json")))) as? [String: Any]
        XCTAssertEqual(metrics?["pairs"] as? Int, 3)
        // The training checkpoint itself works as --model too, and gives the same images.
        let c2 = try img2img(["translate", "--model", dir + "/latest.safetensors",
                              "--input", Self.repoRoot.appendingPathComponent("datasets/samples/earth-night").path,
                              "--output", path("out2"), "--quiet"])
        XCTAssertEqual(c2.status, 0, c2.stderr)
        for f in files(under: path("out")) {
            XCTAssertEqual(try readImage(at: path("out/" + f)), try readImage(at: path("out2/" + f)), f)
        }
    }

    /// A model is one registration: `train template` comes from Training's registry alone, with
    /// its own options parsed and documented; a model's options are refused for another model.
    func testTemplateTrainsFromItsRegistrationAndModelOptionsAreChecked() throws {
        var args = tiny("template", epochs: 1, extra: ["--lambda-regression", "2", "--lambda-GAN=0.5"])
        args[1] = "template"
        let r = try img2img(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let opt = try String(contentsOfFile: path("runs/template/opt.txt"), encoding: .utf8)
        XCTAssertTrue(opt.contains("lambda_regression: 2"), opt)
        let options = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("runs/template/options.json"))))
        XCTAssertEqual((options as? [String: Any])?["model"] as? String, "template")
        let log = try String(contentsOfFile: path("runs/template/loss_log.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("\"G_regression\""), log)

        let help = try img2img(["train", "--help"])
        XCTAssertTrue(help.stdout.contains("template:") && help.stdout.contains("--lambda-regression"), help.stdout)

        let wrong = try img2img(tiny("wrong", epochs: 1, extra: ["--lambda-A", "3"]))
        XCTAssertEqual(wrong.status, 64, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("unknown option --lambda-A for pix2pix") && wrong.stderr.contains("--lambda-L1"),
                      wrong.stderr)
        let bad = try img2img(tiny("bad", epochs: 1, extra: ["--lambda-L1", "x"]))
        XCTAssertEqual(bad.status, 64, bad.stderr)
        var unknown = tiny("unknown", epochs: 1)
        unknown[1] = "nosuchmodel"
        let u = try img2img(unknown)
        XCTAssertEqual(u.status, 64, u.stderr)
        XCTAssertTrue(u.stderr.contains("unknown model 'nosuchmodel': cyclegan, ") && u.stderr.contains(", pix2pix, ") && u.stderr.contains(", template"), u.stderr)
    }

    /// --save-latest-epochs 2 over 3 epochs: latest after epoch 2 and after the last one only; a
    /// negative value is a usage error.
    func testSaveLatestEveryKEpochs() throws {
        var args = tiny("k", epochs: 3, extra: ["--save-latest-epochs", "2"])
        args.removeAll { $0 == "--quiet" }
        let r = try img2img(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") && $0.contains("done in") }
        XCTAssertEqual(lines.count, 3, r.stdout)
        XCTAssertEqual(lines.map { $0.contains("saved") }, [false, true, true], r.stdout)
        let bad = try img2img(tiny("k2", epochs: 1, extra: ["--save-latest-epochs", "-1"]))
        XCTAssertEqual(bad.status, 64, bad.stderr)
    }

    func testKilledAndResumedRunEqualsUninterruptedRun() throws {
        let opts = ["--save-latest-freq", "2", "--no-dropout"]
        XCTAssertEqual(try img2img(tiny("straight", epochs: 3, extra: opts)).status, 0)
        // SIGKILL at staggered moments (each after a checkpoint exists), then --continue until done.
        var resumes = 0
        var finished = false
        for delay in [0.0, 0.3, 0.7, 1.5] where !finished {
            let p = try startProcess(Self.binary, tiny("killed", epochs: 3, extra: opts + (resumes > 0 ? ["--continue"] : [])))
            let latest = path("runs/killed/latest.safetensors")
            let deadline = Date().addingTimeInterval(60)
            while p.isRunning && !FileManager.default.fileExists(atPath: latest) && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            Thread.sleep(forTimeInterval: delay)
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            finished = p.terminationReason == .exit && p.terminationStatus == 0
            resumes += 1
            // Whatever moment the kill hit, the checkpoint on disk is complete and loads.
            XCTAssertNoThrow(try readTensorBytes(latest))
        }
        if !finished {
            let r = try img2img(tiny("killed", epochs: 3, extra: opts + ["--continue"]))
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(try readTensorBytes(path("runs/straight/latest_net_G.safetensors")),
                       try readTensorBytes(path("runs/killed/latest_net_G.safetensors")),
                       "a killed and resumed run ends with the same weights bit for bit")
        XCTAssertEqual(try readTensorBytes(path("runs/straight/latest.safetensors")),
                       try readTensorBytes(path("runs/killed/latest.safetensors")))
    }

    func testNonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        XCTAssertEqual(try img2img(tiny("nan", epochs: 1, extra: ["--norm", "none"])).status, 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: path("runs/nan/latest.safetensors")))
        let r = try img2img(tiny("nan", epochs: 3, extra: ["--continue", "--override", "--lr", "1e30", "--norm", "none"]))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("loss") && (r.stderr.contains("nan") || r.stderr.contains("inf")), r.stderr)
        let after = try Data(contentsOf: URL(fileURLWithPath: path("runs/nan/latest.safetensors")))
        XCTAssertEqual(before, after, "the last good checkpoint is kept")
    }

    func testInterruptSavesAndExits() throws {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = tiny("int", epochs: 500)
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        try p.run()
        // Wait for the first epoch's checkpoint, then press Ctrl-C.
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: path("runs/int/latest.safetensors")) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let out = String(decoding: (p.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(out.contains("interrupted: saved"), out)
        let c = try img2img(tiny("int", epochs: 1, extra: ["--continue", "--override"]))
        XCTAssertEqual(c.status, 0, c.stderr)
    }

    /// The tensor bytes of a safetensors file (the header's metadata may differ between runs).
    func readTensorBytes(_ p: String) throws -> Data {
        let d = try Data(contentsOf: URL(fileURLWithPath: p))
        guard d.count >= 8 else { throw CocoaError(.fileReadCorruptFile) }
        let n = d.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        guard 8 + Int(n) <= d.count else { throw CocoaError(.fileReadCorruptFile) }
        return Data(d.dropFirst(8 + Int(n)))
    }
}
