// Every op through OpTestCase: forward vs the Double reference over a sweep of odd shapes,
// gradients vs finite differences in Double, and second derivatives where WGAN-GP needs them.
import XCTest
import TensorCore
@testable import Autograd

final class OpTests: XCTestCase {
    // MARK: Convolution family

    func testConv2DForwardSweep() {
        // Channel counts around the kernels' tiles (1, tile-1, tile, tile+1, prime); forward only.
        for (c, oc) in [(1, 1), (3, 15), (16, 16), (17, 17), (5, 31)] {
            for (k, s, pad) in [(1, 1, (0, 0, 0, 0)), (3, 1, (1, 1, 1, 1)), (4, 2, (1, 1, 1, 1)), (7, 1, (3, 3, 3, 3)), (3, 2, (0, 1, 1, 0))] {
                let (n, h, w) = (2, 9, 7)
                var t = OpTestCase("conv2d k\(k) s\(s)", shapes: [[n, h, w, c], [k, k, c, oc], [oc]], op: { v in
                    conv2d(v[0], v[1], bias: v[2], strides: (s, s), padding: ConvPadding(top: pad.0, left: pad.1, bottom: pad.2, right: pad.3))
                }, reference: { x in
                    Reference.conv(x[0], x[1], x[2], n: n, h: h, w: w, c: c, kh: k, kw: k, oc: oc, stride: (s, s), pad: pad)
                })
                t.differentiable = [false, false, false]
                t.run()
            }
        }
    }

    func testConv2DGradients() {
        for (k, s, pad, bias) in [(3, 1, (1, 1, 1, 1), true), (4, 2, (1, 2, 2, 1), false), (1, 1, (0, 0, 0, 0), true),
                                  (5, 2, (2, 2, 2, 2), true), (7, 1, (3, 3, 3, 3), false)] {
            let (n, h, w, c, oc) = (2, 6, 5, 3, 2)
            let shapes = bias ? [[n, h, w, c], [k, k, c, oc], [oc]] : [[n, h, w, c], [k, k, c, oc]]
            OpTestCase("conv2d grad k\(k) s\(s)", shapes: shapes, op: { v in
                conv2d(v[0], v[1], bias: bias ? v[2] : nil, strides: (s, s),
                       padding: ConvPadding(top: pad.0, left: pad.1, bottom: pad.2, right: pad.3))
            }, reference: { x in
                Reference.conv(x[0], x[1], bias ? x[2] : nil, n: n, h: h, w: w, c: c, kh: k, kw: k, oc: oc, stride: (s, s), pad: pad)
            }).run()
        }
    }

    func testConv2DSecondOrder() {
        // conv -> leakyReLU -> conv: the Hessian-vector product mixes x and both weights.
        let (n, h, w, c, m, oc) = (1, 5, 5, 2, 3, 2)
        var t = OpTestCase("conv-leaky-conv HVP", shapes: [[n, h, w, c], [3, 3, c, m], [3, 3, m, oc]], op: { v in
            conv2d(leakyReLU(conv2d(v[0], v[1], strides: (2, 2), padding: .symmetric(1)), slope: 0.2), v[2], padding: .symmetric(1))
        }, reference: { x in
            let a = Reference.leaky(Reference.conv(x[0], x[1], nil, n: n, h: h, w: w, c: c, kh: 3, kw: 3, oc: m,
                                                   stride: (2, 2), pad: (1, 1, 1, 1)), 0.2)
            return Reference.conv(a, x[2], nil, n: n, h: 3, w: 3, c: m, kh: 3, kw: 3, oc: oc, stride: (1, 1), pad: (1, 1, 1, 1))
        })
        t.checkSecondOrder = true
        t.run()
    }

    func testConvTranspose2D() {
        for (k, s, p, op) in [(3, 2, 1, 1), (4, 2, 1, 0), (3, 2, 0, 0), (4, 2, 2, 1)] {
            let (n, hi, wi, cin, cout) = (2, 3, 4, 3, 2)
            var t = OpTestCase("convTranspose2d k\(k) p\(p) op\(op)", shapes: [[n, hi, wi, cin], [k, k, cout, cin], [cout]], op: { v in
                convTranspose2d(v[0], v[1], bias: v[2], strides: (s, s), padding: (p, p), outputPadding: (op, op))
            }, reference: { x in
                Reference.convTranspose(x[0], x[1], x[2], n: n, hi: hi, wi: wi, cin: cin, cout: cout, k: k, stride: s, pad: p, outPad: op)
            })
            t.checkSecondOrder = k == 3 && p == 1
            t.run()
        }
    }

