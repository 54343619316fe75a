// Semantics of the tape: accumulation, freezing, detaching, inference mode, graph release,
// createGraph, determinism and the buffer pool's steady state.
import XCTest
import TensorCore
import _CKernels
@testable import Autograd

final class TapeTests: XCTestCase {
    func makeParams(seed: UInt64) -> (Variable, Variable) {
        var rng = SplitMix64(seed: seed)
        return (Variable(Tensor(randomNormal: [3, 3, 2, 4], std: 0.3, using: &rng), requiresGrad: true, name: "w"),
                Variable(Tensor(randomNormal: [4], std: 0.1, using: &rng), requiresGrad: true, name: "b"))
    }

    func input(_ seed: UInt64) -> Variable {
        var rng = SplitMix64(seed: seed)
        return Variable(Tensor(randomUniform: [2, 6, 6, 2], low: -1, high: 1, using: &rng))
    }

    func loss(_ x: Variable, _ w: Variable, _ b: Variable) -> Variable {
        mean(square(leakyReLU(instanceNorm(conv2d(x, w, bias: b, padding: .symmetric(1))))))
    }

    func testGradientsAccumulateAndZero() {
        let (w, b) = makeParams(seed: 1)
        loss(input(2), w, b).backward()
        let g1 = w.grad!.scalars
        loss(input(2), w, b).backward()
        XCTAssertEqual(w.grad!.scalars, g1.map { 2 * $0 }, "second backward adds")
        [w, b].zeroGrad()
        XCTAssertNil(w.grad)
    }

    func testFreezeAndDetach() {
        let (w, b) = makeParams(seed: 1)
        [w, b].setRequiresGrad(false)
        let x = Variable(input(2).value, requiresGrad: true)
        loss(x, w, b).backward()
        XCTAssertNil(w.grad, "frozen parameters get no gradient")
        XCTAssertNotNil(x.grad, "the input still does (G step through a frozen D)")
        [w, b].setRequiresGrad(true)
        // A detached fake: gradients stop at the cut.
        var rng = SplitMix64(seed: 3)
        let gw = Variable(Tensor(randomNormal: [3, 3, 2, 2], std: 0.3, using: &rng), requiresGrad: true)
        let fake = conv2d(input(4), gw, padding: .symmetric(1))
        let d = loss(fake.detached(), w, b)
        d.backward()
        XCTAssertNil(gw.grad)
        XCTAssertNotNil(w.grad)
    }

    func testNoGradRecordsNothing() {
        let (w, b) = makeParams(seed: 1)
        let y = withNoGrad { conv2d(input(2), w, bias: b, padding: .symmetric(1)) }
        XCTAssertNil(y.node)
        XCTAssertFalse(y.needsGrad)
        XCTAssertFalse(GradMode.isEnabled == false, "mode restored after the block")
        let z = conv2d(input(2), w, bias: b, padding: .symmetric(1))
        XCTAssertNotNil(z.node)
        XCTAssertEqual(y.value.scalars, z.value.scalars)
    }

    func testGraphIsReleasedUnlessRetained() {
        let (w, b) = makeParams(seed: 1)
        let l = loss(input(2), w, b)
        l.backward(retainGraph: true)
        l.backward()                       // allowed: retained
        XCTAssertNil(l.node?.rule, "released after a non-retaining backward")
    }

    func testGradientsOfDoesNotTouchLeafGrads() {
        let (w, b) = makeParams(seed: 1)
        let x = Variable(input(2).value, requiresGrad: true)
        let g = gradients(of: loss(x, w, b), wrt: [x, w])
        XCTAssertNil(w.grad)
        XCTAssertEqual(g[0].shape, x.shape)
        XCTAssertEqual(g[1].shape, w.shape)
        XCTAssertNil(g[0].node, "no graph without createGraph")
    }

    func testDeterministic() {
        let (w, b) = makeParams(seed: 1)
        loss(input(2), w, b).backward()
        let g1 = w.grad!.scalars
        w.zeroGrad()
        loss(input(2), w, b).backward()
        XCTAssertEqual(w.grad!.scalars, g1, "bit-identical run to run")
    }

