// --eval-freq's loop side with a small stand-in for the FID network (the network itself is
// tested against pytorch-fid elsewhere): evaluations are logged, written to metrics.json, and
// best_net_* follows the lowest first value; test reports FID/KID of each generated domain.
import XCTest
import Foundation
import Evaluation
import ImageIO
import Training
import Trainers

/// Per-channel means and mean squares over 4x4 blocks of a 16x16 input: 96 features that
/// follow the images' colours and textures.
struct BlockStatistics: FeatureExtractor {
    var dimension: Int { 96 }
    var side: Int { 16 }
    func features(_ batch: [Float], count: Int) throws -> [Float] {
        var out: [Float] = []
        for n in 0..<count {
            for by in 0..<4 {
                for bx in 0..<4 {
                    for c in 0..<3 {
                        var s: Float = 0, q: Float = 0
                        for y in 0..<4 { for x in 0..<4 {
                            let v = batch[((n * 16 + by * 4 + y) * 16 + bx * 4 + x) * 3 + c]
                            s += v; q += v * v
                        } }
                        out += [s / 16, q / 16]
                    }
                }
            }
        }
        return out
    }
}

final class EvaluationDuringTrainingTests: XCTestCase {
    func testEvalFreqLogsEvaluationsAndKeepsTheBestNetworks() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-eval-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // Pairs for train and test.
        for split in ["train", "test"] {
            try FileManager.default.createDirectory(atPath: tmp + "/data/" + split, withIntermediateDirectories: true)
            for i in 0..<3 {
                let px = (0..<(64 * 32 * 3)).map { UInt8(($0 * (7 + i) + i * 50) % 256) }
                try writeImage(Image(width: 64, height: 32, channels: 3, pixels8: px), to: tmp + "/data/\(split)/p\(i).png")
            }
        }
        var o = TrainableModel.pix2pix.defaultOptions(dataroot: tmp + "/data", name: "run")
        o.checkpointsDir = tmp + "/runs"
        o.netG = "resnet_1blocks"; o.ngf = 4; o.ndf = 4; o.preprocess = .none
        o.nEpochs = 2; o.nEpochsDecay = 1; o.seed = 4; o.evalFreq = 1; o.evalImages = 3
        let run = try TrainingRun(options: o)
        var calls: [Int] = []
        run.evaluate = { number in
            calls.append(number)
            var t = TestOptions(model: "pix2pix", dataroot: o.dataroot, name: o.name)
            t.checkpointsDir = o.checkpointsDir
            t.resultsDir = o.directory + "/eval"
            t.numTest = o.evalImages
            t.fidExtractor = { BlockStatistics() }
            let r = try runTest(t) { _, _ in }
            XCTAssertEqual(r.fidValues.first?.name, "FID_fake_B")
            XCTAssertTrue(r.fid.first?.contains("FID fake_B vs real_B") == true, "\(r.fid)")
            return r.fidValues
        }
        XCTAssertEqual(try run.run(), .finished)
        XCTAssertEqual(calls, [1, 2, 3])
        let dir = o.directory
        let log = try String(contentsOfFile: dir + "/loss_log.jsonl", encoding: .utf8)
        XCTAssertEqual(log.components(separatedBy: "FID_fake_B").count - 1, 3, "one logged evaluation per epoch")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json"))) as! [[String: Any]]
        XCTAssertEqual(metrics.map { $0["epoch"] as! Int }, [1, 2, 3])
        let fids = metrics.map { ($0["values"] as! [String: Double])["FID_fake_B"]! }
        let best = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/best.json"))) as! [String: Any]
        XCTAssertEqual(best["value"] as? Double, fids.min())
        XCTAssertEqual(best["epoch"] as? Int, [1, 2, 3][fids.firstIndex(of: fids.min()!)!])
        for net in ["G", "D"] { XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/best_net_\(net).safetensors")) }
        // The report plots the evaluations with the losses.
        let page = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        XCTAssertTrue(page.contains("FID_fake_B"), "the report plots FID")
    }

    func testTestWithoutTheNetworkSaysWhy() throws {
        // Without an extractor, the summary says why FID/KID are missing instead of silently leaving them out.
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-eval2-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        for split in ["train", "test"] {
            try FileManager.default.createDirectory(atPath: tmp + "/data/" + split, withIntermediateDirectories: true)
            for i in 0..<2 {
                try writeImage(Image(width: 64, height: 32, channels: 3, pixels8: (0..<(64 * 32 * 3)).map { UInt8(($0 * 5 + i) % 256) }),
                               to: tmp + "/data/\(split)/p\(i).png")
            }
        }
        var o = TrainableModel.pix2pix.defaultOptions(dataroot: tmp + "/data", name: "run")
        o.checkpointsDir = tmp + "/runs"
        o.netG = "resnet_1blocks"; o.ngf = 4; o.ndf = 4; o.preprocess = .none; o.nEpochs = 1; o.nEpochsDecay = 0
        XCTAssertEqual(try TrainingRun(options: o).run(), .finished)
        var t = TestOptions(model: "pix2pix", dataroot: o.dataroot, name: o.name)
        t.checkpointsDir = o.checkpointsDir; t.resultsDir = tmp + "/results"
        t.fidUnavailable = "no weights at /nowhere: run models/download_fid_weights.sh"
        let r = try runTest(t) { _, _ in }
        XCTAssertEqual(r.fid, ["FID/KID: not computed (no weights at /nowhere: run models/download_fid_weights.sh)"])
        XCTAssertTrue(r.fidValues.isEmpty)
    }
}
