// GAN losses, the WGAN-GP penalty (second derivatives vs central finite differences), weight
// clipping and the image pool.
import Autograd
import Foundation
import NN
import TensorCore
@testable import Training
@testable import Trainers
import Evaluation
import XCTest

/// A tiny smooth critic (tanh, so finite differences are meaningful): [N,8,8,3] -> [N,3,3,1].
func tinyCritic(seed: UInt64) -> Sequential {
    var rng = SplitMix64(seed: seed)
    let net = Sequential([Conv2D(inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 1), Tanh(),
                          Conv2D(inChannels: 4, outChannels: 1, kernelSize: 2, stride: 1, padding: 0)])
    for p in net.parameters { p.value = Tensor(randomNormal: p.shape, std: 0.5, using: &rng) }
    return net
}

final class LossTests: XCTestCase {
    func testGANLossModes() {
        let pred = Variable(Tensor(shape: [2, 1, 1, 2], scalars: [0.5, -1, 2, 0]))
        XCTAssertEqual(GANLoss(.lsgan)(pred, targetIsReal: true).value.scalar, (0.25 + 4 + 1 + 1) / 4, accuracy: 1e-6)
        XCTAssertEqual(GANLoss(.lsgan)(pred, targetIsReal: false).value.scalar, (0.25 + 1 + 4 + 0) / 4, accuracy: 1e-6)
        let bce: (Float, Float) -> Float = { x, t in max(x, 0) - x * t + log1p(exp(-abs(x))) }
        let vals: [Float] = [0.5, -1, 2, 0]
        XCTAssertEqual(GANLoss(.vanilla)(pred, targetIsReal: true).value.scalar, vals.map { bce($0, 1) }.reduce(0, +) / 4, accuracy: 1e-6)
        XCTAssertEqual(GANLoss(.vanilla)(pred, targetIsReal: false).value.scalar, vals.map { bce($0, 0) }.reduce(0, +) / 4, accuracy: 1e-6)
        XCTAssertEqual(GANLoss(.wgangp)(pred, targetIsReal: true).value.scalar, -0.375, accuracy: 1e-7)
        XCTAssertEqual(GANLoss(.wgan)(pred, targetIsReal: false).value.scalar, 0.375, accuracy: 1e-7)
    }

    /// The penalty's gradient w.r.t. the critic's parameters (which needs the derivative of
    /// a gradient: createGraph) against central finite differences of the penalty itself.
    func testGradientPenaltyParameterGradientMatchesFiniteDifferences() {
        let critic = tinyCritic(seed: 5)
        var rng = SplitMix64(seed: 9)
        let real = Tensor(randomUniform: [2, 8, 8, 3], low: -1, high: 1, using: &rng)
        let fake = Tensor(randomUniform: [2, 8, 8, 3], low: -1, high: 1, using: &rng)
        let alpha: [Float] = [0.3, 0.8]
        func penalty() -> Variable {
            var unused = SplitMix64(seed: 0)
            return gradientPenalty(critic: { critic($0) }, real: real, fake: fake, alpha: alpha, using: &unused)
        }
        critic.zeroGrad()
        let gp = penalty()
        XCTAssertGreaterThan(gp.value.scalar, 0)
        gp.backward()
        var maxRel: Double = 0
        for p in critic.parameters {
            let analytic = p.grad ?? Tensor(zeros: p.shape)   // the last bias does not reach dD/dx
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 7)) {
                let h: Float = 1e-2
                let orig = p.value[flat: i]
                func setValue(_ x: Float) { p.update { v in v.withUnsafeMutableBufferPointer { $0[i] = x } } }
                setValue(orig + h); let up = Double(penalty().value.scalar)
                setValue(orig - h); let down = Double(penalty().value.scalar)
                setValue(orig)
                let fd = (up - down) / Double(2 * h)
                let a = Double(analytic[flat: i])
                let rel = abs(fd - a) / max(abs(fd), 0.05)
                maxRel = max(maxRel, rel)
                XCTAssertLessThan(rel, 3e-2, "param \(p.shape) elt \(i): analytic \(a) fd \(fd)")
            }
        }
        print("gradient penalty: max relative error vs central differences \(maxRel)")
    }

    /// GP value written out: ||d sum D(x)/dx|| for a linear critic D(x) = sum(w * x) is ||w|| per sample.
    func testGradientPenaltyOfLinearCritic() {
        let w = Variable(Tensor(shape: [1, 2, 2, 1], scalars: [0.5, -1, 2, 0.25]), requiresGrad: true)
        let real = Tensor(ones: [3, 2, 2, 1]), fake = Tensor(zeros: [3, 2, 2, 1])
        var rng = SplitMix64(seed: 1)
        let gp = gradientPenalty(critic: { sum($0 * w, alongAxes: [1, 2, 3]) }, real: real, fake: fake, using: &rng)
        let norm = (0.25 + 1 + 4 + 0.0625).squareRoot()
        XCTAssertEqual(Double(gp.value.scalar), 10 * (norm - 1) * (norm - 1), accuracy: 1e-4)
        gp.backward()
        // d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
        let expected = [0.5, -1, 2, 0.25].map { 20 * (norm - 1) * $0 / norm }
        for i in 0..<4 { XCTAssertEqual(Double(w.grad![flat: i]), expected[i], accuracy: 1e-4) }
    }

    func testClipWeights() {
        let p = Variable(Tensor(shape: [4], scalars: [-1, 0.005, 0.5, -0.002]), requiresGrad: true)
        clipWeights([p], 0.01)
        XCTAssertEqual(p.value.scalars, [-0.01, 0.005, 0.01, -0.002])
    }

    func testImagePool() {
        let off = ImagePool(poolSize: 0, seed: 1)
        let x = Tensor(shape: [2, 1, 1, 1], scalars: [1, 2])
        XCTAssertEqual(off.query(x).scalars, [1, 2])

        let pool = ImagePool(poolSize: 3, seed: 7)
        // filling: returns the new images and stores them
        XCTAssertEqual(pool.query(Tensor(shape: [2, 1, 1, 1], scalars: [1, 2])).scalars, [1, 2])
        XCTAssertEqual(pool.query(Tensor(shape: [1, 1, 1, 1], scalars: [3])).scalars, [3])
        XCTAssertEqual(pool.images.count, 3)
        // full: each returned image is either the new one or a stored one, which the new one replaces
        var swapped = 0
        for k in 0..<200 {
            let v = Float(10 + k)
            let before = pool.images.map { $0.scalar }
            let out = pool.query(Tensor(shape: [1, 1, 1, 1], scalars: [v])).scalar
            let after = pool.images.map { $0.scalar }
            if out == v { XCTAssertEqual(before, after) } else {
                swapped += 1
                let i = before.firstIndex(of: out)!
                XCTAssertEqual(after[i], v)
            }
        }
        XCTAssertGreaterThan(swapped, 70); XCTAssertLessThan(swapped, 130)  // probability 0.5
        // state round trip
        let copy = ImagePool(poolSize: 3, seed: 0)
        copy.restore(stacked: pool.stacked, rngState: pool.rng.state)
        let q = Tensor(shape: [2, 1, 1, 1], scalars: [-5, -6])
        XCTAssertEqual(copy.query(q).scalars, pool.query(q).scalars)
    }
}
