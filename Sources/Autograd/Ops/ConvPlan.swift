// Conv plans on the Swift side: a layer owns a ConvPlans, which makes one ConvPlan per input shape
// (and instruction set and Winograd mode, so a forced ISA in a test gets its own plan). A plan keeps
// the layer's weights packed for its kernels and packs again only when the weights' storage
// generation changes: once per optimizer step in training, once per shape in inference.
import Foundation
import TensorCore
import _CKernels

/// One i2i_conv_plan: the algorithm choice and the packed weights of one conv shape.
public final class ConvPlan: @unchecked Sendable {
    let raw: OpaquePointer

    /// Binds the instruction set and the Winograd mode current now.
    public init(_ shape: i2i_conv_shape) {
        var s = shape
        guard let p = i2i_conv_plan_create(&s) else { fatalError("i2i_conv_plan_create: out of memory") }
        raw = p
    }

    deinit { i2i_conv_plan_destroy(raw) }

    /// How many times this plan packed weights.
    public var repacks: Int { Int(i2i_conv_plan_repacks(raw)) }

    /// Weight packings of every plan in the process so far.
    public static var totalRepacks: Int { Int(i2i_conv_repacks_total()) }
}

/// The plans of one conv layer, by input shape: the most recently used few (a folder of images of
/// many sizes must not keep a packed copy of the weights per size). Thread-safe.
public final class ConvPlans: @unchecked Sendable {
    /// Plans kept per layer: training and tiled inference use one or two shapes per layer.
    public static let capacity = 4

    private struct Key: Hashable {
        var dims: [Int32]
        var isa: String
        var winograd: Int32
    }

    private let lock = NSLock()
    private var plans: [(key: Key, plan: ConvPlan)] = []  // most recently used last

    public init() {}

    /// The plan of `shape` for the kernels current now, made on first use.
    public func plan(for shape: i2i_conv_shape) -> ConvPlan {
        let s = shape
        let key = Key(dims: [s.N, s.H, s.W, s.C, s.OC, s.KH, s.KW, s.strideH, s.strideW, s.padT, s.padL, s.padB, s.padR],
                      isa: String(cString: i2i_kernel_isa()), winograd: i2i_winograd_mode())
        lock.lock()
        defer { lock.unlock() }
        if let i = plans.firstIndex(where: { $0.key == key }) {
            let e = plans.remove(at: i)
            plans.append(e)
            return e.plan
        }
        let p = ConvPlan(shape)
        if plans.count >= ConvPlans.capacity { plans.removeFirst() }
        plans.append((key, p))
        return p
    }
}
