// CUT and FastCUT (Park et al., "Contrastive Learning for Unpaired Image-to-Image Translation",
// ECCV 2020), as taesungp/contrastive-unpaired-translation's models/cut_model.py.
//   netG: A -> B (ResNet generator, anti-aliased by default), netD: PatchGAN on B images,
//   netF: PatchSampleF, MLP heads on netG's encoder features, created from the first batch.
//   forward:  real = cat(real_A, real_B) if nce_idt else real_A   (FastCUT: flipped along W
//             with probability 1/2), fake = netG(real), fake_B = fake[:B], idt_B = fake[B:]
//   D step:   loss_D = (GAN(netD(fake_B.detach()), fake) + GAN(netD(real_B), real)) * 0.5
//   G step (netD frozen; optimizer_G and optimizer_F):
//     loss_G = lambda_GAN GAN(netD(fake_B), real) + NCE(real_A, fake_B)           (FastCUT)
//     loss_G = lambda_GAN GAN(netD(fake_B), real) + (NCE(real_A, fake_B) + NCE(real_B, idt_B)) / 2  (CUT)
//   NCE(src, tgt) = 1/L sum over the nce_layers l of mean(PatchNCE(netF(netG_l(tgt)), netF(netG_l(src))))
//                   * lambda_NCE, the same patch locations for both (drawn for src)
//   PatchNCE(q, k): per sampled location i, cross-entropy of ((q_i . k_i), (q_i . k_j) j != i) / nce_T
//                   against class 0, the negatives k_j from the same image (k detached).
// No image pool (CUT's pool_size 0). Patch locations and the flip come from the trainer's `rng`
// (in the checkpoint), so runs are reproducible and a resume is exact.
import Training
import Autograd
import Checkpoint
import Models
import NN
import TensorCore

/// The losses of one iteration, named as cut_model.py's loss_names.
public struct CUTLosses: Sendable, Equatable {
    public var G_GAN: Float = 0, D_real: Float = 0, D_fake: Float = 0, G: Float = 0, NCE: Float = 0, NCE_Y: Float = 0
    public init() {}
}

public final class CUTTrainer: GANTrainer {
    /// "cut" or "fastcut" (CUT's --CUT_mode): the run's model; "cut" for a trainer built in code.
    public var modelName: String { options.model.isEmpty ? "cut" : options.model }
    public let netG: ResnetGenerator, netD: any Layer, netF: PatchSampleF
    /// The run's options (the common ones and this model's own, typed: `options.lambdaA`).
    public let options: TrainOptions
    public let optimizerG: Adam, optimizerD: Adam
    /// Created with netF (CUT's data_dependent_initialize); nil while lambda_NCE is 0 or before the first batch.
    public private(set) var optimizerF: Adam?
    public var schedule: LRSchedule
    public var rng: SplitMix64
    public var progress = TrainingProgress()
    public private(set) var losses = CUTLosses()
    public private(set) var visuals: [(name: String, image: Tensor)] = []
    let criterionGAN: GANLoss
    /// Patch locations the next NCE computations use instead of drawing them (parity tests), one
    /// [[Int]] (per layer) per call, consumed in order.
    var injectedPatchIDs: [[[Int]]] = []
    /// The flip decision the next iteration uses instead of drawing it (parity tests).
    var injectedFlip: Bool?
    /// Whether the last forward flipped the images (flip_equivariance).
    public private(set) var flippedForEquivariance = false

    public init(netG: ResnetGenerator, netD: any Layer, options: TrainOptions = TrainableModel.cut.defaults) {
        self.netG = netG; self.netD = netD; self.options = options
        netF = PatchSampleF(nc: options.netFNc)
        netG.train(); netD.train()
        let t = options
        optimizerG = makeAdam([("G", netG)], t)
        optimizerD = makeAdam([("D", netD)], t)
        schedule = makeSchedule(t)
        schedule.apply(to: [optimizerG, optimizerD])
        rng = SplitMix64(seed: deriveSeed(t.seed, 3))
        criterionGAN = GANLoss(t.ganMode)
    }

    public var networks: [(name: String, module: any Module)] {
        netF.isCreated ? [("G", netG), ("F", netF), ("D", netD)] : [("G", netG), ("D", netD)]
    }
    public var optimizers: [(name: String, optimizer: Adam)] {
        [("optimizer_G", optimizerG), ("optimizer_D", optimizerD)] + (optimizerF.map { [("optimizer_F", $0)] } ?? [])
    }
    public var lossValues: [(name: String, value: Float)] {
        [("G_GAN", losses.G_GAN), ("D_real", losses.D_real), ("D_fake", losses.D_fake), ("G", losses.G), ("NCE", losses.NCE)]
            + (options.nceIdt ? [("NCE_Y", losses.NCE_Y)] : [])
    }

