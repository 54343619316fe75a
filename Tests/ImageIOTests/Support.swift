import Foundation
import XCTest
@testable import ImageIO
import _TestSupport

/// Where the shared test corpora live: `$IMG2IMG_CORPORA`, else
/// `<repo>/../shared/corpora` with the repo root found from this file's path.
/// Tests that need them skip when the folder is absent (a user's fresh clone).
enum Corpora {
    static let root: String? = {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["IMG2IMG_CORPORA"], !env.isEmpty {
            return fm.fileExists(atPath: env) ? env : nil
        }
        let path = TestPaths.repoRoot.deletingLastPathComponent().appendingPathComponent("shared/corpora").path
        return fm.fileExists(atPath: path) ? path : nil
    }()

    static func folder(_ name: String) throws -> String {
        guard let root else { throw XCTSkip("corpora not found (set IMG2IMG_CORPORA or provide ../shared/corpora)") }
        let path = root + "/" + name
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("corpus folder \(name) not found") }
        return path
    }

    /// Regular files under `dir`, recursively, sorted.
    static func files(under dir: String, extensions: Set<String>? = nil) -> [String] {
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let full = dir + "/" + rel
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
            if let exts = extensions, !exts.contains((rel as NSString).pathExtension.lowercased()) { continue }
            out.append(full)
        }
        return out.sorted()
    }
}

/// Differences between two images of the same shape, in 8-bit levels.
struct Diff: CustomStringConvertible {
    var maxAbs: Int
    var meanAbs: Double
    var description: String { "max \(maxAbs), mean \(String(format: "%.3f", meanAbs))" }
}

func diff8(_ a: Image, _ b: Image) -> Diff? {
    guard a.width == b.width, a.height == b.height, a.channels == b.channels,
          a.depth == .eight, b.depth == .eight else { return nil }
    let x = a.pixels8, y = b.pixels8
    var maxAbs = 0
    var sum = 0
    x.withUnsafeBufferPointer { p in
        y.withUnsafeBufferPointer { q in
            for i in 0..<p.count {
                let d = abs(Int(p[i]) - Int(q[i]))
                sum += d
                if d > maxAbs { maxAbs = d }
            }
        }
    }
    return Diff(maxAbs: maxAbs, meanAbs: Double(sum) / Double(max(x.count, 1)))
}

func shape(_ i: Image) -> String { "\(i.width)x\(i.height)x\(i.channels)@\(i.depth.rawValue)" }

/// Decodes with a wall-clock budget: a decode that takes longer counts as a hang.
func timedDecode(_ path: String, options: DecodingOptions = .default, budget: Double = 5)
    -> (result: Result<DecodedImage, ImageIOError>, seconds: Double) {
    let t0 = Date()
    let r: Result<DecodedImage, ImageIOError>
    do {
        r = .success(try ImageDecoder.decodeFile(at: path, options: options))
    } catch {
        r = .failure(error)
    }
    return (r, Date().timeIntervalSince(t0))
}

/// CRC-32 (PNG's), to build test PNGs by hand.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
}

func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let t = Array(type.utf8)
    return be32(UInt32(data.count)) + t + data + be32(crc32(t + data))
}

/// A minimal APP1 payload with one IFD0 entry: orientation `value`.
func exifApp1(orientation value: Int, bigEndian: Bool, type: UInt16 = 3) -> [UInt8] {
    func u16(_ v: UInt16) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func u32(_ v: UInt32) -> [UInt8] { bigEndian ? be32(v) : be32(v).reversed() }
    let value: [UInt8] = type == 4 ? u32(UInt32(value)) : u16(UInt16(value)) + [0, 0]
    let tiff = (bigEndian ? Array("MM".utf8) : Array("II".utf8)) + u16(42) + u32(8)
        + u16(2)                                                      // two entries
        + u16(0x010F) + u16(2) + u32(4) + Array("Foo\0".utf8)         // Make, inline
        + u16(0x0112) + u16(type) + u32(1) + value                    // Orientation
        + u32(0)                                                      // no next IFD
    return Array("Exif\0\0".utf8) + tiff
}
