// Every op other than conv (whose sweep is in OpTests and KernelTests) over the odd sizes of the
// kernels' tiles: channel counts 1, 15, 16, 17 and the prime 31 around the 16-float vectors, forward
// against the Double reference and gradients against finite differences (OpTestCase); then one shape
// large enough to be split across threads (forward only: finite differences there would take
// minutes in debug).
import XCTest
import TensorCore
@testable import Autograd

final class OpSweepTests: XCTestCase {
    let channels = [1, 15, 16, 17, 31]
    /// [N, H, W, C] with a small odd image; [2, 41, 41, 31] (104,222 floats) is the threaded shape.
    func shapes(_ c: Int) -> [Int] { [2, 3, 2, c] }
    let big = [2, 41, 41, 31]

    private func sweep(_ name: String, inputs: Int = 1, gradients: Bool = true, generate: ((Int, Int, inout SplitMix64) -> [Float])? = nil,
                       tolerance: Double = 1e-5, gradientTolerance: Double = 1e-4,
                       op: @escaping ([Variable]) -> Variable, reference: @escaping ([[Double]]) -> [Double]) {
        for c in channels {
            var t = OpTestCase("\(name) C\(c)", shapes: Array(repeating: shapes(c), count: inputs), op: op, reference: reference)
            t.generate = generate
            t.forwardTolerance = tolerance
            t.gradientTolerance = gradientTolerance
            if !gradients { t.differentiable = Array(repeating: false, count: inputs) }
            t.run()
        }
        var t = OpTestCase("\(name) \(big)", shapes: Array(repeating: big, count: inputs), op: op, reference: reference)
        t.generate = generate
        t.forwardTolerance = tolerance
        t.differentiable = Array(repeating: false, count: inputs)
        t.run()
    }

    let positive: (Int, Int, inout SplitMix64) -> [Float] = { _, n, rng in (0..<n).map { _ in Float.random(in: 0.5..<2, using: &rng) } }
    let nonzero: (Int, Int, inout SplitMix64) -> [Float] = { _, n, rng in
        (0..<n).map { _ in Float.random(in: 0.5..<1.5, using: &rng) * (Bool.random(using: &rng) ? 1 : -1) } }

    func testActivationsSweep() {
        sweep("relu", op: { relu($0[0]) }, reference: { Reference.leaky($0[0], 0) })
        sweep("leakyReLU", op: { leakyReLU($0[0], slope: 0.2) }, reference: { Reference.leaky($0[0], 0.2) })
        sweep("tanh", op: { tanh(scale($0[0], 3)) }, reference: { $0[0].map { Foundation.tanh(3 * $0) } })
        sweep("sigmoid", op: { sigmoid(scale($0[0], 5)) }, reference: { $0[0].map { 1 / (1 + Foundation.exp(-5 * $0)) } })
    }

    func testMathSweep() {
        sweep("square", op: { square($0[0]) }, reference: { $0[0].map { $0 * $0 } })
        sweep("sqrt", generate: positive, op: { sqrt($0[0]) }, reference: { $0[0].map { $0.squareRoot() } })
        sweep("rsqrt", generate: positive, op: { rsqrt($0[0]) }, reference: { $0[0].map { 1 / $0.squareRoot() } })
        sweep("abs", generate: nonzero, op: { abs($0[0]) }, reference: { $0[0].map { Swift.abs($0) } })
        sweep("scalar ops", op: { (2 * $0[0] + 1) / 4 - 0.5 }, reference: { $0[0].map { (2 * $0 + 1) / 4 - 0.5 } })
        sweep("negate", op: { -$0[0] }, reference: { $0[0].map { -$0 } })
    }

