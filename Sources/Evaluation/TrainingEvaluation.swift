// What `train --eval-freq N` measures every N epochs, for every model:
//   - translation models (pix2pix, cyclegan, cut, colorization, ...): the held-out split
//     (--eval-dataroot, else --dataroot: testA/testB or test) through `runTest` with the epoch's
//     `latest` networks; values FID_<fake>, KID_<fake> (FID first).
//   - cgan: for each class of the model with a folder under --eval-dataroot (labeled folders as
//     in training), min(--eval-images, that folder's images) samples of the label against that
//     folder's images: FID_<class>; and all samples against all those real images: FID and KID
//     (overall, first, so best_net_* follows the overall FID).
//   - dcgan: min(--eval-images, the folder's images) samples against --eval-dataroot: FID, KID.
// Samples come from a fixed noise seed, so evaluations differ only by the networks. The real
// images' statistics are computed once per run and kept.
import Foundation
import ImageIO
import Models
import Training
import Translation

public enum TrainingEvaluationError: Error, CustomStringConvertible {
    case needsHeldOutData(String)
    case noClassFolders(String, [String])
    case noHeldOutSplit(String)
    case noSuchFolder(String)

    public var description: String {
        switch self {
        case .needsHeldOutData(let model):
            return "--eval-freq with \(model) needs --eval-dataroot: "
                + (model == "cgan" ? "held-out labeled folders (DIR/<class>/ images, the classes as in training)"
                                   : "a folder of held-out images")
        case .noSuchFolder(let path):
            return "--eval-dataroot \(path): no such folder"
        case .noHeldOutSplit(let root):
            return "--eval-freq: \(root) has no held-out split (test/, testA/ or testB/); give one with --eval-dataroot"
        case .noClassFolders(let root, let classes):
            return "\(root): no folder of held-out images for any of the model's classes (\(classes.prefix(12).joined(separator: ", ")))"
        }
    }
}

/// Why --eval-freq cannot evaluate with these options (nil: it can): checked before the FID network
/// loads and before anything trains, so a run of hours does not stop at its first evaluation.
public func evaluationDataProblem(_ o: TrainOptions) -> TrainingEvaluationError? {
    let heldOut = o.evalDataroot
    var isDir: ObjCBool = false
    if !heldOut.isEmpty && !(FileManager.default.fileExists(atPath: heldOut, isDirectory: &isDir) && isDir.boolValue) {
        return .noSuchFolder(heldOut)
    }
    if ["cgan", "dcgan"].contains(o.model) {
        return heldOut.isEmpty ? .needsHeldOutData(o.model) : nil
    }
    let root = heldOut.isEmpty ? o.dataroot : heldOut
    guard ["test", "testA", "testB"].contains(where: { FileManager.default.isReadableFile(atPath: root + "/" + $0) }) else {
        return .noHeldOutSplit(root)
    }
    return nil
}

/// The `evaluate` hook of a TrainingRun: FID/KID of the epoch's networks (see the file comment),
/// with `extractor` (the FID Inception; tests pass a small stand-in). Throws
/// `evaluationDataProblem`'s error when there is one.
public func trainingEvaluation(_ o: TrainOptions, extractor: any FeatureExtractor, resize: FIDResize = .legacy,
                               onFailure: @escaping (String, String) -> Void) throws -> (Int) throws -> [(name: String, value: Double)] {
    if let problem = evaluationDataProblem(o) { throw problem }
    var fo = FIDOptions()
    fo.resize = resize
    let heldOut = o.evalDataroot
    switch o.model {
    case "cgan", "dcgan":
        var realCache: [String: FolderFeatures] = [:]
        return { _ in
            try generatorFID(generator: o.directory + "/latest_net_G.safetensors", heldOut: heldOut,
                             imagesPerClass: o.evalImages, extractor: extractor, options: fo, realCache: &realCache,
                             onFailure: onFailure)
        }
    default:
        let root = heldOut.isEmpty ? o.dataroot : heldOut
        return { _ in
            var t = TestOptions(model: o.model, dataroot: root, name: o.name)
            t.checkpointsDir = o.checkpointsDir
            t.resultsDir = o.directory + "/eval"
            t.epoch = "latest"
            t.numTest = o.evalImages
            t.direction = o.direction
            t.fidResize = resize
            t.fidExtractor = { extractor }
            return try runTest(t, onFailure: onFailure).fidValues
        }
    }
}

