import Foundation
import Checkpoint
import Models
import NN
import TensorCore
import Autograd
import Translation
import Datasets

/// Loads a generator from a network file (ours or the paper code's `.pth`) or from one of our
/// training checkpoints, where `direction` picks G_A (AtoB) or G_B (BtoA).
func loadTranslationGenerator(path: String, direction: Direction, override: (inout ModelConfig) -> Void,
                              overriding: Bool) throws -> (any Layer, ModelConfig) {
    let file = try CheckpointFile.read(path: path)
    let preferred = direction == .aToB ? "G_A" : "G_B"
    // A training checkpoint holds several networks under prefixes; a network file holds one.
    let sub = networkFile(file, net: preferred) ?? networkFile(file, net: "G") ?? file
    var cfg = try config(of: sub, path: path)
    if overriding { override(&cfg) }
    var rng = SplitMix64(seed: 0)
    let g = try makeGenerator(cfg, using: &rng)
    try g.loadStateDict(stateDict(of: sub), source: path)
    g.testMode()
    return (g, cfg)
}

/// One network of a training checkpoint (tensors under `net.`) as a standalone network file,
/// with that network's config from the checkpoint's metadata; nil if there is no such network.
func networkFile(_ file: TensorFile, net: String) -> TensorFile? {
    let prefix = net + "."
    guard file.names.contains(where: { $0.hasPrefix(prefix) }) else { return nil }
    var metadata: [String: String] = [:]
    if let json = file.metadata[ModelConfig.metadataKey + "." + net] { metadata[ModelConfig.metadataKey] = json }
    if let run = file.metadata[TrainingRun.runKey] { metadata[TrainingRun.runKey] = run }
    return TensorFile(tensors: file.tensors.filter { $0.name.hasPrefix(prefix) }.map {
        var t = $0
        t.name = String(t.name.dropFirst(prefix.count))
        return t
    }, metadata: metadata)
}

/// The size multiple a generator needs: 4 for ResNets (two stride-2 downsamplings), 2^downs for U-Nets.
func generatorSizeMultiple(of cfg: ModelConfig) -> Int {
    switch ModelConfig.parseNetG(cfg.netG) {
    case .unet(let downs)?: return 1 << downs
    default: return 4
    }
}

/// The Translation pipeline's view of a generator.
final class GeneratorTranslator: ImageTranslator, @unchecked Sendable {
    let generator: any Layer
    let inputChannels: Int
    let outputChannels: Int
    let sizeMultiple: Int

    init(_ g: any Layer, config: ModelConfig) {
        generator = g
        inputChannels = config.inputNC
        outputChannels = config.outputNC
        sizeMultiple = generatorSizeMultiple(of: config)
    }

    func translate(_ x: [Float], count: Int, height: Int, width: Int) throws -> [Float] {
        let input = Variable(Tensor(shape: [count, height, width, inputChannels], scalars: x))
        return withNoGrad { generator(input) }.value.scalars
    }
}
