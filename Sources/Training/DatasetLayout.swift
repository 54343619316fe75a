// Dataset folders explained: when DATAROOT does not have the layout a model reads, the error
// shows the layout it expects (a three-line tree), what the folder holds, and which layouts
// (so which models: `ModelRegistry.explain`) fit what it holds. pix2pix's A|B pairs are checked
// to be twice as wide as high, so that a folder of ordinary photos is not split in halves and
// trained on as pairs.
import Foundation
import ImageIO

/// DATAROOT does not fit the model's layout.
public struct DatasetLayoutError: Error, CustomStringConvertible, Sendable {
    public var model: String
    public var mode: DatasetMode
    public var dataroot: String
    /// What is wrong, in one sentence.
    public var problem: String
    /// What DATAROOT holds, in one sentence.
    public var found: String
    /// The layouts that what it holds fits.
    public var fitting: [DatasetMode]
    /// The models of those layouts, filled in by whoever knows the models (`ModelRegistry`).
    public var fittingModels: [String] = []

    public var description: String {
        var s = "\(problem)\n\(model) reads \(mode.rawValue) data:\n" + mode.tree(dataroot).map { "  " + $0 }.joined(separator: "\n")
        s += "\n\(found)"
        if !fittingModels.isEmpty {
            s += "\nThat fits " + fitting.map(\.rawValue).joined(separator: " or ") + " data: img2img train "
                + fittingModels.joined(separator: " | ")
        }
        if mode == .aligned && fitting.contains(.unaligned) {
            s += "\nTo make pairs from two folders whose files match by name: img2img combine (see img2img combine --help)"
        }
        return s
    }
}

extension DatasetMode {
    /// The layout as three lines of a tree under `root`.
    public func tree(_ root: String) -> [String] {
        let r = root.hasSuffix("/") ? root : root + "/"
        switch self {
        case .unaligned:
            return ["\(r)trainA/   images of domain A (any names, any number)",
                    "\(r)trainB/   images of domain B (unpaired with A)",
                    "\(r)testA/, testB/   optional, for img2img test"]
        case .aligned:
            return ["\(r)train/    A|B pairs: A on the left, B on the right, each image twice as wide as high",
                    "\(r)test/     optional, the same, for img2img test",
                    "          (img2img combine makes pairs from two folders of matching names)"]
        case .labeled:
            return ["\(r)<class 1>/   images of the first class (the folder's name is the label)",
                    "\(r)<class 2>/   images of the second class",
                    "\(r)...          one folder per class"]
        case .colorization:
            return ["\(r)train/    colour photos (the model learns gray -> colour)",
                    "\(r)test/     optional, for img2img test",
                    "          (or the photos directly in \(r))"]
        }
    }
}

/// What a dataset folder holds: its subfolders with image counts, images at its top.
public struct DatasetFolderSummary: Sendable {
    public var root: String
    public var exists: Bool
    /// Subfolder name -> files in it with an image extension (not recursive).
    public var folders: [(name: String, images: Int)]
    /// Files with an image extension directly in root.
    public var images: [String]
    /// Of up to 8 images of root/train: how many are twice as wide as high.
    public var pairLike: (pairs: Int, checked: Int)

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "tif", "tiff", "webp", "bmp", "gif"]

    static func imageFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
    }

    public init(root: String) {
        self.root = root
        var isDir: ObjCBool = false
        exists = FileManager.default.fileExists(atPath: root, isDirectory: &isDir) && isDir.boolValue
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
        folders = entries.filter { e in
            var d: ObjCBool = false
            return !e.hasPrefix(".") && FileManager.default.fileExists(atPath: root + "/" + e, isDirectory: &d) && d.boolValue
        }.map { ($0, Self.imageFiles(root + "/" + $0).count) }
        images = Self.imageFiles(root)
        let sample = Self.imageFiles(root + "/train").prefix(8)
        let pairs = sample.filter { f in
            guard let (w, h) = ImageDecoder.dimensions(atPath: root + "/train/" + f) else { return false }
            return isPairShaped(width: w, height: h)
        }.count
        pairLike = (pairs, sample.count)
    }

    func count(_ name: String) -> Int? { folders.first { $0.name == name }?.images }

    /// The layouts what it holds fits, best first.
    public var fitting: [DatasetMode] {
        var out: [DatasetMode] = []
        if (count("trainA") ?? 0) > 0 && (count("trainB") ?? 0) > 0 { out.append(.unaligned) }
        if let t = count("train"), t > 0 {
            out.append(contentsOf: pairLike.checked > 0 && pairLike.pairs * 2 >= pairLike.checked ? [.aligned, .colorization] : [.colorization])
        }
        let classFolders = folders.filter { $0.images > 0 && !["train", "test", "val", "trainA", "trainB", "testA", "testB"].contains($0.name) }
        if classFolders.count >= 2 { out.append(.labeled) }
        if !images.isEmpty && !out.contains(.colorization) { out.append(.colorization) }
        return out
    }

    /// One sentence: "cg holds trainA/ (6 images), trainB/ (6 images)".
    public var description: String {
        guard exists else { return "\(root) does not exist (or is not a folder)." }
        var parts = folders.prefix(10).map { "\($0.name)/ (\($0.images) image\($0.images == 1 ? "" : "s"))" }
        if folders.count > 10 { parts.append("\(folders.count - 10) more folders") }
        if !images.isEmpty { parts.append("\(images.count) image\(images.count == 1 ? "" : "s") at its top") }
        if pairLike.checked > 0 && count("train") != nil {
            parts.append("of \(pairLike.checked) images of train/ checked, \(pairLike.pairs) are twice as wide as high")
        }
        return parts.isEmpty ? "\(root) is empty." : "\(root) holds " + parts.joined(separator: ", ") + "."
    }
}

/// An A|B pair of square halves: width twice the height (one pixel of slack for odd widths).
public func isPairShaped(width: Int, height: Int) -> Bool {
    abs(width - 2 * height) <= 1
}

extension TrainableModel {
    /// The error for a DATAROOT that does not fit: `problem`, the expected tree and what it holds.
    func layoutError(_ o: TrainOptions, problem: String) -> DatasetLayoutError {
        let summary = DatasetFolderSummary(root: o.dataroot)
        return DatasetLayoutError(model: name, mode: datasetMode, dataroot: o.dataroot, problem: problem,
                                  found: summary.description, fitting: summary.fitting.filter { $0 != datasetMode })
    }

    /// pix2pix's pairs: every image of an aligned dataset twice as wide as high, unless
    /// --any-pair-aspect (pairs of non-square halves).
    func checkPairs(_ o: TrainOptions, paths: [String]) throws {
        guard !o.anyPairAspect else { return }
        var odd: [(String, Int, Int)] = []
        for p in paths {
            if let (w, h) = ImageDecoder.dimensions(atPath: p), !isPairShaped(width: w, height: h) { odd.append((p, w, h)) }
        }
        guard let first = odd.first else { return }
        throw layoutError(o, problem: "\(odd.count) of \(paths.count) images of \(o.dataroot)/train are not A|B pairs "
            + "(twice as wide as high): \(first.0) is \(first.1)x\(first.2). Each would be cut in halves and trained on as a pair. "
            + "If your pairs have halves that are not square, --any-pair-aspect takes them as they are.")
    }
}
