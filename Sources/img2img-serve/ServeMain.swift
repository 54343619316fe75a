import ArgumentParser
import Foundation
import ImageIO
import Serve
import TensorCore
import _Files

/// `img2img serve` (the `img2img` binary runs this one, its sibling): parses, validates, loads the
/// models, starts the server (`TranslationServer.run`) and prints where it listens.
@main
struct ServeMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "img2img serve",
        abstract: "Serve a page and an HTTP API that translate images with the models of a folder.",
        discussion: """
        Every generator in --models is served under its file name: DIR/NAME.safetensors (or .pth: \
        network files, training checkpoints, the paper code's files) as NAME, DIR/SUB/G.safetensors \
        as SUB when it is SUB's only model file. The bundled model (models/earth-night2day) is served \
        too unless --no-bundled.

        GET / is a page to drop images on; the API is described at /openapi.json: GET /v1/models, \
        POST /v1/models/NAME/translate (body: a PNG or JPEG; answer: the translated image, PNG or \
        ?format=jpeg&quality=90), GET /healthz, GET /metrics (Prometheus).

        Translations run one at a time (each on all --threads) behind a queue of --max-queue \
        requests; when it is full the answer is 503 with Retry-After. SIGTERM or Ctrl-C stops \
        accepting connections and finishes the requests in flight.
        """)

    @Option(help: "Folder of models to serve.")
    var models: String?

    @Flag(help: "Do not add the bundled model (models/earth-night2day).")
    var noBundled = false

    @Option(help: "Address to bind (a non-loopback address without --token prints a warning).")
    var host = "127.0.0.1"

    @Option(help: "Port to bind (0: any free port, printed at start).")
    var port = 8080

    @Option(help: "Require 'Authorization: Bearer TOKEN' on /v1/ (401 otherwise).")
    var token: String?

    @Option(help: "Refuse request bodies over this many MB (413), before reading them whole.")
    var maxUploadMb = 50

    @Option(help: "Requests admitted at once (uploading, queued or translating); more get 503.")
    var maxQueue = 16

    @Option(help: "Refuse images with more pixels than this (413).")
    var maxImagePixels = DecodingOptions.defaultMaxPixels

    @Option(help: "Refuse images whose decoded pixels would take more than this many MB (413).")
    var maxImageMb = 400

    @Option(help: "Compute threads (default: all cores, or I2I_NUM_THREADS).")
    var threads: Int?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard maxUploadMb >= 1, maxUploadMb <= 1 << 20 else { throw ValidationError("--max-upload-mb must be 1...1048576") }
        guard maxQueue >= 1 else { throw ValidationError("--max-queue must be at least 1") }
        guard maxImagePixels >= 1, maxImageMb >= 1, maxImageMb <= 1 << 30 else {
            throw ValidationError("--max-image-pixels and --max-image-mb must be at least 1")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let token, token.isEmpty || token.contains(where: { $0.isWhitespace }) {
            throw ValidationError("--token must be non-empty, without spaces")
        }
        if models == nil && noBundled { throw ValidationError("nothing to serve: give --models DIR or drop --no-bundled") }
    }

    func run() async throws {
        if let threads { Engine.threads = threads }
        var cfg = ServeConfiguration()
        cfg.host = host
        cfg.port = port
        cfg.token = token
        cfg.maxUploadBytes = maxUploadMb * 1_000_000
        cfg.maxQueue = maxQueue
        cfg.decoding = DecodingOptions(maxPixels: maxImagePixels, maxDecodedBytes: maxImageMb * 1_000_000)

        var registry = ServedModels()
        do {
            if let models { try registry.addFolder(models) }
        } catch {
            throw ValidationError(error.description)
        }
        if !noBundled, let bundled = bundledModelPath() { registry.addFile(bundled, name: "earth-night2day") }
        for s in registry.skipped { warn("img2img serve: skipping \(skippedFileMessage(path: s.file, reason: s.reason))") }
        guard !registry.models.isEmpty else {
            warn("img2img serve: no model to serve\(models.map { " in \($0)" } ?? "")")
            throw ExitCode.failure
        }
        for w in cfg.warnings { warn(w) }
        let server = TranslationServer(configuration: cfg, registry: registry)
        let names = registry.models.keys.sorted().joined(separator: ", ")
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let threads = Engine.threads, queueLength = cfg.maxQueue
        try await server.run { port in
            let line = "serving \(names) at http://\(shownHost):\(port)/ (\(threads) threads, queue of \(queueLength))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        FileHandle.standardOutput.write(Data("stopped\n".utf8))
    }

    func warn(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }
}
