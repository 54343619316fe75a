/// The one error type of ImageIO: which file, what went wrong, and the
/// library's own words.
///
/// `description` reads like `photo.jpg: corrupt JPEG data: Bogus marker length`,
/// so a command-line tool can print it as one line.
public struct ImageIOError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Malformed data: bad CRC, bad Huffman table, missing chunk, ...
        case corrupt
        /// The data ended before the image did.
        case truncated
        /// Valid but not supported: 12-bit or lossless JPEG, unknown JPEG color
        /// transform, or an image the encoder cannot write.
        case unsupported
        /// Width x height above `DecodingOptions.maxPixels` (refused before
        /// the pixels are allocated), or more memory than is available.
        case tooLarge
        /// Neither PNG nor JPEG by content (extensions are never trusted).
        case notAnImage
        /// The file could not be read, written or renamed.
        case io
    }

    /// The file involved, when there is one.
    public var path: String?
    public var kind: Kind
    /// The format the data was recognized as, when it was.
    public var format: ImageFormat?
    /// The detail: libpng's or libjpeg's message, or the system's error string.
    public var message: String

    public init(_ kind: Kind, format: ImageFormat? = nil, message: String, path: String? = nil) {
        self.kind = kind
        self.format = format
        self.message = message
        self.path = path
    }

    /// The same error, naming `path` (an error that already names a file keeps it).
    public func at(path: String) -> ImageIOError {
        var e = self
        if e.path == nil { e.path = path }
        return e
    }

    public var description: String {
        let name = format?.name ?? "image"
        let what: String
        switch kind {
        case .corrupt: what = "corrupt \(name) data"
        case .truncated: what = "truncated \(name) data"
        case .unsupported: what = "unsupported \(name)"
        case .tooLarge: what = "image too large"
        case .notAnImage: what = "not a PNG or JPEG image"
        case .io: what = "I/O error"
        }
        let head = path.map { "\($0): " } ?? ""
        return message.isEmpty ? head + what : "\(head)\(what): \(message)"
    }
}
