// A test-only evaluator of the graphs the exporter writes, on img2img's own ops: it reads the
// decoded protobuf (operators, attributes, initializers in PyTorch layout) and runs it NHWC.
// Since the kernels are the network's own, any difference from the network's output is the
// exporter's wiring: operator order, attributes, pads, concat order, weight layouts.
//   x: [N,H,W,C] here, [N,C,H,W] in the graph (so the graph's channel axis 1 is our axis 3)
import XCTest
import Foundation
import TensorCore
import Autograd
import NN
@testable import ONNX

struct GraphEvaluator {
    struct Failure: Error, CustomStringConvertible { let description: String }

    let model: Onnx_ModelProto
    private var initializers: [String: Onnx_TensorProto] = [:]

    init(_ model: Onnx_ModelProto) {
        self.model = model
        for t in model.graph.initializer { initializers[t.name] = t }
    }

    func run(_ x: Tensor) throws -> Tensor {
        var env: [String: Variable] = ["input": Variable(x)]
        func value(_ n: Onnx_NodeProto, _ i: Int) throws -> Variable {
            guard i < n.input.count, let v = env[n.input[i]] else { throw Failure(description: "\(n.name): no input \(i)") }
            return v
        }
        return try withNoGrad {
            for n in model.graph.node {
                let a = Dictionary(uniqueKeysWithValues: n.attribute.map { ($0.name, $0) })
                let x = try value(n, 0)
                let y: Variable
                switch n.opType {
                case "Conv":
                    let w = Variable(try floats(n.input[1], layout: .conv))
                    let p = a["pads"]?.ints.map(Int.init) ?? [0, 0, 0, 0]  // [top, left, bottom, right]
                    let s = a["strides"]?.ints.map(Int.init) ?? [1, 1]
                    try expect(a["group"]?.i ?? 1 == 1 && (a["dilations"]?.ints ?? [1, 1]) == [1, 1], n)
                    try expect(a["kernel_shape"]?.ints.map(Int.init) == Array(w.shape[0..<2]), n)
                    y = conv2d(x, w, bias: try bias(n), strides: (s[0], s[1]),
                               padding: ConvPadding(top: p[0], left: p[1], bottom: p[2], right: p[3]))
                case "ConvTranspose":
                    let w = Variable(try floats(n.input[1], layout: .transposedConv))
                    let p = a["pads"]?.ints.map(Int.init) ?? [0, 0, 0, 0]
                    let s = a["strides"]?.ints.map(Int.init) ?? [1, 1]
                    let op = a["output_padding"]?.ints.map(Int.init) ?? [0, 0]
                    try expect(p[0] == p[2] && p[1] == p[3], n)
                    y = convTranspose2d(x, w, bias: try bias(n), strides: (s[0], s[1]), padding: (p[0], p[1]),
                                        outputPadding: (op[0], op[1]))
                case "Pad":
                    let p = try ints(n.input[1])  // [N, C, top, left] begins, then ends
                    try expect(p.count == 8 && p[0] == 0 && p[1] == 0 && p[4] == 0 && p[5] == 0, n)
                    let mode: PaddingMode
                    switch a["mode"].map({ String(decoding: $0.s, as: UTF8.self) }) ?? "constant" {
                    case "reflect": mode = .reflect
                    case "edge": mode = .replicate
                    case "constant": mode = .zero
                    default: throw Failure(description: "\(n.name): pad mode")
                    }
                    y = pad(x, ConvPadding(top: p[2], left: p[3], bottom: p[6], right: p[7]), mode: mode)
                case "InstanceNormalization":
                    y = instanceNorm(x, gamma: Variable(try floats(n.input[1])), beta: Variable(try floats(n.input[2])),
                                     eps: a["epsilon"]?.f ?? 1e-5)
                case "BatchNormalization":
                    var stats = BatchNormStatistics(channels: x.shape[3])
                    stats.runningMean = try floats(n.input[3])
                    stats.runningVar = try floats(n.input[4])
                    y = batchNorm(x, gamma: Variable(try floats(n.input[1])), beta: Variable(try floats(n.input[2])),
                                  statistics: &stats, training: false, eps: a["epsilon"]?.f ?? 1e-5)
                case "ReduceMean":
                    let axes = n.input.count > 1 ? try ints(n.input[1]) : (a["axes"]?.ints.map(Int.init) ?? [])
                    try expect(axes == [2, 3] && (a["keepdims"]?.i ?? 1) == 1, n)
                    y = Variable(meanOverHW(x.value))
                case "Sub":
                    let m = try value(n, 1)
                    y = sub(x, broadcast(m, to: x.shape))
                case "Relu": y = relu(x)
                case "LeakyRelu": y = leakyReLU(x, slope: a["alpha"]?.f ?? 0.01)
                case "Tanh": y = tanh(x)
                case "Add": y = add(x, try value(n, 1))
                case "Concat":
                    try expect(a["axis"]?.i == 1, n)
                    y = concat(try (0..<n.input.count).map { try value(n, $0) }, axis: -1)
                default:
                    throw Failure(description: "\(n.name): operator \(n.opType) not handled")
                }
                env[n.output[0]] = y
            }
            guard let out = env["output"] else { throw Failure(description: "no output") }
            return out.value
        }
    }

    private func expect(_ ok: Bool, _ n: Onnx_NodeProto) throws {
        if !ok { throw Failure(description: "\(n.name): unexpected attributes \(n.attribute.map(\.name))") }
    }

    private func bias(_ n: Onnx_NodeProto) throws -> Variable? {
        n.input.count > 2 ? Variable(try floats(n.input[2])) : nil
    }

    /// A float initializer in our layout.
    private func floats(_ name: String, layout: TensorLayout = .plain) throws -> Tensor {
        guard let t = initializers[name], t.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue) else {
            throw Failure(description: "no float initializer \(name)")
        }
        let values: [Float] = t.rawData.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return layout.fromPyTorch(Tensor(shape: t.dims.map(Int.init), scalars: values))
    }

    private func ints(_ name: String) throws -> [Int] {
        guard let t = initializers[name], t.dataType == Int32(Onnx_TensorProto.DataType.int64.rawValue) else {
            throw Failure(description: "no int64 initializer \(name)")
        }
        return t.int64Data.map(Int.init)
    }

    /// [N,H,W,C] -> [N,1,1,C], in Double.
    private func meanOverHW(_ x: Tensor) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let s = x.scalars
        var out = [Float](repeating: 0, count: n * c)
        for i in 0..<n {
            for ch in 0..<c {
                var acc = 0.0
                for p in 0..<(h * w) { acc += Double(s[(i * h * w + p) * c + ch]) }
                out[i * c + ch] = Float(acc / Double(h * w))
            }
        }
        return Tensor(shape: [n, 1, 1, c], scalars: out)
    }
}
