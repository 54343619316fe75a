// The processes of a data-parallel run, as a value handed to whoever needs them (as
// torch.distributed's process group is handed to DistributedDataParallel and SyncBatchNorm):
// the training run (gradient averaging, agreement on batches and stops, the writer rank) and
// the batch-norm layers of a --sync-bn run. Three implementations:
//   SingleProcess     one process: every collective is the identity (the default everywhere)
//   MPIProcessGroup   the ranks of `mpirun` / `srun`, over Open MPI loaded at run time
//   InProcessGroup    N ranks as threads of one process (tests: data-parallel without MPI)
// Every collective sums in rank order, so all ranks get bit-identical results and a run is
// repeatable bit for bit for the same rank count.
//
//   let group = try MPIProcessGroup.startIfLaunched() ?? SingleProcess()
//   let run = try TrainingRun(options: o, group: group)
import Foundation
import Autograd
import TensorCore

public protocol ProcessGroup: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// Sums `values` over the ranks in place (every rank gets the sum, added in rank order).
    func sum(_ values: UnsafeMutableBufferPointer<Float>)
    func sum(_ values: UnsafeMutableBufferPointer<Double>)
    /// Every rank's `value`, in rank order.
    func allGather(_ value: Int) -> [Int]
    /// Every rank's bytes at rank 0, in rank order (nil on the other ranks).
    func gather(_ bytes: [UInt8]) -> [[UInt8]]?
    func barrier()
    /// Ends every rank (a rank that cannot go on must not leave the others waiting).
    func abort(_ code: Int32) -> Never
}

extension ProcessGroup {
    /// More than one rank.
    public var isActive: Bool { size > 1 }
    /// Only rank 0 writes files and prints.
    public var isWriter: Bool { rank == 0 }

    public func sum(_ values: inout [Double]) {
        guard isActive else { return }
        values.withUnsafeMutableBufferPointer { sum($0) }
    }

    /// A tensor summed over the ranks, differentiably: the backward sums the gradient the same
    /// way. With it, batch norm over the global batch (--sync-bn) is a composite of ordinary ops
    /// with the exact gradient.
    public func allReduceSum(_ x: Variable) -> Variable {
        var t = x.value.copy()
        t.withUnsafeMutableBufferPointer { sum($0) }
        return record("allReduceSum", t, [x]) { g, _ in [self.allReduceSum(g)] }
    }
}

/// One process: rank 0 of 1.
public final class SingleProcess: ProcessGroup {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sum(_ values: UnsafeMutableBufferPointer<Float>) {}
    public func sum(_ values: UnsafeMutableBufferPointer<Double>) {}
    public func allGather(_ value: Int) -> [Int] { [value] }
    public func gather(_ bytes: [UInt8]) -> [[UInt8]]? { [bytes] }
    public func barrier() {}
    public func abort(_ code: Int32) -> Never { exit(code) }
}

/// Averages gradients over a group before each optimizer step, reusing one buffer for the
/// message and timing the exchange (the log's "allreduce ms/step").
public final class GradientAverager {
    public let group: any ProcessGroup
    /// Seconds spent averaging since the start.
    public private(set) var seconds = 0.0
    private var flat: [Float] = []

    public init(group: any ProcessGroup) { self.group = group }

    public func average(_ parameters: [Variable]) {
        guard group.isActive else { return }
        let start = Date()
        let grads = parameters.compactMap(\.grad)
        let total = grads.reduce(0) { $0 + $1.count }
        if flat.count < total { flat = [Float](repeating: 0, count: total) }
        flat.withUnsafeMutableBufferPointer { f in
            var at = 0
            for g in grads {
                g.withUnsafeBufferPointer { (f.baseAddress! + at).update(from: $0.baseAddress!, count: $0.count) }
                at += g.count
            }
            group.sum(UnsafeMutableBufferPointer(rebasing: f[0..<total]))
            let scale = 1 / Float(group.size)
            at = 0
            for p in parameters {
                guard var g = p.grad else { continue }
                g.withUnsafeMutableBufferPointer { b in
                    for i in 0..<b.count { b[i] = f[at + i] * scale }
                }
                at += g.count
                p.grad = g
            }
        }
        seconds += Date().timeIntervalSince(start)
    }
}
