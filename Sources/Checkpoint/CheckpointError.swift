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
    /// Largest safetensors JSON header: 16 MiB, enough for ~150k tensors. (The Rust crate
    /// allows 100 MB; parsed JSON takes up to ~12x its text, so we cap lower to keep a hostile
    /// header's parse under ~200 MB.)
    public static let maxHeaderBytes = 16 * 1024 * 1024
    /// Largest inflated zip entry (an .npz array): a 2048x2048 float64 covariance is 32 MiB.
    public static let maxInflatedBytes = 512 * 1024 * 1024
    /// Most values an unpickler may create (a torch state dict makes ~10 per tensor), so a
    /// hostile pickle's memory stays near 200 MB whatever its length.
    public static let maxPickleValues = 1 << 22
    /// Deepest nesting of JSON arrays/objects, and of pickled containers when flattened.
    public static let maxNestingDepth = 64
    /// Tensors of a `.pth` may view one storage several times (shared weights, stride-0
    /// expansions), so materialized elements may exceed the stored ones; but not by more
    /// than `expansionFactor * fileBytes + expansionSlack` elements in all.
    public static let expansionFactor = 4
    public static let expansionSlack = 1 << 20
    /// Flattened names (dotted paths) may total at most `expansionFactor * fileBytes +
    /// expansionSlack` bytes, so shared long keys cannot multiply into huge names.
    /// Longest text line in a pickle (GLOBAL module and name).
    public static let maxPickleLine = 1024
}
