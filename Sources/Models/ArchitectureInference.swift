// Architecture inference: the ModelConfig of a state dict with no config (a paper-code
// .pth, or a safetensors converted from one), from tensor names and shapes alone.
//
//   ResNet G   model.1.weight [ngf,in,7,7], model.K.conv_block.* (K = 10 ... 9+n_blocks);
//              conv_block.6.weight (not .5) means dropout; conv_block.0.weight means zero padding.
//              CUT's anti-aliased variant: blocks from model.12 (each downsampling is conv, norm,
//              ReLU, blur Downsample); no weight right after the last block (model.(K+n) is a blur
//              Upsample, its conv follows) means anti-aliased upsampling
//   PatchGAN D with CUT's anti-aliasing: model.2.filt (a blur Downsample after the first LeakyReLU)
//   U-Net G    model.model.0.weight [ngf,in,4,4], model.model.3.weight [2ngf,out,4,4];
//              num_downs = nesting depth of `.model.` blocks (dropout leaves no trace: off)
//   PatchGAN D model.0.weight [ndf,in,4,4]: n_layers = (number of convs) - 2
//   pixel D    net.0.weight [ndf,in,1,1]
//   DCGAN      main.*; CGAN adds label_emb.weight [num_classes, embed_dim]
// Norm, at the first norm position P (after a conv with use_bias semantics):
//   P.weight and P.running_mean -> batch; P.weight only -> instance_affine;
//   no P.weight -> instance if the conv before has a bias (paper code's use_bias), else none.
// (An old paper-code instance norm with track_running_stats leaves P.running_mean without
// P.weight: still instance.)
import NN

public func inferConfig(from sd: StateDict, file: String? = nil) throws -> ModelConfig {
    var shapes: [String: [Int]] = [:]
    for e in sd.entries { shapes[e.name] = e.tensor.shape }
    let names = sd.names
    func fail(_ reason: String) -> ModelError { ModelError(.unknownArchitecture, file: file, reason) }
    func shape(_ key: String, rank: Int) throws -> [Int] {
        guard let s = shapes[key], s.count == rank else {
            throw fail("expected tensor '\(key)' of rank \(rank) (found \(shapes[key].map { "\($0)" } ?? "none"))")
        }
        return s
    }
    func norm(at p: String, biasOf conv: String) -> ModelConfig.Norm {
        let hasWeight = shapes[p + ".weight"] != nil
        if hasWeight { return shapes[p + ".running_mean"] != nil ? .batch : .instanceAffine }
        return shapes[conv + ".bias"] != nil ? .instance : .none
    }

    // ResNet generator
    if shapes["model.1.weight"]?.count == 4, names.contains(where: { $0.contains(".conv_block.") }) {
        let w1 = try shape("model.1.weight", rank: 4)
        var blocks = Set<Int>()
        var lastConv = -1
        for n in names {
            let parts = n.split(separator: ".")
            guard parts.count >= 3, parts[0] == "model", let k = Int(parts[1]) else { continue }
            if parts[2] == "conv_block" { blocks.insert(k) }
            if parts.count == 3, parts[2] == "weight", shapes[n]?.count == 4 { lastConv = max(lastConv, k) }
        }
        let first = blocks.min() ?? (shapes["model.7.filt"] != nil ? 12 : 10)
        let p = "model.\(first).conv_block."
        let zeroPad = shapes[p + "0.weight"] != nil
        let dropout = shapes[p + (zeroPad ? "4.weight" : "6.weight")]?.count == 4
        var c = ModelConfig.generator(ModelConfig.netGName(.resnet(blocks: blocks.count)), inputNC: w1[1],
                                      outputNC: try shape("model.\(lastConv).weight", rank: 4)[0], ngf: w1[0],
                                      norm: norm(at: "model.2", biasOf: "model.1"), useDropout: dropout)
        c.paddingType = zeroPad ? .zero : .reflect
        c.antialias = first == 12
        c.antialiasUp = shapes["model.\(first + blocks.count).weight"] == nil
        return c
    }
    // U-Net generator
    if shapes["model.model.0.weight"] != nil {
        let w0 = try shape("model.model.0.weight", rank: 4)
        let up = try shape("model.model.3.weight", rank: 4)
        var depth = 1
        var prefix = "model.model.1.model."
        if names.contains(where: { $0.hasPrefix(prefix) }) {
            depth = 2
            while names.contains(where: { $0.hasPrefix(prefix + "3.model.") }) { prefix += "3.model."; depth += 1 }
        }
        guard depth >= 5 else { throw fail("a U-Net of \(depth) levels: at least 5 expected") }
        return .generator(ModelConfig.netGName(.unet(downs: depth)), inputNC: w0[1], outputNC: up[1], ngf: w0[0],
                          norm: norm(at: "model.model.1.model.2", biasOf: "model.model.1.model.1"))
    }
    // PatchGAN discriminator
    if shapes["model.0.weight"]?.count == 4 {
        let w0 = try shape("model.0.weight", rank: 4)
        let convs = names.filter { n in
            let parts = n.split(separator: ".")
            return parts.count == 3 && parts[0] == "model" && Int(parts[1]) != nil && parts[2] == "weight" && shapes[n]?.count == 4
        }.count
        guard convs >= 3 else { throw fail("a PatchGAN discriminator with \(convs) convs: at least 3 expected") }
        let n = convs - 2
        if shapes["model.2.filt"] != nil {
            var c = ModelConfig.discriminator(n == 3 ? "basic" : "n_layers", inputNC: w0[1], ndf: w0[0], nLayersD: n,
                                              norm: norm(at: "model.4", biasOf: "model.3"))
            c.antialias = true
            return c
        }
        return .discriminator(n == 3 ? "basic" : "n_layers", inputNC: w0[1], ndf: w0[0], nLayersD: n,
                              norm: norm(at: "model.3", biasOf: "model.2"))
    }
    // Pixel discriminator
    if shapes["net.0.weight"] != nil {
        let w0 = try shape("net.0.weight", rank: 4)
        return .discriminator("pixel", inputNC: w0[1], ndf: w0[0], norm: norm(at: "net.3", biasOf: "net.2"))
    }
    // DCGAN / CGAN
    if shapes["main.0.weight"] != nil {
        let w0 = try shape("main.0.weight", rank: 4)
        let weights = names.filter { n in
            let parts = n.split(separator: ".")
            return parts.count == 3 && parts[0] == "main" && parts[2] == "weight" && shapes[n]?.count == 4
        }
        let k = weights.count - 1
        guard k >= 1 else { throw fail("a DCGAN network with \(weights.count) convs: at least 2 expected") }
        let emb = shapes["label_emb.weight"]
        let embedDim = emb?[1] ?? 0
        let isGenerator = shapes["main.1.running_mean"] != nil
        let last = try shape(weights.max { Int($0.split(separator: ".")[1])! < Int($1.split(separator: ".")[1])! }!, rank: 4)
        var c = ModelConfig(kind: .dcganGenerator, imageSize: 4 << k)
        if let emb { c.numClasses = emb[0]; c.embedDim = emb[1] }
        if isGenerator {
            c.kind = emb == nil ? .dcganGenerator : .cganGenerator
            c.nz = w0[0] - embedDim
            c.ngf = last[0]
            c.outputNC = last[1]
        } else {
            c.kind = emb == nil ? .dcganDiscriminator : .cganDiscriminator
            c.ndf = w0[0]
            c.inputNC = w0[1] - embedDim
        }
        return c
    }
    throw fail("tensor names match no known network (first: \(names.prefix(3).joined(separator: ", ")))")
}
