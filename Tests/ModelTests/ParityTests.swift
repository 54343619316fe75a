// Forward parity with the paper code (fixtures: tools/make_model_fixtures.py, torch 2.15.0).
// Outputs in [-1, 1] (generators) must agree within 1e-3; discriminator logits too.
import XCTest
import Checkpoint
import TensorCore
import Autograd
import NN
@testable import Models

final class ParityTests: XCTestCase {
    let tolerance: Float = 1e-3

    // fx_resnet9: define_G(3, 3, 8, "resnet_9blocks", norm="instance"), input [1,3,64,64]
    func testResnet9InstanceMatchesPaperCode() throws {
        XCTAssertLessThanOrEqual(try parity("resnet9_ngf8.safetensors", .generator("resnet_9blocks", ngf: 8)), tolerance)
    }

    // fx_resnet6_batch: resnet_6blocks, norm batch, after 100 warm-up train forwards.
    // output_train: batch statistics (test.py without --eval); output_eval: running statistics.
    func testResnet6BatchMatchesPaperCodeInBothModes() throws {
        let c = ModelConfig.generator("resnet_6blocks", ngf: 8, norm: .batch)
        XCTAssertLessThanOrEqual(try parity("resnet6_ngf8_batch.safetensors", c, output: "output_train"), tolerance)
        XCTAssertLessThanOrEqual(try parity("resnet6_ngf8_batch.safetensors", c, output: "output_eval",
                                            runningStatistics: true), tolerance)
    }

    // The running statistics after one train-mode forward (momentum 0.1, unbiased variance).
    func testBatchNormRunningStatisticsUpdateLikePyTorch() throws {
        let f = try Fixture.read("resnet6_ngf8_batch.safetensors")
        var rng = SplitMix64(seed: 0)
        let net = try makeLayer(.generator("resnet_6blocks", ngf: 8, norm: .batch), using: &rng)
        try net.loadStateDict(Fixture.stateDict(f))
        net.train()
        let x = Variable(try Fixture.activation(f, "input"))
        _ = withNoGrad { net(x) }
        let after = net.stateDict()
        var worst: Float = 0, checked = 0
        for t in f.tensors where t.name.hasPrefix("after_train_forward.") {
            let name = String(t.name.dropFirst("after_train_forward.".count))
            let mine = try XCTUnwrap(after[name], name)
            worst = max(worst, maxAbsDiff(mine, Tensor(shape: t.shape, scalars: t.values)))
            checked += 1
        }
        print("running statistics after a train forward: \(checked) tensors, max |diff| = \(worst)")
        XCTAssertGreaterThan(checked, 0)
        XCTAssertLessThanOrEqual(worst, 1e-4)
    }

    // fx_unet: unet_256, ngf 4, batch norm in train mode (batch statistics), input [1,3,256,256]
    func testUnet256BatchMatchesPaperCode() throws {
        let c = ModelConfig.generator("unet_256", ngf: 4, norm: .batch)
        XCTAssertLessThanOrEqual(try parity("unet256_ngf4.safetensors", c), tolerance)
    }

    // fx_unet: unet_128, ngf 4, instance norm, input [1,3,128,128]
    func testUnet128InstanceMatchesPaperCode() throws {
        let c = ModelConfig.generator("unet_128", ngf: 4, norm: .instance)
        XCTAssertLessThanOrEqual(try parity("unet128_ngf4_instance.safetensors", c), tolerance)
    }

    // fx_patchgan: basic D, input_nc 6, ndf 8, batch norm; train-mode and eval outputs [1,1,6,6]
    func testPatchGANBatchMatchesPaperCode() throws {
        let c = ModelConfig.discriminator("basic", inputNC: 6, ndf: 8, norm: .batch)
        XCTAssertLessThanOrEqual(try parity("patchgan_basic_ndf8.safetensors", c), tolerance)
        XCTAssertLessThanOrEqual(try parity("patchgan_basic_ndf8.safetensors", c, output: "output_eval",
                                            runningStatistics: true), tolerance)
    }

    func testPatchGANInstanceMatchesPaperCode() throws {
        let c = ModelConfig.discriminator("basic", inputNC: 3, ndf: 8, norm: .instance)
        XCTAssertLessThanOrEqual(try parity("patchgan_basic_ndf8_instance.safetensors", c), tolerance)
    }

    func testPixelDiscriminatorMatchesPaperCode() throws {
        let c = ModelConfig.discriminator("pixel", inputNC: 6, ndf: 8, norm: .batch)
        XCTAssertLessThanOrEqual(try parity("pixel_ndf8.safetensors", c), tolerance)
        XCTAssertLessThanOrEqual(try parity("pixel_ndf8.safetensors", c, output: "output_eval",
                                            runningStatistics: true), tolerance)
    }
}
