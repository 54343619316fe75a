// Conv plans pack a layer's weights once per change: never again in a second inference call, once
// per optimizer step in training, and never stale (a planned conv after a step gives the bits of an
// unplanned one on the new weights).
import XCTest
import _CKernels
@testable import Autograd
@testable import Models
@testable import NN
@testable import TensorCore
@testable import Training
@testable import Trainers
import Evaluation

final class ConvPlanTests: XCTestCase {
    private func generator() -> ResnetGenerator {
        let g = ResnetGenerator(inputNC: 3, outputNC: 3, ngf: 8, norm: .instance, nBlocks: 2)
        var rng = SplitMix64(seed: 7)
        initialize(g, .normal, gain: 0.02, using: &rng)
        return g
    }

    private func image(_ seed: UInt64, size: Int = 24) -> Tensor {
        var rng = SplitMix64(seed: seed)
        return Tensor(randomNormal: [1, size, size, 3], using: &rng)
    }

    func testSecondInferenceCallDoesNotRepack() {
        let g = generator()
        let before = ConvPlan.totalRepacks
        let y1 = g(Variable(image(1))).value
        let first = ConvPlan.totalRepacks - before
        // ResNet with 2 blocks: 7 convs and 2 transposed convs, each packed for the pass it runs.
        XCTAssertGreaterThanOrEqual(first, 9, "the first call packs every conv's weights")
        let y2 = g(Variable(image(2))).value
        let y1again = g(Variable(image(1))).value
        XCTAssertEqual(ConvPlan.totalRepacks - before, first, "a second inference call must not repack")
        XCTAssertEqual(y1.scalars.map(\.bitPattern), y1again.scalars.map(\.bitPattern))
        XCTAssertNotEqual(y1.scalars, y2.scalars)
        // Another input size is another plan: packed once more, then reused.
        _ = g(Variable(image(3, size: 32)))
        let afterNewSize = ConvPlan.totalRepacks - before
        XCTAssertEqual(afterNewSize, 2 * first)
        _ = g(Variable(image(4, size: 32)))
        XCTAssertEqual(ConvPlan.totalRepacks - before, afterNewSize)
    }

    func testOneRepackPerOptimizerStepAndNeverStale() {
        let g = generator()
        let adam = Adam(g.namedParameters(), lr: 1e-2)
        let x = image(5), target = image(6)
        func iteration() -> Int {
            let before = ConvPlan.totalRepacks
            adam.zeroGrad()
            let loss = mean(abs(g(Variable(x)) - Variable(target)))
            loss.backward()
            return ConvPlan.totalRepacks - before
        }
        let first = iteration()
        XCTAssertGreaterThan(first, 0)
        adam.step()
        let second = iteration()
        adam.step()
        let third = iteration()
        // Every conv packs each layout it uses once per step: the same count every iteration.
        XCTAssertEqual(second, first)
        XCTAssertEqual(third, first)
        // Without a step in between, nothing is packed again.
        XCTAssertEqual(iteration(), 0)

        // Not stale: each conv layer's planned forward equals a one-call (unplanned) conv on the
        // weights after the steps.
        var checked = 0
        for case let conv as Conv2D in g.model.layers {
            let xin = Tensor(randomNormal: [1, 10, 10, conv.weight.shape[2]], using: &rngForChecks)
            let geo = ConvGeometry(input: xin.shape, filter: conv.weight.shape, strides: (conv.stride, conv.stride),
                                   padding: .symmetric(conv.padding))
            let planned = convForward(xin, conv.weight.value, conv.bias?.value, geo.planned(by: conv.plans))
            _ = convForward(xin, conv.weight.value, conv.bias?.value, geo.planned(by: conv.plans))
            let oneCall = convForward(xin, conv.weight.value, conv.bias?.value, geo)
            XCTAssertEqual(planned.scalars.map(\.bitPattern), oneCall.scalars.map(\.bitPattern))
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
    }

    /// The check above can fail: a plan handed the same generation for changed weights keeps the old
    /// packing (this is what the generation bump on every write access prevents).
    func testStaleGenerationWouldGiveOldResults() {
        var rng = SplitMix64(seed: 9)
        let x = Tensor(randomNormal: [1, 12, 12, 32], using: &rng)
        var w = Tensor(randomNormal: [3, 3, 32, 32], std: 0.1, using: &rng)
        var s = ConvGeometry(input: x.shape, filter: w.shape, strides: (1, 1), padding: .symmetric(1)).raw
        let plan = ConvPlan(s)
        let y0 = Tensor(uninitializedShape: [1, 12, 12, 32]), y1 = Tensor(uninitializedShape: [1, 12, 12, 32])
        let y2 = Tensor(uninitializedShape: [1, 12, 12, 32])
        let gen = w.storage.generation
        i2i_conv_plan_forward(plan.raw, x.pointer, w.pointer, gen, nil, y0.uncheckedMutablePointer)
        w.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] *= 2 } }
        XCTAssertNotEqual(w.storage.generation, gen, "a write access takes a new generation")
        i2i_conv_plan_forward(plan.raw, x.pointer, w.pointer, gen, nil, y1.uncheckedMutablePointer)
        XCTAssertEqual(y1.scalars, y0.scalars, "same generation: the old packing is used")
        i2i_conv_plan_forward(plan.raw, x.pointer, w.pointer, w.storage.generation, nil, y2.uncheckedMutablePointer)
        XCTAssertEqual(y2.scalars.map { $0 / 2 }, y0.scalars.map { $0 }, "new generation: repacked")
        XCTAssertEqual(plan.repacks, 2)
        i2i_conv2d_forward(&s, x.pointer, w.pointer, nil, y0.uncheckedMutablePointer)
        XCTAssertEqual(y0.scalars, y2.scalars)
    }

    private var rngForChecks = SplitMix64(seed: 11)
}
