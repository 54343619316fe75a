// Issue 6 at the command line: unusual and hostile output names, unwritable and full folders,
// and `translate` killed mid-folder. Full and read-only folders are tmpfs mounts (root, as in
// CI: permissions do not stop root's writes); the tests skip where they cannot mount one.
import XCTest
import Foundation
import ImageIO
import Models
import NN
import TensorCore
import _TestSupport

final class ReliabilityTests: CLITestCase {
    func makeModel(ngf: Int = 4) throws -> String {
        var rng = SplitMix64(seed: 7)
        let cfg = ModelConfig.generator("resnet_2blocks", ngf: ngf)
        let g = try makeGenerator(cfg, using: &rng)
        let p = path("g.safetensors")
        try save(g, config: cfg, to: p)
        return p
    }

    func put(_ rel: String, size: Int = 12, format: ImageFormat = .png, seed: Int = 0) throws {
        let p = path("in/" + rel)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let img = Image(width: size, height: size, channels: 3,
                        pixels8: (0..<(size * size * 3)).map { UInt8(($0 * 31 + seed * 7) % 256) })
        try writeImage(img, to: p, format: format)
    }

    func translate(_ model: String, output: String, extra: [String] = []) throws -> Run {
        try img2img(["translate", "--model", model, "--input", path("in"), "--output", output, "--quiet"] + extra)
    }

