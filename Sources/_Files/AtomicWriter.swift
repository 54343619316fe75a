#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Atomic file replacement, the one writer of the package: bytes go to a temporary file in the
/// destination folder (`temporaryName`), which is fsynced, renamed over the destination, and
/// then the folder is fsynced. A reader (or a crash) sees the old file or the new one, never a
/// half-written one. Until `commit` succeeds nothing at `path` changes, and the temporary file
/// is removed when the writer goes away uncommitted (a failed write, a throwing producer).
///
///     let w = try AtomicWriter(path: "out/latest.safetensors")
///     try w.write(header); try w.write(payload)
///     try w.commit()
public final class AtomicWriter {
    public let path: String
    private let folder: String
    private let temporary: String
    private var fd: Int32
    private var committed = false

    /// Creates the temporary file. Refuses to replace anything but a regular file or a
    /// symbolic link: run as root with `--output /dev/null`, a rename would put a regular file
    /// in place of the device; over a folder or a pipe it fails or loses data.
    public init(path: String) throws(FileError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw FileError(path: path, "no file name") }
        let dir = slash.map { String(path[..<$0]) } ?? "."
        folder = dir.isEmpty ? "/" : dir
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG && (st.st_mode & S_IFMT) != S_IFLNK {
            throw FileError(path: path, "exists and is not a regular file (a device, folder or pipe): not replaced")
        }
        temporary = (folder == "/" ? "/" : folder + "/") + Self.temporaryName(for: name, pid: getpid())
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw systemError("cannot create a temporary file in the folder", path) }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporary) }
    }

    /// Appends `raw` to the temporary file (all of it, or throws).
    public func write(_ raw: UnsafeRawBufferPointer) throws(FileError) {
        guard fd >= 0, !committed else { throw FileError(path: path, "write after commit") }
        var done = 0
        while done < raw.count {
            let n = Glibc_write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw systemError("cannot write", path)
            }
            done += n
        }
    }

    public func write(_ bytes: [UInt8]) throws(FileError) {
        var failure: FileError?
        bytes.withUnsafeBytes { raw in
            do throws(FileError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// fsync, rename over `path`, fsync of the folder. After a failed fsync of the folder the
    /// new file is in place but its name may not survive a crash: that is what the error says.
    public func commit() throws(FileError) {
        guard fd >= 0, !committed else { throw FileError(path: path, "committed twice") }
        if fsync(fd) != 0 { throw systemError("cannot sync", path) }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw systemError("cannot close", path) }
        guard rename(temporary, path) == 0 else { throw systemError("cannot rename into place", path) }
        committed = true
        let dfd = open(folder, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        if dfd >= 0 {
            defer { close(dfd) }
            if fsync(dfd) != 0 { throw systemError("cannot sync the folder \(folder)", path) }
        }
    }
}

extension AtomicWriter {
    /// Writes a whole file atomically (`AtomicWriter`).
    public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        let w = try AtomicWriter(path: path)
        try w.write(bytes)
        try w.commit()
    }

    /// The same, with the contents produced by `body`, which hands each piece to the sink in order:
    /// a large file is written without first being assembled in memory. Errors of `body` pass
    /// through unchanged (and nothing is written); the sink throws `FileError`.
    public static func write(to path: String,
                             _ body: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let w = try AtomicWriter(path: path)
        try body { raw in try w.write(raw) }
        try w.commit()
    }

    /// `.<name>.tmp-<pid>-<hex random>`, with `name` cut (at a character boundary) so the whole
    /// stays within NAME_MAX (255 bytes): a 250-byte file name must still get a temporary file.
    public static func temporaryName(for name: String, pid: Int32) -> String {
        let suffix = ".tmp-\(pid)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        var kept = Substring(name)
        while kept.utf8.count > 255 - 1 - suffix.utf8.count { kept = kept.dropLast() }
        return "." + kept + suffix
    }

    /// The writer's process id if `name` is a temporary name of `AtomicWriter`
    /// (`.tmp-<pid>-<random>` at the end; the random part hex, or decimal as older writers wrote it).
    public static func temporaryFileOwner(_ name: String) -> pid_t? {
        let b = Array(name.utf8), marker = Array(".tmp-".utf8)
        var i = b.count - marker.count
        while i >= 0, !b[i..<(i + marker.count)].elementsEqual(marker) { i -= 1 }
        guard i > 0 else { return nil }
        let parts = b[(i + marker.count)...].split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, (1...10).contains(parts[1].utf8.count),
              UInt64(parts[1], radix: 16) != nil else { return nil }
        return pid
    }

    /// Removes the temporary files that killed writers left under `root` (recursively, never
    /// through symbolic links): files named by `temporaryName` whose process is gone. Files of a
    /// live process (another shard writing into the same folder) are left alone. Returns the
    /// paths removed, sorted.
    @discardableResult
    public static func removeStaleTemporaryFiles(under root: String) -> [String] {
        var removed: [String] = []
        func walk(_ dir: String, depth: Int) {
            guard depth < 64, let d = opendir(dir) else { return }
            defer { closedir(d) }
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = dir + "/" + name
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: walk(path, depth: depth + 1)
                case S_IFREG:
                    guard name.hasPrefix("."), let pid = temporaryFileOwner(name) else { continue }
                    if kill(pid, 0) != 0 && errno == ESRCH, unlink(path) == 0 { removed.append(path) }
                default: continue
                }
            }
        }
        walk(root, depth: 0)
        return removed.sorted()
    }
}

// `write` is shadowed inside AtomicWriter by its own methods.
@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}
