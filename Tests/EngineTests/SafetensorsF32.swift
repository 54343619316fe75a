// A tiny safetensors reader for the test fixtures (F32 only): 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw data.
// (The project's full safetensors module lives in Checkpoint; tests stay independent of it.)
import Foundation
import TensorCore
import _TestSupport

struct SafetensorsF32 {
    var tensors: [String: Tensor] = [:]
    var metadata: [String: String] = [:]

    init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw FixtureError.malformed(url.path, "shorter than 8 bytes") }
        let n = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        guard 8 + n <= data.count,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any]
        else { throw FixtureError.malformed(url.path, "bad header") }
        let body = data.subdata(in: (8 + n)..<data.count)
        for (name, entry) in header {
            if name == "__metadata__" { metadata = entry as? [String: String] ?? [:]; continue }
            guard let e = entry as? [String: Any], e["dtype"] as? String == "F32",
                  let shape = e["shape"] as? [Int], let off = e["data_offsets"] as? [Int], off.count == 2
            else { throw FixtureError.malformed(url.path, "tensor \(name) is not F32") }
            let count = Tensor.count(of: shape)
            guard off[1] - off[0] == count * 4, off[1] <= body.count else { throw FixtureError.malformed(url.path, "offsets of \(name)") }
            var scalars = [Float](repeating: 0, count: count)
            _ = scalars.withUnsafeMutableBytes { dst in
                body.copyBytes(to: dst, from: off[0]..<off[1])   // little-endian hosts only (x86-64, arm64)
            }
            tensors[name] = Tensor(shape: shape, scalars: scalars)
        }
    }

    subscript(_ name: String) -> Tensor {
        guard let t = tensors[name] else { fatalError("fixture has no tensor \(name); has \(tensors.keys.sorted())") }
        return t
    }

    /// Fixtures/<name>.safetensors next to this source file.
    static func fixture(_ name: String, file: String = #filePath) throws -> SafetensorsF32 {
        let dir = TestPaths.fixtures(file: file)
        return try SafetensorsF32(contentsOf: dir.appendingPathComponent(name + ".safetensors"))
    }
}

enum FixtureError: Error { case malformed(String, String) }
