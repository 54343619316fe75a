import ArgumentParser
import Foundation
import ImageIO
import Augment
import Datasets
import Models
import NN
import TensorCore
import Training
import Checkpoint

/// Set by SIGINT; the training loop checks it after every iteration.
nonisolated(unsafe) var stopRequested: Int32 = 0

/// What `--continue` needs beyond the trainer's own state.
struct RunState: Codable {
    /// Batches of the current epoch already trained on (0 at an epoch boundary).
    var batchInEpoch: Int
    var classes: [String]?
}

/// One training run: data, trainer, checkpoints, logs and the report, as the paper code's train.py.
final class TrainingRun {
    let cmd: TrainCommand
    let dir: String
    let trainer: any GANTrainer
    let loader: DataLoader
    /// Config of every network by checkpoint prefix, for the per-network files.
    let configs: [String: ModelConfig]
    let classes: [String]?
    let report: RunReport
    let progress: ProgressDisplay

    static let runKey = "img2img.run"

    init(command c: TrainCommand) throws {
        cmd = c
        dir = c.checkpointsDir + "/" + c.name
        progress = ProgressDisplay(label: "it", quiet: c.quiet)
        let skipReporter: @Sendable (DatasetError) -> Void = { [progress] e in progress.message("img2img: \(e)") }

        var aug = c.preprocessing.augmentOptions
        var t = TrainingOptions()
        t.lr = c.lr; t.beta1 = c.beta1; t.lrPolicy = c.lrPolicy; t.nEpochs = c.nEpochs; t.nEpochsDecay = c.nEpochsDecay
        t.lrDecayIters = c.lrDecayIters; t.dSteps = c.dSteps; t.clipValue = c.clipValue; t.lambdaGP = c.lambdaGP
        t.seed = c.seed
        let initOpts = InitOptions(type: c.initType, gain: c.initGain)
        if c.model == .cyclegan || c.model == .pix2pix, c.netD != "pixel" {
            // A PatchGAN shrinks its input 2^n_layers times and then by 3; too small an image
            // would leave it nothing to judge.
            let layers = c.netD == "basic" ? 3 : c.nLayersD
            let trainSize: Int? = [.resizeAndCrop, .crop, .scaleWidthAndCrop].contains(c.preprocessing.preprocess) ? c.preprocessing.cropSize
                : (c.preprocessing.preprocess == .resize ? c.preprocessing.loadSize : nil)
            if let s = trainSize, NLayerDiscriminator.outputSize(inputSize: s, nLayers: layers) < 1 {
                let need = (16...4096).first { NLayerDiscriminator.outputSize(inputSize: $0, nLayers: layers) >= 1 } ?? 0
                throw RuntimeError("a \(layers)-layer PatchGAN needs training images of at least \(need) pixels, "
                                      + "got \(s): raise --crop-size or use --netD pixel / --n-layers-D")
            }
        }
        let dataset: any ImageDataset
        var configs: [String: ModelConfig] = [:]
        var classes: [String]? = nil
        switch c.model {
        case .cyclegan:
            t.ganMode = c.ganMode ?? .lsgan
            var o = CycleGANOptions()
            o.training = t
            o.lambdaA = c.lambdaA; o.lambdaB = c.lambdaB; o.lambdaIdentity = c.lambdaIdentity
            o.poolSize = c.poolSize ?? 50
            if c.lambdaIdentity > 0 && c.inputNc != c.outputNc {
                throw RuntimeError("the identity loss needs --input-nc == --output-nc (or --lambda-identity 0)")
            }
            let g = ModelConfig.generator(c.netG ?? "resnet_9blocks", inputNC: c.inputNc, outputNC: c.outputNc, ngf: c.ngf,
                                          norm: c.norm ?? .instance, useDropout: c.dropout && !c.noDropout)
            let d = ModelConfig(kind: .discriminator, netD: c.netD, ndf: c.ndf, norm: c.norm ?? .instance, nLayersD: c.nLayersD)
            trainer = try CycleGANTrainer(generator: g, discriminator: d, options: o, initialization: initOpts)
            var gB = g; gB.inputNC = g.outputNC; gB.outputNC = g.inputNC
            var dA = d; dA.inputNC = g.outputNC
            var dB = d; dB.inputNC = g.inputNC
            configs = ["G_A": g, "G_B": gB, "D_A": dA, "D_B": dB]
            dataset = try UnalignedDataset(root: c.dataroot, phase: "train", options: aug, channelsA: c.inputNc,
                                           channelsB: c.outputNc, serial: c.serialBatches)
        case .pix2pix:
            t.ganMode = c.ganMode ?? .vanilla
            var o = Pix2PixOptions()
            o.training = t
            o.lambdaL1 = c.lambdaL1
            // The paper code's pix2pix uses dropout in G unless --no_dropout.
            let g = ModelConfig.generator(c.netG ?? "unet_256", inputNC: c.inputNc, outputNC: c.outputNc, ngf: c.ngf,
                                          norm: c.norm ?? .batch, useDropout: !c.noDropout)
            let d = ModelConfig(kind: .discriminator, netD: c.netD, inputNC: c.inputNc + c.outputNc, ndf: c.ndf,
                                norm: c.norm ?? .batch, nLayersD: c.nLayersD)
            trainer = try Pix2PixTrainer(generator: g, discriminator: d, options: o, initialization: initOpts)
            configs = ["G": g, "D": d]
            dataset = try AlignedDataset(root: c.dataroot, phase: "train", options: aug, direction: c.direction,
                                         channelsA: c.inputNc, channelsB: c.outputNc)
        case .cgan, .dcgan:
            t.ganMode = c.ganMode ?? .vanilla
            aug = AugmentOptions(preprocess: .resize, loadSize: c.imageSize, cropSize: c.imageSize, flip: !c.preprocessing.noFlip)
            let labeled = try LabeledDataset(root: c.dataroot, options: aug, channels: c.outputNc)
            dataset = labeled
            if c.model == .cgan {
                classes = labeled.classes
                let tr = NoiseGANTrainer.cgan(numClasses: labeled.classes.count, nz: c.nz, ngf: c.ngf, ndf: c.ndf,
                                              channels: c.outputNc, imageSize: c.imageSize, options: t, initialization: initOpts)
                trainer = tr
                configs = ["G": ModelConfig(kind: .cganGenerator, outputNC: c.outputNc, ngf: c.ngf, nz: c.nz,
                                            imageSize: c.imageSize, numClasses: labeled.classes.count),
                           "D": ModelConfig(kind: .cganDiscriminator, inputNC: c.outputNc, ndf: c.ndf,
                                            imageSize: c.imageSize, numClasses: labeled.classes.count)]
            } else {
                trainer = NoiseGANTrainer.dcgan(nz: c.nz, ngf: c.ngf, ndf: c.ndf, channels: c.outputNc,
                                                imageSize: c.imageSize, options: t, initialization: initOpts)
                configs = ["G": ModelConfig(kind: .dcganGenerator, outputNC: c.outputNc, ngf: c.ngf, nz: c.nz, imageSize: c.imageSize),
                           "D": ModelConfig(kind: .dcganDiscriminator, inputNC: c.outputNc, ndf: c.ndf, imageSize: c.imageSize)]
            }
        }
        for s in dataset.skipped { progress.message("img2img: skipped \(s)") }
        self.configs = configs
        self.classes = classes
        loader = DataLoader(dataset: dataset, batchSize: c.batchSize, shuffle: true, seed: c.seed, dropLast: false,
                            maxItems: c.maxDatasetSize, onSkip: skipReporter)
        report = RunReport(directory: dir, title: "\(c.name): \(c.model.rawValue)")
    }

