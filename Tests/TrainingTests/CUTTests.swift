// CUT and FastCUT against their code (fixtures: python3 tools/make_cut_fixtures.py, torch 2.15.0):
// the PatchNCE loss alone, and one optimize_parameters() each (same initial G, D, netF, inputs,
// patch locations and flip), compared as the CycleGAN step (ParityTests: losses 1e-5 + 1e-4 |ref|,
// gradients 1e-4 + 1e-2 |ref|, updated weights 1e-5 + 1e-4 |ref|, noise-dominated biases skipped).
// FastCUT's lambda_NCE 10 scales G's gradients (up to ~60 here) and their roundoff tenfold: its
// gradient floor is 1e-3 (measured: 9e-4 at an entry of 0.0175; the weights agree to 1.5e-8).
// Then the run level: resume after netF's creation is exact, and the registrations' defaults.
import Autograd
import Checkpoint
import Foundation
import ImageIO
import Models
import NN
import TensorCore
@testable import Training
@testable import Trainers
import Evaluation
import XCTest

final class CUTTests: XCTestCase {
    func ids(_ f: TensorFile, _ prefix: String) -> [[Int]] {
        var out: [[Int]] = []
        while let t = f["\(prefix).\(out.count)"] { out.append((t.integers ?? []).map { Int($0) }) }
        return out
    }

