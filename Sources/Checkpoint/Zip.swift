// A minimal, bounds-checked zip reader for PyTorch's archives: end of central directory
// (and its ZIP64 form), central directory, local headers. `range(of:)` reads STORED entries
// only (torch.save never compresses); `contents(of:in:)` also inflates DEFLATE entries (numpy's
// savez_compressed), never past the entry's declared size nor `ReadLimits.maxInflatedBytes`.
import _CZlib

struct ZipEntry {
    let name: String
    let method: Int
    let flags: Int
    let size: Int
    /// The uncompressed size (equal to `size` for stored entries).
    let uncompressedSize: Int
    /// Offset of the entry's data in the archive (after its local header).
    let dataOffset: Int
}

struct ZipArchive {
    let entries: [ZipEntry]
    let byName: [String: Int]
    let file: String

    private static let eocdSignature: UInt64 = 0x0605_4b50
    private static let zip64LocatorSignature: UInt64 = 0x0706_4b50
    private static let zip64EOCDSignature: UInt64 = 0x0606_4b50
    private static let centralSignature: UInt64 = 0x0201_4b50
    private static let localSignature: UInt64 = 0x0403_4b50

    init(_ bytes: [UInt8], file: String) throws {
        self.file = file
        func bad(_ reason: String) -> CheckpointError { CheckpointError(.invalidZip, file: file, reason) }

        // End of central directory: 22 bytes plus a comment of at most 65535, at the very end.
        guard bytes.count >= 22 else { throw CheckpointError(.truncated, file: file, "zip archive of \(bytes.count) bytes is too short") }
        var eocd = -1
        let lowest = max(0, bytes.count - 22 - 65535)
        var p = bytes.count - 22
        while p >= lowest {
            if bytes[p] == 0x50, loadLE(bytes, p, 4) == Self.eocdSignature, p + 22 + Int(loadLE(bytes, p + 20, 2)) == bytes.count {
                eocd = p
                break
            }
            p -= 1
        }
        guard eocd >= 0 else {
            throw CheckpointError(.truncated, file: file, "zip end-of-central-directory record not found (file truncated?)")
        }
        var c = ByteCursor(bytes, from: eocd + 4, file: file, what: "zip end record")
        let disk = try c.u16(), cdDisk = try c.u16(), _ = try c.u16()
        var count = try c.u16()
        var cdSize = try c.u32()
        var cdOffset = try c.u32()
        guard disk == 0, cdDisk == 0 else { throw CheckpointError(.unsupportedZip, file: file, "multi-disk zip archives are not supported") }

        if count == 0xffff || cdSize == 0xffff_ffff || cdOffset == 0xffff_ffff {
            guard eocd >= 20, loadLE(bytes, eocd - 20, 4) == Self.zip64LocatorSignature else {
                throw bad("ZIP64 end-of-central-directory locator missing")
            }
            var l = ByteCursor(bytes, from: eocd - 16, file: file, what: "ZIP64 locator")
            _ = try l.u32()
            let recordOffset = try l.u64()
            guard recordOffset <= UInt64(eocd - 20) else { throw bad("ZIP64 end record offset out of range") }
            var r = ByteCursor(bytes, from: Int(recordOffset), to: eocd - 20, file: file, what: "ZIP64 end record")
            guard try r.u32() == Int(Self.zip64EOCDSignature) else { throw bad("ZIP64 end record signature missing") }
            try r.skip(8 + 2 + 2 + 4 + 4 + 8)
            let total = try r.u64(), size = try r.u64(), offset = try r.u64()
            guard total <= UInt64(bytes.count), size <= UInt64(bytes.count), offset <= UInt64(bytes.count) else {
                throw bad("ZIP64 end record declares sizes beyond the file")
            }
            count = Int(total); cdSize = Int(size); cdOffset = Int(offset)
        }
        guard cdOffset <= bytes.count, cdSize <= bytes.count - cdOffset, cdOffset + cdSize <= eocd else {
            throw bad("central directory [\(cdOffset), +\(cdSize)] lies outside the archive")
        }
        guard count <= cdSize / 46 else { throw bad("\(count) entries cannot fit in a central directory of \(cdSize) bytes") }

        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var byName: [String: Int] = [:]
        var d = ByteCursor(bytes, from: cdOffset, to: cdOffset + cdSize, file: file, what: "zip central directory")
        for _ in 0..<count {
            guard try d.u32() == Int(Self.centralSignature) else { throw bad("central directory entry signature missing") }
            try d.skip(4)
            let flags = try d.u16(), method = try d.u16()
            try d.skip(8)
            var csize = try d.u32(), usize = try d.u32()
            let nameLength = try d.u16(), extraLength = try d.u16(), commentLength = try d.u16()
            try d.skip(8)
            var localOffset = try d.u32()
            let name = String(decoding: try d.take(nameLength), as: UTF8.self)
            let extraStart = d.position
            try d.skip(extraLength)  // checks the extra field lies inside the central directory
            var x = ByteCursor(bytes, from: extraStart, to: extraStart + extraLength, file: file, what: "zip extra field of '\(name)'")
            try d.skip(commentLength)
            // ZIP64 extended information: the 64-bit values of fields set to 0xFFFFFFFF, in order.
            while x.remaining >= 4 {
                let id = try x.u16(), length = try x.u16()
                guard id == 1 else { try x.skip(length); continue }
                var z = ByteCursor(bytes, from: x.position, to: x.position + min(length, x.remaining), file: file, what: "ZIP64 field of '\(name)'")
                func wide() throws -> Int {
                    let v = try z.u64()
                    guard v <= UInt64(bytes.count) else { throw bad("entry '\(name)' declares a size or offset beyond the file") }
                    return Int(v)
                }
                if usize == 0xffff_ffff { usize = try wide() }
                if csize == 0xffff_ffff { csize = try wide() }
                if localOffset == 0xffff_ffff { localOffset = try wide() }
                try x.skip(length)
            }

            // The local header repeats name and extra with their own lengths; data follows it.
            guard localOffset <= bytes.count - 30 else { throw bad("local header of '\(name)' is outside the archive") }
            var h = ByteCursor(bytes, from: localOffset, file: file, what: "zip local header of '\(name)'")
            guard try h.u32() == Int(Self.localSignature) else { throw bad("local header signature of '\(name)' missing") }
            try h.skip(22)
            let localName = try h.u16(), localExtra = try h.u16()
            let dataOffset = localOffset + 30 + localName + localExtra
            guard dataOffset <= bytes.count, csize <= bytes.count - dataOffset else {
                throw CheckpointError(.truncated, file: file, "data of zip entry '\(name)' (\(csize) bytes at \(dataOffset)) runs past the end of the archive")
            }
            if method == 0, csize != usize {
                throw bad("stored entry '\(name)' has compressed size \(csize) != size \(usize)")
            }
            guard byName[name] == nil else { throw bad("entry '\(name)' appears twice") }
            byName[name] = entries.count
            entries.append(ZipEntry(name: name, method: method, flags: flags, size: csize, uncompressedSize: usize,
                                    dataOffset: dataOffset))
        }
        self.entries = entries
        self.byName = byName
    }

