// Images from a label-conditional GAN (or an unconditional DCGAN): `img2img generate`.
//
//   let g = try GeneratedImages.make(model: "runs/mnist/latest_net_G.safetensors", labels: ["sneaker"], count: 8)
//   try g.write(to: "out", grid: true)
import Foundation
import Augment
import Autograd
import ImageIO
import Models
import TensorCore

public struct GenerationError: Error, CustomStringConvertible {
    public let description: String
}

public struct GeneratedImages {
    /// The label names, one per row.
    public var labels: [String]
    /// `count` images per label, label-major.
    public var images: [Image]
    public var count: Int
    /// A label-conditional generator (cgan); false for a DCGAN (one row, "sample").
    public var conditional = true

    /// The most images per label (all of them are held in memory before writing).
    public static let maxCount = 4096

    /// `count` images for each label (class names or indices; all classes when `labels` is
    /// empty), from noise drawn from `seed`.
    public static func make(model path: String, labels requested: [String], count: Int, seed: UInt64) throws -> GeneratedImages {
        guard (1...maxCount).contains(count) else {
            throw GenerationError(description: "the image count must be 1...\(maxCount), got \(count)")
        }
        let m = try loadNetwork(path: path, select: .translator(reverse: false))
        let cfg = m.config
        let labels: [Int]
        let names: [String]
        switch cfg.kind {
        case .cganGenerator:
            let all = Array(0..<cfg.numClasses)
            labels = try requested.isEmpty ? all : requested.map { l in
                if let i = m.classes?.firstIndex(of: l) { return i }
                if let i = Int(l), all.contains(i) { return i }
                throw GenerationError(description: "unknown label '\(l)': the model's classes are "
                                      + (m.classes?.joined(separator: ", ") ?? "0..<\(cfg.numClasses)"))
            }
            names = labels.map { i -> String in
                guard let c = m.classes, i < c.count else { return String(i) }
                return c[i]
            }
        case .dcganGenerator:
            guard requested.isEmpty else { throw GenerationError(description: "\(path) is an unconditional DCGAN: it takes no label") }
            labels = [0]
            names = ["sample"]
        default:
            throw GenerationError(description: "\(path) holds a \(cfg.kind.rawValue), not a cgan or dcgan generator")
        }
        var noise = SplitMix64(seed: seed)
        let n = labels.count * count
        let z = Variable(Tensor(randomNormal: [n, 1, 1, cfg.nz], using: &noise))
        let perImage = labels.flatMap { Array(repeating: $0, count: count) }
        let out: Tensor = withNoGrad {
            if let g = m.module as? ConditionalGenerator { return g(z, labels: perImage).value }
            return m.layer!(z).value
        }
        return GeneratedImages(labels: names, images: (0..<n).map { image(of: out, item: $0) }, count: count,
                               conditional: cfg.kind == .cganGenerator)
    }

    /// The files `write(to:grid:)` writes: LABEL_K.png per image, or grid.png.
    public func paths(in folder: String, grid: Bool) -> [String] {
        if grid { return [folder + "/grid.png"] }
        return images.indices.map { i in
            folder + "/\(labels[i / count].replacingOccurrences(of: "/", with: "_"))_\(i % count).png"
        }
    }

    /// Writes LABEL_K.png per image, or one grid.png (a row per label). Returns the paths written.
    /// Unless `overwrite`, nothing is written when any of those files exists (the error names
    /// them): an earlier run's images are not replaced one by one without a word.
    @discardableResult
    public func write(to folder: String, grid: Bool, overwrite: Bool = false) throws -> [String] {
        let paths = paths(in: folder, grid: grid)
        if !overwrite {
            let existing = paths.filter { FileManager.default.fileExists(atPath: $0) }
            if !existing.isEmpty {
                throw GenerationError(description: "\(existing[0]) exists"
                                      + (existing.count > 1 ? " (and \(existing.count - 1) more of the files this run writes)" : "")
                                      + ": not replaced (--overwrite replaces them)")
            }
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if grid {
            try writeImage(Image.grid(images.map { $0.toRGB8() }, columns: count), to: paths[0], format: .png)
            return paths
        }
        for (img, path) in zip(images, paths) { try writeImage(img, to: path, format: .png) }
        return paths
    }
}

/// Item `item` of an [N,H,W,C] tensor in [-1, 1] as an 8-bit image.
public func image(of t: Tensor, item: Int) -> Image {
    let (h, w, c) = (t.shape[1], t.shape[2], t.shape[3])
    let per = h * w * c
    return t.withUnsafeBufferPointer { b in
        Normalization.toImage8(UnsafeBufferPointer(rebasing: b[(item * per)..<((item + 1) * per)]), width: w, height: h,
                               channels: c, quantization: .round)
    }
}
