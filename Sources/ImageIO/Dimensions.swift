// An image's size from its header alone, without decoding the pixels: training checks that a
// folder's images can be batched together before the first step instead of failing mid-epoch.
// JPEG sizes are as decoded, so EXIF orientations 5...8 (a quarter turn) swap them.

extension ImageDecoder {
    /// The size `decode` would give the image in `bytes` (nil when the header is unreadable:
    /// the decoder then names the problem).
    public static func dimensions(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        switch ImageFormat.detect(bytes) {
        case .png?:
            // signature (8), IHDR length and type (8), then width and height, big-endian
            guard bytes.count >= 24, bytes[12...15].elementsEqual("IHDR".utf8) else { return nil }
            let w = bigEndian(bytes, 16), h = bigEndian(bytes, 20)
            return w > 0 && h > 0 ? (w, h) : nil
        case .jpeg?:
            guard let (w, h) = jpegFrameSize(bytes) else { return nil }
            if let o = Exif.orientation(jpeg: bytes), (5...8).contains(o) { return (h, w) }
            return (w, h)
        case nil:
            return nil
        }
    }

    /// The size of the image in the file at `path`; nil when it cannot be read or has no
    /// readable header.
    public static func dimensions(atPath path: String) -> (width: Int, height: Int)? {
        // The header is near the start; a JPEG whose frame header lies beyond a large EXIF
        // thumbnail is read whole.
        guard let head = try? FileIO.readPrefix(path, count: 1 << 18) else { return nil }
        if let d = dimensions(head) { return d }
        guard head.count == 1 << 18, let all = try? FileIO.readAll(path) else { return nil }
        return dimensions(all)
    }

    private static func bigEndian(_ b: [UInt8], _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    /// Walks the markers to the first start-of-frame (SOF0...SOF15 but DHT, JPG and DAC).
    private static func jpegFrameSize(_ jpeg: [UInt8]) -> (Int, Int)? {
        var i = 2
        while i + 4 <= jpeg.count {
            guard jpeg[i] == 0xFF else { return nil }
            let marker = jpeg[i + 1]
            if marker == 0xFF { i += 1; continue }
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }
            let length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            guard length >= 2, i + 2 + length <= jpeg.count else { return nil }
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard length >= 7 else { return nil }
                let h = Int(jpeg[i + 5]) << 8 | Int(jpeg[i + 6])
                let w = Int(jpeg[i + 7]) << 8 | Int(jpeg[i + 8])
                return w > 0 && h > 0 ? (w, h) : nil
            }
            i += 2 + length
        }
        return nil
    }
}
