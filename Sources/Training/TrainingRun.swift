// One training run, as the paper code's train.py: the only training loop of img2img. The CLI's
// `train` builds the options, creates a run and calls `run()`; the tests run this same loop.
//
//   var o = TrainableModel.pix2pix.defaultOptions(dataroot: "datasets/facades", name: "facades")
//   o.nEpochs = 5
//   let run = try TrainingRun(options: o, events: TrainingEvents(message: { print($0) }))
//   TrainingRun.stopOnInterrupt()          // Ctrl-C: save and return .interrupted
//   let outcome = try run.run()
//
// Everything goes to CHECKPOINTS_DIR/NAME (the run folder):
//   latest.safetensors              all networks, optimizer states, schedule, random states,
//                                   position (TrainingCheckpoint + the run's own state)
//   latest_net_<G_A|G|...>.safetensors   each network alone with its architecture (translate)
//   epoch_<n>.safetensors, epoch_<n>_net_*.safetensors   every save_epoch_freq epochs
//   options.json, opt.txt           the effective options (JSON; the paper code's format)
//   .lock                           flock held while a run runs (RunFolderLock: one writer per folder)
//   loss_log.jsonl, index.html, web/images/   the report (RunReport)
// The loop per epoch: update the learning rate (at the start, as the paper code), then one
// optimize call per batch; after each: the NaN/Inf stop, the log, the iteration save and the
// stop request; after each epoch: latest (every save_latest_epochs), numbered copies, report.
import Foundation
import Augment
import Checkpoint
import Datasets
import ImageIO
import Autograd
import Distributed
import Models
import NN
import TensorCore
import Translation

/// Set by the SIGINT handler that `stopOnInterrupt` installs.
nonisolated(unsafe) private var interruptRequested: Int32 = 0

public final class TrainingRun {
    public let options: TrainOptions
    public let model: TrainableModel
    public let trainer: any GANTrainer
    public let loader: DataLoader
    public let report: RunReport
    /// Architecture of every network by checkpoint prefix.
    public let configs: [String: ModelConfig]
    public let classes: [String]?
    public var events: TrainingEvents
    /// The processes of the run (one, or the ranks of a data-parallel run): handed in, never global.
    public let group: any ProcessGroup
    private let averager: GradientAverager
    /// Files of the dataset that failed at the scan (named as images but not images, unreadable).
    private let datasetFailures: [String]
    private var stopRequested = false
    private let lock = NSLock()
    /// Set for the run that re-traces a failed iteration (TrainingRun+NonFinite): it writes
    /// nothing and stops after that iteration, keeping what the checks found.
    var replayTo: Int? = nil
    /// `--eval-freq`: FID/KID of the held-out split with the networks saved as `latest` at epoch
    /// `number` (set by whoever has the FID network: the CLI). The first value is the one
    /// `best_net_*` minimizes (FID).
    public var evaluate: ((_ number: Int) throws -> [(name: String, value: Double)])? = nil
    /// The lowest first value of `evaluate` so far (RUN/best.json across resumes).
    var best: Double = .infinity
    var replayAnomaly: Anomaly? = nil
    private var dry: Bool { replayTo != nil }

    /// The run folder.
    public var directory: String { options.directory }
    public var latestPath: String { directory + "/latest.safetensors" }
    /// Epochs this run trains: the paper code's range(epoch_count, n_epochs + n_epochs_decay + 1).
    public var totalEpochs: Int { lastEpochNumber - options.epochCount + 1 }
    /// The number of the last epoch (epochs are numbered from --epoch-count).
    public var lastEpochNumber: Int { options.nEpochs + options.nEpochsDecay }
    /// The lock file held while `run()` runs (one writer per run folder).
    public var lockPath: String { directory + "/.lock" }

    /// Every input file that failed, at the scan or when loaded (each was named through
    /// `events.message`): the CLI's exit status 3.
    public var failedFiles: [String] {
        Array(Set(datasetFailures + loader.failures.map(\.path))).sorted()
    }

