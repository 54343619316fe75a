// Each trainer lowers its loss on a tiny synthetic problem, resumes bit for bit from a
// training checkpoint, and refuses to checkpoint NaN.
import Autograd
import Checkpoint
import Foundation
import Models
import NN
import TensorCore
@testable import Training
@testable import Trainers
import Evaluation
import XCTest

// MARK: - Tiny networks and data (16x16, a few channels: debug builds are slow)

func tinyGenerator(_ rng: inout SplitMix64, inC: Int = 3, outC: Int = 3, batchNorm: Bool = false, dropoutSeed: UInt64? = nil) -> Sequential {
    var layers: [any Layer] = [Conv2D(inChannels: inC, outChannels: 6, kernelSize: 3, stride: 1, padding: 1),
                               batchNorm ? BatchNorm2D(channels: 6) : InstanceNorm2D(channels: 6), ReLU()]
    if let s = dropoutSeed { layers.append(Dropout(probability: 0.3, seed: s)) }
    layers += [Conv2D(inChannels: 6, outChannels: outC, kernelSize: 3, stride: 1, padding: 1), Tanh()]
    let net = Sequential(layers)
    initialize(net, .normal, gain: 0.2, using: &rng)
    return net
}

func tinyDiscriminator(_ rng: inout SplitMix64, inC: Int = 3, batchNorm: Bool = false) -> Sequential {
    var layers: [any Layer] = [Conv2D(inChannels: inC, outChannels: 4, kernelSize: 4, stride: 2, padding: 1), LeakyReLU()]
    if batchNorm { layers.append(BatchNorm2D(channels: 4)) }
    layers.append(Conv2D(inChannels: 4, outChannels: 1, kernelSize: 3, stride: 1, padding: 1))
    let net = Sequential(layers)
    initialize(net, .normal, gain: 0.2, using: &rng)
    return net
}

/// Smooth random images in [-1, 1]: [n,16,16,3].
func smoothImages(_ n: Int, _ rng: inout SplitMix64, size: Int = 16, channels: Int = 3) -> Tensor {
    let t = Tensor(uninitializedShape: [n, size, size, channels])
    let p = t.uncheckedMutablePointer
    for i in 0..<n {
        let f = (0..<4).map { _ in Float.random(in: 0.2..<0.8, using: &rng) }
        for y in 0..<size { for x in 0..<size { for c in 0..<channels {
            p[((i * size + y) * size + x) * channels + c] = 0.9 * sinf(f[0] * Float(x) + f[1] * Float(y) + f[2] * Float(c) + f[3] * 5)
        } } }
    }
    return t
}

func average(_ xs: ArraySlice<Float>) -> Float { xs.reduce(0, +) / Float(xs.count) }

func allTensors(_ t: some GANTrainer) -> [String: [Float]] {
    var out: [String: [Float]] = [:]
    for (n, m) in t.networks { for (k, v) in m.namedTensors() { out[n + "." + k] = v.value.scalars } }
    for (n, o) in t.optimizers {
        for (i, s) in o.state.enumerated() {
            if let s { out["\(n).\(o.parameters[i].name).m"] = s.expAvg.scalars; out["\(n).\(o.parameters[i].name).v"] = s.expAvgSq.scalars }
        }
    }
    return out
}

/// One epoch of in-memory batches as TrainingRun trains one (the lr step at the start, then an
/// optimize call per batch), for the trainers' own tests; the loop itself is TrainingRunTests'.
extension GANTrainer {
    func trainEpoch<S: Sequence>(_ batches: S) where S.Element == TrainingBatch {
        updateLearningRate()
        for b in batches {
            optimizeParameters(b)
            progress.iteration += 1
        }
        progress.epoch += 1
    }
}

