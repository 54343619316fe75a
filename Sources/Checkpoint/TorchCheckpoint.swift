// PyTorch `.pth` files, read without Python.
//
// Zip format (torch.save since 1.6): `<prefix>/data.pkl` is the pickled object, whose
// persistent ids `('storage', storage_type, key, location, numel)` name raw little-endian
// storages stored as `<prefix>/data/<key>`; `<prefix>/byteorder` says "little" or "big".
//
// TorchScript archives (torch.jit.save) have the same layout plus `code/` and `constants.pkl`;
// their modules are read as nested dicts of attributes (see `readZip`).
//
// Legacy format (`_use_new_zipfile_serialization=False`, and every file of torch < 1.6): a
// sequence of pickles — the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001,
// a sys_info dict, the object (persistent ids `('storage', storage_type, key, location,
// numel, view_metadata)`), the list of storage keys — then for each key an 8-byte
// little-endian element count and the raw data.
//
// The object is flattened into named tensors: dict keys joined with dots (a checkpoint
// `{"state_dict": {...}, "epoch": 3}` gives `state_dict.model.1.weight` and metadata
// `epoch = 3`), list items by index. Tensor views are honoured (storage offset, size, stride),
// so transposed tensors and tensors sharing one storage read as torch shows them.

enum TorchCheckpoint {
    /// Where a storage's bytes are and how many whole elements they hold.
    struct StorageData {
        let base: Int
        let count: Int
    }

    // MARK: - Zip format

    static func readZip(_ bytes: [UInt8], file: String) throws -> TensorFile {
        let zip = try ZipArchive(bytes, file: file)
        let pickles = zip.entries.filter { e in
            e.name.hasSuffix("/data.pkl") && e.name.dropLast("/data.pkl".count).firstIndex(of: "/") == nil
        }
        guard pickles.count == 1, let pickleEntry = pickles.first else {
            throw CheckpointError(.unknownFormat, file: file, pickles.isEmpty
                ? "zip archive has no '<name>/data.pkl' entry: not a torch.save file"
                : "zip archive has \(pickles.count) '<name>/data.pkl' entries")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        var bigEndian = false
        if let r = try zip.range(of: prefix + "byteorder") {
            switch String(decoding: bytes[r], as: UTF8.self) {
            case "little": bigEndian = false
            case "big": bigEndian = true
            case let other: throw CheckpointError(.invalidZip, file: file, "unknown byteorder '\(other.prefix(20))'")
            }
        }
        guard let pickleRange = try zip.range(of: pickleEntry.name) else { throw CheckpointError(.invalidZip, file: file, "data.pkl vanished") }

        // A TorchScript archive (torch.jit.save) holds code/ and constants.pkl beside data.pkl; its
        // data.pkl pickles the scripted modules as `__torch__.*` objects whose attributes are the
        // submodules and tensors. Those objects are read as dicts (names such as `net.layers.conv.weight`);
        // the code is never read.
        let isTorchScript = zip.entries.contains { $0.name == prefix + "constants.pkl" || $0.name.hasPrefix(prefix + "code/") }
        var storages: [String: StorageData] = [:]
        var dtypes: [String: DType] = [:]
        var unpickler = Unpickler(bytes, from: pickleRange.lowerBound, to: pickleRange.upperBound, file: file, what: "data.pkl",
                                  allowsScriptObjects: isTorchScript) { pid in
            let (ref, _) = try storageRef(pid, file: file, legacy: false)
            if let known = dtypes[ref.key], known != ref.dtype {
                throw CheckpointError(.invalidStorage, file: file, "storage '\(ref.key)' is used as both \(known.rawValue) and \(ref.dtype.rawValue)")
            }
            dtypes[ref.key] = ref.dtype
            if storages[ref.key] == nil {
                guard let r = try zip.range(of: prefix + "data/" + ref.key) else {
                    throw CheckpointError(.invalidStorage, file: file, "storage '\(ref.key)' has no entry '\(prefix)data/\(ref.key)'")
                }
                storages[ref.key] = StorageData(base: r.lowerBound, count: r.count / ref.dtype.size)
            }
            let available = storages[ref.key]!.count
            guard ref.count <= available else {
                throw CheckpointError(.invalidStorage, file: file, "storage '\(ref.key)' declares \(ref.count) elements of \(ref.dtype.rawValue) but its entry holds \(available)")
            }
            return .storage(ref)
        }
        let root = try unpickler.load()
        return try flatten(root, storages: storages, bigEndian: bigEndian, bytes: bytes, file: file)
    }

    /// Parses a persistent id; returns the reference and, for legacy files, the root storage's element count.
    static func storageRef(_ pid: PickleValue, file: String, legacy: Bool) throws -> (StorageRef, Int) {
        func bad(_ reason: String) -> CheckpointError { CheckpointError(.invalidPickle, file: file, "persistent id: \(reason)") }
        guard case .tuple(let t) = pid else { throw bad("is a \(pid.kindName), expected a tuple") }
        let items = t.items
        guard items.count == 5 || items.count == 6, case .string("storage") = items[0] else {
            throw bad("expected ('storage', type, key, location, numel)")
        }
        guard case .global(.storageType(let dtype), _) = items[1] else { throw bad("storage type is a \(items[1].kindName)") }
        let key: String
        switch items[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw bad("storage key is a \(items[2].kindName)")
        }
        guard case .int(let numel) = items[4], numel >= 0 else { throw bad("element count is not a non-negative int") }
        if items.count == 6, case .tuple(let view) = items[5] {
            // Legacy storage view: (view_key, offset, size) into the root storage `key`.
            guard view.items.count == 3, case .int(let offset) = view.items[1], case .int(let size) = view.items[2],
                  offset >= 0, size >= 0 else { throw bad("malformed view metadata") }
            return (StorageRef(key: key, dtype: dtype, offset: offset, count: size), numel)
        } else if items.count == 6, case .none = items[5] {
        } else if items.count == 6 {
            throw bad("view metadata is a \(items[5].kindName)")
        }
        return (StorageRef(key: key, dtype: dtype, offset: 0, count: numel), numel)
    }

    // MARK: - Legacy format

    static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]  // 0x1950a86a20f9469cfc6c, LE

