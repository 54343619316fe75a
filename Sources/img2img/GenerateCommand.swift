import ArgumentParser
import Foundation
import Training
import Translation
import Models

/// `img2img generate`: images from a label-conditional GAN (or an unconditional DCGAN).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images from class labels with a trained cgan (or from noise with a dcgan).",
        discussion: """
        --model is a generator saved by `img2img train cgan|dcgan` (latest_net_G.safetensors) or the \
        run's training checkpoint. Labels are class names (the training folder's subfolder names) or \
        indices. Each image is written as LABEL_K.png, or all of them as one grid with --grid \
        (one row per label). Files that exist are not replaced unless --overwrite: the run stops \
        before writing anything, naming them.
        """)

    @Option(help: "Generator file, training checkpoint, or run folder (its latest_net_G).")
    var model: String

    @Option(help: "Class name or index (repeat for several).")
    var label: [String] = []

    @Flag(help: "Every class of the model (the default when no --label is given).")
    var allLabels = false

    @Option(help: "Images per label.")
    var count: Int = 8

    @Option(help: "Output folder.")
    var output: String = "generated"

    @Flag(help: "Write one grid image (grid.png) instead of one file per image.")
    var grid = false

    @Option(help: "Random seed of the noise.")
    var seed: UInt64 = 0

    @Flag(help: "Replace images of the output folder that this run writes.")
    var overwrite = false

    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard count <= GeneratedImages.maxCount else { throw ValidationError("--count must be at most \(GeneratedImages.maxCount)") }
        if !label.isEmpty && allLabels { throw ValidationError("give --label or --all-labels, not both") }
    }

    func run() throws {
        engine.apply()
        let resolved = try resolveModel(model, select: .translator(reverse: false))
        if resolved.pickedFromFolder { printError("img2img: using \(resolved.path), the run folder's latest generator") }
        let g = try GeneratedImages.make(model: resolved.path, labels: allLabels ? [] : label, count: count, seed: seed)
        let written = try g.write(to: output, grid: grid, overwrite: overwrite)
        print(grid ? "wrote \(written[0]) (\(g.labels.count) rows of \(count))" : "wrote \(written.count) images to \(output)")
    }
}
