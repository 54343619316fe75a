// FID and KID from features (Inception pool3, 2048-d), as the field computes them:
//
//   FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))          (pytorch-fid)
//   KID = unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3,     (torch-fidelity)
//         mean and standard deviation over random subsets
//
// Statistics stream: `FeatureAccumulator` keeps sum x and sum x x^T in float64 (BLAS dsyrk per
// batch), so 50,000 images take the memory of one covariance. tr(sqrt(S1 S2)) is the sum of the
// square roots of the eigenvalues of sqrt(S1) S2 sqrt(S1), a symmetric matrix with the same
// eigenvalues as S1 S2: two symmetric eigendecompositions (LAPACK dsyevd) instead of scipy's
// general sqrtm, with no complex parts to drop.
import Foundation
import _CLapack
import Checkpoint

/// Mean and covariance of features (pytorch-fid's mu and sigma; sigma as np.cov, n - 1).
public struct FeatureStatistics: Sendable, Equatable {
    public var dimension: Int
    public var count: Int
    public var mean: [Double]
    /// dimension x dimension, row-major (symmetric).
    public var covariance: [Double]

    public init(dimension: Int, count: Int, mean: [Double], covariance: [Double]) {
        self.dimension = dimension; self.count = count; self.mean = mean; self.covariance = covariance
    }

    /// pytorch-fid's .npz (`mu`, `sigma`).
    public static func read(npz path: String) throws -> FeatureStatistics {
        let arrays = try NumPy.readNPZ(path: path)
        guard let mu = arrays["mu"], let sigma = arrays["sigma"] else {
            throw FIDError.badStatistics(path, "no mu and sigma arrays (it has \(arrays.keys.sorted().joined(separator: ", ")))")
        }
        let d = mu.values.count
        guard mu.shape == [d], sigma.shape == [d, d] else {
            throw FIDError.badStatistics(path, "mu has shape \(mu.shape) and sigma \(sigma.shape); expected [d] and [d, d]")
        }
        guard mu.values.allSatisfy(\.isFinite), sigma.values.allSatisfy(\.isFinite) else {
            throw FIDError.badStatistics(path, "mu or sigma holds NaN or infinity")
        }
        return FeatureStatistics(dimension: d, count: 0, mean: mu.values, covariance: sigma.values)
    }

    /// Writes pytorch-fid's .npz layout (`mu`, `sigma`, float64).
    public func write(npz path: String) throws {
        try NumPy.writeNPZ(["mu": NumPyArray(shape: [dimension], values: mean),
                            "sigma": NumPyArray(shape: [dimension, dimension], values: covariance)], to: path)
    }
}

public enum FIDError: Error, CustomStringConvertible, Sendable {
    case badStatistics(String, String)
    case dimensionsDiffer(Int, Int)
    case tooFewImages(Int)
    case lapack(String, Int32)

    public var description: String {
        switch self {
        case .badStatistics(let p, let why): return "\(p): not FID statistics: \(why)"
        case .dimensionsDiffer(let a, let b): return "the two sets of features have \(a) and \(b) dimensions"
        case .tooFewImages(let n): return "a covariance needs at least 2 images, got \(n)"
        case .lapack(let routine, let info): return "LAPACK \(routine) failed (info \(info))"
        }
    }
}

/// Sums of features, batch by batch, in float64.
public final class FeatureAccumulator {
    public let dimension: Int
    public private(set) var count = 0
    private var sum: [Double]
    /// Upper triangle (column-major, as BLAS writes it) of sum x x^T.
    private var outer: [Double]

