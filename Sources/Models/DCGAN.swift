// DCGAN (Radford et al.; names as pytorch/examples dcgan: `main.0.weight`, ...) and a
// label-conditional GAN built on it (Mirza & Osindero). Image side S = 4 * 2^k.
//   DCGANGenerator:     z [N,1,1,nz] -> ConvT 4x4/1 (1 -> 4), k x ConvT 4x4/2, tanh -> [N,S,S,nc]
//                       channels ngf*2^(k-1), ..., ngf, nc; batch norm + ReLU between
//   DCGANDiscriminator: x [N,S,S,nc] -> k x Conv 4x4/2 (batch norm after all but the first),
//                       LeakyReLU 0.2, Conv 4x4/1 pad 0 (4 -> 1) -> logit [N,1,1,1]
//   ConditionalGenerator:     G(z, y) = DCGAN G on concat(z, embed(y))       z: [N,nz], y: [N]
//   ConditionalDiscriminator: D(x, y) = DCGAN D on concat(x, embed(y) as constant channels)
//   ProjectionDiscriminator (Miyato & Koyama 2018):
//                       h = sum over H, W of phi(x)  (phi: DCGAN D without its last conv)
//                       D(x, y) = psi(h) + <embed(y), h>   psi: Linear(C, 1), embed: [classes, C]
// D judges the pair (image, label); the CGAN trainer's mismatched pairs (a real image with a
// wrong label, scored fake) are what make it read the label.
// Spectral norm (`spectralNorm: true`) goes on every conv, linear and embedding of D and
// replaces D's batch norm, as SN-GAN's discriminators: batch norm would rescale the features
// and undo the Lipschitz bound the spectral norm gives.
// No sigmoid at the end of D: losses take logits.
import TensorCore
import Autograd
import NN

func dcganDepth(imageSize: Int) -> Int {
    precondition(imageSize >= 8 && imageSize % 4 == 0 && (imageSize / 4) & (imageSize / 4 - 1) == 0,
                 "DCGAN: image size must be 4 * 2^k with k >= 1, got \(imageSize)")
    return (imageSize / 4).trailingZeroBitCount
}

func dcganGeneratorBody(nz: Int, ngf: Int, nc: Int, imageSize: Int) -> Sequential {
    let k = dcganDepth(imageSize: imageSize)
    var ch = ngf << (k - 1)
    var layers: [any Layer] = [ConvTranspose2D(inChannels: nz, outChannels: ch, kernelSize: 4, stride: 1, padding: 0, bias: false),
                               BatchNorm2D(channels: ch), ReLU()]
    for _ in 1..<k {
        layers += [ConvTranspose2D(inChannels: ch, outChannels: ch / 2, kernelSize: 4, stride: 2, padding: 1, bias: false),
                   BatchNorm2D(channels: ch / 2), ReLU()]
        ch /= 2
    }
    layers += [ConvTranspose2D(inChannels: ch, outChannels: nc, kernelSize: 4, stride: 2, padding: 1, bias: false), Tanh()]
    return Sequential(layers)
}

/// `head`: the last conv (4x4 map -> one logit); without it the body ends on the 4x4 feature
/// map of ndf * 2^(k-1) channels. `batchNorm: false` leaves the batch norms out.
func dcganDiscriminatorBody(nc: Int, ndf: Int, imageSize: Int, batchNorm: Bool = true, head: Bool = true) -> Sequential {
    let k = dcganDepth(imageSize: imageSize)
    var layers: [any Layer] = [Conv2D(inChannels: nc, outChannels: ndf, kernelSize: 4, stride: 2, padding: 1, bias: false),
                               LeakyReLU(negativeSlope: 0.2)]
    var ch = ndf
    for _ in 1..<k {
        layers.append(Conv2D(inChannels: ch, outChannels: ch * 2, kernelSize: 4, stride: 2, padding: 1, bias: false))
        if batchNorm { layers.append(BatchNorm2D(channels: ch * 2)) }
        layers.append(LeakyReLU(negativeSlope: 0.2))
        ch *= 2
    }
    if head { layers.append(Conv2D(inChannels: ch, outChannels: 1, kernelSize: 4, stride: 1, padding: 0, bias: false)) }
    return Sequential(layers)
}

/// Channels of the DCGAN discriminator's last feature map.
func dcganDiscriminatorWidth(ndf: Int, imageSize: Int) -> Int { ndf << (dcganDepth(imageSize: imageSize) - 1) }

public final class DCGANGenerator: Layer {
    public let main: Sequential
    public let nz: Int

    public init(nz: Int = 100, ngf: Int = 64, outputNC: Int = 3, imageSize: Int = 64) {
        self.nz = nz
        main = dcganGeneratorBody(nz: nz, ngf: ngf, nc: outputNC, imageSize: imageSize)
    }

    public var children: [(name: String, module: any Module)] { [("main", main)] }

    /// z: [N,nz] or [N,1,1,nz] -> [N,S,S,outputNC].
    public func callAsFunction(_ z: Variable) -> Variable {
        main(z.shape.count == 4 ? z : reshape(z, [-1, 1, 1, nz]))
    }
}

public final class DCGANDiscriminator: Layer {
    public let main: Sequential

