import ArgumentParser
import _Files
import Foundation
import Datasets
import Training
import Trainers
import Evaluation

/// `img2img test`: the paper code's test.py (Training's `runTest`).
struct TestCommand: ParsableCommand {
    static var configuration: CommandConfiguration { CommandConfiguration(
        commandName: "test",
        abstract: "Translate a dataset's test split with a trained run and write the results page.",
        discussion: """
        cyclegan: DATAROOT/testA goes through G_A (and back through G_B), DATAROOT/testB through \
        G_B (and back through G_A); --direction BtoA swaps the folders, for a run trained with it. \
        pix2pix: DATAROOT/test holds A|B pairs; the output of G on A is compared with B (L1 on \
        [0, 1], PSNR in dB, SSIM), per image and on average. colorization: the photos of \
        DATAROOT/test (or DATAROOT) are made gray, colorized and compared with the originals. \
        cut, fastcut: DATAROOT/testA goes through G, beside an image of testB. \
        --dataset-mode single: every image of DATAROOT goes through one generator (G; cyclegan: \
        G_A, or G_B with --direction BtoA), for a folder of inputs without a split or targets. \
        Results go to RESULTS-DIR/NAME/test_EPOCH/ (images/ and index.html; metrics.json for pairs). \
        Models: \(ModelRegistry.testable.map(\.name).joined(separator: ", ")).
        """) }

    @Argument(help: ArgumentHelp("The model: \(ModelRegistry.testable.map(\.name).joined(separator: " | ")).", valueName: "model"))
    var model: String

    @Option(help: "Dataset folder.")
    var dataroot: String
    @Option(help: "Name of the run.")
    var name: String
    @Option(help: "Where runs are stored.")
    var checkpointsDir: String = "runs"
    @Option(help: "Where results go.")
    var resultsDir: String = "results"
    @Option(help: "Which checkpoint: latest or epoch_<n>.")
    var epoch: String = "latest"
    @Option(help: "Test split folder name.")
    var phase: String = "test"
    @Option(help: "AtoB or BtoA: pix2pix, the input half of a pair; cyclegan, which generator maps which folder.")
    var direction: Direction = .aToB
    @Option(help: "unaligned | aligned | single | colorization (default: the model's own).")
    var datasetMode: TestDatasetMode?
    @Option(help: "At most this many images per domain.")
    var numTest: Int = .max
    @Flag(help: "Batch norm: use the running statistics.")
    var eval = false
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard ModelRegistry.model(named: model)?.test != nil else {
            throw ValidationError("test takes \(ModelRegistry.testable.map(\.name).joined(separator: ", ")), got '\(model)'")
        }
        guard numTest >= 1 else { throw ValidationError("--num-test must be at least 1") }
    }

    func run() throws {
        engine.apply()
        var o = TestOptions(model: model, dataroot: dataroot, name: name)
        o.checkpointsDir = checkpointsDir; o.resultsDir = resultsDir; o.epoch = epoch; o.phase = phase
        o.direction = direction; o.datasetMode = datasetMode; o.numTest = numTest; o.eval = eval
        let r = try runTest(o) { path, reason in
            FileHandle.standardError.write(Data("img2img: \(skippedFileMessage(path: path, reason: reason))\n".utf8))
        }
        if let s = r.summary { print(s) }
        print("results: \(r.page) (\(r.images) images)")
        if r.failures > 0 { throw ExitCode(ExitStatus.someFilesFailed.rawValue) }
    }
}

extension TestDatasetMode: ExpressibleByArgument {}