    static func readLegacy(_ bytes: [UInt8], file: String) throws -> TensorFile {
        func noStorages(_ pid: PickleValue) throws -> PickleValue {
            throw CheckpointError(.invalidPickle, file: file, "unexpected persistent id in the file header")
        }
        var header = Unpickler(bytes, from: 0, file: file, what: "magic number", persistentLoad: noStorages)
        let magic = try header.load()
        guard case .bigInt(let m) = magic, m == legacyMagic else {
            throw CheckpointError(.unknownFormat, file: file, "pickle does not start with torch's magic number: not a torch.save file")
        }
        var next = Unpickler(bytes, from: header.position, file: file, what: "protocol version", persistentLoad: noStorages)
        guard case .int(1001) = try next.load() else {
            throw CheckpointError(.unknownFormat, file: file, "unsupported legacy torch protocol version (expected 1001)")
        }
        var info = Unpickler(bytes, from: next.position, file: file, what: "sys_info", persistentLoad: noStorages)
        if case .dict(let d) = try info.load() {
            for (k, v) in d.items {
                if case .string("little_endian") = k, case .bool(false) = v {
                    throw CheckpointError(.unknownFormat, file: file, "big-endian legacy files are not supported")
                }
            }
        }

        var declared: [String: (dtype: DType, count: Int)] = [:]
        var main = Unpickler(bytes, from: info.position, file: file, what: "object pickle") { pid in
            let (ref, rootCount) = try storageRef(pid, file: file, legacy: true)
            if let known = declared[ref.key], known.dtype != ref.dtype {
                throw CheckpointError(.invalidStorage, file: file, "storage '\(ref.key)' is used as both \(known.dtype.rawValue) and \(ref.dtype.rawValue)")
            }
            declared[ref.key] = (ref.dtype, rootCount)
            return .storage(ref)
        }
        let root = try main.load()

        var keysPickle = Unpickler(bytes, from: main.position, file: file, what: "storage key list", persistentLoad: noStorages)
        guard case .list(let keyList) = try keysPickle.load() else {
            throw CheckpointError(.invalidPickle, file: file, "storage key list is not a list")
        }
        var storages: [String: StorageData] = [:]
        var c = ByteCursor(bytes, from: keysPickle.position, file: file, what: "storage data")
        for k in keyList.items {
            guard case .string(let key) = k else { throw CheckpointError(.invalidPickle, file: file, "storage key is a \(k.kindName)") }
            guard let d = declared[key] else {
                throw CheckpointError(.invalidStorage, file: file, "storage '\(key)' is listed but no tensor uses it")
            }
            guard storages[key] == nil else { throw CheckpointError(.invalidStorage, file: file, "storage '\(key)' is listed twice") }
            let count = try c.u64()
            guard count <= UInt64(c.remaining / d.dtype.size) else {
                throw CheckpointError(.truncated, file: file, "storage '\(key)' declares \(count) elements of \(d.dtype.rawValue) but only \(c.remaining) bytes are left")
            }
            storages[key] = StorageData(base: c.position, count: Int(count))
            try c.skip(Int(count) * d.dtype.size)
        }
        return try flatten(root, storages: storages, bigEndian: false, bytes: bytes, file: file)
    }

