// Anomaly detection, as torch.autograd.detect_anomaly: while `AnomalyMode.checking` runs, every
// op's output (forward, through `record`) and every gradient a backward rule returns is checked
// for NaN and infinity, and the first non-finite value is kept with the op's name, the layer it
// ran in ("G_A.model.12.conv_block.5": containers report the child they call through
// `AnomalyMode.entering`) and the pass. Off, it costs one flag read per op.
//
//   let (result, anomaly) = AnomalyMode.checking(naming: [("G", netG)]) { trainer.step() }
//   if let a = anomaly { print(a) }   // "div in F.mlp_0.2 (backward) ..."
import TensorCore

/// The first non-finite value of a checked pass.
public struct Anomaly: Sendable, Equatable, CustomStringConvertible {
    public enum Pass: String, Sendable { case forward, backward }
    public enum Source: Sendable, Equatable {
        /// The op made it from finite inputs (its forward, or its backward from a finite gradient).
        case op
        /// An input was already non-finite: a parameter (named) or data (a leaf that is no parameter).
        case parameter(String)
        case data
    }
    /// The op's name ("conv2d", "div", ...).
    public var op: String
    /// The layer the op ran in, nil outside every named layer (a loss).
    public var layer: String?
    public var pass: Pass
    public var source: Source
    /// The shape of the non-finite output (forward) or gradient (backward).
    public var shape: [Int]
    /// "nan", "inf" or "-inf": the first non-finite value.
    public var value: String

    public var description: String {
        let where_ = layer.map { "in \($0)" } ?? "outside the networks' layers (a loss)"
        switch source {
        case .op:
            return "\(op) \(where_) gave \(value) in the \(pass.rawValue) pass from finite "
                + (pass == .forward ? "inputs" : "gradients") + " (shape \(shape))"
        case .parameter(let p):
            return "\(op) \(where_) read the parameter \(p), which is already non-finite (\(pass.rawValue) pass)"
        case .data:
            return "\(op) \(where_) read input data that is already non-finite (\(pass.rawValue) pass)"
        }
    }
}

public enum AnomalyMode {
    // One training thread records ops; the kernels' worker threads never touch these.
    nonisolated(unsafe) static var enabled = false
    nonisolated(unsafe) static var pass = Anomaly.Pass.forward
    nonisolated(unsafe) static var first: Anomaly?
    nonisolated(unsafe) static var names: [ObjectIdentifier: String] = [:]
    nonisolated(unsafe) static var stack: [ObjectIdentifier] = []
    /// In the backward pass: the op whose rule runs now and its layer (the rule's own ops are
    /// reported as that op's backward).
    nonisolated(unsafe) static var backwardOf: (op: String, layer: String?)? = nil

    /// Whether checks are on (containers skip the bookkeeping otherwise).
    @inline(__always) public static var isChecking: Bool { enabled }

    /// Runs `body` with every op checked; returns its result and the first anomaly. `modules`
    /// name the layers and parameters: each entry's objects by path under its name, given as
    /// (path, object) pairs (`Module.namedModules` and `namedParameters` with the network's
    /// prefix).
    public static func checking<R>(naming objects: [(path: String, object: AnyObject)],
                                   _ body: () throws -> R) rethrows -> (R, Anomaly?) {
        let saved = (enabled, pass, first, names, stack, backwardOf)
        enabled = true; pass = .forward; first = nil; stack = []; backwardOf = nil
        names = Dictionary(objects.map { (ObjectIdentifier($0.object), $0.path) }, uniquingKeysWith: { a, _ in a })
        defer { (enabled, pass, first, names, stack, backwardOf) = saved }
        let r = try body()
        return (r, first)
    }

    /// Runs `body` as the layer `object` (its path is the one `checking` was given).
    @inline(__always)
    public static func entering<R>(_ object: AnyObject, _ body: () -> R) -> R {
        guard enabled else { return body() }
        stack.append(ObjectIdentifier(object))
        defer { stack.removeLast() }
        return body()
    }

    /// The innermost named layer running now.
    static var currentLayer: String? {
        if pass == .backward, let b = backwardOf { return b.layer }
        for id in stack.reversed() { if let n = names[id] { return n } }
        return nil
    }

    static func firstNonFinite(_ t: Tensor) -> String? {
        t.withUnsafeBufferPointer { p in
            for x in p where !x.isFinite { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
            return nil
        }
    }

    /// `record`'s check of an op's output.
    static func checkForward(_ name: String, _ value: Tensor, _ inputs: [Variable]) {
        guard first == nil, let bad = firstNonFinite(value) else { return }
        var source = Anomaly.Source.op
        for x in inputs where firstNonFinite(x.value) != nil {
            if x.isLeaf {
                source = names[ObjectIdentifier(x)].map(Anomaly.Source.parameter) ?? .data
                break
            }
        }
        let op = pass == .backward ? backwardOf.map { "\($0.op) (its backward's \(name))" } ?? name : name
        first = Anomaly(op: op, layer: currentLayer, pass: pass, source: source, shape: value.shape, value: bad)
    }

    /// The backward pass's check of the gradients a rule returned for `node`.
    static func checkBackward(_ node: Node, incoming: Variable, _ grads: [Variable?]) {
        guard first == nil else { return }
        for g in grads {
            guard let g, let bad = firstNonFinite(g.value) else { continue }
            // A non-finite incoming gradient was caught at the op that produced it.
            guard firstNonFinite(incoming.value) == nil else { return }
            first = Anomaly(op: node.name, layer: node.layer, pass: .backward, source: .op, shape: g.shape, value: bad)
            return
        }
    }
}
