// Spectral norm (as torch.nn.utils.spectral_norm) and the projection discriminator
// (Miyato & Koyama 2018) against naive references, and their configs and files.
import Foundation
import XCTest
import TensorCore
import Autograd
import NN
@testable import Models

/// Top singular value of a rows x cols matrix by power iteration on M^T M to convergence, in
/// Double (independent of SpectralNorm's code).
func topSingularValue(_ m: [Double], rows: Int, cols: Int) -> Double {
    var v = (0..<cols).map { Double($0 % 3) + 1 }
    var s = 0.0
    for _ in 0..<2000 {
        let mv = (0..<rows).map { i in (0..<cols).reduce(0.0) { $0 + m[i * cols + $1] * v[$1] } }
        let mtmv = (0..<cols).map { j in (0..<rows).reduce(0.0) { $0 + m[$1 * cols + j] * mv[$1] } }
        let n = mtmv.reduce(0) { $0 + $1 * $1 }.squareRoot()
        v = mtmv.map { $0 / n }
        s = n.squareRoot()
    }
    return s
}

final class SpectralNormTests: XCTestCase {
    func tensor(_ t: ModuleTensor) -> [Double] { t.pyTorchValue.scalars.map(Double.init) }

    func testLinearWeightIsDividedByItsTopSingularValue() {
        var rng = SplitMix64(seed: 1)
        let l = Linear(inFeatures: 7, outFeatures: 5)
        l.weight.value = Tensor(randomNormal: [5, 7], using: &rng)
        l.bias!.value = Tensor(randomNormal: [5], using: &rng)
        let w = l.weight.value.scalars.map(Double.init)
        let s = topSingularValue(w, rows: 5, cols: 7)
        let x = Variable(Tensor(randomNormal: [2, 7], using: &rng))
        let plain = l(x).value.scalars
        applySpectralNorm(l, using: &rng)
        XCTAssertEqual(l.namedTensors().map(\.name), ["bias", "weight_orig", "weight_u", "weight_v"], "torch's names and order")
        for _ in 0..<300 { _ = l(x) }                         // one power iteration per training forward
        XCTAssertEqual(Double(l.spectralNorm!.sigma(l.weight.value)), s, accuracy: 1e-4 * s)
        // sigma(W / sigma) = 1
        let normalized = w.map { $0 / s }
        XCTAssertEqual(topSingularValue(normalized, rows: 5, cols: 7), 1, accuracy: 1e-6)
        let y = l(x).value.scalars, b = l.bias!.value.scalars
        for n in 0..<2 { for o in 0..<5 {
            let ref = (0..<7).reduce(0.0) { $0 + normalized[o * 7 + $1] * Double(x.value.scalars[n * 7 + $1]) } + Double(b[o])
            XCTAssertEqual(Double(y[n * 5 + o]), ref, accuracy: 1e-4)
            XCTAssertNotEqual(y[n * 5 + o], plain[n * 5 + o], "spectral norm off would give the plain output")
        } }
    }

    func testConvVectorsAreInPyTorchsLayoutAndTestModeDoesNotIterate() {
        var rng = SplitMix64(seed: 2)
        let c = Conv2D(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, bias: false)
        c.weight.value = Tensor(randomNormal: [3, 3, 2, 3], using: &rng)
        applySpectralNorm(c, using: &rng)
        let x = Variable(Tensor(randomNormal: [1, 4, 4, 2], using: &rng))
        for _ in 0..<300 { _ = c(x) }
        let t = Dictionary(uniqueKeysWithValues: c.namedTensors().map { ($0.name, $0.tensor) })
        XCTAssertEqual(t["weight_orig"]!.pyTorchShape, [3, 2, 3, 3])
        XCTAssertEqual(t["weight_u"]!.value.shape, [3]); XCTAssertEqual(t["weight_v"]!.value.shape, [18])
        // W_mat = weight_orig as [OC, C*KH*KW] (PyTorch): W_mat v = sigma u holds for the stored
        // u, v only if v is in PyTorch's order
        let m = tensor(t["weight_orig"]!), u = tensor(t["weight_u"]!), v = tensor(t["weight_v"]!)
        let s = topSingularValue(m, rows: 3, cols: 18)
        XCTAssertEqual(Double(c.spectralNorm!.sigma(c.weight.value)), s, accuracy: 1e-4 * s)
        for i in 0..<3 {
            let mv = (0..<18).reduce(0.0) { $0 + m[i * 18 + $1] * v[$1] }
            XCTAssertEqual(mv, s * u[i], accuracy: 1e-3)
        }
        let shuffledV = v.enumerated().sorted { ($0.offset * 7) % 18 < ($1.offset * 7) % 18 }.map(\.element)
        XCTAssertNotEqual((0..<18).reduce(0.0) { $0 + m[$1] * shuffledV[$1] }, s * u[0], accuracy: 1e-3)

        // a reloaded state dict gives the same vectors; test mode uses them without iterating
        c.testMode()
        let before = (t["weight_u"]!.value.scalars, t["weight_v"]!.value.scalars)
        c.weight.value = c.weight.value * 2 + 0.1
        let y1 = c(x).value.scalars
        XCTAssertEqual(before.0, t["weight_u"]!.value.scalars); XCTAssertEqual(before.1, t["weight_v"]!.value.scalars)
        XCTAssertEqual(y1, c(x).value.scalars)
        c.train()
        _ = c(x)
        XCTAssertNotEqual(before.0, t["weight_u"]!.value.scalars, "training mode iterates")
    }

