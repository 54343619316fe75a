import ImageIO
import Augment

/// The paper code's `unaligned` layout: `<root>/<phase>A` and `<root>/<phase>B`, unpaired.
/// An epoch is as long as the larger domain; A is taken in order (wrapping), B is drawn at
/// random for each item unless `serial` is set (then B wraps in order too), and each side
/// gets its own crop and flip, as in the paper code. `direction` BtoA swaps the folders (the
/// paper code swaps A and B in the model): A items come from `<phase>B`.
public struct UnalignedDataset: ImageDataset {
    public let pathsA: [String]
    public let pathsB: [String]
    public let options: AugmentOptions
    public let channelsA: Int
    public let channelsB: Int
    public let serial: Bool
    public let skipped: [SkippedFile]

    public init(root: String, phase: String = "train", options: AugmentOptions = AugmentOptions(),
                channelsA: Int = 3, channelsB: Int = 3, serial: Bool = false, direction: Direction = .aToB) throws {
        let (sideA, sideB) = direction == .aToB ? ("A", "B") : ("B", "A")
        let a = try scanImages(root + "/" + phase + sideA)
        let b = try scanImages(root + "/" + phase + sideB)
        self.pathsA = a.files
        self.pathsB = b.files
        self.skipped = a.skipped + b.skipped
        self.options = options
        self.channelsA = channelsA
        self.channelsB = channelsB
        self.serial = serial
    }

    public var count: Int { max(pathsA.count, pathsB.count) }

    public func sample(at index: Int, using rng: inout SeededGenerator) throws -> Sample {
        let pa = pathsA[index % pathsA.count]
        let pb = serial ? pathsB[index % pathsB.count] : pathsB[Int.random(in: 0..<pathsB.count, using: &rng)]
        let imgA = try loadImage(pa, channels: channelsA)
        let imgB = try loadImage(pb, channels: channelsB)
        let paramsA = AugmentParams.sample(options: options, width: imgA.width, height: imgA.height, using: &rng)
        let paramsB = AugmentParams.sample(options: options, width: imgB.width, height: imgB.height, using: &rng)
        return Sample(a: paramsA.apply(to: imgA, options: options), b: paramsB.apply(to: imgB, options: options),
                      pathA: pa, pathB: pb)
    }

    public func plannedSizes() -> [PlannedSize] {
        Datasets.plannedSizes(pathsA, side: "A", options) + Datasets.plannedSizes(pathsB, side: "B", options)
    }
}

/// The paper code's `aligned` layout: `<root>/<phase>/*` holds A and B side by side in one
/// image, split in the middle. Both halves get the same crop and flip.
public struct AlignedDataset: ImageDataset {
    public let paths: [String]
    public let options: AugmentOptions
    public let direction: Direction
    public let channelsA: Int
    public let channelsB: Int
    public let skipped: [SkippedFile]

    /// `channelsA` is the input's count (the paper code's input_nc), `channelsB` the output's.
    public init(root: String, phase: String = "train", options: AugmentOptions = AugmentOptions(),
                direction: Direction = .aToB, channelsA: Int = 3, channelsB: Int = 3) throws {
        guard options.loadSize >= options.cropSize else {  // the paper code's assert, as an error
            throw DatasetError(path: root, reason: "load size \(options.loadSize) must be at least the crop size \(options.cropSize)")
        }
        let s = try scanImages(root + "/" + phase)
        self.paths = s.files
        self.skipped = s.skipped
        self.options = options
        self.direction = direction
        self.channelsA = channelsA
        self.channelsB = channelsB
    }

    public var count: Int { paths.count }

    public func sample(at index: Int, using rng: inout SeededGenerator) throws -> Sample {
        let path = paths[index]
        let ab = try decode(path)
        guard ab.width >= 2 else { throw DatasetError(path: path, reason: "too narrow to hold an A|B pair") }
        let (left, right) = ab.splitHorizontally()
        let (inImg, outImg) = direction == .aToB ? (left, right) : (right, left)
        let params = AugmentParams.sample(options: options, width: inImg.width, height: inImg.height, using: &rng)
        let a = params.apply(to: adaptChannels(inImg, to: channelsA), options: options)
        let b = params.apply(to: adaptChannels(outImg, to: channelsB), options: options)
        return Sample(a: a, b: b, pathA: path, pathB: path)
    }

    public func plannedSizes() -> [PlannedSize] {
        Datasets.plannedSizes(paths, side: "A|B", options, halves: true)
    }
}

/// The paper code's `single` layout: one folder, A only (for translating with one generator).
public struct SingleDataset: ImageDataset {
    public let paths: [String]
    public let options: AugmentOptions
    public let channelsA: Int
    public let skipped: [SkippedFile]

    public init(root: String, options: AugmentOptions = AugmentOptions(preprocess: .none, flip: false),
                channels: Int = 3) throws {
        let s = try scanImages(root)
        self.paths = s.files
        self.skipped = s.skipped
        self.options = options
        self.channelsA = channels
    }

    public var count: Int { paths.count }
    public var channelsB: Int { 0 }

    public func sample(at index: Int, using rng: inout SeededGenerator) throws -> Sample {
        let img = try loadImage(paths[index], channels: channelsA)
        let params = AugmentParams.sample(options: options, width: img.width, height: img.height, using: &rng)
        return Sample(a: params.apply(to: img, options: options), pathA: paths[index])
    }

    public func plannedSizes() -> [PlannedSize] { Datasets.plannedSizes(paths, side: "A", options) }
}

/// One subfolder per class (`<root>/<class>/*`), for generation from labels. Classes are the
/// subfolder names in sorted order; label i is `classes[i]`.
public struct LabeledDataset: ImageDataset {
    public let classes: [String]
    public let paths: [String]
    public let labels: [Int]
    public let options: AugmentOptions
    public let channelsA: Int
    public let skipped: [SkippedFile]

    public init(root: String, options: AugmentOptions, channels: Int = 3) throws {
        let scan = try ImageFolder.scan(root: root)
        var byClass: [String: [String]] = [:]
        var skipped = skippedFiles(scan)
        for entry in scan.images {
            let rel = entry.relativePath
            guard let slash = rel.firstIndex(of: "/") else {
                skipped.append(SkippedFile(path: scan.path(of: entry), reason: "image outside any class folder"))
                continue
            }
            byClass[String(rel[..<slash]), default: []].append(scan.path(of: entry))
        }
        guard !byClass.isEmpty else {
            throw DatasetError(path: root, reason: "no class subfolders with images")
        }
        let classes = byClass.keys.sorted()
        var paths: [String] = [], labels: [Int] = []
        for (i, c) in classes.enumerated() {
            for p in byClass[c]! {
                paths.append(p)
                labels.append(i)
            }
        }
        self.classes = classes
        self.paths = paths
        self.labels = labels
        self.skipped = skipped
        self.options = options
        self.channelsA = channels
    }

    public var count: Int { paths.count }
    public var channelsB: Int { 0 }

    public func sample(at index: Int, using rng: inout SeededGenerator) throws -> Sample {
        let img = try loadImage(paths[index], channels: channelsA)
        let params = AugmentParams.sample(options: options, width: img.width, height: img.height, using: &rng)
        return Sample(a: params.apply(to: img, options: options), pathA: paths[index], label: labels[index])
    }

    public func plannedSizes() -> [PlannedSize] { Datasets.plannedSizes(paths, side: "A", options) }
}
