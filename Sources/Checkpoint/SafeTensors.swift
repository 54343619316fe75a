import Foundation
// safetensors (Hugging Face): u64 LE header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// then the data buffer; offsets are relative to the buffer's start.
//
// Reading accepts F64, F32, F16, BF16 (converted to Float) and I64, I32, I16, I8, U8, BOOL
// (converted to Float, exact values kept in `NamedTensor.integers`). Writing uses F32 or F16
// for float tensors and I64 for tensors with `integers`.

public enum SafeTensors {
    /// Element type used for float tensors when writing.
    public enum FloatEncoding: Sendable {
        case f32, f16
    }

    public static func read(path: String) throws -> TensorFile {
        try decode(try readWholeFile(path), file: path)
    }

    /// The `__metadata__` of a safetensors file, reading only its header (a run folder's state
    /// is described from a checkpoint of hundreds of MB without loading its tensors).
    public static func readMetadata(path: String) throws -> [String: String] {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw CheckpointError(.io, file: path, "cannot open")
        }
        defer { try? h.close() }
        let head = [UInt8]((try? h.read(upToCount: 8)) ?? Data())
        guard head.count == 8 else { throw CheckpointError(.truncated, file: path, "too short for a safetensors header length") }
        let n = loadLE(head, 0, 8)
        guard n <= UInt64(ReadLimits.maxHeaderBytes) else {
            throw CheckpointError(.limitExceeded, file: path, "header length \(n) exceeds the cap of \(ReadLimits.maxHeaderBytes) bytes")
        }
        let header = [UInt8]((try? h.read(upToCount: Int(n))) ?? Data())
        guard header.count == Int(n) else { throw CheckpointError(.truncated, file: path, "header is cut short") }
        // Only the metadata is wanted: the tensor entries are not checked against a buffer.
        let value: JSONValue
        do { value = try JSONParser.parse(header[...]) } catch let e as JSONParser.Failure {
            throw CheckpointError(.invalidHeader, file: path, "invalid JSON header: \(e.message)")
        }
        guard case .object(let members) = value else { throw CheckpointError(.invalidHeader, file: path, "header is not a JSON object") }
        var out: [String: String] = [:]
        for (name, v) in members where name == "__metadata__" {
            guard case .object(let pairs) = v else { continue }
            for (k, x) in pairs { if case .string(let s) = x { out[k] = s } }
        }
        return out
    }

    /// Parses a whole safetensors file held in memory; `file` names it in errors.
    /// Tensors are returned in data-offset order (the file's layout).
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws -> TensorFile {
        func fail(_ kind: CheckpointError.Kind, _ reason: String) -> CheckpointError {
            CheckpointError(kind, file: file, reason)
        }
        func fail(_ kind: CheckpointError.Kind, _ tensor: String, _ reason: String) -> CheckpointError {
            CheckpointError(kind, file: file, tensor: tensor, reason)
        }
        guard bytes.count >= 8 else {
            throw fail(.truncated, "file of \(bytes.count) bytes is too short for a safetensors header length")
        }
        let declared = loadLE(bytes, 0, 8)
        guard declared <= UInt64(ReadLimits.maxHeaderBytes) else {
            throw fail(.limitExceeded, "header length \(declared) exceeds the cap of \(ReadLimits.maxHeaderBytes) bytes")
        }
        let headerLength = Int(declared)
        guard headerLength <= bytes.count - 8 else {
            throw fail(.truncated, "header length \(headerLength) is larger than the file (\(bytes.count) bytes)")
        }
        let header: JSONValue
        do {
            header = try JSONParser.parse(bytes[8..<8 + headerLength])
        } catch let e as JSONParser.Failure {
            throw fail(.invalidHeader, "invalid JSON header: \(e.message)")
        }
        guard case .object(let members) = header else { throw fail(.invalidHeader, "header is not a JSON object") }

        let bufferStart = 8 + headerLength
        let bufferLength = bytes.count - bufferStart
        struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        var seen = Set<String>()

        func integer(_ v: JSONValue) -> Int? {
            if case .number(let text) = v { return Int(text) }  // nil for fractions, exponents, overflow
            return nil
        }

        for (name, value) in members {
            guard seen.insert(name).inserted else { throw fail(.duplicateName, name, "appears twice in the header") }
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw fail(.invalidHeader, "__metadata__ is not an object") }
                for (k, v) in pairs {
                    guard case .string(let s) = v else {
                        throw fail(.invalidHeader, "__metadata__ value for '\(k)' is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard case .object(let fields) = value else { throw fail(.invalidHeader, name, "entry is not an object") }
            func field(_ key: String) -> JSONValue? { fields.first { $0.key == key }?.value }
            guard case .string(let dtypeName)? = field("dtype") else {
                throw fail(.invalidHeader, name, "missing or non-string 'dtype'")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail(.unknownDType, name, "unknown dtype '\(dtypeName)' (supported: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard case .array(let dims)? = field("shape") else { throw fail(.invalidHeader, name, "missing 'shape' array") }
            var shape: [Int] = []
            var count = 1
            for d in dims {
                guard let n = integer(d) else { throw fail(.invalidShape, name, "shape entry is not an integer") }
                guard n >= 0 else { throw fail(.invalidShape, name, "negative dimension \(n) in shape \(dims.compactMap(integer))") }
                let (p, o) = count.multipliedReportingOverflow(by: n)
                guard !o else { throw fail(.invalidShape, name, "element count overflows") }
                count = p
                shape.append(n)
            }
            guard case .array(let offsets)? = field("data_offsets"), offsets.count == 2,
                  let begin = integer(offsets[0]), let end = integer(offsets[1]) else {
                throw fail(.invalidHeader, name, "'data_offsets' must be two integers")
            }
            guard begin >= 0, end >= begin, end <= bufferLength else {
                throw fail(.offsetsOutOfRange, name, "data offsets [\(begin), \(end)] are outside the data buffer of \(bufferLength) bytes")
            }
            let (nbytes, o) = count.multipliedReportingOverflow(by: dtype.size)
            guard !o, nbytes == end - begin else {
                throw fail(.shapeMismatch, name, "shape \(shape) of \(dtypeName) needs \(o ? "more than Int.max" : String(nbytes)) bytes but data offsets [\(begin), \(end)] hold \(end - begin)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }

        // The data must be covered exactly once: sorted by offset, each tensor starts where the
        // previous ended, and the last ends at the end of the file.
        let ordered = entries.enumerated().sorted { ($0.element.begin, $0.element.end, $0.offset) < ($1.element.begin, $1.element.end, $1.offset) }.map(\.element)
        var expected = 0
        var previous: String?
        for e in ordered {
            if e.begin < expected {
                throw fail(.offsetsOverlap, e.name, "data offsets [\(e.begin), \(e.end)] overlap those of '\(previous ?? "?")' (which end at \(expected))")
            }
            if e.begin > expected {
                throw fail(.offsetsNotContiguous, e.name, "gap of \(e.begin - expected) bytes before its data at offset \(e.begin)")
            }
            expected = e.end
            if e.end > e.begin { previous = e.name }
        }
        guard expected == bufferLength else {
            throw fail(.offsetsNotContiguous, "data buffer has \(bufferLength - expected) bytes not covered by any tensor")
        }

        var tensors: [NamedTensor] = []
        tensors.reserveCapacity(ordered.count)
        for e in ordered {
            let n = (e.end - e.begin) / e.dtype.size
            let (values, ints) = decodeElements(bytes, base: bufferStart + e.begin, dtype: e.dtype, bigEndian: false, indices: 0..<n, count: n)
            tensors.append(NamedTensor(name: e.name, shape: e.shape, values: values, integers: ints, sourceDType: e.dtype))
        }
        return TensorFile(tensors: tensors, metadata: metadata)
    }

    /// The 8-byte length, the JSON header (padded to 8 bytes) and the payload size of `file`.
    static func header(_ file: TensorFile, encoding: FloatEncoding, name: String) throws -> (bytes: [UInt8], payload: Int) {
        var header = "{"
        var first = true
        if !file.metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += file.metadata.sorted { $0.key < $1.key }
                .map { "\(JSONWriter.quoted($0.key)):\(JSONWriter.quoted($0.value))" }
                .joined(separator: ",")
            header += "}"
            first = false
        }
        var seen = Set<String>()
        var offset = 0
        for t in file.tensors {
            guard t.name != "__metadata__", seen.insert(t.name).inserted else {
                throw CheckpointError(.duplicateName, file: name, tensor: t.name, "name used twice (or reserved)")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError(.invalidShape, file: name, tensor: t.name, "negative dimension in shape \(t.shape)")
            }
            guard t.elementCount == t.values.count, t.integers.map({ $0.count == t.values.count }) ?? true else {
                throw CheckpointError(.shapeMismatch, file: name, tensor: t.name, "shape \(t.shape) needs \(t.elementCount) values, has \(t.values.count)")
            }
            let dtype: DType = t.integers != nil ? .i64 : (encoding == .f16 ? .f16 : .f32)
            let nbytes = t.values.count * dtype.size
            if !first { header += "," }
            first = false
            header += "\(JSONWriter.quoted(t.name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + nbytes)]}"
            offset += nbytes
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }  // align the buffer, as the Python library does
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count)
        var n = UInt64(headerBytes.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xff)); n >>= 8 }
        return (out + headerBytes, offset)
    }

    /// Hands the little-endian bytes of each tensor to `sink`, in order (float tensors straight from
    /// their storage on a little-endian host; others through a small buffer).
    static func payload(_ file: TensorFile, encoding: FloatEncoding,
                        _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buf: [UInt8] = []
        buf.reserveCapacity(1 << 16)
        func flush() throws { if !buf.isEmpty { try buf.withUnsafeBytes { try sink($0) }; buf.removeAll(keepingCapacity: true) } }
        for t in file.tensors {
            if let ints = t.integers {
                for v in ints {
                    var u = UInt64(bitPattern: v)
                    for _ in 0..<8 { buf.append(UInt8(u & 0xff)); u >>= 8 }
                    if buf.count >= 1 << 16 { try flush() }
                }
            } else if encoding == .f16 {
                for v in t.values {
                    let h = floatToHalf(v)
                    buf.append(UInt8(h & 0xff)); buf.append(UInt8(h >> 8))
                    if buf.count >= 1 << 16 { try flush() }
                }
            } else {
                #if _endian(little)
                try flush()
                try t.values.withUnsafeBytes { try sink($0) }   // already the file's byte order
                #else
                for v in t.values {
                    var u = v.bitPattern
                    for _ in 0..<4 { buf.append(UInt8(u & 0xff)); u >>= 8 }
                    if buf.count >= 1 << 16 { try flush() }
                }
                #endif
            }
        }
        try flush()
    }

    /// Serializes `file`: tensors in the given order, `__metadata__` first.
    /// Float tensors use `encoding`; tensors with `integers` are written as I64.
    public static func encode(_ file: TensorFile, encoding: FloatEncoding = .f32, name: String = "<memory>") throws -> [UInt8] {
        let (head, size) = try header(file, encoding: encoding, name: name)
        var out = head
        out.reserveCapacity(head.count + size)
        try payload(file, encoding: encoding) { out.append(contentsOf: $0) }
        return out
    }

    /// Writes `file` atomically (temporary file, fsync, rename, fsync of the folder), streaming the
    /// tensors to the file instead of assembling the whole file in memory first.
    public static func write(_ file: TensorFile, to path: String, encoding: FloatEncoding = .f32) throws {
        let (head, _) = try header(file, encoding: encoding, name: path)
        try AtomicFile.write(to: path) { sink in
            try head.withUnsafeBytes { try sink($0) }
            try payload(file, encoding: encoding, sink)
        }
    }
}
