import Foundation
import XCTest
@testable import Checkpoint
import _TestSupport

// Fixtures and expected values come from `python3 tools/make_checkpoint_fixtures.py`
// (torch 2.15.0, safetensors 0.8): torch.save in zip and legacy formats, safetensors from the
// Python library, and hostile/broken files written byte by byte.

let fixturesDir = TestPaths.fixtures()

func fixture(_ name: String) -> String { fixturesDir.appendingPathComponent(name).path }

struct Expected: Decodable {
    struct Tensor: Decodable {
        let name: String
        let shape: [Int]
        let dtype: String
        let values: [Double]?
        let ints: [Int64]?
    }
    let sets: [String: [Tensor]]
    let fixtures: [String: String]
    let metadata: [String: [String: String]]

    static let shared: Expected = {
        let data = try! Data(contentsOf: fixturesDir.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()
}

let torchDTypes: [String: DType] = [
    "float32": .f32, "float16": .f16, "bfloat16": .bf16, "float64": .f64, "int64": .i64,
    "int32": .i32, "int16": .i16, "int8": .i8, "uint8": .u8, "bool": .bool,
]

/// Every hostile file: the global that must be refused.
let hostile: [String: String] = [
    "evil_os_system_zip.pth": "os.system",
    "evil_posix_system_zip.pth": "posix.system",
    "evil_builtins_eval_zip.pth": "builtins.eval",
    "evil_py2_builtin_eval_zip.pth": "__builtin__.eval",
    "evil_subprocess_popen_legacy.pth": "subprocess.Popen",
    "evil_getattr_stack_global_zip.pth": "builtins.getattr",
    "evil_os_system_legacy.pth": "os.system",
    "evil_inst_legacy.pth": "os.system",
]

/// Every broken file: the error kind and a phrase of the message.
let broken: [String: (CheckpointError.Kind, String)] = [
    "broken_storage_too_large_zip.pth": (.invalidStorage, "declares 1000000000000 elements"),
    "broken_view_out_of_bounds_zip.pth": (.invalidStorage, "reaches element 7 of storage '0', which holds 6"),
    "broken_missing_storage_zip.pth": (.invalidStorage, "has no entry"),
    "broken_expansion_bomb_zip.pth": (.limitExceeded, "more than 4x the file's size"),
    "broken_negative_stride_zip.pth": (.invalidShape, "negative offset, size or stride"),
    "broken_unknown_storage_zip.pth": (.forbiddenGlobal, "'torch.ComplexFloatStorage'"),
    "broken_deep_nesting_zip.pth": (.invalidPickle, "nested deeper than 64"),
    "broken_memo_zip.pth": (.invalidPickle, "memo entry 5 is not defined"),
    "broken_name_bomb_zip.pth": (.limitExceeded, "flattened names would exceed"),
    "broken_compressed_zip.pth": (.unsupportedZip, "is compressed (method 8)"),
    "broken_storage_count_legacy.pth": (.truncated, "declares 1099511627776 elements"),
    "broken_overlap.safetensors": (.offsetsOverlap, "overlap those of 'a'"),
    "broken_out_of_range.safetensors": (.offsetsOutOfRange, "outside the data buffer of 16 bytes"),
    "broken_header_longer_than_file.safetensors": (.truncated, "header length 1000 is larger than the file"),
    "broken_huge_header.safetensors": (.limitExceeded, "exceeds the cap"),
    "broken_unknown_dtype.safetensors": (.unknownDType, "unknown dtype 'Q7'"),
    "broken_shape_mismatch.safetensors": (.shapeMismatch, "shape [3, 3] of F32 needs 36 bytes"),
    "broken_negative_dim.safetensors": (.invalidShape, "negative dimension -1"),
    "broken_invalid_json.safetensors": (.invalidHeader, "invalid JSON header"),
    "broken_gap.safetensors": (.offsetsNotContiguous, "gap of 8 bytes"),
    "broken_trailing_bytes.safetensors": (.offsetsNotContiguous, "4 bytes not covered"),
    "broken_deep_json.safetensors": (.invalidHeader, "nesting deeper than 64"),
    "broken_duplicate_name.safetensors": (.duplicateName, "appears twice"),
    "broken_metadata_not_string.safetensors": (.invalidHeader, "'epoch' is not a string"),
    "broken_offset_overflow.safetensors": (.invalidHeader, "'data_offsets' must be two integers"),
]

final class FixtureTests: XCTestCase {
    func testEveryFixtureIsCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: fixturesDir.path).filter { $0 != "expected.json" }
        let known = Set(Expected.shared.fixtures.keys).union(hostile.keys).union(broken.keys).union(TorchScriptTests.fixtures)
        XCTAssertEqual(Set(files), known)
    }