    /// The metadata written into every checkpoint of this run.
    func metadata(batchInEpoch: Int) -> [String: String] {
        var m: [String: String] = [:]
        for (k, cfg) in configs { m[ModelConfig.metadataKey + "." + k] = cfg.json() }
        let state = RunState(batchInEpoch: batchInEpoch, classes: classes)
        m[Self.runKey] = String(decoding: (try? JSONEncoder().encode(state)) ?? Data(), as: UTF8.self)
        return m
    }

    func latestPath() -> String { dir + "/latest.safetensors" }

    /// Writes the training checkpoint and each network alone (for translate / generate).
    func save(label: String, batchInEpoch: Int) throws {
        let file = try TrainingCheckpoint.encode(trainer, extraMetadata: metadata(batchInEpoch: batchInEpoch))
        try SafeTensors.write(file, to: dir + "/\(label).safetensors")
        for (name, module) in trainer.networks {
            var net = tensorFile(module, config: configs[name])
            if let classes, let json = try? JSONEncoder().encode(RunState(batchInEpoch: 0, classes: classes)) {
                net.metadata[Self.runKey] = String(decoding: json, as: UTF8.self)
            }
            try SafeTensors.write(net, to: dir + "/\(label)_net_\(name).safetensors")
        }
    }

    func start() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        removeStaleTemporaryFiles(under: dir)  // checkpoints half-written by a killed run
        var batchInEpoch = 0
        if cmd.continueTrain {
            let path = latestPath()
            guard FileManager.default.fileExists(atPath: path) else {
                throw RuntimeError("--continue: no checkpoint at \(path)")
            }
            let file = try SafeTensors.read(path: path)
            try TrainingCheckpoint.restore(file, into: trainer, file: path)
            // As the paper code's --continue_train, the schedule follows this command's options
            // (e.g. more epochs) from the next epoch on; its position comes from the checkpoint.
            trainer.schedule.policy = cmd.lrPolicy
            trainer.schedule.baseLR = cmd.lr
            trainer.schedule.nEpochs = cmd.nEpochs
            trainer.schedule.nEpochsDecay = cmd.nEpochsDecay
            trainer.schedule.lrDecayIters = cmd.lrDecayIters
            if let json = file.metadata[Self.runKey], let st = try? JSONDecoder().decode(RunState.self, from: Data(json.utf8)) {
                batchInEpoch = st.batchInEpoch
            }
            report.loadLog()
            progress.message("resuming \(cmd.name) at epoch \(trainer.currentEpochNumber), iteration \(trainer.progress.iteration)"
                             + (batchInEpoch > 0 ? " (batch \(batchInEpoch) of the epoch)" : ""))
        } else {
            report.resetLog()
        }
        try writeOptions()

