import Foundation
import ImageIO
import Augment
import _Sync

/// N augmented items as NHWC floats in [-1, 1], ready to become tensors.
public struct Batch: Sendable {
    public var count: Int
    public var height: Int
    public var width: Int
    public var channelsA: Int
    public var channelsB: Int
    /// The B side's size: unpaired A and B images need not match (batch 1 of mixed sizes).
    public var heightB: Int
    public var widthB: Int
    /// `[count, height, width, channelsA]`, row-major.
    public var a: [Float]
    /// `[count, heightB, widthB, channelsB]` when the dataset has a B side.
    public var b: [Float]?
    public var labels: [Int]
    public var pathsA: [String]
    public var pathsB: [String]
    /// Position of this batch in its epoch (0-based); a batch whose items all failed leaves a gap.
    public var index: Int = 0

    public var shapeA: [Int] { [count, height, width, channelsA] }
    public var shapeB: [Int] { [count, heightB, widthB, channelsB] }

    /// Packs samples into a batch: the A sides must share one size and the B sides one size,
    /// which may differ from A's (unpaired domains of their own sizes).
    public static func collate(_ samples: [Sample], channelsA: Int, channelsB: Int) throws -> Batch {
        guard let first = samples.first else { throw DatasetError(path: "", reason: "empty batch") }
        let h = first.a.height, w = first.a.width
        let hB = first.b?.height ?? h, wB = first.b?.width ?? w
        let n = samples.count
        var a = [Float](repeating: 0, count: n * h * w * channelsA)
        let hasB = first.b != nil
        var b: [Float]? = hasB ? [Float](repeating: 0, count: n * hB * wB * channelsB) : nil
        for (i, s) in samples.enumerated() {
            guard s.a.width == w, s.a.height == h, s.a.channels == channelsA else {
                throw DatasetError(path: s.pathA, reason: "is \(s.a.width)x\(s.a.height)x\(s.a.channels) after preprocessing, "
                                   + "the batch is \(w)x\(h)x\(channelsA): use a batch size of 1 or a preprocess mode that crops")
            }
            Normalization.writeSignedUnit(s.a, into: &a, offset: i * h * w * channelsA)
            if hasB {
                guard let ib = s.b, ib.width == wB, ib.height == hB, ib.channels == channelsB else {
                    throw DatasetError(path: s.pathB ?? s.pathA, reason: "B side does not match the batch's size \(wB)x\(hB)x\(channelsB)")
                }
                Normalization.writeSignedUnit(ib, into: &b!, offset: i * hB * wB * channelsB)
            }
        }
        return Batch(count: n, height: h, width: w, channelsA: channelsA, channelsB: hasB ? channelsB : 0,
                     heightB: hB, widthB: wB,
                     a: a, b: b, labels: samples.map { $0.label ?? 0 },
                     pathsA: samples.map(\.pathA), pathsB: samples.map { $0.pathB ?? "" })
    }
}

/// Feeds batches of N from a dataset, decoding and augmenting on a background thread while
/// the consumer trains. At most `prefetch` batches wait in memory.
///
/// Reproducible: the epoch's order and every item's random choices derive from
/// (seed, epoch, position), never from thread timing. Items that fail to load are skipped,
/// counted, and reported through `onSkip`; they never stop the epoch.
public final class DataLoader: @unchecked Sendable {
    public let dataset: any ImageDataset
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool
    public let prefetch: Int
    public let maxItems: Int
    /// Data-parallel training: this process is rank `shard.index` of `shard.count`. A global
    /// batch is `batchSize * shard.count` consecutive items of the epoch's order, of which this
    /// rank takes the `shard.index`-th `batchSize`; an incomplete last global batch is left out
    /// so that every rank takes the same number of steps.
    public let shard: (index: Int, count: Int)
    private let onSkip: @Sendable (DatasetError) -> Void

    private let lock = NSLock()
    private var _failures: [DatasetError] = []

    /// `maxItems` caps an epoch (the paper code's `--max_dataset_size`).
    public init(dataset: any ImageDataset, batchSize: Int, shuffle: Bool = true, seed: UInt64 = 0,
                dropLast: Bool = false, prefetch: Int = 4, maxItems: Int = .max, shard: (index: Int, count: Int) = (0, 1),
                onSkip: @escaping @Sendable (DatasetError) -> Void = { _ in }) {
        precondition(batchSize >= 1, "batch size must be at least 1")
        precondition(shard.count >= 1 && (0..<shard.count).contains(shard.index), "shard index out of range")
        self.shard = shard
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.prefetch = max(1, prefetch)
        self.maxItems = maxItems
        self.onSkip = onSkip
    }

    public var itemsPerEpoch: Int { min(dataset.count, maxItems) }

