// Shapes, modes, initialization and a backward smoke test of every network.
import XCTest
import TensorCore
import Autograd
import NN
@testable import Models

final class NetworkTests: XCTestCase {
    func testBasicDiscriminatorOn256GivesA30x30Patch() throws {
        XCTAssertEqual(NLayerDiscriminator.outputSize(inputSize: 256), 30)
        XCTAssertEqual(NLayerDiscriminator.outputSize(inputSize: 64), 6)
        var rng = SplitMix64(seed: 1)
        let d = try makeLayer(.discriminator("basic", inputNC: 3, ndf: 1), using: &rng)
        let y = withNoGrad { d(Variable(Tensor(zeros: [1, 256, 256, 3]))) }
        XCTAssertEqual(y.shape, [1, 30, 30, 1])
    }

    func testGeneratorsKeepTheImageSize() throws {
        var rng = SplitMix64(seed: 2)
        let r = try makeGenerator(.generator("resnet_6blocks", inputNC: 3, outputNC: 1, ngf: 2), using: &rng)
        XCTAssertEqual(withNoGrad { r(Variable(Tensor(zeros: [2, 36, 44, 3]))) }.shape, [2, 36, 44, 1])
        let u = try makeGenerator(.generator("unet_128", ngf: 2, norm: .batch), using: &rng)
        u.testMode()
        let y = withNoGrad { u(Variable(Tensor(randomUniform: [2, 128, 128, 3], low: -1, high: 1, using: &rng))) }.value
        XCTAssertEqual(y.shape, [2, 128, 128, 3])
        XCTAssertTrue(y.scalars.allSatisfy { $0 >= -1 && $0 <= 1 })
    }

    func testDropoutIsOffAtTestTimeUnlessAskedFor() throws {
        var rng = SplitMix64(seed: 3)
        let g = try makeGenerator(.generator("resnet_6blocks", ngf: 2, useDropout: true), using: &rng)
        let x = Variable(Tensor(randomUniform: [1, 16, 16, 3], low: -1, high: 1, using: &rng))
        g.testMode()
        let a = withNoGrad { g(x) }.value, b = withNoGrad { g(x) }.value
        XCTAssertEqual(a.scalars, b.scalars)
        g.testMode(dropout: true)                         // the paper code's test.py behaviour
        XCTAssertNotEqual(withNoGrad { g(x) }.value.scalars, a.scalars)
    }

    func testBatchNormTestModeUsesImageStatisticsWithoutTouchingRunningOnes() throws {
        var rng = SplitMix64(seed: 4)
        let g = try makeGenerator(.generator("resnet_6blocks", ngf: 2, norm: .batch), using: &rng)
        let before = g.stateDict().entries.map(\.tensor.scalars)
        g.testMode()
        _ = withNoGrad { g(Variable(Tensor(randomUniform: [1, 16, 16, 3], using: &rng))) }
        XCTAssertEqual(g.stateDict().entries.map(\.tensor.scalars), before)
        g.train()
        _ = withNoGrad { g(Variable(Tensor(randomUniform: [1, 16, 16, 3], using: &rng))) }
        XCTAssertNotEqual(g.stateDict().entries.map(\.tensor.scalars), before)
    }

    func testTrainAndTestModeReachACustomLayerNestedInTheTree() {
        final class ModeRecorder: Layer {
            var modes: [ModuleMode] = []
            func setMode(_ mode: ModuleMode) { modes.append(mode) }
            func callAsFunction(_ x: Variable) -> Variable { x }
        }
        let recorder = ModeRecorder()
        let net = Sequential(ReLU(), Sequential(recorder))
        net.train()
        net.testMode()
        net.testMode(runningStatistics: true, dropout: true)
        XCTAssertEqual(recorder.modes, [.training, .test(runningStatistics: false, dropout: false),
                                        .test(runningStatistics: true, dropout: true)])
    }