    // MARK: - From the value tree to named tensors

    static func flatten(_ root: PickleValue, storages: [String: StorageData], bigEndian: Bool, bytes: [UInt8], file: String) throws -> TensorFile {
        var tensors: [NamedTensor] = []
        var metadata: [String: String] = [:]
        var names = Set<String>()
        // Shared subtrees are visited once per reference: bound the visits and the elements made.
        var visitsLeft = 4 * bytes.count + 1024
        var elementsLeft = ReadLimits.expansionFactor * bytes.count + ReadLimits.expansionSlack

        var nameBytesLeft = ReadLimits.expansionFactor * bytes.count + ReadLimits.expansionSlack
        func join(_ prefix: String, _ key: String) throws -> String {
            nameBytesLeft -= prefix.utf8.count + 1 + key.utf8.count
            guard nameBytesLeft >= 0 else {
                throw CheckpointError(.limitExceeded, file: file, "flattened names would exceed \(ReadLimits.expansionFactor)x the file's size")
            }
            return prefix.isEmpty ? key : prefix + "." + key
        }

        func visit(_ v: PickleValue, _ name: String, _ depth: Int) throws {
            visitsLeft -= 1
            guard visitsLeft >= 0 else { throw CheckpointError(.limitExceeded, file: file, "pickle references shared values too many times") }
            guard depth <= ReadLimits.maxNestingDepth else {
                throw CheckpointError(.limitExceeded, file: file, "values nested deeper than \(ReadLimits.maxNestingDepth)")
            }
            switch v {
            case .dict(let d):
                for (k, value) in d.items {
                    let key: String
                    switch k {
                    case .string(let s): key = s
                    case .int(let i): key = String(i)
                    default: throw CheckpointError(.invalidPickle, file: file, "dict key of type \(k.kindName) under '\(name)'")
                    }
                    try visit(value, try join(name, key), depth + 1)
                }
            case .list(let l):
                for (i, item) in l.items.enumerated() { try visit(item, try join(name, String(i)), depth + 1) }
            case .tuple(let t):
                for (i, item) in t.items.enumerated() { try visit(item, try join(name, String(i)), depth + 1) }
            case .tensor(let t):
                guard names.insert(name).inserted else {
                    throw CheckpointError(.duplicateName, file: file, tensor: name, "two tensors flatten to this name")
                }
                tensors.append(try materialize(t, name: name, storages: storages, bigEndian: bigEndian, bytes: bytes, file: file, elementsLeft: &elementsLeft))
            case .int(let i): metadata[name] = String(i)
            case .float(let x): metadata[name] = String(x)
            case .bool(let b): metadata[name] = b ? "True" : "False"
            case .string(let s): metadata[name] = s
            case .none: metadata[name] = "None"
            case .bigInt, .bytes, .global, .storage: break  // nothing a model needs
            }
        }
        try visit(root, "", 0)
        return TensorFile(tensors: tensors, metadata: metadata)
    }

