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
    let prefix = direction == .aToB ? "G_A." : "G_B."
    let isTraining = file.names.contains { $0.hasPrefix("G_A.") || $0.hasPrefix("G.") }
    var sub = file
    var configKey = ModelConfig.metadataKey
    if isTraining {
        let p = file.names.contains { $0.hasPrefix(prefix) } ? prefix : "G."
        sub = TensorFile(tensors: file.tensors.filter { $0.name.hasPrefix(p) }.map {
            var t = $0
            t.name = String(t.name.dropFirst(p.count))
            return t
        }, metadata: [:])
        configKey = ModelConfig.metadataKey + "." + String(p.dropLast())
        if let json = file.metadata[configKey] { sub.metadata[ModelConfig.metadataKey] = json }
    }
    var cfg = try config(of: sub, path: path)
    if overriding { override(&cfg) }
    var rng = SplitMix64(seed: 0)
    let g = try makeGenerator(cfg, using: &rng)
    try g.loadStateDict(stateDict(of: sub), source: path)
    g.testMode()
    return (g, cfg)
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
