// Export of image-to-image generators (ResNet, U-Net) to ONNX, for onnxruntime, browsers,
// phones and other services.
//
//   let s = try exportONNX(modelPath: "latest_net_G_A.pth", to: "G.onnx", options: ExportOptions())
//   let proto = try onnxModel(of: try loadNetwork(path: p, select: .translator(reverse: false)))
//
// The exported graph:
//   input  "input":  float32 [batch, input_nc, height, width], pixels normalized to [-1, 1]
//   output "output": float32 [batch, output_nc, height, width] in [-1, 1] (tanh)
//   height and width are dynamic (dim_param), any multiple of the network's size multiple
//   (4 for ResNets, 2^downs for U-Nets; in metadata_props as `size_multiple`);
//   standard operators only (default domain, opset 17 unless asked): Conv, ConvTranspose,
//   InstanceNormalization, BatchNormalization (inference form), Relu, LeakyRelu, Tanh, Pad
//   (reflect), Concat, Add, and ReduceMean and Sub before each InstanceNormalization unless
//   `centeredNorms` is off; initializers named as the paper code's state_dict.
// Batch norm: `.batch` (default) normalizes each image with its own statistics, as
// `img2img translate` and the paper code's test.py (which never calls eval()) do: that is
// InstanceNormalization with the batch norm's weight and bias. `.running` uses the running
// statistics (`translate --eval`, PyTorch eval()) as BatchNormalization.
import Foundation
import SwiftProtobuf
import Checkpoint
import Models
import NN

public struct ExportOptions: Sendable, Equatable {
    /// How batch norm layers normalize in the exported graph.
    public enum BatchNorm: String, Sendable, Equatable, CaseIterable {
        /// Each image's own statistics (translate's default, the paper code's test.py).
        case batch
        /// The running statistics (translate --eval, PyTorch eval()).
        case running
    }

    public static let defaultOpset = 17
    /// Opsets whose operator forms this exporter writes: the nodes are the same in all of them
    /// (Pad takes its pads as an input since opset 11; LeakyRelu, Relu, Conv unchanged in use).
    public static let supportedOpsets = 13...21

    public var opset: Int
    public var batchNorm: BatchNorm
    /// Insert ReduceMean and Sub before each InstanceNormalization, so that it sees
    /// zero-mean channels. Exact arithmetic gives the same result; it is for runtimes whose
    /// instance norm computes the variance as E[x^2] - E[x]^2 in float32 (onnxruntime's CPU
    /// kernel, 1.32): on a channel whose mean is large against its spread (a dark image after
    /// the first conv) that loses digits, and a trained ResNet's output can move by up to 10
    /// levels (tools/onnx_reference.py shows which side is off). On by default; off, the
    /// graph has only the ten operators of the plain form.
    public var centeredNorms: Bool
    /// Replace an existing output file.
    public var overwrite: Bool

    public init(opset: Int = ExportOptions.defaultOpset, batchNorm: BatchNorm = .batch, centeredNorms: Bool = true,
                overwrite: Bool = false) {
        self.opset = opset; self.batchNorm = batchNorm; self.centeredNorms = centeredNorms; self.overwrite = overwrite
    }

    /// The ONNX IR version that goes with an opset (onnx's VERSION_TABLE).
    public static func irVersion(forOpset opset: Int) -> Int {
        switch opset {
        case ...14: return 7
        case 15...18: return 8
        case 19...20: return 9
        default: return 10
        }
    }
}

/// Why an export was refused.
public struct ExportError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The network cannot be written with the standard operators (a discriminator, a
        /// label-conditional model, an unknown layer).
        case notExpressible
        /// An opset outside `ExportOptions.supportedOpsets`.
        case unsupportedOpset
        /// The output file exists and overwriting was not asked for.
        case outputExists
    }
    public var kind: Kind
    public var file: String?
    public var reason: String

    public init(_ kind: Kind, file: String? = nil, _ reason: String) {
        self.kind = kind; self.file = file; self.reason = reason
    }

    public var description: String { (file.map { "\($0): " } ?? "") + reason }
}

/// What `exportONNX` wrote.
public struct ExportSummary: Sendable {
    public let output: String
    public let config: ModelConfig
    /// The network's prefix in a training checkpoint (G_A, G_B, G), nil for a network file.
    public let prefix: String?
    public let nodes: Int
    public let parameters: Int
    public let bytes: Int
}

/// Metadata keys written into `metadata_props`.
public enum ONNXMetadata {
    /// The network's full ModelConfig as JSON (what img2img itself would need to rebuild it).
    public static let config = ModelConfig.metadataKey
    public static let architecture = "architecture"
    public static let inputChannels = "input_channels"
    public static let outputChannels = "output_channels"
    public static let ngf = "ngf"
    public static let norm = "norm"
    public static let batchNorm = "batch_norm"
    public static let centeredNorms = "centered_norms"
    public static let sizeMultiple = "size_multiple"
    public static let layout = "layout"
    public static let inputRange = "input_range"
    public static let outputRange = "output_range"
    public static let pixelNormalization = "pixel_normalization"
}

