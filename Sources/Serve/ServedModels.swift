import Foundation
import Models
import Translation

/// One servable model: a generator (or the two of a CycleGAN checkpoint) loaded once at start.
///
/// Requests name a model; the name only ever indexes `ServedModels.models`, a dictionary built
/// from a listing of the folder at start, so nothing a client sends reaches the file system.
public struct ServedModel: Sendable {
    public struct Info: Codable, Sendable, Equatable {
        public var name: String
        /// The paper code's `--netG` (resnet_9blocks, unet_256, ...).
        public var architecture: String
        public var inputChannels: Int
        public var outputChannels: Int
        public var norm: String
        public var ngf: Int
        /// "AtoB", and "BtoA" too for a CycleGAN training checkpoint (G_A and G_B).
        public var directions: [String]
        /// The file's name inside the models folder (never a full path: that would disclose the host's layout).
        public var file: String

        enum CodingKeys: String, CodingKey {
            case name, architecture, norm, ngf, directions, file
            case inputChannels = "input_channels"
            case outputChannels = "output_channels"
        }
    }

    public var info: Info
    /// Translators by direction ("AtoB", "BtoA").
    var translators: [String: GeneratorTranslator]
}

/// The models found in a folder (and the bundled one), loaded at start.
public struct ServedModels: Sendable {
    public static let fileExtensions = ["safetensors", "pth"]

    public private(set) var models: [String: ServedModel] = [:]
    /// Files that were found but could not be served, with the reason (printed at start).
    public private(set) var skipped: [(file: String, reason: String)] = []

    public init() {}

    /// Model names are file names: letters, digits, `.`, `_`, `-`, not starting with a dot.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 128, !name.hasPrefix(".") else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
        }
    }

    /// Every model file of `directory`: `DIR/NAME.safetensors` (or `.pth`) is served as NAME;
    /// `DIR/SUB/FILE.safetensors` as SUB when it is SUB's only model file, else as SUB-FILE.
    /// Files (or folders) that are symbolic links resolving outside `directory` are skipped.
    public mutating func addFolder(_ directory: String) throws(ServeError) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw ServeError(.badConfiguration, "models folder \(directory) does not exist or is not a folder")
        }
        let root = (directory as NSString).resolvingSymlinksInPath
        for entry in Self.sortedListing(root) {
            let path = root + "/" + entry
            guard let real = Self.realPathInside(path, root: root) else {
                skipped.append((entry, "symbolic link to outside the models folder"))
                continue
            }
            guard fm.fileExists(atPath: real, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                let files = Self.sortedListing(real).filter(Self.isModelFile)
                for f in files {
                    let stem = (f as NSString).deletingPathExtension
                    let name = files.count == 1 ? entry : entry + "-" + stem
                    add(name: name, path: real + "/" + f, display: entry + "/" + f, root: root)
                }
            } else if Self.isModelFile(entry) {
                add(name: (entry as NSString).deletingPathExtension, path: real, display: entry, root: root)
            }
        }
    }

    /// Adds one model file under `name` unless a model of that name exists.
    public mutating func addFile(_ path: String, name: String) {
        add(name: name, path: path, display: (path as NSString).lastPathComponent, root: nil)
    }

    private mutating func add(name: String, path: String, display: String, root: String?) {
        guard Self.isValidName(name) else {
            skipped.append((display, "'\(name)' is not a usable model name (letters, digits, . _ -)"))
            return
        }
        guard models[name] == nil else { return }
        if let root, Self.realPathInside(path, root: root) == nil {
            skipped.append((display, "symbolic link to outside the models folder"))
            return
        }
        do {
            models[name] = try Self.load(path: path, name: name, display: display)
        } catch {
            skipped.append((display, "\(error)"))
        }
    }

    /// Loads the generator(s) of a file as `img2img translate --model` does (`loadTranslator`),
    /// in translate's test mode (each image's own batch statistics, no dropout).
    static func load(path: String, name: String, display: String) throws -> ServedModel {
        let forward = try loadNetwork(path: path, select: .translator(reverse: false))
        guard forward.config.kind == .generator, let g = forward.layer else {
            throw ServeError(.badConfiguration, "holds a \(forward.config.kind.rawValue), not an image-to-image generator")
        }
        g.testMode(runningStatistics: false, dropout: false)
        let cfg = forward.config
        var translators = ["AtoB": GeneratorTranslator(g, config: cfg)]
        if forward.prefix == "G_A" {
            let (gB, cfgB) = try loadTranslator(path: path, reverse: true)
            gB.testMode(runningStatistics: false, dropout: false)
            translators["BtoA"] = GeneratorTranslator(gB, config: cfgB)
        }
        let info = ServedModel.Info(name: name, architecture: cfg.netG, inputChannels: cfg.inputNC,
                                    outputChannels: cfg.outputNC, norm: cfg.norm.rawValue, ngf: cfg.ngf,
                                    directions: translators.keys.sorted(), file: display)
        return ServedModel(info: info, translators: translators)
    }

    static func isModelFile(_ name: String) -> Bool {
        !name.hasPrefix(".") && fileExtensions.contains((name as NSString).pathExtension.lowercased())
    }

    static func sortedListing(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// `path` with every symbolic link resolved, or nil when that lies outside `root`
    /// (itself resolved).
    static func realPathInside(_ path: String, root: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        let real = String(cString: r)
        guard let rr = realpath(root, nil) else { return nil }
        defer { free(rr) }
        let realRoot = String(cString: rr)
        return real.hasPrefix(realRoot + "/") ? real : nil
    }
}

/// Where the bundled model is: `models/earth-night2day/G.safetensors` below the working folder,
/// or below a folder above the executable (a build under `.build/` of a clone).
public func bundledModelPath(executable: String = CommandLine.arguments.first ?? "") -> String? {
    let rel = "models/earth-night2day/G.safetensors"
    var candidates = [FileManager.default.currentDirectoryPath]
    var dir = ((executable as NSString).resolvingSymlinksInPath as NSString).deletingLastPathComponent
    for _ in 0..<6 where !dir.isEmpty && dir != "/" {
        candidates.append(dir)
        dir = (dir as NSString).deletingLastPathComponent
    }
    return candidates.map { $0 + "/" + rel }.first { FileManager.default.fileExists(atPath: $0) }
}
