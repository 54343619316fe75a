// Large tensors take the parallel paths (chunks of the thread pool) that the small op tests
// do not reach: results must equal a serial loop, and not depend on the thread count.
import XCTest
import TensorCore
import _CKernels
@testable import Autograd

final class ParallelTests: XCTestCase {
    func run(threads: Int) -> [[Float]] {
        i2i_set_num_threads(Int32(threads))
        defer { i2i_set_num_threads(0) }
        var rng = SplitMix64(seed: 21)
        let a = Tensor(randomNormal: [2, 64, 64, 17], using: &rng)
        let b = Tensor(randomNormal: [2, 1, 1, 17], using: &rng)
        let x = Variable(a, requiresGrad: true)
        let gamma = Variable(Tensor(randomNormal: [17], using: &rng), requiresGrad: true)
        let beta = Variable(Tensor(randomNormal: [17], using: &rng), requiresGrad: true)
        let y = leakyReLU(instanceNorm(x * Variable(b), gamma: gamma, beta: beta))
        let l = sum(tanh(y))
        l.backward()
        return [(a + b).scalars, (a * 3).scalars, [a.sum().scalar], a.sum(toShape: [1, 1, 1, 17]).scalars,
                y.value.scalars, l.value.scalars, x.grad!.scalars, gamma.grad!.scalars]
    }

    func testParallelMatchesSerialAndIsThreadCountIndependent() {
        let one = run(threads: 1), two = run(threads: 2), three = run(threads: 3)
        for i in 0..<one.count {
            XCTAssertEqual(one[i], two[i], "result \(i) differs between 1 and 2 threads")
            XCTAssertEqual(one[i], three[i], "result \(i) differs between 1 and 3 threads")
        }
        var rng = SplitMix64(seed: 21)
        let a = Tensor(randomNormal: [2, 64, 64, 17], using: &rng)
        let b = Tensor(randomNormal: [2, 1, 1, 17], using: &rng)
        let (sa, sb) = (a.scalars, b.scalars)
        var maxErr: Float = 0
        for i in stride(from: 0, to: sa.count, by: 97) {
            let n = i / (64 * 64 * 17), c = i % 17
            maxErr = max(maxErr, Swift.abs(one[0][i] - (sa[i] + sb[n * 17 + c])))
        }
        XCTAssertEqual(maxErr, 0)
        XCTAssertEqual(Double(one[2][0]), sa.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-2)
    }
}
