import ArgumentParser
import Foundation
import ImageIO
import Augment

/// The paper code's `datasets/combine_A_and_B.py`: pairs A/x and B/x into one A|B image.
struct Combine: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make an aligned (pix2pix) dataset: put A/x and B/x side by side as AB/x.",
        discussion: """
        Files are paired by their path relative to --fold-A and --fold-B (subfolders such as \
        train/ val/ test/ are kept). Both images of a pair must have the same size; the \
        output is written as PNG unless the A file is a JPEG.
        """)

    @Option(name: .customLong("fold-A"), help: "Folder of A images.")
    var foldA: String

    @Option(name: .customLong("fold-B"), help: "Folder of B images (same relative names).")
    var foldB: String

    @Option(name: .customLong("fold-AB"), help: "Output folder.")
    var foldAB: String

    func run() throws {
        let a = try ImageFolder.scan(root: foldA)
        let b = try ImageFolder.scan(root: foldB)
        let bNames = Set(b.images.map(\.relativePath))
        let report = FileReport()
        for (scan, s) in a.failed.map({ (a, $0) }) + b.failed.map({ (b, $0) }) {
            report.failed(scan.root + "/" + s.relativePath, s.explanation)
        }
        for entry in a.images {
            let rel = entry.relativePath
            guard bNames.contains(rel) else {
                report.failed(a.root + "/" + rel, "no B image with the same name in \(foldB)")
                continue
            }
            do {
                let pa = a.root + "/" + rel, pb = b.root + "/" + rel
                let ia = try readImage(at: pa).toRGB8(), ib = try readImage(at: pb).toRGB8()
                guard ia.width == ib.width, ia.height == ib.height else {
                    report.failed(pb, "is \(ib.width)x\(ib.height), its A twin \(ia.width)x\(ia.height)")
                    continue
                }
                let dst = try outputPath(root: foldAB, relative: rel, replacingExtensionWith: nil)
                try ensureParentDirectory(dst)
                try writeImage(Image.sideBySide(ia, ib), to: dst, format: entry.format)
                report.succeeded()
            } catch {
                report.failed(a.root + "/" + rel, "\(error)")
            }
        }
        try report.finish("pairs combined into \(foldAB)")
    }
}