    /// Creates netF for features of `channels` channels and its optimizer (at the current rate).
    /// Its weights come from a generator of their own, derived from the seed, so that they do
    /// not depend on when the first batch comes.
    func createNetF(channels: [Int]) {
        var initRNG = SplitMix64(seed: deriveSeed(options.seed, 4))
        netF.createMLP(channels: channels, initType: options.initType, gain: options.initGain, using: &initRNG)
        let adam = makeAdam([("F", netF)], options)
        adam.lr = schedule.lr
        adam.beforeStep = optimizerG.beforeStep
        optimizerF = adam
    }

    /// A checkpoint written after netF's creation holds netF: create it (from the file's shapes)
    /// before the weights and optimizer states are restored.
    /// The shapes are checked against G's features first: a file cannot make it build anything else.
    public func prepareToRestore(_ file: TensorFile) throws {
        guard !netF.isCreated, file["F.mlp_0.0.weight"] != nil else { return }
        let expected = featureChannels(netG, layers: options.nceLayers.values)
        for (l, c) in expected.enumerated() {
            let shape = file["F.mlp_\(l).0.weight"]?.shape
            guard shape == [options.netFNc, c] else {
                throw TrainingError.incompatible(file: "checkpoint", reason: "F.mlp_\(l).0.weight has shape "
                                                 + "\(shape.map { "\($0)" } ?? "none"), expected [\(options.netFNc), \(c)] "
                                                 + "(--netF-nc \(options.netFNc), --nce-layers of the run)")
            }
        }
        createNetF(channels: expected)
    }

    public func optimizeParameters(_ batch: TrainingBatch) {
        guard let realBTensor = batch.realB else { preconditionFailure("CUT needs realB") }
        let realA = Variable(batch.realA), realB = Variable(realBTensor)
        let o = options

        // forward
        let (fakeB, idtB) = forward(realA: realA, realB: realB)
        visuals = [("real_A", batch.realA), ("fake_B", fakeB.value), ("real_B", realBTensor)]
            + (idtB.map { [("idt_B", $0.value)] } ?? [])

        // update D
        netD.setRequiresGrad(true)
        optimizerD.zeroGrad()
        let lossD = computeDLoss(fakeB: fakeB, realB: realB)
        lossD.backward()
        optimizerD.step()

        // update G (and F)
        netD.setRequiresGrad(false)
        optimizerG.zeroGrad()
        optimizerF?.zeroGrad()
        let lossG = computeGLoss(realA: realA, realB: realB, fakeB: fakeB, idtB: idtB)
        if lossG.needsGrad { lossG.backward() }  // not when lambda_GAN and lambda_NCE are both 0
        optimizerG.step()
        if o.lambdaNCE > 0 { optimizerF?.step() }
        netD.setRequiresGrad(true)
    }

    /// fake_B = G(real_A) and, with nce_idt, idt_B = G(real_B): one pass over cat(real_A, real_B)
    /// as CUT, or two when A and B differ in size (the same for instance norm).
    func forward(realA: Variable, realB: Variable) -> (fakeB: Variable, idtB: Variable?) {
        if options.flipEquivariance {
            flippedForEquivariance = injectedFlip ?? (Double.random(in: 0..<1, using: &rng) < 0.5)
            injectedFlip = nil
        } else {
            flippedForEquivariance = false
        }
        let flip: (Variable) -> Variable = { self.flippedForEquivariance ? flipHorizontally($0) : $0 }
        guard options.nceIdt else { return (netG(flip(realA)), nil) }
        if realA.shape.dropFirst() == realB.shape.dropFirst() {
            let n = realA.shape[0]
            let fake = netG(flip(concat([realA, realB], axis: 0)))
            return (slice(fake, axis: 0, range: 0..<n), slice(fake, axis: 0, range: n..<fake.shape[0]))
        }
        return (netG(flip(realA)), netG(flip(realB)))
    }

    func computeDLoss(fakeB: Variable, realB: Variable) -> Variable {
        let lossFake = criterionGAN(netD(fakeB.detached()), targetIsReal: false)
        let lossReal = criterionGAN(netD(realB), targetIsReal: true)
        losses.D_fake = lossFake.value.scalar
        losses.D_real = lossReal.value.scalar
        return (lossFake + lossReal) * 0.5
    }

