import Foundation
import ImageIO
import Augment
import _Sync

/// Progress as the pipeline sees it; delivered on the writer thread.
public struct TranslationProgress: Sendable {
    public var finished: Int
    public var failed: Int
    public var total: Int
    public var elapsed: Double
    /// Images per second so far.
    public var rate: Double { elapsed > 0 ? Double(finished) / elapsed : 0 }
}

public struct TranslationSummary: Sendable {
    public var translated: Int
    public var alreadyDone: Int
    public var failures: [PlanProblem]
    public var notImages: Int
    public var elapsed: Double
    /// Stopped by Ctrl-C or SIGTERM (`stopOnInterrupt`): the images in flight were finished,
    /// the rest not started.
    public var interrupted: Bool = false
}

/// Set by the handler that `TranslationPipeline.stopOnInterrupt` installs.
nonisolated(unsafe) private var interruptRequested: Int32 = 0

/// Folder-to-folder translation: decoding, inference and encoding overlap.
///
/// A reader thread decodes and cuts images into pieces, the calling thread runs the network on
/// batches of same-sized pieces, a writer thread blends pieces back, re-attaches alpha, encodes
/// and writes each output to a temporary name that is renamed when complete. Queues between the
/// stages are bounded, so memory stays bounded whatever the folder holds.
public final class TranslationPipeline: @unchecked Sendable {
    public let options: TranslationOptions
    public let translator: any ImageTranslator

    public init(options: TranslationOptions, translator: any ImageTranslator) {
        self.options = options
        self.translator = translator
    }

    /// Makes Ctrl-C (SIGINT) and SIGTERM (a scheduler's stop) stop every pipeline after the
    /// images already started: each of them is written completely, so a rerun resumes cleanly;
    /// `TranslationSummary.interrupted` says so (translate then exits 130).
    public static func stopOnInterrupt() {
        for s in [SIGINT, SIGTERM] { signal(s) { _ in interruptRequested = 1 } }
    }

    /// Translates every file of `plan`. `onFailure` is called once per bad file (any thread),
    /// `onProgress` after every finished or failed image (writer thread).
    public func run(plan: TranslationPlan,
                    onFailure: @escaping @Sendable (PlanProblem) -> Void = { _ in },
                    onProgress: @escaping @Sendable (TranslationProgress) -> Void = { _ in }) -> TranslationSummary {
        let start = Date()
        let failures = Locked<[PlanProblem]>([])
        let fail: @Sendable (PlanProblem) -> Void = { p in
            failures.mutate { $0.append(p) }
            onFailure(p)
        }
        for p in plan.problems { fail(p) }

        let pieces = BoundedQueue<PieceJob>(capacity: max(2, options.batchSize * 2))
        let results = BoundedQueue<PieceResult>(capacity: max(2, options.batchSize * 2))
        let o = options
        let tr = translator
        let total = plan.todo.count

        let stoppedEarly = Locked(false)
        let reader = Thread {
            for (i, item) in plan.todo.enumerated() {
                if interruptRequested != 0 { stoppedEarly.mutate { $0 = true }; break }
                do {
                    let prepared = try prepare(item, index: i, options: o, translator: tr)
                    for (k, g) in prepared.pieces.enumerated() {
                        let data = extractPiece(prepared.input, width: prepared.width, height: prepared.height,
                                                channels: tr.inputChannels, piece: g)
                        if !pieces.put(PieceJob(image: prepared.header, piece: k, geometry: g, data: data)) { return }
                    }
                } catch {
                    // The writer counts this image as done (failed) in order.
                    if !pieces.put(PieceJob.failed(item: item, index: i, reason: describe(error))) { return }
                }
            }
            pieces.finish()
        }
        reader.name = "img2img-decode"

        let finishedCount = Locked(0), failedCount = Locked(0)
        let writerDone = DispatchSemaphore(value: 0)
        let writer = Thread {
            var assembling: [Int: (ImageHeader, Assembler, Int)] = [:]  // index -> header, blend, pieces received
            var failedImages = Set<Int>()
            func report() {
                onProgress(TranslationProgress(finished: finishedCount.value, failed: failedCount.value, total: total,
                                               elapsed: Date().timeIntervalSince(start)))
            }
            while let r = results.take() {
                let index = r.header.index
                if failedImages.contains(index) { continue }  // one line per bad file, not per piece
                if let reason = r.failure {
                    failedImages.insert(index)
                    assembling[index] = nil
                    fail(PlanProblem(path: r.header.item.source, reason: reason))
                    failedCount.mutate { $0 += 1 }
                    report()
                    continue
                }
                var entry = assembling[index] ?? (r.header, Assembler(width: r.header.width, height: r.header.height,
                                                                      channels: tr.outputChannels, overlap: o.tiling.overlap), 0)
                r.output.withUnsafeBufferPointer { entry.1.add($0, piece: r.geometry) }
                entry.2 += 1
                guard entry.2 == r.header.pieceCount else {
                    assembling[index] = entry
                    continue
                }
                assembling[index] = nil
                do {
                    try finishImage(entry.0, entry.1.result(), options: o, channels: tr.outputChannels)
                    finishedCount.mutate { $0 += 1 }
                } catch {
                    fail(PlanProblem(path: r.header.item.source, reason: describe(error)))
                    failedCount.mutate { $0 += 1 }
                }
                report()
            }
            writerDone.signal()
        }
        writer.name = "img2img-encode"
        reader.start()
        writer.start()

        // Inference on this thread: batches of consecutive pieces of one size.
        var pending: [PieceJob] = []
        func flush() {
            guard let first = pending.first else { return }
            let g = first.geometry
            var x = [Float]()
            x.reserveCapacity(pending.count * g.height * g.width * tr.inputChannels)
            for p in pending { x.append(contentsOf: p.data) }
            do {
                let y = try tr.translate(x, count: pending.count, height: g.height, width: g.width)
                let per = g.height * g.width * tr.outputChannels
                guard y.count == per * pending.count else {
                    throw DatasetLikeError("the model returned \(y.count) values, expected \(per * pending.count)")
                }
                for (i, p) in pending.enumerated() {
                    _ = results.put(PieceResult(header: p.header!, geometry: p.geometry, output: Array(y[(i * per)..<((i + 1) * per)])))
                }
            } catch {
                for p in pending { _ = results.put(PieceResult(header: p.header!, geometry: p.geometry, failure: describe(error))) }
            }
            pending.removeAll(keepingCapacity: true)
        }
        while let job = pieces.take() {
            if let reason = job.failure {
                flush()
                _ = results.put(PieceResult(header: ImageHeader(item: job.item!, index: job.index, width: 0, height: 0,
                                                                pieceCount: 0, alpha: nil, sixteenBit: false),
                                            geometry: job.geometry, failure: reason))
                continue
            }
            if let first = pending.first, first.geometry.height != job.geometry.height || first.geometry.width != job.geometry.width {
                flush()
            }
            pending.append(job)
            if pending.count >= max(1, o.batchSize) { flush() }
        }
        flush()
        results.finish()
        writerDone.wait()
        return TranslationSummary(translated: finishedCount.value, alreadyDone: plan.alreadyDone,
                                  failures: failures.value, notImages: plan.notImages,
                                  elapsed: Date().timeIntervalSince(start), interrupted: stoppedEarly.value)
    }
}

