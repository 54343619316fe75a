import XCTest
import Foundation

/// The shipped path: `img2img serve` runs the sibling `img2img-serve`, which prints its address,
/// answers, and on SIGTERM finishes the request in flight before exiting.
final class ServeBinaryTests: ServeTestCase {
    func testServeCommandAnswersAndStopsGracefullyOnSIGTERM() throws {
        let p = Process()
        p.executableURL = Self.binDir.appendingPathComponent("img2img")
        p.arguments = ["serve", "--models", modelsDir, "--no-bundled", "--port", "0", "--threads", "2"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        defer { if p.isRunning { p.terminate() } }

        // "serving night2day, sub at http://127.0.0.1:PORT/ (...)"
        var first = ""
        let reader = out.fileHandleForReading
        while !first.contains("\n") {
            let d = reader.availableData
            if d.isEmpty { break }
            first += String(decoding: d, as: UTF8.self)
        }
        XCTAssertTrue(first.hasPrefix("serving night2day, sub at http://127.0.0.1:"), first)
        let port = Int(first.split(separator: ":")[2].split(separator: "/")[0]) ?? 0
        XCTAssertGreaterThan(port, 0, first)
        let client = HTTPTestClient(port: port)
        XCTAssertEqual(try client.get("/healthz").status, 200)

        let jpeg = try bytes(sampleJPEG)
        let a = onThread { (try? client.post("/v1/models/night2day/translate", jpeg).status) ?? -1 }
        XCTAssertTrue(waitUntil(10) { (try? client.get("/healthz").json()["queue_length"] as? Int) == 1 })
        kill(p.processIdentifier, SIGTERM)
        XCTAssertEqual(a(), 200, "the request in flight is finished")
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let rest = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(rest.contains("stopped"), rest)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(stderr.contains("skipping evil.safetensors: symbolic link to outside the models folder"), stderr)
    }

    func testUsageErrorsExit64() throws {
        for args in [["--port", "70000"], ["--max-queue", "0"], ["--models", tmp.path + "/missing", "--no-bundled"],
                     ["--no-bundled"], ["--token", ""]] {
            let r = try run("img2img", ["serve"] + args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
        }
        let help = try run("img2img", ["serve", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--max-upload-mb"), help.stdout)
    }
}
