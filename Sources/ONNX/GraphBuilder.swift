// GraphBuilder: an ONNX graph (NCHW) from an img2img generator's module tree, by one walk.
//
//   var b = GraphBuilder(batchNorm: .batch)
//   let y = try b.emit(net, path: "", "input")      // appends nodes and initializers
//
// Each layer becomes one standard operator (an instance norm on the image's own statistics
// two more, ReduceMean and Sub, when centered); initializers are the module's own tensors
// under their state-dict names, in PyTorch's layout (Conv [OC,C,KH,KW], ConvTranspose
// [C_in,C_out,KH,KW]). Containers say how their children compose:
//   Sequential                    children in order
//   ResnetBlock                   Add(x, conv_block(x))
//   UnetSkipConnectionBlock       outermost: model(x); else s = model.0(x) (the in-place
//                                 LeakyReLU), Concat(s, model[1...](s), axis 1)
//   ResnetGenerator, UnetGenerator  their one child, `model`
// Dropout and Identity emit nothing (inference). Anything else is refused with its path.
// Constants that are not state-dict tensors (instance norm without affine: scale 1 and B 0;
// Pad's pads, ReduceMean-18's axes) are named `img2img::...`: the generators' state-dict names all start with
// `model.`, so these never collide with them, and `::` marks them as ours.
import Foundation
import TensorCore
import NN
import Models

struct GraphBuilder {
    let batchNorm: ExportOptions.BatchNorm
    /// Subtract each image's per-channel mean before InstanceNormalization (ReduceMean, Sub):
    /// see `ExportOptions.centeredNorms`.
    let centeredNorms: Bool
    let opset: Int
    private(set) var nodes: [Onnx_NodeProto] = []
    /// How many normalizations got a centered input.
    private(set) var centeredCount = 0
    private(set) var initializers: [Onnx_TensorProto] = []
    private var initializerNames: Set<String> = []

    init(batchNorm: ExportOptions.BatchNorm, centeredNorms: Bool = true, opset: Int = ExportOptions.defaultOpset) {
        self.batchNorm = batchNorm; self.centeredNorms = centeredNorms; self.opset = opset
    }

    static let epsilon: Float = 1e-5  // PyTorch's InstanceNorm2d / BatchNorm2d default, as NN's norms

    /// Appends the nodes computing module `m` (at state-dict path `path`) of tensor `x`;
    /// returns the name of its output tensor.
    mutating func emit(_ m: any Module, path: String, _ x: String) throws -> String {
        func sub(_ name: String) -> String { path.isEmpty ? name : path + "." + name }
        switch m {
        case let g as ResnetGenerator:
            return try emit(g.model, path: sub("model"), x)
        case let g as UnetGenerator:
            return try emit(g.model, path: sub("model"), x)
        case let s as Sequential:
            return try emitSequence(s, from: 0, path: path, x)
        case let b as ResnetBlock:
            let y = try emit(b.convBlock, path: sub("conv_block"), x)
            return node("Add", name: sub("add"), [x, y])
        case let b as UnetSkipConnectionBlock:
            let model = sub("model")
            if b.position == .outermost { return try emit(b.model, path: model, x) }
            guard b.model.count > 1 else { throw refusal(m, path) }
            let skip = try emit(b.model[0], path: model + ".0", x)
            let inner = try emitSequence(b.model, from: 1, path: model, skip)
            return node("Concat", name: sub("cat"), [skip, inner], [.int("axis", 1)])
        case let c as Conv2D:
            let t = try parameters(c, path: path)
            let k = c.weight.value.shape  // ours: [KH,KW,C,OC]
            return node("Conv", name: path, [x] + t, [
                .ints("kernel_shape", [k[0], k[1]]), .ints("strides", [c.stride, c.stride]),
                .ints("pads", Array(repeating: c.padding, count: 4)), .ints("dilations", [1, 1]), .int("group", 1),
            ])
        case let c as ConvTranspose2D:
            let t = try parameters(c, path: path)
            let k = c.weight.value.shape  // ours: [KH,KW,Cout,Cin]
            return node("ConvTranspose", name: path, [x] + t, [
                .ints("kernel_shape", [k[0], k[1]]), .ints("strides", [c.stride, c.stride]),
                .ints("pads", Array(repeating: c.padding, count: 4)),
                .ints("output_padding", [c.outputPadding, c.outputPadding]), .ints("dilations", [1, 1]), .int("group", 1),
            ])
        case let n as InstanceNorm2D:
            let scaleBias: [String]
            if n.affine {
                scaleBias = try parameters(n, path: path)
            } else {
                scaleBias = [constant("img2img::ones_\(n.channels)", [Float](repeating: 1, count: n.channels)),
                             constant("img2img::zeros_\(n.channels)", [Float](repeating: 0, count: n.channels))]
            }
            return node("InstanceNormalization", name: path, [centered(x, path)] + scaleBias, [.float("epsilon", Self.epsilon)])
        case let n as BatchNorm2D:
            switch batchNorm {
            case .batch:
                // The image's own statistics (the paper code's test.py, `translate` without
                // --eval, one image per batch): per (image, channel) over H and W, which is
                // InstanceNormalization with the batch norm's gamma and beta. The running
                // statistics are not used, so they are not in the file.
                let t = try parameters(n, path: path, only: ["weight", "bias"])
                return node("InstanceNormalization", name: path, [centered(x, path)] + t, [.float("epsilon", Self.epsilon)])
            case .running:
                let t = try parameters(n, path: path, only: ["weight", "bias", "running_mean", "running_var"])
                return node("BatchNormalization", name: path, [x] + t, [.float("epsilon", Self.epsilon)])
            }
        case is ReLU:
            return node("Relu", name: path, [x])
        case let a as LeakyReLU:
            return node("LeakyRelu", name: path, [x], [.float("alpha", a.negativeSlope)])
        case is Tanh:
            return node("Tanh", name: path, [x])
        case let p as ReflectionPad2D:
            return node("Pad", name: path, [x, pads(p.padding)], [.string("mode", "reflect")])
        case let p as ReplicationPad2D:
            return node("Pad", name: path, [x, pads(p.padding)], [.string("mode", "edge")])
        case let p as ZeroPad2D:
            return node("Pad", name: path, [x, pads(p.padding)], [.string("mode", "constant")])
        case is Dropout, is Identity:
            return x
        default:
            throw refusal(m, path)
        }
    }

