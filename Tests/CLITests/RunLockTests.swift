// Issue 16: one writer per run. A second `train` with the same --name is refused while the first
// runs (flock on RUN/.lock, naming the holder's pid); once the first is gone, even killed,
// `--continue` works (the kernel released the lock). Two `translate` processes on one output
// folder never leave a corrupt or half-written file, and their outputs equal a single run's.
import XCTest
import Foundation
import ImageIO
import Models
import NN
import TensorCore
import _TestSupport

final class RunLockTests: CLITestCase {
    func pairs(_ root: String) throws {
        try FileManager.default.createDirectory(atPath: root + "/train", withIntermediateDirectories: true)
        for i in 0..<2 {
            let img = Image(width: 64, height: 32, channels: 3, pixels8: (0..<(64 * 32 * 3)).map { UInt8(($0 * 31 + i * 7) % 256) })
            try writeImage(img, to: root + "/train/p\(i).png")
        }
    }

    func trainArgs(_ root: String, epochs: Int, extra: [String] = []) -> [String] {
        ["train", "pix2pix", "--dataroot", root, "--name", "run", "--checkpoints-dir", path("runs"), "--netG", "resnet_1blocks",
         "--ngf", "4", "--ndf", "4", "--preprocess", "none", "--n-epochs", "\(epochs)", "--n-epochs-decay", "0",
         "--save-latest-freq", "1", "--threads", "1", "--quiet"] + extra
    }

    func testSecondTrainOnTheSameRunIsRefusedUntilTheFirstEnds() throws {
        let root = path("pairs")
        try pairs(root)
        let first = try startProcess(Self.binary, trainArgs(root, epochs: 100_000))
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
        // wait until the first run holds the lock and has a checkpoint to continue from
        let latest = path("runs/run/latest.safetensors")
        let deadline = Date().addingTimeInterval(120)
        while first.isRunning && !FileManager.default.fileExists(atPath: latest) && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(first.isRunning, "the first run is still running")

        let second = try img2img(trainArgs(root, epochs: 1))
        XCTAssertEqual(second.status, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("in use by another img2img train (pid \(first.processIdentifier))"), second.stderr)
        let cont = try img2img(trainArgs(root, epochs: 1, extra: ["--continue"]))
        XCTAssertEqual(cont.status, 1, "--continue while it runs is refused too: \(cont.stderr)")

        // killed: the kernel drops the lock, no stale lock is left behind
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let after = try img2img(trainArgs(root, epochs: 1, extra: ["--continue", "--override"]))
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertFalse(after.stderr.contains("in use"), after.stderr)
    }

    func testTwoTranslatorsOnOneOutputFolderLeaveOnlyWholeEqualFiles() throws {
        var rng = SplitMix64(seed: 3)
        let cfg = ModelConfig.generator("resnet_1blocks", ngf: 4)
        let model = path("g.safetensors")
        try save(try makeGenerator(cfg, using: &rng), config: cfg, to: model)
        let input = path("in")
        try FileManager.default.createDirectory(atPath: input + "/sub", withIntermediateDirectories: true)
        let count = 40
        for i in 0..<count {
            let img = Image(width: 40, height: 32, channels: 3, pixels8: (0..<(40 * 32 * 3)).map { UInt8(($0 * 17 + i * 11) % 256) })
            try writeImage(img, to: input + (i % 2 == 0 ? "/sub" : "") + "/img\(i).png")
        }
        let reference = try img2img(["translate", "--model", model, "--input", input, "--output", path("ref"), "--quiet",
                                     "--threads", "1"])
        XCTAssertEqual(reference.status, 0, reference.stderr)

        // two shards given the same K by mistake: both translate the whole folder at once
        let out = path("out")
        let procs = try (0..<2).map { _ in
            try startProcess(Self.binary, ["translate", "--model", model, "--input", input, "--output", out, "--quiet",
                                           "--threads", "1", "--shard", "0/1"])
        }
        for p in procs { p.waitUntilExit() }
        for p in procs { XCTAssertEqual(p.terminationStatus, 0) }
        let made = files(under: out)
        XCTAssertEqual(made, files(under: path("ref")), "every output once, no temporary file left")
        for f in made {
            let a = try Data(contentsOf: URL(fileURLWithPath: out + "/" + f))
            let b = try Data(contentsOf: URL(fileURLWithPath: path("ref/" + f)))
            XCTAssertEqual(a, b, "\(f) equals the single-process output")
            XCTAssertNoThrow(try readImage(at: out + "/" + f))
        }
        XCTAssertEqual(made.count, count)
    }
}