func temporaryDirectory() -> String {
    let d = NSTemporaryDirectory() + "img2img-training-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

final class TrainerTests: XCTestCase {
    // MARK: CycleGAN

    func makeCycleGAN(seed: UInt64, mode: GANMode = .lsgan, pool: Int = 50, dropout: Bool = false, lr: Double = 2e-4) -> CycleGANTrainer {
        var rng = SplitMix64(seed: seed)
        var o = TrainableModel.cyclegan.defaults
        o.poolSize = pool
        o.ganMode = mode
        o.seed = seed
        o.lr = lr
        o.nEpochs = 1; o.nEpochsDecay = 3
        return CycleGANTrainer(G_A: tinyGenerator(&rng, dropoutSeed: dropout ? 11 : nil), G_B: tinyGenerator(&rng),
                               D_A: tinyDiscriminator(&rng), D_B: tinyDiscriminator(&rng), options: o)
    }

    func cycleBatches(_ n: Int, batch: Int = 2, seed: UInt64 = 3) -> [TrainingBatch] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in
            let a = smoothImages(batch, &rng)
            return .pair(a, -a)   // domain B: inverted colors
        }
    }

    func testCycleGANLowersCycleLoss() {
        let t = makeCycleGAN(seed: 1, lr: 2e-3)
        var cycle: [Float] = []
        for b in cycleBatches(30) {
            t.optimizeParameters(b); t.progress.iteration += 1
            cycle.append(t.losses.cycle_A + t.losses.cycle_B)
            XCTAssertTrue(t.lossValues.allSatisfy { $0.value.isFinite })
        }
        print("cyclegan cycle loss: first \(average(cycle.prefix(5))) last \(average(cycle.suffix(5)))")
        XCTAssertLessThan(average(cycle.suffix(5)), 0.7 * average(cycle.prefix(5)))
        XCTAssertEqual(t.lossValues.map(\.name), ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"])
    }

    func testCycleGANResumeIsBitIdentical() throws {
        try assertResumeExact(make: { self.makeCycleGAN(seed: 4, pool: 3, dropout: true) }, batches: cycleBatches(4))
    }

    func testCycleGANWGANGPWithCriticStepsRunsAndResumes() throws {
        let make = { () -> CycleGANTrainer in
            var rng = SplitMix64(seed: 8)
            var o = TrainableModel.cyclegan.defaults; o.ganMode = .wgangp; o.dSteps = 2; o.seed = 8; o.poolSize = 2
            return CycleGANTrainer(G_A: tinyGenerator(&rng), G_B: tinyGenerator(&rng), D_A: tinyDiscriminator(&rng),
                                   D_B: tinyDiscriminator(&rng), options: o)
        }
        let t = make()
        let g0 = t.G_A.parameters[0].value.scalars, d0 = t.D_A.parameters[0].value.scalars
        t.optimizeParameters(cycleBatches(1)[0])  // iteration 0: D only (G every 2nd)
        XCTAssertEqual(t.G_A.parameters[0].value.scalars, g0)
        XCTAssertNotEqual(t.D_A.parameters[0].value.scalars, d0)
        try assertResumeExact(make: make, batches: cycleBatches(4))
    }

    // MARK: pix2pix

    func makePix2Pix(seed: UInt64, mode: GANMode = .vanilla, lr: Double = 2e-4) -> Pix2PixTrainer {
        var rng = SplitMix64(seed: seed)
        var o = TrainableModel.pix2pix.defaults
        o.ganMode = mode; o.seed = seed; o.lr = lr
        o.nEpochs = 1; o.nEpochsDecay = 3
        return Pix2PixTrainer(G: tinyGenerator(&rng, batchNorm: true, dropoutSeed: 5), D: tinyDiscriminator(&rng, inC: 6, batchNorm: true), options: o)
    }

    func testPix2PixLowersL1() {
        let t = makePix2Pix(seed: 2, lr: 2e-3)
        var l1s: [Float] = []
        for b in cycleBatches(30, seed: 6) {
            t.optimizeParameters(b); t.progress.iteration += 1
            l1s.append(t.losses.G_L1)
        }
        print("pix2pix L1 loss: first \(average(l1s.prefix(5))) last \(average(l1s.suffix(5)))")
        XCTAssertLessThan(average(l1s.suffix(5)), 0.7 * average(l1s.prefix(5)))
    }

    func testPix2PixResumeIsBitIdentical() throws {
        try assertResumeExact(make: { self.makePix2Pix(seed: 3) }, batches: cycleBatches(4, seed: 7))
        try assertResumeExact(make: { self.makePix2Pix(seed: 3, mode: .wgan) }, batches: cycleBatches(4, seed: 7))
    }

    // MARK: DCGAN / CGAN

    func dcganBatches(_ n: Int, batch: Int = 4, labels: Bool = false, seed: UInt64 = 9) -> [TrainingBatch] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in
            let l = (0..<batch).map { _ in Int.random(in: 0..<2, using: &rng) }
            // class 0: images near -0.5, class 1: near +0.5 (DCGAN: all near +0.5)
            let x = Tensor(uninitializedShape: [batch, 8, 8, 1])
            for i in 0..<batch { for j in 0..<64 {
                let base: Float = labels ? (l[i] == 0 ? -0.5 : 0.5) : 0.5
                x.uncheckedMutablePointer[i * 64 + j] = base + Float.random(in: -0.1..<0.1, using: &rng)
            } }
            return .images(x, labels: labels ? l : nil)
        }
    }

    func makeDCGAN(seed: UInt64, mode: GANMode = .vanilla, lr: Double = 2e-4) -> DCGANTrainer {
        var rng = SplitMix64(seed: seed)
        let G = DCGANGenerator(nz: 8, ngf: 4, outputNC: 1, imageSize: 8)
        let D = DCGANDiscriminator(inputNC: 1, ndf: 4, imageSize: 8)
        initialize(G, .normal, gain: 0.02, using: &rng); initialize(D, .normal, gain: 0.02, using: &rng)
        var o = TrainingOptions(); o.ganMode = mode; o.seed = seed; o.lr = lr; o.nEpochs = 1; o.nEpochsDecay = 3
        return DCGANTrainer(G: G, D: D, latentShape: [1, 1, 8], options: o)
    }

    func makeCGAN(seed: UInt64, mode: GANMode = .vanilla, lr: Double = 2e-4) -> CGANTrainer {
        var rng = SplitMix64(seed: seed)
        let G = Models.ConditionalGenerator(numClasses: 2, embedDim: 2, nz: 8, ngf: 4, outputNC: 1, imageSize: 8, using: &rng)
        let D = Models.ConditionalDiscriminator(numClasses: 2, embedDim: 2, inputNC: 1, ndf: 4, imageSize: 8, using: &rng)
        initialize(G, .normal, gain: 0.02, using: &rng); initialize(D, .normal, gain: 0.02, using: &rng)
        var o = TrainingOptions(); o.ganMode = mode; o.seed = seed; o.lr = lr; o.nEpochs = 1; o.nEpochsDecay = 3
        return CGANTrainer(G: G, D: D, latentShape: [8], numClasses: 2, options: o)
    }

    func testDCGANMovesSamplesTowardTheData() {
        let t = makeDCGAN(seed: 5, lr: 2e-3)
        let before = abs(t.samples(perClass: 16).mean().scalar - 0.5)
        for b in dcganBatches(40) { t.optimizeParameters(b); t.progress.iteration += 1 }
        let after = abs(t.samples(perClass: 16).mean().scalar - 0.5)
        print("dcgan |mean(sample) - mean(data)|: before \(before) after \(after); losses \(t.lossValues)")
        XCTAssertLessThan(after, 0.5 * before)
    }

    func testCGANLearnsTheLabels() {
        let t = makeCGAN(seed: 6, lr: 2e-3)
        for b in dcganBatches(60, labels: true) { t.optimizeParameters(b); t.progress.iteration += 1 }
        let grid = t.samples(perClass: 8)          // row 0: class 0, row 1: class 1
        XCTAssertEqual(grid.shape, [16, 8, 8, 1])
        let s = grid.scalars
        let m0 = s[0..<(8 * 64)].reduce(0, +) / Float(8 * 64), m1 = s[(8 * 64)...].reduce(0, +) / Float(8 * 64)
        print("cgan sample means: class 0 \(m0) (data -0.5), class 1 \(m1) (data +0.5); losses \(t.lossValues)")
        XCTAssertLessThan(m0, m1)
        XCTAssertEqual(imageGrid(grid, columns: 8).shape, [1, 16, 64, 1])
    }

    func testDCGANAndCGANResumeIsBitIdentical() throws {
        try assertResumeExact(make: { self.makeDCGAN(seed: 7, mode: .wgangp) }, batches: dcganBatches(4))
        try assertResumeExact(make: { self.makeCGAN(seed: 7) }, batches: dcganBatches(4, labels: true))
    }

    // MARK: checkpoints

    func testCheckpointNames() throws {
        let t = makeCycleGAN(seed: 2, pool: 2)
        t.trainEpoch(cycleBatches(2))
        let written = [temporaryDirectory() + "/latest.safetensors"]
        try TrainingCheckpoint.save(t, to: written[0], extraMetadata: ["img2img.config": "{}"])
        let f = try SafeTensors.read(path: written[0])
        XCTAssertNotNil(f["G_A.0.weight"])
        XCTAssertEqual(f["G_A.0.weight"]?.shape, [6, 3, 3, 3], "PyTorch layout")
        XCTAssertEqual(f["optimizer_G.state.G_A.0.weight.exp_avg"]?.shape, [6, 3, 3, 3])
        XCTAssertEqual(f["optimizer_D.state.D_B.2.bias.step"]?.integers, [2])
        XCTAssertEqual(f["fake_B_pool.images"]?.shape, [2, 16, 16, 3])
        XCTAssertEqual(f.metadata["img2img.config"], "{}")
        XCTAssertTrue(f.metadata[TrainingCheckpoint.metadataKey]!.contains("\"model\":\"cycle_gan\""))
        // a checkpoint of another model is refused
        XCTAssertThrowsError(try TrainingCheckpoint.load(written[0], into: makePix2Pix(seed: 1)))
    }

    func testNaNRefusesToSaveAndKeepsTheLastGoodFile() throws {
        let t = makePix2Pix(seed: 4)
        t.trainEpoch(cycleBatches(1))
        let path = temporaryDirectory() + "/latest.safetensors"
        try TrainingCheckpoint.save(t, to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let p = t.G.parameters.last!   // the last conv's bias (a NaN before the ReLU would be zeroed by it)
        p.update { v in v.withUnsafeMutableBufferPointer { $0[0] = .nan } }
        XCTAssertThrowsError(try TrainingCheckpoint.save(t, to: path)) { e in
            XCTAssertEqual(e as? TrainingError, .nonFiniteTensor(name: "G.4.bias"))
        }
        t.optimizeParameters(cycleBatches(1)[0])   // the NaN spreads into the losses
        XCTAssertThrowsError(try TrainingCheckpoint.save(t, to: path)) { e in
            guard case .nonFiniteLoss(let name, _)? = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertEqual(name, "G_GAN")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), good)
    }

    /// N batches in 2 epochs straight == 1 epoch, save, load into fresh objects, 1 epoch.
    func assertResumeExact<T: GANTrainer>(make: () -> T, batches: [TrainingBatch], file: StaticString = #filePath, line: UInt = #line) throws {
        let half = batches.count / 2
        let straight = make()
        straight.trainEpoch(batches[..<half])
        straight.trainEpoch(batches[half...])

        let first = make()
        first.trainEpoch(batches[..<half])
        let path = temporaryDirectory() + "/latest.safetensors"
        try TrainingCheckpoint.save(first, to: path)
        let resumed = make()
        // fresh objects: perturb the weights so that only the checkpoint can make them equal
        for p in resumed.networks.flatMap({ $0.module.parameters }) { p.update { $0 = $0 + 1 } }
        try TrainingCheckpoint.load(path, into: resumed)
        resumed.trainEpoch(batches[half...])

        XCTAssertEqual(resumed.progress, straight.progress, file: file, line: line)
        XCTAssertEqual(resumed.schedule, straight.schedule, file: file, line: line)
        XCTAssertEqual(resumed.rng.state, straight.rng.state, file: file, line: line)
        let a = allTensors(straight), b = allTensors(resumed)
        XCTAssertEqual(Set(a.keys), Set(b.keys), file: file, line: line)
        var differing: [String] = []
        for (k, v) in a where b[k] != v { differing.append(k) }
        XCTAssertEqual(differing.sorted(), [], "tensors differ after resume (\(straight.modelName))", file: file, line: line)
        XCTAssertNotEqual(a, allTensors(make()), "training changed nothing", file: file, line: line)
    }
}
