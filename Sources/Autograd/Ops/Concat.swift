// Concatenation and slicing along an axis (channel concat = axis -1, NHWC).
//   xs: [..., d_i, ...]  y: [..., sum d_i, ...]   dx_i = slice(g, axis, offset_i ..< offset_i + d_i)
//   slice: y = x[..., r, ...]   adjoint: zeros with g placed at r. Linear, closes.
import TensorCore
import _CKernels

/// Copies `count` rows: each of x's outer rows (length inX) into y's rows (length inY) at column offset.
/// In parallel, by i2i_copy_rows.
@inline(__always) func copyBlocks(outer: Int, from: UnsafePointer<Float>, fromRow: Int, fromOffset: Int,
                                  to: UnsafeMutablePointer<Float>, toRow: Int, toOffset: Int, length: Int) {
    i2i_copy_rows(Int64(outer), Int64(length), from + fromOffset, Int64(fromRow), to + toOffset, Int64(toRow))
}

func sliceForward(_ x: Tensor, axis: Int, range: Range<Int>) -> Tensor {
    var shape = x.shape
    let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
    let row = shape[axis] * inner
    shape[axis] = range.count
    let y = Tensor(uninitializedShape: shape)
    copyBlocks(outer: outer, from: x.pointer, fromRow: row, fromOffset: range.lowerBound * inner,
               to: y.uncheckedMutablePointer, toRow: range.count * inner, toOffset: 0, length: range.count * inner)
    return y
}

func sliceAdjoint(_ g: Tensor, inputShape: [Int], axis: Int, range: Range<Int>) -> Tensor {
    let outer = inputShape[..<axis].reduce(1, *), inner = inputShape[(axis + 1)...].reduce(1, *)
    let dx = Tensor(zeros: inputShape)
    copyBlocks(outer: outer, from: g.pointer, fromRow: range.count * inner, fromOffset: 0,
               to: dx.uncheckedMutablePointer, toRow: inputShape[axis] * inner, toOffset: range.lowerBound * inner,
               length: range.count * inner)
    return dx
}

public func slice(_ x: Variable, axis: Int, range: Range<Int>) -> Variable {
    let ax = axis < 0 ? axis + x.shape.count : axis
    precondition(range.lowerBound >= 0 && range.upperBound <= x.shape[ax], "slice \(range) out of \(x.shape) axis \(ax)")
    let inShape = x.shape
    return linearMap("slice", x, forward: { sliceForward($0, axis: ax, range: range) },
                     adjoint: { sliceAdjoint($0, inputShape: inShape, axis: ax, range: range) })
}

public func concat(_ xs: [Variable], axis: Int = -1) -> Variable {
    precondition(!xs.isEmpty, "concat of nothing")
    let rank = xs[0].shape.count
    let ax = axis < 0 ? axis + rank : axis
    var shape = xs[0].shape
    shape[ax] = xs.reduce(0) { $0 + $1.shape[ax] }
    for x in xs {
        precondition(x.shape.count == rank && x.shape.enumerated().allSatisfy { $0.offset == ax || $0.element == shape[$0.offset] },
                     "concat: shape \(x.shape) does not match \(shape) off axis \(ax)")
    }
    let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
    let y = Tensor(uninitializedShape: shape)
    var off = 0
    var ranges: [Range<Int>] = []
    for x in xs {
        let d = x.shape[ax]
        copyBlocks(outer: outer, from: x.value.pointer, fromRow: d * inner, fromOffset: 0,
                   to: y.uncheckedMutablePointer, toRow: shape[ax] * inner, toOffset: off * inner, length: d * inner)
        ranges.append(off..<(off + d)); off += d
    }
    return record("concat", y, xs) { g, need in
        ranges.enumerated().map { i, r in need[i] ? slice(g, axis: ax, range: r) : nil }
    }
}