    func computeGLoss(realA: Variable, realB: Variable, fakeB: Variable, idtB: Variable?) -> Variable {
        let o = options
        var lossG: Variable? = nil
        losses.G_GAN = 0; losses.NCE = 0; losses.NCE_Y = 0
        if o.lambdaGAN > 0 {
            let gan = criterionGAN(netD(fakeB), targetIsReal: true) * o.lambdaGAN
            losses.G_GAN = gan.value.scalar
            lossG = gan
        }
        if o.lambdaNCE > 0 {
            let nce = calculateNCELoss(src: realA, tgt: fakeB)
            losses.NCE = nce.value.scalar
            var both = nce
            if o.nceIdt, let idtB {
                let nceY = calculateNCELoss(src: realB, tgt: idtB)
                losses.NCE_Y = nceY.value.scalar
                both = (nce + nceY) * 0.5
            }
            lossG = lossG.map { $0 + both } ?? both
        }
        let total = lossG ?? Variable(Tensor(0))
        losses.G = total.value.scalar
        return total
    }

    func calculateNCELoss(src: Variable, tgt: Variable) -> Variable {
        let o = options
        var featQ = netG.encode(tgt, layers: o.nceLayers.values)
        if o.flipEquivariance && flippedForEquivariance { featQ = featQ.map(flipHorizontally) }
        // PatchNCE detaches the keys: nothing flows back through netG(src) or netF's key pass,
        // so they are computed without recording.
        let (featKPool, ids) = withNoGrad { () -> ([Variable], [[Int]]) in
            let featK = netG.encode(src, layers: o.nceLayers.values)
            if !netF.isCreated { createNetF(channels: featK.map { $0.shape[3] }) }
            let injected = injectedPatchIDs.isEmpty ? nil : injectedPatchIDs.removeFirst()
            return netF(featK, numPatches: o.numPatches, patchIDs: injected, sample: { self.samplePatches($0, of: $1) })
        }
        let (featQPool, _) = netF(featQ, numPatches: o.numPatches, patchIDs: ids, sample: { _, _ in [] })
        var total: Variable? = nil
        let batchDim = o.nceIncludesAllNegativesFromMinibatch ? 1 : src.shape[0]
        for (q, k) in zip(featQPool, featKPool) {
            let loss = mean(patchNCELoss(q, k, batchDim: batchDim, temperature: o.nceT) * o.lambdaNCE)
            total = total.map { $0 + loss } ?? loss
        }
        return total! / Float(o.nceLayers.values.count)
    }

    /// `count` distinct locations of 0..<total in random order (np.random.permutation(total)[:count]).
    func samplePatches(_ count: Int, of total: Int) -> [Int] {
        var perm = Array(0..<total)
        for i in 0..<count {
            let j = i + Int(rng.next() % UInt64(total - i))
            perm.swapAt(i, j)
        }
        return Array(perm[..<count])
    }
}

/// The channel counts of the outputs of `layers` of G's model, from its convolutions' widths.
func featureChannels(_ g: ResnetGenerator, layers: [Int]) -> [Int] {
    // before the first conv (the padding, layer 0), the input's channels
    var c = g.model.layers.lazy.compactMap { $0 as? Conv2D }.first?.weight.shape[2] ?? 0
    var out: [Int] = []
    for (i, layer) in g.model.layers.enumerated() where i <= (layers.max() ?? -1) {
        if let conv = layer as? Conv2D { c = conv.weight.shape[3] }                // ours [KH,KW,C,OC]
        if let conv = layer as? ConvTranspose2D { c = conv.weight.shape[2] }       // ours [KH,KW,Cout,Cin]
        if layers.contains(i) { out.append(c) }
    }
    return out
}

