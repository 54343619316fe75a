// What a run keeps beyond the trainer's own state (RunState, in the checkpoint's metadata) and
// what its ranks agree on under data parallelism: the batch and the stop flag every step, the
// losses averaged for the log, each rank's own generators and pools in the checkpoint.
import Foundation
import Augment
import Checkpoint
import Datasets
import ImageIO
import Autograd
import Distributed
import Models
import NN
import TensorCore
import Translation

/// What --continue needs beyond the trainer's own state, kept in the checkpoint's metadata
/// under `RunMetadata.key` (the class names are also read by Models when loading).
struct RunState: Codable {
    /// Batches of the current epoch already trained on (0 at an epoch boundary); global batches
    /// (all ranks' together) under MPI.
    var batchInEpoch: Int
    var classes: [String]?
    /// MPI ranks of the run that wrote it (nil: one process).
    var worldSize: Int? = nil

    func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decode(_ metadata: [String: String]) -> RunState? {
        metadata[RunMetadata.key].flatMap { try? JSONDecoder().decode(RunState.self, from: Data($0.utf8)) }
    }
}

public enum DataParallelError: Error, CustomStringConvertible {
    case datasetsDiffer(counts: [Int], dataroot: String)
    case batchesDiffer(indices: [Int])

    public var description: String {
        switch self {
        case .datasetsDiffer(let c, let root):
            return "the ranks see different datasets under \(root) (items per rank: \(c.map(String.init).joined(separator: ", "))): "
                + "every rank must read the same files (a shared folder, or identical copies)"
        case .batchesDiffer(let i):
            return "the ranks are at different batches (\(i.map(String.init).joined(separator: ", ")); -1: none left): a batch "
                + "failed to load on some rank (see its message); remove the broken file and resume with --continue"
        }
    }
}

extension TrainingRun {
    /// One collective per step: every rank's next batch index (or -1 at the end) and stop flag.
    /// Returns whether to stop; throws when the ranks are not at the same batch.
    func agree(batch index: Int?) throws -> Bool {
        let stop = shouldStop
        guard group.isActive else { return stop }
        let mine = (index ?? -1) * 2 + (stop ? 1 : 0)
        let all = group.allGather(mine + 2)  // +2: keeps -1 (end) apart from flags
        let indices = all.map { ($0 - 2) >> 1 }
        guard Set(indices).count == 1 else { throw DataParallelError.batchesDiffer(indices: indices) }
        return all.contains { ($0 - 2) & 1 == 1 }
    }

    /// The losses averaged over the ranks (every rank gets the same values).
    func averaged(_ losses: [(name: String, value: Float)]) -> [(name: String, value: Float)] {
        guard group.isActive else { return losses }
        var v = losses.map { Double($0.value) }
        group.sum(&v)
        return zip(losses, v).map { ($0.name, Float($1 / Double(group.size))) }
    }

    /// This rank's own state: its generator and its pools (images and generators), as safetensors bytes.
    func rankState() throws -> [UInt8] {
        var f = TensorFile(tensors: [], metadata: ["trainer_rng": String(trainer.rng.state)])
        for (name, pool) in trainer.pools {
            f.metadata[name + ".rng"] = String(pool.rng.state)
            if let s = pool.stacked { f.tensors.append(NamedTensor(name: name + ".images", shape: s.shape, values: s.scalars)) }
        }
        return try SafeTensors.encode(f)
    }

    /// Restores this rank's state from a checkpoint of the same rank count.
    func restoreRankState(_ file: TensorFile) throws {
        let r = group.rank
        func meta(_ k: String) -> UInt64? { file.metadata["img2img.rank\(r).\(k)"].flatMap(UInt64.init) }
        if let s = meta("trainer_rng") { trainer.rng.state = s }
        for (name, pool) in trainer.pools {
            guard let s = meta(name + ".rng") else { continue }
            let images = file["rank\(r).\(name).images"].map { Tensor(shape: $0.shape, scalars: $0.values) }
            pool.restore(stacked: images, rngState: s)
        }
    }
}
