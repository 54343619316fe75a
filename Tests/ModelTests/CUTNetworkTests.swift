// CUT's networks against its code (fixtures: tools/make_cut_fixtures.py, torch 2.15.0): the
// anti-aliased ResNet generator (output and encoder features), its released-.pth format
// (architecture inferred from the keys), and the blur layers themselves.
import XCTest
import Checkpoint
import TensorCore
import Autograd
import NN
@testable import Models

final class CUTNetworkTests: XCTestCase {
    let tolerance: Float = 1e-3
    var cutG: ModelConfig {
        var c = ModelConfig.generator("resnet_2blocks", ngf: 4)
        c.antialias = true; c.antialiasUp = true
        return c
    }

    func testAntialiasedGeneratorMatchesCUTCode() throws {
        XCTAssertLessThanOrEqual(try parity("cut_generator.safetensors", cutG), tolerance)
    }

    // CUT's netG(x, nce_layers, encode_only=True): the features the NCE loss compares.
    func testEncoderFeaturesMatchCUTCode() throws {
        let f = try Fixture.read("cut_generator.safetensors")
        var rng = SplitMix64(seed: 0)
        let g = try XCTUnwrap(try makeLayer(cutG, using: &rng) as? ResnetGenerator)
        try g.loadStateDict(Fixture.stateDict(f))
        let layers = [0, 4, 8, 12, 16]
        let feats = withNoGrad { g.encode(Variable(try! Fixture.activation(f, "input")), layers: layers) }
        XCTAssertEqual(feats.count, layers.count)
        for (l, feat) in zip(layers, feats) {
            let d = maxAbsDiff(feat.value, try Fixture.activation(f, "encode_\(l)"))
            print("CUT encoder layer \(l) \(feat.shape): max |diff| = \(d)")
            XCTAssertLessThanOrEqual(d, tolerance, "layer \(l)")
        }
    }

    // The same weights without the blur layers are a different network: the parity must fail,
    // so the test above does check the anti-aliasing.
    func testParityFailsWithoutAntialiasingOrWithAnotherFilter() throws {
        let f = try Fixture.read("cut_generator.safetensors")
        let x = Variable(try Fixture.activation(f, "input"))
        let expected = try Fixture.activation(f, "output")
        var rng = SplitMix64(seed: 0)

        // another blur filter in the Downsample buffers (e.g. [1,3,3,1] instead of [1,2,1])
        let g = try makeLayer(cutG, using: &rng)
        var sd = Fixture.stateDict(f)
        for i in sd.entries.indices where sd.entries[i].name == "model.7.filt" || sd.entries[i].name == "model.11.filt" {
            let c = sd.entries[i].tensor.shape[0]
            let box = [Float](repeating: 1 / 9, count: 9)
            sd.entries[i].tensor = Tensor(shape: [c, 1, 3, 3], scalars: (0..<c).flatMap { _ in box })
        }
        try g.loadStateDict(sd)
        let dFilter = maxAbsDiff(withNoGrad { g(x) }.value, expected)
        print("CUT generator with a box filter instead of the binomial one: max |diff| = \(dFilter)")
        XCTAssertGreaterThan(dFilter, 10 * tolerance)

        // no anti-aliased upsampling: transposed convs where the Upsample + conv were
        var noUp = cutG; noUp.antialiasUp = false
        let g2 = try makeLayer(noUp, using: &rng)
        XCTAssertThrowsError(try g2.loadStateDict(Fixture.stateDict(f)))
        // no anti-aliasing at all: the paper code's generator has other names and shapes
        var plain = cutG; plain.antialias = false; plain.antialiasUp = false
        let names = try makeLayer(plain, using: &rng).stateDict().names
        XCTAssertNotEqual(names, try makeLayer(cutG, using: &rng).stateDict().names)
    }

    // CUT's latest_net_G.pth: torch.save(netG.state_dict()), filt buffers included.
    func testCUTPthLoadsWithInferredArchitecture() throws {
        let (g, config) = try loadGenerator(path: Fixture.path("cut_G_ngf4.pth"))
        XCTAssertEqual(config, cutG)
        let f = try Fixture.read("cut_generator.safetensors")
        let d = maxAbsDiff(withNoGrad { g(Variable(try! Fixture.activation(f, "input"))) }.value, try Fixture.activation(f, "output"))
        print("parity cut_G_ngf4.pth: max |diff| = \(d)")
        XCTAssertLessThanOrEqual(d, tolerance)
    }

    func testArchitectureInferenceOfEveryAntialiasingVariant() throws {
        var rng = SplitMix64(seed: 0)
        for (down, up) in [(true, true), (true, false), (false, true), (false, false)] {
            for blocks in [1, 3, 9] {
                var c = ModelConfig.generator("resnet_\(blocks)blocks", ngf: 2)
                c.antialias = down; c.antialiasUp = up
                let sd = try makeLayer(c, using: &rng).stateDict()
                XCTAssertEqual(try inferConfig(from: sd), c, "antialias \(down), up \(up), \(blocks) blocks")
            }
        }
        for n in [1, 3, 4] {
            var d = ModelConfig.discriminator(n == 3 ? "basic" : "n_layers", inputNC: 3, ndf: 2, nLayersD: n)
            d.antialias = true
            XCTAssertEqual(try inferConfig(from: try makeLayer(d, using: &rng).stateDict()), d)
        }
    }