    func testGoodFixturesMatchTorch() throws {
        let expected = Expected.shared
        for (file, set) in expected.fixtures.sorted(by: { $0.key < $1.key }) {
            let got = try CheckpointFile.read(path: fixture(file))
            let want = expected.sets[set]!
            if file.hasSuffix(".safetensors") {
                // The Python library orders data by dtype and name; we return file order.
                XCTAssertEqual(Set(got.names), Set(want.map(\.name)), file)
            } else {
                XCTAssertEqual(got.names, want.map(\.name), "\(file): names in state-dict order")
            }
            for w in want {
                guard let t = got[w.name] else { XCTFail("\(file): missing \(w.name)"); continue }
                XCTAssertEqual(t.shape, w.shape, "\(file) \(w.name)")
                XCTAssertEqual(t.sourceDType, torchDTypes[w.dtype], "\(file) \(w.name)")
                if let values = w.values {
                    XCTAssertNil(t.integers, "\(file) \(w.name)")
                    XCTAssertEqual(t.values.map(\.bitPattern), values.map { Float($0).bitPattern }, "\(file) \(w.name)")
                } else {
                    XCTAssertEqual(t.integers, w.ints, "\(file) \(w.name)")
                    XCTAssertEqual(t.values, w.ints!.map { Float($0) }, "\(file) \(w.name)")
                }
            }
            if let meta = expected.metadata[file] {
                XCTAssertEqual(got.metadata, meta, file)
            } else if file.hasSuffix(".pth") {
                XCTAssertEqual(got.metadata, [:], file)
            }
        }
    }

    func testFormatDetection() throws {
        let cases: [(String, CheckpointFormat)] = [
            ("resnet_zip.pth", .torchZip), ("resnet_zip64.pth", .torchZip),
            ("resnet_legacy.pth", .torchLegacy), ("resnet.safetensors", .safetensors),
        ]
        for (file, format) in cases {
            XCTAssertEqual(CheckpointFile.detectFormat(try readWholeFile(fixture(file))), format, file)
        }
        XCTAssertNil(CheckpointFile.detectFormat(Array("\u{89}PNG\r\n\u{1a}\n....".utf8)))
        XCTAssertThrowsError(try CheckpointFile.decode(Array("hello".utf8), file: "x.bin")) { error in
            XCTAssertEqual((error as? CheckpointError)?.kind, .unknownFormat)
        }
    }

    func testModulePrefixAndStaleKeys() throws {
        let wrapped = try CheckpointFile.read(path: fixture("resnet_module_zip.pth"))
        XCTAssertTrue(wrapped.names.allSatisfy { $0.hasPrefix("module.") })
        let plain = try CheckpointFile.read(path: fixture("resnet_zip.pth"))
        XCTAssertEqual(wrapped.strippingPrefix(), plain)

        let trimmed = plain.removingTensors(withSuffixes: ["running_mean", "running_var", "num_batches_tracked"])
        XCTAssertEqual(trimmed.names, plain.names.filter { !$0.contains("running_") && !$0.hasSuffix("num_batches_tracked") })
        XCTAssertNotNil(trimmed["model.10.conv_block.1.weight"])
        XCTAssertNil(trimmed["model.2.running_mean"])
        XCTAssertEqual(plain["model.2.num_batches_tracked"]?.integers, [3])
        XCTAssertEqual(plain["model.2.num_batches_tracked"]?.shape, [])
    }

    func testHostileFilesAreRefusedAndNothingRuns() throws {
        let marker = "/tmp/img2img_checkpoint_PWNED"
        for (file, global) in hostile.sorted(by: { $0.key < $1.key }) {
            let path = fixture(file)
            XCTAssertThrowsError(try CheckpointFile.read(path: path), file) { error in
                guard let e = error as? CheckpointError else { return XCTFail("\(file): \(error)") }
                XCTAssertEqual(e.kind, .forbiddenGlobal, "\(file): \(e)")
                XCTAssertEqual(e.description, "\(path): refusing pickle global '\(global)' (only tensors, storages and ordered dicts are allowed)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testBrokenFilesAreRefusedWithAClearError() throws {
        for (file, (kind, phrase)) in broken.sorted(by: { $0.key < $1.key }) {
            let path = fixture(file)
            XCTAssertThrowsError(try CheckpointFile.read(path: path), file) { error in
                guard let e = error as? CheckpointError else { return XCTFail("\(file): \(error)") }
                XCTAssertEqual(e.kind, kind, "\(file): \(e)")
                XCTAssertTrue(e.description.hasPrefix(path + ": "), "\(file): \(e)")
                XCTAssertTrue(e.description.contains(phrase), "\(file): \(e)")
            }
        }
    }

    func testErrorsNameTheTensor() throws {
        XCTAssertThrowsError(try CheckpointFile.read(path: fixture("broken_shape_mismatch.safetensors"))) { error in
            XCTAssertEqual((error as? CheckpointError)?.tensor, "a")
        }
        XCTAssertThrowsError(try CheckpointFile.read(path: fixture("broken_view_out_of_bounds_zip.pth"))) { error in
            XCTAssertEqual((error as? CheckpointError)?.tensor, "w")
        }
    }

    func testMissingFileIsAnIOError() {
        XCTAssertThrowsError(try CheckpointFile.read(path: fixture("no_such_file.pth"))) { error in
            XCTAssertEqual((error as? CheckpointError)?.kind, .io)
        }
        XCTAssertThrowsError(try CheckpointFile.read(path: fixturesDir.path)) { error in
            XCTAssertEqual((error as? CheckpointError)?.kind, .io)
        }
    }
}
