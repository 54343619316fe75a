// Reductions. All accumulate in Double in a fixed order (deterministic, thread-count independent).
//   x: [d0, ..., dk]   sum(alongAxes: A) -> same rank with 1 at A (keepingDims) or A removed

import _CKernels

extension Tensor {
    /// Normalizes negative axes and sorts.
    public func normalizedAxes(_ axes: [Int]) -> [Int] {
        Array(Set(axes.map { $0 < 0 ? $0 + rank : $0 })).sorted()
    }

    /// Shape with the reduced axes set to 1.
    public func keptShape(reducing axes: [Int]) -> [Int] {
        var s = shape
        for a in normalizedAxes(axes) { s[a] = 1 }
        return s
    }

    public func sum(alongAxes axes: [Int], keepingDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let kept = keptShape(reducing: ax)
        let r = sum(toShape: kept)
        return keepingDims ? r : r.reshaped(shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element))
    }

    public func mean(alongAxes axes: [Int], keepingDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(alongAxes: ax, keepingDims: keepingDims) * (1 / Float(n))
    }

    /// Sum of all elements, as a rank-0 tensor.
    public func sum() -> Tensor { Tensor(Float(sumDouble())) }
    public func mean() -> Tensor { Tensor(Float(sumDouble() / Double(Swift.max(count, 1)))) }

    /// Sum of all elements in Double, in the fixed order of i2i_sum_f64 (blocks of 16 lanes).
    public func sumDouble() -> Double { i2i_sum_f64(Int64(count), pointer) }

    public func max() -> Float { scalars.max() ?? -.infinity }
    public func min() -> Float { scalars.min() ?? .infinity }
}
