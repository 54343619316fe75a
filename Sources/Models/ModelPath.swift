// --model as a run folder: every command that reads a model (translate, export, generate,
// convert) resolves its --model through `resolveModel`, so `--model runs/p2p` means the same
// file everywhere.
//
//   let r = try resolveModel("runs/h2z", select: .translator(reverse: true))
//   // r.path == "runs/h2z/latest_net_G_B.safetensors", r.selection == .translator(reverse: false)
//   let m = try loadNetwork(path: r.path, select: r.selection)
//
// A run folder (img2img's or the paper code's) holds each network's latest weights alone as
// latest_net_<NAME>.safetensors (or .pth); `latest.safetensors`, the training checkpoint,
// holds them all. A file is passed through unchanged.
import Foundation

/// The file a --model names, and which of its networks to load.
public struct ResolvedModel: Sendable, Equatable {
    /// The file to read.
    public let path: String
    /// What to load from it: the given selection, or, when a run folder's file was picked by
    /// name (latest_net_G_B for BtoA), the file's only network.
    public let selection: NetworkSelection
    /// True when `path` was picked from a run folder (the CLI says which file it used).
    public let pickedFromFolder: Bool

    /// `.translator(reverse:)`'s direction as the file's loader needs it.
    public var reverse: Bool {
        if case .translator(let r) = selection { return r }
        return false
    }
}

/// `path` itself when it is not a folder; for a run folder, its latest network file that
/// `select` asks for:
///  - `.translator(reverse:)`: latest_net_G; else latest_net_G_A (G_B when `reverse`, the
///    paper code's --direction BtoA); else the training checkpoint latest.safetensors.
///  - `.network(name)`: latest_net_<name>; with no name, the folder's generator if it has
///    exactly one (G, or a lone G_A / G_B).
/// A folder with none of these is an error naming what it holds.
public func resolveModel(_ path: String, select: NetworkSelection) throws(ModelError) -> ResolvedModel {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
        return ResolvedModel(path: path, selection: select, pickedFromFolder: false)
    }
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    // latest_net_<NAME>.safetensors, else the paper code's latest_net_<NAME>.pth.
    var nets: [String: String] = [:]
    for ext in ["pth", "safetensors"] {
        for n in names where n.hasPrefix("latest_net_") && n.hasSuffix("." + ext) {
            nets[String(n.dropFirst("latest_net_".count).dropLast(ext.count + 1))] = n
        }
    }
    let dir = path.hasSuffix("/") ? String(path.dropLast()) : path
    func picked(_ name: String, _ s: NetworkSelection) -> ResolvedModel {
        ResolvedModel(path: dir + "/" + name, selection: s, pickedFromFolder: true)
    }
    let listing: String = {
        let shown = names.prefix(8).joined(separator: ", ")
        return names.isEmpty ? "it is empty" : "it holds " + shown + (names.count > 8 ? ", ... (\(names.count) entries)" : "")
    }()
    switch select {
    case .translator(let reverse):
        if let g = nets["G"] { return picked(g, select) }
        if let g = nets[reverse ? "G_B" : "G_A"] { return picked(g, .translator(reverse: false)) }
        if names.contains("latest.safetensors") { return picked("latest.safetensors", select) }
        throw ModelError(.noModel, file: dir, "is a folder without a generator to load (latest_net_G, latest_net_"
                         + (reverse ? "G_B" : "G_A") + " or latest.safetensors): \(listing)")
    case .network(let name?):
        if let f = nets[name] { return picked(f, .network(nil)) }
        if names.contains("latest.safetensors") { return picked("latest.safetensors", select) }
        throw ModelError(.noModel, file: dir, "is a folder without latest_net_\(name) or latest.safetensors: \(listing)")
    case .network(nil):
        let generators = nets.keys.filter { $0 == "G" || $0.hasPrefix("G_") }.sorted()
        if generators.count == 1 { return picked(nets[generators[0]]!, .network(nil)) }
        if generators.count > 1 {
            throw ModelError(.noModel, file: dir, "holds the generators \(generators.joined(separator: ", ")): pick one with --net")
        }
        throw ModelError(.noModel, file: dir, "is a folder without a latest_net_G file to load (pick a network with --net): \(listing)")
    }
}
