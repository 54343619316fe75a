// The state dict: every parameter and buffer of a module tree by its PyTorch name, in
// PyTorch's order and layouts. `stateDict()` and `loadStateDict(_:)` are one walk each.
//
//   let sd = net.stateDict()                    // [("model.1.weight", [8,3,7,7]), ...]
//   try net.loadStateDict(sd)                   // validates every key and shape first
// Loading follows the paper code's `load_networks`: a `module.` prefix (DataParallel) is
// stripped, and the stale running_mean / running_var / num_batches_tracked keys of
// InstanceNorm layers (`__patch_instance_norm_state_dict`) are dropped.
import TensorCore
import Autograd

public struct StateDict: Sendable {
    public struct Entry: Sendable {
        public var name: String
        /// In PyTorch's layout.
        public var tensor: Tensor
        /// An integer buffer (num_batches_tracked): saved as int64.
        public var isInteger: Bool
        public init(name: String, tensor: Tensor, isInteger: Bool = false) {
            self.name = name; self.tensor = tensor; self.isInteger = isInteger
        }
    }

    public var entries: [Entry]
    public init(_ entries: [Entry] = []) { self.entries = entries }

    public var names: [String] { entries.map(\.name) }
    public subscript(name: String) -> Tensor? { entries.first { $0.name == name }?.tensor }
}

/// A state dict that does not fit the module: every offending key, with shapes.
public struct StateDictMismatch: Error, CustomStringConvertible, Sendable, Equatable {
    public struct WrongShape: Sendable, Equatable {
        public var name: String
        public var expected: [Int]
        public var found: [Int]
        public init(name: String, expected: [Int], found: [Int]) {
            self.name = name; self.expected = expected; self.found = found
        }
    }
    /// Keys the module has and the state dict lacks, with the module's shape.
    public var missing: [(name: String, shape: [Int])]
    /// Keys the state dict has and the module lacks, with the file's shape.
    public var unexpected: [(name: String, shape: [Int])]
    public var wrongShapes: [WrongShape]
    /// Where the state dict came from (a file path), if known.
    public var source: String?
    /// The network it was loaded into, in words ("resnet_9blocks, ngf 64, ..."), if known.
    public var network: String?
    /// Which architecture would fit the state dict (the loader infers it from the tensors).
    public var hint: String?

    public init(missing: [(name: String, shape: [Int])], unexpected: [(name: String, shape: [Int])],
                wrongShapes: [WrongShape], source: String?, network: String? = nil, hint: String? = nil) {
        self.missing = missing; self.unexpected = unexpected; self.wrongShapes = wrongShapes
        self.source = source; self.network = network; self.hint = hint
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.missing.map(\.name) == b.missing.map(\.name) && a.missing.map(\.shape) == b.missing.map(\.shape)
            && a.unexpected.map(\.name) == b.unexpected.map(\.name) && a.unexpected.map(\.shape) == b.unexpected.map(\.shape)
            && a.wrongShapes == b.wrongShapes && a.source == b.source && a.network == b.network && a.hint == b.hint
    }

    /// How many offending keys the second line names.
    public static let namedInSummary = 3

    /// Three lines, whatever the number of keys (a wrong --ngf mismatches every tensor): the
    /// counts, the first few keys with their shapes, and the hint.
    public var description: String {
        var first: [String] = []
        first += wrongShapes.map { "\($0.name) is \($0.expected) in the network, \($0.found) in the file" }
        first += missing.map { "\($0.name) \($0.shape) missing from the file" }
        first += unexpected.map { "\($0.name) \($0.shape) unexpected" }
        let total = first.count
        var text = (source.map { "\($0): " } ?? "") + "the file's tensors do not fit the network"
            + (network.map { " (\($0))" } ?? "")
            + ": \(missing.count) missing, \(unexpected.count) unexpected, \(wrongShapes.count) of another shape"
        text += "\n  first: " + first.prefix(Self.namedInSummary).joined(separator: "; ")
            + (total > Self.namedInSummary ? "; ... (\(total - Self.namedInSummary) more)" : "")
        if let hint { text += "\n  " + hint }
        return text
    }
}

extension Module {
    /// All parameters and buffers by PyTorch name, in `state_dict()` order, PyTorch layouts.
    public func stateDict() -> StateDict {
        StateDict(namedTensors().map { name, t in
            StateDict.Entry(name: name, tensor: t.pyTorchValue, isInteger: t.kind == .integerBuffer)
        })
    }

    /// Keys the paper code's loader drops before loading: the running-statistics keys of
    /// InstanceNorm layers (`__patch_instance_norm_state_dict`).
    public func staleInstanceNormKeys() -> Set<String> {
        var keys = Set<String>()
        for (path, m) in namedModules() where m is InstanceNorm2D {
            for k in ["running_mean", "running_var", "num_batches_tracked"] { keys.insert(path.isEmpty ? k : path + "." + k) }
        }
        return keys
    }

    /// Loads `stateDict` (PyTorch names and layouts). Strips `module.` prefixes and drops the
    /// stale InstanceNorm keys, then requires an exact match: nothing is changed unless every
    /// key is present with the right shape and no key is left over.
    public func loadStateDict(_ stateDict: StateDict, source: String? = nil) throws {
        let stale = staleInstanceNormKeys()
        var given: [String: Tensor] = [:]
        var givenOrder: [String] = []
        for e in stateDict.entries {
            let name = e.name.hasPrefix("module.") ? String(e.name.dropFirst("module.".count)) : e.name
            if stale.contains(name) { continue }
            if given.updateValue(e.tensor, forKey: name) == nil { givenOrder.append(name) }
        }
        let mine = namedTensors()
        var mismatch = StateDictMismatch(missing: [], unexpected: [], wrongShapes: [], source: source)
        let myNames = Set(mine.map(\.name))
        for (name, t) in mine {
            guard let g = given[name] else { mismatch.missing.append((name, t.pyTorchShape)); continue }
            // A scalar stored as [1] (old PyTorch) is accepted for scalar buffers.
            let ok = g.shape == t.pyTorchShape || (t.pyTorchShape.isEmpty && g.count == 1)
            if !ok { mismatch.wrongShapes.append(.init(name: name, expected: t.pyTorchShape, found: g.shape)) }
        }
        for name in givenOrder where !myNames.contains(name) {
            mismatch.unexpected.append((name, given[name]!.shape))
        }
        if !mismatch.missing.isEmpty || !mismatch.unexpected.isEmpty || !mismatch.wrongShapes.isEmpty { throw mismatch }
        for (name, t) in mine {
            let g = given[name]!
            t.setFromPyTorch(g.shape == t.pyTorchShape ? g : g.reshaped(t.pyTorchShape))
        }
    }
}
