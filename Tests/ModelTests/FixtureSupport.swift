// Fixtures: Tests/ModelTests/Fixtures/*, written by `python3 tools/make_model_fixtures.py`
// (torch 2.15.0, networks from tools/paper_networks.py = the paper code's networks.py).
// Each network fixture holds the state dict under the paper code's names plus `input`
// (NCHW) and `output*` (NCHW) tensors; see the script's fx_* functions for each one.
import Foundation
import XCTest
import Checkpoint
import TensorCore
import Autograd
import NN
@testable import Models
import _TestSupport

enum Fixture {
    static let directory = TestPaths.fixtures()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func read(_ name: String) throws -> TensorFile { try CheckpointFile.read(path: path(name)) }

    /// The network's tensors of a fixture (drops input / output* / after_train_forward.* / encode_*).
    static func stateDict(_ file: TensorFile) -> StateDict {
        let kept = file.removingTensors { t in
            t.name == "input" || t.name.hasPrefix("output") || t.name.hasPrefix("after_train_forward.") || t.name.hasPrefix("encode_")
        }
        return Models.stateDict(of: kept)
    }

    /// A fixture activation, NCHW in the file, NHWC here.
    static func activation(_ file: TensorFile, _ name: String) throws -> Tensor {
        let t = try XCTUnwrap(file[name], "fixture has no tensor \(name)")
        return Tensor(shape: t.shape, scalars: t.values).nchwToNHWC()
    }
}

func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Builds `config`, loads the fixture's state dict, runs `input` and returns the max abs
/// difference to `outputName`, printing it (the report quotes these numbers).
func parity(_ fixture: String, _ config: ModelConfig, output outputName: String = "output",
            runningStatistics: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> Float {
    let f = try Fixture.read(fixture)
    var rng = SplitMix64(seed: 0)
    let net = try makeLayer(config, using: &rng)
    try net.loadStateDict(Fixture.stateDict(f), source: fixture)
    net.testMode(runningStatistics: runningStatistics)
    let x = try Fixture.activation(f, "input")
    let y = withNoGrad { net(Variable(x)) }.value
    let expected = try Fixture.activation(f, outputName)
    XCTAssertEqual(y.shape, expected.shape, file: file, line: line)
    let d = maxAbsDiff(y, expected)
    print("parity \(fixture) [\(outputName)]: max |diff| = \(d)")
    return d
}
