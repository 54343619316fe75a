// One training step against the paper code, from the fixtures written by
//   python3 tools/make_model_fixtures.py --only cyclegan_step pix2pix_step wgangp_step
// (torch 2.15.0, CPU, 1 thread; see Tests/ModelTests/Fixtures/README.md): same initial
// weights and inputs (image pool off), one optimize_parameters(), then the gradients and the
// updated weights are compared.
// Tolerance: |ours - torch| <= 1e-5 + 1e-4 |torch| for updated weights and buffers, 1e-4 + 1e-2 |torch|
// for gradients, 1e-5 + 1e-4 |torch| for losses (the measured maxima are printed; at the time of
// writing: updated weights max |d| 4e-8 (CycleGAN), 1.3e-6 (pix2pix, a BN running stat), 4e-8 (WGAN-GP)). Parameters the fixture lists as noise-dominated (analytically zero gradient, e.g.
// a conv bias followed by an affine-free InstanceNorm: Adam turns roundoff into +-lr) are
// skipped for the updated weights, as the fixture's README asks.
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
import _TestSupport

let fixtureDirectory = TestPaths.inRepo("Tests/ModelTests/Fixtures").path

func fixture(_ name: String) throws -> TensorFile {
    let path = fixtureDirectory + "/" + name
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("fixture \(name) not present") }
    return try SafeTensors.read(path: path)
}

func tensor(_ f: TensorFile, _ name: String) -> Tensor {
    let t = f[name]!
    return Tensor(shape: t.shape, scalars: t.values)
}

func image(_ f: TensorFile, _ name: String) -> Tensor { tensor(f, name).nchwToNHWC() }

func loadNetwork(_ m: any Module, from f: TensorFile, prefix: String) throws {
    let entries = f.tensors.filter { $0.name.hasPrefix(prefix) }.map {
        StateDict.Entry(name: String($0.name.dropFirst(prefix.count)), tensor: Tensor(shape: $0.shape, scalars: $0.values),
                        isInteger: $0.integers != nil)
    }
    try m.loadStateDict(StateDict(entries))
}

struct Deviation: CustomStringConvertible {
    var maxAbs: Float = 0, maxRel: Float = 0, worst = "", compared = 0
    var description: String { "max |d| \(maxAbs), max |d|/max(|ref|,1e-3) \(maxRel) (\(worst)), \(compared) tensors" }
}

/// Compares every tensor of `m` (PyTorch layout) with `<prefix><name>` of the fixture.
func compareNetwork(_ m: any Module, _ f: TensorFile, prefix: String, skip: Set<String> = [], atol: Float = 1e-5, rtol: Float = 1e-4,
                    grads: Bool = false, gradAtol: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) -> Deviation {
    var d = Deviation()
    for (name, t) in m.namedTensors() {
        if skip.contains(name) { continue }
        let ours: Tensor
        if grads {
            guard let v = t.variable else { continue }
            ours = t.layout.toPyTorch(v.grad ?? Tensor(zeros: v.shape))
        } else {
            ours = t.pyTorchValue
        }
        guard let ref = f[prefix + name] else { XCTFail("fixture has no \(prefix + name)", file: file, line: line); continue }
        XCTAssertEqual(ours.shape, ref.shape, prefix + name, file: file, line: line)
        d.compared += 1
        for (a, b) in zip(ours.scalars, ref.values) {
            let e = abs(a - b)
            if e > d.maxAbs { d.maxAbs = e }
            let r = e / max(abs(b), 1e-3)   // relative to max(|ref|, 1e-3): near-zero entries count absolutely
            if r > d.maxRel { d.maxRel = r; d.worst = prefix + name }
            // gradients: |d| <= 1e-4 + 1e-2 |ref| (accumulation order differs; Adam's first step
            // depends on them only through m / sqrt(v), so the weights agree far more tightly)
            if grads ? e > gradAtol + 1e-2 * abs(b) : e > atol + rtol * abs(b) {
                XCTFail("\(prefix + name): \(a) vs torch \(b)", file: file, line: line)
                break
            }
        }
    }
    return d
}

final class ParityTests: XCTestCase {
    func testCycleGANStepMatchesPaperCode() throws {
        let f = try fixture("cyclegan_step.safetensors")
        var rng = SplitMix64(seed: 0)
        let g = ModelConfig.generator("resnet_6blocks", ngf: 4, norm: .instance)
        let d = ModelConfig.discriminator("basic", inputNC: 3, ndf: 4, norm: .instance)
        let nets = try (0..<4).map { try makeLayer($0 < 2 ? g : d, using: &rng) }
        for (n, m) in zip(["G_A.", "G_B.", "D_A.", "D_B."], nets) { try loadNetwork(m, from: f, prefix: n) }
        var o = TrainableModel.cyclegan.defaults
        o.poolSize = 0
        let t = CycleGANTrainer(G_A: nets[0], G_B: nets[1], D_A: nets[2], D_B: nets[3], options: o)
        t.optimizeParameters(.pair(image(f, "real_A"), image(f, "real_B")))

        let l = t.losses
        let expected: [(Float, String)] = [(l.G_A, "loss_G_A"), (l.G_B, "loss_G_B"), (l.cycle_A, "loss_cycle_A"), (l.cycle_B, "loss_cycle_B"),
                                           (l.idt_A, "loss_idt_A"), (l.idt_B, "loss_idt_B"), (l.D_A, "loss_D_A"), (l.D_B, "loss_D_B")]
        for (ours, key) in expected {
            let ref = f[key]!.values[0]
            XCTAssertEqual(ours, ref, accuracy: 1e-5 + 1e-4 * abs(ref), key)
        }
        let noisy = Set((f.metadata["noise_dominated_params"] ?? "").split(separator: ",").map(String.init))
        for (n, m) in zip(["G_A", "G_B", "D_A", "D_B"], nets) {
            let skip = Set(noisy.filter { $0.hasPrefix(n + ".") }.map { String($0.dropFirst(n.count + 1)) })
            let gd = compareNetwork(m, f, prefix: "grad.\(n).", skip: skip, grads: true)
            let wd = compareNetwork(m, f, prefix: "after.\(n).", skip: skip)
            print("cyclegan_step \(n): gradients \(gd); updated weights \(wd)")
        }
    }

