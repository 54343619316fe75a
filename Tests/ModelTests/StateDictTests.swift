// State-dict names, order, loading paper-code .pth files, architecture inference, save/load
// round trips and mismatch errors.
import Foundation
import XCTest
import Checkpoint
import TensorCore
import Autograd
import NN
@testable import Models

final class StateDictTests: XCTestCase {
    /// (fixture, config) for every network fixture.
    let networks: [(String, ModelConfig)] = [
        ("resnet9_ngf8.safetensors", .generator("resnet_9blocks", ngf: 8)),
        ("resnet6_ngf8_batch.safetensors", .generator("resnet_6blocks", ngf: 8, norm: .batch)),
        ("unet256_ngf4.safetensors", .generator("unet_256", ngf: 4, norm: .batch)),
        ("unet128_ngf4_instance.safetensors", .generator("unet_128", ngf: 4, norm: .instance)),
        ("patchgan_basic_ndf8.safetensors", .discriminator("basic", inputNC: 6, ndf: 8, norm: .batch)),
        ("patchgan_basic_ndf8_instance.safetensors", .discriminator("basic", inputNC: 3, ndf: 8, norm: .instance)),
        ("pixel_ndf8.safetensors", .discriminator("pixel", inputNC: 6, ndf: 8, norm: .batch)),
        ("resnet6_ngf4_pth_expected.safetensors", .generator("resnet_6blocks", ngf: 4)),
        ("patchgan_ndf4_batch_pth_expected.safetensors", .discriminator("basic", inputNC: 6, ndf: 4, norm: .batch)),
    ]

    func testNamesAndShapesEqualThePaperCodes() throws {
        for (fixture, config) in networks {
            var rng = SplitMix64(seed: 0)
            let mine = try makeNetwork(config, using: &rng).stateDict()
            let theirs = Fixture.stateDict(try Fixture.read(fixture))
            XCTAssertEqual(Set(mine.names), Set(theirs.names), fixture)
            XCTAssertEqual(mine.names.count, theirs.names.count, fixture)
            for e in mine.entries {
                XCTAssertEqual(e.tensor.shape, theirs[e.name]?.shape, "\(fixture): \(e.name)")
                XCTAssertEqual(e.isInteger, e.name.hasSuffix("num_batches_tracked"), e.name)
            }
        }
    }

    // A .pth keeps the state_dict's order (OrderedDict), unlike safetensors (sorted).
    func testOrderEqualsThePaperCodesStateDictOrder() throws {
        let cases: [(String, ModelConfig)] = [
            ("resnet6_ngf4.pth", .generator("resnet_6blocks", ngf: 4)),
            ("patchgan_ndf4_batch.pth", .discriminator("basic", inputNC: 6, ndf: 4, norm: .batch)),
        ]
        for (pth, config) in cases {
            var rng = SplitMix64(seed: 0)
            let mine = try makeNetwork(config, using: &rng).stateDict().names
            XCTAssertEqual(mine, try Fixture.read(pth).names, pth)
        }
        // Spot checks of the names the brief quotes.
        var rng = SplitMix64(seed: 0)
        let r9 = try makeNetwork(.generator("resnet_9blocks", ngf: 2), using: &rng).stateDict().names
        XCTAssertEqual(Array(r9.prefix(4)), ["model.1.weight", "model.1.bias", "model.4.weight", "model.4.bias"])
        XCTAssertTrue(r9.contains("model.10.conv_block.1.weight"))
        XCTAssertTrue(r9.contains("model.18.conv_block.5.weight"))
        XCTAssertEqual(Array(r9.suffix(2)), ["model.26.weight", "model.26.bias"])
        let u = try makeNetwork(.generator("unet_256", ngf: 2, norm: .batch), using: &rng).stateDict().names
        XCTAssertEqual(Array(u.prefix(3)), ["model.model.0.weight", "model.model.1.model.1.weight",
                                             "model.model.1.model.2.weight"])
        XCTAssertEqual(Array(u.suffix(2)), ["model.model.3.weight", "model.model.3.bias"])
    }