/// CUT's PatchNCELoss (models/patchnce.py), per sampled location: q, k [N,D] (rows item-major,
/// N = batchDim * P), k detached. Returns the cross-entropy losses [N].
///   l_pos[i] = q_i . k_i;  l_neg[i, j] = q_i . k_j over the P rows of the same item (same block
///   of batchDim), the diagonal set to -10;  loss_i = CE(cat(l_pos, l_neg) / T, class 0).
public func patchNCELoss(_ q: Variable, _ k: Variable, batchDim: Int, temperature T: Float) -> Variable {
    precondition(q.shape.count == 2 && q.shape == k.shape && q.shape[0] % batchDim == 0,
                 "patchNCELoss: q \(q.shape) and k \(k.shape) must be [N,D] with N a multiple of \(batchDim)")
    let k = k.detached()
    let (N, P) = (q.shape[0], q.shape[0] / batchDim)
    let lPos = sum(q * k, alongAxes: [1], keepingDims: true)
    var blocks: [Variable] = []
    for b in 0..<batchDim {
        let rows = (b * P)..<((b + 1) * P)
        blocks.append(matmul(slice(q, axis: 0, range: rows), slice(k, axis: 0, range: rows), transposeB: true))
    }
    let lNegAll = batchDim == 1 ? blocks[0] : concat(blocks, axis: 0)
    // masked_fill of the diagonal with -10: keep the off-diagonal, add the constant
    var keep = [Float](repeating: 1, count: N * P), fill = [Float](repeating: 0, count: N * P)
    for i in 0..<N { keep[i * P + i % P] = 0; fill[i * P + i % P] = -10 }
    let lNeg = multiplyByConstant(lNegAll, Tensor(shape: [N, P], scalars: keep)) + Variable(Tensor(shape: [N, P], scalars: fill))
    let out = concat([lPos, lNeg], axis: 1) / T
    // cross-entropy against class 0: logsumexp(out_i) - out_i0, shifted by the row max for range
    let rowMax = out.value.scalars.withUnsafeBufferPointer { s in
        (0..<N).map { i in s[(i * (P + 1))..<((i + 1) * (P + 1))].max()! }
    }
    let m = Variable(Tensor(shape: [N, 1], scalars: rowMax))
    let lse = log(sum(exp(out - m), alongAxes: [1], keepingDims: true)) + m
    return reshape(lse - slice(out, axis: 1, range: 0..<1), [N])
}

extension ModelOptions {
    /// CUT's and the template's (its default 0 there: regression only).
    public var lambdaGAN: Opt<Float> { Opt("lambda-GAN", 1, "Weight of the GAN loss GAN(G(X)) (0: none).", check: .atLeast(0)) }
    public var lambdaNCE: Opt<Float> { Opt("lambda-NCE", 1, "Weight of the NCE loss NCE(G(X), X).", check: .atLeast(0)) }
    public var nceIdt: Opt<Bool> { Opt("nce-idt", true, "Use the NCE loss for the identity mapping NCE(G(Y), Y).") }
    public var nceLayers: Opt<IntList> {
        Opt("nce-layers", IntList([0, 4, 8, 12, 16]),
            "Layers of G's model whose outputs the NCE loss compares (indices, ascending).", check: .each(atLeast: 0), shapesNetworks: true)
    }
    public var nceIncludesAllNegativesFromMinibatch: Opt<Bool> {
        Opt("nce-includes-all-negatives-from-minibatch", false,
            "Take negatives from every image of the batch (single-image translation), not only the same image.")
    }
    public var netFNc: Opt<Int> { Opt("netF-nc", 256, "Width of netF's MLPs (mlp_sample).", check: .atLeast(1), shapesNetworks: true) }
    public var nceT: Opt<Float> { Opt("nce-T", 0.07, "Temperature of the NCE loss.", check: .atLeast(0)) }
    public var numPatches: Opt<Int> { Opt("num-patches", 256, "Patch locations sampled per layer.", check: .atLeast(1)) }
    public var flipEquivariance: Opt<Bool> {
        Opt("flip-equivariance", false, "Flip the input horizontally at random and the features back (FastCUT's regularization).")
    }
    public var noAntialias: Opt<Bool> {
        Opt("no-antialias", false, "Stride-2 convs instead of anti-aliased (blur) downsampling in G and D.", shapesNetworks: true)
    }
    public var noAntialiasUp: Opt<Bool> {
        Opt("no-antialias-up", false, "Transposed convs instead of anti-aliased (blur) upsampling in G.", shapesNetworks: true)
    }
}

extension TrainableModel {
    /// `img2img train cut` and `img2img train fastcut`: CUT's options and each one's defaults.
    static func optionUses(fast: Bool) -> [ModelOptionUse] {
        [.use(\.lambdaGAN), .use(\.lambdaNCE, default: fast ? 10 : 1), .use(\.nceIdt, default: !fast), .use(\.nceLayers),
         .use(\.nceIncludesAllNegativesFromMinibatch), .use(\.netFNc), .use(\.nceT), .use(\.numPatches),
         .use(\.flipEquivariance, default: fast), .use(\.noAntialias), .use(\.noAntialiasUp)]
    }

