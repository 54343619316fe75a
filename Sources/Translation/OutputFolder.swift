// The output folder of `translate`: where it lies against the input, and the record of how
// its images were made.
//
//   OUTPUT/.img2img-translate.json    the model (path, sha256 of its bytes, network), the
//                                     direction and every setting that changes pixels
//
// A rerun with the same record skips the files already written (resume after an interruption;
// --shard runs of one job share one record). A rerun with another model or other settings is
// refused unless --overwrite, which redoes every file: otherwise the folder would silently
// mix two models' images, and "0 translated, 6 already done" would hide it.
import Foundation
import ImageIO
import _Files

/// Why a translation cannot start.
public struct TranslationError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The input holds no image and no file named as one.
        case noImages
        /// The output folder was made with another model or other settings.
        case settingsDiffer
        /// The output folder holds files this run would write, and no record of how they were made.
        case unrecordedOutputs
        /// The output folder's record cannot be read or written.
        case record
    }
    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    static func noImages(input: String, scan: ImageFolder, skippedOutput: String?) -> TranslationError {
        let formats = "formats read: " + ImageFormat.allCases.map(\.name).joined(separator: ", ")
        let n = scan.skipped.count
        let found: String
        if isRegularFile(input) {
            found = "not an image: " + (scan.skipped.first?.explanation ?? "not a PNG or JPEG")
        } else if n == 0 {
            found = "the folder holds no files"
        } else {
            found = "\(n) file\(n == 1 ? "" : "s"), none an image"
        }
        let output = skippedOutput.map { "; the output folder \($0) not searched" } ?? ""
        return TranslationError(.noImages, "\(input): no images (\(found)\(output); \(formats))")
    }
}

// MARK: - Where the output lies

/// `path` made absolute, `.` and `..` removed, and symbolic links resolved in the part of it
/// that exists (an output folder may not exist yet).
func resolvedPath(_ path: String) -> String {
    var existing = URL(fileURLWithPath: path).standardized.path
    var rest: [String] = []
    while true {
        if let r = realpath(existing, nil) {
            defer { free(r) }
            let base = String(cString: r)
            return rest.isEmpty ? base : (base == "/" ? "" : base) + "/" + rest.reversed().joined(separator: "/")
        }
        let parent = (existing as NSString).deletingLastPathComponent
        if parent == existing || parent.isEmpty { return URL(fileURLWithPath: path).standardized.path }
        rest.append((existing as NSString).lastPathComponent)
        existing = parent
    }
}

/// True when `translate --output` would put its outputs where the inputs are: `output` and
/// `input` name one folder, or `input` is a file in `output` (after resolving paths and
/// symbolic links). A usage error: the outputs would replace the inputs or be read back.
public func outputIsInput(input: String, output: String) -> Bool {
    let o = resolvedPath(output)
    if isRegularFile(input) { return (resolvedPath(input) as NSString).deletingLastPathComponent == o }
    return resolvedPath(input) == o
}

/// The output folder's path relative to the input folder when it lies inside it (resolved
/// paths), else nil.
func outputInsideInput(input: String, output: String) -> String? {
    let i = resolvedPath(input), o = resolvedPath(output)
    let prefix = i == "/" ? "/" : i + "/"
    guard o.hasPrefix(prefix), o.count > prefix.count else { return nil }
    return String(o.dropFirst(prefix.count))
}

// MARK: - The record

/// OUTPUT/.img2img-translate.json: how the folder's images were made.
public struct TranslationManifest: Codable, Sendable, Equatable {
    public static let fileName = ".img2img-translate.json"

    /// "img2img 0.1.0": recorded, not compared (a new version alone does not redo a folder).
    public var tool: String
    /// The model file as given (after resolving a run folder): recorded, not compared.
    public var model: String
    /// SHA-256 of the model file's bytes: the model's identity.
    public var modelSHA256: String
    /// The network of a training checkpoint (G_A, G_B, G); nil for a file holding one.
    public var network: String?
    public var direction: String
    /// Every setting that changes pixels, by its command-line flag ("--tile-size": "512").
    public var settings: [String: String]

    public init(tool: String, model: String, modelSHA256: String, network: String?, direction: String,
                settings: [String: String]) {
        self.tool = tool
        self.model = model
        self.modelSHA256 = modelSHA256
        self.network = network
        self.direction = direction
        self.settings = settings
    }

    /// The settings of `options` that change pixels (format, quality, sizing, tiling,
    /// quantization), merged with `other` (the architecture and test-time flags, which the
    /// CLI knows).
    public static func pixelSettings(of o: TranslationOptions, other: [String: String]) -> [String: String] {
        var s = other
        s["--format"] = o.format.rawValue
        s["--jpeg-quality"] = String(o.jpegQuality)
        switch o.sizing {
        case .pad:
            s["--preprocess"] = "pad"
        case .preprocess(let a):
            s["--preprocess"] = a.preprocess.rawValue
            s["--load-size"] = String(a.loadSize)
            s["--crop-size"] = String(a.cropSize)
        }
        s["--tile-pixels"] = String(o.tiling.maxPiecePixels)
        s["--tile-size"] = String(o.tiling.tileSize)
        s["--tile-overlap"] = String(o.tiling.overlap)
        s["--quantization"] = o.quantization.rawValue
        return s
    }

