// Issue 25, the training side: a run folder is never overwritten by accident, --continue
// resumes a run with its own options, dataset layouts are explained, test reads the run, and
// the paper code's option spellings get img2img's.
import XCTest
import Foundation
import ImageIO
import _TestSupport

final class CarefulTrainTests: CLITestCase {
    func pattern(_ w: Int, _ h: Int, seed: Int) -> Image {
        Image(width: w, height: h, channels: 3, pixels8: (0..<(w * h * 3)).map { UInt8(($0 * 29 + seed * 13) % 256) })
    }

    /// Aligned pairs (64x32 A|B) in root/train and root/test.
    func pairs(_ root: String) throws {
        for split in ["train", "test"] {
            try FileManager.default.createDirectory(atPath: root + "/" + split, withIntermediateDirectories: true)
            for i in 0..<2 { try writeImage(pattern(64, 32, seed: i), to: root + "/\(split)/p\(i).png") }
        }
    }

    func train(_ root: String, name: String = "run", epochs: Int = 1, decay: Int = 1, extra: [String] = []) -> [String] {
        ["train", "pix2pix", "--dataroot", root, "--name", name, "--checkpoints-dir", path("runs"), "--netG", "resnet_1blocks",
         "--ngf", "4", "--ndf", "4", "--preprocess", "none", "--n-epochs", "\(epochs)", "--n-epochs-decay", "\(decay)",
         "--save-epoch-freq", "1", "--seed", "1", "--threads", "1", "--quiet"] + extra
    }

