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

/// cgan and dcgan under --eval-freq: samples of each label against that class's held-out folder.
final class GeneratorEvaluationTests: XCTestCase {
    func labeled(_ root: String, classes: [(String, UInt8)], count: Int) throws {
        for (name, level) in classes {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
            for i in 0..<count {
                let px = (0..<(8 * 8)).map { UInt8(clamping: Int(level) + ($0 * (3 + i)) % 40) }
                try writeImage(Image(width: 8, height: 8, channels: 1, pixels8: px), to: root + "/\(name)/\(i).png")
            }
        }
    }

    func testCganEvalFreqGivesOverallAndPerClassFIDAndKeepsTheBest() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-geneval-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let classes: [(String, UInt8)] = [("dark", 20), ("light", 200)]
        try labeled(tmp + "/train", classes: classes, count: 8)
        // The held-out folders: one class of the model has none (it is left out, not an error).
        try labeled(tmp + "/heldout", classes: classes, count: 5)
        var o = TrainableModel.cgan.defaultOptions(dataroot: tmp + "/train", name: "run")
        o.checkpointsDir = tmp + "/runs"
        o.imageSize = 8; o.nz = 8; o.ngf = 4; o.ndf = 4; o.outputNc = 1; o.batchSize = 4
        o.nEpochs = 2; o.nEpochsDecay = 1; o.seed = 5; o.evalFreq = 1; o.evalImages = 4
        o.evalDataroot = tmp + "/heldout"
        let run = try TrainingRun(options: o)
        var values: [[(name: String, value: Double)]] = []
        let evaluate = try trainingEvaluation(o, extractor: BlockStatistics(), onFailure: { p, why in XCTFail("\(p): \(why)") })
        run.evaluate = { n in
            let v = try evaluate(n)
            values.append(v)
            return v
        }
        XCTAssertEqual(try run.run(), .finished)
        XCTAssertEqual(values.count, 3)
        XCTAssertEqual(values.first?.map(\.name), ["FID", "KID", "FID_dark", "FID_light"])
        for v in values { for (name, x) in v { XCTAssertTrue(x.isFinite, "\(name) \(x)") } }
        // The networks change between epochs, and so does what is measured (a fixed seed would
        // otherwise hide a generator that is never reloaded).
        XCTAssertNotEqual(values[0][0].value, values[2][0].value)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: o.directory + "/metrics.json"))) as! [[String: Any]]
        XCTAssertEqual(metrics.count, 3)
        let fids = metrics.map { ($0["values"] as! [String: Double])["FID"]! }
        let best = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: o.directory + "/best.json"))) as! [String: Any]
        XCTAssertEqual(best["name"] as? String, "FID")
        XCTAssertEqual(best["value"] as? Double, fids.min())
        XCTAssertTrue(FileManager.default.fileExists(atPath: o.directory + "/best_net_G.safetensors"))
        let page = try String(contentsOfFile: o.directory + "/index.html", encoding: .utf8)
        XCTAssertTrue(page.contains("FID_light"), "the report plots the per-class FID")
    }

    func testPerClassFIDSeparatesClasses() throws {
        // The per-class value compares a label's samples with its own class: real images of the
        // other class put in a class's folder raise that class's FID.
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-geneval2-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try labeled(tmp + "/train", classes: [("dark", 20), ("light", 200)], count: 8)
        var o = TrainableModel.cgan.defaultOptions(dataroot: tmp + "/train", name: "run")
        o.checkpointsDir = tmp + "/runs"
        o.imageSize = 8; o.nz = 8; o.ngf = 4; o.ndf = 4; o.outputNc = 1; o.batchSize = 4; o.nEpochs = 1; o.nEpochsDecay = 0
        XCTAssertEqual(try TrainingRun(options: o).run(), .finished)
        try labeled(tmp + "/same", classes: [("dark", 20), ("light", 200)], count: 6)
        try labeled(tmp + "/swapped", classes: [("dark", 200), ("light", 20)], count: 6)
        var cache: [String: FolderFeatures] = [:]
        let g = o.directory + "/latest_net_G.safetensors"
        let a = try generatorFID(generator: g, heldOut: tmp + "/same", imagesPerClass: 6, extractor: BlockStatistics(),
                                 options: FIDOptions(), realCache: &cache)
        let b = try generatorFID(generator: g, heldOut: tmp + "/swapped", imagesPerClass: 6, extractor: BlockStatistics(),
                                 options: FIDOptions(), realCache: &cache)
        func value(_ v: [(name: String, value: Double)], _ n: String) -> Double { v.first { $0.name == n }!.value }
        print("per-class FID, own class vs swapped: dark \(value(a, "FID_dark")) vs \(value(b, "FID_dark")), "
              + "light \(value(a, "FID_light")) vs \(value(b, "FID_light"))")
        XCTAssertNotEqual(value(a, "FID_dark"), value(b, "FID_dark"))
        XCTAssertNotEqual(value(a, "FID_light"), value(b, "FID_light"))
        // Overall, the two held-out sets hold the same images: the same FID.
        XCTAssertEqual(value(a, "FID"), value(b, "FID"), accuracy: 1e-6 * max(1, value(a, "FID")))
    }

    func testTranslationEvalWithoutATestSplitIsRefusedAtTheStart() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-geneval3-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.createDirectory(atPath: tmp + "/data/train", withIntermediateDirectories: true)
        var o = TrainableModel.pix2pix.defaultOptions(dataroot: tmp + "/data", name: "run")
        o.evalFreq = 1
        XCTAssertThrowsError(try trainingEvaluation(o, extractor: BlockStatistics(), onFailure: { _, _ in })) { e in
            XCTAssertTrue("\(e)".contains("no held-out split"), "\(e)")
        }
        try FileManager.default.createDirectory(atPath: tmp + "/data/test", withIntermediateDirectories: true)
        XCTAssertNoThrow(try trainingEvaluation(o, extractor: BlockStatistics(), onFailure: { _, _ in }))
    }

    func testCganEvalWithoutHeldOutDataIsAUsageError() throws {
        var o = TrainableModel.cgan.defaultOptions(dataroot: "/nowhere", name: "run")
        o.evalFreq = 1
        XCTAssertThrowsError(try trainingEvaluation(o, extractor: BlockStatistics(), onFailure: { _, _ in })) { e in
            XCTAssertTrue("\(e)".contains("--eval-dataroot"), "\(e)")
        }
    }
}
