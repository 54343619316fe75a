// The element-wise and normalization C kernels against the Swift loops they replaced, bit for bit.
import XCTest
import _CKernels

final class ElementwiseKernelTests: XCTestCase {
    private func values(_ n: Int, seed: UInt64) -> [Float] {
        var rng = KernelTestRNG(seed: seed)
        return (0..<n).map { _ in rng.next() * 3 }
    }

    /// sdy, sdyx of i2i_norm_backward_sums equal the former Swift double loop for channel counts
    /// with and without a partial 16-channel block, one group (batch norm) and several (instance norm).
    func testNormBackwardSumsMatchSwiftLoop() {
        for (G, M, C) in [(1, 37, 64), (3, 20, 19), (2, 5, 3), (1, 300, 48)] {
            let x = values(G * M * C, seed: 1), dy = values(G * M * C, seed: 2)
            let mean = values(G * C, seed: 3), rstd = values(G * C, seed: 4).map { abs($0) + 0.5 }
            var want1 = [Double](repeating: 0, count: G * C), want2 = want1
            for g in 0..<G {
                for c in 0..<C {
                    var a1 = 0.0, a2 = 0.0
                    for m in 0..<M {
                        let o = (g * M + m) * C + c
                        let d = Double(dy[o])
                        a1 += d; a2 += d * Double((x[o] - mean[g * C + c]) * rstd[g * C + c])
                    }
                    want1[g * C + c] = a1; want2[g * C + c] = a2
                }
            }
            var got1 = [Double](repeating: -1, count: G * C), got2 = got1
            i2i_norm_backward_sums(Int64(G), Int64(M), Int64(C), x, dy, mean, rstd, &got1, &got2)
            XCTAssertEqual(got1.map(\.bitPattern), want1.map(\.bitPattern), "G \(G) M \(M) C \(C)")
            XCTAssertEqual(got2.map(\.bitPattern), want2.map(\.bitPattern), "G \(G) M \(M) C \(C)")
        }
    }

    func testLeakyReLUKernelsMatchFormula() {
        for n in [0, 1, 15, 16, 17, 100_003] {
            let x = values(n, seed: 5) + (n > 3 ? [0, -0.0, .infinity] : []), g = values(x.count, seed: 6)
            for slope: Float in [0.2, 0] {
                var y = [Float](repeating: 7, count: x.count), dx = y
                i2i_leaky_relu(Int64(x.count), x, &y, slope)
                i2i_leaky_relu_grad(Int64(x.count), g, x, &dx, slope)
                XCTAssertEqual(y.map(\.bitPattern), x.map { ($0 > 0 ? $0 : $0 * slope).bitPattern })
                XCTAssertEqual(dx.map(\.bitPattern), zip(g, x).map { ($1 > 0 ? $0 : $0 * slope).bitPattern })
            }
        }
    }
}
