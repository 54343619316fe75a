// Tensor.permuted against a naive index computation: every permutation of ranks 1 to 4, size-1
// dimensions, rank 0, and a tensor big enough to be split across threads.
import XCTest
import TensorCore

final class LayoutTests: XCTestCase {
    private func naive(_ x: Tensor, _ perm: [Int]) -> [Float] {
        let outShape = perm.map { x.shape[$0] }
        var strides = [Int](repeating: 1, count: x.rank)
        for i in stride(from: x.rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * x.shape[i + 1] }
        let xs = x.scalars
        return (0..<x.count).map { o in
            var rem = o, src = 0
            for k in stride(from: outShape.count - 1, through: 0, by: -1) {
                src += (rem % outShape[k]) * strides[perm[k]]
                rem /= outShape[k]
            }
            return xs[src]
        }
    }

    private func permutations(_ n: Int) -> [[Int]] {
        if n == 0 { return [[]] }
        return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
    }

    func testPermutedMatchesNaiveIndexing() {
        var rng = SplitMix64(seed: 5)
        for shape in [[7], [3, 5], [1, 4], [2, 3, 4], [3, 1, 5], [2, 3, 4, 5], [1, 2, 1, 3], [4, 4, 17, 33]] {
            let x = Tensor(randomUniform: shape, low: -1, high: 1, using: &rng)
            for perm in permutations(shape.count) {
                let y = x.permuted(perm)
                XCTAssertEqual(y.shape, perm.map { shape[$0] })
                XCTAssertEqual(y.scalars, naive(x, perm), "shape \(shape) perm \(perm)")
            }
        }
        let s = Tensor(3.5)
        XCTAssertEqual(s.permuted([]).scalars, [3.5])
        // The conv weight layouts round-trip.
        let w = Tensor(randomUniform: [3, 3, 16, 8], using: &rng)
        XCTAssertEqual(w.convWeightToPyTorch().convWeightFromPyTorch().scalars, w.scalars)
    }
}
