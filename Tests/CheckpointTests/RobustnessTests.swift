import XCTest
@testable import Checkpoint
import TensorCore  // SplitMix64: the mutation test is reproducible

final class RobustnessTests: XCTestCase {
    let goodFiles = ["resnet_zip.pth", "resnet_legacy.pth", "resnet.safetensors", "resnet_zip64.pth",
                     "mixed_zip.pth", "mixed_legacy.pth", "mixed.safetensors", "nested_zip.pth", "mixed_bigendian_zip.pth"]

    /// Cutting a good file anywhere gives an error, never a crash or a partial result.
    func testTruncatedFilesAlwaysFail() throws {
        for name in goodFiles {
            let bytes = try readWholeFile(fixture(name))
            let step = max(1, bytes.count / 64)
            var cut = 0
            while cut < bytes.count {
                XCTAssertThrowsError(try CheckpointFile.decode(Array(bytes[..<cut]), file: name), "\(name) cut at \(cut)")
                cut += step
            }
            for cut in max(0, bytes.count - 24)..<bytes.count {  // the end records and last data
                XCTAssertThrowsError(try CheckpointFile.decode(Array(bytes[..<cut]), file: name), "\(name) cut at \(cut)")
            }
        }
    }

    /// Random byte changes either read or fail with an error: no crash, no trap.
    func testMutatedFilesNeverCrash() throws {
        var rng = SplitMix64(seed: 0x1950a86a)
        for name in goodFiles {
            let bytes = try readWholeFile(fixture(name))
            for _ in 0..<40 {
                var copy = bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let at = Int.random(in: 0..<copy.count, using: &rng)
                    copy[at] = [0, 0xff, 0x7f, 0x80, UInt8.random(in: 0...255, using: &rng)][Int.random(in: 0..<5, using: &rng)]
                }
                _ = try? CheckpointFile.decode(copy, file: name)
            }
        }
    }

    /// The zip end records and central directory hold every size and offset: hit them hard.
    func testMutatedZipDirectoriesNeverCrash() throws {
        var rng = SplitMix64(seed: 0x504b)
        for name in ["mixed_zip.pth", "resnet_zip64.pth"] {
            let bytes = try readWholeFile(fixture(name))
            let directory = try ZipArchive(bytes, file: name).entries.count * 46
            for _ in 0..<150 {
                var copy = bytes
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let at = bytes.count - 1 - Int.random(in: 0..<(directory + 120), using: &rng)
                    copy[at] = [0, 0xff, 0x7f, 0x80, UInt8.random(in: 0...255, using: &rng)][Int.random(in: 0..<5, using: &rng)]
                }
                _ = try? CheckpointFile.decode(copy, file: name)
            }
        }
    }

    /// Regression: an extra-field length running past the archive must be refused before the
    /// extra field is parsed (it was once read through a cursor bounded by the declared length).
    func testCentralDirectoryExtraLengthPastTheEnd() throws {
        var bytes = try readWholeFile(fixture("resnet_zip64.pth"))
        var at = bytes.count - 4
        while !(bytes[at] == 0x50 && bytes[at + 1] == 0x4b && bytes[at + 2] == 1 && bytes[at + 3] == 2) { at -= 1 }
        bytes[at + 30] = 0xff
        bytes[at + 31] = 0xff
        XCTAssertThrowsError(try CheckpointFile.decode(bytes, file: "x.pth")) { error in
            XCTAssertEqual((error as? CheckpointError)?.kind, .truncated, "\(error)")
        }
    }

    func testHalfConversionMatchesIEEE() {
        for h in 0...UInt16.max {
            let f = halfToFloat(h)
            #if !(os(macOS) && arch(x86_64))
            let reference = Float(Float16(bitPattern: h))
            XCTAssertTrue(f.bitPattern == reference.bitPattern || (f.isNaN && reference.isNaN), "\(h)")
            #endif
            if !f.isNaN { XCTAssertEqual(floatToHalf(f), h) }
        }
        #if !(os(macOS) && arch(x86_64))
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
            guard !x.isNaN else { continue }
            XCTAssertEqual(floatToHalf(x), Float16(x).bitPattern, "\(x)")
        }
        #endif
    }

    func testJSONParser() throws {
        guard case .object(let o) = try JSONParser.parse(ArraySlice(#" {"a": [1, -2.5e3, true, null], "b\u00e9\ud83d\ude00": "x\ny"}  "#.utf8)) else {
            return XCTFail()
        }
        XCTAssertEqual(o.map(\.key), ["a", "bé😀"])
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "\"\u{1}\"", "\"\\ud800\"", "[1] x", "tru", "\"\\q\""] {
            XCTAssertThrowsError(try JSONParser.parse(ArraySlice(bad.utf8)), bad)
        }
        XCTAssertThrowsError(try JSONParser.parse(ArraySlice(([UInt8](repeating: UInt8(ascii: "["), count: 65) + [UInt8](repeating: UInt8(ascii: "]"), count: 65)))))
        XCTAssertNoThrow(try JSONParser.parse(ArraySlice(([UInt8](repeating: UInt8(ascii: "["), count: 64) + [UInt8](repeating: UInt8(ascii: "]"), count: 64)))))
    }

    // MARK: - The unpickler on hand-written pickles

    func unpickle(_ bytes: [UInt8]) throws -> PickleValue {
        var u = Unpickler(bytes, from: 0, file: "t.pkl", what: "test") { _ in throw CheckpointError(.invalidPickle, file: "t.pkl", "no storages") }
        return try u.load()
    }

    func testUnpicklerRefusesCyclesAndMisuse() {
        let cases: [(String, [UInt8])] = [
            ("list appended to itself", [0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]),
            ("dict set into itself", [0x80, 2, 0x7d, 0x71, 0, 0x4b, 1, 0x68, 0, 0x73, 0x2e]),
            ("stack underflow", [0x80, 2, 0x61, 0x2e]),
            ("pop through mark", [0x80, 2, 0x4b, 1, 0x28, 0x85, 0x2e]),
            ("protocol 6", [0x80, 6, 0x4e, 0x2e]),
            ("REDUCE on a string", [0x80, 2, 0x8c, 1, 0x61, 0x29, 0x52, 0x2e]),
            ("extension registry", [0x80, 2, 0x82, 1, 0x2e]),
            ("out-of-band buffer", [0x80, 5, 0x97, 0x2e]),
            ("huge string length", [0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x2e]),
            ("no STOP", [0x80, 2, 0x4e]),
            ("two values at STOP", [0x80, 2, 0x4e, 0x4e, 0x2e]),
            ("persistent id", [0x80, 2, 0x4e, 0x51, 0x2e]),
        ]
        for (what, bytes) in cases {
            XCTAssertThrowsError(try unpickle(bytes), what) { error in
                XCTAssertNotNil(error as? CheckpointError, what)
            }
        }
    }

    func testUnpicklerReadsValues() throws {
        // pickle.dumps({'a': [1, -1, 2**40, 2**70, 1.5, 'é', None, True, b'x', (1,)]}, protocol=4).hex()
        let hex = "8004953e000000000000007d948c0161945d94284b014affffffff8a060000000000018a09000000000000000040473ff80000000000008c02c3a9944e88430178944b01859465732e"
        let bytes = stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
        let value = try unpickle(bytes)
        guard case .dict(let d) = value, case .list(let l) = d.items.first!.value else { return XCTFail("\(value)") }
        XCTAssertEqual(l.items.count, 10)
        guard case .int(1) = l.items[0], case .int(-1) = l.items[1], case .int(1 << 40) = l.items[2],
              case .bigInt(let big) = l.items[3], big.count == 9, case .float(1.5) = l.items[4],
              case .string("é") = l.items[5], case .none = l.items[6], case .bool(true) = l.items[7],
              case .bytes([0x78]) = l.items[8], case .tuple(let t) = l.items[9], t.items.count == 1 else {
            return XCTFail("\(l.items)")
        }
    }
}
