// The options every model shares, each declared once (the paper code's base_options.py and
// train_options.py). A model changes their defaults in its registration (`setDefaults`, the
// paper code's `set_defaults`); its own options are `ModelOptions` (OptionDeclaration.swift).
//
// Adding an option: one stored property below (name, default, help, check), then its use
// (`o.myOption`); `train`, --help, options.json and opt.txt follow, and
// TrainingTests/OptionTableTests checks that they agree.
import Augment
import Datasets
import Models
import NN

extension GANMode: OptionEnum {}
extension LRPolicy: OptionEnum {}
extension InitType: OptionEnum {}
extension ModelConfig.Norm: OptionEnum {}
extension Direction: OptionEnum {}
extension Preprocess: OptionEnum {}
extension ResizeFilter: OptionEnum {}

/// The largest side `--load-size` and `--crop-size` may ask for (a 8192x8192 RGB image is 200 M
/// floats per activation channel group; larger ones only fail later, out of memory).
public let maxTrainingImageSide = 8192
/// The largest `--n-epochs` and `--n-epochs-decay` (keeps the schedule's arithmetic in range).
public let maxEpochOption = 1_000_000
/// The largest `--batch-size`.
public let maxBatchSize = 65_536
/// The largest `--ngf` and `--ndf`.
public let maxBaseWidth = 4096
/// The most layers of the n_layers PatchGAN.
public let maxDiscriminatorLayers = 16

