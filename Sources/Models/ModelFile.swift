// Network files: the one place that saves and loads networks. Every command that reads a model
// (translate, test, generate, convert, and the trainers' per-network files) comes through here.
//
//   try save(g, config: cfg, to: "latest_net_G.safetensors")                 // atomic
//   let m = try loadNetwork(path: "latest.safetensors", select: .translator(reverse: false))
//   let y = withNoGrad { m.layer!(x) }
//
// A file is one of three things, told apart by content, never by name:
//   - img2img's network file: safetensors, architecture JSON in the header;
//   - img2img's training checkpoint: every network under a prefix (G_A., D_B., ...), each
//     network's architecture under `img2img.config.<prefix>` (see Training/TrainingCheckpoint);
//   - the paper code's `.pth` (zip or legacy pickle): architecture inferred from names and shapes.
// A loaded network is in test mode: batch norm on the image's own statistics and dropout
// off (see `Module.testMode`); call `testMode(runningStatistics: true)` for `--eval`.
import Foundation
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

/// What a training run stores next to its networks that loading needs: the class names of a
/// label-conditional model (written by Training under this key, with the run's position).
public enum RunMetadata {
    public static let key = "img2img.run"

    struct Classes: Decodable { var classes: [String]? }

    /// The class names stored in a file's metadata, if any.
    public static func classes(in metadata: [String: String]) -> [String]? {
        metadata[key].flatMap { try? JSONDecoder().decode(Classes.self, from: Data($0.utf8)).classes }
    }
}

/// Which network of a file to load.
public enum NetworkSelection: Sendable, Equatable {
    /// The file's only network, or the named one of a training checkpoint when the name is given.
    case network(String?)
    /// The generator: in a training checkpoint G_A (or G_B when `reverse`, the paper code's
    /// `--direction BtoA`), else G; a network file as it is.
    case translator(reverse: Bool)
}

/// A network read from a file, with what the commands need to know about it.
public struct LoadedNetwork {
    public let module: any Module
    public let config: ModelConfig
    /// The file it came from.
    public let path: String
    /// Its prefix in a training checkpoint ("G_A", "G", ...); nil for a network file.
    public let prefix: String?
    /// Class names of a label-conditional model, from its training run.
    public let classes: [String]?
    /// The network's tensors and metadata alone (a training checkpoint's prefix stripped).
    public let file: TensorFile

    /// The network as a one-tensor function (generators, discriminators, DCGAN G); nil for
    /// the label-conditional networks, which take labels too.
    public var layer: (any Layer)? { module as? any Layer }

    /// The size multiple the network needs on each side (4 for ResNets, 2^downs for U-Nets).
    public var sizeMultiple: Int { config.sizeMultiple }
}

extension ModelConfig {
    /// The side multiple a network takes: 2^downs for a U-Net, 4 for a ResNet generator
    /// (two stride-2 downsamplings), 1 otherwise.
    public var sizeMultiple: Int {
        guard kind == .generator else { return 1 }
        switch ModelConfig.parseNetG(netG) {
        case .unet(let downs)?: return 1 << downs
        default: return 4
        }
    }
}

/// One network of a training checkpoint (tensors under `prefix.`) as a standalone network
/// file with that network's config; nil if the file has no such network.
public func networkFile(_ file: TensorFile, prefix: String) -> TensorFile? {
    let p = prefix + "."
    guard file.names.contains(where: { $0.hasPrefix(p) }) else { return nil }
    var metadata: [String: String] = [:]
    if let json = file.metadata[ModelConfig.metadataKey + "." + prefix] { metadata[ModelConfig.metadataKey] = json }
    if let run = file.metadata[RunMetadata.key] { metadata[RunMetadata.key] = run }
    return TensorFile(tensors: file.tensors.filter { $0.name.hasPrefix(p) }.map {
        var t = $0
        t.name = String(t.name.dropFirst(p.count))
        return t
    }, metadata: metadata)
}

