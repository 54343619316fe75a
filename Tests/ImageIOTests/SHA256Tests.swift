// _Files' SHA-256 (translate's record of the model file) against FIPS 180-4's examples and
// sha256sum, at the padding boundaries (55, 56, 64 bytes) and fed in uneven pieces.
import XCTest
import Foundation
import _Files
import _TestSupport

final class SHA256Tests: XCTestCase {
    func digest(_ bytes: [UInt8], pieces: Int = 1) -> String {
        var h = SHA256()
        let step = max(1, bytes.count / pieces)
        var i = 0
        while i < bytes.count {
            h.update(Array(bytes[i..<min(bytes.count, i + step)]))
            i += step
        }
        return h.finalHex()
    }

    func testKnownDigests() {
        XCTAssertEqual(digest([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(digest(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let two = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)  // 56 bytes
        XCTAssertEqual(digest(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(digest(two, pieces: 7), digest(two))
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(digest(million, pieces: 3), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testFileDigestMatchesSha256sum() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("img2img-sha-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for n in [0, 55, 56, 63, 64, 65, 1 << 20, (1 << 20) + 17] {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let r = try runProcess(URL(fileURLWithPath: "/usr/bin/sha256sum"), [path])
            XCTAssertEqual(try sha256Hex(ofFile: path), String(r.stdout.prefix(64)), "\(n) bytes")
        }
        XCTAssertThrowsError(try sha256Hex(ofFile: FileManager.default.temporaryDirectory.path), "a folder is refused")
    }
}