    /// Checks the options, scans the dataset and builds the model (networks initialized from the seed).
    public init(options: TrainOptions, model m: TrainableModel, group: any ProcessGroup = SingleProcess(),
                events: TrainingEvents = TrainingEvents()) throws {
        try m.check(options)
        guard options.worldSize == group.size else {
            throw TrainingError.invalidOptions("world_size \(options.worldSize) but \(group.size) ranks are running")
        }
        self.options = options
        self.model = m
        self.group = group
        averager = GradientAverager(group: group)
        // Only rank 0 speaks and writes; the others train silently in step with it.
        self.events = group.isWriter ? events : TrainingEvents()
        let dataset = try m.makeDataset(options)
        try m.checkPlannedSizes(options, dataset: dataset)
        if group.isWriter { for s in dataset.skipped { events.message("img2img: skipped \(s)") } }
        datasetFailures = dataset.skipped.map(\.path)
        if group.isActive {
            let counts = group.allGather(dataset.count)
            guard Set(counts).count == 1 else {
                throw DataParallelError.datasetsDiffer(counts: counts, dataroot: options.dataroot)
            }
        }
        let built = try m.build(options, dataset)
        trainer = built.trainer
        configs = built.configs
        classes = built.classes
        loader = DataLoader(dataset: dataset, batchSize: options.batchSize, shuffle: true, seed: options.seed,
                            dropLast: false, maxItems: options.maxDatasetSize,
                            shard: (group.rank, group.size),
                            onSkip: { e in events.message("img2img: rank \(group.rank): \(e)") })
        if group.isActive {
            let averager = self.averager
            for (_, o) in trainer.optimizers { o.beforeStep = { averager.average($0) } }
            // Each rank draws its own noise and labels (cgan/dcgan); saved per rank in checkpoints.
            if group.rank > 0 { trainer.rng = SplitMix64(seed: deriveSeed(options.seed, 7000 + UInt64(group.rank))) }
        }
        // --sync-bn: each batch-norm layer of the run's networks gets the group (as SyncBatchNorm)
        for (_, net) in trainer.networks {
            for (_, m) in net.namedModules() { (m as? BatchNorm2D)?.processGroup = options.syncBN ? group : nil }
        }
        report = RunReport(directory: options.directory, title: "\(options.name): \(m.name)")
    }

    /// Makes Ctrl-C (SIGINT), SIGTERM (a scheduler's stop) and SIGUSR1 stop every run after its
    /// current iteration, with a checkpoint. Under mpirun, SIGUSR1 is the one it forwards to
    /// every rank (`kill -USR1 <mpirun's pid>`); its Ctrl-C ends the job at once instead.
    public static func stopOnInterrupt() {
        for s in [SIGINT, SIGTERM, SIGUSR1] { signal(s) { _ in interruptRequested = 1 } }
    }

    /// Stops the run after the current iteration, as Ctrl-C does (callable from the events).
    public func requestStop() {
        lock.lock(); stopRequested = true; lock.unlock()
    }

