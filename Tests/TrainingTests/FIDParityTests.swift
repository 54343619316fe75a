// The FID path users run (image file -> legacy resize -> FID Inception with the real weights)
// against pytorch-fid's own path on 24 image files. Fixture: Tests/TrainingTests/Fixtures/fid_parity/,
// written by tools/make_fid_parity_fixtures.py (torch 2.15.0, pytorch-fid 0.3.0, Pillow 13.0.0).
import XCTest
import Foundation
import Checkpoint
import Evaluation
import ImageIO
import Models
import _TestSupport

final class FIDParityTests: XCTestCase {
    /// The bar, absolute (features reach ~10). Measured (AVX-512, 2 threads): see the print.
    static let tolerance: Float = 1e-3

    func testPretrainedFeaturesOfImageFilesMatchPytorchFID() throws {
        let weights = FIDWeights.defaultPath
        guard FileManager.default.fileExists(atPath: weights) else {
            throw XCTSkip("FID Inception weights absent (\(weights)): run models/download_fid_weights.sh")
        }
        let dir = TestPaths.fixtures().appendingPathComponent("fid_parity").path
        let f = try SafeTensors.read(path: dir + "/features.safetensors")
        let files = try XCTUnwrap(f.metadata["files"]).split(separator: ",").map(String.init)
        XCTAssertEqual(files.count, 24)
        let want = try XCTUnwrap(f["features"])
        XCTAssertEqual(want.shape, [24, 2048])
        let extractor = try FIDInceptionExtractor(weights: weights)
        var worst: Float = 0, worstFile = ""
        // Four images a batch: the test also covers batches (pytorch-fid ran them one by one).
        for start in stride(from: 0, to: files.count, by: 4) {
            let names = Array(files[start..<min(start + 4, files.count)])
            let batch = try names.flatMap { fidInput(try readImage(at: dir + "/" + $0), resize: .legacy) }
            let got = try extractor.features(batch, count: names.count)
            for (k, name) in names.enumerated() {
                for j in 0..<2048 {
                    let d = abs(got[k * 2048 + j] - want.values[(start + k) * 2048 + j])
                    if d > worst { worst = d; worstFile = name }
                }
            }
        }
        print("FID Inception, pretrained, 24 image files through the legacy resize: max |diff| to pytorch-fid \(worst) (\(worstFile))")
        XCTAssertLessThanOrEqual(worst, Self.tolerance)
    }
}