    func testPatchNCELossMatchesCUTCode() throws {
        let f = try fixture("cut_patchnce.safetensors")
        let q = Variable(tensor(f, "q"), requiresGrad: true), k = Variable(tensor(f, "k"))
        for (batchDim, key) in [(2, "loss"), (1, "loss_all_negatives")] {
            let ours = patchNCELoss(q, k, batchDim: batchDim, temperature: 0.07).value.scalars
            let ref = f[key]!.values
            XCTAssertEqual(ours.count, ref.count)
            var worst: Float = 0
            for (a, b) in zip(ours, ref) {
                worst = max(worst, abs(a - b))
                XCTAssertEqual(a, b, accuracy: 1e-5 + 1e-4 * abs(b), key)
            }
            print("PatchNCE \(key) (batch dim \(batchDim)): max |d| \(worst)")
        }
        // the batch dimension matters: same rows, other negatives, other losses
        let a = patchNCELoss(q, k, batchDim: 2, temperature: 0.07).value.scalars
        let b = patchNCELoss(q, k, batchDim: 1, temperature: 0.07).value.scalars
        XCTAssertGreaterThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-3)
    }

    /// One step from the fixture; returns the trainer (networks after the step).
    func step(_ name: String, fast: Bool) throws -> (CUTTrainer, TensorFile) {
        let f = try fixture(name)
        var rng = SplitMix64(seed: 0)
        var g = ModelConfig.generator(f.metadata["netG"]!, ngf: 4, norm: .instance)
        g.antialias = true; g.antialiasUp = true
        var d = ModelConfig.discriminator("basic", inputNC: 3, ndf: 4, norm: .instance)
        d.antialias = true
        let G = try XCTUnwrap(try makeLayer(g, using: &rng) as? ResnetGenerator)
        let D = try makeLayer(d, using: &rng)
        try loadNetwork(G, from: f, prefix: "G.")
        try loadNetwork(D, from: f, prefix: "D.")
        var o = (fast ? TrainableModel.fastcut : TrainableModel.cut).defaultOptions(dataroot: "", name: "")
        o.nceIdt = f.metadata["nce_idt"] == "true"
        o.lambdaNCE = Float(f.metadata["lambda_NCE"]!)!
        o.flipEquivariance = f.metadata["flip_equivariance"] == "true"
        o.numPatches = Int(f.metadata["num_patches"]!)!
        o.netFNc = Int(f.metadata["netF_nc"]!)!
        XCTAssertEqual(o.nceIdt, !fast); XCTAssertEqual(o.flipEquivariance, fast)
        let t = CUTTrainer(netG: G, netD: D, options: o)
        var channels: [Int] = []
        while let w = f["F.mlp_\(channels.count).0.weight"] { channels.append(w.shape[1]) }
        t.createNetF(channels: channels)
        try loadNetwork(t.netF, from: f, prefix: "F.")
        t.injectedPatchIDs = [ids(f, "ids_NCE")] + (o.nceIdt ? [ids(f, "ids_NCE_Y")] : [])
        t.injectedFlip = f.metadata["flipped"] == "true"
        t.optimizeParameters(.pair(image(f, "real_A"), image(f, "real_B")))
        XCTAssertTrue(t.injectedPatchIDs.isEmpty, "every NCE computation took its fixed locations")
        return (t, f)
    }

    func checkStep(_ name: String, fast: Bool) throws {
        let (t, f) = try step(name, fast: fast)
        XCTAssertEqual(t.flippedForEquivariance, fast)
        let l = t.losses
        for (ours, key) in [(l.G_GAN, "loss_G_GAN"), (l.D_real, "loss_D_real"), (l.D_fake, "loss_D_fake"), (l.G, "loss_G"),
                            (l.NCE, "loss_NCE"), (l.NCE_Y, "loss_NCE_Y")] {
            let ref = f[key]!.values[0]
            XCTAssertEqual(ours, ref, accuracy: 1e-5 + 1e-4 * abs(ref), key)
        }
        XCTAssertGreaterThan(l.NCE, 0)
        let noisy = Set((f.metadata["noise_dominated_params"] ?? "").split(separator: ",").map(String.init))
        for (n, m) in [("G", t.netG), ("D", t.netD), ("F", t.netF)] as [(String, any Module)] {
            let skip = Set(noisy.filter { $0.hasPrefix(n + ".") }.map { String($0.dropFirst(n.count + 1)) })
            let gd = compareNetwork(m, f, prefix: "grad.\(n).", skip: skip, grads: true, gradAtol: fast ? 1e-3 : 1e-4)
            let wd = compareNetwork(m, f, prefix: "after.\(n).", skip: skip)
            XCTAssertGreaterThan(wd.compared, 0)
            print("\(name) \(n): gradients \(gd); updated weights \(wd)")
        }
    }

    func testCUTStepMatchesCUTCode() throws { try checkStep("cut_step.safetensors", fast: false) }

    func testFastCUTStepMatchesCUTCode() throws { try checkStep("fastcut_step.safetensors", fast: true) }

    /// The fixed locations are what makes the comparison pass: other locations, other loss.
    func testOtherPatchLocationsGiveAnotherNCELoss() throws {
        let f = try fixture("cut_step.safetensors")
        var shifted = ids(f, "ids_NCE")
        shifted = shifted.map { l in l.map { ($0 + 1) % (l.max()! + 1) } }
        var rng = SplitMix64(seed: 0)
        var g = ModelConfig.generator(f.metadata["netG"]!, ngf: 4); g.antialias = true; g.antialiasUp = true
        var d = ModelConfig.discriminator("basic", inputNC: 3, ndf: 4); d.antialias = true
        let G = try XCTUnwrap(try makeLayer(g, using: &rng) as? ResnetGenerator), D = try makeLayer(d, using: &rng)
        try loadNetwork(G, from: f, prefix: "G."); try loadNetwork(D, from: f, prefix: "D.")
        var o = TrainableModel.cut.defaults; o.numPatches = 16; o.netFNc = 16
        let t = CUTTrainer(netG: G, netD: D, options: o)
        var channels: [Int] = []
        while let w = f["F.mlp_\(channels.count).0.weight"] { channels.append(w.shape[1]) }
        t.createNetF(channels: channels)
        try loadNetwork(t.netF, from: f, prefix: "F.")
        t.injectedPatchIDs = [shifted, ids(f, "ids_NCE_Y")]
        t.optimizeParameters(.pair(image(f, "real_A"), image(f, "real_B")))
        let ref = f["loss_NCE"]!.values[0]
        XCTAssertGreaterThan(abs(t.losses.NCE - ref), 1e-3 * abs(ref))
        XCTAssertEqual(t.losses.NCE_Y, f["loss_NCE_Y"]!.values[0], accuracy: 1e-5 + 1e-4 * abs(f["loss_NCE_Y"]!.values[0]))
    }

    // MARK: - Runs

    var tmp: String!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-cut-\(UUID().uuidString)").path
        for (dir, seed) in [("trainA", 1), ("trainB", 2)] {
            try FileManager.default.createDirectory(atPath: tmp + "/data/" + dir, withIntermediateDirectories: true)
            for i in 0..<3 {
                let img = Image(width: 32, height: 32, channels: 3,
                                pixels8: (0..<(32 * 32 * 3)).map { UInt8(($0 * (29 + i) + seed * 71) % 256) })
                try writeImage(img, to: "\(tmp!)/data/\(dir)/\(i).png")
            }
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tmp) }

    func options(_ model: TrainableModel, name: String, epochs: Int) -> TrainOptions {
        var o = model.defaultOptions(dataroot: tmp + "/data", name: name)
        o.checkpointsDir = tmp + "/runs"
        o.netG = "resnet_1blocks"; o.ngf = 4; o.ndf = 4
        o.preprocess = .none; o.batchSize = 1
        o.nEpochs = epochs; o.nEpochsDecay = 1; o.printFreq = 1; o.seed = 5
        o.numPatches = 8
        o.netFNc = 8
        return o
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// A stop after netF exists, then --continue: netF and optimizer_F are restored and the run
    /// ends byte for byte as an uninterrupted one (patch locations and flips included).
    func testStopAndContinueAfterNetFIsCreatedIsExact() throws {
        for model in [TrainableModel.cut, .fastcut] {
            let straight = try TrainingRun(options: options(model, name: model.name + "-straight", epochs: 1))
            XCTAssertEqual(try straight.run(), .finished)
            let file = try SafeTensors.read(path: straight.latestPath)
            XCTAssertNotNil(file["F.mlp_0.0.weight"], "the checkpoint holds netF")
            XCTAssertNotNil(file["optimizer_F.state.F.mlp_0.0.weight.exp_avg"], "and optimizer_F")

            var o = options(model, name: model.name + "-stopped", epochs: 1)
            let box = Locked<TrainingRun?>(nil)
            let stopped = try TrainingRun(options: o, events: TrainingEvents(iteration: { s in
                if s.iteration == 2 { box.withLock { $0 }?.requestStop() }
            }))
            box.withLock { $0 = stopped }
            XCTAssertEqual(try stopped.run(), .interrupted)
            box.withLock { $0 = nil }
            o.continueTrain = true
            let resumed = try TrainingRun(options: o)
            XCTAssertEqual(try resumed.run(), .finished)
            XCTAssertEqual(try bytes(straight.latestPath), try bytes(resumed.latestPath), model.name)
            for net in ["G", "F", "D"] {
                XCTAssertEqual(try bytes(straight.directory + "/latest_net_\(net).safetensors"),
                               try bytes(resumed.directory + "/latest_net_\(net).safetensors"), "\(model.name) \(net)")
            }
            // the generator file translates without flags (architecture in the file)
            let g = try loadNetwork(path: straight.directory + "/latest_net_G.safetensors")
            XCTAssertTrue(g.config.antialias && g.config.antialiasUp)
        }
    }

    func testRegistrationsCarryCUTsDefaultsAndOptionNames() throws {
        XCTAssertNotNil(ModelRegistry.model(named: "cut"))
        XCTAssertNotNil(ModelRegistry.model(named: "fastcut"))
        let cut = TrainableModel.cut.defaultOptions(dataroot: "d", name: "n")
        let fast = TrainableModel.fastcut.defaultOptions(dataroot: "d", name: "n")
        XCTAssertEqual(cut.lambdaNCE, 1); XCTAssertEqual(fast.lambdaNCE, 10)
        XCTAssertTrue(cut.nceIdt); XCTAssertFalse(fast.nceIdt)
        XCTAssertFalse(cut.flipEquivariance); XCTAssertTrue(fast.flipEquivariance)
        XCTAssertEqual([cut.nEpochs, cut.nEpochsDecay, fast.nEpochs, fast.nEpochsDecay], [200, 200, 150, 50])
        XCTAssertEqual(cut.nceLayers.values, [0, 4, 8, 12, 16])
        XCTAssertEqual(cut.numPatches, 256); XCTAssertEqual(cut.netFNc, 256)
        XCTAssertEqual(cut.nceT, 0.07, accuracy: 1e-7)
        XCTAssertEqual(cut.initType, .xavier); XCTAssertEqual(cut.ganMode, .lsgan)
        XCTAssertEqual(Set(cut.modelValues.keys), ["lambda_GAN", "lambda_NCE", "nce_idt", "nce_layers",
                                                     "nce_includes_all_negatives_from_minibatch", "netF_nc", "nce_T",
                                                     "num_patches", "flip_equivariance", "no_antialias", "no_antialias_up"])

        var o = cut
        try o.parseCommandLine(["--nce-layers", "0,2,4", "--no-nce-idt", "--nce-T=0.1", "--no-antialias"], for: .cut)
        XCTAssertEqual(o.nceLayers.values, [0, 2, 4])
        XCTAssertFalse(o.nceIdt)
        XCTAssertTrue(o.noAntialias)
        XCTAssertThrowsError(try o.parseCommandLine(["--nce-layers", "0,x"], for: .cut))
        XCTAssertThrowsError(try o.parseCommandLine(["--nce-layers", "-1"], for: .cut))
        // layers must exist in G and be ascending
        var bad = cut
        bad.nceLayers = IntList([0, 40])
        XCTAssertThrowsError(try TrainableModel.cut.validate(bad)) { e in
            XCTAssertTrue("\(e)".contains("0..<"), "\(e)")
        }
        bad.nceLayers = IntList([8, 4])
        XCTAssertThrowsError(try TrainableModel.cut.validate(bad))
        var unet = cut
        unet.netG = "unet_256"
        XCTAssertThrowsError(try TrainableModel.cut.validate(unet))
        var wgan = cut
        wgan.ganMode = .wgangp
        XCTAssertThrowsError(try TrainableModel.cut.validate(wgan))
        var zeroT = cut; zeroT.nceT = 0
        var wideF = cut; wideF.netFNc = 1 << 20
        var manyPatches = cut; manyPatches.numPatches = 1 << 20
        for (key, o) in [("nce_T", zeroT), ("netF_nc", wideF), ("num_patches", manyPatches)] {
            XCTAssertThrowsError(try TrainableModel.cut.validate(o), key)
        }
    }

    /// Without nce_idt, A and B may differ in size; with it, G runs on each separately.
    func testImagesOfDifferentSizesTrain() throws {
        var rng = SplitMix64(seed: 1)
        for idt in [true, false] {
            var g = ModelConfig.generator("resnet_1blocks", ngf: 2); g.antialias = true; g.antialiasUp = true
            var d = ModelConfig.discriminator("basic", inputNC: 3, ndf: 2); d.antialias = true
            let G = try XCTUnwrap(try makeLayer(g, using: &rng) as? ResnetGenerator), D = try makeLayer(d, using: &rng)
            var o = TrainableModel.cut.defaults; o.nceIdt = idt; o.numPatches = 4; o.netFNc = 4; o.flipEquivariance = true
            let t = CUTTrainer(netG: G, netD: D, options: o)
            t.optimizeParameters(.pair(Tensor(randomNormal: [1, 32, 40, 3], using: &rng),
                                       Tensor(randomNormal: [1, 36, 32, 3], using: &rng)))
            XCTAssertTrue(t.lossValues.allSatisfy { $0.value.isFinite })
            XCTAssertEqual(t.visuals.first { $0.name == "fake_B" }?.image.shape, [1, 32, 40, 3])
            if idt { XCTAssertEqual(t.visuals.first { $0.name == "idt_B" }?.image.shape, [1, 36, 32, 3]) }
        }
    }
}

