// Issue 12: the CGAN discriminator must check that image and label match. The D step's
// mismatched pairs (GAN-CLS), the projection discriminator and spectral norm.
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

/// A discriminator that never looks at the label: for it a mismatched pair is a real pair.
final class LabelBlindDiscriminator: LabelConditionalDiscriminator {
    let d: DCGANDiscriminator
    init(_ d: DCGANDiscriminator) { self.d = d }
    var children: [(name: String, module: any Module)] { [("d", d)] }
    func callAsFunction(_ x: Variable, labels: [Int]) -> Variable { d(x) }
}

final class CGANDiscriminatorTests: XCTestCase {
    /// Two classes of 8x8 gray images: class 0 near -0.5, class 1 near +0.5.
    func batches(_ n: Int, batch: Int = 4, seed: UInt64 = 9) -> [TrainingBatch] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in
            let l = (0..<batch).map { _ in Int.random(in: 0..<2, using: &rng) }
            let x = Tensor(uninitializedShape: [batch, 8, 8, 1])
            for i in 0..<batch { for j in 0..<64 {
                x.uncheckedMutablePointer[i * 64 + j] = (l[i] == 0 ? -0.5 : 0.5) + Float.random(in: -0.1..<0.1, using: &rng)
            } }
            return .images(x, labels: l)
        }
    }

    /// Half the batches, a checkpoint, a fresh trainer loaded from it and the other half give
    /// what training straight through gives, bit for bit (u, v of spectral norm included).
    func assertResumesExactly(make: () -> CGANTrainer, batches: [TrainingBatch], file: StaticString = #filePath,
                              line: UInt = #line) throws {
        let half = batches.count / 2
        let straight = make()
        straight.trainEpoch(batches[..<half]); straight.trainEpoch(batches[half...])
        let first = make()
        first.trainEpoch(batches[..<half])
        let path = temporaryDirectory() + "/latest.safetensors"
        try TrainingCheckpoint.save(first, to: path)
        let resumed = make()
        for p in resumed.networks.flatMap({ $0.module.parameters }) { p.update { $0 = $0 + 1 } }
        try TrainingCheckpoint.load(path, into: resumed)
        resumed.trainEpoch(batches[half...])
        XCTAssertEqual(resumed.rng.state, straight.rng.state, file: file, line: line)
        let a = allTensors(straight), b = allTensors(resumed)
        XCTAssertEqual(Set(a.keys), Set(b.keys), file: file, line: line)
        XCTAssertEqual(a.keys.filter { b[$0] != a[$0] }.sorted(), [], "tensors differ after resume", file: file, line: line)
        XCTAssertTrue(a.keys.contains { $0.hasSuffix("weight_u") } == (a.keys.contains { $0.hasSuffix("weight_orig") }))
    }

    func makeCGAN(seed: UInt64, mode: GANMode = .vanilla, lr: Double = 2e-4, mismatch: Float,
                  projection: Bool = false, spectralNorm: Bool = false) -> CGANTrainer {
        var o = TrainingOptions(); o.ganMode = mode; o.seed = seed; o.lr = lr; o.nEpochs = 1; o.nEpochsDecay = 3
        return NoiseGANTrainer.cgan(numClasses: 2, embedDim: 2, nz: 8, ngf: 4, ndf: 4, channels: 1, imageSize: 8,
                                    discriminator: projection ? .projection : .basic, spectralNorm: spectralNorm,
                                    mismatchWeight: mismatch, options: o)
    }

    func parameters(_ m: any Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: m.namedParameters().map { ($0.name, $0.variable.value.scalars) })
    }

    /// The D step as it was before mismatched pairs, on `t`'s own networks, generator and optimizer.
    func oldDiscriminatorStep(_ t: CGANTrainer, _ batch: TrainingBatch) -> (real: Float, fake: Float) {
        let labels = batch.labels!
        let G = t.generator as! ConditionalGenerator, D = t.discriminator as! ConditionalDiscriminator
        let z = Variable(t.sampleNoise(batch.realA.shape[0]))
        let fake = G(z, labels: labels)
        t.discriminator.setRequiresGrad(true)
        t.optimizerD.zeroGrad()
        let loss = GANLoss(t.options.ganMode)
        let critic: (Variable) -> Variable = { D($0, labels: labels) }
        let lossReal = loss(critic(Variable(batch.realA)), targetIsReal: true)
        let lossFake = loss(critic(fake.detached()), targetIsReal: false)
        var lossD = (lossReal + lossFake) * 0.5
        if t.options.ganMode == .wgangp {
            lossD = lossD + gradientPenalty(critic: critic, real: batch.realA, fake: fake.value, lambda: t.options.lambdaGP,
                                            using: &t.rng)
        }
        lossD.backward()
        t.optimizerD.step()
        return (lossReal.value.scalar, lossFake.value.scalar)
    }

    func testMismatchWeightZeroIsTheOldLossBitForBitAndAPositiveWeightIsNot() {
        for mode in [GANMode.vanilla, .wgangp] {
            let b = batches(1)[0]
            let reference = makeCGAN(seed: 3, mode: mode, mismatch: 0)
            let old = oldDiscriminatorStep(reference, b)
            let off = makeCGAN(seed: 3, mode: mode, mismatch: 0)
            off.optimizeParameters(b)
            let on = makeCGAN(seed: 3, mode: mode, mismatch: 0.5)
            on.optimizeParameters(b)
            // D's parameters after its step (the G step that follows does not touch them)
            XCTAssertEqual(parameters(off.discriminator), parameters(reference.discriminator), "\(mode)")
            XCTAssertEqual([off.losses.D_real, off.losses.D_fake], [old.real, old.fake], "\(mode)")
            XCTAssertNotEqual(parameters(on.discriminator), parameters(reference.discriminator),
                              "\(mode): mismatched pairs must change D's step")
            XCTAssertFalse(off.lossValues.contains { $0.name == "D_wrong" })
            XCTAssertTrue(on.lossValues.contains { $0.name == "D_wrong" })
        }
    }

    func testDsLossScoresRealImagesWithWrongLabelsAsFake() {
        let b = batches(1)[0]
        // A label-blind D scores a mismatched pair exactly as the real pair: D_wrong is then the
        // loss of the real images taken as fake.
        var rng = SplitMix64(seed: 4)
        let G = ConditionalGenerator(numClasses: 2, embedDim: 2, nz: 8, ngf: 4, outputNC: 1, imageSize: 8, using: &rng)
        let blindD = DCGANDiscriminator(inputNC: 1, ndf: 4, imageSize: 8)
        initialize(G, using: &rng); initialize(blindD, using: &rng)
        var o = TrainingOptions(); o.seed = 4; o.ganMode = .vanilla
        let blind = CGANTrainer(G: G, D: LabelBlindDiscriminator(blindD), latentShape: [8], numClasses: 2,
                                mismatchWeight: 0.5, options: o)
        let expected = withNoGrad { GANLoss(.vanilla)(blindD(Variable(b.realA)), targetIsReal: false) }.value.scalar
        blind.optimizeParameters(b)
        XCTAssertEqual(blind.losses.D_wrong, expected, accuracy: 1e-6)
        let expectedD = (blind.losses.D_real + 0.5 * blind.losses.D_fake + 0.5 * blind.losses.D_wrong) * 0.5
        XCTAssertEqual(blind.losses.D, expectedD, accuracy: 1e-5, "loss_D = (real + (1-w) fake + w wrong) / 2")

        // A D that reads the label scores the same images differently under the wrong labels.
        let reading = makeCGAN(seed: 4, mismatch: 0.5)
        let D = reading.discriminator as! ConditionalDiscriminator
        let asFake = withNoGrad { GANLoss(.vanilla)(D(Variable(b.realA), labels: b.labels!), targetIsReal: false) }.value.scalar
        reading.optimizeParameters(b)
        XCTAssertNotEqual(reading.losses.D_wrong, asFake)
    }

    func testWrongLabelsAreAnotherClassFromTheSeededGenerator() {
        let t = makeCGAN(seed: 5, mismatch: 0.5)
        let labels = Array(repeating: [0, 1], count: 200).flatMap { $0 }
        XCTAssertEqual(t.wrongLabels(for: labels), labels.map { 1 - $0 }, "with two classes the wrong label is the other")
        var o = TrainingOptions(); o.seed = 5
        var rng = SplitMix64(seed: 1)
        let five = CGANTrainer(G: ConditionalGenerator(numClasses: 5, embedDim: 2, nz: 8, ngf: 4, outputNC: 1, imageSize: 8, using: &rng),
                               D: ConditionalDiscriminator(numClasses: 5, embedDim: 2, inputNC: 1, ndf: 4, imageSize: 8, using: &rng),
                               latentShape: [8], numClasses: 5, options: o)
        let many = Array(repeating: 2, count: 4000)
        let wrong = five.wrongLabels(for: many)
        XCTAssertFalse(wrong.contains(2))
        for k in [0, 1, 3, 4] {
            XCTAssertEqual(Double(wrong.filter { $0 == k }.count) / 4000, 0.25, accuracy: 0.04, "uniform over the others")
        }
    }

    /// mean over real images of D(x, its label) - D(x, the other label)
    func labelGap(_ t: CGANTrainer, _ b: TrainingBatch) -> Float {
        let D = t.discriminator as! (any LabelConditionalDiscriminator)
        let l = b.labels!
        let right = withNoGrad { D(Variable(b.realA), labels: l) }.value.scalars
        let wrong = withNoGrad { D(Variable(b.realA), labels: l.map { 1 - $0 }) }.value.scalars
        return zip(right, wrong).map { $0 - $1 }.reduce(0, +) / Float(right.count)
    }

    func testMismatchedPairsTeachDTheLabel() {
        let data = batches(40, seed: 11), probe = batches(4, seed: 12)
        func gap(_ t: CGANTrainer) -> Float {
            for b in data { t.optimizeParameters(b); t.progress.iteration += 1 }
            t.discriminator.testMode(runningStatistics: false)
            defer { t.discriminator.train() }
            return probe.map { labelGap(t, $0) }.reduce(0, +) / Float(probe.count)
        }
        for projection in [false, true] {
            let without = gap(makeCGAN(seed: 8, lr: 2e-3, mismatch: 0, projection: projection, spectralNorm: projection))
            let with = gap(makeCGAN(seed: 8, lr: 2e-3, mismatch: 0.5, projection: projection, spectralNorm: projection))
            print("D(x, y) - D(x, wrong y), projection \(projection): without mismatched pairs \(without), with \(with)")
            // the projection's inner product reads the label from the start (its gap is large
            // either way); the concatenating D barely does without the mismatched pairs
            XCTAssertGreaterThan(with, projection ? without : without + 0.25, "projection \(projection)")
        }
    }

    func testProjectionAndSpectralNormResumeBitForBit() throws {
        try assertResumesExactly(make: { self.makeCGAN(seed: 7, mismatch: 0.5, projection: true, spectralNorm: true) },
                                           batches: batches(4))
        try assertResumesExactly(make: { self.makeCGAN(seed: 7, mode: .wgangp, mismatch: 0.5, spectralNorm: true) },
                                           batches: batches(4))
    }

    func testProjectionAndSpectralNormCheckpointNames() {
        let t = makeCGAN(seed: 1, mismatch: 0.5, projection: true, spectralNorm: true)
        let names = t.discriminator.namedTensors().map(\.name)
        XCTAssertEqual(names.filter { $0.hasPrefix("linear.") }, ["linear.bias", "linear.weight_orig", "linear.weight_u", "linear.weight_v"])
        XCTAssertEqual(names.filter { $0.hasPrefix("label_emb.") }, ["label_emb.weight_orig", "label_emb.weight_u", "label_emb.weight_v"])
        XCTAssertTrue(names.contains("main.0.weight_orig"))
        for sn in [false, true] {
            var rng = SplitMix64(seed: 1)
            let d = ProjectionDiscriminator(numClasses: 2, inputNC: 1, ndf: 4, imageSize: 16, spectralNorm: sn, using: &rng)
            XCTAssertEqual(d.namedTensors().contains { $0.name.contains("running_mean") }, !sn, "batch norm only without spectral norm")
        }
    }
}