        signal(SIGINT) { _ in stopRequested = 1 }
        let totalEpochs = cmd.nEpochs + cmd.nEpochsDecay
        let perEpoch = loader.batchesPerEpoch
        while trainer.progress.epoch < totalEpochs {
            let epoch = trainer.progress.epoch
            if batchInEpoch == 0 { trainer.updateLearningRate() }
            let started = Date()
            var done = 0
            for batch in loader.batches(epoch: epoch, skipping: batchInEpoch) {
                trainer.optimizeParameters(trainingBatch(batch))
                trainer.progress.iteration += 1
                batchInEpoch = batch.index + 1
                done += 1
                let losses = trainer.lossValues
                if let bad = losses.first(where: { !$0.value.isFinite }) {
                    progress.finish()
                    throw RuntimeError("loss \(bad.name) became \(bad.value) at epoch \(trainer.currentEpochNumber), "
                                          + "iteration \(trainer.progress.iteration): stopping; the last good checkpoint "
                                          + "(\(latestPath())) is kept. Try a lower --lr.")
                }
                if trainer.progress.iteration % max(1, cmd.printFreq) == 0 || batchInEpoch == perEpoch {
                    report.log(epoch: trainer.currentEpochNumber, iteration: trainer.progress.iteration, losses: losses)
                }
                let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
                progress.update(done: batchInEpoch, total: perEpoch, rate: rate,
                                extra: "epoch \(trainer.currentEpochNumber)/\(totalEpochs)  "
                                    + losses.map { "\($0.name) \(String(format: "%.3f", $0.value))" }.joined(separator: " "))
                if cmd.saveLatestFreq > 0 && trainer.progress.iteration % cmd.saveLatestFreq == 0 && batchInEpoch < perEpoch {
                    try save(label: "latest", batchInEpoch: batchInEpoch)
                }
                if stopRequested != 0 {
                    progress.finish()
                    try save(label: "latest", batchInEpoch: batchInEpoch)
                    print("interrupted: saved \(latestPath()) at epoch \(trainer.currentEpochNumber), iteration "
                          + "\(trainer.progress.iteration); resume with the same command and --continue")
                    throw ExitCode(130)
                }
            }
            progress.finish()
            trainer.progress.epoch += 1
            batchInEpoch = 0
            let finishedEpoch = trainer.progress.epoch
            let saveLatest = finishedEpoch == totalEpochs
                || (cmd.saveLatestEpochs > 0 && finishedEpoch % cmd.saveLatestEpochs == 0)
            if saveLatest { try save(label: "latest", batchInEpoch: 0) }
            if cmd.saveEpochFreq > 0 && finishedEpoch % cmd.saveEpochFreq == 0 {
                try save(label: "epoch_\(finishedEpoch)", batchInEpoch: 0)
            }
            try report.addEpoch(finishedEpoch, grid: sampleGrid())
            if !cmd.quiet {
                print("epoch \(finishedEpoch)/\(totalEpochs) done in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, "
                      + (saveLatest ? "saved \(latestPath()), " : "") + "report \(report.indexPath)")
            }
        }
        print("finished \(totalEpochs) epochs: \(dir)/latest_net_*.safetensors, report \(report.indexPath)")
    }

    func trainingBatch(_ b: Batch) -> TrainingBatch {
        let a = Tensor(shape: b.shapeA, scalars: b.a)
        let bb = b.b.map { Tensor(shape: b.shapeB, scalars: $0) }
        return TrainingBatch(realA: a, realB: bb, labels: cmd.model == .cgan ? b.labels : nil)
    }

    /// This epoch's sample grid: the last batch's first item through every visual
    /// (real_A | fake_B | rec_A / real_B | fake_A | rec_B), or generated samples per class.
    func sampleGrid() -> Image? {
        if let noise = trainer as? NoiseGANTrainer {
            let s = noise.samples(perClass: 8)
            return tensorImage(imageGrid(s, columns: 8), item: 0)
        }
        let v = trainer.visuals
        guard !v.isEmpty else { return nil }
        let tiles = v.map { tensorImage($0.image, item: 0).toRGB8() }
        let columns = v.count == 6 ? 3 : v.count
        return tileImages(tiles, columns: columns)
    }

    func writeOptions() throws {
        let mirror = Mirror(reflecting: cmd)
        var lines: [String] = []
        for child in mirror.children {
            guard let label = child.label else { continue }
            let name = label.hasPrefix("_") ? String(label.dropFirst()) : label
            lines.append("  \"\(name)\": \"\(String(describing: child.value).replacingOccurrences(of: "\"", with: "'"))\"")
        }
        let json = "{\n" + lines.joined(separator: ",\n") + "\n}\n"
        try AtomicFile.write(Array(json.utf8), to: dir + "/options.json")
    }
}

/// Item `item` of an [N,H,W,C] tensor in [-1, 1] as an 8-bit image.
func tensorImage(_ t: Tensor, item: Int) -> Image {
    let (h, w, c) = (t.shape[1], t.shape[2], t.shape[3])
    let per = h * w * c
    let all = t.scalars
    return Normalization.toImage8(Array(all[(item * per)..<((item + 1) * per)]), width: w, height: h, channels: c,
                                  quantization: .round)
}

/// Equal-sized RGB tiles in a grid, row-major.
func tileImages(_ tiles: [Image], columns: Int) -> Image {
    let w = tiles.map(\.width).max() ?? 1, h = tiles.map(\.height).max() ?? 1
    let rows = (tiles.count + columns - 1) / columns
    var px = [UInt8](repeating: 255, count: rows * h * columns * w * 3)
    for (i, t) in tiles.enumerated() {
        let r = i / columns, col = i % columns
        let p = t.pixels8
        for y in 0..<t.height {
            for x in 0..<t.width {
                for k in 0..<3 { px[((r * h + y) * columns * w + col * w + x) * 3 + k] = p[(y * t.width + x) * 3 + k] }
            }
        }
    }
    return Image(width: columns * w, height: rows * h, channels: 3, pixels8: px)
}
