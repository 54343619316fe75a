import Foundation

// Seedable random numbers for initialization, dropout and tests. Every random op takes
// the generator as an `inout` parameter, so runs are reproducible from one seed.

/// SplitMix64: small, fast, seedable, good enough for init and dropout masks.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// The initializers are pre-specialized for SplitMix64 (the generator every caller uses): reached
// through a generic generator, the standard library's Float/Double.random(in:using:) ran as
// unspecialized generic code and took 6.9 s of a U-Net's 7 s construction. The values are the
// library's, unchanged (RandomTests).

extension Tensor {
    /// Uniform in [low, high).
    @_specialize(where G == SplitMix64)
    public init<G: RandomNumberGenerator>(randomUniform shape: [Int], low: Float = 0, high: Float = 1, using g: inout G) {
        self.init(uninitializedShape: shape)
        let p = uncheckedMutablePointer
        for i in 0..<count { p[i] = Float.random(in: low..<high, using: &g) }
    }

    /// Normal(mean, std) by Box-Muller.
    @_specialize(where G == SplitMix64)
    public init<G: RandomNumberGenerator>(randomNormal shape: [Int], mean: Float = 0, std: Float = 1, using g: inout G) {
        self.init(uninitializedShape: shape)
        let p = uncheckedMutablePointer
        var i = 0
        while i < count {
            let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &g)
            let u2 = Double.random(in: 0..<1, using: &g)
            let r = (-2 * log(u1)).squareRoot()
            p[i] = mean + std * Float(r * cos(2 * Double.pi * u2)); i += 1
            if i < count { p[i] = mean + std * Float(r * sin(2 * Double.pi * u2)); i += 1 }
        }
    }
}
