import ArgumentParser
import Foundation
import Augment
import Datasets
import Models
import NN
import TensorCore
import Training
import Trainers
import Distributed


/// `img2img train MODEL --dataroot DIR --name NAME`: the paper code's train.py. The models, their
/// help and their own options come from Training's `ModelRegistry`; the loop is `TrainingRun`.
struct TrainCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "train",
            abstract: "Train a model (\(ModelRegistry.models.map(\.name).joined(separator: ", "))) on a folder.",
            discussion: """
            Everything goes to CHECKPOINTS-DIR/NAME: options.json and opt.txt (the effective options), \
            checkpoints (latest, every --save-epoch-freq epochs, and each network alone as \
            latest_net_<G_A|G_B|G|...>.safetensors for translate), loss_log.jsonl, and an HTML report \
            (index.html) with a plot per loss and captioned samples per epoch, refreshed every epoch.

            Ctrl-C saves a checkpoint and exits (status 130); --continue resumes a run exactly where it \
            stopped (same batches, same random numbers). A loss that becomes NaN or infinite stops the \
            run with a message naming it; the last good checkpoint is kept. Input files that fail \
            (unreadable, or named as images but not images) are named and the run ends with status 3. \
            A run folder has one writer: a second train with the same --name is refused while the \
            first runs. A warning names the options when a whole epoch would run at learning rate 0.

            Data-parallel: `mpirun -np N img2img train ...` (or srun under Slurm) trains on N processes, \
            each taking --batch-size images of every step (N times --batch-size per step); gradients are \
            averaged over the ranks in a fixed order before every optimizer step; only rank 0 writes.

            Options (each as --name value or --name=value; a flag --name sets it and --no-name clears it). \
            Defaults of --netG, --norm, --gan-mode, dropout and the epochs are each model's own (the paper \
            code's), listed with the model below; options.json and opt.txt record every option by the \
            paper code's key (--load-size is load_size).

            """ + TrainOptions.helpLines(for: nil).joined(separator: "\n") + "\n\nModels:\n\n"
            + ModelRegistry.models.map(Self.help(of:)).joined(separator: "\n\n"))
    }

    /// One model's paragraph: what it is, its data, the defaults it changes and its own options.
    static func help(of m: TrainableModel) -> String {
        let mine = m.defaultOptions(dataroot: "", name: ""), base = TrainOptions()
        let changed = CommonOptions.all.filter { !$0.recordedOnly && mine.value(of: $0) != base.value(of: $0) }
            .map { o -> String in
                let v = mine.value(of: o)
                if o.isFlag { return v == .bool(true) ? "--\(o.name)" : "--no-\(o.name)" }
                return "--\(o.name) \(v)"
            }
        var s = "\(m.name): \(m.abstract)\n  data: \(m.datasetMode.layout)"
        if !changed.isEmpty { s += "\n  defaults: " + changed.joined(separator: " ") }
        for line in TrainOptions.helpLines(for: m) { s += "\n" + line }
        return s
    }

    @Argument(help: ArgumentHelp("The model: \(ModelRegistry.models.map(\.name).joined(separator: " | ")).",
                                 valueName: "model"))
    var model: String

    @OptionGroup var engine: EngineOptions
    @Flag(help: "No progress bar.")
    var quiet = false

    @Argument(parsing: .allUnrecognized,
              help: ArgumentHelp("The training options (--dataroot DIR --name NAME ...) and the model's own; see below.",
                                 valueName: "options"))
    var optionWords: [String] = []

    func validate() throws {
        _ = try effectiveOptions()
    }

    /// The run's options: the model's defaults, then what was given. Usage errors throw
    /// `ValidationError` (exit status 64).
    func effectiveOptions(worldSize: Int = 1) throws -> TrainOptions {
        guard let m = ModelRegistry.model(named: model) else {
            throw ValidationError("unknown model '\(model)': \(ModelRegistry.models.map(\.name).joined(separator: ", "))")
        }
        var o = m.defaultOptions(dataroot: "", name: "")
        do { try o.parseCommandLine(optionWords, for: m) } catch { throw ValidationError(error.description) }
        for (what, value) in [("--dataroot <dataroot>", o.dataroot), ("--name <name>", o.name)] where value.isEmpty {
            throw ValidationError("Missing expected argument '\(what)'")
        }
        o.numThreads = engine.threads ?? Engine.threads
        o.worldSize = worldSize
        // Ranges, network sizes and the model's own rules: Training's TrainableModel.check.
        do { try ModelRegistry.check(o, for: m) } catch let e as TrainingError {
            if case .invalidOptions(let why) = e { throw ValidationError(why) }
            throw e
        }
        return o
    }

    func run() throws {
        engine.apply()
        // Started by mpirun or srun: one rank of a data-parallel run; else the one process.
        let mpi = try MPIProcessGroup.startIfLaunched()
        defer { mpi?.stop() }
        let group: any ProcessGroup = mpi ?? SingleProcess()
        let progress = ProgressDisplay(label: "it", quiet: quiet || !group.isWriter)
        let quiet = self.quiet || !group.isWriter
        let events = TrainingEvents(
            message: { progress.message($0) },
            iteration: { s in
                progress.update(done: s.batchInEpoch, total: s.batchesPerEpoch, rate: s.rate,
                                extra: "epoch \(s.epoch)/\(s.totalEpochs)  "
                                    + s.losses.map { "\($0.name) \(String(format: "%.3f", $0.value))" }.joined(separator: " "))
            },
            epoch: { s in
                progress.finish()
                if !quiet {
                    let reduce = group.isActive && s.steps > 0
                        ? String(format: " (allreduce %.1f ms/step)", s.allreduceSeconds * 1000 / Double(s.steps)) : ""
                    print("epoch \(s.epoch)/\(s.totalEpochs) done in \(String(format: "%.1f", s.seconds)) s\(reduce), "
                          + (s.savedLatest ? "saved \(s.latestPath), " : "") + "report \(s.reportPath)")
                }
            })
        // Checks that need the data (image sizes) or the checkpoint (--epoch-count) are usage
        // errors too, found at the start.
        func usage<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch TrainingError.invalidOptions(let why) {
                progress.finish()
                throw ValidationError(why)
            }
        }
        let run = try usage { try TrainingRun(options: try effectiveOptions(worldSize: group.size), group: group, events: events) }
        TrainingRun.stopOnInterrupt()
        let outcome: TrainingOutcome
        do { outcome = try usage { try run.run() } } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        guard group.isWriter else {
            if outcome == .interrupted { throw ExitCode(130) }
            return
        }
        switch outcome {
        case .finished:
            print("finished \(run.totalEpochs) epochs: \(run.directory)/latest_net_*.safetensors, report \(run.report.indexPath)")
            let failed = run.failedFiles
            if !failed.isEmpty {
                print("\(failed.count) input file\(failed.count == 1 ? "" : "s") failed (named above)")
                throw ExitCode(ExitStatus.someFilesFailed.rawValue)
            }
        case .interrupted:
            print("interrupted: saved \(run.latestPath) at epoch \(run.trainer.currentEpochNumber), iteration "
                  + "\(run.trainer.progress.iteration); resume with the same command and --continue")
            throw ExitCode(130)
        }
    }
}
