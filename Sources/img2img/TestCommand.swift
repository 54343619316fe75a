import ArgumentParser
import Foundation
import ImageIO
import Augment
import Datasets
import Models
import Translation
import _CKernels

/// `img2img test`: the paper code's test.py: translate the test split of a dataset with a
/// trained run and write a results page (real / fake / reconstructed side by side), plus L1,
/// PSNR and SSIM against the ground truth for paired data.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Translate a dataset's test split with a trained run and write the results page.",
        discussion: """
        cyclegan: DATAROOT/testA goes through G_A (and back through G_B), DATAROOT/testB through \
        G_B (and back through G_A). pix2pix: DATAROOT/test holds A|B pairs; the output of G on \
        A is compared with B (L1 on [0, 1], PSNR in dB, SSIM), per image and on average. Results \
        go to RESULTS-DIR/NAME/test_EPOCH/ (images/ and index.html; metrics.json for pairs).
        """)

    @Argument(help: "cyclegan | pix2pix")
    var model: TrainModel

    @Option(help: "Dataset folder.")
    var dataroot: String
    @Option(help: "Name of the run.")
    var name: String
    @Option(help: "Where runs are stored.")
    var checkpointsDir: String = "runs"
    @Option(help: "Where results go.")
    var resultsDir: String = "results"
    @Option(help: "Which checkpoint: latest or epoch_<n>.")
    var epoch: String = "latest"
    @Option(help: "Test split folder name.")
    var phase: String = "test"
    @Option(help: "pix2pix: AtoB or BtoA.")
    var direction: Direction = .aToB
    @Option(help: "At most this many images per domain.")
    var numTest: Int = .max
    @Flag(help: "Batch norm: use the running statistics.")
    var eval = false
    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        guard model == .cyclegan || model == .pix2pix else { throw ValidationError("test takes cyclegan or pix2pix") }
    }

    func run() throws {
        if let threads { i2i_set_num_threads(Int32(threads)) }
        let run = checkpointsDir + "/" + name
        let out = resultsDir + "/" + name + "/test_" + epoch
        try FileManager.default.createDirectory(atPath: out + "/images", withIntermediateDirectories: true)
        func generator(_ net: String) throws -> GeneratorTranslator {
            let path = run + "/\(epoch)_net_\(net).safetensors"
            let (g, cfg) = try loadTranslationGenerator(path: path, direction: .aToB, override: { _ in }, overriding: false)
            g.testMode(runningStatistics: eval)
            return GeneratorTranslator(g, config: cfg)
        }
        var rows: [(String, [(String, String)])] = []
        var metrics: [(String, Double, Double, Double)] = []
        var failures = 0
        func save(_ img: Image, _ file: String) throws -> String {
            try writeImage(img, to: out + "/images/" + file, format: .png)
            return "images/" + file
        }
        func stem(_ path: String) -> String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }

        switch model {
        case .cyclegan:
            let gA = try generator("G_A"), gB = try generator("G_B")
            for (domain, fwd, back, fake, rec) in [("A", gA, gB, "fake_B", "rec_A"), ("B", gB, gA, "fake_A", "rec_B")] {
                let scan = try ImageFolder.scan(root: dataroot + "/" + phase + domain)
                for (i, e) in scan.images.prefix(numTest).enumerated() {
                    do {
                        let real = try readImage(at: scan.path(of: e)).toRGB8()
                        let f = try translateImage(real, with: fwd, index: i)
                        let r = try translateImage(f, with: back, index: i)
                        let s = stem(e.relativePath).replacingOccurrences(of: "/", with: "_")
                        rows.append((s, [("real_\(domain)", try save(real, "\(s)_real_\(domain).png")),
                                         (fake, try save(f, "\(s)_\(fake).png")), (rec, try save(r, "\(s)_\(rec).png"))]))
                    } catch {
                        failures += 1
                        FileHandle.standardError.write(Data("img2img: \(scan.path(of: e)): \(error)\n".utf8))
                    }
                }
            }
        case .pix2pix, .cgan, .dcgan:
            let g = try generator("G")
            let scan = try ImageFolder.scan(root: dataroot + "/" + phase)
            for (i, e) in scan.images.prefix(numTest).enumerated() {
                do {
                    let ab = try readImage(at: scan.path(of: e)).toRGB8()
                    let (l, r) = ab.splitHorizontally()
                    let (a, b) = direction == .aToB ? (l, r) : (r, l)
                    var fake = try translateImage(a, with: g, index: i).toRGB8()
                    if fake.width != b.width || fake.height != b.height {
                        fake = fake.resized(width: b.width, height: b.height, filter: .bicubic)
                    }
                    let m = (ImageMetrics.l1(fake, b), ImageMetrics.psnr(fake, b), ImageMetrics.ssim(fake, b))
                    let s = stem(e.relativePath).replacingOccurrences(of: "/", with: "_")
                    metrics.append((s, m.0, m.1, m.2))
                    rows.append((s, [("real_A", try save(a, "\(s)_real_A.png")), ("fake_B", try save(fake, "\(s)_fake_B.png")),
                                     ("real_B", try save(b, "\(s)_real_B.png"))]))
                } catch {
                    failures += 1
                    FileHandle.standardError.write(Data("img2img: \(scan.path(of: e)): \(error)\n".utf8))
                }
            }
        }

        var html = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>\(name) \(phase) \(epoch)</title>
        <style>body{font-family:sans-serif;margin:24px}td{padding:4px;text-align:center;font-size:12px}
        img{width:256px;image-rendering:pixelated}</style></head><body>
        <h1>\(name): \(model.rawValue), \(phase) split, checkpoint \(epoch)</h1>

        """
        if !metrics.isEmpty {
            let n = Double(metrics.count)
            let l1 = metrics.map(\.1).reduce(0, +) / n, ssim = metrics.map(\.3).reduce(0, +) / n
            let finite = metrics.map(\.2).filter(\.isFinite)
            let psnr = finite.isEmpty ? Double.infinity : finite.reduce(0, +) / Double(finite.count)
            let summary = String(format: "L1 %.4f, PSNR %.2f dB, SSIM %.4f over %d pairs", l1, psnr, ssim, metrics.count)
            print(summary)
            html += "<p><b>\(summary)</b> (L1 on [0, 1]; PSNR averaged over pairs that differ)</p>\n"
            var json = "{\n  \"pairs\": \(metrics.count),\n  \"mean\": {\"l1\": \(l1), \"psnr\": \(psnr.isFinite ? "\(psnr)" : "null"), \"ssim\": \(ssim)},\n  \"images\": {\n"
            json += metrics.map { "    \"\($0.0)\": {\"l1\": \($0.1), \"psnr\": \($0.2.isFinite ? "\($0.2)" : "null"), \"ssim\": \($0.3)}" }
                .joined(separator: ",\n")
            json += "\n  }\n}\n"
            try json.write(toFile: out + "/metrics.json", atomically: true, encoding: .utf8)
        }
        html += "<table>\n"
        for (s, cells) in rows {
            html += "<tr><td>\(s)</td>" + cells.map { "<td><img src=\"\($0.1)\"><br>\($0.0)</td>" }.joined() + "</tr>\n"
        }
        html += "</table></body></html>\n"
        try html.write(toFile: out + "/index.html", atomically: true, encoding: .utf8)
        print("results: \(out)/index.html (\(rows.count) images)")
        if failures > 0 { throw ExitCode(ExitStatus.someFilesFailed.rawValue) }
    }
}
