/// A file that cannot be read or written. `description` is one line naming the file,
/// the tensor (when there is one) and the problem.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The file system refused (missing file, permissions, disk full, ...).
        case io
        /// The file ends before a structure it declares.
        case truncated
        /// Content matches no supported format.
        case unknownFormat
        /// A declared size exceeds a documented cap (`ReadLimits`).
        case limitExceeded
        /// The safetensors JSON header is malformed or has the wrong structure.
        case invalidHeader
        /// A dtype name or storage type that is not supported.
        case unknownDType
        /// Shape and byte length disagree, or values and shape disagree.
        case shapeMismatch
        /// A negative dimension or stride, or an element count that overflows.
        case invalidShape
        /// Data offsets outside the data buffer.
        case offsetsOutOfRange
        /// Two tensors' data overlap.
        case offsetsOverlap
        /// The tensors' data do not cover the buffer exactly (gaps or trailing bytes).
        case offsetsNotContiguous
        /// Two tensors with the same name.
        case duplicateName
        /// A malformed zip archive.
        case invalidZip
        /// A zip feature we do not read (compression, encryption, multi-disk).
        case unsupportedZip
        /// A malformed or unsupported pickle.
        case invalidPickle
        /// The pickle names a global outside the allowed tensor/storage/ordered-dict set.
        case forbiddenGlobal
        /// A storage that is missing, or too small for the tensors that view it.
        case invalidStorage
    }

    public var kind: Kind
    public var file: String
    public var tensor: String?
    public var reason: String

    public init(_ kind: Kind, file: String, tensor: String? = nil, _ reason: String) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.reason = reason
    }

    public var description: String {
        if let tensor { return "\(file): tensor '\(tensor)': \(reason)" }
        return "\(file): \(reason)"
    }
}

/// Caps that bound memory and time on hostile input. Every size a file declares is checked
/// against the bytes actually present and against these caps before anything is allocated.
public enum ReadLimits {
    /// Largest safetensors JSON header (100 MiB, as the Rust `safetensors` crate).
    public static let maxHeaderBytes = 100 * 1024 * 1024
    /// Deepest nesting of JSON arrays/objects, and of pickled containers when flattened.
    public static let maxNestingDepth = 64
    /// Tensors of a `.pth` may view one storage several times (shared weights, stride-0
    /// expansions), so materialized elements may exceed the stored ones; but not by more
    /// than `expansionFactor * fileBytes + expansionSlack` elements in all.
    public static let expansionFactor = 4
    public static let expansionSlack = 1 << 20
    /// Longest text line in a pickle (GLOBAL module and name).
    public static let maxPickleLine = 1024
}
