// A restricted unpickler: it reads a pickle (protocols 2-5, the binary opcodes) into a value
// tree and never executes anything. The only globals it accepts are the tensor, storage and
// ordered-dict names that torch.save writes (`allowedGlobals`); any other global is refused
// the moment it is named, before any later opcode is read. The "calls" (REDUCE, NEWOBJ) of
// the allowed globals are interpreted here: `_rebuild_tensor_v2(storage, offset, size,
// stride, ...)` becomes a `TensorRef` description, `OrderedDict()` an empty dict.
//
// Memory and time are linear in the pickle's length: every opcode pushes at most one value,
// every length is checked against the bytes left, and memo indices go to a dictionary. Values
// form a tree without cycles and at most `ReadLimits.maxNestingDepth` deep, because a
// container is sealed once it is placed inside another one (torch never mutates a container
// after that; only self-referencing structures would), so teardown and walks cannot overflow
// the stack.

/// Globals a torch checkpoint may name.
enum TorchGlobal: Equatable {
    case orderedDict, rebuildTensorV2, rebuildTensor, rebuildParameter, rebuildParameterWithState, size
    case storageType(DType)
    /// A TorchScript archive's `__torch__.<module> <Class>` (a scripted module): allowed only when the
    /// unpickler reads a TorchScript archive, and then only as a holder of attributes (NEWOBJ makes an
    /// empty object, BUILD sets its attributes); its code is never looked at.
    case scriptClass
    /// `torch.jit._pickle.build_intlist` / `build_doublelist` / `build_boollist`: TorchScript's typed
    /// lists; the call returns its one list argument.
    case scriptTypedList
}

let allowedGlobals: [String: TorchGlobal] = {
    var g: [String: TorchGlobal] = [
        "collections.OrderedDict": .orderedDict,
        "torch._utils._rebuild_tensor_v2": .rebuildTensorV2,
        "torch._utils._rebuild_tensor": .rebuildTensor,
        "torch._utils._rebuild_parameter": .rebuildParameter,
        "torch._utils._rebuild_parameter_with_state": .rebuildParameterWithState,
        "torch.Size": .size,
        "torch.UntypedStorage": .storageType(.u8),
        "torch.storage.UntypedStorage": .storageType(.u8),
    ]
    let storages: [(String, DType)] = [
        ("FloatStorage", .f32), ("HalfStorage", .f16), ("DoubleStorage", .f64), ("BFloat16Storage", .bf16),
        ("LongStorage", .i64), ("IntStorage", .i32), ("ShortStorage", .i16), ("CharStorage", .i8),
        ("ByteStorage", .u8), ("BoolStorage", .bool),
    ]
    for (name, dtype) in storages { g["torch.\(name)"] = .storageType(dtype) }
    return g
}()

/// A storage as named by a persistent id: `key` selects the data, `offset`/`count` (in
/// elements) the part of it this reference sees (legacy files can reference views).
struct StorageRef {
    let key: String
    let dtype: DType
    let offset: Int
    let count: Int
}

/// A strided view of a storage, as `_rebuild_tensor_v2` describes it.
struct TensorRef {
    let storage: StorageRef
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}

final class PickleTuple {
    let items: [PickleValue]
    let depth: Int
    init(_ items: [PickleValue], depth: Int) { self.items = items; self.depth = depth }
}

final class PickleList {
    var items: [PickleValue] = []
    var depth = 1
    var sealed = false
}

final class PickleDict {
    var items: [(key: PickleValue, value: PickleValue)] = []
    var depth = 1
    var sealed = false
    /// A TorchScript object (NEWOBJ of a `scriptClass`): BUILD's state becomes its items.
    var isScriptObject = false
}

enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits: little-endian two's complement bytes, as LONG1 stores it.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    case global(TorchGlobal, name: String)
    case storage(StorageRef)
    case tensor(TensorRef)

    var depth: Int {
        switch self {
        case .tuple(let t): return t.depth
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        default: return 0
        }
    }

    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(_, let name): return name
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

struct Unpickler {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    let file: String
    let what: String
    let persistentLoad: (PickleValue) throws -> PickleValue
    /// TorchScript archives only: `__torch__.*` classes and `torch.jit._pickle.build_*list` are allowed.
    let allowsScriptObjects: Bool

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(_ bytes: [UInt8], from start: Int, to end: Int? = nil, file: String, what: String,
         allowsScriptObjects: Bool = false, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.allowsScriptObjects = allowsScriptObjects
        self.bytes = bytes
        self.position = start
        self.end = min(end ?? bytes.count, bytes.count)
        self.file = file
        self.what = what
        self.persistentLoad = persistentLoad
    }

    private var opcodeStart = 0

    func invalid(_ reason: String) -> CheckpointError {
        CheckpointError(.invalidPickle, file: file, "\(what): \(reason) (opcode at byte \(opcodeStart))")
    }

