import XCTest
import Checkpoint
import Foundation
import ImageIO
@testable import Serve
import _TestSupport

final class ServeEndpointTests: ServeTestCase {
    func testPageHealthOpenAPIAndModels() throws {
        let (_, client) = try startServer()

        let page = try client.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.headers["content-type"]?.hasPrefix("text/html") ?? false)
        XCTAssertTrue(page.text.contains("<title>img2img</title>"))
        XCTAssertFalse(page.text.contains("http://"), "the page loads nothing from elsewhere")
        XCTAssertFalse(page.text.contains("https://"), "the page loads nothing from elsewhere")

        let health = try client.get("/healthz").json()
        XCTAssertEqual(health["status"] as? String, "ok")
        XCTAssertEqual(health["models"] as? Int, 2)
        XCTAssertEqual(health["queue_length"] as? Int, 0)

        let doc = try client.get("/openapi.json")
        XCTAssertEqual(doc.status, 200)
        let json = try doc.json()
        XCTAssertEqual(json["openapi"] as? String, "3.0.3")
        let paths = (json["paths"] as? [String: Any]).map { Set($0.keys) } ?? []
        XCTAssertEqual(paths, ["/healthz", "/metrics", "/v1/models", "/v1/models/{name}", "/v1/models/{name}/translate"])

