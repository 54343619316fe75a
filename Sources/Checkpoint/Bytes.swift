/// Bounds-checked little-endian reads from a byte array. Every read checks the end first.
struct ByteCursor {
    let bytes: [UInt8]
    var position: Int
    let end: Int
    let file: String
    let what: String

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil, file: String, what: String) {
        self.bytes = bytes
        self.position = start
        self.end = min(end ?? bytes.count, bytes.count)  // never read past the array, whatever a caller computed
        self.file = file
        self.what = what
    }

    var remaining: Int { end - position }

    mutating func need(_ n: Int) throws {
        guard n >= 0, n <= remaining else {
            throw CheckpointError(.truncated, file: file, "\(what) ends early (needs \(n) bytes at offset \(position), \(max(remaining, 0)) left)")
        }
    }

    mutating func u8() throws -> UInt8 {
        try need(1)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func uint(_ width: Int) throws -> UInt64 {
        try need(width)
        var v: UInt64 = 0
        for i in 0..<width { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += width
        return v
    }

    mutating func u16() throws -> Int { Int(try uint(2)) }
    mutating func u32() throws -> Int { Int(try uint(4)) }
    mutating func u64() throws -> UInt64 { try uint(8) }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        try need(n)
        defer { position += n }
        return bytes[position..<position + n]
    }

    mutating func skip(_ n: Int) throws {
        try need(n)
        position += n
    }
}

@inline(__always)
func loadLE(_ b: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<width { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
    return v
}

// MARK: - Half precision, done by hand (Float16 is unavailable on macOS x86_64)

/// IEEE binary16 bits -> Float (exact).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1f
    let mant = UInt32(h & 0x3ff)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        let v = Float(mant) * 0x1p-24
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

/// Float -> IEEE binary16 bits, rounding to nearest even (as `torch.Tensor.half()`).
@inline(__always)
func floatToHalf(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let exp = Int((x >> 23) & 0xff)
    var mant = x & 0x7f_ffff
    if exp == 255 { return sign | 0x7c00 | (mant != 0 ? 0x200 : 0) }
    let e = exp - 127 + 15
    if e >= 31 { return sign | 0x7c00 }
    if e <= 0 {
        if e < -10 { return sign }
        mant |= 0x80_0000
        let shift = UInt32(14 - e)
        var r = mant >> shift
        let rem = mant & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if rem > halfway || (rem == halfway && (r & 1) == 1) { r += 1 }
        return sign | UInt16(r)
    }
    var h = UInt32(e) << 10 | (mant >> 13)
    let rem = mant & 0x1fff
    if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }  // a carry rounds up to the next exponent or to inf
    return sign | UInt16(h)
}

/// Decodes elements of `dtype` at the given element indices of a storage that starts at
/// byte `base` of `bytes`. The caller has checked that every index is inside the storage.
func decodeElements<S: Sequence<Int>>(
    _ bytes: [UInt8], base: Int, dtype: DType, bigEndian: Bool, indices: S, count: Int
) -> (values: [Float], integers: [Int64]?) {
    if dtype == .f32, !bigEndian, let range = indices as? Range<Int> {
        // The common case (contiguous little-endian Float32): one copy.
        let values = [Float](unsafeUninitializedCapacity: range.count) { out, n in
            bytes.withUnsafeBytes { raw in
                let src = UnsafeRawBufferPointer(rebasing: raw[(base + range.lowerBound * 4)..<(base + range.upperBound * 4)])
                for i in 0..<range.count { out[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            }
            n = range.count
        }
        return (values, nil)
    }
    var values = [Float]()
    values.reserveCapacity(count)
    var ints: [Int64]? = dtype.isInteger ? [] : nil
    ints?.reserveCapacity(count)
    let size = dtype.size
    bytes.withUnsafeBufferPointer { b in
        for index in indices {
            let at = base + index * size
            var raw: UInt64 = 0
            if bigEndian {
                for i in 0..<size { raw = raw << 8 | UInt64(b[at + i]) }
            } else {
                for i in 0..<size { raw |= UInt64(b[at + i]) << (8 * UInt64(i)) }
            }
            switch dtype {
            case .f32: values.append(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
            case .f64: values.append(Float(Double(bitPattern: raw)))
            case .f16: values.append(halfToFloat(UInt16(truncatingIfNeeded: raw)))
            case .bf16: values.append(Float(bitPattern: UInt32(truncatingIfNeeded: raw) << 16))
            case .i64, .i32, .i16, .i8:
                let shift = UInt64(64 - 8 * size)
                let v = Int64(bitPattern: raw << shift) >> Int64(shift)  // sign-extend
                values.append(Float(v)); ints!.append(v)
            case .u8:
                values.append(Float(raw)); ints!.append(Int64(raw))
            case .bool:
                let v: Int64 = raw != 0 ? 1 : 0
                values.append(Float(v)); ints!.append(v)
            }
        }
    }
    return (values, ints)
}
