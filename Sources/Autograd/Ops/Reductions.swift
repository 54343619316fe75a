// Sum and mean, over all elements or along axes.
//   x: [d0..dk]  sum(x) -> []   sum(x, alongAxes: A, keepingDims) -> [d with A set to 1 | removed]
//   backward: broadcast g back to x's shape (scaled by 1/n for mean).
import TensorCore

/// Sum of all elements, shape [].
public func sum(_ x: Variable) -> Variable {
    let shape = x.shape
    return record("sum", x.value.sum(), [x]) { g, _ in [broadcast(reshape(g, Array(repeating: 1, count: shape.count)), to: shape)] }
}

/// Mean of all elements, shape [].
public func mean(_ x: Variable) -> Variable { scale(sum(x), 1 / Float(max(x.value.count, 1))) }

public func sum(_ x: Variable, alongAxes axes: [Int], keepingDims: Bool = false) -> Variable {
    let kept = x.value.keptShape(reducing: axes)
    let s = sum(x, toShape: kept)
    if keepingDims { return s }
    let ax = x.value.normalizedAxes(axes)
    return reshape(s, x.shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element))
}

public func mean(_ x: Variable, alongAxes axes: [Int], keepingDims: Bool = false) -> Variable {
    let n = x.value.normalizedAxes(axes).reduce(1) { $0 * x.shape[$1] }
    return scale(sum(x, alongAxes: axes, keepingDims: keepingDims), 1 / Float(n))
}