struct DatasetLikeError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func describe(_ error: Error) -> String {
    if var e = error as? ImageIOError {
        e.path = nil
        return e.description
    }
    return "\(error)"
}

/// What the writer needs to know about an image.
struct ImageHeader: Sendable {
    var item: WorkItem
    var index: Int
    var width: Int
    var height: Int
    var pieceCount: Int
    /// The source's alpha plane at the output size, re-attached to the result.
    var alpha: Image?
    var sixteenBit: Bool
}

struct PieceJob: Sendable {
    var header: ImageHeader?
    var piece: Int = 0
    var geometry: PieceGeometry
    var data: [Float]
    var failure: String?
    var item: WorkItem?
    var index: Int = 0

    init(image: ImageHeader, piece: Int, geometry: PieceGeometry, data: [Float]) {
        header = image
        self.piece = piece
        self.geometry = geometry
        self.data = data
    }

    static func failed(item: WorkItem, index: Int, reason: String) -> PieceJob {
        var j = PieceJob(image: ImageHeader(item: item, index: index, width: 0, height: 0, pieceCount: 0, alpha: nil, sixteenBit: false),
                         piece: 0, geometry: PieceGeometry(x0: 0, y0: 0, w: 0, h: 0, padTop: 0, padLeft: 0, height: 0, width: 0,
                                                           left: false, right: false, top: false, bottom: false), data: [])
        j.failure = reason
        j.item = item
        j.index = index
        return j
    }
}

struct PieceResult: Sendable {
    var header: ImageHeader
    var geometry: PieceGeometry
    var output: [Float] = []
    var failure: String?
}

struct PreparedImage {
    var header: ImageHeader
    var input: [Float]
    var width: Int
    var height: Int
    var pieces: [PieceGeometry]
}

/// Decode, size and convert one file to the network's channels.
func prepare(_ item: WorkItem, index: Int, options o: TranslationOptions, translator tr: any ImageTranslator) throws -> PreparedImage {
    let (img, alpha) = sized(try readImage(at: item.source, options: o.decoding), sizing: o.sizing, index: index)
    let sixteen = img.depth == .sixteen
    let color = adapt(img, channels: tr.inputChannels)
    let input = Normalization.toSignedUnit(color)
    let pieces = planPieces(width: img.width, height: img.height, multiple: max(1, tr.sizeMultiple), minimum: tr.minimumSide, options: o.tiling)
    let header = ImageHeader(item: item, index: index, width: img.width, height: img.height, pieceCount: pieces.count,
                             alpha: alpha, sixteenBit: sixteen)
    return PreparedImage(header: header, input: input, width: img.width, height: img.height, pieces: pieces)
}

