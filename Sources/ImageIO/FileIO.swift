#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX file access with errors that carry the path and the system's reason.
enum FileIO {
    static func systemError(_ what: String, _ path: String, _ code: Int32 = errno) -> ImageIOError {
        ImageIOError(.io, message: "\(what): \(String(cString: strerror(code)))", path: path)
    }

    /// The whole file. Refuses anything that is not a regular file (a FIFO
    /// would block, a directory has no bytes).
    static func readAll(_ path: String) throws(ImageIOError) -> [UInt8] {
        try read(path, limit: nil)
    }

    /// At most `count` leading bytes.
    static func readPrefix(_ path: String, count: Int) throws(ImageIOError) -> [UInt8] {
        try read(path, limit: count)
    }

    private static func read(_ path: String, limit: Int?) throws(ImageIOError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw systemError("cannot open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw systemError("cannot stat", path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw ImageIOError(.io, message: "not a regular file", path: path)
        }
        let size = Int(st.st_size)
        let want = min(limit ?? Int.max, size)
        var bytes = [UInt8](repeating: 0, count: want)
        var got = 0
        while got < want {
            let n = bytes.withUnsafeMutableBytes { p in
                Glibc_read(fd, p.baseAddress! + got, want - got)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw systemError("cannot read", path)
            }
            if n == 0 { break } // the file shrank under us
            got += n
        }
        if got < want { bytes.removeLast(want - got) }
        return bytes
    }

    /// Writes `bytes` to a temporary file beside `path`, syncs it, then renames
    /// it over `path`. A crash leaves either the old file or the new one.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(ImageIOError) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw ImageIOError(.io, message: "no file name", path: path) }
        // A rename replaces whatever is at `path`: run as root with `--output /dev/null`, it
        // would put a regular file in place of the device. Only files (and links) are replaced.
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG && (st.st_mode & S_IFMT) != S_IFLNK {
            throw ImageIOError(.io, message: "exists and is not a regular file (a device, folder or pipe): not replaced", path: path)
        }
        let tmp = "\(dir)\(temporaryName(for: name, pid: getpid()))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw systemError("cannot create a temporary file in the folder", path) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { p in write(fd, p.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                throw systemError("cannot write", path, e)
            }
            done += n
        }
        if fsync(fd) != 0 {
            let e = errno
            close(fd)
            throw systemError("cannot sync", path, e)
        }
        guard close(fd) == 0 else { throw systemError("cannot close", path) }
        guard rename(tmp, path) == 0 else { throw systemError("cannot rename into place", path) }
        ok = true
    }
}

/// Writes a whole file atomically (temporary file beside it, fsync, rename), for pages and
/// other small files written next to images.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    try FileIO.writeAtomically(bytes, to: path)
}

/// `.<name>.tmp-<pid>-<random>`, with `name` cut (at a character boundary) so the whole stays
/// within NAME_MAX (255 bytes): a 250-byte file name must still get a temporary file.
func temporaryName(for name: String, pid: Int32) -> String {
    let suffix = ".tmp-\(pid)-\(UInt32.random(in: 0...UInt32.max))"
    let room = 255 - 1 - suffix.utf8.count
    var kept = Substring(name)
    while kept.utf8.count > room { kept = kept.dropLast() }
    return "." + kept + suffix
}

/// Removes the temporary files that a killed `writeImage` left under `root` (recursively, never
/// through symbolic links): files named `.<name>.tmp-<pid>-<random>` whose process is gone.
/// Files of a live process (another shard writing into the same folder) are left alone.
/// Returns the paths removed.
@discardableResult
public func removeStaleTemporaryFiles(under root: String) -> [String] {
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

/// The writer's process id if `name` is one of the temporary names of `writeImage` or of
/// Checkpoint's `AtomicFile` (`.tmp-<pid>-<decimal or hex random>` at the end).
func temporaryFileOwner(_ name: String) -> pid_t? {
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

// `read` is shadowed inside FileIO by its own static method.
@inline(__always)
private func Glibc_read(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Int {
    read(fd, buf, n)
}
