import ArgumentParser
import Foundation
import Augment
import Datasets
import Models
import NN
import TensorCore
import Training

extension GANMode: ExpressibleByArgument {}
extension LRPolicy: ExpressibleByArgument {}
extension InitType: ExpressibleByArgument {}

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

            Defaults of --netG, --norm, --gan-mode and dropout are each model's own (the paper code's). \
            Each model's own options follow its name below (--name value or --name=value).


            """ + ModelRegistry.models.map(Self.help(of:)).joined(separator: "\n\n"))
    }

    /// One model's paragraph: what it is, its data, its defaults and its own options.
    static func help(of m: TrainableModel) -> String {
        let d = m.defaultOptions(dataroot: "", name: "")
        var s = "\(m.name): \(m.abstract)\n  data: \(m.datasetMode.layout)"
        if m.datasetMode != .labeled {
            let base = TrainOptions(model: "", dataroot: "", name: "")
            s += "\n  defaults: --netG \(d.netG) --norm \(d.norm.rawValue) --gan-mode \(d.ganMode.rawValue)"
                + (d.useDropout ? " --dropout" : "")
                + (d.initType != base.initType ? " --init-type \(d.initType.rawValue)" : "")
                + (d.inputNc != base.inputNc || d.outputNc != base.outputNc ? " --input-nc \(d.inputNc) --output-nc \(d.outputNc)" : "")
                + (d.nEpochs != base.nEpochs || d.nEpochsDecay != base.nEpochsDecay
                   ? " --n-epochs \(d.nEpochs) --n-epochs-decay \(d.nEpochsDecay)" : "")
                + (d.lr != base.lr ? " --lr \(d.lr)" : "")
        } else {
            s += "\n  defaults: --gan-mode \(d.ganMode.rawValue)"
        }
        for o in m.options {
            // a flag that is itself a negation (CUT's --no-antialias) has no --no- form worth naming
            let negated = o.name.hasPrefix("no-")
            s += "\n  --\(o.name)" + (o.kind == .flag ? "" : " <\(o.defaultValue)>") + ": \(o.help)"
                + (o.kind == .flag ? (negated ? " (default \(o.defaultValue))"
                                              : " (--no-\(o.name) turns it off; default \(o.defaultValue))") : "")
        }
        return s
    }

    @Argument(help: ArgumentHelp("The model: \(ModelRegistry.models.map(\.name).joined(separator: " | ")).",
                                 valueName: "model"))
    var model: String

    @Option(help: "Dataset folder.")
    var dataroot: String

    @Option(help: "Name of the run (its folder under --checkpoints-dir).")
    var name: String

    @Option(help: "Where runs are stored.")
    var checkpointsDir: String = "runs"

    @Option(name: .customLong("netG"), help: "resnet_9blocks | resnet_6blocks | unet_256 | unet_128 | resnet_<n>blocks | unet_<size>")
    var netG: String?
    @Option(name: .customLong("netD"), help: "basic | n_layers | pixel (cgan: basic | projection)")
    var netD: String = "basic"
    @Option(name: .customLong("n-layers-D"), help: "Layers of the n_layers discriminator.")
    var nLayersD: Int = 3
    @Option(help: "Generator base width.")
    var ngf: Int = 64
    @Option(help: "Discriminator base width.")
    var ndf: Int = 64
    @Option(help: "instance | batch | none | instance_affine")
    var norm: ModelConfig.Norm?
    @Option(help: "normal | xavier | kaiming | orthogonal (default: the model's; normal, cut/fastcut: xavier)")
    var initType: InitType?
    @Option(help: "Scale of the initialization.")
    var initGain: Float = 0.02
    @Flag(help: "Dropout in the generator (pix2pix uses it by default; see --no-dropout).")
    var dropout = false
    @Flag(help: "No dropout in the generator.")
    var noDropout = false
    @Option(help: "Input channels (1 gray, 3 RGB; default 3, colorization 1).")
    var inputNc: Int?
    @Option(help: "Output channels (default 3, colorization 2).")
    var outputNc: Int?

    @Option(help: "lsgan | vanilla | wgan | wgangp")
    var ganMode: GANMode?
    @Option(help: "Discriminator updates per generator update.")
    var dSteps: Int = 1
    @Option(help: "WGAN-GP penalty weight.")
    var lambdaGP: Float = 10
    @Option(help: "WGAN weight clipping bound.")
    var clipValue: Float = 0.01

    @Option(help: "AtoB or BtoA: pix2pix, which half of the A|B pairs is the input; cyclegan, BtoA swaps trainA and trainB (G_A maps B to A).")
    var direction: Direction = .aToB
    @OptionGroup var preprocessing: PreprocessOptions
    @Flag(help: "Take B images in order instead of at random (unpaired data).")
    var serialBatches = false
    @Option(help: "At most this many images per epoch.")
    var maxDatasetSize: Int = .max

    @Option(help: "Images per batch.")
    var batchSize: Int = 1
    @Option(help: "Epochs at the initial learning rate (default: the model's, 100 for most; cut 200, fastcut 150).")
    var nEpochs: Int?
    @Option(help: "Epochs of linear decay to zero (default: the model's, 100 for most; cut 200, fastcut 50).")
    var nEpochsDecay: Int?
    @Option(help: ArgumentHelp("The number of the first epoch: epochs run from it to n-epochs + n-epochs-decay, the "
                               + "schedule counts from it and numbered saves are named by it (the paper code's --epoch_count)."))
    var epochCount: Int = 1
    @Option(help: "Initial learning rate.")
    var lr: Double = 0.0002
    @Option(help: "Adam beta1.")
    var beta1: Double = 0.5
    @Option(help: "linear | step | plateau | cosine")
    var lrPolicy: LRPolicy = .linear
    @Option(help: "step policy: decay every this many epochs.")
    var lrDecayIters: Int = 50
    @Option(help: "Seed: the same seed, machine and thread count give the same run bit for bit.")
    var seed: UInt64 = 0
    @Flag(name: .customLong("continue"), help: "Resume the run from its latest checkpoint.")
    var continueTrain = false
    @Option(help: "Keep a numbered checkpoint every this many epochs.")
    var saveEpochFreq: Int = 5
    @Option(help: "Also save the latest checkpoint every this many iterations (0: never by iteration count).")
    var saveLatestFreq: Int = 5000
    @Option(help: ArgumentHelp("Save the latest checkpoint at the end of every this many epochs (0: only at the end, "
                               + "on Ctrl-C and every --save-latest-freq iterations).",
                               discussion: "A U-Net pix2pix checkpoint with its optimizer state is about 900 MB: on "
                               + "a small dataset, saving it every epoch can take as long as the epoch."))
    var saveLatestEpochs: Int = 1
    @Option(help: "Log losses every this many iterations.")
    var printFreq: Int = 100
    @OptionGroup var engine: EngineOptions
    @Flag(help: "No progress bar.")
    var quiet = false
    @Flag(help: "Under MPI: batch norm statistics over every rank's batch (default: each rank's own, as PyTorch DDP).")
    var syncBn = false

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The model's own options (see each model below).",
                                                            valueName: "model-options"))
    var modelArguments: [String] = []

    func validate() throws {
        _ = try effectiveOptions()
    }

    /// The run's options: the model's defaults, then what was given. Usage errors throw
    /// `ValidationError` (exit status 64).
    func effectiveOptions() throws -> TrainOptions {
        guard let m = ModelRegistry.model(named: model) else {
            throw ValidationError("unknown model '\(model)': \(ModelRegistry.models.map(\.name).joined(separator: ", "))")
        }
        // Ranges, network sizes and the model's own rules: Training's TrainableModel.check, below.
        if dropout && noDropout { throw ValidationError("--dropout and --no-dropout contradict each other") }

        var o = m.defaultOptions(dataroot: dataroot, name: name)
        o.checkpointsDir = checkpointsDir
        if let netG { o.netG = netG }
        o.netD = netD; o.nLayersD = nLayersD; o.ngf = ngf; o.ndf = ndf
        if let norm { o.norm = norm }
        if let initType { o.initType = initType }
        o.initGain = initGain
        if dropout { o.useDropout = true }
        if noDropout { o.useDropout = false }
        if let inputNc { o.inputNc = inputNc }
        if let outputNc { o.outputNc = outputNc }
        if let ganMode { o.ganMode = ganMode }
        o.dSteps = dSteps; o.lambdaGP = lambdaGP; o.clipValue = clipValue
        o.direction = direction
        o.preprocess = preprocessing.preprocess; o.loadSize = preprocessing.loadSize; o.cropSize = preprocessing.cropSize
        o.noFlip = preprocessing.noFlip; o.filter = preprocessing.filter
        o.serialBatches = serialBatches; o.maxDatasetSize = maxDatasetSize; o.batchSize = batchSize
        if let nEpochs { o.nEpochs = nEpochs }
        if let nEpochsDecay { o.nEpochsDecay = nEpochsDecay }
        o.epochCount = epochCount; o.lr = lr; o.beta1 = beta1; o.lrPolicy = lrPolicy
        o.lrDecayIters = lrDecayIters; o.seed = seed; o.continueTrain = continueTrain
        o.saveEpochFreq = saveEpochFreq; o.saveLatestFreq = saveLatestFreq; o.saveLatestEpochs = saveLatestEpochs
        o.printFreq = printFreq
        o.numThreads = engine.threads ?? Engine.threads
        o.worldSize = DataParallel.size
        o.syncBN = syncBn
        do {
            try o.setModelOptions(modelArguments, for: m)
            try m.check(o)
        } catch let e as TrainingError {
            if case .invalidOptions(let why) = e { throw ValidationError(why) }
            throw e
        }
        return o
    }

    func run() throws {
        engine.apply()
        // Started by mpirun or srun: one rank of a data-parallel run (DataParallel).
        try DataParallel.startIfLaunched()
        defer { DataParallel.stop() }
        let progress = ProgressDisplay(label: "it", quiet: quiet || !DataParallel.isWriter)
        let quiet = self.quiet || !DataParallel.isWriter
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
                    let reduce = DataParallel.isActive && s.steps > 0
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
        let run = try usage { try TrainingRun(options: try effectiveOptions(), events: events) }
        TrainingRun.stopOnInterrupt()
        let outcome: TrainingOutcome
        do { outcome = try usage { try run.run() } } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        guard DataParallel.isWriter else {
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
