// OpTestCase: the one harness every op goes through.
//   forward:  op(inputs) in Float vs a naive reference written in Double           (normwise rel. error)
//   gradient: backward(seed g) vs central finite differences of <g, reference(x)> in Double
//   second:   (optional) createGraph Hessian-vector product vs nested finite differences in Double
// Finite differences run on the Double reference, never on the Float op, so the checks
// measure only the op's own float error and are not flaky. Inputs come from a fixed seed.
import XCTest
import TensorCore
@testable import Autograd

typealias Ref = ([[Double]]) -> [Double]

struct OpTestCase {
    var name: String
    var shapes: [[Int]]
    var op: ([Variable]) -> Variable
    var reference: Ref
    /// Which inputs get a gradient check (default: all).
    var differentiable: [Bool]? = nil
    /// Input generator (default uniform [-1, 1)); index of the input and its element count.
    var generate: ((Int, Int, inout SplitMix64) -> [Float])? = nil
    var forwardTolerance: Double = 1e-5
    var gradientTolerance: Double = 1e-4
    var checkSecondOrder = false
    var secondOrderTolerance: Double = 1e-3
    var seed: UInt64 = 1

    init(_ name: String, shapes: [[Int]], op: @escaping ([Variable]) -> Variable, reference: @escaping Ref) {
        self.name = name; self.shapes = shapes; self.op = op; self.reference = reference
    }
}

/// max |a - b| / max(max |b|, floor): one number per tensor, robust to tiny entries.
func normwiseError(_ a: [Double], _ b: [Double], floor: Double = 1e-6) -> Double {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var num = 0.0, den = floor
    for i in 0..<a.count { num = max(num, Swift.abs(a[i] - b[i])); den = max(den, Swift.abs(b[i])) }
    return num / den
}

extension OpTestCase {
    func makeInputs() -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return shapes.enumerated().map { i, s in
            let n = Tensor.count(of: s)
            return generate?(i, n, &rng) ?? (0..<n).map { _ in Float.random(in: -1..<1, using: &rng) }
        }
    }

    func run(file: StaticString = #filePath, line: UInt = #line) {
        let xs = makeInputs()
        let xd = xs.map { $0.map(Double.init) }
        let diff = differentiable ?? Array(repeating: true, count: shapes.count)
        let vars = zip(shapes, xs).enumerated().map { i, p in
            Variable(Tensor(shape: p.0, scalars: p.1), requiresGrad: diff[i])
        }
        let y = op(vars)
        let yRef = reference(xd)
        let fe = normwiseError(y.value.scalars.map(Double.init), yRef)
        XCTAssertLessThanOrEqual(fe, forwardTolerance, "\(name) \(shapes): forward error \(fe)", file: file, line: line)
        guard diff.contains(true) else { return }

        // Gradient of L = <g, f(x)>.
        var rng = SplitMix64(seed: seed &+ 99)
        let g = (0..<yRef.count).map { _ in Float.random(in: -1..<1, using: &rng) }
        let gd = g.map(Double.init)
        let F: ([[Double]]) -> Double = { inputs in zip(gd, reference(inputs)).reduce(0) { $0 + $1.0 * $1.1 } }
        y.backward(seed: Tensor(shape: y.shape, scalars: g))
        for (j, v) in vars.enumerated() where diff[j] {
            var fd = [Double](repeating: 0, count: xd[j].count)
            var p = xd
            for i in 0..<fd.count {
                let h = 1e-6 * max(1, Swift.abs(xd[j][i]))
                p[j][i] = xd[j][i] + h; let fp = F(p)
                p[j][i] = xd[j][i] - h; let fm = F(p)
                p[j][i] = xd[j][i]
                fd[i] = (fp - fm) / (2 * h)
            }
            guard let grad = v.grad else { XCTFail("\(name): no gradient for input \(j)", file: file, line: line); continue }
            let ge = normwiseError(grad.scalars.map(Double.init), fd)
            XCTAssertLessThanOrEqual(ge, gradientTolerance, "\(name) \(shapes): gradient error \(ge) for input \(j)", file: file, line: line)
        }
        if checkSecondOrder { runSecondOrder(vars: vars, xd: xd, g: g, F: F, diff: diff, file: file, line: line) }
    }

    /// Hessian-vector product: d/dx <v, dL/dx> with createGraph, vs nested central differences.
    func runSecondOrder(vars: [Variable], xd: [[Double]], g: [Float], F: @escaping ([[Double]]) -> Double,
                        diff: [Bool], file: StaticString, line: UInt) {
        var rng = SplitMix64(seed: seed &+ 7)
        let dirs = xd.map { a in a.map { _ in Double.random(in: -1..<1, using: &rng) } }
        let idx = (0..<vars.count).filter { diff[$0] }
        // Ours.
        let fresh = vars.map { Variable($0.value, requiresGrad: $0.requiresGrad) }
        let y = op(fresh)
        let L = sum(y * Variable(Tensor(shape: y.shape, scalars: g)))
        let first = gradients(of: L, wrt: idx.map { fresh[$0] }, createGraph: true)
        var hv: Variable? = nil
        for (k, j) in idx.enumerated() {
            let t = sum(first[k] * Variable(Tensor(shape: shapes[j], scalars: dirs[j].map(Float.init))))
            hv = hv.map { $0 + t } ?? t
        }
        let second = gradients(of: hv!, wrt: idx.map { fresh[$0] })
        // Reference: h(x) = <dirs, grad F(x)> = (F(x + e dirs) - F(x - e dirs)) / 2e, then grad h by differences.
        let e = 1e-4, d = 1e-4
        let h: ([[Double]]) -> Double = { x in
            var p = x, m = x
            for j in idx { for i in 0..<x[j].count { p[j][i] += e * dirs[j][i]; m[j][i] -= e * dirs[j][i] } }
            return (F(p) - F(m)) / (2 * e)
        }
        for (k, j) in idx.enumerated() {
            var fd = [Double](repeating: 0, count: xd[j].count)
            var p = xd
            for i in 0..<fd.count {
                p[j][i] = xd[j][i] + d; let hp = h(p)
                p[j][i] = xd[j][i] - d; let hm = h(p)
                p[j][i] = xd[j][i]
                fd[i] = (hp - hm) / (2 * d)
            }
            let err = normwiseError(second[k].value.scalars.map(Double.init), fd, floor: 1e-3)
            XCTAssertLessThanOrEqual(err, secondOrderTolerance, "\(name) \(shapes): second-order error \(err) for input \(j)",
                                     file: file, line: line)
        }
    }
}
