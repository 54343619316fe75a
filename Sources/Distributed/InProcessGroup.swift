// N ranks as threads of one process: the collectives of `ProcessGroup` through shared memory,
// so data-parallel training is tested without MPI (two TrainingRuns on two threads, each with
// its rank of one group). Sums add the ranks' values in rank order, as the MPI group does.
//
//   let ranks = InProcessGroup.make(size: 2)
//   // thread r: try TrainingRun(options: o, group: ranks[r]).run()
import Foundation

public final class InProcessGroup: ProcessGroup, @unchecked Sendable {
    public let rank: Int
    public var size: Int { hub.size }
    private let hub: Hub

    private init(rank: Int, hub: Hub) { self.rank = rank; self.hub = hub }

    /// The ranks of one group, one per thread that takes part.
    public static func make(size: Int) -> [InProcessGroup] {
        precondition(size >= 1, "InProcessGroup needs at least one rank")
        let hub = Hub(size: size)
        return (0..<size).map { InProcessGroup(rank: $0, hub: hub) }
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Float>) {
        let all = hub.exchange(rank, Array(values)) as! [[Float]]
        for i in 0..<values.count { values[i] = all.dropFirst().reduce(all[0][i]) { $0 + $1[i] } }
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Double>) {
        let all = hub.exchange(rank, Array(values)) as! [[Double]]
        for i in 0..<values.count { values[i] = all.dropFirst().reduce(all[0][i]) { $0 + $1[i] } }
    }

    public func allGather(_ value: Int) -> [Int] { hub.exchange(rank, value) as! [Int] }

    public func gather(_ bytes: [UInt8]) -> [[UInt8]]? {
        let all = hub.exchange(rank, bytes) as! [[UInt8]]
        return rank == 0 ? all : nil
    }

    public func barrier() { _ = hub.exchange(rank, 0) }

    public func abort(_ code: Int32) -> Never {
        FileHandle.standardError.write(Data("img2img: in-process rank \(rank) aborted (\(code))\n".utf8))
        exit(code)
    }

    /// One all-gather at a time: every rank puts its value, the last to arrive publishes them
    /// all, and the slots are reused only once every rank has taken the result.
    final class Hub: @unchecked Sendable {
        let size: Int
        private let cond = NSCondition()
        private var slots: [Any?]
        private var arrived = 0, departed = 0, generation = 0
        private var draining = false
        private var result: [Any] = []

        init(size: Int) { self.size = size; slots = Array(repeating: nil, count: size) }

        func exchange(_ rank: Int, _ value: Any) -> [Any] {
            cond.lock(); defer { cond.unlock() }
            while draining { cond.wait() }
            slots[rank] = value
            arrived += 1
            let mine = generation
            if arrived == size {
                result = slots.map { $0! }
                arrived = 0; departed = 0; generation += 1; draining = true
                cond.broadcast()
            } else {
                while generation == mine { cond.wait() }
            }
            let out = result
            departed += 1
            if departed == size {
                draining = false
                slots = Array(repeating: nil, count: size)
                cond.broadcast()
            }
            return out
        }
    }
}
