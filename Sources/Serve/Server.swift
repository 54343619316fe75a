import Foundation
import HTTPTypes
import Hummingbird
import ImageIO
import Logging
import NIOCore
import ServiceLifecycle
import Translation

/// The request context: Hummingbird's core storage plus the connection, so that queued work can
/// tell whether its client is still there.
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// `img2img serve`: the page, the API and the metrics over a set of loaded models.
///
/// Requests are answered by `respond` below; translations go through `WorkQueue` (one at a time,
/// the engine's threads inside) and `translateImage` (the translate pipeline's sizing, tiling,
/// alpha and 16-bit handling), so an answer equals `img2img translate` of the same file.
public final class TranslationServer: Sendable {
    public let configuration: ServeConfiguration
    public let registry: ServedModels
    public let metrics: ServeMetrics
    let queue: WorkQueue

    public init(configuration: ServeConfiguration, registry: ServedModels) {
        self.configuration = configuration
        self.registry = registry
        let metrics = ServeMetrics()
        self.metrics = metrics
        queue = WorkQueue(capacity: configuration.maxQueue) { metrics.queue(length: $0) }
    }

    /// The Hummingbird application; `onRunning` gets the bound port (useful with port 0).
    public func application(logger: Logger? = nil,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var log = logger ?? Logger(label: "img2img-serve")
        if logger == nil { log.logLevel = .notice }
        return Application(
            responder: ServeResponder(server: self, router: makeRouter().buildResponder()),
            server: .http1(configuration: .init(additionalChannelHandlers: [ClientGoneHandler()],
                                                idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: "img2img"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: log)
    }

    /// Serves until SIGTERM or SIGINT, then finishes the requests in flight and returns.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = application(onRunning: onRunning)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: app.logger))
        try await group.run()
        queue.shutdown()
    }

    /// Starts serving without signal handling (tests, embedding) and returns once the port is
    /// bound; `RunningServer.stop()` shuts down gracefully.
    public func start(logger: Logger? = nil) async throws -> RunningServer {
        let bound = OnceBox<Result<Int, Error>>()
        let app = application(logger: logger) { port in bound.set(.success(port)) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: app.logger))
        let task = Task {
            do { try await group.run() } catch { bound.set(.failure(error)) }
            bound.set(.failure(ServeError(.badConfiguration, "the server stopped before it was listening")))
        }
        let port = try await bound.wait().get()
        return RunningServer(port: port, group: group, task: task)
    }

    // MARK: - Routes

