// Thread hand-over primitives shared by the data loader (Datasets) and the translate pipeline
// (Translation). Internal module (leading underscore): no stable API outside this package.
import Foundation

/// A FIFO of at most `capacity` items between producer and consumer threads. `put` blocks while
/// full, `take` while empty; `finish` (no more items) lets `take` drain and then return nil;
/// `cancel` (the consumer has gone) drops what is queued and makes every `put` return false.
public final class BoundedQueue<T>: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [T] = []
    private var head = 0
    private var finished = false
    private var cancelled = false
    private let capacity: Int

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Blocks while full; false once the queue is cancelled (the item is dropped).
    @discardableResult
    public func put(_ x: T) -> Bool {
        cond.lock(); defer { cond.unlock() }
        while items.count - head >= capacity && !cancelled { cond.wait() }
        if cancelled { return false }
        items.append(x)
        cond.broadcast()
        return true
    }

    /// The next item; nil once the queue is finished and drained, or cancelled.
    public func take() -> T? {
        cond.lock(); defer { cond.unlock() }
        while items.count == head && !finished && !cancelled { cond.wait() }
        if items.count == head { return nil }
        let x = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {  // drop the consumed prefix now and then, not per take
            items.removeFirst(head)
            head = 0
        }
        cond.broadcast()
        return x
    }

    /// No more items will be put.
    public func finish() {
        cond.lock()
        finished = true
        cond.broadcast()
        cond.unlock()
    }

    /// The consumer has gone: drop the queued items and refuse new ones.
    public func cancel() {
        cond.lock()
        cancelled = true
        items.removeAll()
        head = 0
        cond.broadcast()
        cond.unlock()
    }

    public var isCancelled: Bool {
        cond.lock(); defer { cond.unlock() }
        return cancelled
    }
}

/// A value behind a lock.
public final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T
    public init(_ v: T) { _value = v }
    public var value: T { lock.lock(); defer { lock.unlock() }; return _value }
    public func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&_value); lock.unlock() }
}
