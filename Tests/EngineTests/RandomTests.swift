// The tensor initializers (pre-specialized for SplitMix64) give exactly the standard library's draws,
// so seeded initializations are the same whatever generator type reaches them.
import XCTest
import TensorCore

final class RandomTests: XCTestCase {
    /// Box-Muller over the library's draws, written out: the tensor initializer gives the same bits.
    func testRandomNormalIsTheLibraryStream() {
        var a = SplitMix64(seed: 7), b = a
        let t = Tensor(randomNormal: [1001], mean: 0.5, std: 2, using: &a)
        var want: [Float] = []
        while want.count < 1001 {
            let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &b)
            let u2 = Double.random(in: 0..<1, using: &b)
            let r = (-2 * Foundation.log(u1)).squareRoot()
            want.append(0.5 + 2 * Float(r * Foundation.cos(2 * Double.pi * u2)))
            if want.count < 1001 { want.append(0.5 + 2 * Float(r * Foundation.sin(2 * Double.pi * u2))) }
        }
        XCTAssertEqual(t.scalars.map(\.bitPattern), want.map(\.bitPattern))
        var c = SplitMix64(seed: 3), d = c
        XCTAssertEqual(Tensor(randomUniform: [999], low: -1, high: 1, using: &c).scalars,
                       (0..<999).map { _ in Float.random(in: -1..<1, using: &d) })
    }
}

import Foundation
