// The paper code's test.py: translate a dataset's test split with a trained run and write the
// results page (real / fake / reconstructed side by side), plus L1, PSNR and SSIM against the
// ground truth for paired data (metrics.json).
//
//   var o = TestOptions(model: "pix2pix", dataroot: "datasets/facades", name: "facades")
//   let result = try runTest(o, onFailure: { path, reason in print(path, reason) })
import Training
import Trainers
import _Files
import Foundation
import Augment
import Checkpoint
import Datasets
import ImageIO
import Models
import Reports
import Translation

public struct TestOptions: Sendable {
    /// cyclegan (testA through G_A and back, testB through G_B and back), pix2pix or colorization.
    public var model: String
    public var dataroot: String
    public var name: String
    public var checkpointsDir = "runs"
    public var resultsDir = "results"
    /// latest or epoch_<n>.
    public var epoch = "latest"
    public var phase = "test"
    /// pix2pix: which half of a pair is the input; cyclegan: BtoA runs testB through G_A and
    /// testA through G_B (a run trained with --direction BtoA), and `single` through G_B.
    public var direction = Direction.aToB
    /// nil: the model's own (cyclegan unaligned, pix2pix aligned, colorization colorization).
    public var datasetMode: TestDatasetMode?
    public var numTest = Int.max
    /// Batch norm on the running statistics (PyTorch eval()).
    public var eval = false
    /// The FID network, when its weights are there (nil: no FID/KID, said in the summary).
    public var fidExtractor: (@Sendable () throws -> any FeatureExtractor)? = nil
    /// Why there is no extractor (printed in its place), e.g. the weights are missing.
    public var fidUnavailable: String? = nil
    public var fidResize = FIDResize.legacy

    public init(model: String, dataroot: String, name: String) {
        self.model = model; self.dataroot = dataroot; self.name = name
    }

    public var outputFolder: String { resultsDir + "/" + name + "/test_" + TestOptions.checkpointLabel(epoch) }

    /// The checkpoint's label in file names from img2img's or the paper code's spelling of
    /// --epoch: "latest", "epoch_5", or the paper code's "5" (its 5_net_G.pth is our epoch_5).
    public static func checkpointLabel(_ epoch: String) -> String {
        !epoch.isEmpty && epoch.allSatisfy(\.isNumber) ? "epoch_" + epoch : epoch
    }

    /// The checkpoint labels a run folder holds for network `net` ("latest", "epoch_5", ...),
    /// latest first, then by epoch.
    public static func checkpoints(in run: String, net: String) -> [String] {
        let suffix = "_net_\(net).safetensors"
        let labels = ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [])
            .filter { $0.hasSuffix(suffix) && !$0.hasPrefix(".") }.map { String($0.dropLast(suffix.count)) }
        func order(_ l: String) -> Int { l == "latest" ? -1 : Int(l.dropFirst("epoch_".count)) ?? Int.max }
        return labels.sorted { (order($0), $0) < (order($1), $1) }
    }

}

public struct TestResult: Sendable {
    public var page: String
    public var images: Int
    public var failures: Int
    /// "L1 ..., PSNR ... dB, SSIM ... over N pairs" for paired data.
    public var summary: String?
    /// "FID fake_B vs testB: ..." lines, one per generated domain with a target to compare with.
    public var fid: [String] = []
    /// The same as values: FID_<fake> and KID_<fake> (KID's mean), FID first.
    public var fidValues: [(name: String, value: Double)] = []
}

/// metrics.json: per pair and mean; PSNR is null for identical images (infinite).
struct TestMetrics: Codable {
    struct Values: Codable { var l1: Double; var psnr: Double?; var ssim: Double }
    var pairs: Int
    var mean: Values
    var images: [String: Values]
}

