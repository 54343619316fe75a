// Configs come from file headers and are untrusted: a hostile one must be refused with a clear
// error before any weight is allocated (ModelConfig.maxParameters), never trap or exhaust memory.
import XCTest
import Checkpoint
import Models
import NN
import TensorCore

final class ConfigLimitTests: XCTestCase {
    func testHostileConfigsAreRefusedBeforeAllocating() {
        var g = ModelConfig.generator("resnet_9blocks")
        var hostile: [ModelConfig] = []
        g.ngf = 1 << 40; hostile.append(g)
        g.ngf = Int.max; hostile.append(g)
        hostile.append(.generator("resnet_100000000blocks"))
        hostile.append(.generator("resnet_9223372036854775807blocks"))
        hostile.append(.generator("unet_4611686018427387904"))
        hostile.append(.generator("unet_1024", ngf: 512))
        var d = ModelConfig.discriminator("n_layers", nLayersD: 1 << 50); hostile.append(d)
        d = .discriminator("basic", ndf: 1 << 31); hostile.append(d)
        for kind in [ModelConfig.Kind.dcganGenerator, .dcganDiscriminator, .cganGenerator, .cganDiscriminator] {
            hostile.append(ModelConfig(kind: kind, imageSize: 4 << 50))
            if kind != .dcganDiscriminator {  // which takes neither noise nor labels
                hostile.append(ModelConfig(kind: kind, nz: Int.max, numClasses: 1 << 40, embedDim: Int.max))
            }
            hostile.append(ModelConfig(kind: kind, nz: -1))
        }
        g = .generator("resnet_9blocks"); g.inputNC = 1 << 62; hostile.append(g)
        for c in hostile {
            var rng = SplitMix64(seed: 0)
            XCTAssertThrowsError(try makeNetwork(c, using: &rng), c.json()) { e in
                XCTAssertEqual((e as? ModelError)?.kind, .invalidConfig, "\(e)")
            }
        }
    }

    func testRealNetworksFitTheLimit() throws {
        for c in [ModelConfig.generator("resnet_9blocks"), .generator("unet_256"), .generator("unet_512", ngf: 64),
                  .discriminator("basic"), .discriminator("n_layers", nLayersD: 5), .discriminator("pixel"),
                  ModelConfig(kind: .dcganGenerator, imageSize: 256), ModelConfig(kind: .cganDiscriminator, imageSize: 128)] {
            let b = try XCTUnwrap(c.parameterBound(), c.json())
            XCTAssertLessThanOrEqual(b, ModelConfig.maxParameters, c.json())
        }
        // the bound is an upper bound: it never under-counts a built network
        for c in [ModelConfig.generator("resnet_2blocks", ngf: 4), .generator("unet_32", ngf: 2),
                  .discriminator("n_layers", ndf: 2, nLayersD: 4), .discriminator("pixel", ndf: 3),
                  ModelConfig(kind: .dcganGenerator, ngf: 2, nz: 5, imageSize: 32),
                  ModelConfig(kind: .cganDiscriminator, ndf: 2, imageSize: 16, numClasses: 7, embedDim: 3)] {
            var rng = SplitMix64(seed: 0)
            let n = try makeNetwork(c, using: &rng).stateDict().entries.reduce(0) { $0 + $1.tensor.scalars.count }
            XCTAssertLessThanOrEqual(n, try XCTUnwrap(c.parameterBound()), c.json())
        }
    }

    func testAFileWithAHostileConfigIsRefusedWithAClearError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UInt32.random(in: 0...UInt32.max)).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let json = #"{"kind":"generator","netG":"resnet_9blocks","ngf":1099511627776}"#
        try SafeTensors.write(TensorFile(tensors: [NamedTensor(name: "x", shape: [1], values: [0])],
                                         metadata: [ModelConfig.metadataKey: json]), to: path)
        XCTAssertThrowsError(try loadNetwork(path: path)) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("too large"), "\(e)")
        }
    }
}