    // MARK: Padding, upsampling, concat, reshape

    func testPadding() {
        for (mode, rmode) in [(PaddingMode.zero, Reference.PadMode.zero), (.reflect, .reflect), (.replicate, .replicate)] {
            for (t, l, b, r) in [(1, 1, 1, 1), (3, 3, 3, 3), (0, 2, 1, 3)] {
                let (n, h, w, c) = (2, 5, 4, 3)
                OpTestCase("pad \(mode)", shapes: [[n, h, w, c]], op: { v in
                    pad(v[0], ConvPadding(top: t, left: l, bottom: b, right: r), mode: mode)
                }, reference: { x in Reference.pad(x[0], n: n, h: h, w: w, c: c, t: t, l: l, b: b, r: r, mode: rmode) }).run()
            }
        }
    }

    func testUpsample() {
        let (n, h, w, c) = (2, 3, 4, 3)
        let modes: [(UpsampleMode, Bool, Bool)] = [(.nearest, false, false), (.bilinear(alignCorners: true), true, true),
                                                   (.bilinear(alignCorners: false), true, false)]
        for (mode, bil, ac) in modes {
            for (oh, ow) in [(6, 8), (7, 5), (1, 1), (3, 4)] {
                OpTestCase("upsample \(mode) \(oh)x\(ow)", shapes: [[n, h, w, c]], op: { v in
                    upsample(v[0], size: (oh, ow), mode: mode)
                }, reference: { x in
                    Reference.upsample(x[0], n: n, h: h, w: w, c: c, oh: oh, ow: ow, bilinear: bil, alignCorners: ac)
                }).run()
            }
        }
    }

    func testConcatSliceReshape() {
        OpTestCase("concat channels", shapes: [[2, 3, 2, 3], [2, 3, 2, 1], [2, 3, 2, 4]], op: { v in concat(v, axis: -1) },
                   reference: { x in
            var y: [Double] = []
            for r in 0..<12 {
                y.append(contentsOf: x[0][r * 3..<r * 3 + 3])
                y.append(x[1][r])
                y.append(contentsOf: x[2][r * 4..<r * 4 + 4])
            }
            return y
        }).run()
        OpTestCase("concat axis 1", shapes: [[2, 3, 2], [2, 1, 2]], op: { v in concat(v, axis: 1) }, reference: { x in
            Array(x[0][0..<6] + x[1][0..<2] + x[0][6..<12] + x[1][2..<4])
        }).run()
        OpTestCase("reshape", shapes: [[2, 3, 4]], op: { v in reshape(v[0], [4, -1]) * v[0].reshaped([4, 6]) },
                   reference: { x in x[0].map { $0 * $0 } }).run()
    }

    // MARK: Norms

    func testInstanceNorm() {
        for (shape, affine) in [([2, 5, 4, 3], true), ([1, 7, 7, 17], false), ([3, 1, 3, 16], true), ([2, 4, 4, 1], false)] {
            let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
            var t = OpTestCase("instanceNorm affine=\(affine)", shapes: affine ? [shape, [c], [c]] : [shape], op: { v in
                affine ? instanceNorm(v[0], gamma: v[1], beta: v[2]) : instanceNorm(v[0])
            }, reference: { x in Reference.norm(x[0], g: n, m: h * w, c: c, gamma: affine ? x[1] : nil, beta: affine ? x[2] : nil) })
            t.gradientTolerance = 5e-4
            t.checkSecondOrder = shape[3] <= 3
            t.secondOrderTolerance = 5e-3
            t.run()
        }
    }

    func testLayerNormComposite() {
        let shape = [2, 3, 2, 2]
        var t = OpTestCase("layerNorm", shapes: [shape, [2], [2]], op: { v in layerNorm(v[0], gamma: v[1], beta: v[2]) },
                           reference: { x in Reference.norm(x[0], g: 2, m: 12, c: 1, gamma: nil, beta: nil).enumerated().map {
                               $0.element * x[1][$0.offset % 2] + x[2][$0.offset % 2] } })
        t.gradientTolerance = 5e-4
        t.checkSecondOrder = true
        t.secondOrderTolerance = 5e-3
        t.run()
    }

    func testBatchNormTraining() {
        for (shape, affine) in [([3, 4, 5, 6], true), ([2, 3, 3, 17], false)] {
            let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
            var t = OpTestCase("batchNorm train", shapes: affine ? [shape, [c], [c]] : [shape], op: { v in
                var st = BatchNormStatistics(channels: c)
                return batchNorm(v[0], gamma: affine ? v[1] : nil, beta: affine ? v[2] : nil, statistics: &st, training: true)
            }, reference: { x in Reference.norm(x[0], g: 1, m: n * h * w, c: c, gamma: affine ? x[1] : nil, beta: affine ? x[2] : nil) })
            t.gradientTolerance = 5e-4
            t.run()
        }
    }

