// Spectral normalization (Miyato et al. 2018), as torch.nn.utils.spectral_norm:
//   the layer computes with W / sigma(W), sigma = u^T W_mat v, where W_mat is the weight
//   flattened to [dim0, -1] in PyTorch's layout (conv [OC, C*KH*KW]; linear [out, in];
//   embedding [num, dim]) and u, v estimate its top singular vectors.
//   training forward: one power iteration (v = normalize(W_mat^T u), u = normalize(W_mat v))
//                     under no-grad, then sigma with the updated u, v
//   test forward:     sigma with the stored u, v (no iteration)
//   state dict:       weight_orig (parameter), weight_u [dim0], weight_v [rest] (buffers),
//                     after the layer's other parameters, as torch registers them
// The gradient flows through W in both W and sigma; u and v are constants for it (torch
// detaches them too), so the backward rule is ordinary ops and closes under differentiation
// (WGAN-GP's double backward).
import TensorCore
import Autograd

/// The power-iteration state of one spectrally normalized weight.
public final class SpectralNorm {
    /// Estimate of the top left singular vector of W_mat, [dim0].
    public private(set) var u: Tensor
    /// Estimate of the top right singular vector, in our weight's flattening order.
    public private(set) var v: Tensor
    /// The weight seen as a matrix [rows, cols] of our memory layout.
    let rows: Int, cols: Int
    /// Whether u runs along the rows of that matrix (linear, embedding) or its columns (conv:
    /// ours is [KH,KW,C,OC], so [KH*KW*C, OC] and OC, PyTorch's dim 0, is the column index).
    let uOnRows: Bool
    /// Conv only: our flattened (kh, kw, c) index -> PyTorch's (c, kh, kw) index, for weight_v.
    let vToPyTorch: [Int]?
    public let eps: Float = 1e-12
    /// Power iterations per training forward (torch's n_power_iterations).
    public var powerIterations = 1
    var training = true

    init<G: RandomNumberGenerator>(rows: Int, cols: Int, uOnRows: Bool, vToPyTorch: [Int]? = nil, using rng: inout G) {
        self.rows = rows; self.cols = cols; self.uOnRows = uOnRows; self.vToPyTorch = vToPyTorch
        let (nu, nv) = uOnRows ? (rows, cols) : (cols, rows)
        // torch: u = normalize(randn(h)), v = normalize(randn(w)), u drawn first
        u = Tensor(randomNormal: [nu], using: &rng)
        v = Tensor(randomNormal: [nv], using: &rng)
        u = normalized(u)
        v = normalized(v)
    }

    /// For a conv weight [KH, KW, C, OC].
    convenience init<G: RandomNumberGenerator>(convWeightShape s: [Int], using rng: inout G) {
        let (kh, kw, c) = (s[0], s[1], s[2])
        var perm = [Int](repeating: 0, count: kh * kw * c)
        for i in 0..<kh { for j in 0..<kw { for ch in 0..<c { perm[(i * kw + j) * c + ch] = (ch * kh + i) * kw + j } } }
        self.init(rows: kh * kw * c, cols: s[3], uOnRows: false, vToPyTorch: perm, using: &rng)
    }

    func normalized(_ x: Tensor) -> Tensor {
        let s = x.scalars
        let norm = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let d = max(norm, eps)
        return Tensor(shape: x.shape, scalars: s.map { $0 / d })
    }

    /// y = M x (M [rows, cols] row-major, x [cols]) or M^T x (x [rows]).
    static func product(_ m: Tensor, rows: Int, cols: Int, _ x: Tensor, transposed: Bool) -> Tensor {
        let pm = m.pointer, px = x.pointer
        if transposed {
            var y = [Float](repeating: 0, count: cols)
            y.withUnsafeMutableBufferPointer { py in
                for i in 0..<rows {
                    let xi = px[i], row = pm + i * cols
                    for j in 0..<cols { py[j] += row[j] * xi }
                }
            }
            return Tensor(shape: [cols], scalars: y)
        }
        var y = [Float](repeating: 0, count: rows)
        for i in 0..<rows {
            let row = pm + i * cols
            var acc: Float = 0
            for j in 0..<cols { acc += row[j] * px[j] }
            y[i] = acc
        }
        return Tensor(shape: [rows], scalars: y)
    }

    /// One power-iteration step on the current weight (no gradient).
    func iterate(_ w: Tensor) {
        let m = w.reshaped([rows, cols])
        // W_mat = M (uOnRows) or M^T: v = normalize(W_mat^T u), u = normalize(W_mat v)
        v = normalized(Self.product(m, rows: rows, cols: cols, u, transposed: uOnRows))
        u = normalized(Self.product(m, rows: rows, cols: cols, v, transposed: !uOnRows))
    }

    /// W / sigma(W); one power iteration first in training mode.
    public func callAsFunction(_ weight: Variable) -> Variable {
        if training { for _ in 0..<powerIterations { iterate(weight.value) } }
        let m = reshape(weight, [rows, cols])
        let (left, right) = uOnRows ? (u, v) : (v, u)
        let sigma = sum(mul(matmul(Variable(left.reshaped([1, rows])), m), Variable(right.reshaped([1, cols]))))
        return div(weight, reshape(sigma, [1]))
    }

    /// sigma(W) with the stored u, v (no iteration).
    public func sigma(_ weight: Tensor) -> Float {
        let m = weight.reshaped([rows, cols])
        let (left, right) = uOnRows ? (u, v) : (v, u)
        let mr = Self.product(m, rows: rows, cols: cols, right, transposed: false)
        return zip(left.scalars, mr.scalars).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// The buffers weight_u and weight_v, v in PyTorch's order.
    func buffers(prefix: String) -> [ModuleTensor] {
        [.buffer(prefix + "_u", get: { [unowned self] in u }, set: { [unowned self] in u = $0.reshaped([u.count]) }),
         .buffer(prefix + "_v", get: { [unowned self] in
             guard let p = vToPyTorch else { return v }
             let s = v.scalars
             var out = [Float](repeating: 0, count: s.count)
             for i in s.indices { out[p[i]] = s[i] }
             return Tensor(shape: [s.count], scalars: out)
         }, set: { [unowned self] t in
             guard let p = vToPyTorch else { v = t.reshaped([v.count]); return }
             let s = t.scalars
             v = Tensor(shape: [s.count], scalars: p.map { s[$0] })
         })]
    }
}

/// A layer whose weight can be spectrally normalized.
public protocol SpectrallyNormalizable: Module {
    var spectralNorm: SpectralNorm? { get }
    /// Turns spectral normalization on (u, v drawn from `rng`, as torch draws them from its generator).
    func applySpectralNorm<G: RandomNumberGenerator>(using rng: inout G)
}

/// Spectral norm on every conv, linear and embedding layer of `module` (in state-dict order).
public func applySpectralNorm<G: RandomNumberGenerator>(_ module: any Module, using rng: inout G) {
    for (_, m) in module.namedModules() {
        if let l = m as? any SpectrallyNormalizable, l.spectralNorm == nil { l.applySpectralNorm(using: &rng) }
    }
}
