/// Limits and policies for decoding.
public struct DecodingOptions: Sendable, Equatable {
    /// Pillow's hard limit (`2 * Image.MAX_IMAGE_PIXELS` = 178,956,970 pixels,
    /// about 13,377 x 13,377): the point at which Pillow refuses an image as a
    /// decompression bomb. Checked against the header before any pixel buffer
    /// is allocated.
    public static let defaultMaxPixels = 178_956_970

    /// Refuse images whose width x height exceeds this, with `.tooLarge`.
    /// `Int.max` turns the guard off.
    public var maxPixels: Int

    /// Refuse images whose decoded pixels (width x height x channels x bytes
    /// per sample, as the decoder returns them) would take more bytes than
    /// this, with `.tooLarge`, before the buffer is allocated. The pixel cap
    /// alone lets a 16-bit RGBA image reach 1.4 GB; a worker with little memory
    /// sets this lower. `Int.max` (the default) turns the guard off.
    public var maxDecodedBytes: Int

    /// What a truncated JPEG gives. libjpeg decodes one with the warning
    /// "Premature end of JPEG file" and fills the missing part with gray.
    /// - `true` (the default, like Pillow without `LOAD_TRUNCATED_IMAGES`):
    ///   the decode fails with `.truncated`, so a dataset loader reports and
    ///   skips the file instead of training on a half-gray image.
    /// - `false`: the image is returned and `DecodedImage.isTruncated` and
    ///   `DecodedImage.warnings` say what happened.
    /// Truncated PNGs always fail: libpng has no lenient mode.
    public var strictTruncation: Bool

    /// Turn JPEG pixels upright according to the EXIF orientation tag (2...8).
    public var applyExifOrientation: Bool

    public init(maxPixels: Int = DecodingOptions.defaultMaxPixels,
                maxDecodedBytes: Int = .max,
                strictTruncation: Bool = true,
                applyExifOrientation: Bool = true) {
        self.maxPixels = maxPixels
        self.maxDecodedBytes = maxDecodedBytes
        self.strictTruncation = strictTruncation
        self.applyExifOrientation = applyExifOrientation
    }

    /// The defaults: Pillow's pixel limit, strict truncation, EXIF applied.
    public static let `default` = DecodingOptions()

    /// The defaults, except that truncated JPEGs decode with a warning.
    public static let lenient = DecodingOptions(strictTruncation: false)
}

/// A decoded image together with what the decoder noticed on the way.
public struct DecodedImage: Sendable {
    public var image: Image
    public var format: ImageFormat
    /// libjpeg's warnings (at most the first 16, one per entry), e.g.
    /// "Corrupt JPEG data: 6 extraneous bytes before marker 0xd9".
    public var warnings: [String]
    /// Total warnings the decoder emitted (may exceed `warnings.count`).
    public var warningCount: Int
    /// JPEG, lenient mode only: the data ended early and the rest of the
    /// image is libjpeg's gray fill.
    public var isTruncated: Bool
    /// The EXIF orientation found in the file (1...8), or nil.
    public var exifOrientation: Int?
    /// Whether that orientation was applied to `image`.
    public var orientationApplied: Bool
}
