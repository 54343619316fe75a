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
import Evaluation


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

            A run folder is never overwritten by accident: a new run under a --name that holds one is \
            refused, naming that run's state; --overwrite moves the old run aside (NAME.replaced-<time>). \
            Ctrl-C saves a checkpoint and exits (status 130); `img2img train --continue --name NAME` resumes \
            a run exactly where it stopped (same batches, same random numbers), with the options of its \
            options.json: options given again that differ are listed and refused unless --override \
            (those that shape the networks, such as --ngf, never change). A loss that becomes NaN or infinite stops the \
            run with a message naming it; the last good checkpoint is kept. Input files that fail \
            (unreadable, or named as images but not images) are named and the run ends with status 3. \
            A run folder has one writer: a second train with the same --name is refused while the \
            first runs. A warning names the options when epochs would run at learning rate 0 (beyond the \
            last epoch of a linear schedule, which runs at 0 in the paper code too).

            Exit status: 0 when the run finished (or had nothing left to train), 3 when it finished but some \
            input files failed, 64 for a usage error (options, dataset layout, image sizes, an existing \
            run), 130 when stopped by Ctrl-C (after saving), 1 for any other error.

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

    @OptionGroup var engine: EngineOptions
    @Flag(help: "No progress bar.")
    var quiet = false
    @Flag(help: "Start a new run under a --name that holds one: the old run folder is moved to NAME.replaced-<time> (nothing is deleted).")
    var overwrite = false
    @Flag(name: .customLong("override"),
          help: "With --continue: apply the options given on the command line that differ from the run's options.json.")
    var overrideStored = false

    /// The model and the options, as given: the model first (one of the registry's), except with
    /// --continue, which takes the run's own from its options.json.
    @Argument(parsing: .allUnrecognized,
              help: ArgumentHelp("The model (\(ModelRegistry.models.map(\.name).joined(separator: " | "))), then the training "
                                 + "options (--dataroot DIR --name NAME ...) and the model's own; see below. With --continue "
                                 + "the model and the options come from the run's options.json.",
                                 valueName: "model> <options"))
    var words: [String] = []

    /// The model named first (nil if the first word is an option).
    var model: String? { words.first.flatMap { $0.hasPrefix("-") ? nil : $0 } }
    /// The options after the model.
    var optionWords: [String] { model == nil ? words : Array(words.dropFirst()) }

    /// Names `train` takes outside the option table (for the paper code's spellings' hints).
    static let otherNames = ["threads", "quiet", "overwrite", "override"]

    /// The run to train: its options, model, the folder as it was found, and for --continue the
    /// stored options that the command line changes (applied only with --override).
    struct Resolved {
        var options: TrainOptions
        var model: TrainableModel
        var folder: RunFolder
        var changes: [String] = []
    }

    func validate() throws {
        // Under MPI only rank 0 (known once MPI runs) looks at the lock: a rank that failed alone
        // would leave the others waiting.
        _ = try resolve(probeLock: !MPIProcessGroup.launchedByMPI)
    }

    /// The run's options: the model's defaults and what was given, or with --continue the run's
    /// options.json and what --override allows. Usage errors throw `ValidationError` (exit 64).
    /// `probeLock`: refuse a run folder that another train holds (its pid named) before anything else.
    func resolve(worldSize: Int = 1, probeLock: Bool) throws -> Resolved {
        var r = Self.continues(optionWords) ? try resumed(probeLock: probeLock) : try fresh(probeLock: probeLock)
        r.options.numThreads = engine.threads ?? Engine.threads
        r.options.worldSize = worldSize
        // Ranges, network sizes and the model's own rules: Training's TrainableModel.check.
        do { try ModelRegistry.check(r.options, for: r.model) } catch let e as TrainingError {
            if case .invalidOptions(let why) = e { throw ValidationError(why) }
            throw e
        }
        return r
    }

    /// Whether `--continue` is among the words (true unless --continue=false or --no-continue follows).
    static func continues(_ words: [String]) -> Bool {
        var on = false
        for w in words {
            if w == "--continue" || w == "--continue=true" { on = true }
            if w == "--continue=false" || w == "--no-continue" { on = false }
        }
        return on
    }

    /// The value of `--name X` or `--name=X` among the words (the last one given).
    static func value(of name: String, in words: [String]) -> String? {
        var found: String? = nil
        for (i, w) in words.enumerated() {
            if w == "--" + name, i + 1 < words.count { found = words[i + 1] }
            if w.hasPrefix("--\(name)=") { found = String(w.dropFirst(name.count + 3)) }
        }
        return found
    }

    /// A new run: the model's defaults and the command line; the folder must not hold a run
    /// unless --overwrite (which moves it aside in `run`).
    func fresh(probeLock: Bool) throws -> Resolved {
        guard let model else {
            if let m = words.first(where: { w in ModelRegistry.models.contains { $0.name == w } }) {
                throw ValidationError("the model comes first: img2img train \(m) --dataroot DIR --name NAME ...")
            }
            throw ValidationError("Missing expected argument '<model>' (\(ModelRegistry.models.map(\.name).joined(separator: ", "))); "
                                  + "to resume a run: img2img train --continue --name NAME")
        }
        guard let m = ModelRegistry.model(named: model) else {
            throw ValidationError("unknown model '\(model)': \(ModelRegistry.models.map(\.name).joined(separator: ", "))"
                + (PaperSpellings.modelName(model).map { " (the paper code's \(model) is \($0))" } ?? ""))
        }
        var o = m.defaultOptions(dataroot: "", name: "")
        do { try o.parseCommandLine(optionWords, for: m, otherNames: Self.otherNames) } catch { throw ValidationError(error.description) }
        for (what, value) in [("--dataroot <dataroot>", o.dataroot), ("--name <name>", o.name)] where value.isEmpty {
            throw ValidationError("Missing expected argument '\(what)'")
        }
        if overrideStored { throw ValidationError("--override applies to --continue (a new run takes every option as given)") }
        let folder = RunFolder(directory: o.directory)
        if folder.holdsRun && probeLock { try folder.checkNotInUse() }
        if folder.holdsRun && !overwrite {
            throw ValidationError(TrainingRunError.runExists(directory: o.directory, summary: folder.summary).description)
        }
        return Resolved(options: o, model: m, folder: folder)
    }

    /// `--continue`: the run's options.json, the model it names, and the command line's options
    /// compared with it (those that differ need --override; the networks' shapes never change).
    func resumed(probeLock: Bool) throws -> Resolved {
        if overwrite { throw ValidationError("--overwrite starts a new run and --continue resumes one: give one of them") }
        guard let name = Self.value(of: "name", in: optionWords), !name.isEmpty else {
            throw ValidationError("--continue needs --name: the run to resume (the folder --checkpoints-dir/NAME)")
        }
        let runs = Self.value(of: "checkpoints-dir", in: optionWords) ?? CommonOptions.table.checkpointsDir.defaultValue
        let dir = runs + "/" + name
        let folder = RunFolder(directory: dir)
        if probeLock { try folder.checkNotInUse() }
        guard let stored = folder.options else {
            if let why = folder.optionsProblem { throw ValidationError("--continue: \(why)") }
            if folder.entries.isEmpty {
                let others = ((try? FileManager.default.contentsOfDirectory(atPath: runs)) ?? [])
                    .filter { RunFolder(directory: runs + "/" + $0).options != nil }.sorted()
                throw ValidationError("--continue: there is no run at \(dir)"
                    + (others.isEmpty ? "" : "; runs in \(runs): \(others.prefix(12).joined(separator: ", "))"))
            }
            throw ValidationError("--continue: \(dir) has no options.json (it holds \(folder.entries.prefix(8).joined(separator: ", "))): "
                                  + "it is not a run that img2img train wrote")
        }
        guard let m = ModelRegistry.model(named: stored.model) else {
            throw ValidationError("\(dir)/options.json names the model '\(stored.model)', which is not one of "
                                  + ModelRegistry.models.map(\.name).joined(separator: ", "))
        }
        if let model, model != m.name {
            throw ValidationError("\(dir) is a \(m.name) run (its options.json): --continue resumes it as \(m.name); "
                                  + "leave out '\(model)' or give \(m.name)")
        }
        var o = stored
        let given: Set<String>
        do { given = try o.parseCommandLine(optionWords, for: m, otherNames: Self.otherNames) } catch { throw ValidationError(error.description) }
        let changed = (CommonOptions.all + m.options.map(\.option)).filter {
            given.contains($0.key) && $0.key != CommonOptions.table.continueTrain.key && o.value(of: $0) != stored.value(of: $0)
        }
        func show(_ opt: AnyOpt, _ v: OptionJSON) -> String {
            opt.isFlag ? (v == .bool(true) ? "--\(opt.name)" : "--no-\(opt.name)") : "--\(opt.name) \(v)"
        }
        let lines = changed.map { "\(show($0, o.value(of: $0))) (the run's: \(show($0, stored.value(of: $0))))" }
        let fixed = changed.filter(\.shapesNetworks)
        if !fixed.isEmpty {
            throw ValidationError("\(dir)'s checkpoints hold networks of "
                + fixed.map { show($0, stored.value(of: $0)) }.joined(separator: " ")
                + ": --continue cannot change " + fixed.map { "--" + $0.name }.joined(separator: ", ")
                + ". Leave \(fixed.count == 1 ? "it" : "them") out, or start a new run under another --name.")
        }
        if !lines.isEmpty && !overrideStored {
            throw ValidationError("--continue resumes \(dir) with the options in its options.json; the command line differs:\n  "
                + lines.joined(separator: "\n  ")
                + "\nAdd --override to apply \(lines.count == 1 ? "this change" : "these changes") (the learning-rate schedule from "
                + "the next epoch on), or leave \(lines.count == 1 ? "it" : "them") out: `img2img train --continue --name \(name)"
                + (runs == CommonOptions.table.checkpointsDir.defaultValue ? "" : " --checkpoints-dir \(runs)") + "` is enough.")
        }
        o.continueTrain = true
        return Resolved(options: o, model: m, folder: folder, changes: lines)
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
            } catch let e as DatasetLayoutError {
                progress.finish()
                throw ValidationError(ModelRegistry.explain(e).description)
            }
        }
        let resolved = try resolve(worldSize: group.size, probeLock: group.isWriter)
        let o = resolved.options
        if o.continueTrain, resolved.folder.finished, let total = resolved.folder.totalEpochs,
           let done = resolved.folder.epochsDone, done >= o.nEpochs + o.nEpochsDecay - o.epochCount + 1 {
            // Nothing to train: a script that resumes until done ends here with status 0.
            if group.isWriter {
                print("\(o.directory) holds \(resolved.folder.summary): all \(total) epochs are done, nothing to train. "
                      + "To train longer, raise the epochs, e.g. img2img train --continue --name \(o.name) --n-epochs "
                      + "\(o.nEpochs + total) --override")
            }
            return
        }
        if !resolved.changes.isEmpty && group.isWriter {
            progress.message("--override: " + resolved.changes.joined(separator: "; "))
        }
        // --eval-freq: the held-out data and the FID network are checked before anything is moved or trained.
        var evaluate: ((Int) throws -> [(name: String, value: Double)])? = nil
        if o.evalFreq > 0 && group.isWriter {
            evaluate = try usage {
                if let problem = evaluationDataProblem(o) { throw TrainingError.invalidOptions(problem.description) }
                let extractor = try FIDWeights.extractor(path: nil)
                return try trainingEvaluation(o, extractor: extractor) { path, why in
                    progress.message("img2img: evaluation: \(path): \(why)")
                }
            }
        }
        if !o.continueTrain && overwrite && resolved.folder.holdsRun && group.isWriter {
            let to = try resolved.folder.moveAside()
            progress.message("--overwrite: moved the previous run (\(resolved.folder.summary)) to \(to)")
        }
        let run = try usage { try TrainingRun(options: o, model: resolved.model, group: group, events: events) }
        run.evaluate = evaluate
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
            let dirOption = o.checkpointsDir == CommonOptions.table.checkpointsDir.defaultValue ? "" : " --checkpoints-dir \(o.checkpointsDir)"
            print("interrupted: saved \(run.latestPath) at epoch \(run.trainer.currentEpochNumber), iteration "
                  + "\(run.trainer.progress.iteration); resume with: img2img train --continue --name \(o.name)\(dirOption)")
            throw ExitCode(130)
        }
    }
}
