import XCTest
import Foundation
import ImageIO
import Augment
@testable import Datasets

final class DatasetsTests: XCTestCase {
    var root: String = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "img2img-datasets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A recognizable image: the value at (x, y) encodes `tag`, so a test can tell files apart.
    func image(_ w: Int, _ h: Int, tag: Int, channels: Int = 3) -> Image {
        var px = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0..<h { for x in 0..<w { for c in 0..<channels {
            px[(y * w + x) * channels + c] = UInt8((tag * 40 + x + y + c) % 256)
        } } }
        return Image(width: w, height: h, channels: channels, pixels8: px)
    }

    func write(_ img: Image, _ rel: String, jpeg: Bool = false) throws {
        let path = root + "/" + rel
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try writeImage(img, to: path, format: jpeg ? .jpeg : .png)
    }

    func writeJunk(_ rel: String, _ bytes: [UInt8]) throws {
        let path = root + "/" + rel
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    }

    func collect(_ loader: DataLoader, epoch: Int = 0) -> [Batch] {
        Array(loader.batches(epoch: epoch))
    }

    func testUnalignedLoaderFeedsBatchesAndReportsBadFiles() throws {
        for i in 0..<5 { try write(image(40, 30, tag: i), "trainA/a\(i).png") }
        for i in 0..<3 { try write(image(50, 36, tag: 10 + i), "trainB/sub/b\(i).jpg", jpeg: true) }
        try writeJunk("trainA/notes.txt", Array("hello".utf8))
        try writeJunk("trainA/notes.png", Array("hello".utf8))   // named as an image: a failed input
        try writeJunk("trainB/empty.jpg", [])
        // A PNG signature followed by garbage: an image by content that fails to decode.
        try writeJunk("trainB/broken.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4])
        let o = AugmentOptions(preprocess: .resizeAndCrop, loadSize: 36, cropSize: 32)
        let ds = try UnalignedDataset(root: root, phase: "train", options: o)
        XCTAssertEqual(ds.pathsA.count, 5)
        XCTAssertEqual(ds.count, 5, "an epoch is as long as the larger domain")
        XCTAssertEqual(ds.skipped.map { ($0.path as NSString).lastPathComponent }.sorted(), ["empty.jpg", "notes.png"],
                       "files named as images are reported; notes.txt is ignored quietly")
        XCTAssertTrue(ds.skipped.allSatisfy { $0.reason.contains("named as an image") }, "\(ds.skipped)")
        let loader = DataLoader(dataset: ds, batchSize: 2, shuffle: true, seed: 9)
        let batches = collect(loader)
        let total = batches.reduce(0) { $0 + $1.count }
        // broken.png is scanned as a PNG; whenever it is drawn as a B partner that item fails and is skipped.
        XCTAssertEqual(total + loader.failures.count, 5)
        for b in batches {
            XCTAssertEqual(b.shapeA, [b.count, 32, 32, 3])
            XCTAssertEqual(b.b?.count, b.count * 32 * 32 * 3)
            XCTAssertTrue(b.a.allSatisfy { $0 >= -1 && $0 <= 1 })
        }
        for f in loader.failures { XCTAssertTrue(f.path.hasSuffix("broken.png"), "\(f)") }
    }

    func testSameSeedSameBatchesAndEpochsDiffer() throws {
        for i in 0..<6 { try write(image(40, 40, tag: i), "trainA/\(i).png") }
        for i in 0..<6 { try write(image(40, 40, tag: 7 + i), "trainB/\(i).png") }
        let o = AugmentOptions(preprocess: .resizeAndCrop, loadSize: 40, cropSize: 24)
        let ds = try UnalignedDataset(root: root, options: o)
        let l1 = DataLoader(dataset: ds, batchSize: 3, seed: 5), l2 = DataLoader(dataset: ds, batchSize: 3, seed: 5)
        let e1 = collect(l1), e2 = collect(l2)
        XCTAssertEqual(e1.map(\.a), e2.map(\.a))
        XCTAssertEqual(e1.map(\.pathsB), e2.map(\.pathsB))
        XCTAssertNotEqual(l1.order(epoch: 0), l1.order(epoch: 1))
        let serial = try UnalignedDataset(root: root, options: o, serial: true)
        let ls = DataLoader(dataset: serial, batchSize: 6, shuffle: false)
        let b = collect(ls)[0]
        XCTAssertEqual(b.pathsA.map { ($0 as NSString).lastPathComponent }, b.pathsB.map { ($0 as NSString).lastPathComponent })
    }

    func testAlignedPairsGetTheSameCropAndFlip() throws {
        // A|B where B is exactly A: any shared transform keeps them equal, an independent one would not.
        for i in 0..<4 {
            let a = image(48, 40, tag: i)
            try write(Image.sideBySide(a, a), "train/\(i).png")
        }
        let o = AugmentOptions(preprocess: .resizeAndCrop, loadSize: 44, cropSize: 32)
        let ds = try AlignedDataset(root: root, phase: "train", options: o, direction: .bToA)
        let batches = collect(DataLoader(dataset: ds, batchSize: 2, seed: 3))
        XCTAssertEqual(batches.count, 2)
        for b in batches { XCTAssertEqual(b.a, b.b!) }
        // Gray output side (output_nc = 1).
        let gray = try AlignedDataset(root: root, options: o, channelsA: 3, channelsB: 1)
        let gb = collect(DataLoader(dataset: gray, batchSize: 4))[0]
        XCTAssertEqual(gb.shapeB, [4, 32, 32, 1])
    }

    func testSingleAndLabeledLayouts() throws {
        try write(image(20, 12, tag: 1), "single/x.png")
        try write(image(20, 12, tag: 2), "single/deeper/y.png")
        let single = try SingleDataset(root: root + "/single")
        // Recursive and sorted by relative path: "deeper/y.png" < "x.png".
        XCTAssertEqual(single.paths.map { ($0 as NSString).lastPathComponent }, ["y.png", "x.png"])
        let sb = collect(DataLoader(dataset: single, batchSize: 1, shuffle: false))
        XCTAssertEqual(sb.count, 2)
        XCTAssertEqual(sb[0].shapeA, [1, 12, 20, 3])

        for (ci, cls) in ["cat", "ant", "bee"].enumerated() {
            for i in 0..<2 { try write(image(16, 16, tag: ci * 3 + i, channels: 1), "labeled/\(cls)/\(i).png") }
        }
        let lab = try LabeledDataset(root: root + "/labeled",
                                     options: AugmentOptions(preprocess: .none, flip: false), channels: 1)
        XCTAssertEqual(lab.classes, ["ant", "bee", "cat"])
        let lb = collect(DataLoader(dataset: lab, batchSize: 6, shuffle: false))[0]
        XCTAssertEqual(lb.labels, [0, 0, 1, 1, 2, 2])
        XCTAssertEqual(lb.shapeA, [6, 16, 16, 1])
    }

    func testBatchOfMixedSizesIsReportedNotCrashed() throws {
        try write(image(20, 12, tag: 1), "mixed/a.png")
        try write(image(24, 16, tag: 2), "mixed/b.png")
        let ds = try SingleDataset(root: root + "/mixed")
        let loader = DataLoader(dataset: ds, batchSize: 2, shuffle: false)
        XCTAssertEqual(collect(loader).count, 0)
        XCTAssertEqual(loader.failures.count, 1)
        XCTAssertTrue(loader.failures[0].reason.contains("batch"))
    }

    func testEmptyFolderIsAnError() throws {
        try FileManager.default.createDirectory(atPath: root + "/trainA", withIntermediateDirectories: true)
        XCTAssertThrowsError(try SingleDataset(root: root + "/trainA"))
        XCTAssertThrowsError(try SingleDataset(root: root + "/missing"))
    }

    func testDroppingAnIteratorStopsItsProducer() throws {
        for i in 0..<12 { try write(image(16, 16, tag: i), "many/\(i).png") }
        let ds = try SingleDataset(root: root + "/many")
        let loader = DataLoader(dataset: ds, batchSize: 1, prefetch: 1)
        var it: BatchIterator? = loader.batches(epoch: 0)
        XCTAssertNotNil(it?.next())
        it = nil  // must not hang or leak a blocked thread
        XCTAssertEqual(collect(loader, epoch: 1).count, 12)
    }
}
