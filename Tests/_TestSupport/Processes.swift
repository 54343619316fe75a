import Foundation

/// What a finished process gave: its exit status (or the signal that ended it), stdout and stderr.
public struct ProcessRun: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// Ended by a signal (`status` is then the signal's number).
    public var signaled: Bool

    public init(status: Int32, stdout: String, stderr: String, signaled: Bool = false) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.signaled = signaled
    }
}

/// The built products (`img2img`, `img2img-serve`, ...): the test runner sits next to them,
/// .build/<triple>/<config>/img2imgPackageTests.xctest.
public enum BuiltProducts {
    public static var directory: URL {
        #if os(macOS)
        return Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }!.bundleURL.deletingLastPathComponent()
        #else
        return Bundle.main.executableURL!.deletingLastPathComponent()
        #endif
    }

    public static func url(_ product: String) -> URL { directory.appendingPathComponent(product) }
}

/// Runs `executable` with `arguments` (and `environment` added to this process's) to the end,
/// capturing stdout and stderr. Both pipes are drained while it runs (stderr on a thread of its
/// own), so a chatty child never blocks on a full pipe.
@discardableResult
public func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessRun {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    if !environment.isEmpty {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
    }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let errData = DataBox()
    let done = DispatchSemaphore(value: 0)
    Thread {
        errData.data = err.fileHandleForReading.readDataToEndOfFile()
        done.signal()
    }.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    return ProcessRun(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: errData.data, as: UTF8.self),
                      signaled: p.terminationReason == .uncaughtSignal)
}

/// Starts `executable` with its output discarded, for a test that signals or kills it while it
/// runs; the caller waits for it (`waitUntilExit`).
public func startProcess(_ executable: URL, _ arguments: [String]) throws -> Process {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
}
