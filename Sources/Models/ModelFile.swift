// Network files: save as safetensors (PyTorch names and layouts, config in the header),
// load safetensors or the paper code's .pth (zip or legacy) by content.
//
//   try save(g, config: cfg, to: "latest_net_G.safetensors")          // atomic
//   let (g, cfg) = try loadGenerator(path: "latest_net_G_A.pth")        // config inferred
//   let y = withNoGrad { g(x) }
// A loaded network is in test mode: batch norm on the image's own statistics and dropout
// off (see `Module.testMode`); call `testMode(runningStatistics: true)` for `--eval`.
import TensorCore
import Checkpoint
import NN

/// The state dict as a checkpoint file (integer buffers as int64), config in the metadata.
public func tensorFile(_ net: any Module, config: ModelConfig?) -> TensorFile {
    let tensors = net.stateDict().entries.map { e in
        e.isInteger ? NamedTensor(name: e.name, shape: e.tensor.shape, integers: e.tensor.scalars.map { Int64($0) })
                    : NamedTensor(name: e.name, shape: e.tensor.shape, values: e.tensor.scalars)
    }
    return TensorFile(tensors: tensors, metadata: config.map { [ModelConfig.metadataKey: $0.json()] } ?? [:])
}

/// The tensors of a checkpoint file as a state dict (PyTorch layouts), `module.` stripped.
public func stateDict(of file: TensorFile) -> StateDict {
    StateDict(file.strippingPrefix("module.").tensors.map {
        StateDict.Entry(name: $0.name, tensor: Tensor(shape: $0.shape, scalars: $0.values),
                        isInteger: $0.integers != nil)
    })
}

/// Writes `net` as safetensors with its config, atomically (temp file, fsync, rename).
public func save(_ net: any Module, config: ModelConfig?, to path: String) throws {
    try SafeTensors.write(tensorFile(net, config: config), to: path)
}

/// The config of a file: the header's JSON if present, else inferred from names and shapes.
public func config(of file: TensorFile, path: String) throws -> ModelConfig {
    if let json = file.metadata[ModelConfig.metadataKey] {
        do { return try ModelConfig.fromJSON(json) } catch {
            throw ModelError(.unreadableConfig, file: path, "config in the header does not decode: \(error)")
        }
    }
    return try inferConfig(from: stateDict(of: file), file: path)
}

/// Loads any network file (.safetensors, .pth zip or legacy). `config` overrides the
/// stored or inferred one. The network is returned in test mode.
public func loadNetwork(path: String, config override: ModelConfig? = nil) throws -> (any Module, ModelConfig) {
    let file = try CheckpointFile.read(path: path)
    let cfg = try override ?? config(of: file, path: path)
    var rng = SplitMix64(seed: 0)
    let net: any Module
    do { net = try buildNetwork(cfg, using: &rng) } catch var e as ModelError {
        e.file = path
        throw e
    }
    try net.loadStateDict(stateDict(of: file), source: path)
    net.testMode()
    return (net, cfg)
}

/// Loads a generator that maps a tensor to a tensor (ResNet, U-Net; DCGAN from noise).
public func loadGenerator(path: String, config override: ModelConfig? = nil) throws -> (any Layer, ModelConfig) {
    let (net, cfg) = try loadNetwork(path: path, config: override)
    guard cfg.kind == .generator || cfg.kind == .dcganGenerator, let g = net as? any Layer else {
        throw ModelError(.wrongKind, file: path, "holds a \(cfg.kind.rawValue), not an image generator")
    }
    return (g, cfg)
}