    /// The byte range of a stored entry's data.
    func range(of name: String) throws -> Range<Int>? {
        guard let i = byName[name] else { return nil }
        let e = entries[i]
        if e.flags & 1 != 0 {
            throw CheckpointError(.unsupportedZip, file: file, "zip entry '\(name)' is encrypted")
        }
        guard e.method == 0 else {
            throw CheckpointError(.unsupportedZip, file: file, "zip entry '\(name)' is compressed (method \(e.method)); torch.save writes stored entries only, so this file was re-packed: unzip and re-zip it with `zip -0`")
        }
        return e.dataOffset..<e.dataOffset + e.size
    }

    /// An entry's bytes (stored or deflated) from the archive `bytes`; nil if there is no such entry.
    func contents(of name: String, in bytes: [UInt8]) throws -> [UInt8]? {
        guard let i = byName[name] else { return nil }
        let e = entries[i]
        if e.flags & 1 != 0 { throw CheckpointError(.unsupportedZip, file: file, "zip entry '\(name)' is encrypted") }
        let data = bytes[e.dataOffset..<e.dataOffset + e.size]
        switch e.method {
        case 0: return Array(data)
        case 8:
            guard e.uncompressedSize <= ReadLimits.maxInflatedBytes else {
                throw CheckpointError(.limitExceeded, file: file, "zip entry '\(name)' declares \(e.uncompressedSize) bytes, "
                                      + "above the cap of \(ReadLimits.maxInflatedBytes)")
            }
            var out = [UInt8](repeating: 0, count: e.uncompressedSize)
            var z = z_stream()
            // -15: raw deflate, as zip stores it (no zlib header).
            guard inflateInit2_(&z, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw CheckpointError(.invalidZip, file: file, "cannot start inflating '\(name)'")
            }
            defer { inflateEnd(&z) }
            let status: Int32 = Array(data).withUnsafeBufferPointer { inp in
                out.withUnsafeMutableBufferPointer { o in
                    z.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
                    z.avail_in = UInt32(inp.count)
                    z.next_out = o.baseAddress
                    z.avail_out = UInt32(o.count)
                    return inflate(&z, Z_FINISH)
                }
            }
            // The stream must end exactly at the declared size: more output would not fit.
            guard status == Z_STREAM_END, Int(z.total_out) == e.uncompressedSize else {
                throw CheckpointError(.invalidZip, file: file, "zip entry '\(name)' does not inflate to its declared "
                                      + "\(e.uncompressedSize) bytes (zlib status \(status))")
            }
            return out
        default:
            throw CheckpointError(.unsupportedZip, file: file, "zip entry '\(name)' uses compression method \(e.method)")
        }
    }
}