    static func makeCUT(fast: Bool) -> TrainableModel {
        TrainableModel(
            name: fast ? "fastcut" : "cut",
            abstract: fast ? "FastCUT: unpaired translation A -> B with one G, one D and PatchNCE (no identity NCE, flip-equivariance)."
                           : "CUT: unpaired translation A -> B with one G, one D and a contrastive (PatchNCE) loss.",
            datasetMode: .unaligned,
            options: optionUses(fast: fast),
            setDefaults: { o in
                o.netG = "resnet_9blocks"; o.norm = .instance; o.ganMode = .lsgan; o.useDropout = false
                o.initType = .xavier; o.initGain = 0.02
                o.nEpochs = fast ? 150 : 200; o.nEpochsDecay = fast ? 50 : 200
            },
            validate: { o in
                guard case .resnet? = ModelConfig.parseNetG(o.netG) else {
                    throw TrainingError.invalidOptions("CUT's NCE layers index a ResNet generator: --netG resnet_<n>blocks, got \(o.netG)")
                }
                guard o.ganMode == .lsgan || o.ganMode == .vanilla else {
                    throw TrainingError.invalidOptions("CUT trains with --gan-mode lsgan or vanilla, got \(o.ganMode.rawValue)")
                }
                // each index >= 0 is the declaration's check, applied before this one
                let layers = o.nceLayers.values
                guard !layers.isEmpty else {
                    throw TrainingError.invalidOptions("--nce-layers must be comma-separated layer indices, got '\(o.nceLayers)'")
                }
                let g = try cutGeneratorConfig(o)
                guard case .resnet(let blocks)? = ModelConfig.parseNetG(g.netG) else { return }
                // pad, conv, norm, ReLU; 2 downsamplings; the blocks; 2 upsamplings; pad, conv, tanh
                let depth = 4 + 2 * (g.antialias ? 4 : 3) + blocks + 2 * (g.antialiasUp ? 4 : 3) + 3
                guard layers == layers.sorted(), Set(layers).count == layers.count, layers.last! < depth else {
                    throw TrainingError.invalidOptions("--nce-layers must be distinct ascending indices of G's \(depth) layers "
                                                       + "(0..<\(depth)), got \(layers.map(String.init).joined(separator: ","))")
                }
                guard o.nceT > 0 else {
                    throw TrainingError.invalidOptions("--nce-T must be above 0 (the logits are divided by it), got \(o.nceT)")
                }
                // netF's second layer is nc x nc and each layer's logits P x P: bound both so that a
                // value can only be refused, never allocate gigabytes (CUT's defaults: 256 and 256)
                let limit = 16384
                for (name, value) in [("netF-nc", o.netFNc), ("num-patches", o.numPatches)] where value > limit {
                    throw TrainingError.invalidOptions("--\(name) must be at most \(limit), got \(value) (CUT's default: 256)")
                }
                if o.nceIdt && o.inputNc != o.outputNc {
                    throw TrainingError.invalidOptions("--nce-idt runs G on B images: input_nc (\(o.inputNc)) must equal output_nc "
                                                       + "(\(o.outputNc)); use --no-nce-idt")
                }
            },
            test: TestSpec(datasetMode: .unaligned),
            build: { o, _ in
                let g = try cutGeneratorConfig(o)
                var d = ModelConfig(kind: .discriminator, netD: o.netD, inputNC: o.outputNc, ndf: o.ndf, norm: o.norm,
                                    nLayersD: o.nLayersD)
                d.antialias = !o.noAntialias
                var rng = SplitMix64(seed: deriveSeed(o.seed, 0))
                guard let G = try makeLayer(g, initType: o.initType, gain: o.initGain, using: &rng) as? ResnetGenerator else {
                    throw TrainingError.invalidOptions("CUT needs a ResNet generator, got \(o.netG)")
                }
                let D = try makeLayer(d, initType: o.initType, gain: o.initGain, using: &rng)
                reseedDropout([G, D], seed: o.seed)
                return BuiltTrainer(trainer: CUTTrainer(netG: G, netD: D, options: o), configs: ["G": g, "D": d])
            })
    }

    /// G's architecture from the options (CUT's define_G with no_antialias, no_antialias_up).
    static func cutGeneratorConfig(_ o: TrainOptions) throws -> ModelConfig {
        var g = ModelConfig.generator(o.netG, inputNC: o.inputNc, outputNC: o.outputNc, ngf: o.ngf, norm: o.norm,
                                      useDropout: o.useDropout)
        g.antialias = !o.noAntialias
        g.antialiasUp = !o.noAntialiasUp
        return g
    }

    public static let cut = makeCUT(fast: false)
    public static let fastcut = makeCUT(fast: true)
}