    // MARK: - Reading bytes

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= end - position else {
            throw CheckpointError(.truncated, file: file, "\(what) ends early (needs \(n) bytes at offset \(position), \(end - position) left)")
        }
        defer { position += n }
        return bytes[position..<position + n]
    }

    private mutating func uintLE(_ n: Int) throws -> UInt64 {
        let s = try take(n)
        var v: UInt64 = 0
        for (i, b) in s.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }

    private mutating func length(_ n: Int) throws -> Int {
        let v = try uintLE(n)
        guard v <= UInt64(end - position) else {
            throw CheckpointError(.truncated, file: file, "\(what): declared length \(v) exceeds the \(end - position) bytes left")
        }
        return Int(v)
    }

    private mutating func line() throws -> String {
        var text: [UInt8] = []
        while true {
            let c = try take(1).first!
            if c == 0x0a { break }
            text.append(c)
            guard text.count <= ReadLimits.maxPickleLine else { throw invalid("text line longer than \(ReadLimits.maxPickleLine) bytes") }
        }
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: - Stack

    private var pushes = 0

    private mutating func push(_ v: PickleValue) throws {
        pushes += 1
        guard pushes <= ReadLimits.maxPickleValues else {
            throw CheckpointError(.limitExceeded, file: file, "\(what): more than \(ReadLimits.maxPickleValues) pickle values")
        }
        stack.append(v)
    }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.popLast() else { throw invalid("stack underflow") }
        return v
    }

    private mutating func top() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.last else { throw invalid("stack underflow") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw invalid("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    /// Marks `v` as placed inside a container and returns its nesting depth.
    private func place(_ v: PickleValue) -> Int {
        switch v {
        case .list(let l): l.sealed = true
        case .dict(let d): d.sealed = true
        default: break
        }
        return v.depth
    }

    private func checkDepth(_ d: Int) throws {
        guard d <= ReadLimits.maxNestingDepth else { throw invalid("containers nested deeper than \(ReadLimits.maxNestingDepth)") }
    }

    private func makeTuple(_ items: [PickleValue]) throws -> PickleValue {
        let d = 1 + items.map(place).reduce(0, max)
        try checkDepth(d)
        return .tuple(PickleTuple(items, depth: d))
    }

    private func mutableList(_ v: PickleValue) throws -> PickleList {
        guard case .list(let l) = v else { throw invalid("APPEND to a \(v.kindName)") }
        guard !l.sealed else { throw invalid("list changed after being placed in another container (recursive structures are not supported)") }
        return l
    }

    private func mutableDict(_ v: PickleValue) throws -> PickleDict {
        guard case .dict(let d) = v else { throw invalid("SETITEM on a \(v.kindName)") }
        guard !d.sealed else { throw invalid("dict changed after being placed in another container (recursive structures are not supported)") }
        return d
    }

    private func append(_ items: [PickleValue], to l: PickleList) throws {
        for v in items {
            let d = place(v) + 1
            guard !l.sealed else { throw invalid("list appended to itself (recursive structures are not supported)") }
            try checkDepth(d)
            l.depth = max(l.depth, d)
            l.items.append(v)
        }
    }

    private func setItems(_ items: [PickleValue], in d: PickleDict) throws {
        guard items.count % 2 == 0 else { throw invalid("odd number of items for a dict") }
        var i = 0
        while i < items.count {
            let depth = max(place(items[i]), place(items[i + 1])) + 1
            guard !d.sealed else { throw invalid("dict stored in itself (recursive structures are not supported)") }
            try checkDepth(depth)
            d.depth = max(d.depth, depth)
            d.items.append((items[i], items[i + 1]))
            i += 2
        }
    }

    // MARK: - Globals and calls

    private func resolve(_ module: String, _ name: String) throws -> PickleValue {
        let full = "\(module).\(name)"
        if allowsScriptObjects {
            if module.hasPrefix("__torch__.") || module == "__torch__" { return .global(.scriptClass, name: full) }
            if ["torch.jit._pickle.build_intlist", "torch.jit._pickle.build_doublelist",
                "torch.jit._pickle.build_boollist"].contains(full) {
                return .global(.scriptTypedList, name: full)
            }
        }
        guard let g = allowedGlobals[full] else {
            throw CheckpointError(.forbiddenGlobal, file: file, "refusing pickle global '\(full)' (only tensors, storages and ordered dicts are allowed)")
        }
        return .global(g, name: full)
    }

    private func intValue(_ v: PickleValue, _ what: String) throws -> Int {
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: throw invalid("\(what) is a \(v.kindName), expected an int")
        }
    }

    private func intTuple(_ v: PickleValue, _ what: String) throws -> [Int] {
        switch v {
        case .tuple(let t): return try t.items.map { try intValue($0, what) }
        case .list(let l): return try l.items.map { try intValue($0, what) }
        default: throw invalid("\(what) is a \(v.kindName), expected a tuple of ints")
        }
    }

    private func call(_ callable: PickleValue, _ argsValue: PickleValue) throws -> PickleValue {
        guard case .global(let g, let name) = callable else { throw invalid("REDUCE on a \(callable.kindName), not a global") }
        guard case .tuple(let t) = argsValue else { throw invalid("arguments of \(name) are a \(argsValue.kindName), not a tuple") }
        let args = t.items
        switch g {
        case .orderedDict:
            let d = PickleDict()
            if args.count == 1 {
                let pairs: [PickleValue]
                switch args[0] {
                case .list(let l): pairs = l.items
                case .tuple(let p): pairs = p.items
                default: throw invalid("OrderedDict argument is a \(args[0].kindName)")
                }
                var flat: [PickleValue] = []
                for p in pairs {
                    guard case .tuple(let kv) = p, kv.items.count == 2 else { throw invalid("OrderedDict item is not a pair") }
                    flat += kv.items
                }
                try setItems(flat, in: d)
            } else if !args.isEmpty {
                throw invalid("OrderedDict called with \(args.count) arguments")
            }
            return .dict(d)
        case .rebuildTensorV2, .rebuildTensor:
            guard g == .rebuildTensor ? args.count == 4 : (4...7).contains(args.count) else {
                throw invalid("\(name) called with \(args.count) arguments")
            }
            guard case .storage(let s) = args[0] else { throw invalid("\(name): first argument is a \(args[0].kindName), not a storage") }
            let offset = try intValue(args[1], "storage offset")
            let shape = try intTuple(args[2], "size")
            let stride = try intTuple(args[3], "stride")
            guard shape.count == stride.count else { throw invalid("\(name): size \(shape) and stride \(stride) differ in length") }
            guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError(.invalidShape, file: file, "\(what): negative offset, size or stride (offset \(offset), size \(shape), stride \(stride))")
            }
            return .tensor(TensorRef(storage: s, offset: offset, shape: shape, stride: stride))
        case .rebuildParameter, .rebuildParameterWithState:
            guard let first = args.first, case .tensor = first else { throw invalid("\(name): first argument is not a tensor") }
            return first
        case .size:
            guard args.count == 1 else { throw invalid("torch.Size called with \(args.count) arguments") }
            return try makeTuple(try intTuple(args[0], "torch.Size item").map { .int($0) })
        case .scriptTypedList:
            guard args.count == 1, case .list = args[0] else { throw invalid("\(name) needs one list argument") }
            return args[0]
        case .storageType, .scriptClass:
            throw invalid("calling \(name) is not supported")
        }
    }

    // MARK: - The opcode loop

    /// Reads one pickle up to its STOP opcode. `position` is then just after STOP.
    mutating func load() throws -> PickleValue {
        while true {
            opcodeStart = position
            let op = try take(1).first!
            switch op {
            case 0x80:  // PROTO
                let v = try take(1).first!
                guard v <= 5 else { throw invalid("unsupported pickle protocol \(v)") }
            case 0x95:  // FRAME: a length hint only
                _ = try length(8)
            case 0x2e:  // STOP
                let v = try pop()
                guard stack.isEmpty, marks.isEmpty else { throw invalid("values left on the stack at STOP") }
                return v
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30:  // POP
                if stack.count > (marks.last ?? 0) { _ = try pop() } else { _ = try popMark() }
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: try push(try top())  // DUP
            case 0x4e: try push(.none)  // NONE
            case 0x88: try push(.bool(true))  // NEWTRUE
            case 0x89: try push(.bool(false))  // NEWFALSE
            case 0x4a: try push(.int(Int(Int32(bitPattern: UInt32(try uintLE(4))))))  // BININT
            case 0x4b: try push(.int(Int(try uintLE(1))))  // BININT1
            case 0x4d: try push(.int(Int(try uintLE(2))))  // BININT2
            case 0x8a, 0x8b:  // LONG1, LONG4
                let n = op == 0x8a ? Int(try uintLE(1)) : try length(4)
                let raw = Array(try take(n))
                if n == 0 {
                    try push(.int(0))
                } else if n <= 8 {
                    var v: UInt64 = 0
                    for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
                    let shift = UInt64(64 - 8 * n)
                    try push(.int(Int(Int64(bitPattern: v << shift) >> Int64(shift))))
                } else {
                    try push(.bigInt(raw))
                }
            case 0x47:  // BINFLOAT, big-endian
                var v: UInt64 = 0
                for b in try take(8) { v = v << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: v)))
            case 0x8c: try push(.string(String(decoding: try take(Int(try uintLE(1))), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x58: try push(.string(String(decoding: try take(try length(4)), as: UTF8.self)))  // BINUNICODE
            case 0x8d: try push(.string(String(decoding: try take(try length(8)), as: UTF8.self)))  // BINUNICODE8
            case 0x55: try push(.string(String(decoding: try take(Int(try uintLE(1))), as: UTF8.self)))  // SHORT_BINSTRING (Python 2 str)
            case 0x54:  // BINSTRING (Python 2 str)
                let n = Int32(bitPattern: UInt32(try uintLE(4)))
                guard n >= 0 else { throw invalid("negative string length") }
                try push(.string(String(decoding: try take(Int(n)), as: UTF8.self)))
            case 0x43: try push(.bytes(Array(try take(Int(try uintLE(1))))))  // SHORT_BINBYTES
            case 0x42: try push(.bytes(Array(try take(try length(4)))))  // BINBYTES
            case 0x8e, 0x96: try push(.bytes(Array(try take(try length(8)))))  // BINBYTES8, BYTEARRAY8
            case 0x29: try push(try makeTuple([]))  // EMPTY_TUPLE
            case 0x74: try push(try makeTuple(try popMark()))  // TUPLE
            case 0x85: let a = try pop(); try push(try makeTuple([a]))  // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try push(try makeTuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(try makeTuple([a, b, c]))  // TUPLE3
            case 0x5d, 0x8f: try push(.list(PickleList()))  // EMPTY_LIST, EMPTY_SET (sets read as lists)
            case 0x6c, 0x91:  // LIST, FROZENSET
                let items = try popMark()
                let l = PickleList()
                try append(items, to: l)
                try push(.list(l))
            case 0x61:  // APPEND
                let v = try pop()
                try append([v], to: try mutableList(try top()))
            case 0x65, 0x90:  // APPENDS, ADDITEMS
                let items = try popMark()
                try append(items, to: try mutableList(try top()))
            case 0x7d: try push(.dict(PickleDict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let items = try popMark()
                let d = PickleDict()
                try setItems(items, in: d)
                try push(.dict(d))
            case 0x73:  // SETITEM
                let v = try pop(), k = try pop()
                try setItems([k, v], in: try mutableDict(try top()))
            case 0x75:  // SETITEMS
                let items = try popMark()
                try setItems(items, in: try mutableDict(try top()))
            case 0x71: memo[Int(try uintLE(1))] = try top()  // BINPUT
            case 0x72: memo[Int(try uintLE(4))] = try top()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x68, 0x6a:  // BINGET, LONG_BINGET
                let i = Int(try uintLE(op == 0x68 ? 1 : 4))
                guard let v = memo[i] else { throw invalid("memo entry \(i) is not defined") }
                try push(v)
            case 0x63:  // GLOBAL
                let module = try line()
                let name = try line()
                try push(try resolve(module, name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let n) = name, case .string(let m) = module else {
                    throw invalid("STACK_GLOBAL needs two strings")
                }
                try push(try resolve(m, n))
            case 0x69:  // INST: names a class and calls it
                let module = try line()
                let name = try line()
                _ = try resolve(module, name)
                throw invalid("opcode INST is not supported")
            case 0x52:  // REDUCE
                let args = try pop(), callable = try pop()
                _ = place(args)
                try push(try call(callable, args))
            case 0x81, 0x92:  // NEWOBJ, NEWOBJ_EX
                if op == 0x92 { _ = place(try pop()) }  // kwargs
                _ = place(try pop())  // args
                let cls = try pop()
                switch cls {
                case .global(.orderedDict, _): try push(.dict(PickleDict()))
                case .global(.scriptClass, _):
                    let object = PickleDict()
                    object.isScriptObject = true
                    try push(.dict(object))
                default: throw invalid("NEWOBJ of \(cls.kindName) is not supported")
                }
            case 0x62:  // BUILD: object state (for example an OrderedDict's `_metadata`) is ignored,
                // except a TorchScript object's: its attributes (submodules, parameters, buffers).
                let state = try pop()
                if case .dict(let object) = try top(), object.isScriptObject {
                    guard case .dict(let attributes) = state else { throw invalid("state of a TorchScript object is a \(state.kindName)") }
                    guard object.items.isEmpty else { throw invalid("TorchScript object built twice") }
                    try setItems(attributes.items.flatMap { [$0.key, $0.value] }, in: try mutableDict(.dict(object)))
                    break
                }
                _ = place(state)
                switch try top() {
                case .dict, .tensor, .list: break
                case let v: throw invalid("BUILD on a \(v.kindName) is not supported")
                }
            case 0x51:  // BINPERSID
                let pid = try pop()
                _ = place(pid)
                try push(try persistentLoad(pid))
            default:
                throw invalid("unsupported opcode 0x\(String(op, radix: 16))")
            }
        }
    }
}
