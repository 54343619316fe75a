import Foundation
import XCTest
@testable import ImageIO

/// Malformed files: each must give an image or an `ImageIOError`, never a
/// crash (which would kill this test process) or a hang (a decode over
/// `budget` seconds fails the test).
final class RobustnessTests: XCTestCase {
    static let budget = 5.0

    struct Tally: CustomStringConvertible {
        var files = 0, decoded = 0, errors = 0, skipped = 0
        var byKind: [ImageIOError.Kind: Int] = [:]
        var description: String {
            let kinds = byKind.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
            return "\(files) files, \(decoded) decoded, \(errors) errors (\(kinds.joined(separator: ", "))), \(skipped) skipped (license/readme)"
        }
    }

    /// Decodes every file under `folder` (recursively) in both truncation modes.
    func sweep(_ folder: String, skipping: (String) -> Bool = { _ in false }) throws -> Tally {
        let dir = try Corpora.folder(folder)
        var t = Tally()
        for path in Corpora.files(under: dir) {
            if skipping(path) { t.skipped += 1; continue }
            t.files += 1
            let (strict, s1) = timedDecode(path)
            let (_, s2) = timedDecode(path, options: .lenient)
            XCTAssertLessThan(max(s1, s2), Self.budget, "\(path): decode took too long")
            if max(s1, s2) > 0.5 { print("  slow: \(path) \(s1) \(s2) \(strict)") }
            switch strict {
            case .success(let d):
                t.decoded += 1
                XCTAssertGreaterThan(d.image.pixelCount, 0)
            case .failure(let e):
                t.errors += 1
                t.byKind[e.kind, default: 0] += 1
                XCTAssertEqual(e.path, path)
                XCTAssertFalse(e.message.isEmpty, "\(path): error without a message")
            }
        }
        return t
    }

    private static func isDoc(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        return name.hasPrefix("README") || name.hasPrefix("LICENSE") || name.hasSuffix(".md") || name.hasSuffix(".txt")
    }

    func testLibpngTestPNGs() throws {
        let all = try sweep("libpng-testpngs", skipping: Self.isDoc)
        print("libpng-testpngs (all, incl. crashers/): \(all)")
        let crashers = try sweep("libpng-testpngs/crashers")
        print("libpng-testpngs/crashers: \(crashers)")
        XCTAssertGreaterThan(crashers.errors, 0)
    }

    func testImagePngBugfixes() throws {
        let t = try sweep("image-png-bugfixes", skipping: Self.isDoc)
        print("image-png-bugfixes: \(t)")
        XCTAssertGreaterThan(t.files, 10)
    }

    func testJpegDecoderCrashtest() throws {
        let t = try sweep("jpeg-decoder-crashtest", skipping: Self.isDoc)
        print("jpeg-decoder-crashtest (incl. subfolders): \(t)")
        XCTAssertGreaterThanOrEqual(t.files, 100)
    }

    func testPillowBrokenFiles() throws {
        let t = try sweep("pillow-selected", skipping: Self.isDoc)
        print("pillow-selected: \(t)")
        let dir = try Corpora.folder("pillow-selected")
        // The truncated and broken ones must not pass silently in strict mode.
        for name in ["truncated_jpeg.jpg", "truncated_image.png", "broken_data_stream.png", "broken.png"] {
            XCTAssertThrowsError(try readImage(at: dir + "/" + name), name)
        }
        // Bad EXIF blocks must not stop the pixels.
        for name in ["hopper_bad_exif.jpg", "broken_exif_dpi.jpg", "truncated_exif_dpi.jpg"] {
            XCTAssertNoThrow(try readImage(at: dir + "/" + name), name)
        }
    }
}
