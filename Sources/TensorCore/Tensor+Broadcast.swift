// Element-wise arithmetic with NumPy broadcasting, and its adjoint: summing to a shape.
//   a: [..., d_i, ...]  b: [..., 1 or d_i, ...]  (shapes aligned on the right)
// Dimensions are coalesced first, so the common cases run as flat loops:
//   same shape -> [n];  [N,H,W,C] op [C] -> [NHW, C];  [N,H,W,C] op [N,1,1,C] -> [N, HW, C].
// The loops are the SIMD kernels of _CKernels (i2i_binary, i2i_unary, i2i_sum_*): the same bits on
// every ISA and thread count.
import _CKernels

public enum BinaryOperator: Sendable {
    case add, sub, mul, div
    /// Swift.max / Swift.min semantics.
    case max, min
    /// a * (1 - b * b): the tanh backward with a = dy, b = tanh(x).
    case tanhGrad
    /// a * b * (1 - b): the sigmoid backward with a = dy, b = sigmoid(x).
    case sigmoidGrad

    var code: Int32 {
        switch self {
        case .add: return Int32(I2I_BINARY_ADD)
        case .sub: return Int32(I2I_BINARY_SUB)
        case .mul: return Int32(I2I_BINARY_MUL)
        case .div: return Int32(I2I_BINARY_DIV)
        case .max: return Int32(I2I_BINARY_MAX)
        case .min: return Int32(I2I_BINARY_MIN)
        case .tanhGrad: return Int32(I2I_BINARY_TANH_GRAD)
        case .sigmoidGrad: return Int32(I2I_BINARY_SIGMOID_GRAD)
        }
    }
}

/// Element-wise functions of one tensor (and a scalar `s` where named), run by i2i_unary.
public enum UnaryOperator: Sendable {
    case scale, addScalar, scalarSub, divScalar, neg, square, sqrt, rsqrt, abs, sign, relu, leakyReLU, tanh, sigmoid

    var code: Int32 {
        let c: Int32
        switch self {
        case .scale: c = Int32(I2I_UNARY_SCALE)
        case .addScalar: c = Int32(I2I_UNARY_ADD_SCALAR)
        case .scalarSub: c = Int32(I2I_UNARY_SCALAR_SUB)
        case .divScalar: c = Int32(I2I_UNARY_DIV_SCALAR)
        case .neg: c = Int32(I2I_UNARY_NEG)
        case .square: c = Int32(I2I_UNARY_SQUARE)
        case .sqrt: c = Int32(I2I_UNARY_SQRT)
        case .rsqrt: c = Int32(I2I_UNARY_RSQRT)
        case .abs: c = Int32(I2I_UNARY_ABS)
        case .sign: c = Int32(I2I_UNARY_SIGN)
        case .relu: c = Int32(I2I_UNARY_RELU)
        case .leakyReLU: c = Int32(I2I_UNARY_LEAKY_RELU)
        case .tanh: c = Int32(I2I_UNARY_TANH)
        case .sigmoid: c = Int32(I2I_UNARY_SIGMOID)
        }
        return c
    }
}

/// One coalesced dimension of a broadcast: its size and the stride of each operand (0 = broadcast).
struct BroadcastDim { var size: Int; var sa: Int; var sb: Int }

