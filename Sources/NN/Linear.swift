// Fully connected layer and embedding table (PyTorch nn.Linear, nn.Embedding).
//   Linear:    x: [N,in]  weight: [out,in]  bias: [out]  y: [N,out]
//   Embedding: labels: [N] (Int)  weight: [numEmbeddings, dim]  y: [N,dim]
import TensorCore
import Autograd

public final class Linear: Layer, SpectrallyNormalizable {
    public let weight: Variable
    public let bias: Variable?
    public private(set) var spectralNorm: SpectralNorm?

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        weight = Variable(Tensor(zeros: [outFeatures, inFeatures]), requiresGrad: true)
        self.bias = bias ? Variable(Tensor(zeros: [outFeatures]), requiresGrad: true) : nil
    }

    public var ownTensors: [ModuleTensor] {
        let b = bias.map { [ModuleTensor.parameter("bias", $0)] } ?? []
        guard let sn = spectralNorm else { return [.parameter("weight", weight)] + b }
        return b + [.parameter("weight_orig", weight)] + sn.buffers(prefix: "weight")
    }

    public func applySpectralNorm<G: RandomNumberGenerator>(using rng: inout G) {
        spectralNorm = SpectralNorm(rows: weight.shape[0], cols: weight.shape[1], uOnRows: true, using: &rng)
    }

    public func setMode(_ mode: ModuleMode) { spectralNorm?.training = mode == .training }

    public func callAsFunction(_ x: Variable) -> Variable { linear(x, weight: spectralNorm?(weight) ?? weight, bias: bias) }
}

public final class Embedding: Module, SpectrallyNormalizable {
    public let weight: Variable
    public private(set) var spectralNorm: SpectralNorm?

    /// Rows start as N(0, 1), as PyTorch's default (the paper code's init leaves embeddings alone).
    public init<G: RandomNumberGenerator>(numEmbeddings: Int, dimension: Int, using rng: inout G) {
        weight = Variable(Tensor(randomNormal: [numEmbeddings, dimension], using: &rng), requiresGrad: true)
    }

    public var numEmbeddings: Int { weight.shape[0] }
    public var dimension: Int { weight.shape[1] }

    public var ownTensors: [ModuleTensor] {
        guard let sn = spectralNorm else { return [.parameter("weight", weight)] }
        return [.parameter("weight_orig", weight)] + sn.buffers(prefix: "weight")
    }

    /// As torch's spectral_norm on nn.Embedding: dim 0, so u has one entry per row (class).
    public func applySpectralNorm<G: RandomNumberGenerator>(using rng: inout G) {
        spectralNorm = SpectralNorm(rows: weight.shape[0], cols: weight.shape[1], uOnRows: true, using: &rng)
    }

    public func setMode(_ mode: ModuleMode) { spectralNorm?.training = mode == .training }

    public func callAsFunction(_ labels: [Int]) -> Variable { embedding(labels, table: spectralNorm?(weight) ?? weight) }
}
