// Trainable models: what `img2img train <model>` can train. A model is one registration: its
// trainer file (module Trainers) declares a `TrainableModel` (name, help, defaults, its own
// options, its dataset, how `test` runs it, how to build the trainer), and Trainers'
// `ModelRegistry` lists it. The CLI builds its `train`
// subcommands, their help and the parsing of each model's options from this list alone.
//
// To add a model (see TemplateTrainer.swift, the paper code's template_model.py):
//   1. write the trainer (a GANTrainer) in a new file of this module;
//   2. in the same file, `extension TrainableModel { public static let mine = TrainableModel(...) }`;
//   3. add `.mine` to `ModelRegistry.builtIn` (or call `ModelRegistry.register(.mine)` before
//      parsing the command line, as a test or a plug-in does).
// The registration is the one place a model's name appears outside its own file: `train`,
// `test`, the option checks and --help read everything they need from it.
import Foundation
import ImageIO
import Augment
import Datasets
import Models
import TensorCore

/// A model's trainer and what the run folder needs to know about its networks.
public struct BuiltTrainer {
    public var trainer: any GANTrainer
    /// Architecture of every network by checkpoint prefix ("G_A", "D", ...): written into the
    /// training checkpoint and each per-network file, so they load without flags.
    public var configs: [String: ModelConfig]
    /// Class names of a label-conditional model (kept in its files for `generate`).
    public var classes: [String]?

    public init(trainer: any GANTrainer, configs: [String: ModelConfig], classes: [String]? = nil) {
        self.trainer = trainer; self.configs = configs; self.classes = classes
    }
}

/// The folder layouts of the paper code's dataset modes.
public enum DatasetMode: String, Sendable {
    /// DATAROOT/trainA and DATAROOT/trainB, unpaired.
    case unaligned
    /// DATAROOT/train with A|B side-by-side pairs.
    case aligned
    /// DATAROOT/<class>/..., one subfolder per class.
    case labeled
    /// Colour photos in DATAROOT/train, or in DATAROOT itself (any folder of photos).
    case colorization

    public var layout: String {
        switch self {
        case .unaligned: return "DATAROOT/trainA and DATAROOT/trainB (unpaired)"
        case .aligned: return "DATAROOT/train with A|B side-by-side pairs"
        case .labeled: return "DATAROOT with one subfolder per class"
        case .colorization: return "DATAROOT/train, or DATAROOT itself, with colour photos"
        }
    }
}

public struct TrainableModel: Sendable {
    /// `img2img train <name>`.
    public var name: String
    /// One line for the help.
    public var abstract: String
    public var datasetMode: DatasetMode
    /// The model's own options (its `modify_commandline_options`), with its defaults.
    public var options: [ModelOptionUse]
    /// The model's defaults for the common options (the paper code's `set_defaults`).
    public var setDefaults: @Sendable (inout TrainOptions) -> Void
    /// The model's own checks of the resolved options (the shared ranges and the networks' sizes are
    /// `check`'s, which calls this last); throws `TrainingError.invalidOptions`.
    public var validate: @Sendable (TrainOptions) throws -> Void
    /// The training data's preprocessing, when the model fixes it (cgan/dcgan: square images).
    public var augment: @Sendable (TrainOptions) -> AugmentOptions
    /// The trainer, its networks initialized from the options' seed.
    public var build: @Sendable (TrainOptions, _ dataset: any ImageDataset) throws -> BuiltTrainer
    /// How `img2img test` runs a trained model (nil: it does not; cgan and dcgan generate instead).
    public var test: TestSpec?
    /// The --netD values the model takes.
    public var discriminators: [String]
    /// Whether the options give the model a PatchGAN (the template's only with --lambda-GAN > 0),
    /// for the check of the training image size.
    public var usesDiscriminator: @Sendable (TrainOptions) -> Bool

    public init(name: String, abstract: String, datasetMode: DatasetMode, options: [ModelOptionUse] = [],
                setDefaults: @escaping @Sendable (inout TrainOptions) -> Void = { _ in },
                validate: @escaping @Sendable (TrainOptions) throws -> Void = { _ in },
                augment: @escaping @Sendable (TrainOptions) -> AugmentOptions = { $0.augmentOptions },
                test: TestSpec? = nil, discriminators: [String] = ["basic", "n_layers", "pixel"],
                usesDiscriminator: @escaping @Sendable (TrainOptions) -> Bool = { _ in true },
                build: @escaping @Sendable (TrainOptions, any ImageDataset) throws -> BuiltTrainer) {
        self.name = name; self.abstract = abstract; self.datasetMode = datasetMode; self.options = options
        self.setDefaults = setDefaults; self.validate = validate; self.augment = augment; self.build = build
        self.test = test; self.discriminators = discriminators; self.usesDiscriminator = usesDiscriminator
    }

