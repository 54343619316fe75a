#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What `readFile` does with a file larger than `maxBytes`.
public enum OverLimit: Sendable {
    /// Throw `FileError(.tooLarge)` before allocating anything.
    case refuse
    /// Return the first `maxBytes` bytes (a header or a signature).
    case keepPrefix
}

/// The bytes of the regular file at `path`, at most `maxBytes` of them. Anything but a regular
/// file (or a link to one) is refused: a FIFO would block, a folder has no bytes, a device may
/// never end. The file is opened non-blocking, so opening a FIFO cannot hang either. The buffer
/// is sized from `fstat`, never from the content; a file that shrinks while read gives what was
/// there.
public func readFile(_ path: String, maxBytes: Int = .max, overLimit: OverLimit = .refuse) throws(FileError) -> [UInt8] {
    let (fd, st) = try openRegularFile(path)
    defer { close(fd) }
    let size = Int(st.st_size)
    if size > maxBytes && overLimit == .refuse {
        throw FileError(.tooLarge, path: path, "\(size) bytes, over the limit of \(maxBytes)")
    }
    let want = min(size, max(maxBytes, 0))
    var failure: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: want) { buffer, count in
        var done = 0
        while done < want {
            let n = read(fd, buffer.baseAddress! + done, want - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            if n == 0 { break }  // the file shrank under us: keep what we got
            done += n
        }
        count = done
    }
    if failure != 0 { throw systemError("cannot read", path, failure) }
    return bytes
}

/// `what: <the system's reason>` for `path`.
func systemError(_ what: String, _ path: String, _ code: Int32 = errno) -> FileError {
    FileError(path: path, "\(what): \(String(cString: strerror(code)))")
}

/// Opens `path` for reading if it is a regular file (or a link to one), non-blocking so that a
/// FIFO cannot hang the open; returns the descriptor (the caller closes it) and its `fstat`.
func openRegularFile(_ path: String) throws(FileError) -> (fd: Int32, stat: stat) {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw systemError("cannot open", path) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
        let e = systemError("cannot stat", path)
        close(fd)
        throw e
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
        close(fd)
        throw FileError(path: path, "not a regular file")
    }
    return (fd, st)
}