    public init(dimension: Int) {
        self.dimension = dimension
        sum = [Double](repeating: 0, count: dimension)
        outer = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Adds `rows` feature vectors (row-major, rows x dimension, float32 as the network gives them).
    public func add(_ features: [Float], rows: Int) {
        precondition(features.count == rows * dimension, "FeatureAccumulator: \(features.count) values for \(rows) rows")
        guard rows > 0 else { return }
        let x = features.map(Double.init)
        for r in 0..<rows { for j in 0..<dimension { sum[j] += x[r * dimension + j] } }
        // x is rows x d row-major = d x rows column-major: outer += x^T x is dsyrk('U', 'N').
        var n = Int32(dimension), k = Int32(rows), alpha = 1.0, beta = 1.0, lda = Int32(dimension), ldc = Int32(dimension)
        x.withUnsafeBufferPointer { xp in
            outer.withUnsafeMutableBufferPointer { cp in
                dsyrk_("U", "N", &n, &k, &alpha, xp.baseAddress, &lda, &beta, cp.baseAddress, &ldc)
            }
        }
        count += rows
    }

    /// Adds the images behind finished statistics (n, mean, covariance): their sums are
    /// n * mean and (n - 1) * covariance + n * mean mean^T.
    public func merge(_ s: FeatureStatistics) {
        precondition(s.dimension == dimension, "FeatureAccumulator: dimensions \(s.dimension) and \(dimension)")
        let d = dimension, n = Double(s.count)
        for j in 0..<d {
            sum[j] += n * s.mean[j]
            for i in 0...j { outer[j * d + i] += (n - 1) * s.covariance[i * d + j] + n * s.mean[i] * s.mean[j] }
        }
        count += s.count
    }

    /// The mean and the unbiased covariance (np.cov's, divided by n - 1).
    public func statistics() throws -> FeatureStatistics {
        guard count >= 2 else { throw FIDError.tooFewImages(count) }
        let d = dimension, n = Double(count)
        let mean = sum.map { $0 / n }
        var cov = [Double](repeating: 0, count: d * d)
        for j in 0..<d {
            for i in 0...j {  // upper triangle: element (i, j) at j * d + i
                let v = (outer[j * d + i] - n * mean[i] * mean[j]) / (n - 1)
                cov[i * d + j] = v
                cov[j * d + i] = v
            }
        }
        return FeatureStatistics(dimension: d, count: count, mean: mean, covariance: cov)
    }
}

/// Eigenvalues and eigenvectors of a symmetric matrix (LAPACK dsyevd); `a` row-major d x d.
/// Returns the eigenvalues ascending and the eigenvectors as columns of a column-major matrix.
func symmetricEigen(_ a: [Double], dimension d: Int) throws -> (values: [Double], vectors: [Double]) {
    var m = a  // symmetric: row-major equals column-major
    var w = [Double](repeating: 0, count: d)
    var n = Int32(d), lda = Int32(d), info: Int32 = 0
    var lwork: Int32 = -1, liwork: Int32 = -1
    var wq = 0.0
    var iq: Int32 = 0
    dsyevd_("V", "U", &n, &m, &lda, &w, &wq, &lwork, &iq, &liwork, &info)  // workspace query
    guard info == 0 else { throw FIDError.lapack("dsyevd", info) }
    lwork = Int32(wq); liwork = iq
    var work = [Double](repeating: 0, count: Int(lwork))
    var iwork = [Int32](repeating: 0, count: Int(liwork))
    dsyevd_("V", "U", &n, &m, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
    guard info == 0 else { throw FIDError.lapack("dsyevd", info) }
    return (w, m)
}

/// C = A B for column-major square matrices (BLAS dgemm).
func matmul(_ a: [Double], _ b: [Double], transposeA: Bool = false, dimension d: Int) -> [Double] {
    var c = [Double](repeating: 0, count: d * d)
    var n = Int32(d), alpha = 1.0, beta = 0.0
    dgemm_(transposeA ? "T" : "N", "N", &n, &n, &n, &alpha, a, &n, b, &n, &beta, &c, &n)
    return c
}

/// The Fréchet distance between two Gaussians (pytorch-fid's calculate_frechet_distance).
public func frechetDistance(_ s1: FeatureStatistics, _ s2: FeatureStatistics) throws -> Double {
    guard s1.dimension == s2.dimension else { throw FIDError.dimensionsDiffer(s1.dimension, s2.dimension) }
    let d = s1.dimension
    var meanTerm = 0.0
    for i in 0..<d { meanTerm += (s1.mean[i] - s2.mean[i]) * (s1.mean[i] - s2.mean[i]) }
    var traces = 0.0
    for i in 0..<d { traces += s1.covariance[i * d + i] + s2.covariance[i * d + i] }
    // sqrt(S1) = V diag(sqrt(max(l, 0))) V^T; a covariance is positive semidefinite, so negative
    // eigenvalues are rounding.
    let (l, v) = try symmetricEigen(s1.covariance, dimension: d)
    var scaled = v  // V diag(sqrt(l)), column j scaled
    for j in 0..<d {
        let s = l[j] > 0 ? l[j].squareRoot() : 0
        for i in 0..<d { scaled[j * d + i] *= s }
    }
    // sqrt(S1) S2 sqrt(S1) = (V D)(V D)^T-free form: W = (V D)^T S2 (V D) has the same eigenvalues.
    let s2vd = matmul(s2.covariance, scaled, dimension: d)          // S2 (V D)
    let w = matmul(scaled, s2vd, transposeA: true, dimension: d)    // (V D)^T S2 (V D)
    var symmetric = w
    for i in 0..<d { for j in 0..<i { let m = (w[i * d + j] + w[j * d + i]) / 2; symmetric[i * d + j] = m; symmetric[j * d + i] = m } }
    let (mu, _) = try symmetricEigen(symmetric, dimension: d)
    let traceSqrt = mu.reduce(0) { $0 + ($1 > 0 ? $1.squareRoot() : 0) }
    return meanTerm + traces - 2 * traceSqrt
}

/// KID as torch-fidelity: `subsets` draws of `subsetSize` features from each set (without
/// replacement), the unbiased MMD^2 of each with the cubic polynomial kernel; mean and std
/// (population, as np.std). `features` are row-major n x d.
public func kernelInceptionDistance(_ f1: [Float], count n1: Int, _ f2: [Float], count n2: Int, dimension d: Int,
                                    subsets: Int = 100, subsetSize: Int = 1000, seed: UInt64 = 2020) -> (mean: Double, std: Double) {
    let a = FeatureRows(dimension: d, memoryRows: .max), b = FeatureRows(dimension: d, memoryRows: .max)
    try! a.append(f1, rows: n1)  // in memory: cannot fail
    try! b.append(f2, rows: n2)
    return kernelInceptionDistance(a, b, subsets: subsets, subsetSize: subsetSize, seed: seed)
}

/// KID of two sets of kept features (in memory or spilled to a file).
public func kernelInceptionDistance(_ f1: FeatureRows, _ f2: FeatureRows,
                                    subsets: Int = 100, subsetSize: Int = 1000, seed: UInt64 = 2020) -> (mean: Double, std: Double) {
    let n1 = f1.count, n2 = f2.count
    let m = min(subsetSize, n1, n2)
    guard m >= 2 else { return (.nan, .nan) }
    var rng = SplitMix64Sampler(seed: seed)
    var mmds: [Double] = []
    for _ in 0..<subsets {
        let a = rng.sample(m, of: n1), b = rng.sample(m, of: n2)
        mmds.append(polynomialMMD(f1.gather(a), f2.gather(b), rows: m, dimension: f1.dimension))
        if m == n1 && m == n2 { break }  // every subset is the whole set: one value
    }
    let mean = mmds.reduce(0, +) / Double(mmds.count)
    let variance = mmds.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(mmds.count)
    return (mean, variance.squareRoot())
}

/// The unbiased MMD^2 of two gathered subsets (m rows each, row-major float64) with
/// k(x, y) = (x.y / d + 1)^3.
func polynomialMMD(_ gx: [Double], _ gy: [Double], rows m: Int, dimension d: Int) -> Double {
    func kernelSum(_ x: [Double], _ y: [Double], skipDiagonal: Bool) -> Double {
        // K = (X Y^T / d + 1)^3 through one dgemm.
        var k = [Double](repeating: 0, count: m * m)
        var mm = Int32(m), dd = Int32(d), alpha = 1.0 / Double(d), beta = 0.0
        // Column-major: x is d x m, so K^T = x^T y (m x m).
        dgemm_("T", "N", &mm, &mm, &dd, &alpha, x, &dd, y, &dd, &beta, &k, &mm)
        var s = 0.0
        for j in 0..<m { for i in 0..<m where !(skipDiagonal && i == j) { let v = k[j * m + i] + 1; s += v * v * v } }
        return s
    }
    let xx = kernelSum(gx, gx, skipDiagonal: true), yy = kernelSum(gy, gy, skipDiagonal: true)
    let xy = kernelSum(gx, gy, skipDiagonal: false)
    let mm = Double(m)
    return (xx + yy) / (mm * (mm - 1)) - 2 * xy / (mm * mm)
}

/// Subsets drawn without replacement from a seeded generator (SplitMix64: the same subsets on
/// every machine; torch-fidelity's come from numpy's RandomState, so its subsets differ and
/// only the estimator is the same).
struct SplitMix64Sampler {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// `m` distinct indices of 0..<n (a partial Fisher-Yates shuffle).
    mutating func sample(_ m: Int, of n: Int) -> [Int] {
        var p = Array(0..<n)
        for i in 0..<m {
            let j = i + Int(next() % UInt64(n - i))
            p.swapAt(i, j)
        }
        return Array(p[0..<m])
    }
}