    func testPix2PixStepMatchesPaperCode() throws {
        let f = try fixture("pix2pix_step.safetensors")
        var rng = SplitMix64(seed: 0)
        let G = try makeLayer(.generator("unet_32", ngf: 4, norm: .batch), using: &rng)
        let D = try makeLayer(.discriminator("basic", inputNC: 6, ndf: 4, norm: .batch), using: &rng)
        try loadNetwork(G, from: f, prefix: "G."); try loadNetwork(D, from: f, prefix: "D.")
        let t = Pix2PixTrainer(G: G, D: D)
        t.optimizeParameters(.pair(image(f, "real_A"), image(f, "real_B")))
        let l = t.losses
        for (ours, key) in [(l.G_GAN, "loss_G_GAN"), (l.G_L1, "loss_G_L1"), (l.D_real, "loss_D_real"), (l.D_fake, "loss_D_fake"), (t.lossD, "loss_D")] {
            let ref = f[key]!.values[0]
            XCTAssertEqual(ours, ref, accuracy: 1e-5 + 1e-4 * abs(ref), key)
        }
        for (n, m) in [("G", G), ("D", D)] as [(String, any Module)] {
            let gd = compareNetwork(m, f, prefix: "grad.\(n).", grads: true)
            // includes BN running statistics (D's updated 3 times, G's once) and num_batches_tracked
            let wd = compareNetwork(m, f, prefix: "after.\(n).")
            print("pix2pix_step \(n): gradients \(gd); updated weights and buffers \(wd)")
        }
    }

    /// The critic step with the penalty: loss_D = (-mean D(real) + mean D(fake)) * 0.5 + gp.
    func testWGANGPCriticStepMatchesPaperCode() throws {
        let f = try fixture("wgangp_step.safetensors")
        var rng = SplitMix64(seed: 0)
        let D = try makeLayer(.discriminator("n_layers", inputNC: 3, ndf: 4, nLayersD: 2, norm: .none), using: &rng)
        try loadNetwork(D, from: f, prefix: "D.")
        let real = image(f, "real"), fake = image(f, "fake")
        let alpha = f["alpha"]!.values
        let gan = GANLoss(.wgangp)
        let params = D.namedParameters()
        // the penalty's own parameter gradient (second derivatives)
        var unused = SplitMix64(seed: 0)
        let gp = gradientPenalty(critic: { D($0) }, real: real, fake: fake, alpha: alpha, using: &unused)
        XCTAssertEqual(gp.value.scalar, f["gradient_penalty"]!.values[0], accuracy: 1e-4 * abs(f["gradient_penalty"]!.values[0]) + 1e-6)
        gp.backward()
        var maxGP = Deviation()
        for (name, t) in D.namedTensors() {
            guard let v = t.variable else { continue }
            let ours = t.layout.toPyTorch(v.grad ?? Tensor(zeros: v.shape)).scalars
            let ref = f["grad_gp.D." + name]!.values
            for (a, b) in zip(ours, ref) {
                maxGP.maxAbs = max(maxGP.maxAbs, abs(a - b))
                XCTAssertEqual(a, b, accuracy: 1e-4 + 1e-3 * abs(b), "grad_gp.D.\(name)")
            }
        }
        print("wgangp_step: penalty parameter gradients max |d| \(maxGP.maxAbs)")
        D.zeroGrad()
        // the full critic step through Adam
        let adam = Adam(params, lr: 2e-4, beta1: 0.5)
        var opts = TrainingOptions(); opts.ganMode = .wgangp
        let critic: (Variable) -> Variable = { D($0) }
        let lossReal = gan(critic(Variable(real)), targetIsReal: true)
        let lossFake = gan(critic(Variable(fake)), targetIsReal: false)
        let loss = (lossReal + lossFake) * 0.5 + gradientPenalty(critic: critic, real: real, fake: fake, alpha: alpha, using: &unused)
        XCTAssertEqual(loss.value.scalar, f["loss_D"]!.values[0], accuracy: 1e-4 * abs(f["loss_D"]!.values[0]) + 1e-6)
        loss.backward()
        let gd = compareNetwork(D, f, prefix: "grad.D.", grads: true)
        adam.step()
        let wd = compareNetwork(D, f, prefix: "after.D.")
        print("wgangp_step: gradients \(gd); updated weights \(wd)")
    }
}