/// The image with the network's channel count, alpha dropped, depth kept.
func adapt(_ img: Image, channels: Int) -> Image {
    let noAlpha = img.droppingAlpha()
    if channels == 3 { return noAlpha.expandingGrayToRGB() }
    if noAlpha.channels == 1 { return noAlpha }
    // Luma (ITU-R 601-2, as Pillow's convert("L")) at the source depth.
    switch noAlpha.samples {
    case .u8: return noAlpha.toGray8()
    case .u16(let px):
        let n = noAlpha.width * noAlpha.height
        var out = [UInt16](repeating: 0, count: n)
        for i in 0..<n {
            let v = 0.299 * Double(px[3 * i]) + 0.587 * Double(px[3 * i + 1]) + 0.114 * Double(px[3 * i + 2])
            out[i] = UInt16(min(65535, v.rounded()))
        }
        return Image(width: noAlpha.width, height: noAlpha.height, channels: 1, pixels16: out)
    }
}

/// The image sized as `sizing` asks (test-time: no flip), and its alpha plane sized alike.
func sized(_ source: Image, sizing: Sizing, index: Int) -> (Image, Image?) {
    var img = source
    var alpha: Image? = img.hasAlpha ? alphaPlane(img) : nil
    if case .preprocess(let aug) = sizing {
        let test = aug.forTesting
        var rng = SeededGenerator(seed: 0, stream: 0, index: UInt64(index))
        let p = AugmentParams.sample(options: test, width: img.width, height: img.height, using: &rng)
        img = p.apply(to: img, options: test)
        alpha = alpha.map { p.apply(to: $0, options: test) }
    }
    return (img, alpha)
}

func alphaPlane(_ img: Image) -> Image {
    let c = img.channels, n = img.width * img.height
    switch img.samples {
    case .u8(let px):
        return Image(width: img.width, height: img.height, channels: 1, pixels8: (0..<n).map { px[$0 * c + c - 1] })
    case .u16(let px):
        return Image(width: img.width, height: img.height, channels: 1, pixels16: (0..<n).map { px[$0 * c + c - 1] })
    }
}

/// Quantize, re-attach alpha, encode, and write atomically.
func finishImage(_ h: ImageHeader, _ y: [Float], options o: TranslationOptions, channels: Int) throws {
    let out = outputImage(y, width: h.width, height: h.height, channels: channels,
                          sixteenBit: h.sixteenBit && h.item.format == .png, alpha: h.alpha, quantization: o.quantization)
    try refuseSymlinkEscape(h.item.destination, root: o.output)
    try FileManager.default.createDirectory(atPath: (h.item.destination as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    try writeImage(out, to: h.item.destination, format: h.item.format, jpegQuality: o.jpegQuality)
}

/// Network output values in [-1, 1] as an image: 16-bit (rounded) or 8-bit, alpha re-attached.
func outputImage(_ values: [Float], width: Int, height: Int, channels: Int, sixteenBit: Bool, alpha: Image?,
                 quantization: Quantization) -> Image {
    var out = values.withUnsafeBufferPointer { buf in
        sixteenBit ? Normalization.toImage16(buf, width: width, height: height, channels: channels)
                   : Normalization.toImage8(buf, width: width, height: height, channels: channels, quantization: quantization)
    }
    if let a = alpha { out = attachAlpha(out, sixteenBit ? a.to16Bit() : a.to8Bit()) }
    return out
}

func attachAlpha(_ color: Image, _ alpha: Image) -> Image {
    let c = color.channels, n = color.width * color.height
    func join<T>(_ px: [T], _ a: [T]) -> [T] {
        var out = [T]()
        out.reserveCapacity(n * (c + 1))
        for i in 0..<n {
            out.append(contentsOf: px[(i * c)..<(i * c + c)])
            out.append(a[i])
        }
        return out
    }
    switch (color.samples, alpha.samples) {
    case (.u8(let p), .u8(let a)): return Image(width: color.width, height: color.height, channels: c + 1, pixels8: join(p, a))
    case (.u16(let p), .u16(let a)): return Image(width: color.width, height: color.height, channels: c + 1, pixels16: join(p, a))
    default: return color
    }
}

/// An output path must not pass through a symbolic link below the output folder.
func refuseSymlinkEscape(_ path: String, root: String) throws {
    guard path.hasPrefix(root + "/") else {
        throw DatasetLikeError("output path \(path) is outside \(root)")
    }
    var cur = root
    for part in path.dropFirst(root.count + 1).split(separator: "/") {
        cur += "/" + part
        var st = stat()
        if lstat(cur, &st) != 0 { return }  // does not exist yet: nothing below can be a link
        if (st.st_mode & S_IFMT) == S_IFLNK {
            throw DatasetLikeError("refusing to write through the symbolic link \(cur)")
        }
    }
}
