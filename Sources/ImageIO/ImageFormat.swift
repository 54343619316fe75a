/// The file formats ImageIO reads and writes, told apart by content.
public enum ImageFormat: String, Sendable, Equatable, CaseIterable {
    case png
    case jpeg

    /// How many leading bytes `detect` needs.
    public static let signatureLength = 8

    /// The format of `bytes` judged by its magic numbers only: the 8-byte PNG
    /// signature, or a JPEG start-of-image marker followed by another marker
    /// (`FF D8 FF`). The file name plays no part.
    public static func detect<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(signatureLength))
        if head.count >= 8 && head[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return .png
        }
        if head.count >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF {
            return .jpeg
        }
        return nil
    }

    /// The format a file name asks for when writing (`.png`, `.jpg`, `.jpeg`,
    /// any case); reading never uses it.
    public init?(pathExtension path: String) {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "png": self = .png
        case "jpg", "jpeg", "jpe", "jfif": self = .jpeg
        default: return nil
        }
    }

    /// "PNG" or "JPEG", for messages.
    public var name: String {
        switch self {
        case .png: return "PNG"
        case .jpeg: return "JPEG"
        }
    }
}