extension CUTTests {
    /// netF's MLPs are sized by G's features; a checkpoint with other shapes is refused before
    /// anything is built from it.
    func testFeatureChannelsAndRestoreRefusesOtherShapes() throws {
        var rng = SplitMix64(seed: 2)
        var g = ModelConfig.generator("resnet_2blocks", ngf: 4); g.antialias = true; g.antialiasUp = true
        let G = try XCTUnwrap(try makeLayer(g, using: &rng) as? ResnetGenerator)
        let feats = withNoGrad { G.encode(Variable(Tensor(zeros: [1, 16, 16, 3])), layers: [0, 4, 8, 12, 16]) }
        XCTAssertEqual(featureChannels(G, layers: [0, 4, 8, 12, 16]), feats.map { $0.shape[3] })
        var o = TrainableModel.cut.defaults; o.netFNc = 8
        let D = try makeLayer(.discriminator("basic", inputNC: 3, ndf: 2), using: &rng)
        let t = CUTTrainer(netG: G, netD: D, options: o)
        let bad = TensorFile(tensors: [NamedTensor(name: "F.mlp_0.0.weight", shape: [8, 5], values: [Float](repeating: 0, count: 40))],
                             metadata: [:])
        XCTAssertThrowsError(try t.prepareToRestore(bad))
        XCTAssertFalse(t.netF.isCreated)
    }
}

extension CUTTests {
    /// A run on unpaired folders whose A and B images differ in size (batch 1, no preprocessing):
    /// CUT runs G on each side separately for the identity NCE.
    func testRunOnMixedSizes() throws {
        for (i, (w, h)) in [(36, 28), (28, 40)].enumerated() {
            try writeImage(Image(width: w, height: h, channels: 3, pixels8: (0..<(w * h * 3)).map { UInt8(($0 * 7 + i) % 256) }),
                           to: "\(tmp!)/data/trainB/mixed\(i).png")
        }
        for model in [TrainableModel.cut, .fastcut] {
            let run = try TrainingRun(options: options(model, name: model.name + "-mixed", epochs: 1))
            XCTAssertEqual(try run.run(), .finished)
            XCTAssertTrue(run.trainer.lossValues.allSatisfy { $0.value.isFinite }, "\(run.trainer.lossValues)")
        }
    }
}
