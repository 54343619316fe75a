// Variable: a tensor on the tape.
//
// A Variable holds a `Tensor` value. A leaf with `requiresGrad` (a parameter, or an input
// whose gradient is wanted) receives `.grad` from `backward()`. A Variable produced by an
// op while gradients are enabled and some input needs a gradient carries a `Node`: the
// op's backward rule and the inputs it differentiates to. Backward rules are written in
// terms of differentiable ops (see Ops/), so a backward pass run with `createGraph: true`
// is itself recorded and can be differentiated again (second derivatives, WGAN-GP).
//
//   let w = Variable(Tensor(randomNormal: [3,3,3,8], std: 0.02, using: &rng), requiresGrad: true)
//   let y = conv2d(x, w, stride: 2, padding: .same(1))     // records a node
//   let loss = mean(y * y); loss.backward()                 // w.grad is filled (accumulates)
//   withNoGrad { ... }                                      // records nothing, keeps no activations
import TensorCore

public final class Variable: @unchecked Sendable, CustomStringConvertible {
    /// The value. Optimizers update it in place with `update(_:)` (copy on write protects
    /// any tensor the tape saved).
    public var value: Tensor
    /// For leaves: whether backward() computes a gradient for it. Set false to freeze.
    public var requiresGrad: Bool
    /// Accumulated gradient of a leaf (nil until the first backward; `zeroGrad()` clears it).
    public var grad: Tensor?
    /// The op that produced this variable, nil for leaves and for results computed without grad.
    public internal(set) var node: Node?
    /// Optional name, for debugging and parameter listings.
    public var name: String?

    public init(_ value: Tensor, requiresGrad: Bool = false, name: String? = nil) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.name = name
    }

    init(_ value: Tensor, node: Node) {
        self.value = value
        self.requiresGrad = true
        self.node = node
    }

    public var shape: [Int] { value.shape }
    public var isLeaf: Bool { node == nil }
    /// Whether a gradient flows into this variable (a trainable leaf or an op result on the tape).
    public var needsGrad: Bool { requiresGrad || node != nil }

    /// A new leaf sharing the value, cut from the tape (like PyTorch `.detach()`).
    public func detached() -> Variable { Variable(value, requiresGrad: false) }

    public func zeroGrad() { grad = nil }

    /// In-place update of a leaf's value (optimizer step). Not recorded.
    public func update(_ body: (inout Tensor) -> Void) { body(&value) }

    public var description: String {
        "Variable(\(name.map { "\($0), " } ?? "")shape: \(shape)\(node.map { ", op: \($0.name)" } ?? ""), requiresGrad: \(requiresGrad))"
    }
}

/// A backward rule: given dL/dy and which inputs need a gradient in this pass, returns one
/// gradient per input (nil where none is needed). Rules are written with differentiable ops.
public typealias BackwardRule = (_ grad: Variable, _ needs: [Bool]) -> [Variable?]

/// One recorded op: where its inputs come from and its backward rule.
///
/// The graph refers to the ops that produced the inputs (their nodes), never to intermediate
/// Variables, so a tensor no backward rule captured dies as soon as the forward code drops it,
/// as in PyTorch (whose graph keeps only saved tensors). Leaves are referenced themselves
/// (their `.grad` receives the gradient).
public final class Node: @unchecked Sendable {
    public let name: String
    var edges: [Edge]
    /// The input shapes (checked against the rule's gradients).
    var inputShapes: [[Int]]
    var rule: BackwardRule?
    /// The layer the op ran in, kept while anomaly checks are on (for the backward pass's report).
    var layer: String?

    init(name: String, inputs: [Variable], rule: @escaping BackwardRule) {
        self.name = name
        self.edges = inputs.map { $0.node.map(Edge.node) ?? .leaf($0) }
        self.inputShapes = inputs.map(\.shape)
        self.rule = rule
    }

    /// Frees what the rule captured (saved activations) after a backward that does not retain the graph.
    func release() { rule = nil; edges = [] }
}

/// A vertex of the backward graph: the node of an op result, or a leaf variable.
enum Edge {
    case node(Node)
    case leaf(Variable)

    var id: ObjectIdentifier {
        switch self {
        case .node(let n): return ObjectIdentifier(n)
        case .leaf(let v): return ObjectIdentifier(v)
        }
    }

    /// Whether a gradient flows into it (an op result, or a leaf that requires grad now).
    var needsGrad: Bool {
        switch self {
        case .node: return true
        case .leaf(let v): return v.requiresGrad
        }
    }

    /// The vertex of a variable: its node if it has one, else the variable itself.
    init(_ v: Variable) { self = v.node.map(Edge.node) ?? .leaf(v) }
}

// MARK: - Gradient mode

public enum GradMode {
    /// Whether ops record the tape. Task-local (and thread-local outside tasks).
    @TaskLocal public static var isEnabled: Bool = true
}

/// Runs `body` with recording off: ops keep no activations and build no graph (inference).
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

/// Runs `body` with recording set to `enabled`.
public func withGradMode<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(enabled, operation: body)
}

/// Creates the output variable of an op, recording a node when grad mode is on and an
/// input needs a gradient. `rule` maps dL/dy to [dL/dinput_i] (nil = no gradient).
/// Every op of Ops/ funnels through here.
@inline(__always)
public func record(_ name: String, _ value: Tensor, _ inputs: [Variable],
                   _ rule: @escaping BackwardRule) -> Variable {
    if AnomalyMode.enabled { AnomalyMode.checkForward(name, value, inputs) }
    guard GradMode.isEnabled, inputs.contains(where: { $0.needsGrad }) else { return Variable(value) }
    let node = Node(name: name, inputs: inputs, rule: rule)
    if AnomalyMode.enabled { node.layer = AnomalyMode.currentLayer }
    return Variable(value, node: node)
}

// MARK: - Parameters

/// Anything that owns trainable parameters (layers, models). Conformers list their
/// parameters; freezing, unfreezing and clearing gradients come for free.
public protocol ParameterContainer {
    var parameters: [Variable] { get }
}

extension ParameterContainer {
    /// Freeze (false) or unfreeze (true) every parameter, e.g. D during the G step.
    public func setRequiresGrad(_ flag: Bool) { for p in parameters { p.requiresGrad = flag } }
    public func zeroGrad() { for p in parameters { p.grad = nil } }
}

extension Array: ParameterContainer where Element == Variable {
    public var parameters: [Variable] { self }
}
