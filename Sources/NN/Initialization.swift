// Weight initialization, as the paper code's `init_weights(net, init_type, init_gain)`:
//   Conv2D, ConvTranspose2D, Linear weights:
//     normal      N(0, gain)
//     xavier      N(0, gain * sqrt(2 / (fan_in + fan_out)))        (xavier_normal_)
//     kaiming     N(0, sqrt(2 / fan_in))                            (kaiming_normal_, a=0, fan_in)
//     orthogonal  gain * Q, Q orthonormal rows/columns of the flattened weight (orthogonal_)
//     biases 0
//   BatchNorm2D: weight N(1, gain), bias 0
// fan_in / fan_out are PyTorch's, from the weight in PyTorch's layout: size(1) * KH*KW and
// size(0) * KH*KW (so a transposed conv's fan_in counts its output channels, as in PyTorch).
// Other modules (InstanceNorm, Embedding) are left alone. The generator is injected.
import Foundation
import TensorCore
import Autograd

public enum InitType: String, Codable, Sendable, CaseIterable {
    case normal, xavier, kaiming, orthogonal
}

/// Initializes every conv, transposed conv, linear and batch-norm layer of `module`.
public func initialize<G: RandomNumberGenerator>(_ module: any Module, _ type: InitType = .normal,
                                                  gain: Float = 0.02, using rng: inout G) {
    for (_, m) in module.namedModules() {
        if m is Conv2D || m is ConvTranspose2D || m is Linear {
            for t in m.ownTensors {
                if t.name == "weight" || t.name == "weight_orig" {
                    t.setFromPyTorch(initialWeight(shape: t.pyTorchShape, type, gain: gain, using: &rng))
                } else if t.name == "bias" {
                    t.setFromPyTorch(Tensor(zeros: t.pyTorchShape))
                }
            }
        } else if let bn = m as? BatchNorm2D {
            bn.weight.value = Tensor(randomNormal: [bn.channels], mean: 1, std: gain, using: &rng)
            bn.bias.value = Tensor(zeros: [bn.channels])
        }
    }
}

/// A weight of PyTorch shape `shape` drawn by `type`.
public func initialWeight<G: RandomNumberGenerator>(shape: [Int], _ type: InitType, gain: Float,
                                                     using rng: inout G) -> Tensor {
    let receptive = shape.dropFirst(2).reduce(1, *)
    let fanIn = (shape.count > 1 ? shape[1] : 1) * receptive
    let fanOut = shape[0] * receptive
    switch type {
    case .normal:
        return Tensor(randomNormal: shape, std: gain, using: &rng)
    case .xavier:
        return Tensor(randomNormal: shape, std: gain * (2 / Float(fanIn + fanOut)).squareRoot(), using: &rng)
    case .kaiming:
        return Tensor(randomNormal: shape, std: (2 / Float(fanIn)).squareRoot(), using: &rng)
    case .orthogonal:
        let rows = shape[0], cols = Tensor.count(of: shape) / max(rows, 1)
        let q = orthonormal(rows: rows, cols: cols, using: &rng)
        return Tensor(shape: shape, scalars: q.map { Float($0) * gain })
    }
}

/// A rows x cols matrix (row-major) with orthonormal columns if rows >= cols, else
/// orthonormal rows: QR of a standard normal matrix with R's diagonal made positive
/// (PyTorch `orthogonal_`), by modified Gram-Schmidt in Double.
func orthonormal<G: RandomNumberGenerator>(rows: Int, cols: Int, using rng: inout G) -> [Double] {
    let (m, n) = rows >= cols ? (rows, cols) : (cols, rows)     // work on the tall matrix [m,n]
    let a = Tensor(randomNormal: [m, n], using: &rng).scalars.map(Double.init)
    var cs = (0..<n).map { j in (0..<m).map { a[$0 * n + j] } }  // columns
    for j in 0..<n {
        for k in 0..<j {
            let d = zip(cs[j], cs[k]).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<m { cs[j][i] -= d * cs[k][i] }
        }
        let norm = cs[j].reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in 0..<m { cs[j][i] = norm > 0 ? cs[j][i] / norm : 0 }
    }
    var out = [Double](repeating: 0, count: rows * cols)
    for i in 0..<m { for j in 0..<n {
        if rows >= cols { out[i * cols + j] = cs[j][i] } else { out[j * cols + i] = cs[j][i] }
    } }
    return out
}
