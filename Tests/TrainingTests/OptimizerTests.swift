// Adam against the torch.optim.Adam update written out in Double, and the lr schedules
// against the paper code's get_scheduler formulas (torch.optim.lr_scheduler semantics).
import Autograd
import Foundation
import TensorCore
@testable import Training
@testable import Trainers
import Evaluation
import XCTest

final class OptimizerTests: XCTestCase {
    /// torch.optim.Adam, step by step in Double (the reference the Float kernel must follow):
    ///   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
    func testAdamMatchesTorchUpdate() {
        let p0: [Float] = [1.0, -0.5, 0.25, 3.0, 0, -2]
        let grads: [[Float]] = [[0.5, -1, 0.125, 2, 1e-3, -0.75], [-1, 0.5, 0.25, -2, 0, 3], [0.3, 0.3, -0.3, 0.1, 2, -1]]
        for (beta1, lr) in [(0.9, 1e-3), (0.5, 2e-4), (0.5, 0.1)] {
            let w = Variable(Tensor(shape: [2, 3], scalars: p0), requiresGrad: true)
            let adam = Adam([("w", w)], lr: lr, beta1: beta1, beta2: 0.999)
            var p = p0.map(Double.init), m = [Double](repeating: 0, count: 6), v = m
            for (t, g) in grads.enumerated() {
                w.grad = Tensor(shape: [2, 3], scalars: g)
                adam.step()
                let bc1 = 1 - pow(beta1, Double(t + 1)), bc2 = 1 - pow(0.999, Double(t + 1))
                for i in 0..<6 {
                    m[i] = beta1 * m[i] + (1 - beta1) * Double(g[i])
                    v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                    p[i] -= lr / bc1 * m[i] / (v[i].squareRoot() / bc2.squareRoot() + 1e-8)
                }
                for i in 0..<6 {
                    XCTAssertEqual(Double(w.value[flat: i]), p[i], accuracy: 1e-6 * max(1, abs(p[i])), "beta1 \(beta1) step \(t + 1) elt \(i)")
                }
            }
            XCTAssertEqual(adam.state[0]?.step, 3)
        }
    }

    /// The SIMD kernel gives the bits of the scalar Float formula (torch's single-tensor path: lerp as
    /// fma, then separately rounded products and sums), for both lerp branches, for sizes with and
    /// without vector tails and across the parallel split.
    func testAdamKernelBitIdenticalToScalarFormula() {
        var rng = SystemRandomNumberGenerator()
        for (beta1, n) in [(0.5, 70_001), (0.9, 37), (0.3, 16), (0.5, 5)] {
            let x0 = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
            let w = Variable(Tensor(shape: [n], scalars: x0), requiresGrad: true)
            let adam = Adam([("w", w)], lr: 2e-4, beta1: beta1, beta2: 0.999)
            var x = x0, m = [Float](repeating: 0, count: n), v = m
            for t in 1...3 {
                let g = (0..<n).map { _ in Float.random(in: -2...2, using: &rng) * (t == 2 ? 1e-3 : 1) }
                w.grad = Tensor(shape: [n], scalars: g)
                adam.step()
                let wt = Float(1 - beta1), b2 = Float(0.999), omb2 = Float(1 - 0.999), eps = Float(1e-8)
                let bc1 = 1 - pow(beta1, Double(t)), bc2 = 1 - pow(0.999, Double(t))
                let negStep = Float(-(2e-4 / bc1)), bc2Sqrt = Float(bc2.squareRoot())
                for j in 0..<n {
                    m[j] = wt < 0.5 ? m[j].addingProduct(wt, g[j] - m[j]) : g[j].addingProduct(wt - 1, g[j] - m[j])
                    v[j] = v[j] * b2 + omb2 * g[j] * g[j]
                    let denom = v[j].squareRoot() / bc2Sqrt + eps
                    x[j] = x[j] + negStep * m[j] / denom
                }
                XCTAssertEqual(w.value.scalars.map(\.bitPattern), x.map(\.bitPattern), "beta1 \(beta1) n \(n) step \(t)")
                XCTAssertEqual(adam.state[0]!.expAvg.scalars.map(\.bitPattern), m.map(\.bitPattern))
                XCTAssertEqual(adam.state[0]!.expAvgSq.scalars.map(\.bitPattern), v.map(\.bitPattern))
            }
        }
    }

