// `img2img fid` end to end with a random-weight FID Inception written by the test (the real
// weights are 92 MB and not in git; their parity is FIDInceptionTests' and the docs'): FID of a
// folder with itself is 0 and grows with noise, statistics saved and read give the same FID, bad
// files are named and skipped, gray images are promoted, missing weights name the script.
import XCTest
import Foundation
import Checkpoint
import ImageIO
import Models
import NN
import TensorCore
import _TestSupport

final class FIDCommandTests: CLITestCase {
    /// A random-weight network (seeded), as the command reads it.
    func writeRandomWeights(_ path: String) throws {
        let net = FIDInceptionV3()
        var rng = SplitMix64(seed: 27)
        var tensors: [NamedTensor] = []
        for (name, t) in net.namedTensors() where !name.hasSuffix("num_batches_tracked") {
            let shape = t.pyTorchShape
            let n = shape.reduce(1, *)
            let values: [Float]
            if name.hasSuffix("bn.weight") || name.hasSuffix("running_var") {
                values = [Float](repeating: 1, count: n)
            } else if name.hasSuffix("bn.bias") || name.hasSuffix("running_mean") {
                values = [Float](repeating: 0, count: n)
            } else {
                let fanIn = Float(shape.dropFirst().reduce(1, *))
                values = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) * (3 / fanIn).squareRoot() }
            }
            tensors.append(NamedTensor(name: name, shape: shape, values: values))
        }
        try SafeTensors.write(TensorFile(tensors: tensors, metadata: [:]), to: path)
    }

    /// `count` images of smooth colour gradients, each with noise of amplitude `noise`.
    func folder(_ rel: String, count: Int, noise: Int, seed: UInt64, gray: Bool = false) throws -> String {
        let dir = path(rel)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: seed)
        for i in 0..<count {
            let (w, h) = (40 + i % 3 * 8, 36)
            let c = gray ? 1 : 3
            var px = [UInt8](repeating: 0, count: w * h * c)
            for y in 0..<h { for x in 0..<w { for k in 0..<c {
                let base = (x * 255 / w + y * 128 / h + k * 60 + i * 17) % 256
                let n = noise > 0 ? Int.random(in: -noise...noise, using: &rng) : 0
                px[(y * w + x) * c + k] = UInt8(clamping: base + n)
            } } }
            try writeImage(Image(width: w, height: h, channels: c, pixels8: px), to: dir + "/img\(i).png")
        }
        return dir
    }

    func fid(_ args: [String], weights: String) throws -> (Run, [String: Any]) {
        // 80 pixels a side instead of 299: the same code path at a sixteenth of the work (debug build).
        let r = try img2img(["fid"] + args + ["--weights", weights, "--json", "--threads", "2", "--batch-size", "4", "--image-size", "80"])
        let obj = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
        return (r, obj)
    }

    /// Four runs (each loads 92 MB of weights, slow in a debug build): statistics saved, a folder
    /// against them, more noise against the folder, and a folder with a gray image set and a bad
    /// file. FID(X, X) = 0 and the FID against pytorch-fid are FIDStatisticsTests' and the docs'.
    func testFIDOfFoldersStatisticsAndBadFiles() throws {
        let weights = path("fid.safetensors")
        try writeRandomWeights(weights)
        let a = try folder("a", count: 4, noise: 0, seed: 1)
        let little = try folder("noise8", count: 4, noise: 8, seed: 10)
        let much = try folder("noise120", count: 4, noise: 120, seed: 11)

        let stats = path("a.npz")
        let saved = try img2img(["fid", "--save-stats", a, stats, "--weights", weights, "--threads", "2", "--image-size", "80"])
        XCTAssertEqual(saved.status, 0, saved.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: stats))
        let again = try img2img(["fid", "--save-stats", a, stats, "--weights", weights])
        XCTAssertEqual(again.status, 64, "an existing .npz is not replaced: \(again.stderr)")

        // Against saved statistics: FID, and no KID (a .npz holds no features).
        let (text, t) = try fid([stats, little], weights: weights)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertNil(t["kid_mean"])
        let fidLittle = t["fid"] as? Double ?? -1
        // Two folders: more noise, larger FID; KID is there.
        let (r, o) = try fid([a, much], weights: weights)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertGreaterThan(o["fid"] as? Double ?? -1, fidLittle, "noise 120 against noise 8")
        XCTAssertGreaterThan(fidLittle, 0)
        XCTAssertNotNil(o["kid_mean"])

        // A bad file is named and skipped (status 3); gray images are promoted to RGB.
        let g = try folder("gray", count: 3, noise: 0, seed: 3, gray: true)
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: g + "/broken.png"))
        let (bad, b) = try fid([a, g], weights: weights)
        XCTAssertEqual(bad.status, 3, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("broken.png"), bad.stderr)
        XCTAssertEqual(b["images_second"] as? Int, 3)
        XCTAssertEqual(b["failed_files"] as? Int, 1)
    }

    func testMissingWeightsNameTheScript() throws {
        let a = try folder("a", count: 2, noise: 0, seed: 1)
        let r = try img2img(["fid", a, a, "--weights", path("nowhere.safetensors")])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("models/download_fid_weights.sh"), r.stderr)
        let usage = try img2img(["fid", a, path("missing")])
        XCTAssertEqual(usage.status, 64, usage.stderr)
    }
}
