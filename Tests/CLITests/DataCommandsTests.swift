import XCTest
import Foundation
import ImageIO

final class DataCommandsTests: CLITestCase {
    func writeImage(_ w: Int, _ h: Int, _ rel: String, value: UInt8 = 100) throws {
        let p = path(rel)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try ImageIO.writeImage(Image(width: w, height: h, channels: 3, fill: value), to: p, format: .png)
    }

    func testHelpOfEverySubcommand() throws {
        let root = try img2img(["--help"])
        XCTAssertEqual(root.status, 0)
        for sub in ["augment", "combine"] {
            XCTAssertTrue(root.stdout.contains(sub), "root help lists \(sub)")
            let r = try img2img([sub, "--help"])
            XCTAssertEqual(r.status, 0, sub)
            XCTAssertTrue(r.stdout.contains("USAGE: img2img \(sub)"), r.stdout)
        }
        XCTAssertTrue(root.stdout.contains("Exit status"), "exit statuses are documented")
    }

    func testAugmentMirrorsFoldersAndReportsBadFiles() throws {
        try writeImage(300, 200, "in/a.png")
        try writeImage(64, 80, "in/sub/b.png")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: path("in/readme.txt")))
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]).write(to: URL(fileURLWithPath: path("in/sub/bad.png")))
        let r = try img2img(["augment", "--input", path("in"), "--output", path("out"),
                             "--load-size", "72", "--crop-size", "64", "--count", "2", "--seed", "4"])
        XCTAssertEqual(r.status, 3, "some files failed: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("bad.png"), r.stderr)
        XCTAssertFalse(r.stderr.contains("readme.txt"), "non-images are not errors")
        XCTAssertEqual(files(under: path("out")), ["a_0.png", "a_1.png", "sub/b_0.png", "sub/b_1.png"])
        let img = try readImage(at: path("out/sub/b_1.png"))
        XCTAssertEqual([img.width, img.height], [64, 64])
        // Same seed, same bytes.
        try img2img(["augment", "--input", path("in"), "--output", path("out2"),
                     "--load-size", "72", "--crop-size", "64", "--count", "2", "--seed", "4"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("out/a_1.png"))),
                       try Data(contentsOf: URL(fileURLWithPath: path("out2/a_1.png"))))
    }

    func testAugmentValidatesOptions() throws {
        let r = try img2img(["augment", "--input", path("x"), "--output", path("y"), "--load-size", "100", "--crop-size", "200"])
        XCTAssertEqual(r.status, 64, "a usage error")
        XCTAssertTrue(r.stderr.contains("--load-size"), r.stderr)
    }

    func testCombineMakesAlignedPairs() throws {
        try writeImage(20, 10, "A/train/1.png", value: 10)
        try writeImage(20, 10, "B/train/1.png", value: 200)
        try writeImage(20, 10, "A/train/2.png")
        try writeImage(21, 10, "B/train/2.png")
        try writeImage(20, 10, "A/test/3.png")
        let r = try img2img(["combine", "--fold-A", path("A"), "--fold-B", path("B"), "--fold-AB", path("AB")])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("2.png"), r.stderr)
        XCTAssertTrue(r.stderr.contains("3.png"), r.stderr)
        XCTAssertEqual(files(under: path("AB")), ["train/1.png"])
        let ab = try readImage(at: path("AB/train/1.png"))
        XCTAssertEqual([ab.width, ab.height], [40, 10])
        XCTAssertEqual(ab.pixels8[0], 10)
        XCTAssertEqual(ab.pixels8[ab.pixels8.count - 1], 200)
    }
}
