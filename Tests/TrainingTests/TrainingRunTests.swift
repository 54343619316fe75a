import XCTest
import Foundation
import Checkpoint
import Datasets
import Models
import Reports
@testable import Training
@testable import Trainers
import Evaluation
import _TestSupport

/// The loop that ships (`TrainingRun`, what `img2img train` calls): files, schedule, resume,
/// the stop request (Ctrl-C's path), the NaN stop, options.json, and registration.
final class TrainingRunTests: XCTestCase {
    static let earth = TestPaths.inRepo("datasets/earth-day2night").path

    var tmp: String!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tmp) }

    /// A tiny run of `model` on the bundled pairs: 6 batches of 4 per epoch, 32x32.
    func options(_ model: TrainableModel, name: String, epochs: Int) -> TrainOptions {
        var o = model.defaultOptions(dataroot: Self.earth, name: name)
        o.checkpointsDir = tmp
        o.netG = "resnet_1blocks"; o.ngf = 4; o.ndf = 4; o.norm = .instance; o.useDropout = false
        o.preprocess = .resizeAndCrop; o.loadSize = 36; o.cropSize = 32; o.batchSize = 4
        o.nEpochs = epochs; o.nEpochsDecay = 0; o.printFreq = 1; o.seed = 3
        return o
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func testRunWritesTheRunFolder() throws {
        let run = try TrainingRun(options: options(.pix2pix, name: "files", epochs: 2))
        XCTAssertEqual(try run.run(), .finished)
        let dir = run.directory
        for f in ["latest.safetensors", "latest_net_G.safetensors", "latest_net_D.safetensors", "loss_log.jsonl",
                  "index.html", "options.json", "opt.txt", "web/images/epoch002_01_fake_B.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + f), "missing \(f)")
        }
        // Per-network files load through Models' one loading path, architecture included.
        let g = try loadNetwork(path: dir + "/latest_net_G.safetensors")
        XCTAssertEqual(g.config.netG, "resnet_1blocks")
        let fromCheckpoint = try loadNetwork(path: dir + "/latest.safetensors", select: .translator(reverse: false))
        XCTAssertEqual(fromCheckpoint.prefix, "G")
        XCTAssertEqual(fromCheckpoint.config, g.config)
        // the log: one entry per iteration (print_freq 1), with the learning rate and speed
        let log = LossLogEntry.parseLog(try String(contentsOfFile: dir + "/loss_log.jsonl", encoding: .utf8))
        XCTAssertEqual(log.map(\.iteration), Array(1...12))
        XCTAssertEqual(log.last?.epoch, 2)
        XCTAssertNotNil(log.first?.learningRate)
        XCTAssertGreaterThan(log.first?.imagesPerSecond ?? 0, 0)
        XCTAssertEqual(Set(log[0].losses.keys), ["G_GAN", "G_L1", "D_real", "D_fake"])
        // the report: one plot per loss, captioned samples, latest epoch first
        let html = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        XCTAssertGreaterThanOrEqual(html.components(separatedBy: "<svg").count - 1, 4)
        for caption in ["real_A", "fake_B", "real_B"] { XCTAssertTrue(html.contains(caption), caption) }
        let e2 = html.range(of: "epoch002_01_fake_B.png")!, e1 = html.range(of: "epoch001_01_fake_B.png")!
        XCTAssertLessThan(e2.lowerBound, e1.lowerBound, "latest epoch first")
    }

    /// options.json: valid JSON of the effective options (the model's defaults resolved), read
    /// back into the options type; opt.txt marks what differs from the defaults.
    func testOptionsJSONRoundTripsWithDefaultsResolved() throws {
        var o = options(.pix2pix, name: "opts", epochs: 1)
        o.norm = .batch
        try o.parseCommandLine(["--lambda-L1", "50"], for: .pix2pix)
        let run = try TrainingRun(options: o)
        XCTAssertEqual(try run.run(), .finished)
        let data = try bytes(run.directory + "/options.json")
        let any = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        XCTAssertEqual(any?["norm"] as? String, "batch")
        XCTAssertEqual(any?["netG"] as? String, "resnet_1blocks")
        XCTAssertEqual(any?["gan_mode"] as? String, "vanilla", "pix2pix's default, resolved")
        XCTAssertEqual((any?["model_options"] as? [String: Any])?["lambda_L1"] as? Double, 50)
        XCTAssertEqual(try TrainOptions.fromJSON(data), o)
        let text = try String(contentsOfFile: run.directory + "/opt.txt", encoding: .utf8)
        let line = { (key: String) in text.split(separator: "\n").first { $0.hasSuffix(key) || $0.contains(" \(key): ") } ?? "" }
        XCTAssertTrue(line("lambda_L1").contains("50") && line("lambda_L1").contains("[default: 100"), String(line("lambda_L1")))
        XCTAssertTrue(line("netG").contains("[default: unet_256]"), String(line("netG")))
        XCTAssertFalse(line("lr").contains("[default"), String(line("lr")))
    }

    /// A stop request (what Ctrl-C sends) saves mid-epoch; --continue goes on to the same bytes
    /// as an uninterrupted run. A run with another seed ends elsewhere (the comparison can fail).
    func testStopAndContinueEqualsAnUninterruptedRun() throws {
        let straight = try TrainingRun(options: options(.pix2pix, name: "straight", epochs: 2))
        XCTAssertEqual(try straight.run(), .finished)

        var o = options(.pix2pix, name: "stopped", epochs: 2)
        let box = Locked<TrainingRun?>(nil)
        let events = TrainingEvents(iteration: { s in if s.iteration == 4 { box.withLock { $0 }?.requestStop() } })
        let stopped = try TrainingRun(options: o, events: events)
        box.withLock { $0 = stopped }
        XCTAssertEqual(try stopped.run(), .interrupted)
        box.withLock { $0 = nil }  // the run's events hold the box: break the cycle (LeakSanitizer)
        let state = try SafeTensors.read(path: stopped.latestPath)
        XCTAssertTrue(state.metadata[TrainingCheckpoint.metadataKey]!.contains("\"iteration\":4"))
        XCTAssertTrue(state.metadata[RunMetadata.key]!.contains("\"batchInEpoch\":4"))

        o.continueTrain = true
        let resumed = try TrainingRun(options: o)
        XCTAssertEqual(try resumed.run(), .finished)
        XCTAssertEqual(try bytes(straight.latestPath), try bytes(resumed.latestPath))
        XCTAssertEqual(try bytes(straight.directory + "/latest_net_G.safetensors"),
                       try bytes(resumed.directory + "/latest_net_G.safetensors"))

        var other = options(.pix2pix, name: "other", epochs: 2)
        other.seed = 4
        let different = try TrainingRun(options: other)
        XCTAssertEqual(try different.run(), .finished)
        XCTAssertNotEqual(try bytes(straight.directory + "/latest_net_G.safetensors"),
                          try bytes(different.directory + "/latest_net_G.safetensors"))
    }

    /// A stop that arrives while an epoch ends (its saves and report) takes effect at the next
    /// epoch's start, before that epoch's learning-rate step: the resume steps it once, and the
    /// run ends as an uninterrupted one (the rate changes every epoch here, so a double step shows).
    func testStopBetweenEpochsResumesWithOneRateStep() throws {
        func decaying(_ name: String) -> TrainOptions {
            var o = options(.pix2pix, name: name, epochs: 1)
            o.nEpochsDecay = 2
            return o
        }
        let straight = try TrainingRun(options: decaying("straight"))
        XCTAssertEqual(try straight.run(), .finished)

        let box = Locked<TrainingRun?>(nil)
        let stopped = try TrainingRun(options: decaying("stopped"),
                                      events: TrainingEvents(epoch: { s in if s.epoch == 1 { box.withLock { $0 }?.requestStop() } }))
        box.withLock { $0 = stopped }
        XCTAssertEqual(try stopped.run(), .interrupted)
        XCTAssertEqual(stopped.trainer.progress.epoch, 1)
        var o = decaying("stopped")
        o.continueTrain = true
        XCTAssertEqual(try TrainingRun(options: o).run(), .finished)
        XCTAssertEqual(try bytes(straight.latestPath), try bytes(stopped.latestPath))
    }

    /// latest every save_latest_epochs, numbered copies named by the epochs finished.
    func testSaveSchedule() throws {
        var o = options(.pix2pix, name: "schedule", epochs: 3)
        o.saveLatestEpochs = 2; o.saveEpochFreq = 2
        let saved = Locked<[Bool]>([])
        let run = try TrainingRun(options: o, events: TrainingEvents(epoch: { s in saved.withLock { $0.append(s.savedLatest) } }))
        XCTAssertEqual(try run.run(), .finished)
        XCTAssertEqual(saved.withLock { $0 }, [false, true, true])
        let files = try FileManager.default.contentsOfDirectory(atPath: run.directory)
        XCTAssertTrue(files.contains("epoch_2.safetensors") && files.contains("epoch_2_net_G.safetensors"), "\(files)")
        XCTAssertFalse(files.contains("epoch_1.safetensors") || files.contains("epoch_3.safetensors"), "\(files)")
        let numbered = try SafeTensors.read(path: run.directory + "/epoch_2.safetensors")
        XCTAssertTrue(numbered.metadata[TrainingCheckpoint.metadataKey]!.contains("\"epoch\":2"))
    }

    /// A loss that becomes NaN/Inf stops the run with its name; the last good checkpoint stays.
    func testNonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        var o = options(.pix2pix, name: "nan", epochs: 1)
        o.norm = .none
        XCTAssertEqual(try TrainingRun(options: o).run(), .finished)
        let good = try bytes(tmp + "/nan/latest.safetensors")
        o.continueTrain = true; o.nEpochs = 3; o.lr = 1e30
        XCTAssertThrowsError(try TrainingRun(options: o).run()) { e in
            guard let e = e as? NonFiniteError else { return XCTFail("\(e)") }
            XCTAssertNotNil(e.loss)
            // Traced by re-running the iteration from the checkpoint: the first non-finite value
            // has an op, a layer of G or D, and the advice names the rate (weights were trained).
            XCTAssertNotNil(e.op, "\(e)")
            XCTAssertTrue(e.layer?.hasPrefix("G.") == true || e.layer?.hasPrefix("D.") == true, "\(e)")
            XCTAssertFalse(e.files.isEmpty, "\(e)")
            XCTAssertTrue(e.advice.contains("lower --lr"), e.advice)
            XCTAssertEqual(e.record, tmp + "/nan/anomaly.json")
        }
        XCTAssertEqual(try bytes(tmp + "/nan/latest.safetensors"), good)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/nan/anomaly.json"))
    }

    /// The template is trainable through its registration alone, and so is a model defined
    /// here: a registration is all a model needs.
    func testRegisteredModelsTrain() throws {
        XCTAssertEqual(ModelRegistry.builtIn.map(\.name), ["cyclegan", "cut", "fastcut", "pix2pix", "colorization", "cgan",
                                                           "dcgan", "template"])
        var o = options(.template, name: "template", epochs: 1)
        try o.parseCommandLine(["--lambda-regression=2", "--lambda-GAN", "0.5"], for: .template)
        let run = try TrainingRun(options: o)
        XCTAssertEqual(try run.run(), .finished)
        XCTAssertEqual(Set(run.trainer.lossValues.map(\.name)), ["G_regression", "G_GAN", "D"])
        XCTAssertNotEqual(run.trainer.lossValues.first { $0.name == "G_GAN" }?.value, 0, "lambda-GAN 0.5 trains D too")

        XCTAssertThrowsError(try o.parseCommandLine(["--lambda-L1", "3"], for: .template)) { e in
            XCTAssertTrue("\(e)".contains("--lambda-regression"), "\(e)")
        }
        XCTAssertThrowsError(try o.parseCommandLine(["--lambda-GAN", "x"], for: .template))

        let custom = TrainableModel(name: "custom", abstract: "test", datasetMode: .aligned,
                                    build: { o, d in try TrainableModel.template.build(o, d) })
        var c = options(custom, name: "custom", epochs: 1)
        c.model = "custom"
        c.modelValues = TrainableModel.template.defaultOptions(dataroot: "", name: "").modelValues
        XCTAssertEqual(try TrainingRun(options: c, model: custom).run(), .finished)
    }

    func testUsageErrorsOfTheOptions() throws {
        var o = options(.cgan, name: "cgan", epochs: 1)
        o.imageSize = 30
        XCTAssertThrowsError(try TrainableModel.cgan.validate(o)) { e in
            guard case .invalidOptions(let why)? = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertTrue(why.contains("4 * 2^k"), why)
        }
        var p = options(.pix2pix, name: "small", epochs: 1)
        p.cropSize = 16; p.loadSize = 16
        XCTAssertThrowsError(try TrainingRun(options: p)) { e in
            XCTAssertTrue("\(e)".contains("at least 24"), "\(e)")
        }
    }
}

/// A value shared with a @Sendable closure in a test.
final class Locked<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func withLock<R>(_ body: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}
