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

public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let rank: Int
    public let size: Int

    private init() {
        rank = Int(i2i_mpi_rank())
        size = Int(i2i_mpi_size())
    }

    /// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun with PMIx/PMI).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        if let n = env["OMPI_COMM_WORLD_SIZE"] ?? env["PMIX_SIZE"] ?? env["PMI_SIZE"], let size = Int(n) { return size >= 1 }
        return env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
    }

    /// Starts MPI when a launcher started this process and returns its group; nil otherwise.
    public static func startIfLaunched() throws -> MPIProcessGroup? {
        guard launchedByMPI else { return nil }
        if i2i_mpi_active() == 0 {
            var error = [CChar](repeating: 0, count: 512)
            guard i2i_mpi_start(&error, Int32(error.count)) == 0 else {
                throw Failure(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        return MPIProcessGroup()
    }

    /// Ends MPI (after the run; the group is unusable afterwards).
    public func stop() { i2i_mpi_stop() }

    public func abort(_ code: Int32) -> Never {
        i2i_mpi_abort(code)
        exit(code)
    }

    private func check(_ rc: Int32, _ what: String) {
        // A failed collective leaves the ranks out of step: no rank can go on alone.
        if rc != 0 {
            FileHandle.standardError.write(Data("img2img: rank \(rank): MPI \(what) failed (error \(rc)); stopping the job\n".utf8))
            abort(1)
        }
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Float>) {
        guard isActive else { return }
        check(i2i_mpi_sum_floats(values.baseAddress, Int64(values.count)), "sum")
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Double>) {
        guard isActive else { return }
        check(i2i_mpi_sum_doubles(values.baseAddress, Int64(values.count)), "sum")
    }

    public func allGather(_ value: Int) -> [Int] {
        guard isActive else { return [value] }
        var out = [Int64](repeating: 0, count: size)
        check(out.withUnsafeMutableBufferPointer { i2i_mpi_allgather_int64(Int64(value), $0.baseAddress) }, "allgather")
        return out.map { Int($0) }
    }

    public func gather(_ bytes: [UInt8]) -> [[UInt8]]? {
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

    public func barrier() {
        guard isActive else { return }
        check(i2i_mpi_barrier(), "barrier")
    }
}