    /// What differs from `old`, one phrase each ("--ngf: 64 before, 16 now"); empty when the
    /// two records describe the same images.
    public func differences(from old: TranslationManifest) -> [String] {
        var out: [String] = []
        if modelSHA256 != old.modelSHA256 {
            out.append("the model file's content (sha256 \(old.modelSHA256.prefix(12))... of \(old.model) before, "
                       + "\(modelSHA256.prefix(12))... of \(model) now)")
        }
        if network != old.network {
            out.append("the network (\(old.network ?? "the file's only one") before, \(network ?? "the file's only one") now)")
        }
        if direction != old.direction { out.append("--direction: \(old.direction) before, \(direction) now") }
        for key in Set(settings.keys).union(old.settings.keys).sorted() where settings[key] != old.settings[key] {
            out.append("\(key): \(old.settings[key] ?? "not set") before, \(settings[key] ?? "not set") now")
        }
        return out
    }

    /// Whether this run's outputs may go into `output`, and when to record it there.
    public enum Claim: Sendable, Equatable {
        /// The record is written (or was already there): files already done are kept.
        case recorded
        /// --overwrite over another record, or over unrecorded files: the old record is removed
        /// now and this one is written by `record(in:)` after the run, so that an interrupted
        /// overwrite never leaves old images under the new record.
        case recordAfterRun
        /// The record could not be written (a read-only or full folder): the run goes on, so
        /// that each file fails with its own reason (exit status 3) as before there was a
        /// record; a later run cannot tell how these images were made. The reason, for a warning.
        case notRecorded(String)
    }

    /// `record(in:)` as a claim: a failure to write is `.notRecorded`, not an error.
    private func recordNow(in output: String) -> Claim {
        do { try record(in: output) } catch { return .notRecorded("\(error)") }
        return .recorded
    }

    /// Checks `output`'s record against this one (`TranslationError` when they differ, or when
    /// unrecorded files would be kept, unless `overwrite`) and records this run.
    public func claim(output: String, plan: TranslationPlan, overwrite: Bool) throws -> Claim {
        let path = output + "/" + Self.fileName
        var old: TranslationManifest?
        var unreadable: String?
        if fileExists(path) {
            do {
                old = try JSONDecoder().decode(TranslationManifest.self, from: Data(try readFile(path, maxBytes: 1 << 20)))
            } catch {
                unreadable = "\(error)"
            }
        }
        let changes = old.map { self.differences(from: $0) } ?? []
        if let old, changes.isEmpty {
            return old != self ? recordNow(in: output) : .recorded  // same images; keep the newest paths
        }
        if overwrite {
            if old != nil || unreadable != nil {
                guard unlink(path) == 0 || errno == ENOENT else {
                    throw TranslationError(.record, "\(path): cannot remove the old record: \(String(cString: strerror(errno)))")
                }
            }
            // Nothing of an earlier run to replace (a new folder): record now, as without --overwrite.
            let replacing = old != nil || unreadable != nil || !plan.done.isEmpty
                || plan.todo.contains { fileExists($0.destination) }
            return replacing ? .recordAfterRun : recordNow(in: output)
        }
        if let unreadable {
            throw TranslationError(.record, "\(path) cannot be read (\(unreadable)), so it is unknown how the images in "
                                   + "\(output) were made: --overwrite redoes every file")
        }
        if old != nil {
            throw TranslationError(.settingsDiffer, "\(output) was translated with other settings: "
                                   + changes.joined(separator: "; ")
                                   + ". --overwrite redoes every file, or choose another --output")
        }
        if !plan.done.isEmpty {
            let names = plan.done.prefix(3).map { String($0.destination.dropFirst(output.count + 1)) }
            throw TranslationError(.unrecordedOutputs, "\(output) already holds \(plan.done.count) of the files this run would write ("
                                   + names.joined(separator: ", ") + (plan.done.count > 3 ? ", ..." : "")
                                   + ") and no \(Self.fileName) saying how they were made: --overwrite redoes every file, "
                                   + "or choose another --output")
        }
        return recordNow(in: output)
    }

    /// Writes the record into `output` (created if missing), atomically.
    public func record(in output: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            try AtomicWriter.write(Array(try enc.encode(self)) + [0x0A], to: output + "/" + Self.fileName)
        } catch {
            throw TranslationError(.record, "cannot record the settings in \(output)/\(Self.fileName): \(error)")
        }
    }
}
