// Every check of a run's options that can be made before anything is loaded, and the one check
// that needs the data: whether the networks can take the training images' size. A value a
// network or a loop cannot take is refused here with the rule and the fix in one line, never
// left to a `precondition` deep in a layer (which kills the process with SIGILL).
//
//   TrainableModel.check(o)                      common ranges, known sizes, then the model's own
//   TrainableModel.checkTrainingSize(o, h, w)    the size of a batch (from data: --preprocess none,
//                                                scale_width, crop of small images), before its step
import Augment
import Datasets
import Models

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

extension TrainableModel {
    /// All checks of the resolved options: the ranges every model shares, the network sizes known
    /// from the options, then the model's own `validate`. Throws `TrainingError.invalidOptions`.
    public func check(_ o: TrainOptions) throws {
        try validateCommonOptions(o, datasetMode: datasetMode)
        if datasetMode != .labeled, let s = knownTrainingSize(o) {
            try checkTrainingSize(o, height: s, width: s)
        }
        try validate(o)
    }

    /// Whether the networks of this model can take training images of `width` x `height`:
    /// a U-Net needs multiples of 2^downs, a ResNet generator multiples of 4, a PatchGAN a side
    /// that leaves it an output. Throws `TrainingError.invalidOptions` with the rule and the fix.
    public func checkTrainingSize(_ o: TrainOptions, height: Int, width: Int) throws {
        guard datasetMode != .labeled else { return }  // cgan/dcgan resize to --image-size
        let usesD = name != TrainableModel.template.name || o.float("lambda-GAN") > 0
        if let why = trainingSizeProblem(o, height: height, width: width, discriminator: usesD) {
            throw TrainingError.invalidOptions(why)
        }
    }
}

extension TrainableModel {
    /// The checks of the data's sizes before the first step, from the files' headers, when the
    /// preprocessing keeps sizes from the data (none, scale_width, crop of small images): a batch
    /// of more than one image needs one size per side, and every size must suit the networks.
    /// Throws `TrainingError.invalidOptions` naming a file.
    public func checkPlannedSizes(_ o: TrainOptions, dataset: any ImageDataset) throws {
        guard datasetMode != .labeled, knownTrainingSize(o) == nil else { return }
        let sizes = dataset.plannedSizes()
        let mode = "--preprocess \(o.preprocess.rawValue)"
        if o.batchSize > 1 {
            for side in ["A", "B", "A|B"] {
                let s = sizes.filter { $0.side == side }
                guard let first = s.first,
                      let other = s.first(where: { $0.width != first.width || $0.height != first.height }) else { continue }
                throw TrainingError.invalidOptions(
                    "--batch-size \(o.batchSize) needs images of one size after \(mode), but \(first.path) is "
                    + "\(first.width)x\(first.height) and \(other.path) is \(other.width)x\(other.height): use --batch-size 1 "
                    + "(each image trains at its own size) or a preprocess mode that crops (resize_and_crop, scale_width_and_crop)")
            }
        }
        var seen = Set<[Int]>()
        for p in sizes where seen.insert([p.width, p.height]).inserted {
            do { try checkTrainingSize(o, height: p.height, width: p.width) } catch TrainingError.invalidOptions(let why) {
                throw TrainingError.invalidOptions("\(p.path) is \(p.width)x\(p.height) after \(mode): \(why)")
            }
        }
    }
}

/// The side every training image has after preprocessing, when the options alone fix it.
func knownTrainingSize(_ o: TrainOptions) -> Int? {
    switch o.preprocess {
    case .resizeAndCrop, .scaleWidthAndCrop: return o.cropSize
    case .resize: return o.loadSize
    case .crop, .scaleWidth, .none: return nil  // from the data (small images are not cropped)
    }
}

/// Why `o`'s networks cannot take `width` x `height` images, with the fix; nil if they can.
public func trainingSizeProblem(_ o: TrainOptions, height h: Int, width w: Int, discriminator: Bool) -> String? {
    let fromData = knownTrainingSize(o) == nil
    switch ModelConfig.parseNetG(o.netG) {
    case .unet(let downs)?:
        let m = 1 << downs
        if h % m != 0 || w % m != 0 {
            return "\(o.netG) needs sides that are multiples of \(m); got \(w)x\(h): use --crop-size \(m)"
                + (fromData ? " with --preprocess resize_and_crop" : "") + " or --netG resnet_6blocks"
        }
    case .resnet?:
        if h % 4 != 0 || w % 4 != 0 {
            let down = max(4, min(h, w) / 4 * 4)
            return "\(o.netG) needs sides that are multiples of 4; got \(w)x\(h): use --crop-size \(down)"
                + (fromData ? " with --preprocess resize_and_crop, or --preprocess none (rounds to multiples of 4)" : "")
        }
    case nil:
        return "unknown --netG '\(o.netG)'"
    }
    guard discriminator, o.netD != "pixel" else { return nil }
    let layers = o.netD == "basic" ? 3 : o.nLayersD
    if NLayerDiscriminator.outputSize(inputSize: min(h, w), nLayers: layers) < 1 {
        let need = NLayerDiscriminator.smallestInputSize(nLayers: layers)
        return "a \(layers)-layer PatchGAN needs training images of at least \(need) pixels, got \(w)x\(h): "
            + "raise --crop-size to \(need) or use --netD pixel or fewer --n-layers-D"
    }
    return nil
}

