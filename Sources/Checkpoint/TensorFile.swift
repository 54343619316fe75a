// The Checkpoint module moves named float arrays between files and memory.
// It knows nothing of tensors: another module bridges `NamedTensor` to its tensor type.
//
// Readers: safetensors, PyTorch `.pth` (zip, PyTorch >= 1.6) and legacy `.pth` (pickle stream).
// Writer: safetensors (atomic). Every reader treats its input as hostile: see `ReadLimits`.

/// Element types found in checkpoint files. Raw values are the safetensors dtype names.
public enum DType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Integer and boolean types: their exact values are also kept in `NamedTensor.integers`.
    public var isInteger: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16: return false
        default: return true
        }
    }
}

/// One named array: row-major (C order) `values` of `shape`.
///
/// Every element type is converted to Float32. Integer and boolean tensors (for example
/// BatchNorm's int64 `num_batches_tracked`) also keep their exact values in `integers`,
/// since Float32 is exact only up to 2^24; the safetensors writer writes such tensors as I64.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    /// Exact values for integer/bool tensors (same count as `values`), nil for float tensors.
    public var integers: [Int64]?
    /// Element type in the file it was read from (`.f32` for tensors made in memory).
    public var sourceDType: DType

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
        self.integers = nil
        self.sourceDType = .f32
    }

    public init(name: String, shape: [Int], integers: [Int64]) {
        self.name = name
        self.shape = shape
        self.values = integers.map { Float($0) }
        self.integers = integers
        self.sourceDType = .i64
    }

    init(name: String, shape: [Int], values: [Float], integers: [Int64]?, sourceDType: DType) {
        self.name = name
        self.shape = shape
        self.values = values
        self.integers = integers
        self.sourceDType = sourceDType
    }

    /// Product of the shape (1 for a scalar, shape `[]`).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// The content of a checkpoint: tensors in file order, and string metadata.
///
/// For safetensors, `metadata` is the `__metadata__` header entry (the project stores its
/// architecture config there as a JSON string). For `.pth` files, non-tensor leaves of the
/// pickled value (for example `epoch` in `{"state_dict": ..., "epoch": 3}`) are put in
/// `metadata` under their dotted names, rendered as text.
public struct TensorFile: Sendable, Equatable {
    public var tensors: [NamedTensor]
    public var metadata: [String: String]

    public init(tensors: [NamedTensor] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Tensor names in order.
    public var names: [String] { tensors.map(\.name) }

    /// The tensor with this name, if any (linear search: files hold hundreds of tensors, not millions).
    public subscript(name: String) -> NamedTensor? {
        tensors.first { $0.name == name }
    }

    /// Removes `prefix` from every name that starts with it, as PyTorch's
    /// `consume_prefix_in_state_dict_if_present` does (default: DataParallel's `module.`).
    public func strippingPrefix(_ prefix: String = "module.") -> TensorFile {
        var copy = self
        for i in copy.tensors.indices where copy.tensors[i].name.hasPrefix(prefix) {
            copy.tensors[i].name = String(copy.tensors[i].name.dropFirst(prefix.count))
        }
        return copy
    }

    /// Drops tensors whose name ends with one of `suffixes`, for example the stale
    /// InstanceNorm `running_mean` / `running_var` / `num_batches_tracked` keys that the paper
    /// code's `__patch_instance_norm_state_dict` removes. Which modules are InstanceNorms is
    /// the model's knowledge: combine with `removingTensors(where:)` to restrict by prefix.
    public func removingTensors(withSuffixes suffixes: [String]) -> TensorFile {
        removingTensors { tensor in suffixes.contains { tensor.name.hasSuffix($0) } }
    }

    /// Drops the tensors for which `shouldRemove` is true, keeping the order of the rest.
    public func removingTensors(where shouldRemove: (NamedTensor) -> Bool) -> TensorFile {
        TensorFile(tensors: tensors.filter { !shouldRemove($0) }, metadata: metadata)
    }
}
