import _Files

/// The file helpers of `_Files`, with their errors as `ImageIOError(.io)` naming the path.
enum FileIO {
    /// The whole file. Refuses anything that is not a regular file (a FIFO
    /// would block, a directory has no bytes).
    static func readAll(_ path: String) throws(ImageIOError) -> [UInt8] {
        do { return try readFile(path) } catch { throw ImageIOError(error) }
    }

    /// At most `count` leading bytes.
    static func readPrefix(_ path: String, count: Int) throws(ImageIOError) -> [UInt8] {
        do { return try readFile(path, maxBytes: count, overLimit: .keepPrefix) } catch { throw ImageIOError(error) }
    }

    /// `AtomicWriter`: temporary file beside `path`, fsync, rename, fsync of the folder.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(ImageIOError) {
        do { try AtomicWriter.write(bytes, to: path) } catch { throw ImageIOError(error) }
    }
}

extension ImageIOError {
    init(_ e: FileError) {
        self.init(e.kind == .tooLarge ? .tooLarge : .io, message: e.reason, path: e.path)
    }
}

/// Writes a whole file atomically (temporary file beside it, fsync, rename), for pages and
/// other small files written next to images.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    try FileIO.writeAtomically(bytes, to: path)
}

/// Removes the temporary files that a killed `writeImage` (or any atomic write of the package)
/// left under `root` (recursively, never through symbolic links): files named
/// `.<name>.tmp-<pid>-<random>` whose process is gone. Files of a live process (another shard
/// writing into the same folder) are left alone. Returns the paths removed.
@discardableResult
public func removeStaleTemporaryFiles(under root: String) -> [String] {
    AtomicWriter.removeStaleTemporaryFiles(under: root)
}