    func testOptimizerStepInPlaceDoesNotCorruptSavedTensors() {
        let (w, b) = makeParams(seed: 1)
        let x = input(2)
        let l = loss(x, w, b)
        let before = w.value.scalars
        w.update { v in v.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] -= 0.1 } } }
        XCTAssertNotEqual(w.value.scalars, before)
        l.backward()      // uses the saved pre-update w (copy on write)
        let (w2, b2) = makeParams(seed: 1)
        loss(x, w2, b2).backward()
        XCTAssertEqual(w.grad!.scalars, w2.grad!.scalars)
    }

    func testBufferPoolSteadyState() {
        let (w, b) = makeParams(seed: 1)
        func step() {
            loss(input(2), w, b).backward()
            w.update { v in v = v - w.grad! * 0.01 }
            [w, b].zeroGrad()
        }
        step(); step()
        let a = BufferPool.shared.statistics.allocations
        for _ in 0..<3 { step() }
        XCTAssertEqual(BufferPool.shared.statistics.allocations, a, "no new buffers in steady state")
    }

    /// A small generator-shaped graph with every kind of layer the paper networks use (reflection
    /// pad, Winograd and strided convs, transposed conv, instance and batch norm, skip concat,
    /// tanh), its backward and an update: after two warm-up steps, neither tensor buffers nor conv
    /// workspaces come from the system allocator.
    func testTrainingStepSteadyStateAllocatesNothing() {
        var rng = SplitMix64(seed: 4)
        let w1 = Variable(Tensor(randomNormal: [3, 3, 3, 16], std: 0.2, using: &rng), requiresGrad: true)
        let w2 = Variable(Tensor(randomNormal: [3, 3, 16, 16], std: 0.1, using: &rng), requiresGrad: true)
        let w3 = Variable(Tensor(randomNormal: [4, 4, 16, 32], std: 0.1, using: &rng), requiresGrad: true)
        let wt = Variable(Tensor(randomNormal: [4, 4, 16, 32], std: 0.1, using: &rng), requiresGrad: true)
        let w4 = Variable(Tensor(randomNormal: [3, 3, 32, 3], std: 0.1, using: &rng), requiresGrad: true)
        let gamma = Variable(Tensor(ones: [32]), requiresGrad: true), beta = Variable(Tensor(zeros: [32]), requiresGrad: true)
        var stats = BatchNormStatistics(channels: 32)
        let params = [w1, w2, w3, wt, w4, gamma, beta]
        let x = Variable(Tensor(randomUniform: [1, 16, 16, 3], low: -1, high: 1, using: &rng))
        func step() {
            let a = relu(instanceNorm(conv2d(pad(x, .symmetric(1), mode: .reflect), w1)))
            let b = relu(instanceNorm(conv2d(pad(a, .symmetric(1), mode: .reflect), w2)))
            let d = leakyReLU(batchNorm(conv2d(b, w3, strides: (2, 2), padding: .symmetric(1)), gamma: gamma, beta: beta,
                                        statistics: &stats, training: true))
            let u = relu(convTranspose2d(d, wt, strides: (2, 2), padding: (1, 1), outputPadding: (0, 0)))
            let y = tanh(conv2d(concat([u, b], axis: -1), w4, padding: .symmetric(1)))
            mseLoss(y, x).backward()
            for p in params { p.update { v in v = v - p.grad! * 0.01 } }
            params.zeroGrad()
        }
        step(); step()
        let tensors = BufferPool.shared.statistics.allocations, workspaces = i2i_workspace_allocations()
        for _ in 0..<3 { step() }
        XCTAssertEqual(BufferPool.shared.statistics.allocations, tensors, "no new tensor buffers in steady state")
        XCTAssertEqual(i2i_workspace_allocations(), workspaces, "no new conv workspaces in steady state")
    }

    /// WGAN-GP's penalty differentiated w.r.t. the critic's weights, against central differences
    /// of the penalty where the inner gradient is our own first-order backward (Float). Coarse
    /// (1e-2) by nature; the PyTorch fixture test checks the same quantity to 1e-3.
    func testGradientPenaltyAgainstFiniteDifferences() {
        var rng = SplitMix64(seed: 11)
        let w1 = Variable(Tensor(randomNormal: [3, 3, 2, 3], std: 0.5, using: &rng), requiresGrad: true)
        let w2 = Variable(Tensor(randomNormal: [3], std: 0.5, using: &rng), requiresGrad: true)
        let xhat = Tensor(randomUniform: [2, 4, 4, 2], low: -1, high: 1, using: &rng)
        func penalty(_ createGraph: Bool) -> Variable {
            let x = Variable(xhat, requiresGrad: true)
            let h = tanh(instanceNorm(conv2d(x, w1, padding: .symmetric(1))))
            let d = matmul(mean(h, alongAxes: [1, 2]), reshape(w2, [3, 1]))
            let g = gradients(of: sum(d), wrt: [x], createGraph: createGraph)[0]
            return mean(square(sqrt(sum(square(reshape(g, [2, -1])), alongAxes: [1])) - 1))
        }
        penalty(true).backward()
        for v in [w1, w2] {
            let analytic = v.grad!.scalars
            var fd = [Float](repeating: 0, count: analytic.count)
            let h: Float = 1e-2
            for i in 0..<fd.count {
                let orig = v.value.scalars[i]
                v.update { t in t.withUnsafeMutableBufferPointer { $0[i] = orig + h } }
                let p = penalty(false).value.scalar
                v.update { t in t.withUnsafeMutableBufferPointer { $0[i] = orig - h } }
                let m = penalty(false).value.scalar
                v.update { t in t.withUnsafeMutableBufferPointer { $0[i] = orig } }
                fd[i] = (p - m) / (2 * h)
            }
            let err = normwiseError(analytic.map(Double.init), fd.map(Double.init))
            XCTAssertLessThanOrEqual(err, 1e-2, "penalty gradient vs finite differences: \(err)")
        }
    }
}
