#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

private func errnoText() -> String { String(cString: strerror(errno)) }

/// Reads a whole regular file. The buffer is sized from `fstat`, never from file content.
func readWholeFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CheckpointError(.io, file: path, "cannot open: \(errnoText())") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw CheckpointError(.io, file: path, "cannot stat: \(errnoText())") }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
        throw CheckpointError(.io, file: path, "not a regular file")
    }
    let size = Int(st.st_size)
    var failure: String?
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        var done = 0
        while done < size {
            let n = read(fd, buffer.baseAddress! + done, size - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = errnoText()
                break
            }
            if n == 0 { break }  // the file shrank while we read it: keep what we got
            done += n
        }
        count = done
    }
    if let failure { throw CheckpointError(.io, file: path, "read failed: \(failure)") }
    return bytes
}

/// Atomic file replacement: write a temporary file in the destination folder, fsync it,
/// rename it over the destination, then fsync the folder. A reader (or a crash) sees the old
/// file or the new one, never a half-written one. On failure the temporary file is removed.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { sink in try bytes.withUnsafeBytes { try sink($0) } }
    }

    /// The same, with the contents produced by `body`, which hands each piece to the sink in
    /// order: a large file is written without first being assembled in memory.
    public static func write(to path: String,
                             _ body: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]).isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty else { throw CheckpointError(.io, file: path, "no file name") }
        // A rename replaces whatever is at `path`: run as root with `--output /dev/null`, it
        // would put a regular file in place of the device. Only files (and links) are replaced.
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG && (st.st_mode & S_IFMT) != S_IFLNK {
            throw CheckpointError(.io, file: path, "exists and is not a regular file (a device, folder or pipe): not replaced")
        }
        // within NAME_MAX (255 bytes) whatever the length of `base`
        let suffix = ".tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        var kept = Substring(base)
        while kept.utf8.count > 254 - suffix.utf8.count { kept = kept.dropLast() }
        let tmp = "\(dir)/.\(kept)\(suffix)"

        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError(.io, file: path, "cannot create \(tmp): \(errnoText())") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        do {
            defer { close(fd) }
            try body { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc_write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw CheckpointError(.io, file: path, "write failed: \(errnoText())")
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else { throw CheckpointError(.io, file: path, "fsync failed: \(errnoText())") }
        }
        guard rename(tmp, path) == 0 else {
            throw CheckpointError(.io, file: path, "cannot rename \(tmp): \(errnoText())")
        }
        ok = true
        let dfd = open(dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        if dfd >= 0 {
            defer { close(dfd) }
            guard fsync(dfd) == 0 else {
                throw CheckpointError(.io, file: path, "fsync of folder \(dir) failed: \(errnoText())")
            }
        }
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}
