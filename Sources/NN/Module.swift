// Modules and layers: a tree of named children, each owning named tensors, so that one
// walk gives the PyTorch state dict (names, order, layouts) and the parameter list.
//
//   let conv = Conv2D(inChannels: 3, outChannels: 8, kernelSize: 4, stride: 2, padding: 1)
//   let y = conv(x)                         // x: [N,H,W,3] -> y: [N,H/2,W/2,8]
//   let net = Sequential(ReflectionPad2D(3), conv, InstanceNorm2D(8), ReLU())
//   net.stateDict().names                   // ["1.weight", "1.bias"]: children keep their
//                                           // index, parameterless ones included (PyTorch)
// A module's own tensors come first (parameters, then buffers, in PyTorch's registration
// order), then its children depth-first: exactly `torch.nn.Module.state_dict()`.
import TensorCore
import Autograd

/// How a tensor is stored here vs in PyTorch; the state dict always uses PyTorch's layout.
public enum TensorLayout: Sendable, Equatable {
    /// Same shape and order (biases, norm weights, linear weights [out,in], embeddings).
    case plain
    /// Ours [KH,KW,C,OC], PyTorch Conv2d [OC,C,KH,KW].
    case conv
    /// Ours [KH,KW,Cout,Cin], PyTorch ConvTranspose2d [Cin,Cout,KH,KW].
    case transposedConv

    public func toPyTorch(_ t: Tensor) -> Tensor {
        switch self {
        case .plain: return t
        case .conv: return t.convWeightToPyTorch()
        case .transposedConv: return t.transposedConvWeightToPyTorch()
        }
    }

    public func fromPyTorch(_ t: Tensor) -> Tensor {
        switch self {
        case .plain: return t
        case .conv: return t.convWeightFromPyTorch()
        case .transposedConv: return t.transposedConvWeightFromPyTorch()
        }
    }

    /// PyTorch's shape of a tensor of shape `shape` in our layout.
    public func pyTorchShape(_ shape: [Int]) -> [Int] {
        switch self {
        case .plain: return shape
        case .conv, .transposedConv: return [shape[3], shape[2], shape[0], shape[1]]
        }
    }
}

/// One named tensor a module owns: a trainable parameter or a buffer (running statistics).
public struct ModuleTensor {
    public enum Kind: Sendable, Equatable {
        case parameter
        case buffer
        /// An integer buffer (BatchNorm `num_batches_tracked`, int64 in PyTorch).
        case integerBuffer
    }
    public let name: String
    public let kind: Kind
    public let layout: TensorLayout
    /// The Variable of a parameter (nil for buffers).
    public let variable: Variable?
    let read: () -> Tensor
    let write: (Tensor) -> Void

    public static func parameter(_ name: String, _ v: Variable, layout: TensorLayout = .plain) -> ModuleTensor {
        ModuleTensor(name: name, kind: .parameter, layout: layout, variable: v,
                     read: { v.value }, write: { v.value = $0 })
    }

    public static func buffer(_ name: String, integer: Bool = false,
                              get: @escaping () -> Tensor, set: @escaping (Tensor) -> Void) -> ModuleTensor {
        ModuleTensor(name: name, kind: integer ? .integerBuffer : .buffer, layout: .plain, variable: nil, read: get, write: set)
    }

    /// The value in our layout.
    public var value: Tensor { read() }
    /// The value in PyTorch's layout.
    public var pyTorchValue: Tensor { layout.toPyTorch(read()) }
    public var pyTorchShape: [Int] { layout.pyTorchShape(read().shape) }
    /// Sets the value from a tensor in PyTorch's layout (shape already checked).
    public func setFromPyTorch(_ t: Tensor) { write(layout.fromPyTorch(t)) }
}

/// A node of the network tree. Conformers list their own tensors and their children; the
/// state dict, the parameter list and mode switches are derived from that by one walk.
public protocol Module: AnyObject, ParameterContainer {
    /// Own tensors, in PyTorch's registration order (parameters, then buffers).
    var ownTensors: [ModuleTensor] { get }
    /// Direct children with their attribute names ("model", "conv_block", "0", ...).
    var children: [(name: String, module: any Module)] { get }
    /// Switches this module alone (not its children) to `mode`; `train()` and `testMode()`
    /// call it on every module of the tree. Default: nothing, for layers that act the same
    /// in both modes. A requirement, not only an extension method, so that the walk
    /// dispatches to the conformer's version through `any Module`.
    func setMode(_ mode: ModuleMode)
}

/// Training or test mode, as set on a whole tree by `train()` / `testMode()`.
public enum ModuleMode: Sendable, Equatable {
    /// PyTorch `train()`: batch norm uses and updates batch statistics, dropout is on.
    case training
    /// Test time: batch norm uses the running statistics if `runningStatistics`, else the
    /// batch's own (running ones untouched); dropout stays on if `dropout`.
    case test(runningStatistics: Bool, dropout: Bool)
}

/// A module applied to one tensor: `y = layer(x)`, activations NHWC.
public protocol Layer: Module {
    func callAsFunction(_ x: Variable) -> Variable
}

extension Module {
    public var ownTensors: [ModuleTensor] { [] }
    public var children: [(name: String, module: any Module)] { [] }
    public func setMode(_ mode: ModuleMode) {}

    /// Every module of the tree, depth-first (self first), with its dotted path ("" for self).
    public func namedModules(prefix: String = "") -> [(path: String, module: any Module)] {
        var out: [(String, any Module)] = [(prefix, self)]
        for (name, child) in children {
            out += child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return out
    }

    /// Every tensor of the tree with its full state-dict name, in `state_dict()` order.
    public func namedTensors() -> [(name: String, tensor: ModuleTensor)] {
        namedModules().flatMap { path, m in
            m.ownTensors.map { (path.isEmpty ? $0.name : path + "." + $0.name, $0) }
        }
    }

    /// Trainable parameters with their names.
    public func namedParameters() -> [(name: String, variable: Variable)] {
        namedTensors().compactMap { n, t in t.variable.map { (n, $0) } }
    }

    /// ParameterContainer: the trainable parameters in state-dict order.
    public var parameters: [Variable] { namedParameters().map(\.variable) }

    /// Training mode, as PyTorch `train()`: batch norm uses and updates batch statistics,
    /// dropout is on.
    public func train() { setModeRecursively(.training) }

    /// Test mode. By default batch norm normalizes with the image's own statistics (without
    /// touching the running ones), as the paper code's `test.py`, which never calls
    /// `eval()`; `runningStatistics: true` is PyTorch `eval()` (`--eval`). Dropout is off
    /// unless `dropout: true`: the paper code leaves it on at test time, which makes its
    /// output random.
    public func testMode(runningStatistics: Bool = false, dropout: Bool = false) {
        setModeRecursively(.test(runningStatistics: runningStatistics, dropout: dropout))
    }

    private func setModeRecursively(_ mode: ModuleMode) {
        for (_, m) in namedModules() { m.setMode(mode) }
    }
}
