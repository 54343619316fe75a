// Trainers built from configs and a seed: same seed, same run, bit for bit; the template model trains.
import Autograd
import Models
import NN
import TensorCore
@testable import Training
@testable import Trainers
import Evaluation
import XCTest

final class FactoryTests: XCTestCase {
    func testSameSeedSameRunFromConfigs() throws {
        func run(seed: UInt64) throws -> [String: [Float]] {
            var o = TrainableModel.pix2pix.defaults
            o.seed = seed
            let t = try Pix2PixTrainer(generator: .generator("unet_32", ngf: 4, norm: .batch, useDropout: true),
                                       discriminator: .discriminator("basic", ndf: 4, norm: .batch), options: o)
            XCTAssertEqual(t.D.parameters[0].shape[2], 6, "conditional D sees input + output channels")
            var rng = SplitMix64(seed: 1)
            let a = smoothImages(2, &rng, size: 32)
            t.trainEpoch([.pair(a, -a), .pair(-a, a)])
            return allTensors(t)
        }
        let a = try run(seed: 3), b = try run(seed: 3), c = try run(seed: 4)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testCycleGANFromConfigsSwapsChannels() throws {
        var o = TrainableModel.cyclegan.defaults; o.seed = 1
        XCTAssertThrowsError(try CycleGANTrainer(generator: .generator("resnet_6blocks", inputNC: 1, outputNC: 3, ngf: 4),
                                                 discriminator: .discriminator("basic", ndf: 4), options: o))
        o.lambdaIdentity = 0
        let t = try CycleGANTrainer(generator: .generator("resnet_6blocks", inputNC: 1, outputNC: 3, ngf: 4),
                                    discriminator: .discriminator("basic", ndf: 4), options: o)
        var rng = SplitMix64(seed: 2)
        let b = smoothImages(1, &rng, size: 32)
        let a = smoothImages(1, &rng, size: 32, channels: 1)
        t.optimizeParameters(.pair(a, b))
        XCTAssertEqual(t.visuals.first { $0.name == "fake_B" }?.image.shape, [1, 32, 32, 3])
        XCTAssertEqual(t.visuals.first { $0.name == "fake_A" }?.image.shape, [1, 32, 32, 1])
        XCTAssertTrue(t.lossValues.allSatisfy { $0.value.isFinite })
    }

    func testTemplateTrainerRegresses() {
        var rng = SplitMix64(seed: 3)
        var o = TrainableModel.template.defaults; o.lr = 2e-3; o.lambdaGAN = 0.1
        let t = TemplateTrainer(G: tinyGenerator(&rng), D: tinyDiscriminator(&rng), options: o)
        var losses: [Float] = []
        for _ in 0..<30 {
            let a = smoothImages(2, &rng)
            t.optimizeParameters(.pair(a, -a)); t.progress.iteration += 1
            losses.append(t.losses.G_regression)
        }
        XCTAssertLessThan(average(losses.suffix(5)), 0.7 * average(losses.prefix(5)))
    }
}