    public init(inputNC: Int = 3, ndf: Int = 64, imageSize: Int = 64) {
        main = dcganDiscriminatorBody(nc: inputNC, ndf: ndf, imageSize: imageSize)
    }

    public var children: [(name: String, module: any Module)] { [("main", main)] }

    /// x: [N,S,S,inputNC] -> logits [N,1,1,1].
    public func callAsFunction(_ x: Variable) -> Variable { main(x) }
}

public final class ConditionalGenerator: Module {
    public let labelEmbedding: Embedding
    public let main: Sequential
    public let nz: Int

    public init<G: RandomNumberGenerator>(numClasses: Int, embedDim: Int, nz: Int = 100, ngf: Int = 64,
                                          outputNC: Int = 3, imageSize: Int = 64, using rng: inout G) {
        self.nz = nz
        labelEmbedding = Embedding(numEmbeddings: numClasses, dimension: embedDim, using: &rng)
        main = dcganGeneratorBody(nz: nz + embedDim, ngf: ngf, nc: outputNC, imageSize: imageSize)
    }

    public var children: [(name: String, module: any Module)] { [("label_emb", labelEmbedding), ("main", main)] }

    /// z: [N,nz] (or [N,1,1,nz]), labels: N class indices -> [N,S,S,outputNC].
    public func callAsFunction(_ z: Variable, labels: [Int]) -> Variable {
        let z2 = z.shape.count == 2 ? z : reshape(z, [-1, nz])
        precondition(z2.shape[0] == labels.count, "ConditionalGenerator: \(z2.shape[0]) noise rows, \(labels.count) labels")
        let h = concat([z2, labelEmbedding(labels)], axis: -1)
        return main(reshape(h, [labels.count, 1, 1, h.shape[1]]))
    }
}

public final class ConditionalDiscriminator: Module {
    public let labelEmbedding: Embedding
    public let main: Sequential

    /// `spectralNorm`: u, v are drawn from `rng` after the embedding (use `initialize` on the
    /// result as for any network: it sets the weights, not u and v).
    public init<G: RandomNumberGenerator>(numClasses: Int, embedDim: Int, inputNC: Int = 3, ndf: Int = 64,
                                          imageSize: Int = 64, spectralNorm: Bool = false, using rng: inout G) {
        labelEmbedding = Embedding(numEmbeddings: numClasses, dimension: embedDim, using: &rng)
        main = dcganDiscriminatorBody(nc: inputNC + embedDim, ndf: ndf, imageSize: imageSize, batchNorm: !spectralNorm)
        if spectralNorm { applySpectralNorm(self, using: &rng) }
    }

    public var children: [(name: String, module: any Module)] { [("label_emb", labelEmbedding), ("main", main)] }

    /// x: [N,S,S,inputNC], labels: N class indices -> logits [N,1,1,1].
    public func callAsFunction(_ x: Variable, labels: [Int]) -> Variable {
        let (n, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(n == labels.count, "ConditionalDiscriminator: \(n) images, \(labels.count) labels")
        let e = labelEmbedding(labels)
        let planes = broadcast(reshape(e, [n, 1, 1, e.shape[1]]), to: [n, h, w, e.shape[1]])
        return main(concat([x, planes], axis: -1))
    }
}


public final class ProjectionDiscriminator: Module {
    /// phi: the DCGAN discriminator body without its last conv.
    public let main: Sequential
    /// psi: the unconditional score of the pooled features.
    public let linear: Linear
    /// One row per class, as wide as phi's features.
    public let labelEmbedding: Embedding

    public init<G: RandomNumberGenerator>(numClasses: Int, inputNC: Int = 3, ndf: Int = 64, imageSize: Int = 64,
                                          spectralNorm: Bool = false, using rng: inout G) {
        let width = dcganDiscriminatorWidth(ndf: ndf, imageSize: imageSize)
        main = dcganDiscriminatorBody(nc: inputNC, ndf: ndf, imageSize: imageSize, batchNorm: !spectralNorm, head: false)
        linear = Linear(inFeatures: width, outFeatures: 1)
        labelEmbedding = Embedding(numEmbeddings: numClasses, dimension: width, using: &rng)
        // Glorot scale, as Miyato's code: `initialize` leaves embeddings alone and N(0, 1) rows of
        // `width` entries would make the projection term swamp psi's at the start.
        let std = (2 / Float(numClasses + width)).squareRoot()
        labelEmbedding.weight.value = labelEmbedding.weight.value * std
        if spectralNorm { applySpectralNorm(self, using: &rng) }
    }

    public var children: [(name: String, module: any Module)] {
        [("main", main), ("linear", linear), ("label_emb", labelEmbedding)]
    }

    /// x: [N,S,S,inputNC], labels: N class indices -> logits [N,1,1,1].
    public func callAsFunction(_ x: Variable, labels: [Int]) -> Variable {
        let n = x.shape[0]
        precondition(n == labels.count, "ProjectionDiscriminator: \(n) images, \(labels.count) labels")
        let h = sum(main(x), alongAxes: [1, 2])                           // global sum pooling: [N, C]
        let projection = sum(mul(labelEmbedding(labels), h), alongAxes: [1], keepingDims: true)   // [N, 1]
        return reshape(linear(h) + projection, [n, 1, 1, 1])
    }
}