    func bytes(_ rel: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(rel))) }

    /// Case 1: an interrupted run, then the same command without --continue: refused, naming the
    /// run's state and the two ways on; nothing in the run changes. --overwrite moves it aside.
    func testARerunWithoutContinueIsRefusedAndOverwriteMovesTheRunAside() throws {
        let root = path("pairs")
        try pairs(root)
        let p = try startProcess(Self.binary, train(root, epochs: 100_000, decay: 0, extra: ["--save-latest-freq", "1", "--print-freq", "1"]))
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && !FileManager.default.fileExists(atPath: path("runs/run/latest.safetensors")) && Date() < deadline {
            usleep(20_000)
        }
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let latest = try bytes("runs/run/latest.safetensors"), log = try bytes("runs/run/loss_log.jsonl")

        let again = try img2img(train(root, epochs: 100_000, decay: 0, extra: ["--save-latest-freq", "1", "--print-freq", "1"]))
        XCTAssertEqual(again.status, 64, again.stderr)
        XCTAssertTrue(again.stderr.contains("runs/run already holds a pix2pix run") && again.stderr.contains("epochs done"), again.stderr)
        XCTAssertTrue(again.stderr.contains("last saved"), again.stderr)
        XCTAssertTrue(again.stderr.contains("--continue") && again.stderr.contains("--overwrite"), again.stderr)
        XCTAssertEqual(try bytes("runs/run/latest.safetensors"), latest, "the checkpoint is untouched")
        XCTAssertEqual(try bytes("runs/run/loss_log.jsonl"), log, "the loss log is untouched")

        // --overwrite: a new run, the old one kept whole beside it.
        let fresh = try img2img(train(root, extra: ["--overwrite"]))
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        XCTAssertTrue(fresh.stderr.contains("--overwrite: moved the previous run"), fresh.stderr)
        let aside = try FileManager.default.contentsOfDirectory(atPath: path("runs")).filter { $0.hasPrefix("run.replaced-") }
        XCTAssertEqual(aside.count, 1, "\(aside)")
        XCTAssertEqual(try bytes("runs/\(aside[0])/latest.safetensors"), latest)
        XCTAssertEqual(try bytes("runs/\(aside[0])/loss_log.jsonl"), log)
        XCTAssertNotEqual(try bytes("runs/run/loss_log.jsonl"), log, "the new run has its own log")
    }

    /// Case 2: --continue takes the run's options.json (a run at --ngf 4 resumes with no option
    /// given); a different option is listed and needs --override; the networks' shapes never change.
    func testContinueResumesWithTheRunsOwnOptions() throws {
        let root = path("pairs")
        try pairs(root)
        let first = try img2img(train(root, epochs: 1, decay: 1))
        XCTAssertEqual(first.status, 0, first.stderr)
        // The paper code's schedule: the last of a linear schedule's epochs runs at 0, no warning for that alone.
        XCTAssertFalse(first.stderr.contains("learning rate 0"), first.stderr)
        let runs = ["--checkpoints-dir", path("runs")]

        let done = try img2img(["train", "--continue", "--name", "run"] + runs)
        XCTAssertEqual(done.status, 0, done.stderr)
        XCTAssertTrue(done.stdout.contains("all 2 epochs are done, nothing to train"), done.stdout)

        let differs = try img2img(["train", "--continue", "--name", "run", "--n-epochs", "2", "--lr", "0.001"] + runs)
        XCTAssertEqual(differs.status, 64, differs.stderr)
        XCTAssertTrue(differs.stderr.contains("--n-epochs 2 (the run's: --n-epochs 1)"), differs.stderr)
        XCTAssertTrue(differs.stderr.contains("--lr 0.001 (the run's: --lr 0.0002)"), differs.stderr)
        XCTAssertTrue(differs.stderr.contains("Add --override"), differs.stderr)

        let shape = try img2img(["train", "--continue", "--name", "run", "--ngf", "8", "--override"] + runs)
        XCTAssertEqual(shape.status, 64, shape.stderr)
        XCTAssertTrue(shape.stderr.contains("hold networks of --ngf 4: --continue cannot change --ngf"), shape.stderr)

        let wrongModel = try img2img(["train", "cyclegan", "--continue", "--name", "run"] + runs)
        XCTAssertEqual(wrongModel.status, 64, wrongModel.stderr)
        XCTAssertTrue(wrongModel.stderr.contains("is a pix2pix run (its options.json)"), wrongModel.stderr)

        // With --override: one more epoch, from the stored --ngf 4 (no shape mismatch), the change recorded.
        let more = try img2img(["train", "--continue", "--name", "run", "--n-epochs", "2", "--override", "--quiet"] + runs)
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertTrue(more.stderr.contains("--override: --n-epochs 2 (the run's: --n-epochs 1)"), more.stderr)
        XCTAssertTrue(more.stderr.contains("resuming run at epoch 3"), more.stderr)
        let opts = try JSONSerialization.jsonObject(with: try bytes("runs/run/options.json")) as! [String: Any]
        XCTAssertEqual(opts["n_epochs"] as? Int, 2)
        XCTAssertEqual(opts["ngf"] as? Int, 4)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("runs/run/epoch_3_net_G.safetensors")))

        let none = try img2img(["train", "--continue", "--name", "nothing"] + runs)
        XCTAssertEqual(none.status, 64, none.stderr)
        XCTAssertTrue(none.stderr.contains("there is no run at") && none.stderr.contains("runs in") && none.stderr.contains("run"),
                      none.stderr)
    }

    /// Case 5: layouts explained, with the expected tree, what was found and the models that fit;
    /// pix2pix refuses images that are not A|B pairs unless --any-pair-aspect.
    func testDatasetLayoutsAreExplained() throws {
        let unpaired = path("cg")
        for d in ["trainA", "trainB"] {
            try FileManager.default.createDirectory(atPath: unpaired + "/" + d, withIntermediateDirectories: true)
            for i in 0..<2 { try writeImage(pattern(32, 32, seed: i), to: unpaired + "/\(d)/\(i).png") }
        }
        let p2p = try img2img(train(unpaired))
        XCTAssertEqual(p2p.status, 64, p2p.stderr)
        XCTAssertTrue(p2p.stderr.contains("pix2pix reads aligned data:"), p2p.stderr)
        XCTAssertTrue(p2p.stderr.contains(unpaired + "/train/    A|B pairs"), p2p.stderr)
        XCTAssertTrue(p2p.stderr.contains("holds trainA/ (2 images), trainB/ (2 images)"), p2p.stderr)
        XCTAssertTrue(p2p.stderr.contains("img2img train cyclegan | cut | fastcut"), p2p.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("runs/run")), "nothing written")

        let square = path("square")
        try FileManager.default.createDirectory(atPath: square + "/train", withIntermediateDirectories: true)
        for i in 0..<2 { try writeImage(pattern(64, 64, seed: i), to: square + "/train/\(i).png") }
        let halves = try img2img(train(square))
        XCTAssertEqual(halves.status, 64, halves.stderr)
        XCTAssertTrue(halves.stderr.contains("2 of 2 images of \(square)/train are not A|B pairs"), halves.stderr)
        XCTAssertTrue(halves.stderr.contains("is 64x64") && halves.stderr.contains("--any-pair-aspect"), halves.stderr)
        // The check is what refused: with --any-pair-aspect the same folder trains.
        let taken = try img2img(train(square, name: "halves", extra: ["--any-pair-aspect"]))
        XCTAssertEqual(taken.status, 0, taken.stderr)

        let cycle = try img2img(["train", "cyclegan", "--dataroot", square, "--name", "c", "--checkpoints-dir", path("runs")])
        XCTAssertEqual(cycle.status, 64, cycle.stderr)
        XCTAssertTrue(cycle.stderr.contains("cyclegan reads unaligned data:") && cycle.stderr.contains(square + "/trainA/"), cycle.stderr)
        XCTAssertTrue(cycle.stderr.contains("img2img train colorization"), cycle.stderr)

        let misplaced = try img2img(["train", "--dataroot", square, "pix2pix", "--name", "x"])
        XCTAssertEqual(misplaced.status, 64, misplaced.stderr)
        XCTAssertTrue(misplaced.stderr.contains("the model comes first: img2img train pix2pix"), misplaced.stderr)
    }

    /// Case 5: test reads the model, the data and the direction from options.json, takes the
    /// paper code's --epoch numbers and lists the checkpoints that exist.
    func testTestReadsTheRunAndListsItsCheckpoints() throws {
        let root = path("pairs")
        try pairs(root)
        XCTAssertEqual(try img2img(train(root, epochs: 1, decay: 1)).status, 0)
        let where_ = ["--checkpoints-dir", path("runs"), "--results-dir", path("results")]
        let plain = try img2img(["test", "--name", "run", "--threads", "1"] + where_)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("over 2 pairs"), plain.stdout)

        let paper = try img2img(["test", "--name", "run", "--epoch", "1", "--threads", "1"] + where_)
        XCTAssertEqual(paper.status, 0, paper.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("results/run/test_epoch_1/index.html")))

        let missing = try img2img(["test", "--name", "run", "--epoch", "7"] + where_)
        XCTAssertEqual(missing.status, 64, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("has no checkpoint 'epoch_7' of G") && missing.stderr.contains("it has latest, epoch_1, epoch_2"),
                      missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("results/run/test_epoch_7")), "nothing written")

        let other = try img2img(["test", "cyclegan", "--name", "run"] + where_)
        XCTAssertEqual(other.status, 64, other.stderr)
        XCTAssertTrue(other.stderr.contains("is a pix2pix run (its options.json), not cyclegan"), other.stderr)

        try FileManager.default.removeItem(atPath: root + "/test")
        let noSplit = try img2img(["test", "--name", "run"] + where_)
        XCTAssertEqual(noSplit.status, 64, noSplit.stderr)
        XCTAssertTrue(noSplit.stderr.contains("pix2pix test reads aligned data:") && noSplit.stderr.contains(root + "/test/"), noSplit.stderr)
    }

    /// Case 6: the paper code's spellings get img2img's, or why they do not apply, in every subcommand.
    func testThePaperCodesSpellingsGetImg2imgs() throws {
        let cases: [([String], String)] = [
            (["train", "cyclegan", "--dataroot", "d", "--name", "n", "--load_size", "3"], "img2img spells it --load-size"),
            (["train", "cyclegan", "--dataroot", "d", "--name", "n", "--continue_train"], "img2img spells it --continue"),
            (["train", "cyclegan", "--dataroot", "d", "--name", "n", "--niter", "3"], "img2img spells it --n-epochs"),
            (["train", "cyclegan", "--dataroot", "d", "--name", "n", "--niter_decay", "3"], "img2img spells it --n-epochs-decay"),
            (["train", "cyclegan", "--dataroot", "d", "--name", "n", "--epoch", "5"], "--continue resumes from latest.safetensors"),
            (["train", "cyclegan", "--dataroot", "d", "--name", "n", "--gpu_ids", "0"], "img2img runs on the CPU"),
            (["train", "cyclegan", "--dataroot", "d", "--name", "n", "--display_id", "0"], "no visdom or wandb display"),
            (["train", "--dataroot", "d", "--name", "n", "--model", "cycle_gan"], "the model is train's first argument"),
            (["translate", "--model", "m", "--input", "i", "--output", "o", "--load_size", "3"], "img2img spells it --load-size"),
            (["translate", "--model", "m", "--input", "i", "--output", "o", "--gpu_ids", "-1"], "img2img runs on the CPU"),
            (["test", "--name", "n", "--which_epoch", "3"], "img2img spells it --epoch"),
            (["test", "--name", "n", "--results_dir", "r"], "img2img spells it --results-dir"),
            (["export", "--model", "m", "--output", "o.onnx", "--gpu_ids", "0"], "img2img runs on the CPU"),
        ]
        for (args, expected) in cases {
            let r = try img2img(args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
        }
        // Not a paper spelling: ArgumentParser's own message stays.
        let other = try img2img(["translate", "--model", "m", "--input", "i", "--output", "o", "--frobnicate"])
        XCTAssertEqual(other.status, 64, other.stderr)
        XCTAssertTrue(other.stderr.contains("Unknown option '--frobnicate'"), other.stderr)
    }

    /// Papercut: "all" rather than Int.max as a default in the help.
    func testHelpShowsNoIntMax() throws {
        for sub in ["train", "test"] {
            let r = try img2img([sub, "--help"])
            XCTAssertEqual(r.status, 0)
            XCTAssertFalse(r.stdout.contains("9223372036854775807"), "\(sub): \(r.stdout)")
        }
    }
}
