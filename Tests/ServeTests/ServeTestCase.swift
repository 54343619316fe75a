import XCTest
import Foundation
import ImageIO
@testable import Serve
import _TestSupport

/// Starts `TranslationServer`s on free loopback ports, in this process, over a models folder of
/// its own (a copy of the bundled model, a subfolder, a symbolic link that points outside), and
/// runs the built binaries (`img2img translate`, `img2img-serve`) for comparison.
///
/// Test methods are synchronous and the clients block on plain sockets on their own threads:
/// the server's handlers need Swift's cooperative pool, which blocked clients must not occupy.
class ServeTestCase: XCTestCase {
    static let repoRoot = TestPaths.repoRoot
    static let bundledModel = repoRoot.appendingPathComponent("models/earth-night2day/G.safetensors").path
    static let samples = repoRoot.appendingPathComponent("datasets/samples/earth-night").path

    /// The folder of the products (the test runner sits next to them).
    static var binDir: URL { BuiltProducts.directory }

    var tmp: URL!
    var modelsDir: String { tmp.appendingPathComponent("models").path }
    private var running: [RunningServer] = []

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-serve-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(atPath: modelsDir + "/sub", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.bundledModel, toPath: modelsDir + "/night2day.safetensors")
        try fm.copyItem(atPath: Self.bundledModel, toPath: modelsDir + "/sub/G.safetensors")
        // A model file outside the folder, reachable only through a symbolic link: never served.
        try fm.copyItem(atPath: Self.bundledModel, toPath: tmp.appendingPathComponent("outside.safetensors").path)
        try fm.createSymbolicLink(atPath: modelsDir + "/evil.safetensors", withDestinationPath: "../outside.safetensors")
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: modelsDir + "/broken.safetensors"))
    }

    override func tearDownWithError() throws {
        for s in running { blocking { await s.stop() } }
        running = []
        try? FileManager.default.removeItem(at: tmp)
    }

    /// A server over `modelsDir` (edited by `configure`), started on a free port.
    func startServer(_ configure: (inout ServeConfiguration) -> Void = { _ in }) throws -> (TranslationServer, HTTPTestClient) {
        var cfg = ServeConfiguration()
        cfg.port = 0
        configure(&cfg)
        var registry = ServedModels()
        try registry.addFolder(modelsDir)
        let server = TranslationServer(configuration: cfg, registry: registry)
        let r: Result<RunningServer, Error> = blocking { do { return .success(try await server.start()) } catch { return .failure(error) } }
        let running = try r.get()
        self.running.append(running)
        return (server, HTTPTestClient(port: running.port))
    }

    func stopServers() {
        for s in running { blocking { await s.stop() } }
        running = []
    }

    /// Runs async work from a synchronous test and waits for it.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let sem = DispatchSemaphore(value: 0)
        Task {
            box.value = await body()
            sem.signal()
        }
        sem.wait()
        return box.value!
    }

    /// Runs `body` on a thread of its own; `join` waits for its result.
    func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> () -> T {
        let box = ResultBox<T>()
        let sem = DispatchSemaphore(value: 0)
        let t = Thread {
            box.value = body()
            sem.signal()
        }
        t.start()
        return {
            sem.wait()
            return box.value!
        }
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    func waitUntil(_ seconds: Double = 30, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    var sampleJPEG: String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: Self.samples))?.sorted() ?? []
        return Self.samples + "/" + (files.first { $0.hasSuffix(".jpg") } ?? "missing.jpg")
    }

    /// Runs a built product; returns its status, stdout and stderr.
    @discardableResult
    func run(_ product: String, _ args: [String]) throws -> ProcessRun {
        try runProcess(BuiltProducts.url(product), args)
    }
}

final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