/// Loads a network from any file img2img reads (network file, training checkpoint, `.pth`).
/// `configure` edits the stored or inferred architecture (the CLI's --netG, --ngf, ... for a
/// `.pth` whose names do not say everything). The network is returned in test mode.
public func loadNetwork(path: String, select: NetworkSelection = .network(nil),
                        configure: ((inout ModelConfig) -> Void)? = nil) throws -> LoadedNetwork {
    let whole = try CheckpointFile.read(path: path)
    var prefix: String? = nil
    var file = whole
    switch select {
    case .network(let name?):
        guard let sub = networkFile(whole, prefix: name) else {
            throw ModelError(.wrongKind, file: path, "has no network '\(name)'")
        }
        (prefix, file) = (name, sub)
    case .network(nil):
        break
    case .translator(let reverse):
        for name in [reverse ? "G_B" : "G_A", "G"] {
            if let sub = networkFile(whole, prefix: name) { (prefix, file) = (name, sub); break }
        }
        // BtoA picks G_B of a CycleGAN checkpoint; a file with one generator has nothing to
        // pick, and using that one anyway would give AtoB's output under BtoA's name.
        if reverse && prefix != "G_B" {
            let arch = (try? config(of: file, path: path)).map { ", \($0.kind == .generator ? $0.netG : $0.kind.rawValue)" } ?? ""
            let name = prefix ?? networkName(fromFileName: path)
            throw ModelError(.wrongKind, file: path, "holds one generator (\(name ?? "its only network")\(arch)); --direction BtoA "
                             + "needs a CycleGAN checkpoint holding G_A and G_B (without --direction this file's generator is used)")
        }
    }
    // Weights saved from a run that diverged give black or grey images (or NaN in ONNX):
    // refused, naming the tensor, before anything is built.
    for t in file.tensors {
        let bad = t.values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        guard bad > 0, let first = t.values.first(where: { !$0.isFinite }) else { continue }
        throw ModelError(.nonFiniteWeights, file: path, "tensor \(prefix.map { $0 + "." } ?? "")\(t.name) holds \(first) "
            + "(\(bad) of \(t.values.count) values are not finite): the weights were saved from a run that diverged; "
            + "use an earlier checkpoint (epoch_<n>_net_*.safetensors of the run)")
    }
    var cfg = try config(of: file, path: path)
    configure?(&cfg)
    var rng = SplitMix64(seed: 0)
    let net: any Module
    do { net = try buildNetwork(cfg, using: &rng) } catch var e as ModelError {
        e.file = path
        throw e
    }
    let sd = stateDict(of: file)
    do { try net.loadStateDict(sd, source: path) } catch var e as StateDictMismatch {
        // Thousands of characters of shapes help no one: say what the network was and which
        // architecture the file's own tensors describe.
        e.network = cfg.summary
        e.hint = fittingArchitecture(of: sd, against: cfg)
        throw e
    }
    net.testMode()
    return LoadedNetwork(module: net, config: cfg, path: path, prefix: prefix,
                         classes: RunMetadata.classes(in: file.metadata), file: file)
}

/// Loads an image generator for translation (ResNet, U-Net): see `NetworkSelection.translator`.
public func loadTranslator(path: String, reverse: Bool = false,
                           configure: ((inout ModelConfig) -> Void)? = nil) throws -> (any Layer, ModelConfig) {
    let m = try loadTranslatorNetwork(path: path, reverse: reverse, configure: configure)
    return (m.layer!, m.config)
}

/// `loadTranslator` with what the file said besides the network (its prefix in a checkpoint).
/// `layer` is non-nil.
public func loadTranslatorNetwork(path: String, reverse: Bool = false,
                                  configure: ((inout ModelConfig) -> Void)? = nil) throws -> LoadedNetwork {
    let m = try loadNetwork(path: path, select: .translator(reverse: reverse), configure: configure)
    guard m.config.kind == .generator, m.layer != nil else {
        throw ModelError(.wrongKind, file: path, "holds a \(m.config.kind.rawValue), not an image-to-image generator")
    }
    return m
}

/// Loads a network file and checks that it is a generator that maps a tensor to a tensor
/// (ResNet, U-Net; DCGAN from noise). `config` replaces the stored or inferred one.
public func loadGenerator(path: String, config override: ModelConfig? = nil) throws -> (any Layer, ModelConfig) {
    let m = try loadNetwork(path: path, configure: override.map { o in { $0 = o } })
    guard m.config.kind == .generator || m.config.kind == .dcganGenerator, let g = m.layer else {
        throw ModelError(.wrongKind, file: path, "holds a \(m.config.kind.rawValue), not an image generator")
    }
    return (g, m.config)
}

/// NAME of a `..._net_NAME.safetensors` / `.pth` file name (the paper code's and the run
/// folder's naming), for messages; nil for other names.
func networkName(fromFileName path: String) -> String? {
    let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    guard let r = base.range(of: "_net_", options: .backwards) else { return nil }
    let name = base[r.upperBound...]
    return name.isEmpty ? nil : String(name)
}

extension ModelConfig {
    /// "resnet_9blocks, ngf 64, instance norm, 3->3 channels" (generators), for messages.
    public var summary: String {
        guard kind == .generator else { return kind.rawValue }
        return "\(netG), ngf \(ngf), \(norm.rawValue) norm, \(inputNC)->\(outputNC) channels"
    }
}

/// The translate flags under which a state dict's own tensors load, when they differ from
/// `cfg` (what was built), or a sentence saying that none were found.
func fittingArchitecture(of sd: StateDict, against cfg: ModelConfig) -> String {
    guard let fit = try? inferConfig(from: sd) else {
        return "its tensors match no architecture img2img infers from names and shapes"
    }
    guard fit.kind == .generator, cfg.kind == .generator else {
        return "its tensors look like a \(fit.kind.rawValue)\(fit.kind == .generator ? " (\(fit.netG))" : "")"
    }
    var flags = ["--netG \(fit.netG)", "--ngf \(fit.ngf)", "--norm \(fit.norm.rawValue)"]
    if fit.inputNC != cfg.inputNC { flags.append("--input-nc \(fit.inputNC)") }
    if fit.outputNC != cfg.outputNC { flags.append("--output-nc \(fit.outputNC)") }
    return "its tensors fit " + flags.joined(separator: " ") + " (inferred from their names and shapes)"
}