/// The declarations, in the order --help lists them. Stored properties, so that `all` can walk
/// them (Mirror) and `TrainOptions` can reach each by a typed key path.
public struct CommonOptions: Sendable {
    // MARK: what and where
    public let model = Opt<String>("model", "", "The model (the subcommand's argument).", recordedOnly: true)
    public let dataroot = Opt<String>("dataroot", "", "Dataset folder.")
    public let name = Opt<String>("name", "", "Name of the run (its folder under --checkpoints-dir).")
    public let checkpointsDir = Opt<String>("checkpoints-dir", "runs", "Where runs are stored.")
    // MARK: networks
    public let netG = Opt<String>("netG", "resnet_9blocks",
                                  "resnet_9blocks | resnet_6blocks | unet_256 | unet_128 | resnet_<n>blocks | unet_<size>", shapesNetworks: true)
    public let netD = Opt<String>("netD", "basic", "basic | n_layers | pixel (cgan: basic | projection)", shapesNetworks: true)
    public let nLayersD = Opt<Int>("n-layers-D", 3, "Layers of the n_layers discriminator.",
                                   check: .within(1...maxDiscriminatorLayers), shapesNetworks: true)
    public let ngf = Opt<Int>("ngf", 64, "Generator base width.", check: .within(1...maxBaseWidth), shapesNetworks: true)
    public let ndf = Opt<Int>("ndf", 64, "Discriminator base width.", check: .within(1...maxBaseWidth), shapesNetworks: true)
    public let norm = Opt<ModelConfig.Norm>("norm", .instance, "Normalization layers.", shapesNetworks: true)
    public let initType = Opt<InitType>("init-type", .normal, "Weight initialization.")
    public let initGain = Opt<Float>("init-gain", 0.02, "Scale of the initialization.")
    public let useDropout = Opt<Bool>("dropout", key: "use_dropout", false, "Dropout in the generator (--no-dropout: none).")
    public let inputNc = Opt<Int>("input-nc", 3, "Input channels (1 gray, 3 RGB).", shapesNetworks: true)
    public let outputNc = Opt<Int>("output-nc", 3, "Output channels.", shapesNetworks: true)
    // MARK: losses
    public let ganMode = Opt<GANMode>("gan-mode", .lsgan, "The GAN objective.")
    public let dSteps = Opt<Int>("d-steps", 1, "Discriminator updates per generator update.", check: .atLeast(1))
    public let lambdaGP = Opt<Float>("lambda-gp", 10, "WGAN-GP penalty weight.", check: .atLeast(0))
    public let clipValue = Opt<Float>("clip-value", 0.01, "WGAN weight clipping bound.", check: .atLeast(0))
    // MARK: data
    public let direction = Opt<Direction>("direction", .aToB,
        "pix2pix: which half of the A|B pairs is the input; cyclegan: BtoA swaps trainA and trainB (G_A maps B to A).")
    public let preprocess = Opt<Preprocess>("preprocess", .resizeAndCrop, "How training images are scaled and cropped.")
    public let loadSize = Opt<Int>("load-size", 286, "Scale images to this size (before cropping).",
                                   check: .within(1...maxTrainingImageSide))
    public let cropSize = Opt<Int>("crop-size", 256, "Then crop to this size.", check: .within(1...maxTrainingImageSide))
    public let noFlip = Opt<Bool>("no-flip", false, "Do not flip images horizontally.")
    public let filter = Opt<ResizeFilter>("filter", .bicubic, "Resampling filter (nearest for label maps).")
    public let anyPairAspect = Opt<Bool>("any-pair-aspect", false,
                                         "Aligned data (pix2pix): take A|B images that are not twice as wide as high (pairs of non-square halves).")
    public let serialBatches = Opt<Bool>("serial-batches", false, "Take B images in order instead of at random (unpaired data).")
    public let maxDatasetSize = Opt<Int>("max-dataset-size", .max, "At most this many images per epoch.",
                                         check: .atLeast(1))
    public let batchSize = Opt<Int>("batch-size", 1, "Images per batch.", check: .within(1...maxBatchSize))
    // MARK: schedule
    public let epochCount = Opt<Int>("epoch-count", 1,
        "The number of the first epoch: epochs run from it to n-epochs + n-epochs-decay, the schedule counts from it "
        + "and numbered saves are named by it (the paper code's --epoch_count).")
    public let nEpochs = Opt<Int>("n-epochs", 100, "Epochs at the initial learning rate.", check: .within(0...maxEpochOption))
    public let nEpochsDecay = Opt<Int>("n-epochs-decay", 100, "Epochs of decay to zero.", check: .within(0...maxEpochOption))
    public let lr = Opt<Double>("lr", 0.0002, "Initial learning rate.", check: .atLeast(0))
    public let beta1 = Opt<Double>("beta1", 0.5, "Adam beta1.", check: OptionCheck { (0..<1).contains($0) ? nil : "in [0, 1)" })
    public let beta2 = Opt<Double>("beta2", 0.999, "Adam beta2 (the paper code's fixed 0.999).",
                                   check: OptionCheck { (0..<1).contains($0) ? nil : "in [0, 1)" })
    public let lrPolicy = Opt<LRPolicy>("lr-policy", .linear, "Learning-rate schedule.")
    public let lrDecayIters = Opt<Int>("lr-decay-iters", 50, "step policy: decay every this many epochs.", check: .atLeast(1))
    public let seed = Opt<UInt64>("seed", 0, "Seed: the same seed, machine and thread count give the same run bit for bit.")
    // MARK: run
    public let continueTrain = Opt<Bool>("continue", key: "continue_train", false, "Resume the run from its latest checkpoint.")
    public let saveEpochFreq = Opt<Int>("save-epoch-freq", 5, "Keep a numbered checkpoint every this many epochs (0: never).",
                                        check: .atLeast(0))
    public let saveLatestFreq = Opt<Int>("save-latest-freq", 5000,
                                         "Also save the latest checkpoint every this many iterations (0: never by iteration count).",
                                         check: .atLeast(0))
    public let saveLatestEpochs = Opt<Int>("save-latest-epochs", 1,
        "Save the latest checkpoint at the end of every this many epochs (0: only at the end, on Ctrl-C and every "
        + "--save-latest-freq iterations). A U-Net pix2pix checkpoint with its optimizer state is about 900 MB: on a small "
        + "dataset, saving it every epoch can take as long as the epoch.", check: .atLeast(0))
    public let strictData = Opt<Bool>("strict-data", false,
                                      "Stop at the first input file that fails (unreadable, not an image) instead of naming, counting and skipping it.")
    public let detectAnomaly = Opt<Bool>("detect-anomaly", false,
                                         "Check every op's output, forward and backward, for NaN and infinity at every iteration "
                                         + "(slow; a run that meets a NaN loss re-runs that iteration with the checks by itself).")
    public let evalFreq = Opt<Int>("eval-freq", 0,
                                   "Every this many epochs, FID/KID of the held-out split (testA/testB, or test) with the epoch's "
                                   + "networks, logged and plotted; best_net_*.safetensors keeps the networks of the lowest FID (0: never).",
                                   check: .atLeast(0))
    public let evalImages = Opt<Int>("eval-images", 500, "At most this many held-out images per domain (per class for cgan) for --eval-freq.",
                                     check: .atLeast(2))
    public let evalDataroot = Opt<String>("eval-dataroot", "",
                                          "The held-out data for --eval-freq: a dataset folder with testA/testB (or test) for the translation "
                                          + "models (default: --dataroot's); for cgan, labeled folders as training's (one subfolder per class), "
                                          + "for dcgan a folder of images (required for both).")
    public let printFreq = Opt<Int>("print-freq", 100, "Log losses every this many iterations.", check: .atLeast(1))
    /// Part of the record because results are identical only for equal counts (--threads sets it).
    public let numThreads = Opt<Int>("num-threads", 1, "Compute threads per process.", recordedOnly: true)
    /// Data-parallel processes (MPI ranks); each takes batch_size images per step.
    public let worldSize = Opt<Int>("world-size", 1, "Data-parallel processes (MPI ranks).", recordedOnly: true)
    public let syncBN = Opt<Bool>("sync-bn", false,
                                  "Under MPI: batch norm statistics over every rank's batch (default: each rank's own, as PyTorch DDP).")

    public init() {}

    /// The one instance the typed accessors read.
    public static let table = CommonOptions()

    /// The preprocessing options, which `augment` takes too.
    public static let preprocessing: [AnyOpt] = [table.preprocess.erased, table.loadSize.erased, table.cropSize.erased,
                                                  table.noFlip.erased, table.filter.erased]

    /// Every declaration, in order.
    public static let all: [AnyOpt] = Mirror(reflecting: table).children.compactMap { child in
        (child.value as? any ErasableOpt)?.erasedOpt
    }
}

/// Lets `CommonOptions.all` erase the stored `Opt<V>` of any `V`.
protocol ErasableOpt { var erasedOpt: AnyOpt { get } }
extension Opt: ErasableOpt { var erasedOpt: AnyOpt { erased } }
