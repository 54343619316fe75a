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

extension TrainableModel {
    /// All checks of the resolved options: the ranges every model shares, the network sizes known
    /// from the options, then the model's own `validate`. Throws `TrainingError.invalidOptions`.
    public func check(_ o: TrainOptions) throws {
        try validateCommonOptions(o, model: self)
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
        let usesD = usesDiscriminator(o)
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
        // Two stride-2 convs, then ReflectionPad2d(1) in every block: the bottleneck needs a side
        // of 2, so the input one of 8.
        if min(h, w) < 8 {
            return "\(o.netG) needs sides of at least 8; got \(w)x\(h): use --crop-size 8 or more"
                + (fromData ? " with --preprocess resize_and_crop" : "")
        }
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
func validateCommonOptions(_ o: TrainOptions, model: TrainableModel) throws {
    let datasetMode = model.datasetMode
    func fail(_ why: String) -> TrainingError { .invalidOptions(why) }
    // each option's own range (its declaration), then the rules between options
    if let why = o.declarationProblems(modelOptions: model.options.map(\.option)).first { throw fail(why) }
    guard o.nEpochs + o.nEpochsDecay >= 1 else { throw fail("--n-epochs + --n-epochs-decay must be at least 1") }
    guard (1...(o.nEpochs + o.nEpochsDecay)).contains(o.epochCount) else {
        throw fail("--epoch-count must be 1...\(o.nEpochs + o.nEpochsDecay) (--n-epochs + --n-epochs-decay), got \(o.epochCount)")
    }
    guard model.discriminators.contains(o.netD) else {
        throw fail("--netD \(o.netD) is not one of \(model.name)'s: \(model.discriminators.joined(separator: ", "))")
    }
    guard datasetMode == .colorization || ([1, 3].contains(o.inputNc) && [1, 3].contains(o.outputNc)) else {
        throw fail("--input-nc and --output-nc must be 1 or 3, got \(o.inputNc) and \(o.outputNc)")
    }
    guard o.initGain.isFinite, o.lr.isFinite, o.lambdaGP.isFinite, o.clipValue.isFinite else {
        throw fail("--init-gain, --lr, --lambda-gp and --clip-value must be finite")
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
