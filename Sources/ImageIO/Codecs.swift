import _CImageCodecs
// The shim is C, whose object file cannot autolink; importing the system
// library modules here makes their module maps' `link "png16"` / `link "jpeg"`
// reach every binary that uses ImageIO. Nothing from them is used in Swift.
internal import CJPEG
internal import CPNG

#if canImport(Foundation)
import Foundation
#endif

// The Swift face of the C shim. Everything that can longjmp stays in C
// (`Sources/_CImageCodecs/codecs.c`); here we only read status codes.

/// Decoding entry points that also report warnings and EXIF details.
public enum ImageDecoder {
    /// Decodes PNG or JPEG data, detected by content.
    /// - Parameter path: only used to name the file in errors.
    public static func decode(_ bytes: [UInt8], options: DecodingOptions = .default,
                              path: String? = nil) throws(ImageIOError) -> DecodedImage {
        do throws(ImageIOError) {
            guard !bytes.isEmpty else { throw ImageIOError(.notAnImage, message: "empty data") }
            switch ImageFormat.detect(bytes) {
            case .png?: return try decodePNG(bytes, options: options)
            case .jpeg?: return try decodeJPEG(bytes, options: options)
            case nil:
                throw ImageIOError(.notAnImage, message: "unknown signature \(hexPrefix(bytes))")
            }
        } catch {
            throw path.map { error.at(path: $0) } ?? error
        }
    }

    /// Reads and decodes the file at `path` (format detected by content).
    public static func decodeFile(at path: String, options: DecodingOptions = .default) throws(ImageIOError) -> DecodedImage {
        let bytes = try FileIO.readAll(path)
        return try decode(bytes, options: options, path: path)
    }

    // MARK: PNG

    static func decodePNG(_ bytes: [UInt8], options: DecodingOptions) throws(ImageIOError) -> DecodedImage {
        var opts = cOptions(options)
        var out = i2i_image_out()
        var err = [CChar](repeating: 0, count: 512)
        let st = bytes.withUnsafeBufferPointer { data in
            err.withUnsafeMutableBufferPointer { e in
                i2i_png_decode(data.baseAddress, data.count, &opts, &out, e.baseAddress, e.count)
            }
        }
        defer { i2i_image_free(&out) }
        guard st == Int32(I2I_OK.rawValue) else {
            throw error(status: st, format: .png, message: cString(err))
        }
        let image = makeImage(out)
        return DecodedImage(image: image, format: .png, warnings: [], warningCount: 0,
                            isTruncated: false, exifOrientation: nil, orientationApplied: false)
    }

    // MARK: JPEG

    static func decodeJPEG(_ bytes: [UInt8], options: DecodingOptions) throws(ImageIOError) -> DecodedImage {
        var opts = cOptions(options)
        var out = i2i_image_out()
        var err = [CChar](repeating: 0, count: 512)
        var warn = [CChar](repeating: 0, count: 4096)
        let st = bytes.withUnsafeBufferPointer { data in
            err.withUnsafeMutableBufferPointer { e in
                warn.withUnsafeMutableBufferPointer { w in
                    i2i_jpeg_decode(data.baseAddress, data.count, &opts, &out,
                                    e.baseAddress, e.count, w.baseAddress, w.count)
                }
            }
        }
        defer { i2i_image_free(&out) }
        guard st == Int32(I2I_OK.rawValue) else {
            throw error(status: st, format: .jpeg, message: cString(err))
        }
        var image = makeImage(out)
        var orientation: Int?
        if let exif = out.exif, out.exif_len > 0 {
            orientation = Exif.orientation(app1: Array(UnsafeBufferPointer(start: exif, count: out.exif_len)))
        }
        var applied = false
        if options.applyExifOrientation, let o = orientation, o != 1 {
            image = image.applyingExifOrientation(o)
            applied = true
        }
        let warnings = cString(warn).split(separator: "\n").map(String.init)
        return DecodedImage(image: image, format: .jpeg, warnings: warnings,
                            warningCount: Int(out.warning_count), isTruncated: out.truncated != 0,
                            exifOrientation: orientation, orientationApplied: applied)
    }

    // MARK: Helpers

    static func cOptions(_ o: DecodingOptions) -> i2i_decode_opts {
        var c = i2i_decode_opts()
        c.max_pixels = o.maxPixels >= Int.max ? 0 : UInt64(max(o.maxPixels, 0))
        c.max_bytes = o.maxDecodedBytes >= Int.max ? 0 : UInt64(max(o.maxDecodedBytes, 1))
        c.strict_truncation = o.strictTruncation ? 1 : 0
        c.max_jpeg_scans = 0
        return c
    }

    static func makeImage(_ out: i2i_image_out) -> Image {
        let w = Int(out.width), h = Int(out.height), ch = Int(out.channels)
        let n = w * h * ch
        if out.bit_depth == 16 {
            let p = out.pixels!.assumingMemoryBound(to: UInt16.self)
            return Image(width: w, height: h, channels: ch, samples: .u16(Array(UnsafeBufferPointer(start: p, count: n))))
        }
        let p = out.pixels!.assumingMemoryBound(to: UInt8.self)
        return Image(width: w, height: h, channels: ch, samples: .u8(Array(UnsafeBufferPointer(start: p, count: n))))
    }