    /// First step of Adam moves every coordinate by lr * sign(g) (bias correction), and a
    /// parameter without a gradient is skipped (no state), as torch with zero_grad(set_to_none).
    func testAdamFirstStepAndSkippedParameters() {
        let a = Variable(Tensor(shape: [3], scalars: [1, 2, 3]), requiresGrad: true)
        let b = Variable(Tensor(shape: [1], scalars: [5]), requiresGrad: true)
        let adam = Adam([("a", a), ("b", b)], lr: 0.01)
        a.grad = Tensor(shape: [3], scalars: [4, -0.001, 7])
        adam.step()
        XCTAssertEqual(a.value.scalars[0], 0.99, accuracy: 1e-6)
        XCTAssertEqual(a.value.scalars[1], 2.01, accuracy: 1e-6)
        XCTAssertEqual(b.value.scalars, [5])
        XCTAssertNil(adam.state[1])
        adam.zeroGrad()
        XCTAssertNil(a.grad)
    }

    func testLinearScheduleMatchesPaperLambda() {
        // --n_epochs 3 --n_epochs_decay 4 --epoch_count 1 (lambda_rule), base lr 2e-4
        var s = LRSchedule(policy: .linear, baseLR: 2e-4, epochCount: 1, nEpochs: 3, nEpochsDecay: 4)
        XCTAssertEqual(s.lr, 2e-4)
        var seq: [Double] = []
        for _ in 0..<7 { s.step(); seq.append(s.lr) }
        let expected: [Double] = (1...7).map { (e: Int) -> Double in
            let decayed = Double(max(0, e + 1 - 3))
            return 2e-4 * (1.0 - decayed / 5.0)
        }
        XCTAssertEqual(seq, expected)
        XCTAssertEqual(seq.last, 0, "the paper code trains its last epoch at lr 0 (update at epoch start)")
        // resuming at --epoch_count 5 shifts the lambda
        var r = LRSchedule(policy: .linear, baseLR: 1, epochCount: 5, nEpochs: 3, nEpochsDecay: 4)
        r.step()
        XCTAssertEqual(r.lr, 1 - 3.0 / 5.0)
    }

    func testStepScheduleDecaysByTenthEveryDecayIters() {
        var s = LRSchedule(policy: .step, baseLR: 0.1, lrDecayIters: 3)
        var seq: [Double] = []
        for _ in 0..<7 { s.step(); seq.append(s.lr) }
        // StepLR (recursive, as torch): lr *= 0.1 when last_epoch % step_size == 0
        XCTAssertEqual(seq, [0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1, 0.1 * 0.1 * 0.1])
    }

    func testCosineScheduleFollowsClosedForm() {
        var s = LRSchedule(policy: .cosine, baseLR: 2e-4, nEpochs: 10)
        for e in 1...10 {
            s.step()
            XCTAssertEqual(s.lr, 2e-4 * (1 + cos(Double.pi * Double(e) / 10)) / 2, accuracy: 1e-15)
        }
        XCTAssertEqual(s.lr, 0, accuracy: 1e-18)
        s.step()  // beyond T_max torch's recursion climbs back (period 2 T_max)
        XCTAssertEqual(s.lr, 2e-4 * (1 + cos(Double.pi * 11 / 10)) / 2, accuracy: 1e-15)
    }

    func testPlateauReducesAfterPatience() {
        // The paper code steps plateau with metric 0 each epoch: epoch 1 sets best = 0, then
        // 0 < 0 * (1 - 0.01) never holds, so every further epoch is "bad"; after 6 bad ones
        // (patience 5) lr *= 0.2.
        var s = LRSchedule(policy: .plateau, baseLR: 1)
        var seq: [Double] = []
        for _ in 0..<13 { s.step(metric: 0); seq.append(s.lr) }
        XCTAssertEqual(seq, Array(repeating: 1, count: 6) + Array(repeating: 0.2, count: 6) + [0.2 * 0.2])
        // improving metrics never reduce
        var t = LRSchedule(policy: .plateau, baseLR: 1)
        for i in 0..<20 { t.step(metric: pow(0.9, Double(i))) }
        XCTAssertEqual(t.lr, 1)
    }

    func testScheduleStateRoundTripsThroughJSON() throws {
        var s = LRSchedule(policy: .plateau, baseLR: 1)
        for _ in 0..<3 { s.step(metric: 0) }
        let enc = JSONEncoder()
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let back = try dec.decode(LRSchedule.self, from: try enc.encode(s))
        XCTAssertEqual(back, s)
    }
}
