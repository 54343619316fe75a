// Inputs found by the fuzz targets (tools/fuzz.sh, Fuzz/), each kept in Fixtures/ and checked
// to give a clear error instead of a crash.
import XCTest
import Checkpoint
import Foundation
import Models
import Training
@testable import Trainers
import Evaluation
import _TestSupport

final class FuzzRegressionTests: XCTestCase {
    func fixture(_ name: String) throws -> String {
        let url = TestPaths.fixtures().appendingPathComponent(name)
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// FuzzConfig: `"progress":{"epoch":9223372036854775807}` in a training checkpoint's metadata
    /// restored fine, then `currentEpochNumber` (epoch_count + epoch) trapped on overflow, so
    /// `train --continue` on such a file crashed. Counters are now range-checked on restore.
    func testCheckpointCountersThatWouldOverflowAreRefused() throws {
        var o = TrainableModel.pix2pix.defaults
        o.nEpochsDecay = 3
        let t = try Pix2PixTrainer(generator: .generator("unet_32", inputNC: 1, outputNC: 1, ngf: 1),
                                   discriminator: .discriminator("pixel", ndf: 1), options: o)
        var file = try TrainingCheckpoint.encode(t)
        let good = file.metadata[TrainingCheckpoint.metadataKey]!
        file.metadata[TrainingCheckpoint.metadataKey] = try fixture("fuzz_epoch_overflow_metadata.json")
        XCTAssertThrowsError(try TrainingCheckpoint.restore(file, into: t, file: "x.safetensors")) { e in
            XCTAssertEqual("\(e)", "x.safetensors: not a matching training checkpoint: progress.epoch is 9223372036854775807, outside 0...1099511627776")
        }
        for (from, to) in [("\"iteration\":0", "\"iteration\":-1"), ("\"nEpochsDecay\":3", "\"nEpochsDecay\":-5"),
                           ("\"lastEpoch\":0", "\"lastEpoch\":99999999999999999")] {
            XCTAssertTrue(good.contains(from), from)
            file.metadata[TrainingCheckpoint.metadataKey] = good.replacingOccurrences(of: from, with: to)
            XCTAssertThrowsError(try TrainingCheckpoint.restore(file, into: t), to)
        }
        file.metadata[TrainingCheckpoint.metadataKey] = good
        XCTAssertNoThrow(try TrainingCheckpoint.restore(file, into: t))
        XCTAssertEqual(t.currentEpochNumber, 1)
    }
}