/// Loads the generator of `modelPath` (network file, training checkpoint: G_A, or G_B when
/// `reverse`, or G; the paper code's `.pth`) and writes it as ONNX to `output`, atomically.
/// An existing `output` is refused unless `options.overwrite`.
@discardableResult
public func exportONNX(modelPath: String, reverse: Bool = false, to output: String,
                       options: ExportOptions = ExportOptions()) throws -> ExportSummary {
    try check(options)
    if !options.overwrite && FileManager.default.fileExists(atPath: output) {
        throw ExportError(.outputExists, file: output, "exists (use --overwrite to replace it)")
    }
    let m = try loadNetwork(path: modelPath, select: .translator(reverse: reverse))
    let proto = try onnxModel(of: m, options: options)
    let bytes: [UInt8] = try proto.serializedBytes()
    try AtomicFile.write(bytes, to: output)
    return ExportSummary(output: output, config: m.config, prefix: m.prefix, nodes: proto.graph.node.count,
                         parameters: m.module.parameters.reduce(0) { $0 + $1.value.count }, bytes: bytes.count)
}

/// The ONNX model of a loaded image-to-image generator.
public func onnxModel(of m: LoadedNetwork, options: ExportOptions = ExportOptions()) throws -> Onnx_ModelProto {
    try check(options)
    let cfg = m.config
    guard cfg.kind == .generator, let arch = ModelConfig.parseNetG(cfg.netG) else {
        let what = cfg.kind == .generator ? "generator '\(cfg.netG)'" : "a \(cfg.kind.rawValue)"
        throw ExportError(.notExpressible, file: m.path,
                          "holds \(what): only image-to-image generators (resnet_<n>blocks, unet_<size>) export to ONNX")
    }
    var b = GraphBuilder(batchNorm: options.batchNorm, centeredNorms: options.centeredNorms, opset: options.opset)
    let y: String
    do { y = try b.emit(m.module, path: "", "input") } catch var e as ExportError {
        e.file = m.path
        throw e
    }
    var nodes = b.nodes
    guard y != "input", let last = nodes.indices.last, nodes[last].output == [y] else {
        throw ExportError(.notExpressible, file: m.path, "the network computes nothing")
    }
    nodes[last].output = ["output"]

    var graph = Onnx_GraphProto()
    graph.name = cfg.netG
    graph.node = nodes
    graph.initializer = b.initializers
    graph.input = [imageValue("input", channels: cfg.inputNC)]
    graph.output = [imageValue("output", channels: cfg.outputNC)]
    graph.docString = "img2img \(cfg.netG) generator, NCHW, pixels in [-1, 1]"

    var model = Onnx_ModelProto()
    model.irVersion = Int64(ExportOptions.irVersion(forOpset: options.opset))
    var opset = Onnx_OperatorSetIdProto()
    opset.domain = ""
    opset.version = Int64(options.opset)
    model.opsetImport = [opset]
    model.producerName = "img2img"
    model.producerVersion = "0.1.0"
    model.modelVersion = 1
    model.docString = "Image-to-image generator exported by img2img from \((m.path as NSString).lastPathComponent)"
        + (m.prefix.map { " (\($0))" } ?? "")
    model.graph = graph

    let archName: String
    switch arch {
    case .resnet(let n): archName = "resnet (\(n) blocks)"
    case .unet(let d): archName = "unet (\(d) downsamplings)"
    }
    let props: [(String, String)] = [
        (ONNXMetadata.architecture, cfg.netG),
        (ONNXMetadata.inputChannels, String(cfg.inputNC)),
        (ONNXMetadata.outputChannels, String(cfg.outputNC)),
        (ONNXMetadata.ngf, String(cfg.ngf)),
        (ONNXMetadata.norm, cfg.norm.rawValue),
        (ONNXMetadata.batchNorm, cfg.norm == .batch ? options.batchNorm.rawValue : "none"),
        (ONNXMetadata.centeredNorms, String(b.centeredCount > 0)),
        (ONNXMetadata.sizeMultiple, String(cfg.sizeMultiple)),
        (ONNXMetadata.layout, "NCHW"),
        (ONNXMetadata.inputRange, "[-1, 1]"),
        (ONNXMetadata.outputRange, "[-1, 1]"),
        (ONNXMetadata.pixelNormalization,
         "input = pixel / 255 * 2 - 1 (mean 0.5, std 0.5 per channel); pixel = (output + 1) / 2 * 255, "
         + "truncated to 0...255 as the paper code's tensor2im; \(archName)"),
        (ONNXMetadata.config, cfg.json()),
    ]
    model.metadataProps = props.map { k, v in
        var e = Onnx_StringStringEntryProto()
        e.key = k
        e.value = v
        return e
    }
    return model
}

private func check(_ options: ExportOptions) throws {
    guard ExportOptions.supportedOpsets.contains(options.opset) else {
        throw ExportError(.unsupportedOpset, "opset \(options.opset) is not supported "
                          + "(\(ExportOptions.supportedOpsets.lowerBound)...\(ExportOptions.supportedOpsets.upperBound))")
    }
}

/// float32 [batch, channels, height, width] with batch, height and width dynamic.
private func imageValue(_ name: String, channels: Int) -> Onnx_ValueInfoProto {
    func dim(_ p: String) -> Onnx_TensorShapeProto.Dimension {
        var d = Onnx_TensorShapeProto.Dimension()
        d.dimParam = p
        return d
    }
    var c = Onnx_TensorShapeProto.Dimension()
    c.dimValue = Int64(channels)
    var shape = Onnx_TensorShapeProto()
    shape.dim = [dim("batch"), c, dim("height"), dim("width")]
    var t = Onnx_TypeProto.Tensor()
    t.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    t.shape = shape
    var type = Onnx_TypeProto()
    type.tensorType = t
    var v = Onnx_ValueInfoProto()
    v.name = name
    v.type = type
    return v
}
