import ArgumentParser
import Foundation
import Augment
import Datasets
import Models
import Training
import NN
import _CKernels

enum TrainModel: String, ExpressibleByArgument, CaseIterable {
    case cyclegan, pix2pix, cgan, dcgan
}

extension GANMode: ExpressibleByArgument {}
extension LRPolicy: ExpressibleByArgument {}
extension InitType: ExpressibleByArgument {}

/// `img2img train MODEL --dataroot DIR --name NAME`: the paper code's train.py.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CycleGAN, pix2pix, label-conditional GAN or DCGAN on a folder.",
        discussion: """
        Data layouts (the paper code's): cyclegan reads DATAROOT/trainA and DATAROOT/trainB \
        (unpaired); pix2pix reads DATAROOT/train with A|B side-by-side images; cgan and dcgan \
        read DATAROOT with one subfolder per class.

        Defaults are the paper code's for each model (cyclegan: resnet_9blocks, instance norm, \
        lsgan, pool 50; pix2pix: unet_256, batch norm, vanilla GAN, L1 x100). Everything goes to \
        CHECKPOINTS-DIR/NAME: options.json, checkpoints (latest, every --save-epoch-freq epochs, \
        and each network alone as latest_net_<G_A|G_B|G|...>.safetensors for translate), \
        loss_log.jsonl, and an HTML report (index.html) with sample grids and loss curves, \
        refreshed every epoch.

        Ctrl-C saves a checkpoint and exits; --continue resumes a run exactly where it stopped \
        (same batches, same random numbers). A loss that becomes NaN or infinite stops the run \
        with a message naming it; the last good checkpoint is kept.
        """)

    @Argument(help: "cyclegan | pix2pix | cgan | dcgan")
    var model: TrainModel

    @Option(help: "Dataset folder.")
    var dataroot: String

    @Option(help: "Name of the run (its folder under --checkpoints-dir).")
    var name: String

    @Option(help: "Where runs are stored.")
    var checkpointsDir: String = "runs"

    @Option(name: .customLong("netG"), help: "resnet_9blocks | resnet_6blocks | unet_256 | unet_128 | resnet_<n>blocks | unet_<size>")
    var netG: String?
    @Option(name: .customLong("netD"), help: "basic | n_layers | pixel")
    var netD: String = "basic"
    @Option(name: .customLong("n-layers-D"), help: "Layers of the n_layers discriminator.")
    var nLayersD: Int = 3
    @Option(help: "Generator base width.")
    var ngf: Int = 64
    @Option(help: "Discriminator base width.")
    var ndf: Int = 64
    @Option(help: "instance | batch | none | instance_affine")
    var norm: ModelConfig.Norm?
    @Option(help: "normal | xavier | kaiming | orthogonal")
    var initType: InitType = .normal
    @Option(help: "Scale of the initialization.")
    var initGain: Float = 0.02
    @Flag(help: "Dropout in the generator (pix2pix uses it by default; see --no-dropout).")
    var dropout = false
    @Flag(help: "No dropout in the generator.")
    var noDropout = false
    @Option(help: "Input channels (1 gray, 3 RGB).")
    var inputNc: Int = 3
    @Option(help: "Output channels.")
    var outputNc: Int = 3

    @Option(help: "lsgan | vanilla | wgan | wgangp")
    var ganMode: GANMode?
    @Option(help: "Discriminator updates per generator update.")
    var dSteps: Int = 1
    @Option(help: "WGAN-GP penalty weight.")
    var lambdaGP: Float = 10
    @Option(help: "WGAN weight clipping bound.")
    var clipValue: Float = 0.01
    @Option(name: .customLong("lambda-A"), help: "CycleGAN: weight of the cycle loss A -> B -> A.")
    var lambdaA: Float = 10
    @Option(name: .customLong("lambda-B"), help: "CycleGAN: weight of the cycle loss B -> A -> B.")
    var lambdaB: Float = 10
    @Option(help: "CycleGAN: weight of the identity loss, relative to lambda-A/B.")
    var lambdaIdentity: Float = 0.5
    @Option(name: .customLong("lambda-L1"), help: "pix2pix: weight of the L1 loss.")
    var lambdaL1: Float = 100
    @Option(help: "Size of the fake-image pool (0 disables it).")
    var poolSize: Int?

    @Option(help: "pix2pix: AtoB or BtoA.")
    var direction: Direction = .aToB
    @OptionGroup var preprocessing: PreprocessOptions
    @Flag(help: "CycleGAN: take B images in order instead of at random.")
    var serialBatches = false
    @Option(help: "At most this many images per epoch.")
    var maxDatasetSize: Int = .max
    @Option(help: "cgan/dcgan: image side (4 * 2^k).")
    var imageSize: Int = 64
    @Option(help: "cgan/dcgan: noise size.")
    var nz: Int = 100

    @Option(help: "Images per batch.")
    var batchSize: Int = 1
    @Option(help: "Epochs at the initial learning rate.")
    var nEpochs: Int = 100
    @Option(help: "Epochs of linear decay to zero.")
    var nEpochsDecay: Int = 100
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
    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?
    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard saveLatestEpochs >= 0 else { throw ValidationError("--save-latest-epochs must be 0 or more") }
        guard nEpochs >= 0, nEpochsDecay >= 0, nEpochs + nEpochsDecay >= 1 else {
            throw ValidationError("--n-epochs + --n-epochs-decay must be at least 1")
        }
        guard dSteps >= 1 else { throw ValidationError("--d-steps must be at least 1") }
        guard [1, 3].contains(inputNc), [1, 3].contains(outputNc) else {
            throw ValidationError("--input-nc and --output-nc must be 1 or 3")
        }
        if let netG, ModelConfig.parseNetG(netG) == nil {
            throw ValidationError("unknown --netG '\(netG)'")
        }
        guard ["basic", "n_layers", "pixel"].contains(netD) else { throw ValidationError("unknown --netD '\(netD)'") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if dropout && noDropout { throw ValidationError("--dropout and --no-dropout contradict each other") }
    }

    func run() throws {
        if let threads { i2i_set_num_threads(Int32(threads)) }
        let run = try TrainingRun(command: self)
        try run.start()
    }
}
