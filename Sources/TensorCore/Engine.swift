// The engine's settings, the one way in for callers above the engine (the CLI, the benchmark):
// nobody outside TensorCore and the ops calls the C kernels' setters directly.
//
//   Engine.threads = 4                  // every parallel region of every op
//   try Engine.setKernelISA("avx2")     // force an instruction set (tests, benchmarks)
//   try Engine.setConvPrecision(.bf16)  // inference convs in bf16 (CPUs with AVX512_BF16)
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
    /// 3x3 stride-1 convolutions in bf16: 2 = Winograd F(2x2,3x3) (default), 4 = F(4x4,3x3)
    /// (faster, less accurate), 0 = direct; nil restores the default (env I2I_BF16_WINOGRAD, else 2).
    public static func setBF16Winograd(_ mode: Int?) { i2i_set_bf16_winograd(Int32(clamping: mode ?? -1)) }

    /// True if this CPU can run the bf16 conv kernels (AVX512_BF16: Zen 4 and 5, Sapphire Rapids).
    public static var supportsBF16: Bool { i2i_cpu_has_avx512_bf16() != 0 }

    /// The precision of inference convolutions (convs whose result is not recorded for gradients):
    /// fp32 (default) or bf16 (weights and activations rounded to bf16, sums in fp32; norms and
    /// activations stay fp32). bf16 covers the 3x3 stride-1 convs (a ResNet generator's blocks);
    /// every conv with env I2I_BF16_SCOPE=all. Training is never affected.
    public static var convPrecision: ConvPrecision {
        i2i_conv_precision() == Int32(I2I_PRECISION_BF16) ? .bf16 : .fp32
    }

    public struct UnsupportedPrecision: Error, CustomStringConvertible {
        public let precision: ConvPrecision
        public init(precision: ConvPrecision) { self.precision = precision }
        public var description: String {
            "bf16 needs a CPU with AVX512_BF16 (vdpbf16ps); this CPU lacks it: use --precision fp32"
        }
    }

    /// Sets the precision of inference convolutions; throws (and changes nothing) for bf16 on a
    /// CPU without AVX512_BF16.
    public static func setConvPrecision(_ p: ConvPrecision) throws {
        let raw = p == .bf16 ? Int32(I2I_PRECISION_BF16) : Int32(I2I_PRECISION_FP32)
        guard i2i_set_conv_precision(raw) == 0 else { throw UnsupportedPrecision(precision: p) }
    }
}

/// The arithmetic of inference convolutions (Engine.setConvPrecision).
public enum ConvPrecision: String, Sendable, CaseIterable {
    case fp32, bf16
}