    // Full state_dict() order of a U-Net and the pixel D, as printed by
    //   import paper_networks as pn   # tools/, torch 2.15.0
    //   list(pn.define_G(3, 3, 2, "unet_128", norm="batch").state_dict())
    //   list(pn.define_D(6, 2, "pixel", norm="batch").state_dict())
    func testUnetAndPixelOrderEqualThePaperCodes() throws {
        let unet: [String] = [
            "model.model.0.weight",
            "model.model.1.model.1.weight",
            "model.model.1.model.2.weight",
            "model.model.1.model.2.bias",
            "model.model.1.model.2.running_mean",
            "model.model.1.model.2.running_var",
            "model.model.1.model.2.num_batches_tracked",
            "model.model.1.model.3.model.1.weight",
            "model.model.1.model.3.model.2.weight",
            "model.model.1.model.3.model.2.bias",
            "model.model.1.model.3.model.2.running_mean",
            "model.model.1.model.3.model.2.running_var",
            "model.model.1.model.3.model.2.num_batches_tracked",
            "model.model.1.model.3.model.3.model.1.weight",
            "model.model.1.model.3.model.3.model.2.weight",
            "model.model.1.model.3.model.3.model.2.bias",
            "model.model.1.model.3.model.3.model.2.running_mean",
            "model.model.1.model.3.model.3.model.2.running_var",
            "model.model.1.model.3.model.3.model.2.num_batches_tracked",
            "model.model.1.model.3.model.3.model.3.model.1.weight",
            "model.model.1.model.3.model.3.model.3.model.2.weight",
            "model.model.1.model.3.model.3.model.3.model.2.bias",
            "model.model.1.model.3.model.3.model.3.model.2.running_mean",
            "model.model.1.model.3.model.3.model.3.model.2.running_var",
            "model.model.1.model.3.model.3.model.3.model.2.num_batches_tracked",
            "model.model.1.model.3.model.3.model.3.model.3.model.1.weight",
            "model.model.1.model.3.model.3.model.3.model.3.model.2.weight",
            "model.model.1.model.3.model.3.model.3.model.3.model.2.bias",
            "model.model.1.model.3.model.3.model.3.model.3.model.2.running_mean",
            "model.model.1.model.3.model.3.model.3.model.3.model.2.running_var",
            "model.model.1.model.3.model.3.model.3.model.3.model.2.num_batches_tracked",
            "model.model.1.model.3.model.3.model.3.model.3.model.3.model.1.weight",
            "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.weight",
            "model.model.1.model.3.model.3.model.3.model.3.model.3.model.4.weight",
            "model.model.1.model.3.model.3.model.3.model.3.model.3.model.4.bias",
            "model.model.1.model.3.model.3.model.3.model.3.model.3.model.4.running_mean",
            "model.model.1.model.3.model.3.model.3.model.3.model.3.model.4.running_var",
            "model.model.1.model.3.model.3.model.3.model.3.model.3.model.4.num_batches_tracked",
            "model.model.1.model.3.model.3.model.3.model.3.model.5.weight",
            "model.model.1.model.3.model.3.model.3.model.3.model.6.weight",
            "model.model.1.model.3.model.3.model.3.model.3.model.6.bias",
            "model.model.1.model.3.model.3.model.3.model.3.model.6.running_mean",
            "model.model.1.model.3.model.3.model.3.model.3.model.6.running_var",
            "model.model.1.model.3.model.3.model.3.model.3.model.6.num_batches_tracked",
            "model.model.1.model.3.model.3.model.3.model.5.weight",
            "model.model.1.model.3.model.3.model.3.model.6.weight",
            "model.model.1.model.3.model.3.model.3.model.6.bias",
            "model.model.1.model.3.model.3.model.3.model.6.running_mean",
            "model.model.1.model.3.model.3.model.3.model.6.running_var",
            "model.model.1.model.3.model.3.model.3.model.6.num_batches_tracked",
            "model.model.1.model.3.model.3.model.5.weight",
            "model.model.1.model.3.model.3.model.6.weight",
            "model.model.1.model.3.model.3.model.6.bias",
            "model.model.1.model.3.model.3.model.6.running_mean",
            "model.model.1.model.3.model.3.model.6.running_var",
            "model.model.1.model.3.model.3.model.6.num_batches_tracked",
            "model.model.1.model.3.model.5.weight",
            "model.model.1.model.3.model.6.weight",
            "model.model.1.model.3.model.6.bias",
            "model.model.1.model.3.model.6.running_mean",
            "model.model.1.model.3.model.6.running_var",
            "model.model.1.model.3.model.6.num_batches_tracked",
            "model.model.1.model.5.weight",
            "model.model.1.model.6.weight",
            "model.model.1.model.6.bias",
            "model.model.1.model.6.running_mean",
            "model.model.1.model.6.running_var",
            "model.model.1.model.6.num_batches_tracked",
            "model.model.3.weight",
            "model.model.3.bias",
        ]
        let pixel = ["net.0.weight", "net.0.bias", "net.2.weight", "net.3.weight", "net.3.bias", "net.3.running_mean", "net.3.running_var", "net.3.num_batches_tracked", "net.5.weight"]
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual(try makeNetwork(.generator("unet_128", ngf: 2, norm: .batch), using: &rng).stateDict().names, unet)
        XCTAssertEqual(try makeNetwork(.discriminator("pixel", inputNC: 6, ndf: 2, norm: .batch), using: &rng)
            .stateDict().names, pixel)
    }