public func runTest(_ o: TestOptions, onFailure: (String, String) -> Void) throws -> TestResult {
    guard let spec = ModelRegistry.model(named: o.model)?.test else {
        throw TrainingError.invalidOptions("test takes \(ModelRegistry.testable.map(\.name).joined(separator: ", ")), got \(o.model)")
    }
    let run = o.checkpointsDir + "/" + o.name
    let label = TestOptions.checkpointLabel(o.epoch)
    let mode = o.datasetMode ?? spec.datasetMode
    // Every generator the test needs exists before anything is written.
    let needed = mode == .unaligned && spec.cycle ? [spec.generator(.aToB), spec.generator(.bToA)] : [spec.generator(o.direction)]
    for net in needed where !FileManager.default.fileExists(atPath: run + "/\(label)_net_\(net).safetensors") {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: run, isDirectory: &isDir), isDir.boolValue else {
            let others = ((try? FileManager.default.contentsOfDirectory(atPath: o.checkpointsDir)) ?? [])
                .filter { FileManager.default.fileExists(atPath: o.checkpointsDir + "/" + $0 + "/options.json") }.sorted()
            throw TrainingError.invalidOptions("there is no run at \(run)"
                + (others.isEmpty ? "" : "; runs in \(o.checkpointsDir): \(others.prefix(12).joined(separator: ", "))"))
        }
        let have = TestOptions.checkpoints(in: run, net: net)
        throw TrainingError.invalidOptions("\(run) has no checkpoint '\(label)' of \(net) (\(label)_net_\(net).safetensors); "
            + (have.isEmpty ? "it holds no \(net) at all" : "it has " + have.joined(separator: ", ")
               + ": --epoch takes one of them, or the paper code's epoch number (--epoch 5 for epoch_5)"))
    }
    func layoutProblem(_ folder: String) -> TrainingError {
        let tree: [String]
        let r = o.dataroot.hasSuffix("/") ? o.dataroot : o.dataroot + "/"
        switch mode {
        case .unaligned: tree = ["\(r)\(o.phase)A/   images of domain A", "\(r)\(o.phase)B/   images of domain B",
                                 "(--phase picks the split; --dataset-mode single takes any folder of images)"]
        case .aligned: tree = ["\(r)\(o.phase)/    A|B pairs, each image twice as wide as high", "(--phase picks the split)",
                               "(--dataset-mode single takes any folder of images, without targets)"]
        case .single: tree = ["\(r)    any images (also in subfolders)", "", ""]
        case .colorization: tree = ["\(r)\(o.phase)/    colour photos", "(or the photos directly in \(r))", ""]
        }
        let found = DatasetFolderSummary(root: o.dataroot)
        return TrainingError.invalidOptions("\(folder): no such folder or no images in it\n\(o.model) test reads \(mode.rawValue) data:\n"
            + tree.filter { !$0.isEmpty }.map { "  " + $0 }.joined(separator: "\n") + "\n" + found.description
            + (!found.images.isEmpty && mode != .single ? "\nTo translate the images of a folder with \(needed[0]): --dataset-mode single" : ""))
    }
    func datasetFolders(_ mode: TestDatasetMode) -> [String] {
        switch mode {
        case .unaligned where !spec.cycle: return [o.dataroot + "/" + o.phase + (o.direction == .aToB ? "A" : "B")]
        case .unaligned: return [o.dataroot + "/" + o.phase + "A", o.dataroot + "/" + o.phase + "B"]
        case .aligned: return [o.dataroot + "/" + o.phase]
        case .single: return [o.dataroot]
        case .colorization: return [colorizationFolder(o.dataroot, phase: o.phase)]
        }
    }
    for folder in datasetFolders(mode) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else { throw layoutProblem(folder) }
    }
    let out = o.outputFolder
    try FileManager.default.createDirectory(atPath: out + "/images", withIntermediateDirectories: true)
    func generator(_ net: String) throws -> GeneratorTranslator {
        let (g, cfg) = try loadTranslator(path: run + "/\(label)_net_\(net).safetensors")
        g.testMode(runningStatistics: o.eval)
        return GeneratorTranslator(g, config: cfg)
    }
    var rows: [ImageTableRow] = []
    var metrics: [String: TestMetrics.Values] = [:]
    var failures = 0
    func save(_ img: Image, _ file: String, _ caption: String) throws -> SampleImage {
        try writeImage(img, to: out + "/images/" + file, format: .png)
        return SampleImage(caption: caption, path: "images/" + file)
    }
    func stem(_ path: String) -> String {
        ((path as NSString).deletingPathExtension).replacingOccurrences(of: "/", with: "_")
    }
    func each(_ folder: String, _ body: (String, Int, String) throws -> Void) throws {
        guard let scan = try? ImageFolder.scan(root: folder), !(scan.images.isEmpty && scan.failed.isEmpty) else {
            throw layoutProblem(folder)
        }
        for s in scan.failed {  // notes.png holding text, an empty photo.jpg, an unreadable file
            failures += 1
            onFailure(folder + "/" + s.relativePath,
                      (s.claimsImage ? "named as an image but not one: " : "") + (s.message.isEmpty ? s.reason.rawValue : s.message))
        }
        for (i, e) in scan.images.prefix(o.numTest).enumerated() {
            let path = scan.path(of: e)
            do { try body(path, i, stem(e.relativePath)) } catch {
                failures += 1
                onFailure(path, "\(error)")
            }
        }
    }

    /// The generator that maps the inputs: G, or G_A / G_B of a cyclegan by direction.
    func mainGenerator() throws -> GeneratorTranslator {
        try generator(spec.generator(o.direction))
    }
    func compare(_ fake: Image, _ b: Image, _ s: String) {
        let psnr = ImageMetrics.psnr(fake, b)
        metrics[s] = .init(l1: ImageMetrics.l1(fake, b), psnr: psnr.isFinite ? psnr : nil, ssim: ImageMetrics.ssim(fake, b))
    }
    func sameSize(_ img: Image, as ref: Image) -> Image {
        img.width == ref.width && img.height == ref.height ? img : img.resized(width: ref.width, height: ref.height, filter: .bicubic)
    }

    switch mode {
    case .unaligned where !spec.cycle:
        // One generator (CUT's test): test<A> through G, shown beside a B image for reference.
        let g = try mainGenerator()
        let (first, second) = o.direction == .aToB ? ("A", "B") : ("B", "A")
        let references = (try? ImageFolder.scan(root: o.dataroot + "/" + o.phase + second)).map { scan in
            scan.images.map { scan.path(of: $0) }
        } ?? []
        try each(o.dataroot + "/" + o.phase + first) { path, i, s in
            let real = try readImage(at: path).toRGB8()
            let fake = try translateImage(real, with: g, index: i)
            var cells = [try save(real, "\(s)_real_A.png", "real_A"), try save(fake, "\(s)_fake_B.png", "fake_B")]
            if !references.isEmpty, let b = try? readImage(at: references[i % references.count]).toRGB8() {
                cells.append(try save(b, "\(s)_real_B.png", "real_B"))
            }
            rows.append(ImageTableRow(label: s, cells: cells))
        }
    case .unaligned:
        let gA = try generator(spec.generator(.aToB)), gB = try generator(spec.generator(.bToA))
        // A run trained with --direction BtoA has G_A mapping the B folder.
        let (first, second) = o.direction == .aToB ? ("A", "B") : ("B", "A")
        // Images are named by role, as the paper code's visuals: real_A is G_A's input.
        for (folder, role, fwd, back, fake, rec) in [(first, "A", gA, gB, "fake_B", "rec_A"), (second, "B", gB, gA, "fake_A", "rec_B")] {
            try each(o.dataroot + "/" + o.phase + folder) { path, i, s in
                let real = try readImage(at: path).toRGB8()
                let f = try translateImage(real, with: fwd, index: i)
                let r = try translateImage(f, with: back, index: i)
                rows.append(ImageTableRow(label: s, cells: [try save(real, "\(s)_real_\(role).png", "real_\(role)"),
                                                            try save(f, "\(s)_\(fake).png", fake),
                                                            try save(r, "\(s)_\(rec).png", rec)]))
            }
        }
    case .aligned:
        let g = try mainGenerator()
        try each(o.dataroot + "/" + o.phase) { path, i, s in
            let ab = try readImage(at: path).toRGB8()
            guard ab.width >= 2 else { throw DatasetError(path: path, reason: "too narrow to hold an A|B pair") }
            let (l, r) = ab.splitHorizontally()
            let (a, b) = o.direction == .aToB ? (l, r) : (r, l)
            let fake = sameSize(try translateImage(a, with: g, index: i).toRGB8(), as: b)
            compare(fake, b, s)
            rows.append(ImageTableRow(label: s, cells: [try save(a, "\(s)_real_A.png", "real_A"),
                                                        try save(fake, "\(s)_fake_B.png", "fake_B"),
                                                        try save(b, "\(s)_real_B.png", "real_B")]))
        }
    case .single:
        let g = try mainGenerator()
        try each(o.dataroot) { path, i, s in
            let real = try readImage(at: path).toRGB8()
            let fake = try translateImage(real, with: g, index: i)
            rows.append(ImageTableRow(label: s, cells: [try save(real, "\(s)_real.png", "real"),
                                                        try save(fake, "\(s)_fake.png", "fake")]))
        }
    case .colorization:
        let g = try mainGenerator()
        guard g.colorization else {
            throw TrainingError.invalidOptions("--dataset-mode colorization needs a colorization model; \(o.name)'s G is not one")
        }
        try each(colorizationFolder(o.dataroot, phase: o.phase)) { path, i, s in
            let photo = try readImage(at: path).toRGB8()
            let gray = photo.toGray8()
            let fake = sameSize(try translateImage(photo, with: g, index: i).toRGB8(), as: photo)
            compare(fake, photo, s)
            rows.append(ImageTableRow(label: s, cells: [try save(gray, "\(s)_real_A.png", "real_A"),
                                                        try save(fake, "\(s)_fake_B_rgb.png", "fake_B_rgb"),
                                                        try save(photo, "\(s)_real_B_rgb.png", "real_B_rgb")]))
        }
    }

    var summary: String? = nil
    if !metrics.isEmpty {
        let v = Array(metrics.values), n = Double(v.count)
        let finite = v.compactMap(\.psnr)
        let mean = TestMetrics.Values(l1: v.map(\.l1).reduce(0, +) / n,
                                      psnr: finite.isEmpty ? nil : finite.reduce(0, +) / Double(finite.count),
                                      ssim: v.map(\.ssim).reduce(0, +) / n)
        let psnr = mean.psnr.map { String(format: "%.2f", $0) } ?? "inf"
        summary = String(format: "L1 %.4f, ", mean.l1) + "PSNR \(psnr) dB, "
            + String(format: "SSIM %.4f over %d pairs", mean.ssim, v.count)
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try e.encode(TestMetrics(pairs: v.count, mean: mean, images: metrics))),
                             to: out + "/metrics.json")
    }
    // FID/KID of each generated domain against its target: the other test folder (unpaired), or
    // the real halves (pairs) and photos (colorization).
    func files(_ caption: String) -> [String] {
        rows.flatMap { $0.cells.filter { $0.caption == caption }.map { out + "/" + $0.path } }
    }
    var comparisons: [(label: String, fakes: [String], target: String, targetFiles: [String]?)] = []
    let (first, second) = o.direction == .aToB ? ("A", "B") : ("B", "A")
    switch mode {
    case .unaligned where spec.cycle:
        comparisons = [("fake_B", files("fake_B"), o.dataroot + "/" + o.phase + second, nil),
                       ("fake_A", files("fake_A"), o.dataroot + "/" + o.phase + first, nil)]
    case .unaligned: comparisons = [("fake_B", files("fake_B"), o.dataroot + "/" + o.phase + second, nil)]
    case .aligned: comparisons = [("fake_B", files("fake_B"), "real_B", files("real_B"))]
    case .colorization: comparisons = [("fake_B_rgb", files("fake_B_rgb"), "the photos", files("real_B_rgb"))]
    case .single: comparisons = []
    }
    var fidLines: [String] = []
    var fidValues: [(name: String, value: Double)] = []
    if !comparisons.isEmpty {
        if let make = o.fidExtractor {
            let extractor = try make()
            var fo = FIDOptions()
            fo.resize = o.fidResize
            for c in comparisons where c.fakes.count >= 2 {
                var isDir: ObjCBool = false
                if c.targetFiles == nil && !(FileManager.default.fileExists(atPath: c.target, isDirectory: &isDir) && isDir.boolValue) {
                    continue  // no target folder: nothing to compare with
                }
                let fake = try imageFeatures(c.fakes, label: c.label, extractor: extractor, options: fo)
                let real = try c.targetFiles.map { try imageFeatures($0, label: c.target, extractor: extractor, options: fo) }
                    ?? folderFeatures(c.target, extractor: extractor, options: fo)
                let fid = try frechetDistance(fake.statistics, real.statistics)
                fidValues.insert(("FID_" + c.label, fid), at: fidValues.filter { $0.name.hasPrefix("FID_") }.count)
                var line = String(format: "FID %@ vs %@: %.3f", c.label, c.target, fid)
                if let a = fake.features, let b = real.features {
                    let kid = kernelInceptionDistance(a, b, subsets: 100, subsetSize: 1000)
                    line += String(format: ", KID %.5f ± %.5f", kid.mean, kid.std)
                    fidValues.append(("KID_" + c.label, kid.mean))
                }
                fidLines.append(line + " (\(fake.count) vs \(real.count) images, \(o.fidResize.rawValue) resize)")
            }
        } else if let why = o.fidUnavailable {
            fidLines.append("FID/KID: not computed (\(why))")
        }
    }
    let page = out + "/index.html"
    let title = "\(o.name): \(o.model), " + (mode == .single ? "\(o.dataroot)" : "\(o.phase) split") + ", checkpoint \(o.epoch)"
    let lines = (summary.map { [$0 + " (L1 on [0, 1]; PSNR averaged over pairs that differ)"] } ?? []) + fidLines
    let html = ImageTablePage.html(title: title, summary: lines.isEmpty ? nil : lines.joined(separator: "; "), rows: rows)
    try AtomicFile.write(Array(html.utf8), to: page)
    return TestResult(page: page, images: rows.count, failures: failures, summary: summary, fid: fidLines, fidValues: fidValues)
}
