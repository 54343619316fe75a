// writeImage's temporary files: names within NAME_MAX, and the clean-up after a killed run
// (removeStaleTemporaryFiles) that removes dead writers' files only.
import XCTest
import Foundation
@testable import ImageIO
import _Files

final class AtomicWriteTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testTemporaryNamesFitNameMax() throws {
        for name in [String(repeating: "a", count: 255), String(repeating: "é", count: 127) + "x.png", "short.png"] {
            let t = AtomicWriter.temporaryName(for: name, pid: 4_194_303)
            XCTAssertLessThanOrEqual(t.utf8.count, 255, name)
            XCTAssertEqual(AtomicWriter.temporaryFileOwner(t), 4_194_303)
        }
        let long = dir + "/" + String(repeating: "b", count: 251) + ".png"
        try writeImage(Image(width: 2, height: 2, channels: 1, fill: 9), to: long)
        XCTAssertEqual(try readImage(at: long).pixelCount, 4)
    }

    func testOnlyDeadWritersFilesAreRemoved() throws {
        let dead: pid_t = 4_194_305  // above Linux's largest pid: never alive
        let files = [
            "sub/.a.png.tmp-\(dead)-3817067833",                 // an older writeImage: decimal random
            ".latest.safetensors.tmp-\(dead)-e3a1f00d",          // AtomicWriter: hex random
            ".b.png.tmp-\(getpid())-12",                          // a live writer (another shard)
            ".c.png.tmp-x-12", "d.png", ".hidden",               // not ours
        ]
        for f in files { XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/" + f, contents: Data([1]))) }
        let removed = ImageIO.removeStaleTemporaryFiles(under: dir)
        XCTAssertEqual(removed, [dir + "/.latest.safetensors.tmp-\(dead)-e3a1f00d", dir + "/sub/.a.png.tmp-\(dead)-3817067833"])
        let left = (FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []).sorted()
        XCTAssertEqual(left, [".b.png.tmp-\(getpid())-12", ".c.png.tmp-x-12", ".hidden", "d.png", "sub"])
    }
}
