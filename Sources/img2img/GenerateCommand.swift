import ArgumentParser
import Foundation
import ImageIO
import Augment
import Checkpoint
import Models
import NN
import TensorCore
import Autograd
import _CKernels

/// `img2img generate`: images from a label-conditional GAN (or an unconditional DCGAN).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images from class labels with a trained cgan (or from noise with a dcgan).",
        discussion: """
        --model is a generator saved by `img2img train cgan|dcgan` (latest_net_G.safetensors) or the \
        run's training checkpoint. Labels are class names (the training folder's subfolder names) or \
        indices. Each image is written as LABEL_K.png, or all of them as one grid with --grid \
        (one row per label).
        """)

    @Option(help: "Generator file or training checkpoint.")
    var model: String

    @Option(help: "Class name or index (repeat for several).")
    var label: [String] = []

    @Flag(help: "Every class of the model.")
    var allLabels = false

    @Option(help: "Images per label.")
    var count: Int = 8

    @Option(help: "Output folder.")
    var output: String = "generated"

    @Flag(help: "Write one grid image (grid.png) instead of one file per image.")
    var grid = false

    @Option(help: "Random seed of the noise.")
    var seed: UInt64 = 0

    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        guard count >= 1 else { throw RuntimeError("--count must be at least 1") }
        if !label.isEmpty && allLabels { throw RuntimeError("give --label or --all-labels, not both") }
    }

    func run() throws {
        if let threads { i2i_set_num_threads(Int32(threads)) }
        var file = try CheckpointFile.read(path: model)
        var classes: [String]? = nil
        if let json = file.metadata[TrainingRun.runKey],
           let st = try? JSONDecoder().decode(RunState.self, from: Data(json.utf8)) { classes = st.classes }
        if let g = networkFile(file, net: "G") { file = g }
        let cfg = try config(of: file, path: model)
        var rng = SplitMix64(seed: 0)
        let net = try makeNetwork(cfg, using: &rng)
        try net.loadStateDict(stateDict(of: file), source: model)
        net.testMode()

        let labels: [Int]
        let names: [String]
        switch cfg.kind {
        case .cganGenerator:
            let all = Array(0..<cfg.numClasses)
            if allLabels || label.isEmpty {
                labels = all
            } else {
                labels = try label.map { l in
                    if let i = classes?.firstIndex(of: l) { return i }
                    if let i = Int(l), all.contains(i) { return i }
                    throw RuntimeError("unknown label '\(l)': the model's classes are "
                                          + (classes?.joined(separator: ", ") ?? "0..<\(cfg.numClasses)"))
                }
            }
            names = labels.map { classes?[$0] ?? String($0) }
        case .dcganGenerator:
            guard label.isEmpty else { throw RuntimeError("\(model) is an unconditional DCGAN: it takes no --label") }
            labels = [0]
            names = ["sample"]
        default:
            throw RuntimeError("\(model) holds a \(cfg.kind.rawValue), not a cgan or dcgan generator")
        }

        var noiseRNG = SplitMix64(seed: seed)
        let n = labels.count * count
        let z = Variable(Tensor(randomNormal: [n, 1, 1, cfg.nz], using: &noiseRNG))
        let perImageLabels = labels.flatMap { Array(repeating: $0, count: count) }
        let out: Tensor = withNoGrad {
            if let g = net as? ConditionalGenerator { return g(z, labels: perImageLabels).value }
            return (net as! any Layer)(z).value
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        if grid {
            let tiles = (0..<n).map { tensorImage(out, item: $0).toRGB8() }
            try writeImage(tileImages(tiles, columns: count), to: output + "/grid.png", format: .png)
            print("wrote \(output)/grid.png (\(labels.count) rows of \(count))")
        } else {
            for i in 0..<n {
                let name = names[i / count].replacingOccurrences(of: "/", with: "_")
                try writeImage(tensorImage(out, item: i), to: output + "/\(name)_\(i % count).png", format: .png)
            }
            print("wrote \(n) images to \(output)")
        }
    }
}