    static func error(status: Int32, format: ImageFormat, message: String) -> ImageIOError {
        let kind: ImageIOError.Kind
        switch UInt32(bitPattern: status) {
        case I2I_TRUNCATED.rawValue: kind = .truncated
        case I2I_UNSUPPORTED.rawValue, I2I_INVALID.rawValue: kind = .unsupported
        case I2I_TOO_LARGE.rawValue: kind = .tooLarge
        case I2I_NOMEM.rawValue:
            return ImageIOError(.tooLarge, format: format, message: message.isEmpty ? "out of memory" : message)
        default: kind = .corrupt
        }
        return ImageIOError(kind, format: format, message: message)
    }
}

func cString(_ buf: [CChar]) -> String {
    let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

func hexPrefix(_ bytes: [UInt8]) -> String {
    bytes.prefix(8).map { b in
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }.joined(separator: " ")
}

// MARK: - Free functions: the API the rest of the project calls

/// Decodes PNG or JPEG bytes (detected by content) to an `Image`.
public func decodeImage(data: [UInt8], options: DecodingOptions = .default) throws(ImageIOError) -> Image {
    try ImageDecoder.decode(data, options: options).image
}

#if canImport(Foundation)
/// Decodes PNG or JPEG bytes (detected by content) to an `Image`.
public func decodeImage(data: Data, options: DecodingOptions = .default) throws(ImageIOError) -> Image {
    try ImageDecoder.decode([UInt8](data), options: options).image
}
#endif

/// Reads and decodes the image file at `path`; errors name the file.
public func readImage(at path: String, options: DecodingOptions = .default) throws(ImageIOError) -> Image {
    try ImageDecoder.decodeFile(at: path, options: options).image
}

/// Encodes `image` as PNG, keeping its channel count (gray, gray+alpha, RGB,
/// RGBA) and depth (8 or 16 bit). `compressionLevel` is zlib's 0...9.
public func encodePNG(_ image: Image, compressionLevel: Int = 6) throws(ImageIOError) -> [UInt8] {
    var out: UnsafeMutablePointer<UInt8>?
    var len = 0
    var err = [CChar](repeating: 0, count: 512)
    let st: Int32 = err.withUnsafeMutableBufferPointer { e in
        switch image.samples {
        case .u8(let a):
            return a.withUnsafeBytes { p in
                i2i_png_encode(p.baseAddress, UInt32(image.width), UInt32(image.height), UInt32(image.channels), 8,
                               Int32(compressionLevel), &out, &len, e.baseAddress, e.count)
            }
        case .u16(let a):
            return a.withUnsafeBytes { p in
                i2i_png_encode(p.baseAddress, UInt32(image.width), UInt32(image.height), UInt32(image.channels), 16,
                               Int32(compressionLevel), &out, &len, e.baseAddress, e.count)
            }
        }
    }
    return try takeEncoded(status: st, out: out, len: len, format: .png, err: err)
}

/// Encodes `image` as baseline JPEG at `quality` (1...100).
///
/// JPEG has no alpha and no 16-bit samples: 16-bit images are rounded to 8 bit,
/// alpha is composited over `background` (white by default). Gray stays gray.
/// At quality >= 90 chroma is kept at full resolution (4:4:4), below that it
/// is subsampled 4:2:0 (libjpeg's default).
public func encodeJPEG(_ image: Image, quality: Int = 95, background: RGBColor = .white) throws(ImageIOError) -> [UInt8] {
    var img = image.to8Bit()
    if img.hasAlpha { img = img.compositingAlpha(over: background) }
    var out: UnsafeMutablePointer<UInt8>?
    var len = 0
    var err = [CChar](repeating: 0, count: 512)
    let pixels = img.pixels8
    let st: Int32 = err.withUnsafeMutableBufferPointer { e in
        pixels.withUnsafeBufferPointer { p in
            i2i_jpeg_encode(p.baseAddress, UInt32(img.width), UInt32(img.height), UInt32(img.channels),
                            Int32(quality), quality >= 90 ? 1 : 0, &out, &len, e.baseAddress, e.count)
        }
    }
    return try takeEncoded(status: st, out: out, len: len, format: .jpeg, err: err)
}

private func takeEncoded(status: Int32, out: UnsafeMutablePointer<UInt8>?, len: Int,
                         format: ImageFormat, err: [CChar]) throws(ImageIOError) -> [UInt8] {
    guard status == Int32(I2I_OK.rawValue), let out else {
        throw ImageDecoder.error(status: status, format: format, message: cString(err))
    }
    defer { i2i_free(out) }
    return Array(UnsafeBufferPointer(start: out, count: len))
}

/// Encodes `image` and writes it to `path` atomically: the bytes go to a
/// temporary file in the same folder, which is then renamed over `path`, so
/// an interrupted write never leaves a half-written image behind.
/// - Parameter format: nil picks it from the extension (`.png`, `.jpg`, `.jpeg`).
public func writeImage(_ image: Image, to path: String, format: ImageFormat? = nil,
                       jpegQuality: Int = 95) throws(ImageIOError) {
    guard let fmt = format ?? ImageFormat(pathExtension: path) else {
        throw ImageIOError(.unsupported, message: "cannot tell the format from the file name; pass format:", path: path)
    }
    let bytes: [UInt8]
    do throws(ImageIOError) {
        switch fmt {
        case .png: bytes = try encodePNG(image)
        case .jpeg: bytes = try encodeJPEG(image, quality: jpegQuality)
        }
    } catch {
        throw error.at(path: path)
    }
    try FileIO.writeAtomically(bytes, to: path)
}
