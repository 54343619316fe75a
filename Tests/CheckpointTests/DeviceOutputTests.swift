import XCTest
import Foundation
import Checkpoint
import ImageIO

/// An atomic write renames a temporary file over its destination. Over a device (run as root
/// with `--output /dev/null`) that replaced the device with a regular file; both writers refuse
/// anything but a file, and leave it as it was.
final class DeviceOutputTests: XCTestCase {
    func testDevicesAndFoldersAreNotReplaced() throws {
        var before = stat()
        XCTAssertEqual(stat("/dev/null", &before), 0)
        XCTAssertThrowsError(try AtomicFile.write([1, 2, 3], to: "/dev/null"))
        XCTAssertThrowsError(try writeFileAtomically([1, 2, 3], to: "/dev/null"))
        var after = stat()
        XCTAssertEqual(stat("/dev/null", &after), 0)
        XCTAssertEqual(after.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a character device")
        XCTAssertEqual(after.st_rdev, before.st_rdev)

        let dir = NSTemporaryDirectory() + "img2img-dev-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try AtomicFile.write([1], to: dir + "/sub"))
        XCTAssertThrowsError(try writeFileAtomically([1], to: dir + "/sub"))
        // The control: a regular file is replaced as before.
        try AtomicFile.write([1], to: dir + "/f"); try AtomicFile.write([2, 3], to: dir + "/f")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/f")), Data([2, 3]))
        try writeFileAtomically([4], to: dir + "/g"); try writeFileAtomically([5, 6], to: dir + "/g")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/g")), Data([5, 6]))
    }
}
