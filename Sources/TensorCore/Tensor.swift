// Tensor: an n-dimensional Float32 array with value semantics.
//
// Layout conventions of the engine (the shape is always a runtime parameter):
//   images / activations: [N, H, W, C]   (NHWC, channels innermost)
//   conv weights:         [KH, KW, C, OC]
//   linear weights:       [out, in]      (as PyTorch)
//   scalars:              []             (rank 0, one element)
// Storage is a pooled buffer (see BufferPool) shared between copies and reshapes and
// copied on write by the mutating accessors, so a tensor saved by the autodiff tape can
// never be changed behind its back by an optimizer step.
import _CKernels

public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public private(set) var shape: [Int]
    public private(set) var storage: TensorStorage

    // MARK: - Creation

    /// A tensor whose contents are undefined (to be written by a kernel).
    public init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.storage = TensorStorage(count: Tensor.count(of: shape))
    }

    public init(shape: [Int], scalars: [Float]) {
        precondition(Tensor.count(of: shape) == scalars.count,
                     "shape \(shape) needs \(Tensor.count(of: shape)) scalars, got \(scalars.count)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { src in
            if let b = src.baseAddress { storage.pointer.update(from: b, count: src.count) }
        }
    }

    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    public init(ones shape: [Int]) { self.init(repeating: 1, shape: shape) }

    public init(repeating value: Float, shape: [Int]) {
        self.init(uninitializedShape: shape)
        storage.pointer.update(repeating: value, count: storage.count)
    }

    /// A rank-0 tensor.
    public init(_ scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// Shares `storage` (no copy); `shape` must describe storage.count elements.
    public init(shape: [Int], storage: TensorStorage) {
        precondition(Tensor.count(of: shape) == storage.count, "shape \(shape) does not match storage of \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    @inline(__always) public static func count(of shape: [Int]) -> Int { shape.reduce(1, *) }

    // MARK: - Access

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: storage.count)) }
    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor of shape \(shape)")
        return storage.pointer[0]
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Mutable access; copies the storage first if it is shared (copy on write).
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let fresh = TensorStorage(count: storage.count)
            fresh.pointer.update(from: storage.pointer, count: storage.count)
            storage = fresh
        }
        storage.touch()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Read-only base pointer for kernels (valid while `self` is alive).
    @inline(__always) public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
    /// Write pointer for a tensor just created by `init(uninitializedShape:)`; no copy on write.
    /// Marks the storage as changed (see TensorStorage.generation), as every write access does.
    @inline(__always) public var uncheckedMutablePointer: UnsafeMutablePointer<Float> {
        storage.touch()
        return storage.pointer
    }

    public subscript(flat i: Int) -> Float { storage.pointer[i] }

    /// Same storage, new shape. One dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: Tensor.resolve(newShape, count: count), storage: storage)
    }

    public static func resolve(_ newShape: [Int], count: Int) -> [Int] {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let rest = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(rest > 0 && count % rest == 0, "cannot reshape \(count) elements to \(newShape)")
            s[i] = count / rest
        }
        precondition(Tensor.count(of: s) == count, "cannot reshape \(count) elements to \(newShape)")
        return s
    }

    /// A deep copy with its own storage.
    public func copy() -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.storage.pointer.update(from: storage.pointer, count: count)
        return t
    }

    public var description: String {
        let s = scalars
        let shown = s.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(s.count > 8 ? ", ..." : "")])"
    }
}

// MARK: - Parallel loops

/// Runs `body(begin, end)` over [0, n) in chunks of at least `grain`, on the engine's
/// persistent thread pool (i2i_parallel_for). The partition depends only on n, grain and
/// the thread count, and each chunk writes its own outputs, so results are deterministic.
public func parallelFor(_ n: Int, grain: Int = 1 << 15, _ body: (Int, Int) -> Void) {
    if n <= 0 { return }
    if n <= grain { body(0, n); return }
    withoutActuallyEscaping(body) { fn in
        var box = fn
        withUnsafeMutablePointer(to: &box) { ctx in
            i2i_parallel_for(Int64(n), Int64(grain), { raw, b, e in
                raw!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(b), Int(e))
            }, UnsafeMutableRawPointer(ctx))
        }
    }
}
