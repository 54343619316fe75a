// ONNX export: each test exports a small network through the real path (a file loaded by
// loadNetwork), decodes the bytes with swift-protobuf and checks the graph against the
// network's state dict. Numerical agreement with onnxruntime is checked by
// tools/onnx_check.py (Python is not used by the tests).
import XCTest
import Foundation
import SwiftProtobuf
import TensorCore
import Autograd
import NN
import Models
@testable import ONNX
import _TestSupport

/// Temporary folder, a saved random network, and the export of a file decoded back.
class ExportTestCase: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    static let fixtures = TestPaths.inRepo("Tests/ModelTests/Fixtures")

    /// A random network of `cfg` saved as a network file; returns its path.
    func saved(_ cfg: ModelConfig, seed: UInt64 = 3) throws -> String {
        var rng = SplitMix64(seed: seed)
        let net = try makeNetwork(cfg, using: &rng)
        // Non-trivial running statistics, so that running-mode initializers are checkable.
        for (name, t) in net.namedTensors() where t.kind == .buffer {
            let v = t.value
            t.setFromPyTorch(Tensor(shape: v.shape, scalars: (0..<v.count).map { i in
                name.hasSuffix("running_var") ? 0.5 + Float(i % 7) * 0.1 : Float(i % 5) * 0.01 - 0.02 }))
        }
        let p = tmp.appendingPathComponent("\(cfg.netG)-\(cfg.norm.rawValue).safetensors").path
        try save(net, config: cfg, to: p)
        return p
    }

    /// Exports `path` to a file, reads the file back and decodes it.
    func exported(_ path: String, reverse: Bool = false, _ options: ExportOptions = ExportOptions()) throws
        -> (model: Onnx_ModelProto, loaded: LoadedNetwork) {
        let out = tmp.appendingPathComponent("g-\(UUID().uuidString).onnx").path
        try exportONNX(modelPath: path, reverse: reverse, to: out, options: options)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        return (try Onnx_ModelProto(serializedBytes: bytes),
                try loadNetwork(path: path, select: .translator(reverse: reverse)))
    }

    /// The plain graph: no centering before instance norms, so node positions are simple.
    static let plain = ExportOptions(centeredNorms: false)
}

final class ExportTests: ExportTestCase {

    // MARK: - Graph checks shared by every network

