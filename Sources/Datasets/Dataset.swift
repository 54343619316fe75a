import ImageIO
import _Files
import Augment

/// One item of a dataset, decoded and augmented, still as images.
public struct Sample: Sendable {
    public var a: Image
    public var b: Image?
    public var pathA: String
    public var pathB: String?
    public var label: Int?

    public init(a: Image, b: Image? = nil, pathA: String, pathB: String? = nil, label: Int? = nil) {
        self.a = a
        self.b = b
        self.pathA = pathA
        self.pathB = pathB
        self.label = label
    }
}

/// A folder layout of the paper code. Items are produced on demand; every random
/// choice (crop, flip, the B partner of an unaligned A) comes from the generator passed in,
/// so the loader can make them independent of thread timing.
public protocol ImageDataset: Sendable {
    /// The number of items in one epoch.
    var count: Int { get }
    /// Channel counts the items are converted to (1 gray or 3 RGB; 0 for "no B").
    var channelsA: Int { get }
    var channelsB: Int { get }
    /// Files found while scanning that failed: unreadable, or named as images but not images
    /// (`ImageFolder.failed`). Other non-images (`README.txt`) are not listed.
    var skipped: [SkippedFile] { get }
    func sample(at index: Int, using rng: inout SeededGenerator) throws -> Sample
    /// Every file's size after preprocessing, read from the file headers without decoding
    /// (files whose header cannot be read are left out: they fail, and are skipped, when loaded).
    func plannedSizes() -> [PlannedSize]
}

/// A file's size after preprocessing, known before loading it.
public struct PlannedSize: Sendable, Equatable {
    public var path: String
    /// "A", "B" (unpaired sides) or "A|B" (both halves of an aligned pair).
    public var side: String
    public var width: Int
    public var height: Int
}

/// The planned sizes of `paths`; `halves`: each file holds an A|B pair side by side.
func plannedSizes(_ paths: [String], side: String, _ options: AugmentOptions, halves: Bool = false) -> [PlannedSize] {
    paths.compactMap { p in
        guard let (w, h) = ImageDecoder.dimensions(atPath: p), !halves || w >= 2 else { return nil }
        let s = options.outputSize(width: halves ? w / 2 : w, height: h)
        return PlannedSize(path: p, side: side, width: s.width, height: s.height)
    }
}

public struct DatasetError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// Which side of an aligned `A|B` image is the input.
public enum Direction: String, Sendable, Codable, CaseIterable {
    case aToB = "AtoB"
    case bToA = "BtoA"
}

/// Loads one image from disk converted to the channel count the network wants
/// (1 gray or 3 RGB; alpha is composited on white, 16-bit reduced to 8 as the paper code's
/// `Image.open(path).convert('RGB')` does).
func loadImage(_ path: String, channels: Int) throws -> Image {
    adaptChannels(try decode(path), to: channels)
}

/// Decodes one file; a decoder error becomes a `DatasetError` naming the file.
func decode(_ path: String) throws -> Image {
    do {
        return try readImage(at: path)
    } catch {
        var e = error
        e.path = nil
        throw DatasetError(path: path, reason: e.description)
    }
}

func adaptChannels(_ img: Image, to channels: Int) -> Image {
    channels == 1 ? img.toGray8() : img.toRGB8()
}

/// A file found while scanning that is not used, and why.
public struct SkippedFile: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { skippedFileMessage(path: path, reason: reason) }
}

/// The scan's failed files (`ImageFolder.failed`): unreadable files, links to folders, and
/// files named as images that are not; other non-images (`README.txt`) are left out quietly.
func skippedFiles(_ scan: ImageFolder) -> [SkippedFile] {
    scan.failed.map { SkippedFile(path: scan.root + "/" + $0.relativePath, reason: $0.explanation) }
}

/// The image files under `root`, sorted and recursive, with what was skipped.
func scanImages(_ root: String) throws -> (files: [String], skipped: [SkippedFile]) {
    let scan = try ImageFolder.scan(root: root)
    guard !scan.images.isEmpty else {
        throw DatasetError(path: root, reason: "no images found (\(scan.skipped.count) other files skipped)")
    }
    return (scan.images.map { scan.path(of: $0) }, skippedFiles(scan))
}
