import ArgumentParser
import Foundation
import Evaluation
import Models
import _Files

extension FIDResize: ExpressibleByArgument {}

/// `img2img fid A B`: FID and KID between two image folders (or a folder and saved statistics),
/// as pytorch-fid, clean-fid and torch-fidelity compute them, on img2img's engine.
struct FIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fid",
        abstract: "FID and KID between two image folders, or a folder and saved statistics (.npz).",
        discussion: """
        Each side is a folder of images (recursively, any size, PNG/JPEG; gray promoted to RGB; \
        files that fail are named and skipped, as translate does) or pytorch-fid's statistics file \
        (.npz with mu and sigma, as its --save-stats writes). The features are the 2048-d pool3 of \
        the FID Inception (pytorch-fid's network, the 2015-12-05 weights), float32, on img2img's \
        engine; FID in float64 with LAPACK.

        --resize legacy (default: pytorch-fid's bilinear resize to 299, as the CUT paper's numbers) \
        or clean (clean-fid's antialiased bicubic). KID is torch-fidelity's estimator (cubic \
        polynomial kernel, --kid-subsets subsets of --kid-subset-size images, mean and std); it \
        needs two folders.

        --save-stats FOLDER OUT.npz writes a folder's statistics in pytorch-fid's layout.

        The weights (about 92 MB) are not in git: models/download_fid_weights.sh fetches them into \
        \(FIDInceptionV3.cacheDirectory) (the first use converts them into \
        \((FIDInceptionV3.convertedWeightsPath as NSString).lastPathComponent)), or set IMG2IMG_FID_WEIGHTS.

        Exit status: 0, 3 when some files failed (named on stderr), 64 for a usage error, 1 otherwise.
        """)

    @Argument(help: "A folder of images, or a .npz of statistics.")
    var first: String
    @Argument(help: "The other folder or .npz (with --save-stats: the .npz to write).")
    var second: String

    @Flag(help: "Write FIRST's statistics to SECOND (pytorch-fid's --save-stats).")
    var saveStats = false
    @Option(help: "legacy (pytorch-fid) | clean (clean-fid)")
    var resize: FIDResize = .legacy
    @Option(help: "Images per batch through the network.")
    var batchSize: Int = FIDOptions().batchSize
    @Option(help: "KID: subsets drawn from each folder.")
    var kidSubsets: Int = 100
    @Option(help: "KID: images per subset (at most the smaller folder's count).")
    var kidSubsetSize: Int = 1000
    @Option(help: "The weights: safetensors, pytorch-fid's .pth or the TorchScript default_1.pt (default: IMG2IMG_FID_WEIGHTS, else \(FIDInceptionV3.cacheDirectory)).")
    var weights: String?
    @Option(help: "The network's input side: 299 as pytorch-fid, clean-fid and torch-fidelity; other sizes (75 or more) only for quick looks, not comparable with published FIDs.")
    var imageSize: Int = 299
    @Flag(help: "Print one JSON object instead of text.")
    var json = false
    @Flag(help: "Replace the .npz of --save-stats if it exists.")
    var overwrite = false
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard (75...1024).contains(imageSize) else { throw ValidationError("--image-size must be 75...1024 (299 for comparable numbers)") }
        guard batchSize >= 1, batchSize <= 256 else { throw ValidationError("--batch-size must be 1...256") }
        guard kidSubsets >= 1, kidSubsetSize >= 2 else { throw ValidationError("--kid-subsets must be at least 1 and --kid-subset-size at least 2") }
        if saveStats {
            guard second.hasSuffix(".npz") else { throw ValidationError("--save-stats writes a .npz: give OUT.npz as the second argument") }
            if FileManager.default.fileExists(atPath: second) && !overwrite {
                throw ValidationError("\(second) exists: not replaced (--overwrite replaces it)")
            }
        }
        for p in saveStats ? [first] : [first, second] where !FileManager.default.fileExists(atPath: p) {
            throw ValidationError("\(p): no such folder or file")
        }
    }

    func run() throws {
        engine.apply()
        let extractor = try FIDWeights.extractor(path: weights, side: imageSize)
        var o = FIDOptions()
        o.resize = resize; o.batchSize = batchSize
        var failed = 0
        func side(_ p: String, keep: Bool) throws -> (stats: FeatureStatistics, features: FolderFeatures?) {
            if p.hasSuffix(".npz") && !FileManager.default.isDirectory(p) {
                return (try FeatureStatistics.read(npz: p), nil)
            }
            var opts = o
            opts.keepFeatures = keep
            let progress = ProgressDisplay(label: "img", quiet: json)
            let started = Date()
            let f = try folderFeatures(p, extractor: extractor, options: opts, onFailure: { path, why in
                progress.message("img2img: \(skippedFileMessage(path: path, reason: why))")
            }, onProgress: { done, total in
                progress.update(done: done, total: total, rate: Double(done) / max(Date().timeIntervalSince(started), 1e-9), extra: p)
            })
            progress.finish()
            failed += f.failures
            return (f.statistics, f)
        }
        if saveStats {
            let a = try side(first, keep: false)
            try a.stats.write(npz: second)
            print(json ? "{\"saved\": \"\(second)\", \"images\": \(a.features?.count ?? 0)}" : "wrote \(second): statistics of \(a.features?.count ?? 0) images")
        } else {
            let bothFolders = !first.hasSuffix(".npz") && !second.hasSuffix(".npz")
            let a = try side(first, keep: bothFolders), b = try side(second, keep: bothFolders)
            let fid = try frechetDistance(a.stats, b.stats)
            var kid: (mean: Double, std: Double)? = nil
            if let fa = a.features, let fb = b.features, let xa = fa.features, let xb = fb.features {
                kid = kernelInceptionDistance(xa, xb, subsets: kidSubsets, subsetSize: kidSubsetSize)
            }
            if json {
                var obj: [String: Any] = ["fid": fid, "resize": resize.rawValue, "failed_files": failed]
                if let fa = a.features { obj["images_first"] = fa.count }
                if let fb = b.features { obj["images_second"] = fb.count }
                if let kid { obj["kid_mean"] = kid.mean; obj["kid_std"] = kid.std }
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                // Rounding leaves FID(X, X) a hair below 0 (-1e-13); "-0.0000" would only puzzle. Small
                // values (a random network, near-identical folders) keep their digits.
                let shown = abs(fid) < 1e-9 ? "0" : abs(fid) < 0.01 ? String(format: "%.4e", fid) : String(format: "%.4f", fid)
                print("FID: \(shown) (\(resize.rawValue) resize)")
                if let kid { print(String(format: "KID: %.6f ± %.6f", kid.mean, kid.std)) }
                else { print("KID: needs two folders of images (a .npz holds no features)") }
            }
        }
        if failed > 0 { throw ExitCode(ExitStatus.someFilesFailed.rawValue) }
    }
}

extension FileManager {
    func isDirectory(_ p: String) -> Bool {
        var d: ObjCBool = false
        return fileExists(atPath: p, isDirectory: &d) && d.boolValue
    }
}
