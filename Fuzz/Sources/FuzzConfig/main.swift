// The JSON the CLI reads back from files, each fed the same input text:
//   1. ModelConfig.fromJSON (a network file's `img2img.config` header), then building the
//      network: a config above ModelConfig.maxParameters must be refused before allocating;
//      small ones are built for real.
//   2. TrainingCheckpoint.restore with the input as the `img2img.training` metadata of an
//      otherwise valid checkpoint of a tiny pix2pix trainer (`train --continue`); a restored
//      trainer must be able to report its epoch and save again.
//   3. The run state (`img2img.run`: batch in epoch, class names) as Models reads the class
//      names back (`RunMetadata.classes`), and a run folder's options.json (`TrainOptions`).
import FuzzDriver
import Glibc
import Checkpoint
import Foundation
import Models
import TensorCore
import Training
import Trainers

nonisolated(unsafe) let trainer: Pix2PixTrainer = {
    var o = TrainableModel.pix2pix.defaults
    o.seed = 1
    return try! Pix2PixTrainer(generator: .generator("unet_32", inputNC: 1, outputNC: 1, ngf: 1),
                               discriminator: .discriminator("pixel", ndf: 1), options: o)
}()
let debug = ProcessInfo.processInfo.environment["FUZZ_DEBUG"] != nil
let checkpoint: TensorFile = try! TrainingCheckpoint.encode(trainer)

func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)

    // 1. network config
    if let cfg = try? ModelConfig.fromJSON(text) {
        _ = cfg.json()
        var rng = SplitMix64(seed: 0)
        switch cfg.parameterBound() {
        case let n? where n <= 1 << 16:
            _ = try? makeNetwork(cfg, using: &rng)
        case let n? where n <= ModelConfig.maxParameters:
            break  // valid but too slow to build on every input
        default:
            do {
                _ = try makeNetwork(cfg, using: &rng)
                preconditionFailure("a network above the size limit was built: \(cfg.json())")
            } catch {}
        }
    }

    // 2. training-checkpoint metadata
    var file = checkpoint
    file.metadata[TrainingCheckpoint.metadataKey] = text
    do {
        try TrainingCheckpoint.restore(file, into: trainer, file: "fuzz.safetensors")
        let epoch = trainer.currentEpochNumber
        if debug { print("restored: epoch \(epoch), iteration \(trainer.progress.iteration)") }
        _ = trainer.schedule.lr
        _ = try? TrainingCheckpoint.encode(trainer)
    } catch {
        if debug { print("restore: \(error)") }
    }

    // 3. the run state and the run folder's options
    _ = RunMetadata.classes(in: [RunMetadata.key: text])?.joined(separator: ",")
    if let o = try? TrainOptions.fromJSON(Data(bytes)) {
        _ = o.optText(defaults: o)
        _ = o.declarationProblems()  // the checks of values an edited options.json holds
    }
    return 0
}

// `FUZZ_WRITE_SEEDS=DIR FuzzConfig`: writes real metadata and configs to seed the corpus, and exits.
if let dir = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"] {
    let seeds = [
        "training-metadata": checkpoint.metadata[TrainingCheckpoint.metadataKey] ?? "",
        "config-unet": ModelConfig.generator("unet_32", ngf: 2).json(),
        "config-resnet": ModelConfig.generator("resnet_9blocks").json(),
        "config-cgan": ModelConfig(kind: .cganGenerator, ngf: 2, nz: 4, imageSize: 8, numClasses: 3, embedDim: 2).json(),
    ]
    for (name, text) in seeds { _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(text.utf8)) }
    exit(0)
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzConfig(data, size) })