/// The ranges every model shares. Values outside them would trap a layer, overflow the
/// schedule's arithmetic or divide by zero.
func validateCommonOptions(_ o: TrainOptions, datasetMode: DatasetMode) throws {
    func fail(_ why: String) -> TrainingError { .invalidOptions(why) }
    guard (0...maxEpochOption).contains(o.nEpochs), (0...maxEpochOption).contains(o.nEpochsDecay) else {
        throw fail("--n-epochs and --n-epochs-decay must be 0...\(maxEpochOption), got \(o.nEpochs) and \(o.nEpochsDecay)")
    }
    guard o.nEpochs + o.nEpochsDecay >= 1 else { throw fail("--n-epochs + --n-epochs-decay must be at least 1") }
    guard (1...(o.nEpochs + o.nEpochsDecay)).contains(o.epochCount) else {
        throw fail("--epoch-count must be 1...\(o.nEpochs + o.nEpochsDecay) (--n-epochs + --n-epochs-decay), got \(o.epochCount)")
    }
    guard (1...maxBatchSize).contains(o.batchSize) else { throw fail("--batch-size must be 1...\(maxBatchSize), got \(o.batchSize)") }
    guard o.maxDatasetSize >= 1 else { throw fail("--max-dataset-size must be at least 1, got \(o.maxDatasetSize)") }
    guard (1...maxBaseWidth).contains(o.ngf), (1...maxBaseWidth).contains(o.ndf) else {
        throw fail("--ngf and --ndf must be 1...\(maxBaseWidth), got \(o.ngf) and \(o.ndf)")
    }
    if o.netD == "projection" && o.model != "cgan" {
        throw fail("--netD projection is cgan's (a projection discriminator needs class labels); \(o.model) takes basic, n_layers or pixel")
    }
    guard ["basic", "n_layers", "pixel", "projection"].contains(o.netD) else {
        throw fail("unknown --netD '\(o.netD)' (basic, n_layers, pixel; cgan: basic, projection)")
    }
    guard (1...maxDiscriminatorLayers).contains(o.nLayersD) else {
        throw fail("--n-layers-D must be 1...\(maxDiscriminatorLayers), got \(o.nLayersD)")
    }
    guard datasetMode == .colorization || ([1, 3].contains(o.inputNc) && [1, 3].contains(o.outputNc)) else {
        throw fail("--input-nc and --output-nc must be 1 or 3, got \(o.inputNc) and \(o.outputNc)")
    }
    guard o.dSteps >= 1 else { throw fail("--d-steps must be at least 1, got \(o.dSteps)") }
    guard o.lr.isFinite, o.lr >= 0 else { throw fail("--lr must be a finite number >= 0, got \(o.lr)") }
    guard o.beta1.isFinite, (0..<1).contains(o.beta1) else { throw fail("--beta1 must be in [0, 1), got \(o.beta1)") }
    guard o.initGain.isFinite else { throw fail("--init-gain must be finite, got \(o.initGain)") }
    guard o.lambdaGP.isFinite, o.lambdaGP >= 0 else { throw fail("--lambda-GP must be finite and >= 0, got \(o.lambdaGP)") }
    guard o.clipValue.isFinite, o.clipValue >= 0 else { throw fail("--clip-value must be finite and >= 0, got \(o.clipValue)") }
    guard o.lrDecayIters >= 1 else { throw fail("--lr-decay-iters must be at least 1, got \(o.lrDecayIters)") }
    guard o.saveEpochFreq >= 0, o.saveLatestFreq >= 0, o.saveLatestEpochs >= 0 else {
        throw fail("--save-epoch-freq, --save-latest-freq and --save-latest-epochs must be 0 or more")
    }
    guard o.printFreq >= 1 else { throw fail("--print-freq must be at least 1, got \(o.printFreq)") }
    guard (1...maxTrainingImageSide).contains(o.loadSize), (1...maxTrainingImageSide).contains(o.cropSize) else {
        throw fail("--load-size and --crop-size must be 1...\(maxTrainingImageSide), got \(o.loadSize) and \(o.cropSize)")
    }
    // The paper code's aligned dataset asserts load_size >= crop_size whatever the mode.
    if (datasetMode == .aligned || [.resizeAndCrop, .scaleWidthAndCrop].contains(o.preprocess)) && o.loadSize < o.cropSize {
        throw fail("--load-size (\(o.loadSize)) must be at least --crop-size (\(o.cropSize))")
    }
    guard datasetMode != .labeled else { return }
    guard ModelConfig.parseNetG(o.netG) != nil else {
        throw fail("unknown --netG '\(o.netG)' (resnet_<n>blocks, unet_<2^k, at least 32>)")
    }
    let g = ModelConfig.generator(o.netG, inputNC: o.inputNc, outputNC: o.outputNc, ngf: o.ngf, norm: o.norm,
                                  useDropout: o.useDropout)
    let d = ModelConfig(kind: .discriminator, netD: o.netD, inputNC: o.inputNc + o.outputNc, ndf: o.ndf, norm: o.norm,
                        nLayersD: o.nLayersD)
    for (what, c) in [("generator", g), ("discriminator", d)] {
        guard let n = c.parameterBound(), n <= ModelConfig.maxParameters else {
            throw fail("the \(what) would have more than \(ModelConfig.maxParameters) parameters: lower --ngf/--ndf or the depth")
        }
    }
}
