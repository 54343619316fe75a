// The engine's settings, the one way in for callers above the engine (the CLI, the benchmark):
// nobody outside TensorCore and the ops calls the C kernels' setters directly.
//
//   Engine.threads = 4                  // every parallel region of every op
//   try Engine.setKernelISA("avx2")     // force an instruction set (tests, benchmarks)
import _CKernels

public enum Engine {
    /// Threads every parallel region uses (the caller counts as one). Results are identical
    /// from run to run for a given count. Setting 0 or less restores the default: the
    /// environment variable I2I_NUM_THREADS if set, else the number of online CPUs.
    public static var threads: Int {
        get { Int(i2i_get_num_threads()) }
        set { i2i_set_num_threads(Int32(clamping: newValue)) }
    }

    /// The instruction set the fast kernels use: "avx512", "avx2" or "portable".
    public static var kernelISA: String { String(cString: i2i_kernel_isa()) }

    public struct UnsupportedISA: Error, CustomStringConvertible {
        public let isa: String
        public var description: String { "this CPU or build cannot run the \(isa) kernels" }
    }

    /// Forces an instruction set on every kernel: "avx512", "avx2", "portable", "reference"
    /// (the naive conv loops), or nil for the CPU's best.
    public static func setKernelISA(_ isa: String?) throws {
        guard i2i_set_kernel_isa(isa ?? "") == 0 else { throw UnsupportedISA(isa: isa ?? "") }
    }

    /// 3x3 stride-1 convolutions: 4 = Winograd F(4x4,3x3) where it fits (default), 2 =
    /// F(2x2,3x3) only, 0 = direct; nil restores the default (env I2I_WINOGRAD, else 4).
    public static func setWinograd(_ mode: Int?) { i2i_set_winograd(Int32(clamping: mode ?? -1)) }
}