    func testInitializationFollowsThePaperCode() throws {
        for type in InitType.allCases {
            var rng = SplitMix64(seed: 5)
            let d = try makeNetwork(.discriminator("basic", inputNC: 3, ndf: 16, norm: .batch), initType: type,
                                    gain: 0.02, using: &rng)
            let sd = d.stateDict()
            let w = try XCTUnwrap(sd["model.2.weight"])                 // [32,16,4,4]: fan_in 256, fan_out 512
            let s = w.scalars
            let std = (s.reduce(0) { $0 + $1 * $1 } / Float(s.count)).squareRoot()
            let expected: Float
            switch type {
            case .normal: expected = 0.02
            case .xavier: expected = 0.02 * (2 / Float(256 + 512)).squareRoot()
            case .kaiming: expected = (2 / Float(256)).squareRoot()
            case .orthogonal: expected = 0.02 / Float(256).squareRoot()   // 32 orthonormal rows of length 256
            }
            XCTAssertEqual(std, expected, accuracy: expected * 0.1, "\(type)")
            XCTAssertTrue(try XCTUnwrap(sd["model.0.bias"]).scalars.allSatisfy { $0 == 0 })
            let bn = try XCTUnwrap(sd["model.3.weight"]).scalars
            XCTAssertEqual(bn.reduce(0, +) / Float(bn.count), 1, accuracy: 0.02)
            if type == .orthogonal {                                      // rows orthonormal (x gain)
                let r0 = Array(s[0..<256]), r1 = Array(s[256..<512])
                XCTAssertEqual(zip(r0, r1).reduce(0) { $0 + $1.0 * $1.1 }, 0, accuracy: 1e-7)
                XCTAssertEqual(r0.reduce(0) { $0 + $1 * $1 }, 0.02 * 0.02, accuracy: 1e-6)
            }
        }
    }

    func testDCGANShapesAndBackward() throws {
        for size in [32, 64] {
            var rng = SplitMix64(seed: 6)
            let g = try makeLayer(ModelConfig(kind: .dcganGenerator, outputNC: 3, ngf: 4, nz: 16, imageSize: size), using: &rng)
            let d = try makeLayer(ModelConfig(kind: .dcganDiscriminator, inputNC: 3, ndf: 4, imageSize: size), using: &rng)
            let z = Variable(Tensor(randomNormal: [2, 16], using: &rng))
            let fake = g(z)
            XCTAssertEqual(fake.shape, [2, size, size, 3])
            let logits = d(fake)
            XCTAssertEqual(logits.shape, [2, 1, 1, 1])
            mean(logits).backward()
            XCTAssertTrue(g.parameters.allSatisfy { $0.grad != nil })
            XCTAssertTrue(d.parameters.allSatisfy { $0.grad != nil })
            XCTAssertEqual(g.stateDict().names.first, "main.0.weight")
        }
    }

    func testConditionalGANJudgesImageLabelPairs() throws {
        var rng = SplitMix64(seed: 7)
        let g = try makeNetwork(ModelConfig(kind: .cganGenerator, outputNC: 1, ngf: 4, nz: 8, imageSize: 16,
                                            numClasses: 10, embedDim: 5), using: &rng) as! ConditionalGenerator
        let d = try makeNetwork(ModelConfig(kind: .cganDiscriminator, inputNC: 1, ndf: 4, imageSize: 16,
                                            numClasses: 10, embedDim: 5), using: &rng) as! ConditionalDiscriminator
        XCTAssertEqual(g.stateDict().names.first, "label_emb.weight")
        XCTAssertEqual(d.stateDict()["main.0.weight"]?.shape, [4, 6, 4, 4])   // 1 image channel + 5 label channels
        let labels = [3, 7, 3]
        let fake = g(Variable(Tensor(randomNormal: [3, 8], using: &rng)), labels: labels)
        XCTAssertEqual(fake.shape, [3, 16, 16, 1])
        let logits = d(fake, labels: labels)
        XCTAssertEqual(logits.shape, [3, 1, 1, 1])
        // The label changes D's verdict on the same image.
        let other = withNoGrad { d(fake.detached(), labels: [4, 4, 4]) }.value.scalars
        XCTAssertNotEqual(other, logits.value.scalars)
        mean(logits).backward()
        XCTAssertNotNil(g.labelEmbedding.weight.grad)
        XCTAssertNotNil(d.labelEmbedding.weight.grad)
        XCTAssertTrue(g.parameters.allSatisfy { $0.grad != nil })
    }

    func testConfigJSONRoundTripAndDefaults() throws {
        let c = ModelConfig.generator("unet_256", inputNC: 1, ngf: 32, norm: .batch, useDropout: true)
        XCTAssertEqual(try ModelConfig.fromJSON(c.json()), c)
        XCTAssertTrue(c.json().contains("\"input_nc\":1"))
        let minimal = try ModelConfig.fromJSON(#"{"kind":"generator","netG":"resnet_6blocks"}"#)
        XCTAssertEqual(minimal, .generator("resnet_6blocks"))
        var rng = SplitMix64(seed: 0)
        XCTAssertThrowsError(try makeNetwork(.generator("resnet_xl"), using: &rng)) {
            XCTAssertEqual(($0 as? ModelError)?.kind, .invalidConfig)
        }
    }
}