    func testArithmeticSweep() {
        for (name, f, rf) in [("add", add, { (a: Double, b: Double) in a + b }), ("sub", sub, { $0 - $1 }),
                              ("mul", mul, { $0 * $1 }), ("div", div, { $0 / $1 })] as [(String, (Variable, Variable) -> Variable, (Double, Double) -> Double)] {
            sweep(name, inputs: 2, generate: nonzero, op: { f($0[0], $0[1]) }, reference: { x in zip(x[0], x[1]).map(rf) })
            // Broadcast of a per-channel vector [C] (bias, norms) and of a per-image [N,1,1,C].
            for c in channels {
                var t = OpTestCase("\(name) [C] C\(c)", shapes: [shapes(c), [c]], op: { f($0[0], $0[1]) }, reference: { x in
                    x[0].enumerated().map { rf($0.element, x[1][$0.offset % c]) } })
                t.generate = nonzero
                t.run()
                var u = OpTestCase("\(name) [N,1,1,C] C\(c)", shapes: [shapes(c), [2, 1, 1, c]], op: { f($0[0], $0[1]) },
                                   reference: { x in x[0].enumerated().map { i, v in rf(v, x[1][(i / (6 * c)) * c + i % c]) } })
                u.generate = nonzero
                u.run()
            }
        }
    }

    func testReductionsSweep() {
        sweep("sum", op: { sum($0[0]) }, reference: { [$0[0].reduce(0, +)] })
        sweep("mean", op: { mean($0[0]) }, reference: { x in [x[0].reduce(0, +) / Double(x[0].count)] })
        for c in channels {
            OpTestCase("sum N,H,W C\(c)", shapes: [shapes(c)], op: { sum($0[0], alongAxes: [0, 1, 2]) }, reference: { x in
                var y = [Double](repeating: 0, count: c)
                for (i, v) in x[0].enumerated() { y[i % c] += v }
                return y
            }).run()
            OpTestCase("mean H,W C\(c)", shapes: [shapes(c)], op: { mean($0[0], alongAxes: [1, 2], keepingDims: true) }, reference: { x in
                var y = [Double](repeating: 0, count: 2 * c)
                for (i, v) in x[0].enumerated() { y[(i / (6 * c)) * c + i % c] += v / 6 }
                return y
            }).run()
        }
    }

    func testNormsSweep() {
        for c in channels {
            let s = [2, 4, 3, c]
            var t = OpTestCase("instanceNorm C\(c)", shapes: [s, [c], [c]], op: { v in instanceNorm(v[0], gamma: v[1], beta: v[2]) },
                               reference: { x in Reference.norm(x[0], g: 2, m: 12, c: c, gamma: x[1], beta: x[2]) })
            t.gradientTolerance = 5e-4
            t.run()
            var b = OpTestCase("batchNorm C\(c)", shapes: [s, [c], [c]], op: { v in
                var st = BatchNormStatistics(channels: c)
                return batchNorm(v[0], gamma: v[1], beta: v[2], statistics: &st, training: true)
            }, reference: { x in Reference.norm(x[0], g: 1, m: 24, c: c, gamma: x[1], beta: x[2]) })
            b.gradientTolerance = 5e-4
            b.run()
        }
        var t = OpTestCase("instanceNorm \(big)", shapes: [big], op: { instanceNorm($0[0]) },
                           reference: { x in Reference.norm(x[0], g: 2, m: 41 * 41, c: 31, gamma: nil, beta: nil) })
        t.differentiable = [false]
        t.run()
        var b = OpTestCase("batchNorm \(big)", shapes: [big], op: { v in
            var st = BatchNormStatistics(channels: 31)
            return batchNorm(v[0], statistics: &st, training: true)
        }, reference: { x in Reference.norm(x[0], g: 1, m: 2 * 41 * 41, c: 31, gamma: nil, beta: nil) })
        b.differentiable = [false]
        b.run()
    }