    func testBatchNormRunningStatsAndEval() {
        var rng = SplitMix64(seed: 3)
        let x = Tensor(randomNormal: [4, 3, 3, 2], mean: 2, std: 3, using: &rng)
        var st = BatchNormStatistics(channels: 2)
        _ = batchNorm(Variable(x), statistics: &st, training: true)
        let xs = x.scalars.map(Double.init)
        for c in 0..<2 {
            let vals = stride(from: c, to: xs.count, by: 2).map { xs[$0] }
            let mu = vals.reduce(0, +) / Double(vals.count)
            let unbiased = vals.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(vals.count - 1)
            XCTAssertEqual(Double(st.runningMean.scalars[c]), 0.1 * mu, accuracy: 1e-5)
            XCTAssertEqual(Double(st.runningVar.scalars[c]), 0.9 + 0.1 * unbiased, accuracy: 1e-4)
        }
        // Eval uses the running statistics.
        let gamma = Variable(Tensor(shape: [2], scalars: [1.5, -0.5]), requiresGrad: true)
        let beta = Variable(Tensor(shape: [2], scalars: [0.1, 0.2]), requiresGrad: true)
        let y = batchNorm(Variable(x), gamma: gamma, beta: beta, statistics: &st, training: false)
        for i in [0, 1, 7, 70] {
            let c = i % 2
            let expect = (x.scalars[i] - st.runningMean.scalars[c]) / (st.runningVar.scalars[c] + 1e-5).squareRoot()
                * gamma.value.scalars[c] + beta.value.scalars[c]
            XCTAssertEqual(y.value.scalars[i], expect, accuracy: 1e-5)
        }
        let (rm, rv) = (st.runningMean.scalars.map(Double.init), st.runningVar.scalars.map(Double.init))
        OpTestCase("batchNorm eval", shapes: [[2, 3, 2, 2], [2], [2]], op: { v in
            batchNorm(v[0], gamma: v[1], beta: v[2], statistics: &st, training: false)
        }, reference: { x in x[0].enumerated().map { i, v in
            (v - rm[i % 2]) / (rv[i % 2] + 1e-5).squareRoot() * x[1][i % 2] + x[2][i % 2] } }).run()
    }

    // MARK: Activations and math

    /// An infinite gradient where ReLU is off gives 0 (PyTorch's threshold_backward), not inf * 0;
    /// LeakyReLU scales it.
    func testReLUGradientIsASelect() {
        let x = Variable(Tensor(shape: [4], scalars: [-1, 0, 2, -0.5]), requiresGrad: true)
        relu(x).backward(seed: Tensor(shape: [4], scalars: [.infinity, -.infinity, 3, .nan]))
        XCTAssertEqual(x.grad!.scalars.map(\.bitPattern), [Float(0), 0, 3, 0].map(\.bitPattern))
        let z = Variable(Tensor(shape: [2], scalars: [-1, 1]), requiresGrad: true)
        leakyReLU(z, slope: 0.2).backward(seed: Tensor(shape: [2], scalars: [.infinity, 1]))
        XCTAssertEqual(z.grad!.scalars, [.infinity, 1])
    }

    func testActivations() {
        let shape = [2, 3, 3, 5]
        OpTestCase("relu", shapes: [shape], op: { relu($0[0]) }, reference: { Reference.leaky($0[0], 0) }).run()
        OpTestCase("leakyReLU", shapes: [shape], op: { leakyReLU($0[0], slope: 0.2) }, reference: { Reference.leaky($0[0], 0.2) }).run()
        var t = OpTestCase("tanh", shapes: [shape], op: { tanh(scale($0[0], 2)) }, reference: { $0[0].map { Foundation.tanh(2 * $0) } })
        t.checkSecondOrder = true
        t.run()
        var s = OpTestCase("sigmoid", shapes: [shape], op: { sigmoid(scale($0[0], 3)) },
                           reference: { $0[0].map { 1 / (1 + Foundation.exp(-3 * $0)) } })
        s.checkSecondOrder = true
        s.run()
    }

