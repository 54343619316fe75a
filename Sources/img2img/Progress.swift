import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on a terminal (redrawn in place), plain lines when stderr is not a
/// terminal (logs, CI, a scheduler's output file), nothing with --quiet.
final class ProgressDisplay: @unchecked Sendable {
    enum Mode { case bar, lines, quiet }
    let mode: Mode
    let label: String
    private let lock = NSLock()
    private var lastLine = Date.distantPast
    private var drawn = false

    init(label: String, quiet: Bool) {
        self.label = label
        if quiet { mode = .quiet } else { mode = isatty(STDERR_FILENO) != 0 ? .bar : .lines }
    }

    /// `done` of `total` items, at `rate` items/s, plus free text (losses, failures).
    func update(done: Int, total: Int, rate: Double, extra: String = "", force: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let interval = mode == .bar ? 0.1 : 5.0
        guard mode != .quiet, force || done == total || now.timeIntervalSince(lastLine) >= interval else { return }
        lastLine = now
        let eta = rate > 0 && total > done ? " ETA \(Self.clock(Double(total - done) / rate))" : ""
        let stats = "\(done)/\(total) \(String(format: "%.2f", rate)) \(label)/s\(eta)\(extra.isEmpty ? "" : "  " + extra)"
        switch mode {
        case .bar:
            let width = 24
            let filled = total > 0 ? min(width, width * done / total) : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[2K[\(bar)] \(stats)".utf8))
            drawn = true
        case .lines:
            FileHandle.standardError.write(Data("\(stats)\n".utf8))
        case .quiet:
            break
        }
    }

    /// Ends the bar's line so the next output starts on a fresh one.
    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)); drawn = false }
    }

    /// Prints a message on its own line without breaking the bar.
    func message(_ s: String) {
        lock.lock(); defer { lock.unlock() }
        let prefix = drawn ? "\r\u{1B}[2K" : ""
        FileHandle.standardError.write(Data("\(prefix)\(s)\n".utf8))
        drawn = false
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