    func makeRouter() -> Router<ServeContext> {
        let router = Router(context: ServeContext.self)
        router.get("/") { _, _ in Self.response(.ok, type: "text/html; charset=utf-8", Array(ServePage.html.utf8)) }
        router.get("/healthz") { [self] _, _ in
            Self.json(Health(status: "ok", models: registry.models.count, queueLength: queue.length,
                             maxQueue: queue.capacity, tokenRequired: configuration.token != nil))
        }
        router.get("/metrics") { [self] _, _ in
            Self.response(.ok, type: "text/plain; version=0.0.4; charset=utf-8", metrics.text())
        }
        router.get("/openapi.json") { _, _ in
            Self.response(.ok, type: "application/json", Array(OpenAPIDocument.json.utf8))
        }
        let api = router.group("v1")
        if let token = configuration.token { api.add(middleware: BearerTokenMiddleware(token: token)) }
        api.get("models") { [self] _, _ in
            Self.json(ModelList(models: registry.models.values.map(\.info).sorted { $0.name < $1.name }))
        }
        api.get("models/{name}") { [self] _, context in
            Self.json(try model(named: context.parameters.get("name")).info)
        }
        api.post("models/{name}/translate") { [self] request, context in
            try await translate(request, context: context)
        }
        // Another method on a known path: 405 with Allow, not 404.
        for (group, paths): (any RouterMethods<ServeContext>, [(RouterPath, HTTPRequest.Method)]) in
            [(router, [("/", .get), ("/healthz", .get), ("/metrics", .get), ("/openapi.json", .get)]),
             (api, [("models", .get), ("models/{name}", .get), ("models/{name}/translate", .post)])] {
            for (path, allowed) in paths {
                for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .options] where method != allowed {
                    group.on(path, method: method) { _, _ -> Response in
                        var r = ServeResponder.errorResponse(
                            ServeError(.methodNotAllowed, "\(method.rawValue) is not allowed here; use \(allowed.rawValue)"),
                            server: self)
                        r.headers[.allow] = allowed.rawValue
                        return r
                    }
                }
            }
        }
        return router
    }

    func model(named name: String?) throws(ServeError) -> ServedModel {
        // The name only indexes the dictionary built from the folder's listing at start.
        guard let name, ServedModels.isValidName(name), let m = registry.models[name] else {
            throw ServeError(.notFound, "no model named '\(name ?? "")' (GET /v1/models lists them)")
        }
        return m
    }

    struct Health: Codable {
        var status: String
        var models: Int
        var queueLength: Int
        var maxQueue: Int
        var tokenRequired: Bool
        enum CodingKeys: String, CodingKey {
            case status, models
            case queueLength = "queue_length"
            case maxQueue = "max_queue"
            case tokenRequired = "token_required"
        }
    }

    struct ModelList: Codable { var models: [ServedModel.Info] }

    // MARK: - Translate

    enum OutputFormat: String { case png, jpeg }

    func translate(_ request: Request, context: ServeContext) async throws -> Response {
        let arrival = ContinuousClock.now
        let model = try model(named: context.parameters.get("name"))
        let query = request.uri.queryParameters
        let direction = query["direction"].map(String.init) ?? "AtoB"
        guard let translator = model.translators[direction] else {
            throw ServeError(.badRequest, "direction must be one of \(model.info.directions.joined(separator: ", ")), got '\(direction)'")
        }
        let formatName = query["format"].map { String($0).lowercased() } ?? "png"
        guard let format = OutputFormat(rawValue: formatName == "jpg" ? "jpeg" : formatName) else {
            throw ServeError(.badRequest, "format must be png or jpeg, got '\(formatName)'")
        }
        var quality = configuration.defaultJPEGQuality
        if let q = query["quality"] {
            guard let v = Int(q), (1...100).contains(v) else {
                throw ServeError(.badRequest, "quality must be an integer 1...100, got '\(q)'")
            }
            quality = v
        }
        let cap = configuration.maxUploadBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > cap {
            throw OversizeUpload(declared: declared, cap: cap)
        }
        // A place in the queue before reading the body: a full server refuses at once.
        guard let slot = queue.reserve() else {
            throw ServeError(.busy, "\(queue.capacity) requests are already being served; retry later")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: cap)
        } catch is NIOTooManyBytesError {
            slot.release()
            throw OversizeUpload(declared: nil, cap: cap)
        } catch {
            slot.release()  // the client went away mid-upload: nothing more is done for it
            throw ServeError(.clientGone, "the connection ended during the upload: \(error)")
        }
        guard body.readableBytes > 0 else {
            slot.release()
            throw ServeError(.notAnImage, "the request body is empty: send a PNG or JPEG file as the body")
        }
        let bytes = [UInt8](buffer: body)
        let decoding = configuration.decoding, tiling = configuration.tiling, jpegQuality = quality
        let channel = context.channel
        let queued = ContinuousClock.now
        let result = try await slot.run(stillWanted: { ClientGoneHandler.isConnected(channel) }) { () throws(ServeError) -> Translated in
            let start = ContinuousClock.now
            let image: Image
            do throws(ImageIOError) { image = try decodeImage(data: bytes, options: decoding) } catch { throw ServeError(decoding: error) }
            do {
                // translate's defaults: pad sizing, its tiling, --quantization truncate; 16-bit kept in PNGs.
                let out = try translateImage(image, with: translator, sizing: .pad, tiling: tiling,
                                             quantization: .truncate, keepSixteenBit: format == .png)
                let encoded = format == .png ? try encodePNG(out) : try encodeJPEG(out, quality: jpegQuality)
                return Translated(bytes: encoded, width: out.width, height: out.height, started: start,
                                  seconds: Self.seconds(since: start))
            } catch {
                throw ServeError(.internal, "translation failed: \(error)")
            }
        }
        metrics.translation(model: model.info.name, seconds: result.seconds)
        var headers = HTTPFields()
        headers[.contentType] = format == .png ? "image/png" : "image/jpeg"
        let wait = Self.seconds(from: queued, to: result.started)
        let total = Self.seconds(since: arrival)
        headers[HTTPField.Name("X-Translate-Seconds")!] = String(format: "%.4f", result.seconds)
        headers[HTTPField.Name("X-Queue-Seconds")!] = String(format: "%.4f", wait)
        headers[HTTPField.Name("X-Total-Seconds")!] = String(format: "%.4f", total)
        headers[HTTPField.Name("X-Image-Size")!] = "\(result.width)x\(result.height)"
        headers[HTTPField.Name("Server-Timing")!] =
            String(format: "queue;dur=%.1f, translate;dur=%.1f", wait * 1000, result.seconds * 1000)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.bytes)))
    }

    struct Translated: Sendable {
        var bytes: [UInt8]
        var width: Int
        var height: Int
        var started: ContinuousClock.Instant
        var seconds: Double
    }

    /// A body over `--max-upload-mb`: answered 413 at once, and the connection closed soon after
    /// (the rest of the upload is not read).
    struct OversizeUpload: Error {
        var declared: Int?
        var cap: Int
        var error: ServeError {
            let what = declared.map { "\($0) bytes" } ?? "the body"
            return ServeError(.uploadTooLarge, "\(what) is over the upload limit of \(cap) bytes (--max-upload-mb)")
        }
    }

    // MARK: - Helpers

    static func response(_ status: HTTPResponse.Status, type: String, _ bytes: [UInt8],
                         headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = type
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json(_ value: some Encodable) -> Response {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? enc.encode(value)) ?? Data("{}".utf8)
        return response(.ok, type: "application/json", [UInt8](data))
    }

    static func seconds(since t: ContinuousClock.Instant) -> Double { seconds(from: t, to: .now) }

    static func seconds(from a: ContinuousClock.Instant, to b: ContinuousClock.Instant) -> Double {
        let d = b - a
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

/// `Authorization: Bearer <token>` on every route below it; 401 otherwise.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let token: String

    func handle(_ request: Request, context: ServeContext,
                next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let given = request.headers[.authorization] ?? ""
        guard Self.equalInConstantTime(Array(given.utf8), Array("Bearer \(token)".utf8)) else {
            throw ServeError(.unauthorized, given.isEmpty ? "this server requires Authorization: Bearer <token>"
                                                          : "wrong token")
        }
        return try await next(request, context)
    }

    static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}

