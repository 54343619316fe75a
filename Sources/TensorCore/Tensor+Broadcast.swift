// Element-wise arithmetic with NumPy broadcasting, and its adjoint: summing to a shape.
//   a: [..., d_i, ...]  b: [..., 1 or d_i, ...]  (shapes aligned on the right)
// Dimensions are coalesced first, so the common cases run as flat loops:
//   same shape -> [n];  [N,H,W,C] op [C] -> [NHW, C];  [N,H,W,C] op [N,1,1,C] -> [N, HW, C].

public enum BinaryOperator: Sendable { case add, sub, mul, div, max, min }

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
        switch op {
        case .add: return binaryKernel(a, b) { $0 + $1 }
        case .sub: return binaryKernel(a, b) { $0 - $1 }
        case .mul: return binaryKernel(a, b) { $0 * $1 }
        case .div: return binaryKernel(a, b) { $0 / $1 }
        case .max: return binaryKernel(a, b) { Swift.max($0, $1) }
        case .min: return binaryKernel(a, b) { Swift.min($0, $1) }
        }
    }

    @inline(__always)
    static func binaryKernel(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : broadcastShape(a.shape, b.shape)
        let out = Tensor(uninitializedShape: shape)
        let pa = a.pointer, pb = b.pointer, po = out.uncheckedMutablePointer
        let n = out.count
        if a.count == n && b.count == n {
            parallelFor(n) { lo, hi in for i in lo..<hi { po[i] = f(pa[i], pb[i]) } }
            return out
        }
        let dims = coalesce(out: shape, a: a.shape, b: b.shape)
        let inner = dims[dims.count - 1]
        let outer = n / inner.size
        let m = inner.size, ia = inner.sa, ib = inner.sb
        parallelFor(outer, grain: Swift.max(1, 16384 / Swift.max(m, 1))) { lo, hi in
            for o in lo..<hi {
                // offsets of row `o` (row-major over the outer coalesced dims)
                var rem = o, offA = 0, offB = 0
                var k = dims.count - 2
                while k >= 0 {
                    let d = dims[k]
                    let idx = rem % d.size; rem /= d.size
                    offA += idx * d.sa; offB += idx * d.sb
                    k -= 1
                }
                let y = po + o * m, x1 = pa + offA, x2 = pb + offB
                if ia == 1 && ib == 1 { for j in 0..<m { y[j] = f(x1[j], x2[j]) } }
                else if ia == 1 { let s = x2[0]; for j in 0..<m { y[j] = f(x1[j], s) } }
                else if ib == 1 { let s = x1[0]; for j in 0..<m { y[j] = f(s, x2[j]) } }
                else { let v = f(x1[0], x2[0]); for j in 0..<m { y[j] = v } }
            }
        }
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
        // Treat the output as operand `b` of a broadcast; a is contiguous.
        let dims = Tensor.coalesce(out: shape, a: shape, b: pt)
        let outCount = Tensor.count(of: target)
        var acc = [Double](repeating: 0, count: outCount)
        let px = pointer
        let inner = dims[dims.count - 1]
        let outer = count / inner.size
        let m = inner.size
        acc.withUnsafeMutableBufferPointer { accb in
            let pa = accb.baseAddress!
            var idx = [Int](repeating: 0, count: dims.count)
            var offB = 0
            for o in 0..<outer {
                let x = px + o * m, y = pa + offB
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
        let out = Tensor(uninitializedShape: target)
        let po = out.uncheckedMutablePointer
        for i in 0..<outCount { po[i] = Float(acc[i]) }
        return out
    }

    /// Broadcasts `self` to `target` (copying).
    public func broadcast(to target: [Int]) -> Tensor {
        if target == shape { return self }
        return Tensor.binaryKernel(Tensor(zeros: target), self) { _, b in b }
    }
}

// MARK: - Operators

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .sub) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .mul) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .div) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static func - (a: Tensor, s: Float) -> Tensor { a.map { $0 - s } }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func / (a: Tensor, s: Float) -> Tensor { a.map { $0 / s } }
    public static func + (s: Float, a: Tensor) -> Tensor { a.map { s + $0 } }
    public static func - (s: Float, a: Tensor) -> Tensor { a.map { s - $0 } }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { s * $0 } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }

    /// Element-wise map, parallel over chunks.
    @inline(__always)
    public func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let px = pointer, po = out.uncheckedMutablePointer
        parallelFor(count) { lo, hi in for i in lo..<hi { po[i] = f(px[i]) } }
        return out
    }

    /// Element-wise zip of two tensors of the same shape.
    @inline(__always)
    public func zip(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "zip of \(shape) and \(other.shape)")
        return Tensor.binaryKernel(self, other, f)
    }
}
