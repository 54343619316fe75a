// The features KID needs, kept while a folder streams through the network: 8 KB an image at
// 2048-d, so 50,000 images would add 400 MB a folder to the process. Up to `memoryRows` rows
// stay in memory; beyond that every row goes to an unlinked temporary file, written as it comes
// and read back row by row (pread) when KID gathers a subset: the process's memory stays flat
// whatever the image count (the kernel's page cache holds the file, and gives it back under
// pressure).
import Foundation

public final class FeatureRows: @unchecked Sendable {
    public let dimension: Int
    public private(set) var count = 0
    /// Rows kept in memory before spilling (32 MB at 2048-d).
    public static let defaultMemoryRows = 4096
    let memoryRows: Int
    private var memory: [Float] = []
    private var fd: Int32 = -1

    public init(dimension: Int, memoryRows: Int = FeatureRows.defaultMemoryRows) {
        self.dimension = dimension
        self.memoryRows = memoryRows
    }

    /// Rows kept in a file rather than in memory.
    public var spilled: Bool { fd >= 0 }

    deinit { if fd >= 0 { close(fd) } }

    /// Appends `rows` rows (row-major, rows x dimension).
    public func append(_ values: [Float], rows: Int) throws {
        precondition(values.count == rows * dimension, "FeatureRows: \(values.count) values for \(rows) rows")
        if !spilled && count + rows > memoryRows {
            try spill()
        }
        if spilled {
            try write(values)
        } else {
            memory += values
        }
        count += rows
    }

    private func spill() throws {
        var template = Array((NSTemporaryDirectory() + "/img2img-features-XXXXXX").utf8CString)
        let f = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard f >= 0 else { throw FeatureRowsError("cannot create a temporary file for KID's features in \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))") }
        // Unlinked at once: the file goes away with the process, however it ends.
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        fd = f
        let kept = memory
        memory = []
        try write(kept)
    }

    private func write(_ values: [Float]) throws {
        try values.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                guard n > 0 else {
                    if n < 0 && errno == EINTR { continue }
                    throw FeatureRowsError("writing KID's features to a temporary file: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    /// Appends every row of `other`, a chunk at a time.
    public func append(contentsOf other: FeatureRows) throws {
        precondition(other.dimension == dimension, "FeatureRows: dimensions \(other.dimension) and \(dimension)")
        var start = 0
        while start < other.count {
            let n = min(256, other.count - start)
            try append(other.gather(Array(start..<start + n)).map(Float.init), rows: n)
            start += n
        }
    }

    /// The rows `indices` as float64, row after row (indices.count x dimension).
    public func gather(_ indices: [Int]) -> [Double] {
        let d = dimension
        var out = [Double](repeating: 0, count: indices.count * d)
        if !spilled {
            memory.withUnsafeBufferPointer { m in
                for (k, r) in indices.enumerated() { for j in 0..<d { out[k * d + j] = Double(m[r * d + j]) } }
            }
            return out
        }
        var row = [Float](repeating: 0, count: d)
        for (k, r) in indices.enumerated() {
            row.withUnsafeMutableBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = pread(fd, raw.baseAddress! + done, raw.count - done, off_t(r * d * 4 + done))
                    // The file was written by this process: a short or failed read is a broken machine.
                    precondition(n > 0 || (n < 0 && errno == EINTR), "reading KID's features back: \(String(cString: strerror(errno)))")
                    if n > 0 { done += n }
                }
            }
            for j in 0..<d { out[k * d + j] = Double(row[j]) }
        }
        return out
    }
}

public struct FeatureRowsError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
