// Data-parallel training over Open MPI: `mpirun -np N img2img train ...` (or `srun` under Slurm).
// Every rank builds the same networks from the same seed, takes its own 1/N of every global
// batch (DataLoader's shard), computes its gradients, and before every optimizer step the
// gradients are averaged over the ranks in a fixed order (`_CMPI`: a binomial tree to rank 0,
// then a broadcast), so all ranks hold the same weights at every step and a run is repeatable
// bit for bit for the same rank count, seed and thread count.
//
// MPI is loaded at run time (dlopen of libmpi): img2img builds and runs without Open MPI, and
// only a process that mpirun or srun started (its environment says so) starts MPI.
import Foundation
import _CMPI
import Autograd
import TensorCore

public enum DataParallel {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun with PMIx/PMI).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        if let n = env["OMPI_COMM_WORLD_SIZE"] ?? env["PMIX_SIZE"] ?? env["PMI_SIZE"], let size = Int(n) { return size >= 1 }
        return env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
    }

    /// Starts MPI when the launcher started this process; a no-op otherwise.
    public static func startIfLaunched() throws {
        guard launchedByMPI, i2i_mpi_active() == 0 else { return }
        var error = [CChar](repeating: 0, count: 512)
        guard i2i_mpi_start(&error, Int32(error.count)) == 0 else {
            throw Failure(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    public static var isActive: Bool { i2i_mpi_active() != 0 && size > 1 }
    public static var rank: Int { Int(i2i_mpi_rank()) }
    public static var size: Int { Int(i2i_mpi_size()) }
    /// Only rank 0 writes files and prints.
    public static var isWriter: Bool { rank == 0 }

    public static func stop() { i2i_mpi_stop() }

    /// Ends every rank of the job (a rank that cannot go on must not leave the others waiting).
    public static func abort(_ code: Int32) -> Never {
        i2i_mpi_abort(code)
        exit(code)
    }

    static func check(_ rc: Int32, _ what: String) {
        // A failed collective leaves the ranks out of step: no rank can go on alone.
        if rc != 0 {
            FileHandle.standardError.write(Data("img2img: rank \(rank): MPI \(what) failed (error \(rc)); stopping the job\n".utf8))
            abort(1)
        }
    }

    /// Sums `values` over the ranks (every rank gets the sum), in the fixed order.
    public static func sum(_ values: inout [Double]) {
        guard isActive else { return }
        check(values.withUnsafeMutableBufferPointer { i2i_mpi_sum_doubles($0.baseAddress, Int64($0.count)) }, "sum")
    }

    /// Every rank's `value`, in rank order.
    public static func allGather(_ value: Int) -> [Int] {
        guard isActive else { return [value] }
        var out = [Int64](repeating: 0, count: size)
        check(out.withUnsafeMutableBufferPointer { i2i_mpi_allgather_int64(Int64(value), $0.baseAddress) }, "allgather")
        return out.map { Int($0) }
    }

    /// Every rank's bytes at rank 0, in rank order (nil on the other ranks).
    public static func gather(_ bytes: [UInt8]) -> [[UInt8]]? {
        guard isActive else { return [bytes] }
        let counts = allGather(bytes.count)
        if rank != 0 {
            check(bytes.withUnsafeBytes { i2i_mpi_send_bytes($0.baseAddress, Int64($0.count), 0) }, "send")
            return nil
        }
        var out = [bytes]
        for r in 1..<size {
            var buf = [UInt8](repeating: 0, count: counts[r])
            check(buf.withUnsafeMutableBytes { i2i_mpi_recv_bytes($0.baseAddress, Int64($0.count), Int32(r)) }, "receive")
            out.append(buf)
        }
        return out
    }

    /// Seconds spent averaging gradients since the start (for the benchmark and the log).
    nonisolated(unsafe) public private(set) static var reduceSeconds = 0.0
    nonisolated(unsafe) private static var flat: [Float] = []

    /// Replaces each gradient by its average over the ranks: one message for all of them.
    public static func averageGradients(_ parameters: [Variable]) {
        guard isActive else { return }
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
            check(i2i_mpi_sum_floats(f.baseAddress, Int64(total)), "gradient sum")
            let scale = 1 / Float(size)
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
        reduceSeconds += Date().timeIntervalSince(start)
    }

    /// MPI_Barrier (a no-op for one process).
    public static func barrier() {
        guard isActive else { return }
        check(i2i_mpi_barrier(), "barrier")
    }

    /// A tensor summed over the ranks, differentiably: the backward sums the gradient the same
    /// way. With it, batch norm over the global batch (`--sync-bn`) is a composite of ordinary
    /// ops with the exact gradient (`BatchNorm2D.crossProcessSum`).
    public static func allReduceSum(_ x: Variable) -> Variable {
        var t = x.value.copy()
        t.withUnsafeMutableBufferPointer { check(i2i_mpi_sum_floats($0.baseAddress, Int64($0.count)), "sync-bn sum") }
        return record("allReduceSum", t, [x]) { g, _ in [allReduceSum(g)] }
    }
}
