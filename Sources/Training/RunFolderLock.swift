// One writer per run folder: `TrainingRun.run()` holds an advisory lock (flock) on
// RUN/.lock while it runs. A second `train` with the same --name (another terminal, a scheduler
// retry while the first still runs) is refused at start with the holder's pid, which the holder
// writes into the file. The kernel releases the lock when the process ends, however it ends, so
// a killed run never leaves a stale lock: `--continue` after it just works. The file itself is
// never removed (removing it would let a third process lock a new file while the second holds the
// old one).
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class RunFolderLock {
    private var fd: Int32

    /// Takes the lock or throws `TrainingRunError.runInUse` (held elsewhere) or `.cannotLock`.
    init(path: String, directory: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainingRunError.cannotLock(path: path, reason: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            let holder = Self.readPid(fd)
            close(fd)
            fd = -1
            if err == EWOULDBLOCK { throw TrainingRunError.runInUse(directory: directory, pid: holder) }
            throw TrainingRunError.cannotLock(path: path, reason: String(cString: strerror(err)))
        }
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
    }

    /// The pid the holder wrote, if the file holds one.
    private static func readPid(_ fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Releases the lock (also done by the kernel when the process ends).
    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