/// The outermost responder: turns every error into a JSON answer with its status, counts and
/// times every request. Nothing a request does escapes from here as a crash or a bare 500.
struct ServeResponder: HTTPResponder {
    typealias Context = ServeContext
    let server: TranslationServer
    let router: RouterResponder<ServeContext>

    func respond(to request: Request, context: ServeContext) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await router.respond(to: request, context: context)
        } catch let e as ServeError {
            response = Self.errorResponse(e, server: server)
        } catch let e as TranslationServer.OversizeUpload {
            response = Self.errorResponse(e.error, server: server)
            response.headers[.connection] = "close"
            let json = ByteBuffer(bytes: e.error.jsonBody)
            let channel = context.channel
            // Answer, then close the connection shortly after instead of reading the rest of the
            // upload (the delay lets the client read the 413 before the socket goes away).
            response.body = ResponseBody(contentLength: json.readableBytes) { writer in
                try await writer.write(json)
                try await writer.finish(nil)
                channel.eventLoop.scheduleTask(in: .milliseconds(500)) { channel.close(promise: nil) }
            }
        } catch let e as HTTPError {
            let kind: ServeError.Kind = e.status == .notFound ? .notFound
                : e.status == .methodNotAllowed ? .methodNotAllowed
                : e.status.code < 500 ? .badRequest : .internal
            response = Self.errorResponse(ServeError(kind, e.body ?? e.status.reasonPhrase), server: server)
            response.status = e.status
        } catch is WorkQueue.Cancelled {
            response = Self.errorResponse(ServeError(.clientGone, "the client hung up while its request was queued"),
                                          server: server)
        } catch {
            // The client went away mid-upload, or something unforeseen: an answer, never a crash.
            response = Self.errorResponse(ServeError(.internal, "\(error)"), server: server)
        }
        let route = context.endpointPath ?? "unmatched"
        server.metrics.request(route: route, status: response.status.code,
                               seconds: TranslationServer.seconds(since: start))
        return response
    }

    static func errorResponse(_ e: ServeError, server: TranslationServer) -> Response {
        var headers = HTTPFields()
        if e.kind == .busy { headers[.retryAfter] = String(server.configuration.retryAfterSeconds) }
        if e.kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return TranslationServer.response(e.status, type: "application/json", [UInt8](e.jsonBody), headers: headers)
    }
}

/// A server started by `TranslationServer.start`.
public final class RunningServer: Sendable {
    public let port: Int
    let group: ServiceGroup
    let task: Task<Void, Never>

    init(port: Int, group: ServiceGroup, task: Task<Void, Never>) {
        self.port = port
        self.group = group
        self.task = task
    }

    /// Stops accepting connections, finishes the requests in flight, and returns when done.
    public func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}

/// A value set once (later sets are ignored), awaited by one reader.
final class OnceBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?
    private var waiter: CheckedContinuation<T, Never>?

    func set(_ v: T) {
        lock.lock()
        guard value == nil else { lock.unlock(); return }
        value = v
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume(returning: v)
    }

    func wait() async -> T {
        await withCheckedContinuation { k in
            lock.lock()
            if let v = value { lock.unlock(); k.resume(returning: v); return }
            waiter = k
            lock.unlock()
        }
    }
}
