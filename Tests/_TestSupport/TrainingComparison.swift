// How two training checkpoints are compared when they should hold the same training up to float
// rounding (data-parallel ranks against one process with their combined batch): the Adam moments
// relative to their largest value, and the weights by their largest difference and the share
// that moved by more than 1e-6 (a gradient near 0 may flip sign by rounding, which moves Adam's
// normalized step by 2 lr). Used by MPITrainingTests and InProcessDataParallelTests.
public struct TrainingComparison {
    /// max |a - b| of the Adam moments over max |a|.
    public var moments: Float
    /// max |a - b| of the weights.
    public var weightsMax: Float
    /// The share of weights that differ by more than 1e-6.
    public var weightsMoved: Double

    /// `a` and `b`: the float tensors of two training checkpoints by name (the same names).
    public init(_ a: [String: [Float]], _ b: [String: [Float]]) {
        let momentKeys = a.keys.filter { $0.hasSuffix(".exp_avg") || $0.hasSuffix(".exp_avg_sq") }.sorted()
        let weightKeys = a.keys.filter { !$0.hasPrefix("optimizer_") }.sorted()
        precondition(!momentKeys.isEmpty && !weightKeys.isEmpty && Set(a.keys) == Set(b.keys), "not two training checkpoints")
        func flat(_ t: [String: [Float]], _ keys: [String]) -> [Float] { keys.flatMap { t[$0]! } }
        let (ma, mb) = (flat(a, momentKeys), flat(b, momentKeys))
        moments = zip(ma, mb).map { abs($0 - $1) }.max()! / max(ma.map(abs).max()!, 1e-12)
        let d = zip(flat(a, weightKeys), flat(b, weightKeys)).map { abs($0 - $1) }
        weightsMax = d.max()!
        weightsMoved = Double(d.filter { $0 > 1e-6 }.count) / Double(d.count)
    }
}