    static func materialize(_ t: TensorRef, name: String, storages: [String: StorageData], bigEndian: Bool,
                            bytes: [UInt8], file: String, elementsLeft: inout Int) throws -> NamedTensor {
        func fail(_ kind: CheckpointError.Kind, _ reason: String) -> CheckpointError {
            CheckpointError(kind, file: file, tensor: name, reason)
        }
        guard let data = storages[t.storage.key] else {
            throw fail(.invalidStorage, "storage '\(t.storage.key)' has no data in the file")
        }
        var count = 1
        for d in t.shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw fail(.invalidShape, "element count of shape \(t.shape) overflows") }
            count = p
        }
        // Element indices of the view, relative to the storage: start + sum(i_k * stride_k).
        let (start, o1) = t.storage.offset.addingReportingOverflow(t.offset)
        guard !o1 else { throw fail(.invalidShape, "storage offset overflows") }
        if count > 0 {
            var last = start
            for (d, s) in zip(t.shape, t.stride) {
                let (span, o2) = (d - 1).multipliedReportingOverflow(by: s)
                let (sum, o3) = last.addingReportingOverflow(span)
                guard !o2, !o3 else { throw fail(.invalidShape, "view size \(t.shape) stride \(t.stride) overflows") }
                last = sum
            }
            let (viewEnd, o4) = t.storage.offset.addingReportingOverflow(t.storage.count)
            let visible = o4 ? data.count : min(data.count, viewEnd)
            guard last < visible else {
                throw fail(.invalidStorage, "view (offset \(t.offset), size \(t.shape), stride \(t.stride)) reaches element \(last) of storage '\(t.storage.key)', which holds \(visible)")
            }
        }
        elementsLeft -= count
        guard elementsLeft >= 0 else {
            throw fail(.limitExceeded, "tensors would hold more than \(ReadLimits.expansionFactor)x the file's size in elements")
        }
        let contiguous: Bool = {
            var expected = 1
            for (d, s) in zip(t.shape, t.stride).reversed() where d != 1 {
                if s != expected { return false }
                expected *= d
            }
            return true
        }()
        let (values, ints): ([Float], [Int64]?)
        if contiguous {
            (values, ints) = decodeElements(bytes, base: data.base, dtype: t.storage.dtype, bigEndian: bigEndian, indices: start..<start + count, count: count)
        } else {
            // A size-1 dimension's stride is never used: zero it so stepping cannot overflow.
            let stride = zip(t.shape, t.stride).map { $0 == 1 ? 0 : $1 }
            (values, ints) = decodeElements(bytes, base: data.base, dtype: t.storage.dtype, bigEndian: bigEndian,
                                            indices: StridedIndices(start: start, shape: t.shape, stride: stride, count: count), count: count)
        }
        return NamedTensor(name: name, shape: t.shape, values: values, integers: ints, sourceDType: t.storage.dtype)
    }
}

/// Row-major walk over a strided view: yields `start + sum(i_k * stride_k)`.
struct StridedIndices: Sequence, IteratorProtocol {
    let start: Int
    let shape: [Int]
    let stride: [Int]
    var left: Int
    var counter: [Int]
    var current: Int

    init(start: Int, shape: [Int], stride: [Int], count: Int) {
        self.start = start
        self.shape = shape
        self.stride = stride
        self.left = count
        self.counter = Array(repeating: 0, count: shape.count)
        self.current = start
    }

    mutating func next() -> Int? {
        guard left > 0 else { return nil }
        left -= 1
        let v = current
        var k = shape.count - 1
        while k >= 0 {
            counter[k] += 1
            current += stride[k]
            if counter[k] < shape[k] { break }
            current -= stride[k] * counter[k]
            counter[k] = 0
            k -= 1
        }
        return v
    }
}
