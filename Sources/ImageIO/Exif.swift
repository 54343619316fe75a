/// A minimal, bounds-checked EXIF reader: just enough to find the
/// orientation tag. Any malformed input gives nil, never a trap.
public enum Exif {
    /// The orientation tag (0x0112) of IFD0, 1...8, or nil when absent,
    /// out of range or unreadable.
    ///
    /// `app1` is a JPEG APP1 payload (`"Exif\0\0"` then a TIFF block) or a
    /// bare TIFF block (`II*\0` / `MM\0*`, as in a PNG eXIf chunk).
    public static func orientation(app1: [UInt8]) -> Int? {
        var tiff = app1[...]
        if tiff.starts(with: [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]) { // "Exif\0\0"
            tiff = tiff.dropFirst(6)
        }
        let r = TIFFReader(bytes: Array(tiff))
        return r?.orientation()
    }

    /// The orientation from a whole JPEG file: walks the markers up to the
    /// first scan and reads the first Exif APP1 segment.
    public static func orientation(jpeg: [UInt8]) -> Int? {
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return nil }
        var i = 2
        while i + 4 <= jpeg.count {
            guard jpeg[i] == 0xFF else { return nil }
            let marker = jpeg[i + 1]
            if marker == 0xFF { i += 1; continue }                 // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }    // scan or end: no EXIF before it
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            guard length >= 2, i + 2 + length <= jpeg.count else { return nil }
            if marker == 0xE1 {
                let payload = Array(jpeg[(i + 4)..<(i + 2 + length)])
                if payload.starts(with: [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]) {
                    return orientation(app1: payload)
                }
            }
            i += 2 + length
        }
        return nil
    }
}

/// Reads integers from a TIFF block; every accessor returns nil out of bounds.
struct TIFFReader {
    let bytes: [UInt8]
    let littleEndian: Bool

    init?(bytes: [UInt8]) {
        guard bytes.count >= 8 else { return nil }
        switch (bytes[0], bytes[1]) {
        case (0x49, 0x49): littleEndian = true   // "II"
        case (0x4D, 0x4D): littleEndian = false  // "MM"
        default: return nil
        }
        self.bytes = bytes
        guard u16(at: 2) == 42 else { return nil }
    }

    func u8(at offset: Int) -> Int? {
        guard offset >= 0, offset < bytes.count else { return nil }
        return Int(bytes[offset])
    }

    func u16(at offset: Int) -> Int? {
        guard offset >= 0, offset <= bytes.count - 2 else { return nil }
        let a = Int(bytes[offset]), b = Int(bytes[offset + 1])
        return littleEndian ? a | b << 8 : a << 8 | b
    }

    func u32(at offset: Int) -> Int? {
        guard offset >= 0, offset <= bytes.count - 4 else { return nil }
        var v = 0
        for k in 0..<4 {
            let byte = Int(bytes[offset + (littleEndian ? 3 - k : k)])
            v = v << 8 | byte
        }
        return v
    }

    func orientation() -> Int? {
        guard let ifd = u32(at: 4), let count = u16(at: ifd) else { return nil }
        for k in 0..<count {
            let entry = ifd + 2 + 12 * k
            guard let tag = u16(at: entry), let type = u16(at: entry + 2),
                  let n = u32(at: entry + 4) else { return nil }
            guard tag == 0x0112 else { continue }
            guard n >= 1 else { return nil }
            let value: Int?
            switch type {
            case 3: value = u16(at: entry + 8)        // SHORT, the normal case
            case 4: value = u32(at: entry + 8)        // LONG, seen in the wild
            case 1, 7: value = u8(at: entry + 8)      // BYTE / UNDEFINED
            default: value = nil
            }
            guard let v = value, (1...8).contains(v) else { return nil }
            return v
        }
        return nil
    }
}

extension Image {
    /// The image turned upright according to EXIF orientation `orientation`:
    /// 1 as is, 2 mirrored, 3 rotated 180, 4 flipped vertically, 5 transposed,
    /// 6 rotated 90 clockwise, 7 transversed, 8 rotated 90 counter-clockwise.
    /// Values outside 1...8 leave the image as is.
    public func applyingExifOrientation(_ orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let swaps = orientation >= 5
        let ow = swaps ? height : width, oh = swaps ? width : height
        let w = width, h = height
        // The source pixel index of output pixel (ox, oy) is s0 + ox * ax + oy * ay.
        let (s0, ax, ay): (Int, Int, Int)
        switch orientation {
        case 2: (s0, ax, ay) = (w - 1, -1, w)                 // mirror
        case 3: (s0, ax, ay) = ((h - 1) * w + w - 1, -1, -w)  // rotate 180
        case 4: (s0, ax, ay) = ((h - 1) * w, 1, -w)           // flip vertically
        case 5: (s0, ax, ay) = (0, w, 1)                      // transpose
        case 6: (s0, ax, ay) = ((h - 1) * w, -w, 1)           // rotate 90 clockwise
        case 7: (s0, ax, ay) = ((h - 1) * w + w - 1, -w, -1)  // transverse
        default: (s0, ax, ay) = (w - 1, w, -1)                // 8: rotate 90 counter-clockwise
        }
        let c = channels
        func remap<T>(_ src: [T]) -> [T] {
            var dst = src // same count; every element is overwritten
            src.withUnsafeBufferPointer { s in
                dst.withUnsafeMutableBufferPointer { d in
                    var o = 0
                    for oy in 0..<oh {
                        var p = s0 + oy * ay
                        for _ in 0..<ow {
                            let si = p * c
                            for k in 0..<c { d[o + k] = s[si + k] }
                            o += c
                            p += ax
                        }
                    }
                }
            }
            return dst
        }
        switch samples {
        case .u8(let a): return Image(width: ow, height: oh, channels: channels, samples: .u8(remap(a)))
        case .u16(let a): return Image(width: ow, height: oh, channels: channels, samples: .u16(remap(a)))
        }
    }
}