extension Tensor {
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let r = Swift.max(a.count, b.count)
        let pa = Array(repeating: 1, count: r - a.count) + a
        let pb = Array(repeating: 1, count: r - b.count) + b
        return (0..<r).map { i in
            precondition(pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1, "shapes \(a) and \(b) do not broadcast")
            return pa[i] == 1 ? pb[i] : pa[i]
        }
    }

    /// Coalesced dims for reading `a` and `b` (each broadcast to `out`).
    static func coalesce(out: [Int], a: [Int], b: [Int]) -> [BroadcastDim] {
        let r = out.count
        let pa = Array(repeating: 1, count: r - a.count) + a
        let pb = Array(repeating: 1, count: r - b.count) + b
        var dims: [BroadcastDim] = []
        var stA = 1, stB = 1
        var raw: [BroadcastDim] = Array(repeating: BroadcastDim(size: 1, sa: 0, sb: 0), count: r)
        for i in stride(from: r - 1, through: 0, by: -1) {
            raw[i] = BroadcastDim(size: out[i], sa: pa[i] == 1 ? 0 : stA, sb: pb[i] == 1 ? 0 : stB)
            stA *= pa[i]; stB *= pb[i]
        }
        for d in raw where d.size != 1 {
            if var last = dims.last,
               (last.sa == d.sa * d.size) || (last.sa == 0 && d.sa == 0),
               (last.sb == d.sb * d.size) || (last.sb == 0 && d.sb == 0) {
                last.size *= d.size; last.sa = d.sa; last.sb = d.sb
                dims[dims.count - 1] = last
            } else {
                dims.append(d)
            }
        }
        if dims.isEmpty { dims = [BroadcastDim(size: 1, sa: 0, sb: 0)] }
        return dims
    }

    public static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOperator) -> Tensor {
        precondition(a.shape == b.shape || (op != .tanhGrad && op != .sigmoidGrad),
                     "\(op) of \(a.shape) and \(b.shape): the fused gradients need equal shapes")
        let shape = a.shape == b.shape ? a.shape : broadcastShape(a.shape, b.shape)
        let out = Tensor(uninitializedShape: shape)
        let pa = a.pointer, pb = b.pointer, po = out.uncheckedMutablePointer
        let n = out.count, code = op.code
        if a.count == n && b.count == n {
            i2i_binary(code, Int64(n), pa, pb, po, 0)
            return out
        }
        let dims = coalesce(out: shape, a: a.shape, b: b.shape)
        let inner = dims[dims.count - 1]
        let outer = n / inner.size
        let m = inner.size, ia = Int64(inner.sa), ib = Int64(inner.sb)
        parallelFor(outer, grain: Swift.max(1, 16384 / Swift.max(m, 1))) { lo, hi in
            for o in lo..<hi {
                let (offA, offB) = rowOffsets(o, dims)
                i2i_binary_row(code, Int64(m), pa + offA, ia, pb + offB, ib, po + o * m, 0)
            }
        }
        return out
    }

    /// Offsets into a and b of row `o` (row-major over the outer coalesced dims).
    @inline(__always) static func rowOffsets(_ o: Int, _ dims: [BroadcastDim]) -> (Int, Int) {
        var rem = o, offA = 0, offB = 0
        var k = dims.count - 2
        while k >= 0 {
            let d = dims[k]
            let idx = rem % d.size; rem /= d.size
            offA += idx * d.sa; offB += idx * d.sb
            k -= 1
        }
        return (offA, offB)
    }

    /// y = op(x) (with the scalar `s` of the ops that take one), by i2i_unary.
    public func applying(_ op: UnaryOperator, _ s: Float = 0) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        i2i_unary(op.code, Int64(count), pointer, out.uncheckedMutablePointer, s)
        return out
    }

    /// Sums over the broadcast dimensions so the result has `target` shape: the adjoint of
    /// broadcasting `target` to `self.shape`. Accumulates in Double, in a fixed order.
    public func sum(toShape target: [Int]) -> Tensor {
        if target == shape { return self }
        let r = shape.count
        precondition(target.count <= r, "cannot sum \(shape) to \(target)")
        let pt = Array(repeating: 1, count: r - target.count) + target
        for i in 0..<r { precondition(pt[i] == shape[i] || pt[i] == 1, "cannot sum \(shape) to \(target)") }
        let outCount = Tensor.count(of: target)
        let out = Tensor(uninitializedShape: target)
        let po = out.uncheckedMutablePointer
        if outCount == 1 {
            po[0] = Float(sumDouble())
            return out
        }
        // Treat the output as operand `b` of a broadcast; a is contiguous.
        let dims = Tensor.coalesce(out: shape, a: shape, b: pt)
        let inner = dims[dims.count - 1]
        let outer = count / inner.size
        let m = inner.size
        withScratchDoubles(outCount) { acc in
            if dims.count == 2 && dims[0].sb == 0 && inner.sb == 1 {
                // [rows, C] -> [C] (bias gradients, batch statistics): columns in parallel, rows in order.
                i2i_sum_rows_f64(Int64(outer), Int64(m), pointer, acc)
            } else {
                acc.update(repeating: 0, count: outCount)
                let px = pointer
                var idx = [Int](repeating: 0, count: dims.count)
                var offB = 0
                for o in 0..<outer {
                    let x = px + o * m, y = acc + offB
                    if inner.sb == 1 { for j in 0..<m { y[j] += Double(x[j]) } }
                    else { var s = 0.0; for j in 0..<m { s += Double(x[j]) }; y[0] += s }
                    // advance the outer multi-index
                    var k = dims.count - 2
                    while k >= 0 {
                        idx[k] += 1; offB += dims[k].sb
                        if idx[k] < dims[k].size { break }
                        offB -= dims[k].sb * dims[k].size; idx[k] = 0
                        k -= 1
                    }
                }
            }
            for i in 0..<outCount { po[i] = Float(acc[i]) }
        }
        return out
    }

    /// Broadcasts `self` to `target` (copying).
    public func broadcast(to target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(target.count >= shape.count && Tensor.broadcastShape(shape, target) == target,
                     "cannot broadcast \(shape) to \(target)")
        let out = Tensor(uninitializedShape: target)
        let dims = Tensor.coalesce(out: target, a: target, b: shape)
        let inner = dims[dims.count - 1]
        let m = inner.size, pb = pointer, po = out.uncheckedMutablePointer
        parallelFor(out.count / m, grain: Swift.max(1, 16384 / Swift.max(m, 1))) { lo, hi in
            for o in lo..<hi {
                let offB = Tensor.rowOffsets(o, dims).1
                if inner.sb == 1 { (po + o * m).update(from: pb + offB, count: m) }
                else { (po + o * m).update(repeating: pb[offB], count: m) }
            }
        }
        return out
    }
}

// MARK: - Operators

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .sub) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .mul) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .div) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.applying(.addScalar, s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.applying(.addScalar, -s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.applying(.scale, s) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.applying(.divScalar, s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.applying(.addScalar, s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.applying(.scalarSub, s) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.applying(.scale, s) }
    public static prefix func - (a: Tensor) -> Tensor { a.applying(.neg) }

    /// Element-wise map, parallel over chunks.
    @inline(__always)
    public func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let px = pointer, po = out.uncheckedMutablePointer
        parallelFor(count) { lo, hi in for i in lo..<hi { po[i] = f(px[i]) } }
        return out
    }
}
