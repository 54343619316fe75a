import Foundation
import _Sync

/// Translations run here: one at a time on a worker thread of their own (the engine's thread
/// pool does the parallel work inside each), fed by a FIFO of at most `capacity` requests.
///
/// A request takes a slot with `reserve()` before its body is read (so a full queue answers 503
/// at once, without reading the upload) and gives it back when its translation is done or it
/// fails. The count is of requests admitted and not yet answered: uploading, queued or running.
/// Blocking CPU work never runs on SwiftNIO's event loops or Swift's cooperative pool.
public final class WorkQueue: @unchecked Sendable {
    public let capacity: Int
    private let jobs: BoundedQueue<() -> Void>
    private let count = Locked(0)
    private var worker: Thread?
    /// Called with the new length whenever it changes (the queue-length gauge).
    private let onChange: @Sendable (Int) -> Void

    public init(capacity: Int, onChange: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.capacity = max(1, capacity)
        // Never full: admission is bounded by `reserve`, so `put` does not block.
        jobs = BoundedQueue(capacity: self.capacity + 1)
        self.onChange = onChange
        let t = Thread { [jobs] in
            while let job = jobs.take() { job() }
        }
        t.name = "img2img-serve-worker"
        t.stackSize = 16 << 20
        t.start()
        worker = t
    }

    /// Requests admitted and not yet answered.
    public var length: Int { count.value }

    /// A slot, or nil when `capacity` requests are already admitted.
    public func reserve() -> Slot? {
        var ok = false
        var n = 0
        count.mutate { c in
            if c < capacity { c += 1; ok = true }
            n = c
        }
        guard ok else { return nil }
        onChange(n)
        return Slot(queue: self)
    }

    fileprivate func release() {
        var n = 0
        count.mutate { $0 -= 1; n = $0 }
        onChange(n)
    }

    /// A place in the queue, given back once (by `run`'s end or `release`).
    public final class Slot: @unchecked Sendable {
        private let queue: WorkQueue
        private let released = Locked(false)
        fileprivate init(queue: WorkQueue) { self.queue = queue }

        /// Gives the place back (idempotent).
        public func release() {
            var first = false
            released.mutate { if !$0 { $0 = true; first = true } }
            if first { queue.release() }
        }

        /// Runs `work` on the worker after the jobs queued before it, then releases the slot.
        /// `stillWanted` is asked just before: when it says no (the client has gone) the work is
        /// skipped and `Cancelled` thrown, so a dropped request costs nothing further.
        public func run<T: Sendable>(stillWanted: @escaping @Sendable () -> Bool,
                                     _ work: @escaping @Sendable () throws -> T) async throws -> T {
            defer { release() }
            return try await withCheckedThrowingContinuation { (k: CheckedContinuation<T, Error>) in
                queue.jobs.put {
                    guard stillWanted() else { k.resume(throwing: Cancelled()); return }
                    k.resume(with: Result { try work() })
                }
            }
        }
    }

    /// The client went away before its turn.
    public struct Cancelled: Error {}

    /// Lets the worker finish what is queued and end.
    public func shutdown() { jobs.finish() }

    deinit { jobs.finish() }
}
