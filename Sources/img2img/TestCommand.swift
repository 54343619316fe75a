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

        The model, --dataroot and --direction default to the run's own (its options.json), so \
        `img2img test --name NAME` is enough for a run trained here.

        Exit status: 0 when every image was translated, 3 when some files failed (each is named on \
        stderr), 64 for a usage error (a missing checkpoint or split, named with what exists), 1 for \
        any other error.
        """) }

    @Argument(help: ArgumentHelp("The model: \(ModelRegistry.testable.map(\.name).joined(separator: " | ")) "
                                 + "(default: the run's, from its options.json).", valueName: "model"))
    var model: String?

    @Option(help: "Dataset folder (default: the run's --dataroot, from its options.json).")
    var dataroot: String?
    @Option(help: "Name of the run.")
    var name: String
    @Option(help: "Where runs are stored.")
    var checkpointsDir: String = "runs"
    @Option(help: "Where results go.")
    var resultsDir: String = "results"
    @Option(help: "Which checkpoint: latest, epoch_<n>, or the paper code's <n> (its <n>_net_G.pth).")
    var epoch: String = "latest"
    @Option(help: "Test split folder name.")
    var phase: String = "test"
    @Option(help: "AtoB or BtoA: pix2pix, the input half of a pair; cyclegan, which generator maps which folder (default: the run's).")
    var direction: Direction?
    @Option(help: "unaligned | aligned | single | colorization (default: the model's own).")
    var datasetMode: TestDatasetMode?
    @Option(help: ArgumentHelp("At most this many images per domain (default: all).", valueName: "n"))
    var numTest: Int?
    @Flag(help: "Batch norm: use the running statistics.")
    var eval = false
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        _ = try resolve()
        if let numTest, numTest < 1 { throw ValidationError("--num-test must be at least 1") }
    }

    /// The test's options: the model, data and direction given, else the run's (options.json).
    func resolve() throws -> TestOptions {
        let run = RunFolder(directory: checkpointsDir + "/" + name)
        let stored = run.options
        guard let modelName = model ?? stored?.model else {
            throw ValidationError("\(run.directory) has no options.json to read the model from: give it, img2img test "
                                  + ModelRegistry.testable.map(\.name).joined(separator: "|") + " --name \(name) ...")
        }
        if let model, let stored, stored.model != model {
            throw ValidationError("\(run.directory) is a \(stored.model) run (its options.json), not \(model): "
                                  + "img2img test --name \(name) reads the model from the run")
        }
        guard ModelRegistry.model(named: modelName)?.test != nil else {
            throw ValidationError("test takes \(ModelRegistry.testable.map(\.name).joined(separator: ", ")), got '\(modelName)'"
                + (PaperSpellings.modelName(modelName).map { " (the paper code's \(modelName) is \($0))" } ?? ""))
        }
        guard let root = dataroot ?? stored?.dataroot, !root.isEmpty else {
            throw ValidationError("Missing expected argument '--dataroot <dataroot>' (\(run.directory) has no options.json to take it from)")
        }
        var o = TestOptions(model: modelName, dataroot: root, name: name)
        o.checkpointsDir = checkpointsDir; o.resultsDir = resultsDir; o.epoch = epoch; o.phase = phase
        o.direction = direction ?? stored?.direction ?? .aToB
        o.datasetMode = datasetMode; o.numTest = numTest ?? .max; o.eval = eval
        return o
    }

    func run() throws {
        engine.apply()
        let o = try resolve()
        let r: TestResult
        do {
            r = try runTest(o) { path, reason in
                FileHandle.standardError.write(Data("img2img: \(skippedFileMessage(path: path, reason: reason))\n".utf8))
            }
        } catch TrainingError.invalidOptions(let why) {
            throw ValidationError(why)
        }
        if let s = r.summary { print(s) }
        print("results: \(r.page) (\(r.images) images)")
        if r.failures > 0 { throw ExitCode(ExitStatus.someFilesFailed.rawValue) }
    }
}

extension TestDatasetMode: ExpressibleByArgument {}
