import ArgumentParser
import Foundation
import ImageIO
import Augment
import Training

/// Shows what training sees: runs the augmentation pipeline over a folder and writes the results.
struct AugmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment",
        abstract: "Write the augmented versions of a folder of images (what training sees).",
        discussion: "Subfolders are mirrored in the output; each image gives --count PNG files named NAME_K.png. "
            + "The preprocessing options are train's (the same declarations):\n"
            + TrainOptions.helpLines(for: nil).filter { line in
                CommonOptions.preprocessing.contains { line.hasPrefix("  --\($0.name)") } }.joined(separator: "\n"))

    @Option(help: "Folder of images (searched recursively; files are recognized by content).")
    var input: String

    @Option(help: "Output folder.")
    var output: String

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("--preprocess, --load-size, --crop-size, --no-flip, --filter (see below).",
                                                          valueName: "preprocessing"))
    var preprocessWords: [String] = []

    @Option(help: "Augmented copies per image.")
    var count: Int = 1

    @Option(help: "Random seed: the same seed gives byte-identical output.")
    var seed: UInt64 = 0

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        _ = try augmentOptions()
    }

    /// The preprocessing from train's declarations (their checks included), and load >= crop
    /// where a mode crops after scaling.
    func augmentOptions() throws -> AugmentOptions {
        var o = TrainOptions()
        do { try o.parseCommandLine(preprocessWords, accepting: CommonOptions.preprocessing, subcommand: "augment") } catch {
            throw ValidationError(error.description)
        }
        if o.preprocess == .resizeAndCrop || o.preprocess == .scaleWidthAndCrop, o.loadSize < o.cropSize {
            throw ValidationError("--load-size (\(o.loadSize)) must be at least --crop-size (\(o.cropSize))")
        }
        return AugmentOptions(preprocess: o.preprocess, loadSize: o.loadSize, cropSize: o.cropSize, flip: !o.noFlip,
                              filter: o.filter)
    }

    func run() throws {
        let scan = try ImageFolder.scan(root: input)
        let report = FileReport()
        for s in scan.failed { report.failed(scan.root + "/" + s.relativePath, s.explanation) }
        let o = try augmentOptions()
        for (i, entry) in scan.images.enumerated() {
            let rel = entry.relativePath
            let src = scan.path(of: entry)
            do {
                let img = try readImage(at: src)
                for k in 0..<count {
                    var rng = SeededGenerator(seed: seed, stream: UInt64(k), index: UInt64(i))
                    let p = AugmentParams.sample(options: o, width: img.width, height: img.height, using: &rng)
                    let out = p.apply(to: img, options: o)
                    let stem = (rel as NSString).deletingPathExtension
                    let dst = try outputPath(root: output, relative: "\(stem)_\(k).png", replacingExtensionWith: nil)
                    try ensureParentDirectory(dst)
                    try writeImage(out, to: dst, format: .png)
                }
                report.succeeded()
            } catch {
                report.failed(src, "\(error)")
            }
        }
        try report.finish("images augmented into \(output)")
    }
}