    // fx_pth: torch.save(G.state_dict()) zip and legacy; D with BN buffers and int64 0-d num_batches_tracked.
    func testPaperCodePthLoadsDirectlyAndGivesTheSameOutput() throws {
        let expected = try Fixture.read("resnet6_ngf4_pth_expected.safetensors")
        let x = Variable(try Fixture.activation(expected, "input"))
        for pth in ["resnet6_ngf4.pth", "resnet6_ngf4_legacy.pth"] {
            let (g, config) = try loadGenerator(path: Fixture.path(pth))
            XCTAssertEqual(config, .generator("resnet_6blocks", ngf: 4))
            let d = maxAbsDiff(withNoGrad { g(x) }.value, try Fixture.activation(expected, "output"))
            print("parity \(pth): max |diff| = \(d)")
            XCTAssertLessThanOrEqual(d, 1e-3)
        }
        let dExpected = try Fixture.read("patchgan_ndf4_batch_pth_expected.safetensors")
        let loaded = try loadNetwork(path: Fixture.path("patchgan_ndf4_batch.pth"))
        let (d, dConfig) = (loaded.module, loaded.config)
        XCTAssertEqual(dConfig, .discriminator("basic", inputNC: 6, ndf: 4, norm: .batch))
        d.testMode(runningStatistics: true)
        let dx = Variable(try Fixture.activation(dExpected, "input"))
        let y = withNoGrad { (d as! any Layer)(dx) }
        let diff = maxAbsDiff(y.value, try Fixture.activation(dExpected, "output_eval"))
        print("parity patchgan_ndf4_batch.pth (eval): max |diff| = \(diff)")
        XCTAssertLessThanOrEqual(diff, 1e-3)
        let nbt = d.stateDict().entries.first { $0.name == "model.3.num_batches_tracked" }
        XCTAssertEqual(nbt?.tensor.scalar, 100)
    }

    func testArchitectureInferenceRecoversEveryFixturesConfig() throws {
        for (fixture, config) in networks {
            let inferred = try inferConfig(from: Fixture.stateDict(try Fixture.read(fixture)), file: fixture)
            XCTAssertEqual(inferred, config, fixture)
        }
        // Variants the fixtures do not cover, inferred from our own state dicts.
        let variants: [ModelConfig] = [
            .generator("resnet_6blocks", inputNC: 1, outputNC: 2, ngf: 4, norm: .none, useDropout: true),
            .generator("resnet_4blocks", ngf: 4, norm: .instanceAffine),
            .generator("unet_128", inputNC: 1, ngf: 2, norm: .none),
            .discriminator("n_layers", inputNC: 3, ndf: 2, nLayersD: 5, norm: .instance),
            .discriminator("n_layers", inputNC: 3, ndf: 2, nLayersD: 1, norm: .batch),
            ModelConfig(kind: .dcganGenerator, outputNC: 1, ngf: 4, nz: 16, imageSize: 32),
            ModelConfig(kind: .dcganDiscriminator, inputNC: 1, ndf: 4, imageSize: 32),
            ModelConfig(kind: .cganGenerator, outputNC: 3, ngf: 4, nz: 8, imageSize: 16, numClasses: 5, embedDim: 3),
            ModelConfig(kind: .cganDiscriminator, inputNC: 3, ndf: 4, imageSize: 16, numClasses: 5, embedDim: 3),
        ]
        for c in variants {
            var rng = SplitMix64(seed: 0)
            let inferred = try inferConfig(from: try makeNetwork(c, using: &rng).stateDict())
            XCTAssertEqual(inferred.kind, c.kind, c.json())
            switch c.kind {
            case .generator:
                XCTAssertEqual(inferred, c)
            case .discriminator:
                var expected = c
                if c.nLayersD == 3 { expected.netD = "basic" }
                XCTAssertEqual(inferred, expected)
            case .dcganGenerator, .cganGenerator:
                XCTAssertEqual([inferred.nz, inferred.ngf, inferred.outputNC, inferred.imageSize, inferred.numClasses,
                                inferred.embedDim], [c.nz, c.ngf, c.outputNC, c.imageSize,
                                                     c.kind == .cganGenerator ? c.numClasses : inferred.numClasses,
                                                     c.kind == .cganGenerator ? c.embedDim : inferred.embedDim])
            case .dcganDiscriminator, .cganDiscriminator:
                XCTAssertEqual([inferred.ndf, inferred.inputNC, inferred.imageSize], [c.ndf, c.inputNC, c.imageSize])
            }
        }
    }