    /// Every option at this model's default, every model option included.
    public func defaultOptions(dataroot: String, name runName: String) -> TrainOptions {
        var o = TrainOptions(model: name, dataroot: dataroot, name: runName)
        o.numThreads = Engine.threads
        setDefaults(&o)
        for use in options { o.modelValues[use.option.key] = use.option.defaultJSON }
        return o
    }

    /// The model's defaults with no data or run named: what a trainer built in code starts from
    /// (`var o = TrainableModel.pix2pix.defaults; o.lambdaL1 = 50`).
    public var defaults: TrainOptions { defaultOptions(dataroot: "", name: "") }

    /// The dataset of the run, scanned (bad files are in its `skipped`).
    public func makeDataset(_ o: TrainOptions) throws -> any ImageDataset {
        let dataset: any ImageDataset
        do { dataset = try scanDataset(o) } catch let e as DatasetError {
            throw layoutError(o, problem: e.description)
        } catch let e as ImageIOError {
            // The folder itself (DATAROOT/train, trainA, ...) is missing or unreadable.
            throw layoutError(o, problem: e.description.replacingOccurrences(of: "cannot list folder", with: "no such folder or not readable"))
        }
        if let aligned = dataset as? AlignedDataset { try checkPairs(o, paths: aligned.paths) }
        return dataset
    }

    private func scanDataset(_ o: TrainOptions) throws -> any ImageDataset {
        let aug = augment(o)
        switch datasetMode {
        case .unaligned:
            return try UnalignedDataset(root: o.dataroot, phase: "train", options: aug, channelsA: o.inputNc,
                                        channelsB: o.outputNc, serial: o.serialBatches, direction: o.direction)
        case .aligned:
            return try AlignedDataset(root: o.dataroot, phase: "train", options: aug, direction: o.direction,
                                      channelsA: o.inputNc, channelsB: o.outputNc)
        case .labeled:
            return try LabeledDataset(root: o.dataroot, options: aug, channels: o.outputNc)
        case .colorization:
            // The trainer splits the RGB photos into L and ab.
            return try SingleDataset(root: colorizationFolder(o.dataroot, phase: "train"), options: aug, channels: 3)
        }
    }
}

/// How `test` reads DATAROOT (the paper code's dataset modes for test.py).
public enum TestDatasetMode: String, Sendable, CaseIterable {
    /// DATAROOT/testA and testB, each through its generator and back (cyclegan).
    case unaligned
    /// DATAROOT/test with A|B pairs; the output is compared with B (pix2pix).
    case aligned
    /// Every image of DATAROOT through one generator (G, or G_A / G_B by --direction).
    case single
    /// Colour photos in DATAROOT/test (or DATAROOT): gray in, colour out, compared with the photo.
    case colorization
}

/// How `img2img test` (the paper code's test.py) runs a model: its dataset mode and which
/// generator checkpoint maps the inputs.
public struct TestSpec: Sendable {
    public var datasetMode: TestDatasetMode
    /// The checkpoint prefix of the generator that maps the inputs for a direction ("G", "G_A").
    public var generator: @Sendable (Direction) -> String
    /// For unaligned data: each domain goes through its generator and back through the other's
    /// (CycleGAN's test); otherwise one generator maps A, shown beside a B image (CUT's).
    public var cycle: Bool

    public init(datasetMode: TestDatasetMode, generator: @escaping @Sendable (Direction) -> String = { _ in "G" },
                cycle: Bool = false) {
        self.datasetMode = datasetMode; self.generator = generator; self.cycle = cycle
    }

    /// What `test` does with the model's data, for --help.
    public var about: String {
        switch datasetMode {
        case .unaligned where cycle:
            return "DATAROOT/testA goes through G_A (and back through G_B), DATAROOT/testB through G_B (and back "
                + "through G_A); --direction BtoA swaps the folders, for a run trained with it."
        case .unaligned: return "DATAROOT/testA goes through G, beside an image of testB."
        case .aligned:
            return "DATAROOT/test holds A|B pairs; the output of G on A is compared with B (L1 on [0, 1], PSNR in dB, "
                + "SSIM), per image and on average."
        case .colorization:
            return "the photos of DATAROOT/test (or DATAROOT) are made gray, colorized and compared with the originals."
        case .single: return "every image of DATAROOT goes through G."
        }
    }
}

/// The colorization dataset's folder: DATAROOT/<phase> when it exists, else DATAROOT itself.
public func colorizationFolder(_ dataroot: String, phase: String) -> String {
    var isDir: ObjCBool = false
    let sub = dataroot + "/" + phase
    return FileManager.default.fileExists(atPath: sub, isDirectory: &isDir) && isDir.boolValue ? sub : dataroot
}
