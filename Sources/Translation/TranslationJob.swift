import ImageIO
import Augment
import _Files

/// Output file format.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// The input file's own format.
    case same
    case png
    case jpeg
}

/// How images are sized for the network.
public enum Sizing: Sendable, Equatable {
    /// Reflect-pad to the network's multiple and crop back: the output has the input's size.
    case pad
    /// One of the paper code's preprocess modes (test-time: no flip); the output has the
    /// preprocessed size.
    case preprocess(AugmentOptions)
}

/// `--shard K/N`: file i of the folder belongs to shard `hash(relative path) mod N`.
/// Hashing the relative path (not the position in the listing) keeps the partition the same
/// on every machine even if their listings differ, and every file lands in exactly one shard.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "shard index must be in 0..<count")
        self.index = index
        self.count = count
    }

    /// Parses "K/N" with 0 <= K < N.
    public init?(parsing s: String) {
        let parts = s.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 0, k < n else { return nil }
        self.init(index: k, count: n)
    }

    public static let all = Shard(index: 0, count: 1)

    public func contains(_ relativePath: String) -> Bool {
        count == 1 || Int(Shard.fnv1a(relativePath) % UInt64(count)) == index
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    public var description: String { "\(index)/\(count)" }
}

public struct TranslationOptions: Sendable {
    public var input: String
    public var output: String
    public var format: OutputFormat
    public var jpegQuality: Int
    public var sizing: Sizing
    public var tiling: TilingOptions
    public var batchSize: Int
    public var shard: Shard
    public var overwrite: Bool
    public var decoding: DecodingOptions
    /// The paper code's truncating `tensor2im` or rounding.
    public var quantization: Quantization

    public init(input: String, output: String, format: OutputFormat = .same, jpegQuality: Int = 95,
                sizing: Sizing = .pad, tiling: TilingOptions = TilingOptions(), batchSize: Int = 4,
                shard: Shard = .all, overwrite: Bool = false, decoding: DecodingOptions = .default,
                quantization: Quantization = .round) {
        self.input = input
        self.output = output
        self.format = format
        self.jpegQuality = jpegQuality
        self.sizing = sizing
        self.tiling = tiling
        self.batchSize = batchSize
        self.shard = shard
        self.overwrite = overwrite
        self.decoding = decoding
        self.quantization = quantization
    }
}

/// One input file and where its output goes.
public struct WorkItem: Sendable, Equatable {
    public var source: String
    public var relativePath: String
    public var destination: String
    public var format: ImageFormat
}

public struct PlanProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { skippedFileMessage(path: path, reason: reason) }
}

/// The files of this shard still to translate, those already done, and those refused.
public struct TranslationPlan: Sendable {
    public var todo: [WorkItem]
    /// Files whose output already exists (skipped unless overwriting).
    public var done: [WorkItem]
    public var alreadyDone: Int { done.count }
    public var problems: [PlanProblem]
    /// Files in the folder that are not images and not named as images (not errors, just counted).
    public var notImages: Int
    /// The output folder when it lies inside the input folder and exists: not searched for
    /// inputs (a rerun would translate its own outputs into OUTPUT/OUTPUT/...).
    public var skippedOutputFolder: String?

    /// The plan of `o`: `o.input` is a folder (searched recursively) or one image file (its
    /// output is OUTPUT/<its name>). Throws `TranslationError(.noImages)` when the input holds
    /// no image at all, nor a file named as one: nothing to do is then a mistake (a wrong
    /// path, a folder of .webp), not a success.
    public static func make(_ o: TranslationOptions) throws -> TranslationPlan {
        let scan: ImageFolder
        var skippedOutput: String?
        if isRegularFile(o.input) {
            scan = try ImageFolder.scan(file: o.input)
        } else {
            let inside = outputInsideInput(input: o.input, output: o.output)
            if inside != nil && isDirectory(o.output) { skippedOutput = o.output }
            scan = try ImageFolder.scan(root: o.input, excluding: inside.map { [$0] } ?? [])
        }
        if scan.images.isEmpty && scan.failed.isEmpty {
            throw TranslationError.noImages(input: o.input, scan: scan, skippedOutput: skippedOutput)
        }
        var todo: [WorkItem] = []
        var done: [WorkItem] = []
        var problems: [PlanProblem] = []
        var notImages = 0
        var claimed: [String: String] = [:]
        for s in scan.skipped {
            // README.txt, .DS_Store: counted, not errors; notes.png holding text, an empty
            // photo.jpg: named and failed (their names say they are images).
            if !s.isFailure { notImages += 1; continue }
            guard o.shard.contains(s.relativePath) else { continue }
            problems.append(PlanProblem(path: scan.root + "/" + s.relativePath, reason: s.explanation))
        }
        for e in scan.images where o.shard.contains(e.relativePath) {
            let src = scan.path(of: e)
            let fmt: ImageFormat
            switch o.format {
            case .same: fmt = e.format
            case .png: fmt = .png
            case .jpeg: fmt = .jpeg
            }
            guard let rel = safeOutputName(e.relativePath, format: fmt, keepExtension: o.format == .same) else {
                problems.append(PlanProblem(path: src, reason: "output name would leave the output folder"))
                continue
            }
            if let other = claimed[rel] {
                problems.append(PlanProblem(path: src, reason: "its output \(rel) is already the output of \(other)"))
                continue
            }
            claimed[rel] = src
            let dst = o.output + "/" + rel
            let item = WorkItem(source: src, relativePath: e.relativePath, destination: dst, format: fmt)
            if !o.overwrite && fileExists(dst) {
                done.append(item)
                continue
            }
            todo.append(item)
        }
        return TranslationPlan(todo: todo, done: done, problems: problems, notImages: notImages,
                               skippedOutputFolder: skippedOutput)
    }
}

/// The output's relative name: the input's, with the extension of the output format unless the
/// format is the input's own. Nil if it could escape the output folder (`safeRelativeOutputPath`).
func safeOutputName(_ rel: String, format: ImageFormat, keepExtension: Bool) -> String? {
    guard var parts = safeRelativeOutputPath(rel)?.split(separator: "/").map(String.init) else { return nil }
    if !keepExtension {
        var name = parts.removeLast()
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { name = String(name[..<dot]) }
        parts.append(name + (format == .png ? ".png" : ".jpg"))
    }
    return parts.joined(separator: "/")
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}