    func testMath() {
        let positive: (Int, Int, inout SplitMix64) -> [Float] = { _, n, rng in (0..<n).map { _ in Float.random(in: 0.5..<2, using: &rng) } }
        var t = OpTestCase("sqrt", shapes: [[3, 4]], op: { sqrt($0[0]) }, reference: { $0[0].map { $0.squareRoot() } })
        t.generate = positive; t.checkSecondOrder = true; t.run()
        t = OpTestCase("rsqrt", shapes: [[3, 4]], op: { rsqrt($0[0]) }, reference: { $0[0].map { 1 / $0.squareRoot() } })
        t.generate = positive; t.checkSecondOrder = true; t.run()
        t = OpTestCase("pow 3", shapes: [[3, 4]], op: { pow($0[0], 3) }, reference: { $0[0].map { $0 * $0 * $0 } })
        t.checkSecondOrder = true; t.run()
        t = OpTestCase("log", shapes: [[3, 4]], op: { log($0[0]) }, reference: { $0[0].map { Foundation.log($0) } })
        t.generate = positive; t.checkSecondOrder = true; t.run()
        t = OpTestCase("exp", shapes: [[3, 4]], op: { exp($0[0]) }, reference: { $0[0].map { Foundation.exp($0) } })
        t.checkSecondOrder = true; t.run()
        OpTestCase("abs", shapes: [[3, 4]], op: { abs($0[0]) }, reference: { $0[0].map { Swift.abs($0) } }).run()
        t = OpTestCase("square", shapes: [[3, 4]], op: { square($0[0]) }, reference: { $0[0].map { $0 * $0 } })
        t.checkSecondOrder = true; t.run()
    }

    func testBroadcastArithmetic() {
        let a = [2, 3, 4, 5]
        for b in [[2, 3, 4, 5], [5], [2, 1, 1, 5], [], [3, 1, 1], [2, 1, 4, 1]] {
            let out = Tensor.broadcastShape(a, b)
            func bIndex(_ i: Int) -> Int {   // index into b of output element i
                var rem = i, idx = 0, mul = 1
                let pb = Array(repeating: 1, count: out.count - b.count) + b
                for d in stride(from: out.count - 1, through: 0, by: -1) {
                    let k = rem % out[d]; rem /= out[d]
                    if pb[d] != 1 { idx += k * mul }
                    mul *= pb[d]
                }
                return idx
            }
            let nonzero: (Int, Int, inout SplitMix64) -> [Float] = { _, n, rng in
                (0..<n).map { _ in Float.random(in: 0.5..<1.5, using: &rng) * (Bool.random(using: &rng) ? 1 : -1) } }
            typealias VF = (Variable, Variable) -> Variable
            typealias DF = (Double, Double) -> Double
            let table: [(String, VF, DF)] = [("add", add, { $0 + $1 }), ("sub", sub, { $0 - $1 }),
                                             ("mul", mul, { $0 * $1 }), ("div", div, { $0 / $1 })]
            for (name, f, rf) in table {
                var t = OpTestCase("\(name) \(a) \(b)", shapes: [a, b], op: { v in f(v[0], v[1]) }, reference: { x in
                    x[0].enumerated().map { i, v in rf(v, x[1][bIndex(i)]) }
                })
                t.generate = nonzero
                t.checkSecondOrder = name == "mul" && b == [5]
                t.run()
            }
        }
        OpTestCase("scalar ops", shapes: [[3, 2]], op: { v in (2 * v[0] + 1) / 4 - 0.5 }, reference: { x in
            x[0].map { (2 * $0 + 1) / 4 - 0.5 } }).run()
    }

    func testReductions() {
        let s = [2, 3, 4, 5]
        OpTestCase("sum all", shapes: [s], op: { sum($0[0]) }, reference: { [$0[0].reduce(0, +)] }).run()
        OpTestCase("mean all", shapes: [s], op: { mean($0[0]) }, reference: { [$0[0].reduce(0, +) / 120] }).run()
        OpTestCase("mean HW keep", shapes: [s], op: { mean($0[0], alongAxes: [1, 2], keepingDims: true) }, reference: { x in
            var y = [Double](repeating: 0, count: 10)
            for i in 0..<120 { y[(i / 60) * 5 + i % 5] += x[0][i] / 12 }
            return y
        }).run()
        OpTestCase("sum N,H,W", shapes: [s], op: { sum($0[0], alongAxes: [0, 1, 2]) }, reference: { x in
            var y = [Double](repeating: 0, count: 5)
            for i in 0..<120 { y[i % 5] += x[0][i] }
            return y
        }).run()
        OpTestCase("sum axis 3", shapes: [s], op: { sum($0[0], alongAxes: [-1]) }, reference: { x in
            (0..<24).map { r in x[0][r * 5..<r * 5 + 5].reduce(0, +) } }).run()
    }

    // MARK: Linear, embedding, losses, dropout

