// Embedding lookup (PyTorch nn.Embedding).
//   indices: [I...] (Int, each in 0..<V)  table: [V,D]  y: [I..., D]
//   y[i] = table[indices[i]]     dtable = scatter-add of g rows into table rows. Linear in table.
import TensorCore

public func embedding(_ indices: [Int], shape indexShape: [Int]? = nil, table: Variable) -> Variable {
    precondition(table.shape.count == 2, "embedding table must be [V,D], got \(table.shape)")
    let (V, D) = (table.shape[0], table.shape[1])
    precondition(indices.allSatisfy { $0 >= 0 && $0 < V }, "embedding index out of 0..<\(V)")
    let outShape = (indexShape ?? [indices.count]) + [D]
    return linearMap("embedding", table, forward: { t in
        let y = Tensor(uninitializedShape: outShape)
        for (i, k) in indices.enumerated() { (y.uncheckedMutablePointer + i * D).update(from: t.pointer + k * D, count: D) }
        return y
    }, adjoint: { g in
        let dt = Tensor(zeros: [V, D])
        let pd = dt.uncheckedMutablePointer, pg = g.pointer
        for (i, k) in indices.enumerated() { for j in 0..<D { pd[k * D + j] += pg[i * D + j] } }
        return dt
    })
}
