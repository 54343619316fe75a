/// A file helper's failure: which file, and why (the system's reason where there is one).
/// Public modules map it into their own error type (`ImageIOError`, `CheckpointError`, ...).
public struct FileError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file system refused, or the path is not a regular file.
        case io
        /// The file is larger than the reader's `maxBytes`.
        case tooLarge
    }

    public var kind: Kind
    public var path: String
    public var reason: String

    public init(_ kind: Kind = .io, path: String, _ reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
