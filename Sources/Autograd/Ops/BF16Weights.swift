// Packed bf16 conv weights, packed once per weight value instead of once per call.
//   w: [KH,KW,C,OC] float  ->  packed: i2i_conv_bf16_packed_count(s) bf16 in the layout of
//   i2i_conv_bf16_layout(s) (Winograd U, or [..][K/2][NR][2] for the direct kernels)
//
// A stopgap until the conv plans (which key packed weights on a generation stamp of TensorStorage)
// land: a lock-protected dictionary keyed by the weight storage's ObjectIdentifier and the packed
// layout. An entry holds the storage weakly and is valid only while that same storage object is
// alive, has the same base pointer and count, and still holds the same probe values (the first and
// last 8 and 48 evenly spaced ones): a weight replaced by a new tensor (an optimizer step, a loaded
// checkpoint) packs again. Entries of dead storages are dropped at the next insertion. A weight
// changed in place through withUnsafeMutableBufferPointer at positions the probe misses would keep
// its stale packing: inference never does that.
import Foundation
import TensorCore
import _CKernels

final class BF16PackedWeights: @unchecked Sendable {
    let packed: UnsafeMutablePointer<UInt16>
    let count: Int
    fileprivate weak var storage: TensorStorage?
    fileprivate let base: UnsafeMutablePointer<Float>
    fileprivate let probe: [Float]

    fileprivate init(_ w: Tensor, _ s: i2i_conv_shape) {
        var s = s
        count = Int(i2i_conv_bf16_packed_count(&s))
        packed = .allocate(capacity: max(count, 1))
        i2i_conv_bf16_pack(&s, w.pointer, packed)
        storage = w.storage
        base = w.storage.pointer
        probe = BF16PackedWeights.probe(w)
    }

    deinit { packed.deallocate() }

    fileprivate static func probe(_ w: Tensor) -> [Float] {
        let n = w.count, p = w.pointer
        var v: [Float] = []
        v.reserveCapacity(64)
        for i in 0..<min(8, n) { v.append(p[i]) }
        for i in max(0, n - 8)..<n { v.append(p[i]) }
        for k in 0..<48 { v.append(p[k * n / 48]) }
        return v
    }

    fileprivate func matches(_ w: Tensor) -> Bool {
        guard let st = storage, st === w.storage, base == w.storage.pointer else { return false }
        return BF16PackedWeights.probe(w).elementsEqual(probe) { $0.bitPattern == $1.bitPattern }
    }
}

enum BF16WeightCache {
    private struct Key: Hashable {
        let storage: ObjectIdentifier
        let layout, KH, KW, C, OC, strideH, strideW: Int32
    }

    nonisolated(unsafe) private static var entries: [Key: BF16PackedWeights] = [:]
    private static let lock = NSLock()

    /// The packed weights of w for conv shape s (packing them if needed). Keep the result alive
    /// while the kernel reads it.
    static func packed(_ w: Tensor, _ s: i2i_conv_shape) -> BF16PackedWeights {
        var s = s
        let key = Key(storage: ObjectIdentifier(w.storage), layout: i2i_conv_bf16_layout(&s), KH: s.KH, KW: s.KW,
                      C: s.C, OC: s.OC, strideH: s.strideH, strideW: s.strideW)
        lock.lock()
        defer { lock.unlock() }
        if let e = entries[key], e.matches(w) { return e }
        entries = entries.filter { $0.value.storage != nil }
        let e = BF16PackedWeights(w, s)
        entries[key] = e
        return e
    }

    /// Entries held (tests).
    static var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return entries.count
    }
}