    func testGradientFlowsThroughSigma() {
        // d/dW of sum(W / sigma(W) x) differs from the plain 1/sigma * d/dW sum(W x): sigma depends on W
        var rng = SplitMix64(seed: 3)
        let l = Linear(inFeatures: 4, outFeatures: 3, bias: false)
        l.weight.value = Tensor(randomNormal: [3, 4], using: &rng)
        applySpectralNorm(l, using: &rng)
        let x = Variable(Tensor(randomNormal: [2, 4], using: &rng))
        for _ in 0..<100 { _ = l(x) }
        l.testMode()
        let sigma = l.spectralNorm!.sigma(l.weight.value)
        let g = gradients(of: sum(l(x)), wrt: [l.weight])[0].value.scalars
        // finite differences of f(W) = sum(x W^T) / (u^T W v) with u, v fixed (test mode)
        let w0 = l.weight.value.scalars
        for k in [0, 5, 11] {
            var wp = w0; wp[k] += 1e-2
            var wm = w0; wm[k] -= 1e-2
            l.weight.value = Tensor(shape: [3, 4], scalars: wp); let fp = sum(l(x)).value.scalar
            l.weight.value = Tensor(shape: [3, 4], scalars: wm); let fm = sum(l(x)).value.scalar
            l.weight.value = Tensor(shape: [3, 4], scalars: w0)
            XCTAssertEqual(g[k], (fp - fm) / 2e-2, accuracy: 2e-2)
            let plain = (0..<2).reduce(Float(0)) { $0 + x.value.scalars[$1 * 4 + k % 4] } / sigma
            XCTAssertGreaterThan(abs(g[k] - plain), 1e-3)
        }
    }

    func testProjectionDiscriminatorIsPsiPlusTheLabelsInnerProduct() throws {
        for sn in [false, true] {
            var rng = SplitMix64(seed: 4)
            let d = ProjectionDiscriminator(numClasses: 3, inputNC: 1, ndf: 2, imageSize: 16, spectralNorm: sn, using: &rng)
            initialize(d, using: &rng)
            d.linear.bias!.value = Tensor(shape: [1], scalars: [0.3])
            if sn { let x = Variable(Tensor(randomNormal: [2, 16, 16, 1], using: &rng)); _ = d(x, labels: [0, 1]) }
            d.testMode()
            let x = Variable(Tensor(randomNormal: [2, 16, 16, 1], using: &rng))
            let labels = [2, 0]
            let out = d(x, labels: labels)
            XCTAssertEqual(out.shape, [2, 1, 1, 1])
            let phi = d.main(x).value                          // [2, 4, 4, 4]
            XCTAssertEqual(phi.shape, [2, 4, 4, 4])
            func effective(_ w: Variable, _ s: SpectralNorm?) -> [Float] {
                let sigma = s?.sigma(w.value) ?? 1
                return w.value.scalars.map { $0 / sigma }
            }
            let lw = effective(d.linear.weight, d.linear.spectralNorm), e = effective(d.labelEmbedding.weight, d.labelEmbedding.spectralNorm)
            let p = phi.scalars
            for n in 0..<2 {
                var h = [Float](repeating: 0, count: 4)
                for pos in 0..<16 { for c in 0..<4 { h[c] += p[(n * 16 + pos) * 4 + c] } }
                let psi = (0..<4).reduce(Float(0.3)) { $0 + lw[$1] * h[$1] }
                let proj = (0..<4).reduce(Float(0)) { $0 + e[labels[n] * 4 + $1] * h[$1] }
                XCTAssertEqual(out.value.scalars[n], psi + proj, accuracy: 1e-4, "spectral norm \(sn)")
            }
            XCTAssertNotEqual(d(x, labels: [1, 2]).value.scalars, out.value.scalars, "the label changes the score")
        }
    }

    func testConfigAndFileRoundTripOfAProjectionSpectralNormD() throws {
        let c = ModelConfig(kind: .cganDiscriminator, netD: "projection", inputNC: 1, ndf: 4, imageSize: 16,
                            numClasses: 3, spectralNorm: true)
        XCTAssertTrue(c.json().contains("\"spectral_norm\":true"))
        XCTAssertEqual(try ModelConfig.fromJSON(c.json()), c)
        var plain = c; plain.spectralNorm = false
        XCTAssertFalse(plain.json().contains("spectral_norm"), "files without spectral norm read as before")
        XCTAssertEqual(try ModelConfig.fromJSON(plain.json()), plain)
        XCTAssertNotEqual(try ModelConfig.fromJSON(plain.json()), c)
        var bad = c; bad.netD = "pixel"
        var rng = SplitMix64(seed: 5)
        XCTAssertThrowsError(try makeNetwork(bad, using: &rng))

        let d = try XCTUnwrap(try makeNetwork(c, using: &rng) as? ProjectionDiscriminator)
        let x = Variable(Tensor(randomNormal: [2, 16, 16, 1], using: &rng))
        for _ in 0..<3 { _ = d(x, labels: [0, 2]) }
        d.testMode()
        let path = NSTemporaryDirectory() + "img2img-sn-\(UInt32.random(in: 0...UInt32.max)).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try save(d, config: c, to: path)
        let loaded = try loadNetwork(path: path)
        XCTAssertEqual(loaded.config, c)
        let d2 = try XCTUnwrap(loaded.module as? ProjectionDiscriminator)
        d2.testMode()
        XCTAssertEqual(d2(x, labels: [0, 2]).value.scalars, d(x, labels: [0, 2]).value.scalars)
        XCTAssertEqual(d2.linear.spectralNorm!.u.scalars, d.linear.spectralNorm!.u.scalars)
    }
}
