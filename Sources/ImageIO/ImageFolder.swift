#if canImport(Foundation)
import Foundation
#endif

/// The images under a folder, found recursively and by content.
///
/// - Order: relative paths sorted by their UTF-8 bytes (code point order, as
///   Python's `sorted`), so the order never depends on the file system or
///   the locale.
/// - Images are recognized by their first bytes (PNG or JPEG signature),
///   never by extension; the files are not decoded here.
/// - Nothing is dropped silently: every file that is not an image, cannot be
///   read, or is not a regular file is listed in `skipped` with a reason.
///   `failed` are the skipped files a user must hear about: all but those
///   whose content is not an image and whose name does not claim one either
///   (`README.txt`, `.DS_Store`); a `notes.png` holding text, or an empty
///   `photo.jpg`, is a failed input (`ImageFormat.imageNameExtensions`).
/// - Symbolic links: a link to a regular file is read like a file; a link to
///   a directory is never followed (listed in `skipped`), which rules out
///   cycles and folders outside the root.
public struct ImageFolder: Sendable {
    public struct Entry: Sendable, Equatable {
        /// Path relative to the root, "/"-separated.
        public let relativePath: String
        public let format: ImageFormat
    }

    public struct Skipped: Sendable, Equatable {
        public enum Reason: String, Sendable, Equatable {
            /// Readable, but neither a PNG nor a JPEG.
            case notAnImage
            /// Could not be opened or read (permissions, broken link, ...).
            case unreadable
            /// A symbolic link to a directory: not followed.
            case symlinkedDirectory
            /// A FIFO, socket or device: not opened.
            case notARegularFile
        }
        public let relativePath: String
        public let reason: Reason
        /// The detail, e.g. the system's error string.
        public let message: String

        /// A file whose name claims an image (`ImageFormat.imageNameExtensions`) but whose
        /// content is none: an input that failed, not a file to ignore.
        public var claimsImage: Bool { reason == .notAnImage && ImageFormat.nameClaimsImage(relativePath) }

        /// False only for a non-image that does not claim to be one (ignored quietly).
        public var isFailure: Bool { reason != .notAnImage || claimsImage }

        /// Why the file was not used, for a user: the scan's detail, and for a file named as an
        /// image, that it is not one. The one wording of every "skipped" line
        /// (`_Files.skippedFileMessage(path:reason:)` puts the path in front).
        public var explanation: String {
            let detail = message.isEmpty ? reason.rawValue : message
            return claimsImage ? "named as an image but not one: \(detail)" : detail
        }
    }

    public let root: String
    public let images: [Entry]
    public let skipped: [Skipped]

    /// The skipped files that could not be read (as opposed to non-images).
    public var unreadable: [Skipped] { skipped.filter { $0.reason == .unreadable } }

    /// The skipped files to name as failed inputs (`Skipped.isFailure`).
    public var failed: [Skipped] { skipped.filter(\.isFailure) }

    /// The files ignored quietly: not images, and not named as images.
    public var ignored: [Skipped] { skipped.filter { !$0.isFailure } }

    /// The absolute-or-root-relative path of an entry.
    public func path(of entry: Entry) -> String { join(root, entry.relativePath) }

    /// The one file at `path` as a folder scan (root: its folder, the entry: its name): an
    /// image, or a skipped file saying why not. Throws `.io` if it cannot be read at all.
    public static func scan(file path: String) throws(ImageIOError) -> ImageFolder {
        let slash = path.lastIndex(of: "/")
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let root = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let head = try FileIO.readPrefix(path, count: ImageFormat.signatureLength)
        guard let format = ImageFormat.detect(head) else {
            return ImageFolder(root: root, images: [], skipped: [
                Skipped(relativePath: name, reason: .notAnImage, message: head.isEmpty ? "empty file" : "not a PNG or JPEG (by content)")])
        }
        return ImageFolder(root: root, images: [Entry(relativePath: name, format: format)], skipped: [])
    }

    /// Scans `root` recursively. Throws `.io` only if `root` itself cannot be listed. Folders
    /// whose relative path is in `excluding` are not entered (translate's output folder, when
    /// it lies inside its input).
    public static func scan(root: String, excluding: Set<String> = []) throws(ImageIOError) -> ImageFolder {
        var images: [Entry] = []
        var skipped: [Skipped] = []
        var pending: [String] = [""] // relative directories still to list
        let fm = FileManager.default
        var first = true
        while let rel = pending.popLast() {
            let dir = join(root, rel)
            let names: [String]
            do {
                names = try fm.contentsOfDirectory(atPath: dir)
            } catch {
                if first { throw ImageIOError(.io, message: "cannot list folder: \(reason(error))", path: root) }
                skipped.append(Skipped(relativePath: rel, reason: .unreadable, message: "cannot list folder: \(reason(error))"))
                continue
            }
            first = false
            for name in names {
                let relPath = rel.isEmpty ? name : rel + "/" + name
                let full = join(root, relPath)
                var st = stat()
                guard lstat(full, &st) == 0 else {
                    skipped.append(Skipped(relativePath: relPath, reason: .unreadable,
                                           message: String(cString: strerror(errno))))
                    continue
                }
                var mode = st.st_mode & S_IFMT
                if mode == S_IFLNK {
                    var target = stat()
                    guard stat(full, &target) == 0 else {
                        skipped.append(Skipped(relativePath: relPath, reason: .unreadable,
                                               message: "broken symbolic link: \(String(cString: strerror(errno)))"))
                        continue
                    }
                    mode = target.st_mode & S_IFMT
                    if mode == S_IFDIR {
                        skipped.append(Skipped(relativePath: relPath, reason: .symlinkedDirectory,
                                               message: "symbolic link to a directory, not followed"))
                        continue
                    }
                }
                if mode == S_IFDIR {
                    if !excluding.contains(relPath) { pending.append(relPath) }
                    continue
                }
                guard mode == S_IFREG else {
                    skipped.append(Skipped(relativePath: relPath, reason: .notARegularFile,
                                           message: "not a regular file"))
                    continue
                }
                do {
                    let head = try FileIO.readPrefix(full, count: ImageFormat.signatureLength)
                    if let format = ImageFormat.detect(head) {
                        images.append(Entry(relativePath: relPath, format: format))
                    } else {
                        skipped.append(Skipped(relativePath: relPath, reason: .notAnImage,
                                               message: head.isEmpty ? "empty file" : "not a PNG or JPEG (by content)"))
                    }
                } catch {
                    skipped.append(Skipped(relativePath: relPath, reason: .unreadable, message: error.message))
                }
            }
        }
        images.sort { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
        skipped.sort { $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8) }
        return ImageFolder(root: root, images: images, skipped: skipped)
    }
}

private func join(_ root: String, _ rel: String) -> String {
    if rel.isEmpty { return root }
    return root.hasSuffix("/") ? root + rel : root + "/" + rel
}

private func reason(_ error: any Error) -> String {
    #if canImport(Foundation)
    if let e = error as? CocoaError, let u = e.underlying as? POSIXError {
        return String(cString: strerror(u.code.rawValue))
    }
    #endif
    return "\(error)"
}
