// numpy's .npy arrays and .npz archives, for FID statistics that interoperate with
// pytorch-fid (`--save-stats` writes np.savez_compressed(path, mu=mu, sigma=sigma)):
//
//   let stats = try NumPy.readNPZ(path: "ref.npz")          // ["mu": [2048], "sigma": [2048, 2048]]
//   try NumPy.writeNPZ(["mu": mu, "sigma": sigma], to: "mine.npz")
//
// Read: little-endian f8, f4 and f2 (converted to Double), C or Fortran order, format versions
// 1-3; the archive's entries stored or deflated. Written: f8, C order, version 1, stored entries
// (np.load reads them; numpy's own savez writes the same).
import Foundation
import _CZlib
import _Files

/// An n-dimensional array of numpy, in C (row-major) order.
public struct NumPyArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Double]

    public init(shape: [Int], values: [Double]) {
        precondition(shape.reduce(1, *) == values.count, "NumPyArray: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }
}

public enum NumPy {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Parses one .npy file's bytes; `file` names it in errors.
    public static func parseNPY(_ bytes: [UInt8], file: String) throws -> NumPyArray {
        func bad(_ why: String) -> CheckpointError { CheckpointError(.invalidHeader, file: file, why) }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw bad("not a .npy array (no \\x93NUMPY magic)") }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw CheckpointError(.truncated, file: file, "the .npy header is cut short") }
            headerLength = Int(loadLE(bytes, 8, 4)); start = 12
        default: throw bad(".npy format version \(major) is not supported (1-3 are)")
        }
        guard headerLength <= bytes.count - start else { throw CheckpointError(.truncated, file: file, "the .npy header is cut short") }
        let header = String(decoding: bytes[start..<start + headerLength], as: UTF8.self)
        // The header is a Python dict literal: {'descr': '<f8', 'fortran_order': False, 'shape': (2048, 2048), }
        func field(_ key: String) -> Substring? {
            guard let k = header.range(of: "'\(key)':") else { return nil }
            return header[k.upperBound...].drop { $0 == " " }
        }
        guard let descrField = field("descr"), descrField.first == "'",
              let descr = descrField.dropFirst().split(separator: "'", maxSplits: 1).first else { throw bad("no descr in the .npy header") }
        let fortran = field("fortran_order")?.hasPrefix("True") ?? false
        guard let shapeField = field("shape"), shapeField.first == "(",
              let close = shapeField.firstIndex(of: ")") else { throw bad("no shape in the .npy header") }
        let dims = shapeField[shapeField.index(after: shapeField.startIndex)..<close]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for d in dims {
            guard let v = Int(d), v >= 0 else { throw bad("shape entry '\(d)' is not a size") }
            shape.append(v)
        }
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o, p <= bytes.count else { throw CheckpointError(.truncated, file: file, "shape \(shape) is larger than the file") }
            count = p
        }
        let width: Int
        switch descr {
        case "<f8": width = 8
        case "<f4": width = 4
        case "<f2": width = 2
        default: throw bad("dtype '\(descr)' is not supported (little-endian float64, float32 or float16 are)")
        }
        let dataStart = start + headerLength
        guard count * width <= bytes.count - dataStart else {
            throw CheckpointError(.truncated, file: file, "\(count) values of \(width) bytes do not fit in the file")
        }
        var values = [Double](repeating: 0, count: count)
        for i in 0..<count {
            let raw = loadLE(bytes, dataStart + i * width, width)
            switch width {
            case 8: values[i] = Double(bitPattern: raw)
            case 4: values[i] = Double(Float(bitPattern: UInt32(raw)))
            default: values[i] = Double(Float(Float16(bitPattern: UInt16(raw))))
            }
        }
        if fortran && shape.count >= 2 {
            // Column-major to row-major.
            var strides = [Int](repeating: 1, count: shape.count)
            for k in 1..<shape.count { strides[k] = strides[k - 1] * shape[k - 1] }
            var c = [Double](repeating: 0, count: count)
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<count {
                var f = 0
                for k in 0..<shape.count { f += index[k] * strides[k] }
                c[i] = values[f]
                var k = shape.count - 1
                while k >= 0 { index[k] += 1; if index[k] < shape[k] { break }; index[k] = 0; k -= 1 }
            }
            values = c
        }
        return NumPyArray(shape: shape, values: values)
    }

    /// A .npy file (version 1, '<f8', C order) of `a`.
    public static func npy(_ a: NumPyArray) -> [UInt8] {
        let dims = a.shape.map(String.init).joined(separator: ", ") + (a.shape.count == 1 ? "," : "")
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(dims)), }"
        // numpy pads so that the data starts at a multiple of 64, the header ending in '\n'.
        let unpadded = magic.count + 4 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = magic + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
        out.reserveCapacity(out.count + a.values.count * 8)
        for v in a.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    /// The arrays of an .npz archive by name (without ".npy").
    public static func readNPZ(path: String) throws -> [String: NumPyArray] {
        let bytes = try readWholeFile(path)
        let zip = try ZipArchive(bytes, file: path)
        var out: [String: NumPyArray] = [:]
        for e in zip.entries where e.name.hasSuffix(".npy") {
            guard let data = try zip.contents(of: e.name, in: bytes) else { continue }
            out[String(e.name.dropLast(4))] = try parseNPY(data, file: path + ":" + e.name)
        }
        return out
    }

    /// Writes an .npz archive (stored entries NAME.npy) atomically.
    public static func writeNPZ(_ arrays: [String: NumPyArray], to path: String) throws {
        var out: [UInt8] = [], central: [UInt8] = []
        func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        for name in arrays.keys.sorted() {
            let data = npy(arrays[name]!)
            let file = Array((name + ".npy").utf8)
            let crc = data.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, UInt32($0.count))) }
            let offset = out.count
            // version 20, no flags, stored, time and date 0 (1980-01-01 00:00)
            let common = le(20, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0x21, 2) + le(crc, 4) + le(data.count, 4) + le(data.count, 4)
                + le(file.count, 2) + le(0, 2)
            out += le(0x0403_4b50, 4) + common + file + data
            central += le(0x0201_4b50, 4) + le(20, 2) + common + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(offset, 4) + file
        }
        let cdOffset = out.count
        out += central
        out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(arrays.count, 2) + le(arrays.count, 2)
            + le(central.count, 4) + le(cdOffset, 4) + le(0, 2)
        try AtomicFile.write(out, to: path)
    }
}
