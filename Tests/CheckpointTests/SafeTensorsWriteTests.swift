import Foundation
import XCTest
@testable import Checkpoint

final class SafeTensorsWriteTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "ckpt-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func sample() -> TensorFile {
        var rng = SystemRandomNumberGenerator()
        let weight = (0..<2 * 3 * 7 * 7).map { _ in Float.random(in: -1...1, using: &rng) }
        let special: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, 65504, 70000, 1e-8, 6e-5, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let config = #"{"model":"resnet_generator","ngf":64,"n_blocks":9,"norm":"instance"}"#
        return TensorFile(
            tensors: [
                NamedTensor(name: "model.1.weight", shape: [2, 3, 7, 7], values: weight),
                NamedTensor(name: "model.10.conv_block.1.weight", shape: [12], values: special),
                NamedTensor(name: "model.2.num_batches_tracked", shape: [], integers: [1 << 40]),
                NamedTensor(name: "scalar", shape: [], values: [3.25]),
                NamedTensor(name: "empty", shape: [0, 3], values: []),
                NamedTensor(name: "naïve \"name\"\n", shape: [1], values: [.nan]),
            ],
            metadata: ["config": config, "format": "pt", "ünïcode": "\u{1}\t\"\\"])
    }

    func testF32RoundTripIsExact() throws {
        let file = sample()
        let path = dir + "/net.safetensors"
        try SafeTensors.write(file, to: path)
        let back = try CheckpointFile.read(path: path)
        XCTAssertEqual(back.names, file.names, "written in the given order")
        XCTAssertEqual(back.metadata, file.metadata)
        for (a, b) in zip(file.tensors, back.tensors) {
            XCTAssertEqual(a.shape, b.shape, a.name)
            XCTAssertEqual(a.values.map(\.bitPattern), b.values.map(\.bitPattern), a.name)
            XCTAssertEqual(a.integers, b.integers, a.name)
        }
        XCTAssertEqual(back["model.2.num_batches_tracked"]?.sourceDType, .i64)
        XCTAssertEqual(back["model.1.weight"]?.sourceDType, .f32)
    }

    /// The streamed file is byte for byte the in-memory encoding, f32 and f16, including an
    /// integer tensor long enough to cross the 64 KiB staging buffer.
    func testStreamedWriteEqualsEncode() throws {
        var file = sample()
        file.tensors.append(NamedTensor(name: "ints", shape: [10_000], integers: (0..<10_000).map { Int64($0) * -3 }))
        for encoding in [SafeTensors.FloatEncoding.f32, .f16] {
            let path = dir + "/stream-\(encoding).safetensors"
            try SafeTensors.write(file, to: path, encoding: encoding)
            let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(written, try SafeTensors.encode(file, encoding: encoding), "\(encoding)")
        }
    }

    func testF16RoundTripRoundsToNearestHalf() throws {
        let file = sample()
        let path = dir + "/net16.safetensors"
        try SafeTensors.write(file, to: path, encoding: .f16)
        let back = try SafeTensors.read(path: path)
        XCTAssertEqual(back["model.1.weight"]?.sourceDType, .f16)
        XCTAssertEqual(back["model.2.num_batches_tracked"]?.integers, [1 << 40], "integers stay exact")
        for (a, b) in zip(file.tensors, back.tensors) where a.integers == nil {
            for (x, y) in zip(a.values, b.values) {
                if x.isNaN { XCTAssertTrue(y.isNaN); continue }
                if abs(x) > 65519 { XCTAssertEqual(y, x > 0 ? .infinity : -.infinity); continue }
                // Round to nearest: error at most half a unit in the last place (2^-11 relative, 2^-25 absolute).
                XCTAssertLessThanOrEqual(abs(x - y), max(abs(x) * 0x1p-11, 0x1p-25), "\(a.name): \(x) -> \(y)")
            }
        }
        #if !(os(macOS) && arch(x86_64))
        XCTAssertEqual(back["model.1.weight"]!.values, file["model.1.weight"]!.values.map { Float(Float16($0)) })
        #endif
    }

    func testAtomicWriteLeavesNoTemporaryFile() throws {
        let path = dir + "/latest_net_G.safetensors"
        try SafeTensors.write(sample(), to: path)
        let small = TensorFile(tensors: [NamedTensor(name: "a", shape: [1], values: [1])])
        try SafeTensors.write(small, to: path)  // replaces
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["latest_net_G.safetensors"])
        XCTAssertEqual(try CheckpointFile.read(path: path), TensorFile(tensors: [NamedTensor(name: "a", shape: [1], values: [1])]))

        // A failing write leaves the old file and no temporary.
        let bad = TensorFile(tensors: [NamedTensor(name: "a", shape: [2], values: [1])])
        XCTAssertThrowsError(try SafeTensors.write(bad, to: path)) { error in
            XCTAssertEqual((error as? CheckpointError)?.kind, .shapeMismatch)
            XCTAssertEqual((error as? CheckpointError)?.tensor, "a")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["latest_net_G.safetensors"])
        XCTAssertThrowsError(try AtomicFile.write([1, 2, 3], to: dir + "/missing/folder/x.safetensors")) { error in
            XCTAssertEqual((error as? CheckpointError)?.kind, .io)
        }
    }

    func testWriterRefusesDuplicateNames() {
        let t = NamedTensor(name: "a", shape: [1], values: [1])
        XCTAssertThrowsError(try SafeTensors.encode(TensorFile(tensors: [t, t]))) { error in
            XCTAssertEqual((error as? CheckpointError)?.kind, .duplicateName)
        }
    }

    func testPythonWrittenFileRewritesToTheSameValues() throws {
        // Read what Python wrote, write it ourselves, read again: same tensors and metadata.
        for name in ["resnet.safetensors", "mixed.safetensors", "resnet_zip.pth"] {
            let original = try CheckpointFile.read(path: fixture(name))
            let back = try SafeTensors.decode(try SafeTensors.encode(original))
            XCTAssertEqual(back.names, original.names, name)
            XCTAssertEqual(back.metadata, original.metadata, name)
            for (a, b) in zip(original.tensors, back.tensors) {
                XCTAssertEqual(a.values.map(\.bitPattern), b.values.map(\.bitPattern), "\(name) \(a.name)")
                XCTAssertEqual(a.integers, b.integers, "\(name) \(a.name)")
            }
        }
    }
}
