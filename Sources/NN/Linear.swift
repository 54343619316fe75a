// Fully connected layer and embedding table (PyTorch nn.Linear, nn.Embedding).
//   Linear:    x: [N,in]  weight: [out,in]  bias: [out]  y: [N,out]
//   Embedding: labels: [N] (Int)  weight: [numEmbeddings, dim]  y: [N,dim]
import TensorCore
import Autograd

public final class Linear: Layer {
    public let weight: Variable
    public let bias: Variable?

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        weight = Variable(Tensor(zeros: [outFeatures, inFeatures]), requiresGrad: true)
        self.bias = bias ? Variable(Tensor(zeros: [outFeatures]), requiresGrad: true) : nil
    }

    public var ownTensors: [ModuleTensor] {
        [.parameter("weight", weight)] + (bias.map { [.parameter("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Variable) -> Variable { linear(x, weight: weight, bias: bias) }
}

public final class Embedding: Module {
    public let weight: Variable

    /// Rows start as N(0, 1), as PyTorch's default (the paper code's init leaves embeddings alone).
    public init<G: RandomNumberGenerator>(numEmbeddings: Int, dimension: Int, using rng: inout G) {
        weight = Variable(Tensor(randomNormal: [numEmbeddings, dimension], using: &rng), requiresGrad: true)
    }

    public var numEmbeddings: Int { weight.shape[0] }
    public var dimension: Int { weight.shape[1] }

    public var ownTensors: [ModuleTensor] { [.parameter("weight", weight)] }

    public func callAsFunction(_ labels: [Int]) -> Variable { embedding(labels, table: weight) }
}