    /// Every initializer is a state-dict tensor of the same name and PyTorch shape (and, for
    /// the first conv, the same values), or one of our `img2img::` constants; every float
    /// tensor the graph needs is there; nodes only read tensors defined before them.
    func checkGraph(_ model: Onnx_ModelProto, _ loaded: LoadedNetwork, unused: Set<String> = [],
                    file: StaticString = #filePath, line: UInt = #line) throws {
        let g = model.graph
        let sd = Dictionary(uniqueKeysWithValues: loaded.module.namedTensors().map { ($0.name, $0.tensor) })
        var defined: Set<String> = ["input"]
        for t in g.initializer {
            XCTAssertTrue(defined.insert(t.name).inserted, "initializer \(t.name) twice", file: file, line: line)
            if t.name.hasPrefix("img2img::") { continue }
            let s = try XCTUnwrap(sd[t.name], "initializer \(t.name) is not in the state dict", file: file, line: line)
            XCTAssertEqual(t.dims.map(Int.init), s.pyTorchShape, t.name, file: file, line: line)
            XCTAssertEqual(t.dataType, Int32(Onnx_TensorProto.DataType.float.rawValue), t.name, file: file, line: line)
            XCTAssertEqual(t.rawData, littleEndianBytes(s.pyTorchValue.scalars), t.name, file: file, line: line)
        }
        let floatNames = Set(sd.filter { $0.value.kind != .integerBuffer }.keys)
        let initNames = Set(g.initializer.map(\.name))
        XCTAssertEqual(floatNames.subtracting(initNames), unused, "state-dict tensors missing from the graph",
                       file: file, line: line)
        for n in g.node {
            for i in n.input { XCTAssertTrue(defined.contains(i), "\(n.name) reads \(i) before it exists", file: file, line: line) }
            for o in n.output { XCTAssertTrue(defined.insert(o).inserted, "\(o) defined twice", file: file, line: line) }
            XCTAssertTrue(n.domain.isEmpty, "\(n.opType) outside the standard domain", file: file, line: line)
        }
        XCTAssertEqual(g.node.last?.output, ["output"], file: file, line: line)

        // Dynamic axes: batch, height and width by name, channels fixed.
        XCTAssertEqual(g.input.map(\.name), ["input"], file: file, line: line)
        XCTAssertEqual(g.output.map(\.name), ["output"], file: file, line: line)
        for (v, c) in [(g.input[0], loaded.config.inputNC), (g.output[0], loaded.config.outputNC)] {
            XCTAssertEqual(v.type.tensorType.elemType, Int32(Onnx_TensorProto.DataType.float.rawValue), file: file, line: line)
            let dims = v.type.tensorType.shape.dim
            XCTAssertEqual(dims.map(\.dimParam), ["batch", "", "height", "width"], v.name, file: file, line: line)
            XCTAssertEqual(dims[1].dimValue, Int64(c), v.name, file: file, line: line)
            for i in [0, 2, 3] {
                guard case .dimParam? = dims[i].value else { return XCTFail("\(v.name) dim \(i) is not dynamic", file: file, line: line) }
            }
        }

        // Opset and metadata.
        XCTAssertEqual(model.opsetImport.map(\.domain), [""], file: file, line: line)
        let meta = Dictionary(uniqueKeysWithValues: model.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(meta["architecture"], loaded.config.netG, file: file, line: line)
        XCTAssertEqual(meta["input_channels"], String(loaded.config.inputNC), file: file, line: line)
        XCTAssertEqual(meta["output_channels"], String(loaded.config.outputNC), file: file, line: line)
        XCTAssertEqual(meta["size_multiple"], String(loaded.config.sizeMultiple), file: file, line: line)
        XCTAssertEqual(meta["input_range"], "[-1, 1]", file: file, line: line)
        XCTAssertEqual(meta["layout"], "NCHW", file: file, line: line)
        XCTAssertEqual(try ModelConfig.fromJSON(try XCTUnwrap(meta[ModelConfig.metadataKey])), loaded.config,
                       file: file, line: line)
    }

    func ops(_ m: Onnx_ModelProto) -> [String] { m.graph.node.map(\.opType) }

    /// The default export centers each instance norm's input: ReduceMean, Sub before it.
    func centered(_ ops: [String]) -> [String] {
        ops.flatMap { $0 == "InstanceNormalization" ? ["ReduceMean", "Sub", $0] : [$0] }
    }

    func attribute(_ n: Onnx_NodeProto, _ name: String) -> Onnx_AttributeProto? { n.attribute.first { $0.name == name } }

    // MARK: - ResNet

    /// The paper code's ResnetGenerator as operators, written out from its definition.
    func resnetOps(blocks: Int, norm: String, centered isCentered: Bool = true) -> [String] {
        var ops = ["Pad", "Conv", norm, "Relu", "Conv", norm, "Relu", "Conv", norm, "Relu"]
        for _ in 0..<blocks { ops += ["Pad", "Conv", norm, "Relu", "Pad", "Conv", norm, "Add"] }
        ops += ["ConvTranspose", norm, "Relu", "ConvTranspose", norm, "Relu", "Pad", "Conv", "Tanh"]
        return isCentered ? centered(ops) : ops
    }

    func testResnetInstanceNormGraph() throws {
        let cfg = ModelConfig.generator("resnet_3blocks", inputNC: 3, outputNC: 2, ngf: 4, norm: .instance)
        let path = try saved(cfg)
        let (centeredGraph, _) = try exported(path)
        XCTAssertEqual(ops(centeredGraph), resnetOps(blocks: 3, norm: "InstanceNormalization"))
        let (m, loaded) = try exported(path, Self.plain)
        XCTAssertEqual(ops(m), resnetOps(blocks: 3, norm: "InstanceNormalization", centered: false))
        try checkGraph(m, loaded)
        XCTAssertEqual(m.opsetImport.first?.version, 17)
        XCTAssertEqual(m.irVersion, 8)

        let g = m.graph
        // The first conv: the state dict's model.1, 7x7 after a reflect pad of 3.
        XCTAssertEqual(g.node[0].input[1], "img2img::pads_3")
        XCTAssertEqual(String(decoding: attribute(g.node[0], "mode")!.s, as: UTF8.self), "reflect")
        let pads = try XCTUnwrap(g.initializer.first { $0.name == "img2img::pads_3" })
        XCTAssertEqual(pads.int64Data, [0, 0, 3, 3, 0, 0, 3, 3])
        XCTAssertEqual(g.node[1].input, ["model.0", "model.1.weight", "model.1.bias"])
        XCTAssertEqual(attribute(g.node[1], "kernel_shape")?.ints, [7, 7])
        // Instance norm without affine: scale 1 and B 0 under our own names.
        XCTAssertEqual(Array(g.node[2].input.dropFirst()), ["img2img::ones_4", "img2img::zeros_4"])
        // Downsampling conv: stride 2, pad 1.
        XCTAssertEqual(attribute(g.node[4], "strides")?.ints, [2, 2])
        XCTAssertEqual(attribute(g.node[4], "pads")?.ints, [1, 1, 1, 1])
        // The first residual block adds its input (the last downsampling's ReLU) to its branch.
        let add = try XCTUnwrap(g.node.first { $0.opType == "Add" })
        XCTAssertEqual(add.input, ["model.9", "model.10.conv_block.6"])
        // Upsampling: ConvTranspose with output_padding 1, weight [C_in, C_out, 3, 3].
        let up = try XCTUnwrap(g.node.first { $0.opType == "ConvTranspose" })
        XCTAssertEqual(attribute(up, "output_padding")?.ints, [1, 1])
        XCTAssertEqual(g.initializer.first { $0.name == up.input[1] }?.dims, [16, 8, 3, 3])
    }

    func testResnetBatchNormBothModes() throws {
        let cfg = ModelConfig.generator("resnet_1blocks", ngf: 4, norm: .batch)
        let path = try saved(cfg)
        // Default: each image's own statistics (translate without --eval): InstanceNormalization
        // with the batch norm's weight and bias; the running statistics are not used.
        let (batch, loaded) = try exported(path, Self.plain)
        XCTAssertEqual(ops(batch), resnetOps(blocks: 1, norm: "InstanceNormalization", centered: false))
        let running = Set(loaded.module.namedTensors().map(\.name).filter { $0.hasSuffix("running_mean") || $0.hasSuffix("running_var") })
        XCTAssertEqual(running.count, 2 * 7)
        try checkGraph(batch, loaded, unused: running)
        XCTAssertEqual(batch.graph.node[2].input, ["model.1", "model.2.weight", "model.2.bias"])
        XCTAssertNil(batch.graph.node[1].input.dropFirst(2).first, "convs before a batch norm have no bias")
        XCTAssertEqual(batch.metadataProps.first { $0.key == "batch_norm" }?.value, "batch")

        // --batch-norm running: BatchNormalization in inference form with the running statistics.
        let (run, _) = try exported(path, ExportOptions(batchNorm: .running))
        XCTAssertEqual(ops(run), resnetOps(blocks: 1, norm: "BatchNormalization"))
        XCTAssertEqual(run.metadataProps.first { $0.key == "centered_norms" }?.value, "false")
        try checkGraph(run, loaded)
        XCTAssertEqual(run.graph.node[2].input,
                       ["model.1", "model.2.weight", "model.2.bias", "model.2.running_mean", "model.2.running_var"])
        XCTAssertEqual(attribute(run.graph.node[2], "epsilon")?.f, 1e-5)
        XCTAssertFalse(run.graph.initializer.contains { $0.name.hasSuffix("num_batches_tracked") })
    }

    func testResnetZeroBlocksAndAffineInstanceNorm() throws {
        let cfg = ModelConfig.generator("resnet_0blocks", ngf: 4, norm: .instanceAffine)
        let (m, loaded) = try exported(try saved(cfg), Self.plain)
        XCTAssertEqual(ops(m), resnetOps(blocks: 0, norm: "InstanceNormalization", centered: false))
        try checkGraph(m, loaded)
        XCTAssertEqual(Array(m.graph.node[2].input.dropFirst()), ["model.2.weight", "model.2.bias"])
        XCTAssertFalse(m.graph.initializer.contains { $0.name.hasPrefix("img2img::ones") })
    }

    func testDefaultCentersTheInputOfEachInstanceNorm() throws {
        let cfg = ModelConfig.generator("resnet_1blocks", ngf: 4, norm: .batch)
        let path = try saved(cfg)
        let plain = resnetOps(blocks: 1, norm: "InstanceNormalization", centered: false)
        let expected = plain.flatMap { $0 == "InstanceNormalization" ? ["ReduceMean", "Sub", $0] : [$0] }
        XCTAssertEqual(ops(try exported(path, Self.plain).model), plain)
        for opset in [17, 18] {
            let (m, loaded) = try exported(path, ExportOptions(opset: opset))
            XCTAssertEqual(ops(m), expected, "opset \(opset)")
            let running = Set(loaded.module.namedTensors().map(\.name).filter { $0.contains("running_") })
            try checkGraph(m, loaded, unused: running)
            let mean = m.graph.node[2], sub = m.graph.node[3], norm = m.graph.node[4]
            XCTAssertEqual(mean.input.first, "model.1")
            XCTAssertEqual(sub.input, ["model.1", mean.output[0]])
            XCTAssertEqual(norm.input, [sub.output[0], "model.2.weight", "model.2.bias"])
            if opset < 18 {
                XCTAssertEqual(attribute(mean, "axes")?.ints, [2, 3])
            } else {  // ReduceMean-18: axes as an input
                XCTAssertEqual(mean.input.count, 2)
                XCTAssertEqual(m.graph.initializer.first { $0.name == mean.input[1] }?.int64Data, [2, 3])
            }
            XCTAssertEqual(m.metadataProps.first { $0.key == "centered_norms" }?.value, "true")
        }
        // Running statistics: BatchNormalization, nothing to center.
        let (run, _) = try exported(path, ExportOptions(batchNorm: .running))
        XCTAssertEqual(ops(run), resnetOps(blocks: 1, norm: "BatchNormalization"))
    }

    // MARK: - U-Net

    /// The paper code's UnetGenerator as operators: down path outermost first, then the up
    /// path innermost first, each non-outermost level ending with its skip Concat.
    func unetOps(downs: Int, norm: String?, centered isCentered: Bool = true) -> [String] {
        let n = norm.map { [$0] } ?? []
        var ops = ["Conv"]                                                   // outermost down
        for _ in 0..<(downs - 2) { ops += ["LeakyRelu", "Conv"] + n }        // middle downs
        ops += ["LeakyRelu", "Conv", "Relu", "ConvTranspose"] + n + ["Concat"]  // innermost
        for _ in 0..<(downs - 2) { ops += ["Relu", "ConvTranspose"] + n + ["Concat"] }
        ops += ["Relu", "ConvTranspose", "Tanh"]                             // outermost up
        return isCentered ? centered(ops) : ops
    }

    func testUnetBatchNormWithDropoutRemoved() throws {
        var cfg = ModelConfig.generator("unet_64", ngf: 4, norm: .batch)
        cfg.useDropout = true
        let (m, loaded) = try exported(try saved(cfg))
        XCTAssertEqual(ops(m), unetOps(downs: 6, norm: "InstanceNormalization"))
        let running = Set(loaded.module.namedTensors().map(\.name).filter { $0.contains("running_") })
        try checkGraph(m, loaded, unused: running)
        XCTAssertFalse(ops(m).contains("Dropout"))
        XCTAssertEqual(m.metadataProps.first { $0.key == "size_multiple" }?.value, "64")
        // The skip is the LeakyReLU'd input (the paper code's in-place downrelu), channel axis.
        let cat = try XCTUnwrap(m.graph.node.first { $0.opType == "Concat" && $0.name == "model.model.1.cat" })
        XCTAssertEqual(cat.input.first, "model.model.1.model.0")
        XCTAssertEqual(attribute(cat, "axis")?.i, 1)
        XCTAssertEqual(m.graph.node[1].opType, "LeakyRelu")
        XCTAssertEqual(attribute(m.graph.node[1], "alpha")?.f, 0.2)
        // Down convs 4x4 stride 2 pad 1.
        XCTAssertEqual(attribute(m.graph.node[0], "kernel_shape")?.ints, [4, 4])
        XCTAssertEqual(attribute(m.graph.node[0], "strides")?.ints, [2, 2])

        let (run, _) = try exported(try saved(cfg), ExportOptions(batchNorm: .running))
        XCTAssertEqual(ops(run), unetOps(downs: 6, norm: "BatchNormalization"))
        try checkGraph(run, loaded)
    }

    func testUnetInstanceNormAndNoNorm() throws {
        let inst = ModelConfig.generator("unet_32", inputNC: 1, outputNC: 3, ngf: 4, norm: .instance)
        let (m, loaded) = try exported(try saved(inst))
        XCTAssertEqual(ops(m), unetOps(downs: 5, norm: "InstanceNormalization"))
        try checkGraph(m, loaded)

        let none = ModelConfig.generator("unet_128", ngf: 2, norm: .none)
        let (n, nl) = try exported(try saved(none))
        XCTAssertEqual(ops(n), unetOps(downs: 7, norm: nil))
        try checkGraph(n, nl)
    }

    // MARK: - Paper-code files and training checkpoints

    func testPaperCodePthExportsWithItsNames() throws {
        let pth = Self.fixtures.appendingPathComponent("resnet6_ngf4.pth").path
        let (m, loaded) = try exported(pth)
        XCTAssertEqual(loaded.config.netG, "resnet_6blocks")
        XCTAssertEqual(ops(m), resnetOps(blocks: 6, norm: "InstanceNormalization"))
        try checkGraph(m, loaded)
        // The .pth's own tensor names are exactly the initializers (constants aside).
        XCTAssertEqual(Set(m.graph.initializer.map(\.name).filter { !$0.hasPrefix("img2img::") }),
                       Set(loaded.file.names))
    }

    func testTrainingCheckpointDirectionPicksTheGenerator() throws {
        // A training checkpoint holds G_A, G_B (and discriminators) under prefixes.
        let file = Self.fixtures.appendingPathComponent("cyclegan_step.safetensors").path
        let (a, la) = try exported(file, reverse: false)
        let (b, lb) = try exported(file, reverse: true)
        XCTAssertEqual(la.prefix, "G_A")
        XCTAssertEqual(lb.prefix, "G_B")
        try checkGraph(a, la)
        try checkGraph(b, lb)
        XCTAssertNotEqual(a.graph.initializer.map(\.rawData), b.graph.initializer.map(\.rawData))
    }

    // MARK: - Refusals and files

    func testDiscriminatorIsRefused() throws {
        let p = try saved(ModelConfig.discriminator("basic", ndf: 4))
        let out = tmp.appendingPathComponent("d.onnx").path
        XCTAssertThrowsError(try exportONNX(modelPath: p, to: out)) { e in
            let e = e as? ExportError
            XCTAssertEqual(e?.kind, .notExpressible)
            XCTAssertTrue(e?.description.contains("discriminator") ?? false, "\(String(describing: e))")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testUnknownLayerIsRefusedWithItsPath() throws {
        final class Odd: Layer {
            func callAsFunction(_ x: Variable) -> Variable { x }
        }
        var b = GraphBuilder(batchNorm: .batch)
        XCTAssertThrowsError(try b.emit(Sequential(ReLU(), Odd()), path: "model", "input")) { e in
            XCTAssertEqual((e as? ExportError)?.kind, .notExpressible)
            XCTAssertTrue("\(e)".contains("model.1"), "\(e)")
        }
    }

    func testOpsetRangeAndIRVersion() throws {
        let p = try saved(ModelConfig.generator("resnet_0blocks", ngf: 2))
        let (m13, _) = try exported(p, ExportOptions(opset: 13))
        XCTAssertEqual(m13.opsetImport.first?.version, 13)
        XCTAssertEqual(m13.irVersion, 7)
        let (m21, _) = try exported(p, ExportOptions(opset: 21))
        XCTAssertEqual(m21.irVersion, 10)
        for bad in [12, 22] {
            XCTAssertThrowsError(try exportONNX(modelPath: p, to: tmp.appendingPathComponent("x.onnx").path,
                                                options: ExportOptions(opset: bad))) { e in
                XCTAssertEqual((e as? ExportError)?.kind, .unsupportedOpset)
            }
        }
    }

    func testExistingOutputIsKeptUnlessOverwrite() throws {
        let p = try saved(ModelConfig.generator("resnet_0blocks", ngf: 2))
        let out = tmp.appendingPathComponent("g.onnx").path
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: out))
        XCTAssertThrowsError(try exportONNX(modelPath: p, to: out)) { e in
            XCTAssertEqual((e as? ExportError)?.kind, .outputExists)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), Data("keep me".utf8))
        try exportONNX(modelPath: p, to: out, options: ExportOptions(overwrite: true))
        XCTAssertNoThrow(try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: out))))
        // No temporary file left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.contains(".tmp-") }, [])
    }
}