    func testConfigJSONKeepsOldConfigsAndRoundTripsTheFlags() throws {
        XCTAssertFalse(ModelConfig.generator("resnet_9blocks").json().contains("antialias"))
        let c = cutG
        XCTAssertTrue(c.json().contains("\"antialias\":true"))
        XCTAssertEqual(try ModelConfig.fromJSON(c.json()), c)
    }

    // Same sizes as the stride-2 layers they replace (the PatchGAN and size checks rely on it).
    func testBlurLayersKeepTheSizesOfTheStridedLayers() throws {
        for side in [7, 8, 9, 32, 33] {
            let x = Variable(Tensor(repeating: 1, shape: [1, side, side + 1, 3]))
            let down = BlurDownsample(channels: 3)(x)
            XCTAssertEqual(down.shape, [1, (side + 1) / 2, (side + 2) / 2, 3])
            // a constant stays constant: the filter sums to 1 and reflection keeps the border
            XCTAssertEqual(down.value.scalars.map { abs($0 - 1) }.max()!, 0, accuracy: 1e-6)
            let up = BlurUpsample(channels: 3)(x)
            XCTAssertEqual(up.shape, [1, 2 * side, 2 * (side + 1), 3])
            XCTAssertEqual(up.value.scalars.map { abs($0 - 1) }.max()!, 0, accuracy: 1e-6)
        }
        for n in [1, 2, 3] {
            var rng = SplitMix64(seed: 0)
            var c = ModelConfig.discriminator("n_layers", inputNC: 3, ndf: 2, nLayersD: n)
            let x = Variable(Tensor(zeros: [1, 40, 40, 3]))
            let plainD = try makeLayer(c, using: &rng)
            let plain = plainD(x).shape
            c.antialias = true
            let blurD = try makeLayer(c, using: &rng)
            XCTAssertEqual(blurD(x).shape, plain)
        }
    }

    // The blur layers are linear maps: backward must be the adjoint (<A x, y> = <x, A^T y>).
    func testBlurLayersBackwardIsTheAdjoint() {
        var rng = SplitMix64(seed: 3)
        for layer in [BlurDownsample(channels: 2), BlurUpsample(channels: 2)] as [any Layer] {
            let x = Variable(Tensor(randomNormal: [2, 6, 5, 2], using: &rng), requiresGrad: true)
            let y = layer(x)
            let r = Tensor(randomNormal: y.shape, using: &rng)
            sum(y * Variable(r)).backward()
            let lhs = zip(y.value.scalars, r.scalars).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let rhs = zip(x.value.scalars, x.grad!.scalars).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)))
        }
    }

    /// Issue 26: a zero row (a flat crop's features) gets a finite gradient, not NaN (its norm's
    /// gradient is 0, leaving x's own 1 / (0 + 1e-7)), while the forward
    /// stays CUT's x / (||x|| + 1e-7) bit for bit and other rows keep their gradient.
    func testL2NormalizeHasAFiniteGradientAtAZeroRow() throws {
        let values: [Float] = [0, 0, 0, 3, 4, 0]
        let x = Variable(Tensor(shape: [2, 3], scalars: values), requiresGrad: true)
        let y = l2Normalize(x)
        let expected: [Float] = [0, 0, 0, 3 / (5 + 1e-7), 4 / (5 + 1e-7), 0]
        XCTAssertEqual(y.value.scalars, expected)
        mean(y * Variable(Tensor(shape: [2, 3], scalars: [1, 2, 3, 1, 2, 3]))).backward()
        let g = try XCTUnwrap(x.grad).scalars
        XCTAssertTrue(g.allSatisfy { $0.isFinite }, "\(g)")
        for k in 0..<3 { XCTAssertEqual(g[k], Float(k + 1) / 1e-7 / 6, accuracy: 1) }
        // the second row's gradient is the analytic one: (w / (n + eps) - y (y . w) / n) / 6, n = ||x||
        let w: [Float] = [1, 2, 3], yy = Array(expected[3..<6])
        let dot = zip(yy, w).map(*).reduce(0, +)
        for k in 0..<3 { XCTAssertEqual(g[3 + k], (w[k] / (5 + 1e-7) - yy[k] * dot / 5) / 6, accuracy: 1e-6) }
        // the formula the fix replaces gives NaN there (the two sides differ without it)
        let x2 = Variable(Tensor(shape: [2, 3], scalars: values), requiresGrad: true)
        let naive = x2 / (sqrt(sum(square(x2), alongAxes: [1], keepingDims: true)) + 1e-7)
        mean(naive).backward()
        XCTAssertTrue(try XCTUnwrap(x2.grad).scalars.contains { $0.isNaN })
    }
}