    var shouldStop: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopRequested || interruptRequested != 0
    }

    // MARK: - The loop

    public func run() throws -> TrainingOutcome {
        let writer = group.isWriter && !dry
        // One writer per run folder: rank 0 of a data-parallel run, or the one process.
        var folderLock: RunFolderLock? = nil
        if writer {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            folderLock = try RunFolderLock(path: lockPath, directory: directory)
            // A user's run is never restarted by accident: a new run needs an empty folder (the
            // CLI's --overwrite moves the old one aside first).
            if !options.continueTrain {
                let existing = RunFolder(directory: directory)
                if existing.holdsRun { throw TrainingRunError.runExists(directory: directory, summary: existing.summary) }
            }
            _ = removeStaleTemporaryFiles(under: directory)  // checkpoints half-written by a killed run
        }
        defer { folderLock?.release() }
        group.barrier()  // the folder exists before any rank looks for a checkpoint in it
        var batchInEpoch = 0
        if options.continueTrain {
            batchInEpoch = try resume()
        } else if writer {
            report.resetLog()
        }
        if writer { try writeOptions() }
        if let w = zeroRateWarning(from: trainer.progress.epoch) { events.message(w) }
        if writer && options.continueTrain, let b = BestRecord.read(directory) { best = b.value }
        if options.strictData, let f = datasetFailures.first { throw TrainingRunError.badInput(path: f, strict: true) }
        if group.isActive {
            events.message("data-parallel: \(group.size) ranks x batch \(options.batchSize) = \(options.effectiveBatchSize) "
                           + "images per step, \(loader.batchesPerEpoch) steps per epoch"
                           + (options.syncBN ? ", batch norm synchronized" : ""))
        }

        let perEpoch = loader.batchesPerEpoch
        let imagesPerBatch = Double(options.effectiveBatchSize)
        var checkedSizes = Set<[Int]>()
        while trainer.progress.epoch < totalEpochs {
            let epoch = trainer.progress.epoch
            // The paper code steps the rate at the start of each epoch. It is stepped here just
            // before the epoch's first step, after the ranks agreed to go on, so that a stop agreed
            // at an epoch's start saves it unstepped and the resume steps it exactly once.
            var rateStepped = batchInEpoch > 0
            let started = Date()
            let reducedBefore = averager.seconds
            var done = 0
            let batches = loader.batches(epoch: epoch, skipping: batchInEpoch)
            while true {
                let next = batches.next()
                // The ranks agree, every step, on the batch and on stopping: a rank whose batch
                // failed to load, or that saw Ctrl-C first, must not leave the others waiting.
                let stop = try agree(batch: next?.index)
                guard let batch = next else { break }
                if stop { try save(label: "latest", batchInEpoch: batchInEpoch); return .interrupted }
                if !rateStepped { trainer.updateLearningRate(); rateStepped = true }
                for (h, w, path) in [(batch.height, batch.width, batch.pathsA.first), (batch.heightB, batch.widthB, batch.pathsB.first)]
                where checkedSizes.insert([h, w]).inserted {
                    do { try model.checkTrainingSize(options, height: h, width: w) } catch {
                        throw TrainingRunError.imageSize("\(error) (\(path ?? "a batch") after preprocessing)")
                    }
                }
                if options.strictData, let f = loader.failures.first { throw TrainingRunError.badInput(path: f.path, strict: true) }
                var files: [String] = []
                for f in batch.pathsA + batch.pathsB where !files.contains(f) { files.append(f) }  // aligned: A and B are one file
                if options.detectAnomaly || replayTo == trainer.progress.iteration + 1 {
                    // Every op's output checked (--detect-anomaly, or the re-run of a failed iteration).
                    let (_, anomaly) = AnomalyMode.checking(naming: anomalyNames()) {
                        trainer.optimizeParameters(trainingBatch(batch))
                    }
                    trainer.progress.iteration += 1
                    if replayTo != nil { replayAnomaly = anomaly; return .finished }
                    if let anomaly {
                        throw nonFinite(loss: nil, anomaly: anomaly, traced: true, files: files)
                    }
                } else {
                    trainer.optimizeParameters(trainingBatch(batch))
                    trainer.progress.iteration += 1
                }
                batchInEpoch = batch.index + 1
                done += 1
                let losses = averaged(trainer.lossValues)
                if let bad = losses.first(where: { !$0.value.isFinite }) {
                    // Traced: the iteration is run again from the last checkpoint with every op checked.
                    let anomaly = options.detectAnomaly ? nil : traceByReplay(iteration: trainer.progress.iteration)
                    throw nonFinite(loss: bad, anomaly: anomaly, traced: anomaly != nil || options.detectAnomaly, files: files)
                }
                let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
                if writer && (trainer.progress.iteration % max(1, options.printFreq) == 0 || batchInEpoch == perEpoch) {
                    try report.log(epoch: trainer.currentEpochNumber, iteration: trainer.progress.iteration, losses: losses,
                                   learningRate: trainer.schedule.lr, imagesPerSecond: rate * imagesPerBatch,
                                   skippedFiles: failedFiles.count)
                }
                events.iteration(IterationStatus(epoch: trainer.currentEpochNumber, totalEpochs: lastEpochNumber,
                                                 batchInEpoch: batchInEpoch, batchesPerEpoch: perEpoch,
                                                 iteration: trainer.progress.iteration, rate: rate, losses: losses))
                if options.saveLatestFreq > 0 && trainer.progress.iteration % options.saveLatestFreq == 0 && batchInEpoch < perEpoch {
                    try save(label: "latest", batchInEpoch: batchInEpoch)
                }
            }
            if !rateStepped { trainer.updateLearningRate() }  // an epoch without a batch still counts
            let trainedFor = Date().timeIntervalSince(started)
            trainer.progress.epoch += 1
            batchInEpoch = 0
            let finished = trainer.progress.epoch
            let number = options.epochCount + finished - 1  // the paper code's number of this epoch
            let saveLatest = finished == totalEpochs
                || (options.saveLatestEpochs > 0 && finished % options.saveLatestEpochs == 0)
            if saveLatest { try save(label: "latest", batchInEpoch: 0) }
            if options.saveEpochFreq > 0 && number % options.saveEpochFreq == 0 {
                try save(label: "epoch_\(number)", batchInEpoch: 0)
            }
            if writer, let evaluate, options.evalFreq > 0, number % options.evalFreq == 0 {
                if !saveLatest { try save(label: "latest", batchInEpoch: 0) }
                try runEvaluation(evaluate, epoch: number)
            }
            if writer {
                report.skippedFiles = failedFiles
                try report.addEpoch(number, samples: sampleImages())
            }
            events.epoch(EpochStatus(epoch: number, totalEpochs: lastEpochNumber, seconds: trainedFor, steps: done,
                                     allreduceSeconds: averager.seconds - reducedBefore, savedLatest: saveLatest, latestPath: latestPath, reportPath: report.indexPath))
        }
        return .finished
    }

    /// The warning for the epochs from `epoch` (0-based) on that train at learning rate 0, naming
    /// the options that make it so; nil when every epoch has a rate above 0. The schedule is the
    /// paper code's (one step at the start of each epoch, so a linear schedule's last epoch is
    /// at 0); it is replayed from the start, as the trainers follow it.
    public func zeroRateWarning(from epoch: Int) -> String? {
        let total = totalEpochs
        guard epoch < total else { return nil }
        var s = LRSchedule(policy: options.lrPolicy, baseLR: options.lr, epochCount: options.epochCount, nEpochs: options.nEpochs,
                           nEpochsDecay: options.nEpochsDecay, lrDecayIters: options.lrDecayIters)
        var zero: [Int] = []
        for k in 0..<total {
            s.step()
            if k >= epoch && !(abs(s.lr) > options.lr * 1e-9) { zero.append(options.epochCount + k) }
        }
        let all = !zero.isEmpty && zero.count == total - epoch
        // A linear schedule's last epoch runs at 0 in the paper code too (1 of its 200): that alone
        // is how every run at the paper's defaults ends, not worth a warning. Warned: any other
        // epoch at 0, or a run whose every remaining epoch is at 0.
        if options.lrPolicy == .linear && options.lr > 0 && !all && zero.last == lastEpochNumber { zero.removeLast() }
        guard !zero.isEmpty else { return nil }
        let which = zero.count == 1 ? "epoch \(zero[0])" : "epochs \(zero.first!)-\(zero.last!)"
        let cause: String
        if !(options.lr > 0) {
            cause = "--lr \(options.lr)"
        } else {
            switch options.lrPolicy {
            case .linear:
                cause = "--lr-policy linear with --n-epochs \(options.nEpochs) --n-epochs-decay \(options.nEpochsDecay): "
                    + "the rate reaches 0 at the start of the last epoch, as in the paper code"
            case .cosine:
                cause = "--lr-policy cosine with --n-epochs \(options.nEpochs): the rate is 0 every 2 * n-epochs epochs"
            case .step:
                cause = "--lr-policy step with --lr-decay-iters \(options.lrDecayIters): the rate underflows to 0"
            case .plateau:
                cause = "--lr-policy plateau"
            }
        }
        let range = options.epochCount == 1 ? "\(lastEpochNumber)" : "epochs \(options.epochCount)-\(lastEpochNumber)"
        return "img2img: warning: \(which) of \(range) will run at learning rate 0 (\(cause))"
            + (all ? "; the run will not change the networks: raise --n-epochs-decay or --n-epochs" : "")
    }

    /// Restores the latest checkpoint; returns the batches of the current epoch already done.
    private func resume() throws -> Int {
        guard FileManager.default.fileExists(atPath: latestPath) else {
            throw TrainingRunError.noCheckpointToContinue(latestPath)
        }
        let file = try SafeTensors.read(path: latestPath)
        try TrainingCheckpoint.restore(file, into: trainer, file: latestPath)
        // Exact resume numbers the epochs from the checkpoint; a new --epoch-count would renumber
        // the epochs already trained and shift the schedule.
        guard trainer.schedule.epochCount == options.epochCount else {
            throw TrainingError.invalidOptions("--epoch-count \(options.epochCount) differs from the run's \(trainer.schedule.epochCount): "
                + "--continue resumes at epoch \(trainer.schedule.epochCount + trainer.progress.epoch) by itself; leave --epoch-count out")
        }
        // As the paper code's --continue_train, the schedule follows this run's options (e.g.
        // more epochs) from the next epoch on; its position comes from the checkpoint.
        trainer.schedule.policy = options.lrPolicy
        trainer.schedule.baseLR = options.lr
        trainer.schedule.nEpochs = options.nEpochs
        trainer.schedule.nEpochsDecay = options.nEpochsDecay
        trainer.schedule.lrDecayIters = options.lrDecayIters
        let state = RunState.decode(file.metadata)
        let batchInEpoch = state?.batchInEpoch ?? 0
        if group.isActive, group.rank > 0 {
            if state?.worldSize == group.size { try restoreRankState(file) } else {
                // A checkpoint of another rank count: rank 0's generators for all, by a rank-specific skip.
                trainer.rng = SplitMix64(seed: deriveSeed(trainer.rng.state, 7000 + UInt64(group.rank)))
            }
        }
        if group.isWriter && !dry { report.loadLog() }
        events.message("resuming \(options.name) at epoch \(trainer.currentEpochNumber), iteration \(trainer.progress.iteration)"
                       + (batchInEpoch > 0 ? " (batch \(batchInEpoch) of the epoch)" : ""))
        return batchInEpoch
    }

    func trainingBatch(_ b: Batch) -> TrainingBatch {
        TrainingBatch(realA: Tensor(shape: b.shapeA, scalars: b.a), realB: b.b.map { Tensor(shape: b.shapeB, scalars: $0) },
                      labels: classes != nil ? b.labels : nil)
    }

    // MARK: - Files

    /// Writes the training checkpoint `<label>.safetensors` and each network alone as
    /// `<label>_net_<prefix>.safetensors`, each atomically.
    public func save(label: String, batchInEpoch: Int) throws {
        // Under MPI every rank reaches here at the same step: the ranks' own generators and pools
        // go to rank 0, which writes one checkpoint for all.
        let ranks = group.isActive ? group.gather(try rankState()) : nil
        guard group.isWriter && !dry else { return }
        var metadata: [String: String] = [:]
        for (k, cfg) in configs { metadata[ModelConfig.metadataKey + "." + k] = cfg.json() }
        metadata[RunMetadata.key] = RunState(batchInEpoch: batchInEpoch, classes: classes, worldSize: group.size).json()
        var file = try TrainingCheckpoint.encode(trainer, extraMetadata: metadata)
        for (r, bytes) in (ranks ?? []).enumerated().dropFirst() {
            let state = try SafeTensors.decode(bytes)
            for t in state.tensors { file.tensors.append(NamedTensor(name: "rank\(r).\(t.name)", shape: t.shape, values: t.values)) }
            for (k, v) in state.metadata { file.metadata["img2img.rank\(r).\(k)"] = v }
        }
        try SafeTensors.write(file, to: directory + "/\(label).safetensors")
        for (name, module) in trainer.networks {
            var net = tensorFile(module, config: configs[name])
            if classes != nil { net.metadata[RunMetadata.key] = RunState(batchInEpoch: 0, classes: classes).json() }
            try SafeTensors.write(net, to: directory + "/\(label)_net_\(name).safetensors")
        }
    }

    /// options.json (JSONEncoder) and the paper code's opt.txt, both of the effective options.
    func writeOptions() throws {
        try AtomicFile.write(Array(try options.json()), to: directory + "/options.json")
        var defaults = model.defaultOptions(dataroot: options.dataroot, name: options.name)
        defaults.checkpointsDir = options.checkpointsDir
        try AtomicFile.write(Array(options.optText(defaults: defaults).utf8), to: directory + "/opt.txt")
    }

    /// This epoch's samples, captioned: the last batch's first item through every visual of
    /// the model (real_A, fake_B, rec_A, ...), or for a noise GAN a row of samples per class.
    func sampleImages() -> [(caption: String, image: Image)] {
        let perRow = 8
        if let s = trainer.reportSamples(perClass: perRow) {
            let rows = s.shape[0] / perRow
            return (0..<rows).map { r in
                let caption = classes.map { r < $0.count ? $0[r] : "class \(r)" } ?? "G(z)"
                return (caption, Image.grid((0..<perRow).map { image(of: s, item: r * perRow + $0) }, columns: perRow))
            }
        }
        return trainer.visuals.map { ($0.name, image(of: $0.image, item: 0)) }
    }
}