    func testLinearAndMatmul() {
        for (n, i, o) in [(1, 1, 1), (3, 5, 4), (2, 17, 16)] {
            var t = OpTestCase("linear \(n)x\(i)->\(o)", shapes: [[n, i], [o, i], [o]], op: { v in linear(v[0], weight: v[1], bias: v[2]) },
                               reference: { x in Reference.linear(x[0], x[1], x[2], n: n, inF: i, outF: o) })
            t.checkSecondOrder = n == 3
            t.run()
        }
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (m, k, n) = (3, 4, 2)
            var t = OpTestCase("matmul \(ta) \(tb)", shapes: [ta ? [k, m] : [m, k], tb ? [n, k] : [k, n]], op: { v in
                matmul(v[0], v[1], transposeA: ta, transposeB: tb)
            }, reference: { x in
                var y = [Double](repeating: 0, count: m * n)
                for r in 0..<m { for c in 0..<n { for q in 0..<k {
                    y[r * n + c] += (ta ? x[0][q * m + r] : x[0][r * k + q]) * (tb ? x[1][c * k + q] : x[1][q * n + c])
                } } }
                return y
            })
            t.checkSecondOrder = true
            t.run()
        }
    }

    func testEmbedding() {
        let idx = [2, 0, 2, 4, 1, 3]
        OpTestCase("embedding", shapes: [[5, 3]], op: { v in embedding(idx, shape: [2, 3], table: v[0]) }, reference: { x in
            idx.flatMap { x[0][$0 * 3..<$0 * 3 + 3] } }).run()
    }

    func testLosses() {
        let s = [2, 3, 3, 2]
        OpTestCase("mse", shapes: [s, s], op: { mseLoss($0[0], $0[1]) }, reference: { x in
            var acc = 0.0
            for i in 0..<36 { let d = x[0][i] - x[1][i]; acc += d * d }
            return [acc / 36]
        }).run()
        OpTestCase("l1", shapes: [s, s], op: { l1Loss($0[0], $0[1]) }, reference: { x in
            var acc = 0.0
            for i in 0..<36 { acc += Swift.abs(x[0][i] - x[1][i]) }
            return [acc / 36]
        }).run()
        let bce: ([Double], [Double]) -> Double = { x, t in
            var acc = 0.0
            for i in 0..<x.count {
                let p = 1 / (1 + Foundation.exp(-x[i]))
                acc -= t[i] * Foundation.log(p) + (1 - t[i]) * Foundation.log(1 - p)
            }
            return acc / Double(x.count)
        }
        var t = OpTestCase("bceWithLogits", shapes: [s, s], op: { bceWithLogitsLoss($0[0], $0[1]) }, reference: { x in
            [bce(x[0].map { 4 * $0 }, x[1].map { ($0 + 1) / 2 })] })
        t.op = { v in bceWithLogitsLoss(scale(v[0], 4), scale(v[1] + 1, 0.5)) }
        t.checkSecondOrder = true
        t.run()
        OpTestCase("bceWithLogits scalar target", shapes: [s], op: { bceWithLogitsLoss(scale($0[0], 4), target: 1) }, reference: { x in
            [bce(x[0].map { 4 * $0 }, Array(repeating: 1, count: 36))] }).run()
        // Stability: huge logits give finite, exact values.
        let big = Variable(Tensor(shape: [2], scalars: [100, -100]), requiresGrad: true)
        let l = bceWithLogitsLoss(big, Variable(Tensor(shape: [2], scalars: [0, 1])))
        XCTAssertEqual(l.value.scalar, 100, accuracy: 1e-4)
        l.backward()
        XCTAssertEqual(big.grad!.scalars, [0.5, -0.5])
    }

    func testDropout() {
        let x = Variable(Tensor(ones: [4, 8, 8, 4]), requiresGrad: true)
        var r1 = SplitMix64(seed: 5), r2 = SplitMix64(seed: 5)
        XCTAssert(dropout(x, probability: 0.5, training: false, using: &r1) === x)
        let a = dropout(x, probability: 0.25, training: true, using: &r1)
        let b = dropout(x, probability: 0.25, training: true, using: &r2)
        XCTAssertEqual(a.value.scalars, b.value.scalars, "same seed, same mask")
        XCTAssert(a.value.scalars.allSatisfy { $0 == 0 || Swift.abs($0 - 4 / 3) < 1e-6 })
        let kept = Double(a.value.scalars.filter { $0 != 0 }.count) / 1024
        XCTAssertEqual(kept, 0.75, accuracy: 0.05)
        sum(a).backward()
        XCTAssertEqual(x.grad!.scalars, a.value.scalars)
    }
}

import Foundation
