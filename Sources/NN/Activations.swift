// Parameterless layers: padding, activations, dropout, identity. In a Sequential they
// still take an index, so the state-dict names of the layers after them match PyTorch's.
import TensorCore
import Autograd

public final class ReflectionPad2D: Layer {
    public let padding: Int
    public init(_ padding: Int) { self.padding = padding }
    public func callAsFunction(_ x: Variable) -> Variable { pad(x, .symmetric(padding), mode: .reflect) }
}

public final class ReplicationPad2D: Layer {
    public let padding: Int
    public init(_ padding: Int) { self.padding = padding }
    public func callAsFunction(_ x: Variable) -> Variable { pad(x, .symmetric(padding), mode: .replicate) }
}

public final class ZeroPad2D: Layer {
    public let padding: Int
    public init(_ padding: Int) { self.padding = padding }
    public func callAsFunction(_ x: Variable) -> Variable { pad(x, .symmetric(padding), mode: .zero) }
}

public final class ReLU: Layer {
    public init() {}
    public func callAsFunction(_ x: Variable) -> Variable { relu(x) }
}

public final class LeakyReLU: Layer {
    public let negativeSlope: Float
    public init(negativeSlope: Float = 0.2) { self.negativeSlope = negativeSlope }
    public func callAsFunction(_ x: Variable) -> Variable { leakyReLU(x, slope: negativeSlope) }
}

public final class Tanh: Layer {
    public init() {}
    public func callAsFunction(_ x: Variable) -> Variable { tanh(x) }
}

public final class Sigmoid: Layer {
    public init() {}
    public func callAsFunction(_ x: Variable) -> Variable { sigmoid(x) }
}

/// PyTorch nn.Identity (the paper code's `--norm none`).
public final class Identity: Layer {
    public init() {}
    public func callAsFunction(_ x: Variable) -> Variable { x }
}

/// Inverted dropout with its own seeded generator. `training` false is the identity.
public final class Dropout: Layer {
    public let probability: Float
    public var training: Bool = true
    public var rng: SplitMix64

    public init(probability: Float = 0.5, seed: UInt64 = 0) {
        self.probability = probability
        rng = SplitMix64(seed: seed)
    }

    public func setMode(_ mode: ModuleMode) {
        switch mode {
        case .training: training = true
        case .test(_, let dropout): training = dropout
        }
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        dropout(x, probability: probability, training: training, using: &rng)
    }
}