        let models = try client.get("/v1/models")
        XCTAssertEqual(models.status, 200)
        let list = try JSONDecoder().decode(TranslationServer.ModelList.self, from: Data(models.body)).models
        // The copy at the top, the subfolder's only file; not the link to outside, not the broken file.
        XCTAssertEqual(list.map(\.name), ["night2day", "sub"])
        XCTAssertEqual(list[0].architecture, "resnet_6blocks")
        XCTAssertEqual(list[0].inputChannels, 3)
        XCTAssertEqual(list[0].outputChannels, 3)
        XCTAssertEqual(list[0].directions, ["AtoB"])
        XCTAssertEqual(list[0].file, "night2day.safetensors")
        XCTAssertEqual(try client.get("/v1/models/sub").json()["file"] as? String, "sub/G.safetensors")
    }

    func testRegistrySkipsLinksOutsideAndBrokenFiles() throws {
        var registry = ServedModels()
        try registry.addFolder(modelsDir)
        let skipped = Dictionary(uniqueKeysWithValues: registry.skipped.map { ($0.file, $0.reason) })
        XCTAssertEqual(skipped["evil.safetensors"], "symbolic link to outside the models folder")
        XCTAssertNotNil(skipped["broken.safetensors"])
        XCTAssertNil(registry.models["evil"])
        XCTAssertThrowsError(try registry.addFolder(tmp.appendingPathComponent("missing").path))
        for bad in ["..", "../etc", "/etc/passwd", ".hidden", "a/b", "a%2Fb", "", "név"] {
            XCTAssertFalse(ServedModels.isValidName(bad), bad)
        }
        XCTAssertTrue(ServedModels.isValidName("horse2zebra_G-A.v2"))
    }

    /// A model whose weights hold NaN is not served; the reason names the tensor.
    func testNonFiniteWeightsAreNotServed() throws {
        var file = try SafeTensors.read(path: Self.bundledModel)
        let i = file.tensors.firstIndex { $0.name == "model.1.weight" }!
        file.tensors[i].values[0] = .infinity
        let dir = tmp.appendingPathComponent("nanmodels").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try SafeTensors.write(file, to: dir + "/diverged.safetensors")
        try FileManager.default.copyItem(atPath: Self.bundledModel, toPath: dir + "/fine.safetensors")
        var registry = ServedModels()
        try registry.addFolder(dir)
        XCTAssertNotNil(registry.models["fine"])
        XCTAssertNil(registry.models["diverged"])
        let reason = registry.skipped.first { $0.file == "diverged.safetensors" }?.reason ?? ""
        XCTAssertTrue(reason.contains("tensor model.1.weight holds inf"), reason)
    }

    func testMetricsCountRequestsErrorsAndLatency() throws {
        let (_, client) = try startServer()
        _ = try client.get("/healthz")
        _ = try client.get("/no/such/path")
        _ = try client.post("/v1/models/night2day/translate", Array("hello".utf8))
        let m = try client.get("/metrics")
        XCTAssertEqual(m.status, 200)
        XCTAssertTrue(m.headers["content-type"]?.hasPrefix("text/plain") ?? false)
        let t = m.text
        XCTAssertTrue(t.contains(#"img2img_http_requests_total{route="/healthz",status="200"} 1"#), t)
        XCTAssertTrue(t.contains(#"img2img_http_errors_total{route="/v1/models/{name}/translate",status="400"} 1"#), t)
        XCTAssertTrue(t.contains(#"img2img_http_errors_total{route="NotFound",status="404"} 1"#), t)
        XCTAssertTrue(t.contains(#"img2img_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 1"#), t)
        XCTAssertTrue(t.contains("img2img_queue_length 0"), t)
    }

    // MARK: - Translations equal `img2img translate`, byte for byte

    /// Translates `file` with the CLI (`img2img translate`, default options but the format) and
    /// returns the output file's bytes.
    func cliTranslate(_ file: String, extra: [String] = []) throws -> [UInt8] {
        let input = tmp.appendingPathComponent("cli-in-\(UUID().uuidString)").path
        let output = tmp.appendingPathComponent("cli-out-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let name = (file as NSString).lastPathComponent
        try FileManager.default.copyItem(atPath: file, toPath: input + "/" + name)
        let r = try run("img2img", ["translate", "--model", modelsDir + "/night2day.safetensors", "--input", input,
                                    "--output", output, "--quiet"] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        let outs = try FileManager.default.contentsOfDirectory(atPath: output).filter { !$0.hasPrefix(".") && $0 != "index.html" }
        XCTAssertEqual(outs.count, 1)
        return try bytes(output + "/" + (outs.first ?? "missing"))
    }

    func assertSameBytes(_ a: [UInt8], _ b: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let firstDiff = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        XCTAssertTrue(a == b, "\(what): server \(a.count) bytes, CLI \(b.count) bytes, first difference at \(firstDiff.map(String.init) ?? "the end")",
                      file: file, line: line)
    }

    func testTranslateEqualsCLIByteForByte() throws {
        let (_, client) = try startServer()
        let jpeg = sampleJPEG

        // A JPEG in, PNG out (the default).
        let png = try client.post("/v1/models/night2day/translate", try bytes(jpeg))
        XCTAssertEqual(png.status, 200, png.text)
        XCTAssertEqual(png.headers["content-type"], "image/png")
        XCTAssertNotNil(png.headers["x-translate-seconds"].flatMap(Double.init))
        XCTAssertNotNil(png.headers["x-total-seconds"].flatMap(Double.init))
        XCTAssertEqual(png.headers["x-image-size"], "256x256")
        assertSameBytes(png.body, try cliTranslate(jpeg, extra: ["--format", "png"]), "PNG")

        // JPEG out at a given quality.
        let jpg = try client.post("/v1/models/night2day/translate?format=jpeg&quality=90", try bytes(jpeg))
        XCTAssertEqual(jpg.status, 200, jpg.text)
        XCTAssertEqual(jpg.headers["content-type"], "image/jpeg")
        assertSameBytes(jpg.body, try cliTranslate(jpeg, extra: ["--format", "jpeg", "--jpeg-quality", "90"]), "JPEG q90")

        // A 16-bit RGBA PNG of an odd size: padding, alpha and depth as translate keeps them.
        let (w, h) = (37, 23)
        var px = [UInt16](repeating: 0, count: w * h * 4)
        for i in 0..<(w * h) {
            px[4 * i] = UInt16((i * 977) % 65536)
            px[4 * i + 1] = UInt16((i * 131 + 7000) % 65536)
            px[4 * i + 2] = UInt16((i * 53) % 65536)
            px[4 * i + 3] = UInt16((i * 4099) % 65536)
        }
        let odd = tmp.appendingPathComponent("odd16.png").path
        try Data(try encodePNG(Image(width: w, height: h, channels: 4, pixels16: px))).write(to: URL(fileURLWithPath: odd))
        let out16 = try client.post("/v1/models/night2day/translate", try bytes(odd))
        XCTAssertEqual(out16.status, 200, out16.text)
        let decoded = try decodeImage(data: out16.body)
        XCTAssertEqual([decoded.width, decoded.height, decoded.channels], [w, h, 4])
        XCTAssertEqual(decoded.depth, .sixteen)
        assertSameBytes(out16.body, try cliTranslate(odd), "16-bit RGBA")
    }

    func testTinyImagesAreTranslatedNotTrapped() throws {
        // Below the ResNet's 8x8 minimum (its bottleneck's reflection pad): these used to trap the
        // process (found by tools/serve_fuzz.sh); now they are reflected out and cropped back,
        // here and in `img2img translate` alike.
        let (_, client) = try startServer()
        let cases: [(String, Image)] = [
            ("1x1-gray.png", Image(width: 1, height: 1, channels: 1, pixels8: [200])),
            ("3x2-rgba.png", Image(width: 3, height: 2, channels: 4, pixels8: (0..<24).map { UInt8($0 * 10) })),
            ("40x1-rgb.png", Image(width: 40, height: 1, channels: 3, pixels8: (0..<120).map { UInt8($0 * 2) })),
        ]
        for (name, img) in cases {
            let path = tmp.appendingPathComponent(name).path
            try Data(try encodePNG(img)).write(to: URL(fileURLWithPath: path))
            let r = try client.post("/v1/models/night2day/translate", try bytes(path))
            XCTAssertEqual(r.status, 200, "\(name): \(r.text)")
            let out = try decodeImage(data: r.body)
            XCTAssertEqual([out.width, out.height], [img.width, img.height], name)
            assertSameBytes(r.body, try cliTranslate(path), name)
        }
    }

    // MARK: - Bad input

    func testBadInputGets400WithANamedProblem() throws {
        let (_, client) = try startServer()
        let url = "/v1/models/night2day/translate"

        let text = try client.post(url, Array("GIF89a, or rather just text".utf8))
        XCTAssertEqual(text.status, 400)
        XCTAssertEqual(try text.json()["error"] as? String, "not_an_image")

        let empty = try client.post(url, [])
        XCTAssertEqual(empty.status, 400)
        XCTAssertEqual(try empty.json()["error"] as? String, "not_an_image")

        // A PNG whose image data is overwritten: a named decoding error, not a crash.
        var png = try encodePNG(Image(width: 64, height: 64, channels: 3, fill: 90))
        for i in 60..<(png.count - 20) { png[i] = UInt8(truncatingIfNeeded: i &* 37) }
        let corrupt = try client.post(url, png)
        XCTAssertEqual(corrupt.status, 400, corrupt.text)
        let kind = try corrupt.json()["error"] as? String
        XCTAssertTrue(kind == "corrupt" || kind == "truncated", corrupt.text)
        XCTAssertTrue((try corrupt.json()["message"] as? String)?.contains("PNG") ?? false, corrupt.text)

        // A JPEG cut in half.
        let jpeg = try bytes(sampleJPEG)
        let cut = try client.post(url, Array(jpeg[0..<(jpeg.count / 2)]))
        XCTAssertEqual(cut.status, 400, cut.text)
        XCTAssertEqual(try cut.json()["error"] as? String, "truncated")

        for bad in ["?format=gif", "?quality=0", "?format=jpeg&quality=abc", "?direction=BtoA"] {
            let r = try client.post(url + bad, jpeg)
            XCTAssertEqual(r.status, 400, bad)
            XCTAssertEqual(try r.json()["error"] as? String, "bad_request", bad)
        }
        // The server is still there.
        XCTAssertEqual(try client.get("/healthz").status, 200)
    }

    func testUnknownModelsAndTraversalGet404() throws {
        let (_, client) = try startServer()
        let body = try bytes(sampleJPEG)
        for name in ["nope", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "..", "evil", "outside", "broken",
                     "sub%2FG", "night2day.safetensors", "%2E%2E"] {
            let r = try client.post("/v1/models/\(name)/translate", body)
            XCTAssertEqual(r.status, 404, name)
            XCTAssertEqual(try r.json()["error"] as? String, "not_found", name)
            XCTAssertEqual(try client.get("/v1/models/\(name)").status, 404, name)
        }
        for path in ["/v1/models/../../etc/passwd/translate", "/v1/models//etc/passwd/translate", "/etc/passwd"] {
            XCTAssertEqual(try client.post(path, body).status, 404, path)
        }
    }

    func testOtherMethodsOnKnownPathsGet405WithAllow() throws {
        let (_, client) = try startServer()
        for (method, path, allow) in [("DELETE", "/v1/models", "GET"), ("GET", "/v1/models/night2day/translate", "POST"),
                                      ("PUT", "/healthz", "GET"), ("POST", "/", "GET"), ("PATCH", "/v1/models/x", "GET")] {
            let r = try client.request(method, path)
            XCTAssertEqual(r.status, 405, "\(method) \(path)")
            XCTAssertEqual(r.headers["allow"], allow, "\(method) \(path)")
            XCTAssertEqual(try r.json()["error"] as? String, "method_not_allowed")
        }
    }

    // MARK: - Limits

    func testOversizedUploadGets413BeforeTheBodyIsRead() throws {
        let (_, client) = try startServer { $0.maxUploadBytes = 100_000 }
        let url = "/v1/models/night2day/translate"

        // Declared too large: answered from the head alone, with none of the body sent.
        let c = try HTTPTestClient.Connection(port: client.port, timeout: 10)
        c.send("POST \(url) HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5000000000\r\n\r\n")
        let declared = try c.readResponse()
        XCTAssertEqual(declared.status, 413)
        XCTAssertEqual(try declared.json()["error"] as? String, "upload_too_large")
        c.close()

        // Chunked, no length given: refused once the cap is passed.
        let d = try HTTPTestClient.Connection(port: client.port, timeout: 10)
        d.send("POST \(url) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = [UInt8](repeating: 0x41, count: 32_768)
        for _ in 0..<4 { d.send(Array("8000\r\n".utf8) + chunk + Array("\r\n".utf8)) }
        let streamed = try d.readResponse()
        XCTAssertEqual(streamed.status, 413)
        XCTAssertEqual(try streamed.json()["error"] as? String, "upload_too_large")
        d.close()

        XCTAssertEqual(try client.get("/healthz").status, 200)
        XCTAssertTrue(waitUntil(5) { (try? client.get("/healthz").json()["queue_length"] as? Int) == 0 })
    }

    func testDecodedSizeAndPixelCapsGet413() throws {
        let jpeg = try bytes(sampleJPEG)  // 256x256 RGB: 196,608 decoded bytes
        let (_, bytesCapped) = try startServer { $0.decoding = DecodingOptions(maxDecodedBytes: 100_000) }
        let r = try bytesCapped.post("/v1/models/night2day/translate", jpeg)
        XCTAssertEqual(r.status, 413, r.text)
        XCTAssertEqual(try r.json()["error"] as? String, "image_too_large")

        let (_, pixelCapped) = try startServer { $0.decoding = DecodingOptions(maxPixels: 256 * 255) }
        let p = try pixelCapped.post("/v1/models/night2day/translate", jpeg)
        XCTAssertEqual(p.status, 413, p.text)
        XCTAssertEqual(try p.json()["error"] as? String, "image_too_large")
    }

    func testTokenRequiredOnTheAPI() throws {
        let (_, client) = try startServer { $0.token = "s3cret" }
        let none = try client.get("/v1/models")
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.headers["www-authenticate"], "Bearer")
        XCTAssertEqual(try none.json()["error"] as? String, "unauthorized")
        XCTAssertEqual(try client.get("/v1/models", headers: ["Authorization": "Bearer wrong"]).status, 401)
        XCTAssertEqual(try client.get("/v1/models", headers: ["Authorization": "Bearer s3cret2"]).status, 401)
        XCTAssertEqual(try client.get("/v1/models", headers: ["Authorization": "s3cret"]).status, 401)
        XCTAssertEqual(try client.post("/v1/models/night2day/translate", Array("x".utf8)).status, 401)
        XCTAssertEqual(try client.get("/v1/models", headers: ["Authorization": "Bearer s3cret"]).status, 200)
        // The page and the health check stay open; the page asks for the token.
        XCTAssertEqual(try client.get("/").status, 200)
        XCTAssertEqual(try client.get("/healthz").json()["token_required"] as? Bool, true)
    }

    func testNonLoopbackWithoutTokenWarns() {
        var c = ServeConfiguration()
        XCTAssertEqual(c.warnings, [])
        c.host = "0.0.0.0"
        XCTAssertEqual(c.warnings.count, 1)
        XCTAssertTrue(c.warnings[0].contains("--token"))
        c.token = "t"
        XCTAssertEqual(c.warnings, [])
        for h in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] { XCTAssertTrue(ServeConfiguration.isLoopback(h), h) }
        for h in ["0.0.0.0", "::", "192.168.1.2", "10.0.0.1"] { XCTAssertFalse(ServeConfiguration.isLoopback(h), h) }
    }

    // MARK: - Load: a full queue, disconnecting clients

    /// A client that sends the head and part of the body, then stalls: it holds a place in the queue.
    func stalledUpload(port: Int) throws -> HTTPTestClient.Connection {
        let c = try HTTPTestClient.Connection(port: port, timeout: 30)
        c.send("POST /v1/models/night2day/translate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        c.send([UInt8](repeating: 0xFF, count: 1000))
        return c
    }

    func testFullQueueGets503AndADisconnectedUploadFreesItsPlace() throws {
        let (server, client) = try startServer { $0.maxQueue = 1 }
        let jpeg = try bytes(sampleJPEG)

        let stalled = try stalledUpload(port: client.port)
        XCTAssertTrue(waitUntil(10) { server.queue.length == 1 })
        let busy = try client.post("/v1/models/night2day/translate", jpeg)
        XCTAssertEqual(busy.status, 503)
        XCTAssertEqual(busy.headers["retry-after"], "1")
        XCTAssertEqual(try busy.json()["error"] as? String, "busy")
        XCTAssertEqual(try client.get("/healthz").status, 200, "only translations queue")

        // The stalled client goes away mid-upload: its place is given back, nothing is translated.
        stalled.close()
        XCTAssertTrue(waitUntil(10) { server.queue.length == 0 })
        let ok = try client.post("/v1/models/night2day/translate", jpeg)
        XCTAssertEqual(ok.status, 200, ok.text)
        let metrics = try client.get("/metrics").text
        XCTAssertTrue(metrics.contains(#"img2img_translate_duration_seconds_count{model="night2day"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"img2img_http_errors_total{route="/v1/models/{name}/translate",status="503"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"img2img_http_requests_total{route="/v1/models/{name}/translate",status="499"} 1"#), metrics)
    }

    func testConcurrentRequestsOverTheQueueGet503() throws {
        let (_, client) = try startServer { $0.maxQueue = 2 }
        let jpeg = try bytes(sampleJPEG)
        let joins = (0..<6).map { _ in onThread { (try? client.post("/v1/models/night2day/translate", jpeg).status) ?? -1 } }
        let statuses = joins.map { $0() }
        XCTAssertEqual(statuses.filter { $0 == 200 }.count + statuses.filter { $0 == 503 }.count, 6, "\(statuses)")
        XCTAssertGreaterThanOrEqual(statuses.filter { $0 == 200 }.count, 2, "\(statuses)")
        XCTAssertGreaterThanOrEqual(statuses.filter { $0 == 503 }.count, 1, "\(statuses)")
    }

    func testClientGoneWhileQueuedCostsNoTranslation() throws {
        let (server, client) = try startServer()
        let jpeg = try bytes(sampleJPEG)
        // A is translated; B, queued behind it, hangs up before its turn; C is still answered.
        let a = onThread { (try? client.post("/v1/models/night2day/translate", jpeg).status) ?? -1 }
        XCTAssertTrue(waitUntil(10) { server.queue.length == 1 })
        let b = try HTTPTestClient.Connection(port: client.port)
        b.send(Array("POST /v1/models/night2day/translate HTTP/1.1\r\nHost: x\r\nContent-Length: \(jpeg.count)\r\n\r\n".utf8) + jpeg)
        XCTAssertTrue(waitUntil(10) { server.queue.length == 2 })
        usleep(300_000)  // B's body read: it waits for the worker
        b.close()
        XCTAssertEqual(a(), 200)
        XCTAssertTrue(waitUntil(30) { server.queue.length == 0 })
        let c = try client.post("/v1/models/night2day/translate", jpeg)
        XCTAssertEqual(c.status, 200)
        let metrics = try client.get("/metrics").text
        XCTAssertTrue(metrics.contains(#"img2img_translate_duration_seconds_count{model="night2day"} 2"#), metrics)
        XCTAssertTrue(metrics.contains(#"img2img_http_requests_total{route="/v1/models/{name}/translate",status="499"} 1"#), metrics)
        XCTAssertFalse(metrics.contains(#"status="500""#), metrics)
    }

    func testClientGoneMidTranslationLeavesTheServerServing() throws {
        let (server, client) = try startServer()
        let jpeg = try bytes(sampleJPEG)
        // The client hangs up while its translation runs: the answer has nowhere to go, the
        // server carries on with the next request.
        let gone = try HTTPTestClient.Connection(port: client.port)
        gone.send(Array("POST /v1/models/night2day/translate HTTP/1.1\r\nHost: x\r\nContent-Length: \(jpeg.count)\r\n\r\n".utf8) + jpeg)
        XCTAssertTrue(waitUntil(10) { server.queue.length == 1 })
        gone.close()
        XCTAssertTrue(waitUntil(30) { server.queue.length == 0 })
        let next = try client.post("/v1/models/night2day/translate", jpeg)
        XCTAssertEqual(next.status, 200)
        XCTAssertEqual(try client.get("/healthz").status, 200)
    }

    func testGracefulShutdownFinishesTheRequestInFlight() throws {
        let (server, client) = try startServer()
        let jpeg = try bytes(sampleJPEG)
        let a = onThread { (try? client.post("/v1/models/night2day/translate", jpeg).status) ?? -1 }
        XCTAssertTrue(waitUntil(10) { server.queue.length == 1 })
        stopServers()
        XCTAssertEqual(a(), 200)
        XCTAssertThrowsError(try client.get("/healthz"), "no longer listening")
    }
}
