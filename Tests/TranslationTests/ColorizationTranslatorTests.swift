import XCTest
import Augment
import Autograd
import Models
import NN
import TensorCore
@testable import Translation

/// A colorization generator's translator: RGB in, the network sees L (one channel, L / 50 - 1),
/// predicts ab / 110, and the output is that L with the predicted ab, in RGB.
final class ColorizationTranslatorTests: XCTestCase {
    /// A 1x1 conv L -> ab: ab = w * L + bias, small enough to stay in the sRGB gamut.
    func generator(weights: [Float], bias: [Float]) -> Conv2D {
        let g = Conv2D(inChannels: 1, outChannels: 2, kernelSize: 1, stride: 1, padding: 0)
        let shape = g.weight.shape
        g.weight.update { $0 = Tensor(shape: shape, scalars: weights) }
        g.bias!.update { $0 = Tensor(shape: [2], scalars: bias) }
        return g
    }

    func testOutputKeepsLightnessAndTakesThePredictedAB() throws {
        var cfg = ModelConfig.generator("resnet_1blocks", inputNC: 1, outputNC: 2)
        cfg.colorization = true
        let tr = GeneratorTranslator(generator(weights: [0.02, -0.03], bias: [0.05, 0.04]), config: cfg)
        XCTAssertEqual([tr.inputChannels, tr.outputChannels], [3, 3])
        var g = SystemRandomNumberGenerator()
        let rgb = (0..<(2 * 3 * 5 * 3)).map { _ in Float.random(in: -0.6...0.6, using: &g) }
        let out = try tr.translate(rgb, count: 2, height: 3, width: 5)
        XCTAssertEqual(out.count, rgb.count)
        for i in stride(from: 0, to: rgb.count, by: 3) {
            func lab(_ v: [Float]) -> (l: Double, a: Double, b: Double) {
                Lab.fromRGB(Double(v[i] + 1) / 2, Double(v[i + 1] + 1) / 2, Double(v[i + 2] + 1) / 2)
            }
            let a = lab(rgb), b = lab(out)
            XCTAssertEqual(b.l, a.l, accuracy: 1e-3)
            let ln = a.l / 50 - 1
            XCTAssertEqual(b.a, (0.02 * ln + 0.05) * 110, accuracy: 1e-2)
            XCTAssertEqual(b.b, (-0.03 * ln + 0.04) * 110, accuracy: 1e-2)
        }
        // The control: the same network without the colorization mark is a plain 1 -> 2 map.
        let plain = GeneratorTranslator(generator(weights: [0.02, -0.03], bias: [0.05, 0.04]),
                                        config: ModelConfig.generator("resnet_1blocks", inputNC: 1, outputNC: 2))
        XCTAssertEqual([plain.inputChannels, plain.outputChannels], [1, 2])
    }

    func testConfigMarkRoundTripsAndIsAbsentForOtherNetworks() throws {
        var cfg = ModelConfig.generator("unet_256", inputNC: 1, outputNC: 2)
        XCTAssertFalse(cfg.json().contains("colorization"))
        cfg.colorization = true
        XCTAssertEqual(try ModelConfig.fromJSON(cfg.json()).colorization, true)
    }
}