    func testPaddingConcatUpsampleSweep() {
        for (mode, rmode) in [(PaddingMode.zero, Reference.PadMode.zero), (.reflect, .reflect), (.replicate, .replicate)] {
            for c in channels {
                OpTestCase("pad \(mode) C\(c)", shapes: [[2, 4, 3, c]], op: { v in
                    pad(v[0], ConvPadding(top: 2, left: 1, bottom: 3, right: 2), mode: mode)
                }, reference: { x in Reference.pad(x[0], n: 2, h: 4, w: 3, c: c, t: 2, l: 1, b: 3, r: 2, mode: rmode) }).run()
            }
            var t = OpTestCase("pad \(mode) \(big)", shapes: [big], op: { v in pad(v[0], .symmetric(3), mode: mode) },
                               reference: { x in Reference.pad(x[0], n: 2, h: 41, w: 41, c: 31, t: 3, l: 3, b: 3, r: 3, mode: rmode) })
            t.differentiable = [false]
            t.run()
        }
        for c in channels {
            OpTestCase("concat C\(c)+3", shapes: [shapes(c), shapes(3)], op: { concat($0, axis: -1) }, reference: { x in
                var y: [Double] = []
                for r in 0..<12 {
                    y.append(contentsOf: x[0][(r * c)..<(r * c + c)])
                    y.append(contentsOf: x[1][(r * 3)..<(r * 3 + 3)])
                }
                return y
            }).run()
            for (mode, bil, ac) in [(UpsampleMode.nearest, false, false), (.bilinear(alignCorners: false), true, false),
                                    (.bilinear(alignCorners: true), true, true)] {
                OpTestCase("upsample \(mode) C\(c)", shapes: [shapes(c)], op: { upsample($0[0], size: (6, 5), mode: mode) },
                           reference: { x in Reference.upsample(x[0], n: 2, h: 3, w: 2, c: c, oh: 6, ow: 5, bilinear: bil, alignCorners: ac) }).run()
            }
        }
    }

    func testLinearEmbeddingLossesSweep() {
        for f in channels {
            OpTestCase("linear \(f)->\(f)", shapes: [[3, f], [f, f], [f]], op: { linear($0[0], weight: $0[1], bias: $0[2]) },
                       reference: { x in Reference.linear(x[0], x[1], x[2], n: 3, inF: f, outF: f) }).run()
            let idx = (0..<5).map { ($0 * 7) % 4 }
            OpTestCase("embedding D\(f)", shapes: [[4, f]], op: { embedding(idx, shape: [5], table: $0[0]) }, reference: { x in
                idx.flatMap { x[0][($0 * f)..<($0 * f + f)] } }).run()
        }
        sweep("mse", inputs: 2, op: { mseLoss($0[0], $0[1]) }, reference: { x in
            [zip(x[0], x[1]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(x[0].count)] })
        sweep("l1", inputs: 2, generate: nonzero, op: { l1Loss($0[0], $0[1]) }, reference: { x in
            [zip(x[0], x[1]).map { Swift.abs($0 - $1) }.reduce(0, +) / Double(x[0].count)] })
        sweep("bceWithLogits", inputs: 2, op: { bceWithLogitsLoss(scale($0[0], 4), scale($0[1] + 1, 0.5)) }, reference: { x in
            var acc = 0.0
            for i in x[0].indices {
                let z = 4 * x[0][i], t = (x[1][i] + 1) / 2
                acc += max(z, 0) - z * t + Foundation.log(1 + Foundation.exp(-Swift.abs(z)))
            }
            return [acc / Double(x[0].count)]
        })
    }

    func testDropoutSweep() {
        for c in channels + [big[3]] {
            let shape = c == big[3] ? big : shapes(c)
            var rng = SplitMix64(seed: UInt64(c))
            let x = Variable(Tensor(randomNormal: shape, mean: 0, std: 1, using: &rng), requiresGrad: true)
            var r1 = SplitMix64(seed: 9)
            let y = dropout(x, probability: 0.3, training: true, using: &r1)
            // The same stream drawn by hand: keep where u >= p, scaled by 1/(1-p).
            var r2 = SplitMix64(seed: 9)
            let mask = (0..<x.value.count).map { _ in Float.random(in: 0..<1, using: &r2) < 0.3 ? Float(0) : 1 / 0.7 }
            XCTAssertEqual(y.value.scalars, zip(x.value.scalars, mask).map { $0 * $1 }, "dropout C\(c)")
            sum(y).backward()
            XCTAssertEqual(x.grad!.scalars, mask, "dropout gradient C\(c)")
        }
    }
}

import Foundation
