// Unpaired data of mixed sizes (issue 12.3): batch 1, A and B of different sizes, the image
// pool keeping each image's own shape, through a checkpoint and back.
import Autograd
import Checkpoint
import Foundation
import NN
import TensorCore
@testable import Training
@testable import Trainers
import Evaluation
import XCTest

final class MixedSizeTests: XCTestCase {
    func images(_ h: Int, _ w: Int, seed: UInt64) -> Tensor {
        var g = SplitMix64(seed: seed)
        return Tensor(shape: [1, h, w, 3], scalars: (0..<(h * w * 3)).map { _ in Float.random(in: -0.9...0.9, using: &g) })
    }

    func testPoolKeepsEachImagesShape() {
        let pool = ImagePool(poolSize: 2, seed: 4)
        let a = images(8, 12, seed: 1), b = images(16, 4, seed: 2)
        XCTAssertEqual(pool.query(a).shape, a.shape)
        XCTAssertEqual(pool.query(b).shape, b.shape)
        XCTAssertFalse(pool.hasOneShape)
        XCTAssertNil(pool.stacked)
        // Full: a query returns either the new image or a stored one, at the stored one's size.
        var shapes = Set<[Int]>()
        for i in 0..<40 { shapes.insert(pool.query(images(20, 20, seed: 10 + UInt64(i))).shape) }
        XCTAssertTrue(shapes.contains([1, 20, 20, 3]))
        XCTAssertTrue(shapes.count > 1, "no stored image of another size came back: \(shapes)")
    }

    /// A batch of two never gets a stored image of another size (it could not be stacked).
    func testBatchesOfTwoOnlySwapSameSizedImages() {
        let pool = ImagePool(poolSize: 2, seed: 4)
        _ = pool.query(images(8, 12, seed: 1)); _ = pool.query(images(16, 4, seed: 2))
        for i in 0..<20 {
            let two = Tensor(shape: [2, 6, 6, 3], scalars: (0..<216).map { Float($0 + i) / 300 })
            XCTAssertEqual(pool.query(two).shape, [2, 6, 6, 3])
        }
    }

    func testCycleGANTrainsOnMixedSizesAndResumesExactly() throws {
        func trainer() -> CycleGANTrainer {
            var rng = SplitMix64(seed: 7)
            var o = TrainableModel.cyclegan.defaults; o.poolSize = 3; o.ganMode = .wgangp
            return CycleGANTrainer(G_A: tinyGenerator(&rng), G_B: tinyGenerator(&rng), D_A: tinyDiscriminator(&rng),
                                   D_B: tinyDiscriminator(&rng), options: o)
        }
        let sizesA = [(8, 12), (16, 8), (12, 12), (8, 8)], sizesB = [(12, 16), (8, 8), (16, 12), (12, 8)]
        let batches = (0..<8).map { i in
            TrainingBatch.pair(images(sizesA[i % 4].0, sizesA[i % 4].1, seed: UInt64(i)),
                               images(sizesB[(i + 1) % 4].0, sizesB[(i + 1) % 4].1, seed: 100 + UInt64(i)))
        }
        let whole = trainer()
        whole.trainEpoch(batches)
        XCTAssertTrue(whole.lossValues.allSatisfy { $0.value.isFinite })
        XCTAssertFalse(whole.fakeAPool.hasOneShape)

        let first = trainer()
        first.trainEpoch(batches.prefix(5))
        let dir = temporaryDirectory()
        try TrainingCheckpoint.save(first, to: dir + "/c.safetensors")
        let file = try SafeTensors.read(path: dir + "/c.safetensors")
        XCTAssertTrue(file.tensors.contains { $0.name == "fake_A_pool.image.0" }, "mixed pool saved image by image")
        let resumed = trainer()
        try TrainingCheckpoint.load(dir + "/c.safetensors", into: resumed)
        XCTAssertEqual(resumed.fakeAPool.images.map(\.shape), first.fakeAPool.images.map(\.shape))
        resumed.progress.epoch = 0
        for b in batches.dropFirst(5) { resumed.optimizeParameters(b); resumed.progress.iteration += 1 }
        XCTAssertEqual(allTensors(resumed), allTensors(whole))
        // The control: a resume without the pool's images ends elsewhere.
        let emptied = trainer()
        try TrainingCheckpoint.load(dir + "/c.safetensors", into: emptied)
        emptied.fakeAPool.restore(images: [], rngState: emptied.fakeAPool.rng.state)
        for b in batches.dropFirst(5) { emptied.optimizeParameters(b); emptied.progress.iteration += 1 }
        XCTAssertNotEqual(allTensors(emptied), allTensors(whole))
    }

    func testCentredCropOfTheCommonSize() {
        let a = Tensor(shape: [1, 4, 6, 1], scalars: (0..<24).map(Float.init))
        let b = Tensor(shape: [1, 6, 2, 1], scalars: (0..<12).map(Float.init))
        let (ca, cb) = centredOnCommonSize(a, b)
        XCTAssertEqual(ca.shape, [1, 4, 2, 1]); XCTAssertEqual(cb.shape, [1, 4, 2, 1])
        XCTAssertEqual(ca.scalars, [2, 3, 8, 9, 14, 15, 20, 21])
        XCTAssertEqual(cb.scalars, [2, 3, 4, 5, 6, 7, 8, 9])
    }
}
