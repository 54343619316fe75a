// BufferPool: a thread-safe, size-keyed free list of 64-byte aligned Float buffers.
//
// Every `Tensor` allocates its storage here and gives it back when the last tensor
// that shares it dies. A training step allocates the same sizes every step, so after
// the first step every request is served from a free list and the loop performs no
// malloc/free in steady state. Buffers are keyed by their exact capacity (rounded up
// to 16 floats = 64 bytes), so reuse is exact and no memory is wasted on size classes.
//
// The pool keeps at most `maxCachedBytes` of idle memory (default 8 GiB, i.e. bounded
// only by what a step really needs); `trim()` frees every idle buffer, for example after
// training and before inference. Statistics (`allocations`, `reuses`) let tests and
// benchmarks assert the steady state.
import Foundation
import _CKernels

public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    private let lock = NSLock()
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var cachedBytes = 0
    /// Upper bound of idle bytes kept for reuse; buffers released beyond it are freed.
    public var maxCachedBytes: Int {
        get { lock.lock(); defer { lock.unlock() }; return _maxCachedBytes }
        set { lock.lock(); _maxCachedBytes = newValue; lock.unlock() }
    }
    private var _maxCachedBytes = 8 << 30
    private var _allocations = 0
    private var _reuses = 0

    public init() {}

    /// Capacity actually reserved for a request of `count` floats.
    @inline(__always) static func capacity(for count: Int) -> Int { max(16, (count + 15) & ~15) }

    /// A buffer of at least `count` floats (contents undefined) and its capacity key.
    public func acquire(count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let cap = BufferPool.capacity(for: count)
        lock.lock()
        if var list = free[cap], let p = list.popLast() {
            free[cap] = list
            cachedBytes -= cap * 4
            _reuses += 1
            lock.unlock()
            return (p, cap)
        }
        _allocations += 1
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        let rc = posix_memalign(&raw, 64, cap * MemoryLayout<Float>.stride)
        precondition(rc == 0 && raw != nil, "BufferPool: out of memory allocating \(cap) floats")
        return (raw!.bindMemory(to: Float.self, capacity: cap), cap)
    }

    /// Returns a buffer obtained from `acquire`.
    public func release(_ p: UnsafeMutablePointer<Float>, capacity cap: Int) {
        lock.lock()
        if cachedBytes + cap * 4 <= _maxCachedBytes {
            free[cap, default: []].append(p)
            cachedBytes += cap * 4
            lock.unlock()
        } else {
            lock.unlock()
            Foundation.free(p)
        }
    }

    /// Frees every idle buffer.
    public func trim() {
        lock.lock()
        let all = free
        free = [:]
        cachedBytes = 0
        lock.unlock()
        for (_, list) in all { for p in list { Foundation.free(p) } }
    }

    /// (fresh allocations, requests served from the free lists, idle bytes) since creation.
    public var statistics: (allocations: Int, reuses: Int, cachedBytes: Int) {
        lock.lock(); defer { lock.unlock() }
        return (_allocations, _reuses, cachedBytes)
    }
}

/// The memory of a tensor: one pooled buffer. Shared by tensors (reshape, copies) and
/// copied on write by `Tensor`'s mutating accessors.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    let capacity: Int
    /// A process-wide unique number that changes on every write access (Tensor's mutable accessors),
    /// so that conv plans can tell when weights changed and pack them again, and only then. Pooled
    /// buffers are reused, so a pointer alone cannot tell.
    public private(set) var generation: UInt64

    public init(count: Int) {
        self.count = count
        (pointer, capacity) = BufferPool.shared.acquire(count: count)
        generation = i2i_next_generation()
    }

    /// Marks the contents as changed.
    @inline(__always) public func touch() { generation = i2i_next_generation() }

    deinit { BufferPool.shared.release(pointer, capacity: capacity) }
}

/// Runs `body` with `count` doubles of pooled scratch memory (contents undefined): reductions use
/// it for their accumulators, so they make no malloc in steady state either.
public func withScratchDoubles<R>(_ count: Int, _ body: (UnsafeMutablePointer<Double>) throws -> R) rethrows -> R {
    let (p, cap) = BufferPool.shared.acquire(count: 2 * Swift.max(count, 1))
    defer { BufferPool.shared.release(p, capacity: cap) }
    return try p.withMemoryRebound(to: Double.self, capacity: Swift.max(count, 1), body)
}