    /// Hidden temporary files (`.<name>.tmp-<pid>-<n>`) anywhere under `dir`.
    func temporaryFiles(under dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? [])
            .filter { ($0 as NSString).lastPathComponent.hasPrefix(".") && $0.contains(".tmp-") }
    }

    /// The finished outputs under `dir` (temporary files left out).
    func outputs(_ dir: String) -> [String] {
        files(under: dir).filter { !(($0 as NSString).lastPathComponent.hasPrefix(".") && $0.contains(".tmp-")) }
    }

    // MARK: Names

    func testUnusualNamesWork() throws {
        let model = try makeModel()
        let long = String(repeating: "a", count: 246) + ".png"  // 250 bytes: the temporary name must be cut
        let names = ["with space.png", "ünïcødé 日本語.png", long, "sub dir/x y.jpg", "émoji 🙂/ok.png", "-dash.png"]
        for (i, n) in names.enumerated() { try put(n, format: n.hasSuffix(".jpg") ? .jpeg : .png, seed: i) }
        let r = try translate(model, output: path("out"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(files(under: path("out")), names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        for n in names { XCTAssertNoThrow(try readImage(at: path("out/" + n)), n) }
        XCTAssertEqual(temporaryFiles(under: path("out")), [])

        // --format png renames the extension only
        let p = try translate(model, output: path("out-png"), extra: ["--format", "png"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("out-png/sub dir/x y.png")))
    }

    func testOutputsNeverLeaveTheOutputFolder() throws {
        let model = try makeModel()
        try put("a.png")
        try put("sub/b.png", seed: 1)
        try put("sub2/c.png", seed: 2)
        // The output folder holds a symbolic link where an input folder's output would go,
        // and a link in place of one output file.
        let outside = path("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: path("out"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path("out/sub"), withDestinationPath: outside)
        try FileManager.default.createDirectory(atPath: path("out/sub2"), withIntermediateDirectories: true)

        let r = try translate(model, output: path("out"))
        XCTAssertEqual(r.status, 3, "the file behind the link fails, the others are translated: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("sub/b.png") && r.stderr.contains("symbolic link"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "nothing written outside")
        XCTAssertNoThrow(try readImage(at: path("out/a.png")))

        // A link in place of a finished output (made after the run: before it, an unrecorded
        // file where an output goes would be refused without --overwrite).
        try FileManager.default.removeItem(atPath: path("out/sub2/c.png"))
        try FileManager.default.createSymbolicLink(atPath: path("out/sub2/c.png"), withDestinationPath: outside + "/c.png")

        // --overwrite replaces the link to a file by a file; it never writes through it
        let o = try translate(model, output: path("out"), extra: ["--overwrite"])
        XCTAssertEqual(o.status, 3, o.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "nothing written outside")
    }

    // MARK: Hostile model files

    func testHostileCheckpointsAreRefusedByEveryCommand() throws {
        try put("a.png")
        let fixtures = Self.repoRoot.appendingPathComponent("Tests/CheckpointTests/Fixtures").path
        for (file, global) in [("evil_os_system_zip.pth", "os.system"), ("evil_subprocess_popen_legacy.pth", "subprocess.Popen"),
                               ("evil_builtins_eval_zip.pth", "builtins.eval")] {
            let model = fixtures + "/" + file
            for args in [["translate", "--model", model, "--input", path("in"), "--output", path("out")],
                         ["convert", "--model", model, "--output", path("converted.safetensors")]] {
                let r = try img2img(args)
                XCTAssertEqual(r.status, 1, "\(args[0]) \(file): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("refusing pickle global '\(global)'"), r.stderr)
                XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/img2img_checkpoint_PWNED"), "nothing ran")
        XCTAssertEqual(files(under: path("out")), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("converted.safetensors")))
    }

    // MARK: Unwritable and full output

    func testReadOnlyOutputGivesOneErrorPerFileAndStatus3() throws {
        let model = try makeModel()
        try put("a.png")
        try put("b.jpg", format: .jpeg, seed: 1)
        let out = try unwritableDirectory("ro")
        let r = try translate(model, output: out)
        XCTAssertEqual(r.status, 3, "a clear error per file, not a crash: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("img2img: ") }
        XCTAssertEqual(lines.count, 2, r.stderr)
        XCTAssertTrue(lines.contains { $0.contains("a.png") } && lines.contains { $0.contains("b.jpg") }, r.stderr)
        XCTAssertTrue(r.stderr.contains("Read-only file system") || r.stderr.contains("Permission denied"), r.stderr)
        XCTAssertTrue(r.stdout.contains("translated 0 images") && r.stdout.contains("2 failed"), r.stdout)
    }

    func testFullDiskDuringTranslateFailsCleanly() throws {
        let model = try makeModel()
        for i in 0..<6 { try put("img\(i).png", size: 64, seed: i) }
        let out = try mountTmpfs("full", size: "1m")
        fill(out, leaving: 20_000)
        let r = try translate(model, output: out)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        for f in outputs(out) where f != "filler" {
            XCTAssertNoThrow(try readImage(at: out + "/" + f), "\(f) is whole")
        }
        XCTAssertEqual(temporaryFiles(under: out), [], "failed writes leave no temporary file")
        let written = outputs(out).filter { $0 != "filler" }
        XCTAssertLessThan(written.count, 6, "the disk was full for some of them")
        for i in 0..<6 where !written.contains("img\(i).png") {
            XCTAssertTrue(r.stderr.contains("img\(i).png: ") && r.stderr.contains("No space left on device"),
                          "img\(i).png is named with the reason: \(r.stderr)")
        }
        // with room again, a rerun finishes the rest
        try FileManager.default.removeItem(atPath: out + "/filler")
        let again = try translate(model, output: out)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(outputs(out).filter { $0 != "filler" }.count, 6)
    }

    func testTrainingCheckpointOnAFullOrReadOnlyDiskKeepsThePreviousOne() throws {
        let runs = try mountTmpfs("runs", size: "4m")
        let earth = TrainCommandTests.earth
        func train(_ epochs: Int, _ extra: [String] = []) throws -> Run {
            try img2img(["train", "pix2pix", "--dataroot", earth, "--name", "run", "--checkpoints-dir", runs,
                         "--netG", "resnet_1blocks", "--ngf", "4", "--ndf", "4", "--preprocess", "resize_and_crop",
                         "--load-size", "36", "--crop-size", "32", "--batch-size", "4", "--n-epochs", "\(epochs)",
                         "--n-epochs-decay", "0", "--seed", "3", "--quiet"] + extra)
        }
        let first = try train(1)
        XCTAssertEqual(first.status, 0, first.stderr)
        let latest = runs + "/run/latest.safetensors"
        let saved = try Data(contentsOf: URL(fileURLWithPath: latest))

        // full: a few KB left, less than a checkpoint
        fill(runs, leaving: 8_192)
        let full = try train(2, ["--continue", "--override"])
        XCTAssertEqual(full.status, 1, full.stderr)
        XCTAssertTrue(full.stderr.contains("No space left on device"), full.stderr)
        XCTAssertFalse(full.stderr.contains("Fatal error"), full.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: latest)), saved, "the last checkpoint is intact")
        XCTAssertEqual(temporaryFiles(under: runs), [])
        try FileManager.default.removeItem(atPath: runs + "/filler")

        // read-only
        try makeReadOnly(runs)
        let ro = try train(2, ["--continue", "--override"])
        XCTAssertEqual(ro.status, 1, ro.stderr)
        XCTAssertTrue(ro.stderr.contains("Read-only file system"), ro.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: latest)), saved, "the last checkpoint is intact")
    }

    // MARK: Killed mid-run

    func testKilledTranslateLeavesNoHalfWrittenFileAndTheRerunFinishesTheRest() throws {
        let model = try makeModel(ngf: 8)
        let count = 48
        for i in 0..<count { try put(String(format: "img%02d.png", i), size: 96, seed: i) }
        let out = path("out")
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        for round in 0..<4 {
            let before = Set(outputs(out))
            if before.count == count { break }
            let p = try startProcess(Self.binary, ["translate", "--model", model, "--input", path("in"), "--output", out,
                                                   "--quiet", "--threads", "1"])
            // kill at a random moment once it has written a few more files
            let target = before.count + Int.random(in: 1...4, using: &rng)
            let deadline = Date().addingTimeInterval(120)
            while p.isRunning && outputs(out).count < target && Date() < deadline { usleep(2_000) }
            usleep(UInt32.random(in: 0...30_000, using: &rng))
            if p.isRunning { kill(p.processIdentifier, SIGKILL); kills += 1 }
            p.waitUntilExit()

            // every output that exists is whole: written under a temporary name, then renamed
            let now = outputs(out)
            for f in now { XCTAssertNoThrow(try readImage(at: out + "/" + f), "round \(round): \(f) half-written") }
            XCTAssertTrue(Set(now).isSuperset(of: before))
        }
        XCTAssertGreaterThan(kills, 0, "the runs were too fast to be killed")

        // the rerun removes the dead runs' temporary files, keeps finished files, does the rest
        let done = outputs(out)
        var stamps: [String: Date] = [:]
        for f in done { stamps[f] = try FileManager.default.attributesOfItem(atPath: out + "/" + f)[.modificationDate] as? Date }
        let r = try img2img(["translate", "--model", model, "--input", path("in"), "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("translated \(count - done.count) images"), r.stdout)
        if done.count > 0 { XCTAssertTrue(r.stdout.contains("\(done.count) already done"), r.stdout) }
        XCTAssertEqual(outputs(out).count, count)
        XCTAssertEqual(temporaryFiles(under: out), [])
        for f in done {
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: out + "/" + f)[.modificationDate] as? Date, stamps[f],
                           "\(f) was not redone")
        }
    }
}
