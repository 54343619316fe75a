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
        discussion: ModelRegistry.testable.map { "\($0.name): \($0.test!.about)" }.joined(separator: "\n") + """


        --dataset-mode single: every image of DATAROOT goes through one generator (G, or G_A / G_B by \
        --direction for a model with two), for a folder of inputs without a split or targets. \
        Results go to RESULTS-DIR/NAME/test_EPOCH/ (images/ and index.html; metrics.json for pairs).
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