    func testSafetensorsRoundTripGivesIdenticalOutput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-models-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let configs: [ModelConfig] = [.generator("resnet_6blocks", ngf: 4, norm: .batch),
                                      .generator("unet_128", ngf: 2, norm: .instance, useDropout: true)]
        for (i, config) in configs.enumerated() {
            var rng = SplitMix64(seed: UInt64(i))
            let g = try makeGenerator(config, using: &rng)
            g.train()   // move the batch-norm buffers off their initial values
            _ = withNoGrad { g(Variable(Tensor(randomUniform: [2, 128, 128, 3], low: -1, high: 1, using: &rng))) }
            g.testMode()
            let path = dir.appendingPathComponent("g\(i).safetensors").path
            try save(g, config: config, to: path)
            let (h, loaded) = try loadGenerator(path: path)
            XCTAssertEqual(loaded, config)
            let x = Variable(Tensor(randomUniform: [1, 128, 128, 3], low: -1, high: 1, using: &rng))
            XCTAssertEqual(withNoGrad { g(x) }.value.scalars, withNoGrad { h(x) }.value.scalars)
            XCTAssertEqual(h.stateDict().entries.map(\.tensor.scalars), g.stateDict().entries.map(\.tensor.scalars))
            // The file has the config in its header and num_batches_tracked as I64.
            let file = try CheckpointFile.read(path: path)
            XCTAssertNotNil(file.metadata[ModelConfig.metadataKey])
            if config.norm == .batch { XCTAssertEqual(file["model.2.num_batches_tracked"]?.sourceDType, .i64) }
        }
    }

    func testMismatchedCheckpointNamesEveryKeyAndShape() throws {
        var rng = SplitMix64(seed: 0)
        let g6 = try makeNetwork(.generator("resnet_6blocks", ngf: 4), using: &rng)
        let g9 = try makeNetwork(.generator("resnet_9blocks", ngf: 8), using: &rng)
        XCTAssertThrowsError(try g9.loadStateDict(g6.stateDict(), source: "g6.pth")) { error in
            guard let m = error as? StateDictMismatch else { return XCTFail("\(error)") }
            XCTAssertEqual(m.missing.map(\.name).filter { $0.hasPrefix("model.16.") }.count, 4)
            XCTAssertTrue(m.missing.contains { $0.name == "model.18.conv_block.5.weight" && $0.shape == [32, 32, 3, 3] })
            // resnet_6blocks' first transposed conv sits where resnet_9blocks has its 7th block.
            XCTAssertTrue(m.unexpected.contains { $0.name == "model.16.weight" && $0.shape == [16, 8, 3, 3] })
            XCTAssertTrue(m.wrongShapes.contains(.init(name: "model.1.weight", expected: [8, 3, 7, 7], found: [4, 3, 7, 7])))
            XCTAssertTrue(m.description.hasPrefix("g6.pth: "))
            // Three lines however many keys differ: counts, the first keys, and (from the loader) the hint.
            XCTAssertTrue(m.description.contains("model.1.weight is [8, 3, 7, 7] in the network, [4, 3, 7, 7] in the file"), m.description)
            XCTAssertTrue(m.description.contains("\(m.missing.count) missing, \(m.unexpected.count) unexpected, "
                                                 + "\(m.wrongShapes.count) of another shape"), m.description)
            XCTAssertEqual(m.description.split(separator: "\n").count, 2, "no hint without a loader")
        }
        // Extra keys, `module.` prefixes and stale InstanceNorm buffers.
        var sd = g6.stateDict()
        sd.entries = sd.entries.map { var e = $0; e.name = "module." + e.name; return e }
        sd.entries.append(.init(name: "model.2.running_mean", tensor: Tensor(zeros: [4])))       // stale: dropped
        sd.entries.append(.init(name: "model.2.num_batches_tracked", tensor: Tensor(0), isInteger: true))
        XCTAssertNoThrow(try g6.loadStateDict(sd))
        sd.entries.append(.init(name: "model.99.weight", tensor: Tensor(zeros: [1, 2])))
        XCTAssertThrowsError(try g6.loadStateDict(sd)) { error in
            let m = error as? StateDictMismatch
            XCTAssertEqual(m?.unexpected.map(\.name), ["model.99.weight"])
            XCTAssertEqual(m?.unexpected.first?.shape, [1, 2])
        }
        // A file that matches nothing.
        XCTAssertThrowsError(try inferConfig(from: StateDict([.init(name: "foo.weight", tensor: Tensor(zeros: [1]))]))) {
            XCTAssertEqual(($0 as? ModelError)?.kind, .unknownArchitecture)
        }
    }
}