    /// Items of one step over all ranks.
    public var globalBatchSize: Int { batchSize * shard.count }

    public var batchesPerEpoch: Int {
        dropLast || shard.count > 1 ? itemsPerEpoch / globalBatchSize
            : (itemsPerEpoch + globalBatchSize - 1) / globalBatchSize
    }

    /// The positions (in the epoch's order) of this rank's batches, by global batch index.
    func batchRanges(count: Int) -> [Range<Int>] {
        let g = globalBatchSize
        return stride(from: 0, to: count, by: g).compactMap { start -> Range<Int>? in
            let end = Swift.min(start + g, count)
            if end - start < g && (dropLast || shard.count > 1) { return nil }
            let lo = start + shard.index * batchSize
            return lo..<Swift.min(lo + batchSize, end)
        }
    }

    /// Every item that failed to load so far.
    public var failures: [DatasetError] {
        lock.lock(); defer { lock.unlock() }
        return _failures
    }

    /// The item indices of `epoch`, in the order they are served.
    public func order(epoch: Int) -> [Int] {
        var idx = Array(0..<dataset.count)
        if shuffle {
            var rng = SeededGenerator(seed: seed, stream: 0xE90C, index: UInt64(epoch))
            idx.shuffle(using: &rng)
        }
        return Array(idx.prefix(itemsPerEpoch))
    }

    /// Loads the items at `positions` of the epoch's order; failures are recorded and left out.
    func loadBatch(epoch: Int, order: [Int], positions: Range<Int>) -> Batch? {
        let n = positions.count
        let results = UnsafeMutableBufferPointer<Result<Sample, DatasetError>?>.allocate(capacity: n)
        results.initialize(repeating: nil)
        defer {
            // release the samples the slots hold (deallocate alone leaked every batch's images)
            _ = results.deinitialize()
            results.deallocate()
        }
        let ds = dataset
        let seed = self.seed
        let base = positions.lowerBound
        // Items are independent: decode them on both cores. Each writes only its own slot.
        let slots = UncheckedBox(results)
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let pos = base + i
            var rng = SeededGenerator(seed: seed, stream: UInt64(epoch), index: UInt64(pos))
            do {
                slots.value[i] = .success(try ds.sample(at: order[pos], using: &rng))
            } catch let e as DatasetError {
                slots.value[i] = .failure(e)
            } catch {
                slots.value[i] = .failure(DatasetError(path: "item \(order[pos])", reason: "\(error)"))
            }
        }
        var samples: [Sample] = []
        for r in results {
            switch r {
            case .success(let s)?: samples.append(s)
            case .failure(let e)?: record(e)
            case nil: break
            }
        }
        guard !samples.isEmpty else { return nil }
        do {
            return try Batch.collate(samples, channelsA: dataset.channelsA, channelsB: dataset.channelsB)
        } catch let e as DatasetError {
            record(e)
            return nil
        } catch {
            return nil
        }
    }

    private func record(_ e: DatasetError) {
        lock.lock()
        _failures.append(e)
        lock.unlock()
        onSkip(e)
    }

    /// The batches of one epoch, produced ahead on a background thread. `skipping` leaves out
    /// the epoch's first batches without loading them (resuming in the middle of an epoch).
    public func batches(epoch: Int, skipping: Int = 0) -> BatchIterator {
        BatchIterator(loader: self, epoch: epoch, skipping: skipping)
    }
}

/// Hands a pointer to `concurrentPerform`'s closure; each iteration touches only its own slot.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

/// An epoch in progress. Dropping it (or `cancel()`) stops the producer.
public final class BatchIterator: IteratorProtocol, Sequence, @unchecked Sendable {
    private let queue: BoundedQueue<Batch>

    init(loader: DataLoader, epoch: Int, skipping: Int) {
        let queue = BoundedQueue<Batch>(capacity: loader.prefetch)
        self.queue = queue
        let order = loader.order(epoch: epoch)
        let ranges = Array(loader.batchRanges(count: order.count).enumerated().dropFirst(Swift.max(0, skipping)))
        // The thread holds the queue and the loader, never the iterator, so dropping the
        // iterator cancels the producer instead of keeping it alive.
        let thread = Thread {
            for (position, r) in ranges {
                if queue.isCancelled { break }
                guard var batch = loader.loadBatch(epoch: epoch, order: order, positions: r) else { continue }
                batch.index = position
                if !queue.put(batch) { break }
            }
            queue.finish()
        }
        thread.name = "img2img-loader"
        thread.start()
    }

    public func next() -> Batch? { queue.take() }

    /// Stops producing; batches already queued are dropped.
    public func cancel() { queue.cancel() }

    deinit { queue.cancel() }
}
