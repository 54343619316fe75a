// The run's report: loss_log.jsonl (one JSON object per logged iteration, with the learning
// rate and images per second) and index.html (a plot per loss, the learning rate and speed,
// then captioned samples per epoch, latest first; see Reports.TrainingReportPage). The page
// uses no scripts, fonts or files from elsewhere, so it opens from disk.
import Foundation
import Checkpoint
import ImageIO
import Reports
import _Files

public final class RunReport {
    public let directory: String
    public let title: String
    public var indexPath: String { directory + "/index.html" }
    public var logPath: String { directory + "/loss_log.jsonl" }
    public private(set) var entries: [LossLogEntry] = []
    private var samples: [EpochSamples] = []
    /// Input files skipped so far (named on the page).
    public var skippedFiles: [String] = []

    public init(directory: String, title: String) {
        self.directory = directory
        self.title = title
    }

    public func resetLog() {
        try? FileManager.default.removeItem(atPath: logPath)
        entries = []
    }

    /// Reads back an earlier session's log and samples (after --continue). A torn last line
    /// (a kill mid-write) is skipped.
    public func loadLog() {
        guard let bytes = try? readFile(logPath) else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        entries = text.split(separator: "\n").compactMap(LossLogEntry.parse)
        samples = Self.scanSamples(directory + "/web/images")
    }

    public func log(epoch: Int, iteration: Int, losses: [(name: String, value: Float)], learningRate: Double? = nil,
                    imagesPerSecond: Double? = nil, skippedFiles: Int = 0) throws {
        var e = LossLogEntry(epoch: epoch, iteration: iteration, learningRate: learningRate, imagesPerSecond: imagesPerSecond,
                             losses: Dictionary(losses.map { ($0.name, Double($0.value)) }, uniquingKeysWith: { a, _ in a }))
        e.skippedFiles = skippedFiles
        entries.append(e)
        let line = Data((try e.jsonLine() + "\n").utf8)
        if let h = FileHandle(forWritingAtPath: logPath) {
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: line)
        } else {
            try AtomicFile.write(Array(line), to: logPath)
        }
    }

    /// Writes this epoch's samples (web/images/epochNNN_<caption>.png) and the page.
    public func addEpoch(_ epoch: Int, samples images: [(caption: String, image: Image)]) throws {
        let folder = directory + "/web/images"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var row: [SampleImage] = []
        for (i, s) in images.enumerated() {
            let file = String(format: "epoch%03d_%02d_", epoch, i) + Self.fileSafe(s.caption) + ".png"
            try writeImage(s.image, to: folder + "/" + file, format: .png)
            row.append(SampleImage(caption: s.caption, path: "web/images/" + file))
        }
        samples.removeAll { $0.epoch == epoch }
        samples.append(EpochSamples(epoch: epoch, images: row))
        try writePage()
    }

    public func writePage() throws {
        let html = TrainingReportPage.html(title: title, updated: Date(), entries: entries,
                                           samples: samples.sorted { $0.epoch > $1.epoch }, skipped: skippedFiles)
        try AtomicFile.write(Array(html.utf8), to: indexPath)
    }

    /// A caption as part of a file name (class names come from folder names).
    static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
    }

    /// The samples of earlier epochs, from their file names (epochNNN_KK_caption.png).
    static func scanSamples(_ folder: String) -> [EpochSamples] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
            $0.hasPrefix("epoch") && $0.hasSuffix(".png")
        }.sorted()
        var byEpoch: [Int: [SampleImage]] = [:]
        for f in files {
            let parts = f.dropFirst(5).dropLast(4).split(separator: "_", maxSplits: 2)
            guard parts.count == 3, let epoch = Int(parts[0]) else { continue }
            byEpoch[epoch, default: []].append(SampleImage(caption: String(parts[2]), path: "web/images/" + f))
        }
        return byEpoch.map { EpochSamples(epoch: $0.key, images: $0.value) }
    }
}
