import XCTest
import Foundation
import ImageIO

final class GenerateCommandTests: CLITestCase {
    func testCGANTrainsAndGeneratesByLabelName() throws {
        // Three classes of tiny gray images, each a distinct brightness.
        for (ci, cls) in ["dark", "mid", "light"].enumerated() {
            for i in 0..<4 {
                let v = UInt8(30 + ci * 90 + i)
                let p = path("data/\(cls)/\(i).png")
                try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try writeImage(Image(width: 8, height: 8, channels: 1, fill: v), to: p, format: .png)
            }
        }
        let t = try img2img(["train", "cgan", "--dataroot", path("data"), "--name", "c", "--checkpoints-dir", path("runs"),
                             "--image-size", "8", "--nz", "8", "--ngf", "4", "--ndf", "4", "--output-nc", "1",
                             "--batch-size", "4", "--n-epochs", "1", "--n-epochs-decay", "0", "--quiet"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let model = path("runs/c/latest_net_G.safetensors")
        let g = try img2img(["generate", "--model", model, "--label", "light", "--count", "3", "--output", path("gen")])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertEqual(files(under: path("gen")), ["light_0.png", "light_1.png", "light_2.png"])
        let img = try readImage(at: path("gen/light_0.png"))
        XCTAssertEqual([img.width, img.height, img.channels], [8, 8, 1])
        let all = try img2img(["generate", "--model", model, "--all-labels", "--count", "2", "--grid", "--output", path("grid")])
        XCTAssertEqual(all.status, 0, all.stderr)
        let grid = try readImage(at: path("grid/grid.png"))
        XCTAssertEqual([grid.width, grid.height], [16, 24], "one row per label, --count columns")
        // An existing image is not replaced without --overwrite (before: silently); a run
        // folder is read as its latest_net_G.
        let again = try img2img(["generate", "--model", path("runs/c"), "--label", "light", "--count", "3", "--output", path("gen"),
                                 "--seed", "5"])
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.contains("using \(model)"), again.stderr)
        XCTAssertTrue(again.stderr.contains("gen/light_0.png exists (and 2 more") && again.stderr.contains("--overwrite"), again.stderr)
        let before = try Data(contentsOf: URL(fileURLWithPath: path("gen/light_0.png")))
        let forced = try img2img(["generate", "--model", path("runs/c"), "--label", "light", "--count", "3", "--output", path("gen"),
                                  "--seed", "5", "--overwrite"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: path("gen/light_0.png"))), before, "another seed, redone")
        let grid2 = try img2img(["generate", "--model", model, "--all-labels", "--count", "2", "--grid", "--output", path("grid")])
        XCTAssertEqual(grid2.status, 1, grid2.stderr)
        XCTAssertTrue(grid2.stderr.contains("grid/grid.png exists"), grid2.stderr)
        let bad = try img2img(["generate", "--model", model, "--label", "purple", "--output", path("x")])
        XCTAssertEqual(bad.status, 1, "an unknown label is found when the model is read: a runtime error")
        XCTAssertTrue(bad.stderr.contains("dark, light, mid"), bad.stderr)
    }
}
