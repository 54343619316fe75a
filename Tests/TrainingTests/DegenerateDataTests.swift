// Issue 26: every registered model trains on degenerate data (solid colours, all black, all
// white, gray files for an RGB model, one-level noise, the smallest size the networks take,
// extreme aspect ratios under --preprocess none) to the end with finite losses and weights,
// and translation of such images gives finite output. A property over `ModelRegistry.models`:
// a model is covered by registering it.
import XCTest
import Foundation
import Autograd
import ImageIO
import Models
import NN
import TensorCore
import Training
import Trainers
import Translation
import _TestSupport

final class DegenerateDataTests: XCTestCase {
    var tmp: String!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-degenerate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tmp) }

    enum Kind: String, CaseIterable {
        case solid, black, white, gray, oneLevel, minimumSize, extremeAspect
    }

    /// One image of `kind`, `w`x`h`; `index` varies the colours.
    func image(_ kind: Kind, _ index: Int, width w: Int, height h: Int) -> Image {
        var rng = SplitMix64(seed: UInt64(index * 31 + 7))
        switch kind {
        case .solid:
            let c = (0..<3).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return Image(width: w, height: h, channels: 3, pixels8: (0..<(w * h * 3)).map { c[$0 % 3] })
        case .black: return Image(width: w, height: h, channels: 3, fill: 0)
        case .white: return Image(width: w, height: h, channels: 3, fill: 255)
        case .gray:
            return Image(width: w, height: h, channels: 1, pixels8: (0..<(w * h)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case .oneLevel:
            return Image(width: w, height: h, channels: 3, pixels8: (0..<(w * h * 3)).map { _ in 100 + UInt8.random(in: 0...1, using: &rng) })
        case .minimumSize, .extremeAspect:
            return Image(width: w, height: h, channels: 3, pixels8: (0..<(w * h * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }

    /// The smallest square side the model's networks take with these options.
    func minimumSide(_ m: TrainableModel, _ o: TrainOptions) -> Int {
        (4...512).first { trainingSizeProblem(o, height: $0, width: $0, discriminator: m.usesDiscriminator(o)) == nil } ?? 256
    }

    /// Small networks and two iterations of batch 1 at the model's own defaults otherwise.
    func options(_ m: TrainableModel, root: String, name: String) -> TrainOptions {
        var o = m.defaultOptions(dataroot: root, name: name)
        o.checkpointsDir = tmp + "/runs"
        if m.datasetMode != .labeled { o.netG = "resnet_1blocks" }
        o.ngf = 4; o.ndf = 4; o.batchSize = 1
        o.preprocess = .none; o.anyPairAspect = true
        o.nEpochs = 1; o.nEpochsDecay = 0; o.printFreq = 1; o.seed = 11; o.lr = 0.0002
        let small: [String: OptionJSON] = ["num_patches": .int(8), "netF_nc": .int(8), "nz": .int(8), "image_size": .int(16)]
        for use in m.options { if let v = small[use.option.key] { o.modelValues[use.option.key] = v } }
        return o
    }

    /// The dataset folder of `m`'s layout: two images of `kind` per folder.
    func makeData(_ m: TrainableModel, _ kind: Kind, root: String, side: Int) throws {
        let (w, h) = kind == .extremeAspect ? (side * 8, side) : (side, side)
        func write(_ folder: String, _ i: Int, pair: Bool) throws {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
            var img = image(kind, i, width: w, height: h)
            if pair {  // A|B: the same kind on both sides
                let b = image(kind, i + 100, width: w, height: h)
                let c = img.channels
                var px = [UInt8](repeating: 0, count: 2 * w * h * c)
                let a8 = img.pixels8, b8 = b.pixels8
                for y in 0..<h {
                    for x in 0..<w {
                        for k in 0..<c {
                            px[(y * 2 * w + x) * c + k] = a8[(y * w + x) * c + k]
                            px[(y * 2 * w + w + x) * c + k] = b8[(y * w + x) * c + k]
                        }
                    }
                }
                img = Image(width: 2 * w, height: h, channels: c, pixels8: px)
            }
            try writeImage(img, to: root + "/\(folder)/\(kind.rawValue)\(i).png")
        }
        switch m.datasetMode {
        case .unaligned: for f in ["trainA", "trainB"] { for i in 0..<2 { try write(f, i, pair: false) } }
        case .aligned: for i in 0..<2 { try write("train", i, pair: true) }
        case .labeled: for (k, f) in ["a", "b"].enumerated() { try write(f, k, pair: false) }
        case .colorization: for i in 0..<2 { try write("train", i, pair: false) }
        }
    }

    func testEveryRegisteredModelTrainsOnDegenerateData() throws {
        var covered: [String] = []
        for m in ModelRegistry.models {
            for kind in Kind.allCases {
                let name = "\(m.name)-\(kind.rawValue)"
                let root = tmp + "/data/" + name
                var o = options(m, root: root, name: name)
                // Every op's output checked too: a NaN that a later op hides still fails.
                o.detectAnomaly = true
                let minSide = minimumSide(m, o)
                try makeData(m, kind, root: root, side: kind == .minimumSize || kind == .extremeAspect ? minSide : max(minSide, 32))
                let run = try TrainingRun(options: o, model: m)
                do {
                    let outcome = try run.run()
                    XCTAssertEqual(outcome, .finished, name)
                } catch {
                    XCTFail("\(name): \(error)")
                    continue
                }
                XCTAssertGreaterThanOrEqual(run.trainer.progress.iteration, 2, name)
                for l in run.trainer.lossValues { XCTAssertTrue(l.value.isFinite, "\(name): loss \(l.name) = \(l.value)") }
                for (net, module) in run.trainer.networks {
                    for (p, v) in module.namedParameters() {
                        XCTAssertTrue(v.value.scalars.allSatisfy(\.isFinite), "\(name): \(net).\(p) is not finite")
                    }
                }
                covered.append(name)
            }
        }
        XCTAssertEqual(covered.count, ModelRegistry.models.count * Kind.allCases.count)
    }

    /// The reproduction: CUT and FastCUT on folders of flat single-colour images train
    /// to the end (they stopped with "loss G became -nan" at iteration 2, even at lr 0).
    func testCUTAndFastCUTTrainOnFlatImagesEvenAtLearningRateZero() throws {
        for m in [TrainableModel.cut, .fastcut] {
            for lr in [0.0, 0.0002] {
                let name = "\(m.name)-flat-\(lr)"
                let root = tmp + "/data/" + name
                try makeData(m, .solid, root: root, side: 32)
                var o = options(m, root: root, name: name)
                o.lr = lr; o.nEpochs = 1; o.nEpochsDecay = 1
                XCTAssertEqual(try TrainingRun(options: o, model: m).run(), .finished, name)
            }
        }
    }

    /// Records whether a generator's outputs are finite on their way through translateImage.
    final class FiniteSpy: ImageTranslator, @unchecked Sendable {
        let inner: GeneratorTranslator
        var allFinite = true
        init(_ g: GeneratorTranslator) { inner = g }
        var inputChannels: Int { inner.inputChannels }
        var outputChannels: Int { inner.outputChannels }
        var sizeMultiple: Int { inner.sizeMultiple }
        var minimumSide: Int { inner.minimumSide }
        func translate(_ x: [Float], count: Int, height: Int, width: Int) throws -> [Float] {
            let y = try inner.translate(x, count: count, height: height, width: width)
            if !y.allSatisfy(\.isFinite) { allFinite = false }
            return y
        }
    }

    func testTranslationOfDegenerateImagesIsFinite() throws {
        var rng = SplitMix64(seed: 3)
        for netG in ["resnet_1blocks", "unet_32"] {
            for norm in [ModelConfig.Norm.instance, .batch] {
                let cfg = ModelConfig.generator(netG, ngf: 4, norm: norm)
                let g = try makeGenerator(cfg, using: &rng)
                g.testMode()
                for kind in Kind.allCases {
                    let (w, h) = kind == .extremeAspect ? (256, 8) : (kind == .minimumSize ? (1, 1) : (48, 40))
                    let spy = FiniteSpy(GeneratorTranslator(g, config: cfg))
                    // Small tiles, so that some tiles of a flat image are flat too.
                    let out = try translateImage(image(kind, 1, width: w, height: h), with: spy,
                                                 tiling: TilingOptions(maxPiecePixels: 600, tileSize: 32, overlap: 8))
                    XCTAssertTrue(spy.allFinite, "\(netG) \(norm) \(kind)")
                    XCTAssertEqual([out.width, out.height], [w, h], "\(netG) \(kind)")
                }
            }
        }
    }
}
