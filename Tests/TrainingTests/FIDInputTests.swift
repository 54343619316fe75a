// The FID network's input per resize mode against the reference tools' own preprocessing
// (fixture: tools/make_fid_resize_fixtures.py): legacy = pytorch-fid's bilinear F.interpolate,
// clean = clean-fid's float32 Pillow bicubic.
import XCTest
import Foundation
import Checkpoint
import ImageIO
import Evaluation

final class FIDInputTests: XCTestCase {
    func testBothResizeModesMatchTheReferences() throws {
        let dir = FIDStatisticsTests.fixtures
        for name in ["a", "b"] {
            let image = try readImage(at: dir + "/resize_\(name).png")
            for mode in FIDResize.allCases {
                let path = dir + "/resize_\(name)_\(mode.rawValue).npy"
                let want = try NumPy.parseNPY(Array(try Data(contentsOf: URL(fileURLWithPath: path))), file: path).values
                let got = fidInput(image, resize: mode)
                XCTAssertEqual(got.count, 299 * 299 * 3)
                let sampled = stride(from: 0, to: got.count, by: 31).map { Double(got[$0]) }
                XCTAssertEqual(sampled.count, want.count)
                let diff = zip(sampled, want).map { abs($0 - $1) }.max()!
                // float32 arithmetic on both sides, in a different order.
                XCTAssertLessThan(diff, 2e-6, "\(name) \(mode): max |diff| \(diff)")
            }
        }
        // The two modes differ (antialiased bicubic against bilinear): the option matters.
        let b = try readImage(at: dir + "/resize_b.png")
        let l = fidInput(b, resize: .legacy), c = fidInput(b, resize: .clean)
        XCTAssertGreaterThan(zip(l, c).map { abs($0 - $1) }.max()!, 0.05)
    }
}