/// FID/KID of a cgan or dcgan generator's samples against held-out real images: overall FID and
/// KID first, then (cgan) FID_<class> per class. `realCache` keeps the real images' features
/// between calls (keyed by folder).
public func generatorFID(generator path: String, heldOut: String, imagesPerClass cap: Int, extractor: any FeatureExtractor,
                         options: FIDOptions, realCache: inout [String: FolderFeatures], seed: UInt64 = 0,
                         onFailure: (String, String) -> Void = { _, _ in }) throws -> [(name: String, value: Double)] {
    // The labels and their folders: every class of the model that has held-out images (cgan), or
    // the one folder (dcgan: GeneratedImages names its one row "sample").
    let probe = try GeneratedImages.make(model: path, labels: [], count: 1, seed: seed)
    let conditional = probe.conditional
    var folders: [(label: String, folder: String)] = []
    if conditional {
        for l in probe.labels {
            var isDir: ObjCBool = false
            let f = heldOut + "/" + l
            if FileManager.default.fileExists(atPath: f, isDirectory: &isDir), isDir.boolValue { folders.append((l, f)) }
        }
        guard !folders.isEmpty else { throw TrainingEvaluationError.noClassFolders(heldOut, probe.labels) }
    } else {
        folders = [("", heldOut)]
    }
    let all = FeatureAccumulator(dimension: extractor.dimension), allReal = FeatureAccumulator(dimension: extractor.dimension)
    let fakeKept = FeatureRows(dimension: extractor.dimension), realKept = FeatureRows(dimension: extractor.dimension)
    var perClass: [(name: String, value: Double)] = []
    for (k, c) in folders.enumerated() {
        let real: FolderFeatures
        if let r = realCache[c.folder] {
            real = r
        } else {
            let scan = try ImageFolder.scan(root: c.folder)
            let paths = scan.images.prefix(cap).map { scan.path(of: $0) }
            real = try imageFeatures(Array(paths), label: c.folder, extractor: extractor, options: options, onFailure: onFailure)
            realCache[c.folder] = real
        }
        // As many samples as real images; generated in chunks so memory holds one chunk.
        let n = real.count, chunk = 256
        var current: (start: Int, images: [Image]) = (-1, [])
        let fake = try imageFeatures(count: n, label: c.label.isEmpty ? "samples" : "samples of \(c.label)",
                                     extractor: extractor, options: options) { i in
            let start = i / chunk * chunk
            if current.start != start {
                // A different seed per class and chunk: the samples of one label are independent draws.
                let s = seed &+ UInt64(k) &* 1_000_003 &+ UInt64(start)
                current = (start, try GeneratedImages.make(model: path, labels: c.label.isEmpty ? [] : [c.label],
                                                           count: min(chunk, n - start), seed: s).images)
            }
            return current.images[i - start].toRGB8()
        }
        if conditional { perClass.append(("FID_" + c.label, try frechetDistance(fake.statistics, real.statistics))) }
        all.merge(fake.statistics); allReal.merge(real.statistics)
        if let f = fake.features, let r = real.features {
            try fakeKept.append(contentsOf: f); try realKept.append(contentsOf: r)
        }
    }
    let fid = try frechetDistance(try all.statistics(), try allReal.statistics())
    let kid = kernelInceptionDistance(fakeKept, realKept)
    return [("FID", fid), ("KID", kid.mean)] + perClass
}
