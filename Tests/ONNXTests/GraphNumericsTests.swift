// The exported graph computes what the network computes: GraphEvaluator runs the decoded file
// on img2img's own ops and the result is compared with the loaded network's output (test
// mode; running statistics for --batch-norm running) on random images at two sizes each.
// onnxruntime itself is compared by tools/onnx_check.py.
import XCTest
import Foundation
import TensorCore
import Autograd
import NN
import Models
@testable import ONNX

final class GraphNumericsTests: ExportTestCase {
    func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// Exports `path` with `options` and compares the graph with the network at each size.
    func checkNumerics(_ path: String, _ options: ExportOptions, sizes: [(Int, Int)],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let (m, loaded) = try exported(path, options)
        loaded.module.testMode(runningStatistics: options.batchNorm == .running)
        let net = try XCTUnwrap(loaded.layer, file: file, line: line)
        let eval = GraphEvaluator(m)
        var rng = SplitMix64(seed: 11)
        for (h, w) in sizes {
            // One image, as translate runs batch-statistics networks.
            let x = Tensor(randomUniform: [1, h, w, loaded.config.inputNC], low: -1, high: 1, using: &rng)
            let want = withNoGrad { net(Variable(x)).value }
            let got = try eval.run(x)
            XCTAssertLessThan(maxAbsDiff(got, want), 1e-4, "\(loaded.config.netG) \(h)x\(w) \(options)",
                              file: file, line: line)
        }
    }

    func testResnetGraphsComputeTheNetwork() throws {
        let instance = try saved(ModelConfig.generator("resnet_2blocks", inputNC: 3, outputNC: 2, ngf: 4, norm: .instance))
        let batch = try saved(ModelConfig.generator("resnet_1blocks", ngf: 4, norm: .batch))
        let affine = try saved(ModelConfig.generator("resnet_0blocks", ngf: 4, norm: .instanceAffine))
        for path in [instance, batch, affine] {
            for options in [ExportOptions(), Self.plain, ExportOptions(batchNorm: .running)] {
                try checkNumerics(path, options, sizes: [(12, 20), (16, 16)])
            }
        }
    }

    func testUnetGraphsComputeTheNetwork() throws {
        var cfg = ModelConfig.generator("unet_32", ngf: 4, norm: .batch)
        cfg.useDropout = true
        let batch = try saved(cfg)
        let none = try saved(ModelConfig.generator("unet_32", inputNC: 1, ngf: 2, norm: .none))
        let instance = try saved(ModelConfig.generator("unet_64", ngf: 2, norm: .instance))
        for options in [ExportOptions(), Self.plain, ExportOptions(batchNorm: .running)] {
            try checkNumerics(batch, options, sizes: [(32, 32), (64, 32)])
            try checkNumerics(none, options, sizes: [(32, 64)])
        }
        try checkNumerics(instance, ExportOptions(), sizes: [(64, 64), (128, 64)])
        try checkNumerics(instance, ExportOptions(opset: 18), sizes: [(64, 64)])  // ReduceMean-18 form
    }

    func testPaperCodePthGraphComputesTheNetwork() throws {
        let pth = Self.fixtures.appendingPathComponent("resnet6_ngf4.pth").path
        try checkNumerics(pth, ExportOptions(), sizes: [(16, 24), (32, 32)])
    }
}
