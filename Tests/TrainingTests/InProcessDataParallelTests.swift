// Data-parallel training without MPI: the run takes its processes as a value (`ProcessGroup`),
// so two ranks of an `InProcessGroup` on two threads train as `mpirun -np 2` would, and are
// checked against one process with their combined batch (the tolerance is MPITrainingTests').
import XCTest
import Foundation
import Checkpoint
import Distributed
@testable import Training
@testable import Trainers
import Evaluation
import _TestSupport

final class InProcessDataParallelTests: XCTestCase {
    var tmp: String!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-ddp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tmp) }

    /// K steps of `batch` images per rank at a constant learning rate.
    func options(name: String, batch: Int, ranks: Int, images: Int) -> TrainOptions {
        var o = TrainableModel.pix2pix.defaultOptions(dataroot: TrainingRunTests.earth, name: name)
        o.checkpointsDir = tmp
        o.netG = "resnet_1blocks"; o.ngf = 4; o.ndf = 4; o.norm = .instance; o.useDropout = false
        o.loadSize = 36; o.cropSize = 32; o.batchSize = batch; o.worldSize = ranks
        o.nEpochs = 1; o.nEpochsDecay = 0; o.lrPolicy = .step; o.lrDecayIters = 100
        o.maxDatasetSize = images; o.seed = 11; o.saveEpochFreq = 0
        return o
    }

    func tensors(_ name: String) throws -> [String: [Float]] {
        let f = try SafeTensors.read(path: tmp + "/" + name + "/latest.safetensors")
        return Dictionary(uniqueKeysWithValues: f.tensors.filter { $0.integers == nil }.map { ($0.name, $0.values) })
    }

    /// Runs `ranks` TrainingRuns of one in-process group, each on its own thread.
    func trainInProcess(name: String, ranks: Int, images: Int) throws {
        let group = InProcessGroup.make(size: ranks)
        let errors = NSLock()
        nonisolated(unsafe) var failures: [String] = []
        let done = DispatchGroup()
        let o = options(name: name, batch: 1, ranks: ranks, images: images)
        for r in 0..<ranks {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                do {
                    let run = try TrainingRun(options: o, group: group[r])
                    let outcome = try run.run()
                    if outcome != .finished { errors.withLock { failures.append("rank \(r): \(outcome)") } }
                } catch {
                    errors.withLock { failures.append("rank \(r): \(error)") }
                }
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 600), .success, "the ranks finish")
        XCTAssertEqual(failures, [])
    }

    func testTwoInProcessRanksEqualOneProcessWithTheirCombinedBatch() throws {
        let (k, lr): (Int, Float) = (3, 0.0002)
        try trainInProcess(name: "two", ranks: 2, images: 2 * k)
        XCTAssertEqual(try TrainingRun(options: options(name: "one", batch: 2, ranks: 1, images: 2 * k)).run(), .finished)
        XCTAssertEqual(try TrainingRun(options: options(name: "alone", batch: 1, ranks: 1, images: k)).run(), .finished)
        let written = try TrainOptions.fromJSON(try Data(contentsOf: URL(fileURLWithPath: tmp + "/two/options.json")))
        XCTAssertEqual(written.effectiveBatchSize, 2)

        let (one, two, alone) = (try tensors("one"), try tensors("two"), try tensors("alone"))
        let c = TrainingComparison(one, two)
        XCTAssertLessThan(c.moments, 1e-4)
        XCTAssertLessThanOrEqual(c.weightsMax, 2 * lr * Float(k) * 1.001)
        XCTAssertLessThan(c.weightsMoved, 0.05)
        // what one rank alone trains on differs: the ranks did exchange their gradients
        let a = TrainingComparison(alone, two)
        XCTAssertGreaterThan(a.moments, 1e-2)
        XCTAssertGreaterThan(a.weightsMoved, 0.2)
    }

    /// The group's collectives: sums in rank order, all-gather, gather at rank 0.
    func testInProcessCollectives() {
        let group = InProcessGroup.make(size: 3)
        nonisolated(unsafe) var results = [[Float]](repeating: [], count: 3)
        nonisolated(unsafe) var gathered = [[Int]](repeating: [], count: 3)
        nonisolated(unsafe) var bytes = [[[UInt8]]?](repeating: nil, count: 3)
        // one thread per rank (concurrentPerform may run fewer at once than there are ranks,
        // and a collective waits for all of them)
        let done = DispatchGroup()
        for r in 0..<3 {
            done.enter()
            Thread {
                defer { done.leave() }
                var v: [Float] = [Float(r), 1]
                v.withUnsafeMutableBufferPointer { group[r].sum($0) }
                results[r] = v
                gathered[r] = group[r].allGather(10 * r)
                bytes[r] = group[r].gather([UInt8(r)])
                group[r].barrier()
            }.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(results, Array(repeating: [3, 3], count: 3))
        XCTAssertEqual(gathered, Array(repeating: [0, 10, 20], count: 3))
        XCTAssertEqual(bytes[0]!, [[0], [1], [2]])
        XCTAssertNil(bytes[1]); XCTAssertNil(bytes[2])
    }
}