    /// x minus its mean over H and W when `centeredNorms`, else x. Instance normalization is
    /// unchanged by it in exact arithmetic; it keeps a runtime that computes the variance as
    /// E[x^2] - E[x]^2 in float32 from cancelling digits on channels whose mean is large
    /// against their spread.
    private mutating func centered(_ x: String, _ path: String) -> String {
        guard centeredNorms else { return x }
        centeredCount += 1
        let mean: String
        if opset >= 18 {  // ReduceMean-18 takes the axes as an input
            mean = node("ReduceMean", name: path + ".mean", [x, axesHW()], [.int("keepdims", 1)])
        } else {
            mean = node("ReduceMean", name: path + ".mean", [x], [.ints("axes", [2, 3]), .int("keepdims", 1)])
        }
        return node("Sub", name: path + ".centered", [x, mean])
    }

    private mutating func axesHW() -> String {
        let name = "img2img::axes_hw"
        if initializerNames.insert(name).inserted {
            var t = Onnx_TensorProto()
            t.name = name
            t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            t.dims = [2]
            t.int64Data = [2, 3]
            initializers.append(t)
        }
        return name
    }

    private mutating func emitSequence(_ s: Sequential, from start: Int, path: String, _ x: String) throws -> String {
        var h = x
        for i in start..<s.count {
            h = try emit(s[i], path: path.isEmpty ? String(i) : path + ".\(i)", h)
        }
        return h
    }

    private func refusal(_ m: any Module, _ path: String) -> ExportError {
        ExportError(.notExpressible, "\(type(of: m)) at '\(path.isEmpty ? "(root)" : path)' has no ONNX form here")
    }

    // MARK: - Nodes and initializers

    enum Attribute {
        case int(String, Int), ints(String, [Int]), float(String, Float), string(String, String)

        var proto: Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            switch self {
            case .int(let n, let v): a.name = n; a.type = .int; a.i = Int64(v)
            case .ints(let n, let v): a.name = n; a.type = .ints; a.ints = v.map(Int64.init)
            case .float(let n, let v): a.name = n; a.type = .float; a.f = v
            case .string(let n, let v): a.name = n; a.type = .string; a.s = Data(v.utf8)
            }
            return a
        }
    }

    /// Appends a node named `name` whose one output is the tensor `name`; returns it.
    private mutating func node(_ op: String, name: String, _ inputs: [String], _ attributes: [Attribute] = []) -> String {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = [name]
        n.attribute = attributes.map(\.proto)
        nodes.append(n)
        return name
    }

    /// The module's own float tensors as initializers under their state-dict names, in
    /// PyTorch's layout; returns their names in the module's order (or in `only`'s order).
    private mutating func parameters(_ m: any Module, path: String, only: [String]? = nil) throws -> [String] {
        let own = m.ownTensors.filter { $0.kind != .integerBuffer }
        let chosen = try (only ?? own.map(\.name)).map { want in
            guard let t = own.first(where: { $0.name == want }) else {
                throw ExportError(.notExpressible, "\(type(of: m)) at '\(path)' has no tensor '\(want)'")
            }
            return t
        }
        return chosen.map { t in
            let name = path.isEmpty ? t.name : path + "." + t.name
            let v = t.pyTorchValue
            addInitializer(name, shape: v.shape, floats: v.scalars)
            return name
        }
    }

    private mutating func constant(_ name: String, _ values: [Float]) -> String {
        addInitializer(name, shape: [values.count], floats: values)
        return name
    }

    /// Pad's `pads` for NCHW: [N, C, top, left] begins then [N, C, bottom, right] ends.
    private mutating func pads(_ p: Int) -> String {
        let name = "img2img::pads_\(p)"
        if initializerNames.insert(name).inserted {
            var t = Onnx_TensorProto()
            t.name = name
            t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            t.dims = [8]
            t.int64Data = [0, 0, Int64(p), Int64(p), 0, 0, Int64(p), Int64(p)]
            initializers.append(t)
        }
        return name
    }

    private mutating func addInitializer(_ name: String, shape: [Int], floats: [Float]) {
        guard initializerNames.insert(name).inserted else { return }
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = shape.map(Int64.init)
        t.rawData = littleEndianBytes(floats)
        initializers.append(t)
    }
}

/// `raw_data` of a float tensor: IEEE 754 single precision, little-endian (ONNX's rule).
func littleEndianBytes(_ values: [Float]) -> Data {
    var d = Data(capacity: values.count * 4)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
    return d
}
