import ArgumentParser
import Foundation
import ImageIO
import Augment
import Training

extension Preprocess: ExpressibleByArgument {}
extension ResizeFilter: ExpressibleByArgument {}

/// Preprocessing options shared by the subcommands that read training images.
struct PreprocessOptions: ParsableArguments {
    @Option(help: "resize_and_crop | resize | crop | scale_width | scale_width_and_crop | none")
    var preprocess: Preprocess = .resizeAndCrop

    @Option(help: "Scale images to this size (before cropping).")
    var loadSize: Int = 286

    @Option(help: "Then crop to this size.")
    var cropSize: Int = 256

    @Flag(help: "Do not flip images horizontally.")
    var noFlip = false

    @Option(help: "Resampling filter: nearest (label maps) | bilinear | bicubic.")
    var filter: ResizeFilter = .bicubic

    func validate() throws {
        guard (1...maxTrainingImageSide).contains(loadSize), (1...maxTrainingImageSide).contains(cropSize) else {
            throw ValidationError("--load-size and --crop-size must be 1...\(maxTrainingImageSide), got \(loadSize) and \(cropSize)")
        }
        if preprocess == .resizeAndCrop || preprocess == .scaleWidthAndCrop, loadSize < cropSize {
            throw ValidationError("--load-size (\(loadSize)) must be at least --crop-size (\(cropSize))")
        }
    }

    var augmentOptions: AugmentOptions {
        AugmentOptions(preprocess: preprocess, loadSize: loadSize, cropSize: cropSize, flip: !noFlip, filter: filter)
    }
}

/// Shows what training sees: runs the augmentation pipeline over a folder and writes the results.
struct AugmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment",
        abstract: "Write the augmented versions of a folder of images (what training sees).",
        discussion: "Subfolders are mirrored in the output; each image gives --count PNG files named NAME_K.png.")

    @Option(help: "Folder of images (searched recursively; files are recognized by content).")
    var input: String

    @Option(help: "Output folder.")
    var output: String

    @OptionGroup var preprocessing: PreprocessOptions

    @Option(help: "Augmented copies per image.")
    var count: Int = 1

    @Option(help: "Random seed: the same seed gives byte-identical output.")
    var seed: UInt64 = 0

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        let scan = try ImageFolder.scan(root: input)
        let report = FileReport()
        for s in scan.failed { report.failed(scan.root + "/" + s.relativePath, s.explanation) }
        let o = preprocessing.augmentOptions
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
