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

    /// File-name extensions (lowercase, without the dot) that claim a file is an image: a
    /// file with one of these names whose content is not a PNG or JPEG is reported as a failed
    /// input, never ignored quietly. The formats we read, and the common ones we do not (a
    /// `.webp` folder must not translate to nothing without a word).
    public static let imageNameExtensions: Set<String> = [
        "png", "jpg", "jpeg", "jpe", "jfif", "pjpeg", "pjp",
        "gif", "bmp", "webp", "tif", "tiff", "heic", "heif", "avif",
    ]

    /// True when the last path component's extension is one of `imageNameExtensions` (any case).
    public static func nameClaimsImage(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return imageNameExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// "PNG" or "JPEG", for messages.
    public var name: String {
        switch self {
        case .png: return "PNG"
        case .jpeg: return "JPEG"
        }
    }
}
